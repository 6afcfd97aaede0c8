"""``kmbench bench-main``: the main job of ``make bench``.

Runs ``kmbench reproduce quick`` when the runner has landed; until then the
largest end-to-end path that exists: bundled MNIST, cached dissimilarity
matrix, every available k-medoids implementation from one start.
"""

from __future__ import annotations

import argparse
import time


def add_parser(sub) -> None:
    p = sub.add_parser("bench-main", help="the main job of 'make bench'")
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--k", type=int, default=10)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from .. import registry
    from ..datasets import get_dataset
    from ..dissimilarity import cached_dissimilarity

    ds = get_dataset("mnist", args.n)
    t = time.perf_counter()
    D, hit = cached_dissimilarity(ds, "euclidean", np.float64)
    print(f"MNIST n={ds.n} checksum {ds.checksum}: distance matrix {'from cache' if hit else 'computed'} "
          f"in {time.perf_counter() - t:.2f} s")
    start = np.random.default_rng(0).choice(ds.n, args.k, replace=False)
    for e in registry.entries(family="kmedoids", available=True):
        task = registry.Task(k=args.k, diss=D, X=ds.X, medoids=start, seed=0)
        t = time.perf_counter()
        res = e(task)
        print(f"{e.name:32s} {time.perf_counter() - t:8.3f} s  loss {res.loss:.6g}  swaps {res.n_swap}")
    return 0
