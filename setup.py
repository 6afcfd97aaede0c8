"""Build the Cython extensions of bench_core.

Every ``bench_core/**/*.pyx`` becomes one extension module, so adding an
algorithm is adding a file.  Environment switches:

* ``KMBENCH_DEBUG=1``   turn bounds/wraparound checks back on (tests of the kernels).
* ``KMBENCH_EXT=glob``  build only the modules whose dotted name matches ``glob``.
* ``KMBENCH_NATIVE=1``  add ``-march=native`` (faster, not portable).
"""

import fnmatch
import os
import sys
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

compile_args = ["-O3", "-fopenmp"] if not DEBUG else ["-O0", "-g", "-fopenmp"]
if os.environ.get("KMBENCH_NATIVE") == "1":
    compile_args.append("-march=native")
if sys.platform == "darwin":  # pragma: no cover - Apple clang has no -fopenmp
    compile_args = [a for a in compile_args if a != "-fopenmp"]
link_args = ["-fopenmp"] if "-fopenmp" in compile_args else []


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
