"""Silhouette computations: the silhouette of a labelling and the medoid silhouette.

Each implementation evaluates the same seeded medoids (labels = nearest medoid) on
the cached matrix; ``track_silhouette`` is the value it returns.
"""

from __future__ import annotations

from .common import (
    SETUP_CACHE_TIMEOUT,
    FitBenchmark,
    SilhouetteTracks,
    implementations,
    matrix_task,
    param_grid,
)


class Silhouettes(FitBenchmark, SilhouetteTracks):
    """Single-threaded silhouette evaluations over dataset, n, k and dtype."""

    section = "silhouette"
    axes = ("dataset", "n", "k", "dtype")
    param_names = ["implementation", *axes]
    params = param_grid(implementations(family="silhouette"), section, axes)

    def setup_cache(self):
        return self.prepare()

    setup_cache.timeout = SETUP_CACHE_TIMEOUT

    def make_task(self, cache, entry, **p):
        return matrix_task(cache, self, entry, **p)

    def start_medoids(self, cache, entry, dataset, n, k):
        # A silhouette is evaluated at given medoids: always hand them over.
        start = cache["starts"].get((dataset, n, k))
        return start if start is not None else super().start_medoids(cache, entry, dataset, n, k)
