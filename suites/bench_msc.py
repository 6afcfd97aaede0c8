"""Medoid-silhouette clustering: PAMSIL, PAMMEDSIL, FastMSC, FasterMSC, DynMSC.

Same shared seeded start for every implementation; the tracked silhouette is the
criterion each algorithm maximises (``1 - loss``), so higher is better.
"""

from __future__ import annotations

from .common import (
    SETUP_CACHE_TIMEOUT,
    FitBenchmark,
    SilhouetteTracks,
    SwapTracks,
    implementations,
    matrix_task,
    param_grid,
)


class MedoidSilhouetteClustering(FitBenchmark, SwapTracks, SilhouetteTracks):
    """Single-threaded fits of every ``msc`` implementation over dataset, n, k and dtype."""

    section = "msc"
    axes = ("dataset", "n", "k", "dtype")
    param_names = ["implementation", *axes]
    params = param_grid(implementations(family="msc"), section, axes)

    def setup_cache(self):
        return self.prepare()

    setup_cache.timeout = SETUP_CACHE_TIMEOUT

    def make_task(self, cache, entry, **p):
        return matrix_task(cache, self, entry, **p)
