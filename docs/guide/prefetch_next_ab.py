"""FasterPAM with and without prefetching the next candidates' rows during the sums
(interleaved in one process; MNIST test set, float64, one thread), in streaming reads of
the matrix measured in the same run.

Run: ``PYTHONPATH=. python docs/guide/prefetch_next_ab.py [--repeat 7] [--n 10000]``.
Each round times, in rotated order, the whole call (the input check included, as in
threads_measure.py) and a pass that swaps nothing (from the converged medoids) with the
prefetch off and on, and one read of the matrix. Medians are printed, and each
configuration is checked to give the same result both ways (the prefetch only moves
loads earlier).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from bench_core.algorithms import _fasterpam, pam
from bench_core.algorithms._scan import scan_matrix
from bench_core.datasets import get_dataset
from bench_core.dissimilarity import dissimilarity


def _key(res) -> tuple:
    return (res.loss, res.medoids.tobytes(), np.asarray(res.labels).tobytes(), res.n_iter, res.n_swap)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--modes", type=lambda v: [int(x) for x in v.split(",")], default=[0, 1])
    ap.add_argument("--k", type=lambda v: [int(x) for x in v.split(",")], default=[10, 100])
    a = ap.parse_args()
    D = dissimilarity(get_dataset("mnist", a.n).X, "euclidean", np.float64)
    rng = np.random.default_rng(0)
    starts = {k: np.sort(rng.choice(a.n, k, replace=False)) for k in a.k}
    done = {k: pam.fasterpam(D, starts[k]) for k in a.k}
    calls = {("call", k): (lambda k=k: pam.fasterpam(D, starts[k])) for k in a.k}
    calls |= {("still", k): (lambda k=k: pam.fasterpam(D, done[k].medoids)) for k in a.k}
    times: dict = {}
    keys: dict = {}
    settings = tuple(a.modes)
    with threadpool_limits(limits=1):
        for rep in range(a.repeat):
            for on in settings[rep % len(settings):] + settings[:rep % len(settings)]:    # rotated
                _fasterpam._set_prefetch_next(on)
                for name, f in calls.items():
                    t = time.perf_counter()
                    out = f()
                    times.setdefault((on, name), []).append(time.perf_counter() - t)
                    keys.setdefault(name, set()).add(_key(out))
            t = time.perf_counter()
            scan_matrix(D, 1)
            times.setdefault("read", []).append(time.perf_counter() - t)
    _fasterpam._set_prefetch_next(True)
    m = {key: statistics.median(v) for key, v in times.items()}
    r = m["read"]
    same = all(len(v) == 1 for v in keys.values())
    print(f"n={a.n} ({D.nbytes / 1e6:.0f} MB), medians of {a.repeat}; one read {r * 1e3:.1f} ms; "
          f"same results with and without: {same}")
    for k in a.k:
        p = done[k].n_iter
        cols = " | ".join(f"{x}: {m[x, ('call', k)] / p / r:.2f} / {m[x, ('still', k)] / r:.2f}"
                          for x in settings)
        print(f"k={k} ({p} passes, {done[k].n_swap} swaps): reads per pass / without swaps: {cols}",
              flush=True)


if __name__ == "__main__":
    main()
