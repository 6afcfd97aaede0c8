"""Availability of the non-Python runtimes that some peers run in a child process (R, Java).

The registry's ``requires`` names importable modules; for a peer that runs in R or
Java, :mod:`._need_r` and :mod:`._need_elki` are such modules: importing them runs
:func:`r_cluster_status` / :func:`elki_status` once and raises ``ImportError`` with
the reason (no ``Rscript``, no ``cluster`` package, no Java, no ELKI jar) when the
runtime is missing, so the entry is listed as unavailable, never an error.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import subprocess
import sys

#: Where Debian's ``elki`` package puts its jar (override: environment variable KMBENCH_ELKI_JAR).
ELKI_JAR = "/usr/share/java/elki.jar"


def die_with_parent() -> None:
    """``preexec_fn`` for the R and Java children: on Linux, SIGKILL them when the worker dies.

    The runner kills a worker that exceeds its time limit; without this its Rscript
    or java child would go on computing as an orphan.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _run(cmd: list[str], timeout: float = 60.0) -> tuple[int, str]:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return -1, f"{type(exc).__name__}: {exc}"
    return p.returncode, (p.stdout + p.stderr).strip()


@functools.cache
def r_cluster_status() -> tuple[bool, str]:
    """(available, version or reason) of ``Rscript`` with the ``cluster`` package."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return False, ("Rscript not found on PATH (Debian: apt-get install r-base-core r-cran-cluster; "
                       "`make` does it when run as root)")
    rc, out = _run([rscript, "--vanilla", "-e",
                    'cat(as.character(getRversion()), as.character(packageVersion("cluster")))'])
    if rc != 0:
        return False, f"R package 'cluster' not loadable: {out.splitlines()[-1] if out else rc}"
    r_version, cluster_version = out.split()[-2:]
    return True, f"cluster {cluster_version} (R {r_version})"


def elki_jar() -> str:
    return os.environ.get("KMBENCH_ELKI_JAR", ELKI_JAR)


@functools.cache
def elki_status() -> tuple[bool, str]:
    """(available, version or reason) of ``java`` with the ELKI jar."""
    java = shutil.which("java")
    if java is None:
        return False, ("java not found on PATH (Debian: apt-get install default-jre-headless elki; "
                       "`make` does it when run as root)")
    jar = elki_jar()
    if not os.path.exists(jar):
        return False, f"ELKI jar {jar} not found (Debian package elki, or set KMBENCH_ELKI_JAR)"
    rc, out = _run([java, "-cp", jar, "de.lmu.ifi.dbs.elki.application.KDDCLIApplication", "-h"])
    m = re.search(r"ELKI build: (\S+)", out)
    if m is None:
        return False, f"ELKI does not start: {out.splitlines()[-1] if out else rc}"
    return True, f"ELKI {m.group(1)}"
