"""Assignment of points to medoids and the k-medoids loss."""

from __future__ import annotations

import numpy as np

from ..input_checks import check_diss, check_medoids, check_positive_int
from ._common import assign_nearest


def assign(diss, medoids, *, n_threads: int = 1) -> tuple[np.ndarray, float]:
    """Labels ``0..k-1`` (nearest medoid, ties to the first listed) and the loss.

    ``diss[m, o]`` is the cost of point ``o`` under medoid ``m``. Each medoid
    is labelled with its own cluster. ``n_threads`` threads take points; the loss
    is summed in point order, the same bits for any number.
    """
    n_threads = check_positive_int(n_threads, name="n_threads")
    D = check_diss(diss, n_threads=n_threads)
    med = check_medoids(medoids, D.shape[0])
    labels = np.empty(D.shape[0], dtype=np.int64)
    nearest = np.empty(D.shape[0], dtype=np.float64)
    total = assign_nearest(D, med, labels, nearest, n_threads)
    return labels, float(total)


def loss(diss, medoids, *, n_threads: int = 1) -> float:
    """Sum over points of the dissimilarity to the nearest medoid (accumulated in double)."""
    return assign(diss, medoids, n_threads=n_threads)[1]
