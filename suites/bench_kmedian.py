"""k-median (L1 objective, coordinate-wise medians) on points.

Every implementation starts from the same centres (rows of X at seeded indices)
unless it cannot take a start; single thread (OpenMP/BLAS pools pinned).
"""

from __future__ import annotations

from .common import SETUP_CACHE_TIMEOUT, FitBenchmark, implementations, param_grid, points_task


class KMedian(FitBenchmark):
    """Single-threaded fits of every ``kmedian`` implementation over dataset, n and k."""

    section = "kmedian"
    axes = ("dataset", "n", "k")
    param_names = ["implementation", *axes]
    params = param_grid(implementations(family="kmedian"), section, axes)
    uses_matrix = False
    uses_start = "centers"

    def setup_cache(self):
        return self.prepare()

    setup_cache.timeout = SETUP_CACHE_TIMEOUT

    def make_task(self, cache, entry, **p):
        return points_task(cache, self, entry, **p)
