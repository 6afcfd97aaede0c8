"""BUILD with its gains in SSE2 against AVX2 registers (interleaved in one process; MNIST
test set, float64, n = 5,000, k = 100, 1 and 2 threads).

Run: ``PYTHONPATH=. python docs/guide/build_gains_ab.py [--repeat 11]``. The lazy steps
are the call at k = 100 less the call at k = 2 (the first two steps read every row); one
streaming scan of the same matrix (the input check) is timed alongside, as the
ceiling. Medians are printed, and both levels are checked to give the same medoids,
distances and number of gain evaluations.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from bench_core.algorithms._scan import scan_matrix

from bench_core.algorithms import _build
from bench_core.datasets import get_dataset
from bench_core.dissimilarity import dissimilarity


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=11)
    a = ap.parse_args()
    if _build.gain_level() != "avx2":
        raise SystemExit(f"this CPU or build has {_build.gain_level()} gains only: nothing to compare")
    D = dissimilarity(get_dataset("mnist", 5000).X, "euclidean", np.float64)
    times = {}
    outs = {}
    for _ in range(a.repeat):
        for nt in (1, 2):
            t = time.perf_counter()
            scan_matrix(D, nt)
            times.setdefault(("scan", nt), []).append(time.perf_counter() - t)
            for level in (0, 1):
                _build._limit_gain_level(level)
                for k in (2, 100):
                    med, near = np.empty(k, dtype=np.int64), np.empty(len(D))
                    t = time.perf_counter()
                    evals = _build.build_kernel(D, med, near, nt, True)
                    times.setdefault((level, nt, k), []).append(time.perf_counter() - t)
                    outs[level, nt, k] = (med.tobytes(), near.tobytes(), evals)
    _build._limit_gain_level(1)
    m = {key: statistics.median(v) * 1e3 for key, v in times.items()}
    same = all(outs[level, nt, k] == outs[0, 1, k] for level, nt, k in outs)
    print(f"medians of {a.repeat}; same results: {same}")
    for nt in (1, 2):
        print(f"{nt} thread(s): scan {m['scan', nt]:6.2f} ms")
        for level, name in ((0, "sse2"), (1, "avx2")):
            total, lazy = m[level, nt, 100], m[level, nt, 100] - m[level, nt, 2]
            print(f"  {name}: BUILD {total:6.1f} ms, lazy steps {lazy:6.1f} ms")
    for level, name in ((0, "sse2"), (1, "avx2")):
        print(f"2 vs 1, {name}: {m[level, 1, 100] / m[level, 2, 100]:.2f}x")


if __name__ == "__main__":
    main()
