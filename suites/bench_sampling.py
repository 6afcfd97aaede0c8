"""Sampling k-medoids on points: CLARA, FastCLARA, FasterCLARA, CLARANS, FastCLARANS.

These never build the full matrix, so the paper profile goes beyond the n x n limit;
each implementation draws its samples from the same fixed seed.
"""

from __future__ import annotations

from .common import (
    SETUP_CACHE_TIMEOUT,
    FitBenchmark,
    SwapTracks,
    implementations,
    param_grid,
    points_task,
)


class Sampling(FitBenchmark, SwapTracks):
    """Single-threaded fits of every ``sampling`` implementation over dataset, n and k."""

    section = "sampling"
    axes = ("dataset", "n", "k")
    param_names = ["implementation", *axes]
    params = param_grid(implementations(family="sampling"), section, axes)
    uses_matrix = False
    uses_start = "none"

    def setup_cache(self):
        return self.prepare()

    setup_cache.timeout = SETUP_CACHE_TIMEOUT

    def make_task(self, cache, entry, **p):
        return points_task(cache, self, entry, **p)
