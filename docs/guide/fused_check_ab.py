"""FasterPAM, FastPAM1 and BUILD calls with the input check fused into their first pass
against the separate scan of the matrix (interleaved in one process; MNIST test set, float64).

Run: ``PYTHONPATH=. python docs/guide/fused_check_ab.py [--repeat 11]``. The separate scan
is what the swap drivers do where ``fused_check`` is false (float32, integers, no AVX2);
here it is forced by replacing ``fused_check`` in the kernel modules. For BUILD it is
what ``build`` did before its first step checked the rows: ``check_diss`` and then
``checked_build``. Medians are printed, and every pair of results is checked to be
identical.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from bench_core.algorithms import _fasterpam, _fastpam1, build, pam
from bench_core.datasets import get_dataset
from bench_core.dissimilarity import dissimilarity
from bench_core.input_checks import check_diss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=11)
    a = ap.parse_args()
    D10 = dissimilarity(get_dataset("mnist", 10000).X, "euclidean", np.float64)
    D5 = np.ascontiguousarray(D10[:5000, :5000])
    rng = np.random.default_rng(0)
    s10, s100 = (np.sort(rng.choice(10000, k, replace=False)) for k in (10, 100))
    s5 = np.sort(rng.choice(5000, 100, replace=False))
    fused = {m: m.fused_check for m in (_fasterpam, _fastpam1)}

    def scan_apart(f):
        def g():
            for module in fused:
                module.fused_check = lambda D: False
            try:
                return f()
            finally:
                for module, check in fused.items():
                    module.fused_check = check
        return g

    swaps = {
        "FasterPAM n=10000 k=10": lambda: pam.fasterpam(D10, s10),
        "FasterPAM n=10000 k=100": lambda: pam.fasterpam(D10, s100),
        "FastPAM1 n=5000 k=100, 2 iter, 1 thread": lambda: pam.fastpam1(D5, s5, max_iter=2),
        "FastPAM1 n=5000 k=100, 2 iter, 2 threads": lambda: pam.fastpam1(D5, s5, max_iter=2, n_threads=2),
    }
    calls = {name: (scan_apart(f), f) for name, f in swaps.items()}
    for nt in (1, 2):
        calls[f"BUILD n=5000 k=100, {nt} thread{'s' * (nt > 1)}"] = (
            lambda nt=nt: build.checked_build(check_diss(D5, n_threads=nt), 100, nt),
            lambda nt=nt: build.build(D5, 100, n_threads=nt))
    times = {(name, on): [] for name in calls for on in (False, True)}
    keys = {}
    with threadpool_limits(limits=1):
        for _ in range(a.repeat):
            for name, pair in calls.items():
                for on in (False, True):
                    t = time.perf_counter()
                    res = pair[on]()
                    times[name, on].append(time.perf_counter() - t)
                    keys[name, on] = (res.loss, res.medoids.tobytes(), np.asarray(res.labels).tobytes(),
                                      res.n_iter, res.n_swap)
    print(f"listings: {_fasterpam.compaction_level()}; medians of {a.repeat}")
    for name in calls:
        sep, fus = (statistics.median(times[name, on]) for on in (False, True))
        same = "identical" if keys[name, False] == keys[name, True] else "DIFFERENT RESULTS"
        print(f"{name:42s} separate scan {sep * 1e3:7.1f} ms  fused {fus * 1e3:7.1f} ms  "
              f"{fus / sep:5.2f}x  {same}", flush=True)


if __name__ == "__main__":
    main()
