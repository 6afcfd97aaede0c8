"""Build the Cython extensions of bench_core.

Every ``bench_core/**/*.pyx`` becomes one extension module, so adding an
algorithm is adding a file.  Environment switches:

* ``KMBENCH_DEBUG=1``   turn bounds/wraparound checks back on (tests of the kernels).
* ``KMBENCH_EXT=glob``  build only the modules whose dotted name matches ``glob``.
* ``KMBENCH_NATIVE=1``  add ``-march=native`` (faster, not portable).
* ``KMBENCH_OPENMP=0``  build without OpenMP (the ``n_threads`` of the kernels then
  changes nothing); it is also left out when a test program does not compile.
"""

import fnmatch
import os
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = Path(__file__).parent
DEBUG = os.environ.get("KMBENCH_DEBUG", "0") == "1"
ONLY = os.environ.get("KMBENCH_EXT")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "nonecheck": DEBUG,
    "cdivision": not DEBUG,
    "infer_types": True,
    "embedsignature": True,
}


def openmp_flags() -> list[str]:
    """``["-fopenmp"]`` when the C compiler builds and links an OpenMP program, else ``[]``.

    Without OpenMP the ``prange`` loops of the kernels run serially (same results);
    ``KMBENCH_OPENMP=0`` forces that.
    """
    if os.environ.get("KMBENCH_OPENMP", "1") == "0":
        return []
    cc = shlex.split(sysconfig.get_config_var("CC") or "cc")
    src = "#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n"
    with tempfile.TemporaryDirectory() as tmp:
        c = Path(tmp) / "omp.c"
        c.write_text(src)
        try:
            done = subprocess.run([*cc, "-fopenmp", str(c), "-o", str(Path(tmp) / "omp")],
                                  capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError):
            done = None
    if done is None or done.returncode != 0:
        print("kmbench setup: the C compiler has no OpenMP; kernels are built single-threaded",
              file=sys.stderr)
        return []
    return ["-fopenmp"]


OPENMP = openmp_flags()
compile_args = (["-O3"] if not DEBUG else ["-O0", "-g"]) + OPENMP
if os.environ.get("KMBENCH_NATIVE") == "1":
    compile_args.append("-march=native")
link_args = list(OPENMP)


def extensions() -> list[Extension]:
    exts = []
    for pyx in sorted(HERE.glob("bench_core/**/*.pyx")):
        rel = pyx.relative_to(HERE)
        name = ".".join(rel.with_suffix("").parts)
        if ONLY and not fnmatch.fnmatch(name, ONLY):
            continue
        exts.append(
            Extension(
                name,
                [str(rel)],
                include_dirs=[np.get_include(), str(rel.parent)],
                depends=[str(h.relative_to(HERE)) for h in sorted(pyx.parent.glob("*.h"))],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                extra_compile_args=compile_args,
                extra_link_args=link_args,
            )
        )
    return exts


setup(
    ext_modules=cythonize(
        extensions(),
        compiler_directives=directives,
        nthreads=int(os.environ.get("KMBENCH_BUILD_JOBS", "2")),
        quiet=True,
    )
)
