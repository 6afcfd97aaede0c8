"""Instruction counts of one call, measured on Valgrind's simulated CPU.

Wall time on a shared machine varies by several per cent between runs, so a time
gate needs a loose factor. The number of instructions a call executes does not
depend on the load: run under Callgrind (Weidendorfer, Kowarschik & Trinitis 2004,
"A tool suite for simulation based analysis of memory access behavior", ICCS;
Nethercote & Seward 2007, "Valgrind: a framework for heavyweight dynamic binary
instrumentation", PLDI), the same code on the same data gives the same count, so a
regression gate on it can be tight. This is what CodSpeed does for pytest; here it
serves asv (``suites/bench_instructions.py``).

How one measurement runs (:func:`measure`):

1. the tasks are pickled to a temporary folder;
2. ``valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no`` starts
   ``python -m bench_core.regress.instructions`` (this module's :func:`_main`)
   with a fixed environment: ``PYTHONHASHSEED=0``, every thread pool at 1;
3. the driver imports the implementations and calls each task once natively
   (lazy imports, first-call caches: not counted), then ``repeats`` times inside
   :func:`bench_core.regress._callgrind.measured_call`, whose client requests switch
   instrumentation and collection on around the call only and dump its counts;
4. the dumps are parsed: ``Ir`` (instructions executed) and, with the cache
   simulation (fixed I1/D1 32 KiB, LL 8 MiB, so counts do not depend on the host's
   caches), the last-level misses ``ILmr + DLmr + DLmw``.

The count of the first measured call is the same in every process (same code, same
data, same number of calls before it), which is what the gate compares; whether a
count repeats is checked by running the process again (:mod:`bench_core.regress.drive`
recounts every combination that would fail the gate, in BASE and HEAD).
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# LL misses as cachegrind and callgrind name them: instruction-fetch, data-read, data-write.
LL_EVENTS = ("ILmr", "DLmr", "DLmw")
CACHE_CONFIG = ("--I1=32768,8,64", "--D1=32768,8,64", "--LL=8388608,16,64")
DISABLE_ENV = "KMBENCH_INSTRUCTIONS"  # "0": the instruction profile skips everything
VALGRIND_ENV = "KMBENCH_VALGRIND"     # path of the valgrind executable (default: on PATH)
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "RAYON_NUM_THREADS")
# Uncounted calls before the counted one (imports, first-call caches). The number is
# fixed because the count of a call depends on how often its Python code ran before:
# CPython 3.11+ quickens a code object after 8 executions and re-specialises its
# instructions with exponential backoff (PEP 659), so the k-th call of a process executes
# a few thousand interpreter instructions more or fewer than the (k+1)-th. The k-th call
# of two processes executes exactly the same (tests/test_instructions.py).
WARMUP = 1
PASSED_VARS = ("PATH", "HOME", "TMPDIR", "KMBENCH_DATA_DIR", "KMBENCH_CACHE")


class InstructionCountError(RuntimeError):
    """Valgrind could not run or measure a task."""


@dataclass
class Counts:
    """What Callgrind counted for one task: one entry per measured call (calls of one process
    differ slightly, see :data:`WARMUP`; compare the same call index across processes)."""

    name: str
    instructions: list[int]
    ll_misses: list[int]
    events: list[dict[str, int]] = field(default_factory=list)

    @property
    def first(self) -> int:
        """The instruction count of the first measured call: the one the gate compares."""
        return self.instructions[0]


def valgrind_path() -> str | None:
    """The valgrind executable (``$KMBENCH_VALGRIND`` or on ``PATH``), or None."""
    path = os.environ.get(VALGRIND_ENV) or shutil.which("valgrind")
    return path if path and os.access(path, os.X_OK) else None


def unavailable_reason() -> str | None:
    """Why instructions cannot be counted here, or None when they can."""
    if os.environ.get(DISABLE_ENV) == "0":
        return f"instruction counts switched off ({DISABLE_ENV}=0)"
    if not sys.platform.startswith("linux"):
        return f"instruction counts need Valgrind on Linux (this is {sys.platform})"
    if valgrind_path() is None:
        return ("valgrind is not installed (Debian: apt-get install valgrind, or `make valgrind` "
                "as root); instruction counts skipped, wall time still gated")
    try:
        from . import _callgrind
    except ImportError as exc:
        return f"the extension bench_core.regress._callgrind is not built ({exc}); run setup.py build_ext"
    if not _callgrind.have_client_requests():
        return ("bench_core.regress._callgrind was built without <valgrind/callgrind.h> (install Debian "
                "valgrind and rebuild); instruction counts skipped")
    return None


def deterministic_env(pythonpath: str) -> dict[str, str]:
    """The driver's environment: fixed hash seed, single-threaded pools, nothing else inherited."""
    env = {k: os.environ[k] for k in PASSED_VARS if k in os.environ}
    env.update({k: "1" for k in THREAD_VARS})
    env.update(PYTHONHASHSEED="0", PYTHONPATH=pythonpath, LC_ALL="C", PYTHONDONTWRITEBYTECODE="1")
    return env


def _package_root() -> str:
    """The folder holding this ``bench_core`` (the commit under test, first on the driver's path)."""
    return str(Path(__file__).resolve().parent.parent.parent)


