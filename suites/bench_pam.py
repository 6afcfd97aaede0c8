"""PAM family on precomputed matrices: BUILD, PAM, FastPAM1, FasterPAM, Alternating.

Every implementation registered in the ``kmedoids`` family (reference and adapters)
starts from the same seeded medoids (BUILD chooses its own); single thread.
``PAMThreads`` times the multi-threaded variants (``*-parallel``) at 1..N threads.
"""

from __future__ import annotations

from .common import (
    SETUP_CACHE_TIMEOUT,
    FitBenchmark,
    SwapTracks,
    implementations,
    matrix_task,
    param_grid,
)

FAMILY = "kmedoids"


class PAMFamily(FitBenchmark, SwapTracks):
    """Single-threaded fits of every k-medoids implementation over dataset, n, k and dtype."""

    section = "kmedoids"
    axes = ("dataset", "n", "k", "dtype")
    param_names = ["implementation", *axes]
    params = param_grid(implementations(family=FAMILY), section, axes)

    def setup_cache(self):
        return self.prepare()

    setup_cache.timeout = SETUP_CACHE_TIMEOUT

    def make_task(self, cache, entry, **p):
        return matrix_task(cache, self, entry, **p)


class PAMThreads(FitBenchmark, SwapTracks):
    """The multi-threaded variants at each thread count of the profile (float64)."""

    section = "threads"
    axes = ("dataset", "n", "k", "n_threads")
    param_names = ["implementation", *axes]
    params = param_grid(implementations(family=FAMILY, parallel=True), section, axes)

    def setup_cache(self):
        return self.prepare()

    setup_cache.timeout = SETUP_CACHE_TIMEOUT

    def make_task(self, cache, entry, **p):
        return matrix_task(cache, self, entry, **p)
