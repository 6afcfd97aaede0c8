"""The one result type every algorithm and adapter returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class ClusteringResult:
    """Outcome of one clustering run.

    Shaped like ``kmedoids.KMedoidsResult`` so users of that package feel at home.

    Attributes
    ----------
    loss : float
        The objective of the algorithm (sum of dissimilarities to the medoid for
        k-medoids, sum of squared distances for k-means, sum of L1 distances for
        k-median, ``1 - medoid silhouette`` for the silhouette family).
        Adapters recompute it from the returned medoids/centres; the library's own
        figure, when it has one, is kept in ``extras["library_loss"]``.
    labels : ndarray of int64, shape (n,)
        Cluster of each point, ``0..k-1``; cluster ``j`` belongs to ``medoids[j]``
        (or ``centers[j]``).
    medoids : ndarray of int64, shape (k,), or None
        Row indices of the medoids in the full data set.
    centers : ndarray, shape (k, d), or None
        Cluster centres, for k-means and k-median.
    n_iter, n_swap : int
        Iterations (passes) and swaps performed.
    converged : bool or None
        Whether the algorithm stopped because no move improved (None if unknown).
    extras : dict
        Anything else worth keeping (timings, distance counts, library loss, ...).
    """

    loss: float
    labels: np.ndarray
    medoids: np.ndarray | None = None
    centers: np.ndarray | None = None
    n_iter: int = 0
    n_swap: int = 0
    converged: bool | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def k(self) -> int:
        if self.medoids is not None:
            return int(len(self.medoids))
        if self.centers is not None:
            return int(len(self.centers))
        return int(self.labels.max()) + 1 if len(self.labels) else 0

    def __repr__(self) -> str:  # short: never print n labels
        what = f"medoids={self.medoids.tolist()}" if self.medoids is not None and len(self.medoids) <= 12 else f"k={self.k}"
        return (
            f"ClusteringResult(loss={self.loss!r}, {what}, n_iter={self.n_iter}, "
            f"n_swap={self.n_swap}, converged={self.converged})"
        )
