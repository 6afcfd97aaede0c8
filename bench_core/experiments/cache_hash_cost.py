"""Cost of verifying a cached distance matrix versus recomputing it.

Run ``python -m bench_core.experiments.cache_hash_cost [N]`` (default N = 10,000) with BLAS pinned
to one thread (``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1``). For MNIST (d = 784)
and 2-d blobs, float64 and float32, it prints the time to compute the Euclidean
matrix (:func:`bench_core.dissimilarity.dissimilarity`, best of 2), the time to
hash the cached file with xxh3-128 and with BLAKE2b (best of 3, file in the page
cache), their ratio, and the time of a verified cache hit
(:func:`~bench_core.dissimilarity.cached_dissimilarity`). Wall-clock and CPU
(``time.process_time``) times are both given: CPU time is less disturbed by
other load on a shared machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def _best(fn, repeat: int) -> tuple[float, float]:
    """(best wall-clock, best CPU) seconds of ``repeat`` calls."""
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


def measure(n: int = 10000) -> list[dict]:
    from ..datasets import get_dataset
    from ..dissimilarity import cache_path, cached_dissimilarity, dissimilarity, file_digest

    rows = []
    for name, params in (("mnist", {}), ("blobs", {"d": 2, "k": 5})):
        ds = get_dataset(name, n, **params)
        for dtype in (np.dtype("float64"), np.dtype("float32")):
            comp = _best(lambda: dissimilarity(ds.X, "euclidean", dtype), 2)  # noqa: B023
            with tempfile.TemporaryDirectory() as d:
                cached_dissimilarity(ds, "euclidean", dtype, cache_dir=Path(d))
                path = cache_path(ds.checksum, ds.n, "euclidean", dtype, Path(d))
                xxh = _best(lambda: file_digest(path, "xxh3_128"), 3)  # noqa: B023
                b2 = _best(lambda: file_digest(path, "blake2b"), 3)  # noqa: B023
                hit = _best(lambda: cached_dissimilarity(ds, "euclidean", dtype, cache_dir=Path(d)), 3)  # noqa: B023
                size = path.stat().st_size
            rows.append({"data": f"{name} (d={ds.X.shape[1]})", "dtype": dtype.name, "MiB": size / 2**20,
                         "compute": comp, "xxh3": xxh, "blake2b": b2, "hit": hit})
    return rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n", nargs="?", type=int, default=10000)
    args = p.parse_args(argv)
    print(f"| data, n = {args.n:,} | dtype | file MiB | recompute: wall s (CPU s) | xxh3-128: wall s (CPU s) "
          "| xxh3 / recompute, CPU | BLAKE2b: wall s (CPU s) | BLAKE2b / recompute, CPU | verified hit: wall s (CPU s) |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for r in measure(args.n):
        c, x, b, h = r["compute"], r["xxh3"], r["blake2b"], r["hit"]
        print(f"| {r['data']} | {r['dtype']} | {r['MiB']:.0f} | {c[0]:.2f} ({c[1]:.2f}) "
              f"| {x[0]:.3f} ({x[1]:.3f}) | {100 * x[1] / c[1]:.1f}% | {b[0]:.3f} ({b[1]:.3f}) "
              f"| {100 * b[1] / c[1]:.1f}% | {h[0]:.3f} ({h[1]:.3f}) |", flush=True)


if __name__ == "__main__":
    main()