def parse_dump(path: str | os.PathLike) -> tuple[str, dict[str, int]]:
    """The trigger label and the ``summary`` event totals of one Callgrind dump file."""
    label, events, summary = "", None, None
    with open(path) as fh:
        for line in fh:
            if line.startswith("desc: Trigger:"):
                label = line.split(":", 2)[2].strip()
            elif line.startswith("events:"):
                events = line.split(":", 1)[1].split()
            elif line.startswith("summary:"):
                summary = [int(x) for x in line.split(":", 1)[1].split()]
    if events is None or summary is None:
        raise InstructionCountError(f"{path} is not a Callgrind dump (no events/summary line)")
    return label, dict(zip(events, summary, strict=False))


def measure(tasks: Sequence[tuple[str, Any]], *, repeats: int = 1, warmup: int = WARMUP,
            cache_sim: bool = True,
            timeout: float = 1200, python: str = sys.executable, pythonpath: str | None = None,
            ) -> dict[int, Counts | str]:
    """Count the instructions of ``name(task)`` for each ``(name, task)`` in one Valgrind run.

    Returns, for each task's index, its :class:`Counts`, or the error message of an
    implementation that failed (an exception in the driver). Raises
    :class:`InstructionCountError` when Valgrind itself cannot run or crashed.
    ``pythonpath`` is the folder holding the ``bench_core`` to measure (default: this one).
    """
    why = unavailable_reason()
    if why is not None:
        raise InstructionCountError(why)
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    with tempfile.TemporaryDirectory(prefix="kmbench-instr-") as work:
        work = Path(work)
        with open(work / "tasks.pkl", "wb") as fh:
            pickle.dump(list(tasks), fh, protocol=pickle.HIGHEST_PROTOCOL)
        cmd = [valgrind_path(), "--tool=callgrind", "--instr-atstart=no", "--collect-atstart=no",
               f"--cache-sim={'yes' if cache_sim else 'no'}", *(CACHE_CONFIG if cache_sim else ()),
               f"--callgrind-out-file={work / 'callgrind.out'}", "--log-file=" + str(work / "valgrind.log"),
               # -P and relative paths: the client's sys.path and argv are the same in every
               # run (a random folder name would change dictionary layouts, hence counts)
               python, "-P", "-m", "bench_core.regress.instructions", "tasks.pkl", "status.json",
               str(repeats), str(warmup)]
        env = deterministic_env(pythonpath or _package_root())
        try:
            proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise InstructionCountError(f"valgrind ran past {timeout:g} s on {len(tasks)} task(s)") from None
        log = (work / "valgrind.log").read_text() if (work / "valgrind.log").exists() else ""
        status_path = work / "status.json"
        if proc.returncode != 0 or not status_path.exists():
            tail = "\n".join((proc.stdout + proc.stderr + log).splitlines()[-25:])
            raise InstructionCountError(f"valgrind exited with {proc.returncode}:\n{tail}")
        status = json.loads(status_path.read_text())
        dumps: dict[str, dict[str, int]] = {}
        for p in work.glob("callgrind.out.*"):
            label, ev = parse_dump(p)
            dumps[label.rsplit("Client Request:", 1)[-1].strip()] = ev
    out: dict[int, Counts | str] = {}
    for i, (name, _) in enumerate(tasks):
        err = status["errors"].get(str(i))
        if err is not None:
            out[i] = err
            continue
        evs = []
        for rep in range(repeats):
            ev = dumps.get(f"kmbench#{i}#{rep}")
            if ev is None:
                raise InstructionCountError(f"no Callgrind dump for {name} (call {rep}); found {sorted(dumps)}")
            evs.append(ev)
        out[i] = Counts(name, [e["Ir"] for e in evs],
                        [sum(e.get(x, 0) for x in LL_EVENTS) for e in evs], evs)
    return out


def _main(argv: list[str]) -> int:
    """The driver, run under Valgrind: ``TASKS.pkl STATUS.json REPEATS [WARMUP]``."""
    tasks_path, status_path, repeats = argv[0], argv[1], int(argv[2])
    warmup = int(argv[3]) if len(argv) > 3 else WARMUP
    from threadpoolctl import threadpool_limits

    from .. import registry
    from . import _callgrind

    with open(tasks_path, "rb") as fh:
        tasks = pickle.load(fh)
    errors: dict[str, str] = {}
    seconds: dict[str, float] = {}
    with threadpool_limits(limits=1):
        for i, (name, task) in enumerate(tasks):
            try:
                entry = registry.get(name)
                t0 = time.perf_counter()
                for _ in range(warmup):  # imports, first-call caches, the interpreter's
                    entry(task)          # specialised bytecode: not counted
                seconds[str(i)] = time.perf_counter() - t0

                def call(entry=entry, task=task):
                    return entry(task)

                for rep in range(repeats):
                    gc.collect()  # every call starts from the same collector state
                    _callgrind.measured_call(call, f"kmbench#{i}#{rep}")
            except Exception as exc:  # one implementation failing must not lose the others
                errors[str(i)] = f"{name}: {type(exc).__name__}: {exc}"
    with open(status_path, "w") as fh:
        json.dump({"errors": errors, "warmup_seconds": seconds,
                   "on_valgrind": _callgrind.running_on_valgrind()}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
