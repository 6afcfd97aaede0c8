"""Silhouette and medoid silhouette of a clustering given its dissimilarity matrix.

* :func:`silhouette` -- Rousseeuw, "Silhouettes: a graphical aid to the
  interpretation and validation of cluster analysis", J. Comput. Appl. Math. 20, 1987.
* :func:`medoid_silhouette` -- Van der Laan, Pollard & Bryan, "A new partitioning
  around medoids algorithm", J. Stat. Comput. Simul. 73(8), 2003 (and Lenssen &
  Schubert 2022 for the name and the fast algorithms built on it).

Both return a float, or ``(value, per-point values)`` with ``samples=True``,
as the ``kmedoids`` package does (it always returns the pair).
"""

from __future__ import annotations

import numpy as np

from ..input_checks import (
    check_diss,
    check_labels,
    check_medoids,
    check_positive_int,
    raise_for_diss,
)
from ._silhouette import medoid_silhouette_sum, silhouette_sum


def silhouette(diss, labels, samples: bool = False, *, n_threads: int = 1):
    """Average silhouette width of ``labels`` (Rousseeuw 1987).

    Equals ``sklearn.metrics.silhouette_score(diss, labels, metric="precomputed")``
    and ``kmedoids.silhouette``. Labels are any non-negative integers (renumbered
    internally); a singleton's silhouette is 0; with a single cluster the result
    is 0 (as in ``kmedoids``; scikit-learn raises). Row ``i`` holds the
    dissimilarities from point ``i``. O(n^2) time, one pass over the matrix
    (the input check rides on it), O(n + k) extra memory per thread; the matrix
    is never copied. ``n_threads``
    threads take rows; the value is the same bits for any number.
    """
    n_threads = check_positive_int(n_threads, name="n_threads")
    D = check_diss(diss, n_threads=n_threads, scan=False)  # the kernel's pass checks the entries
    n = D.shape[0]
    lab = check_labels(labels, n)
    _, inverse, counts = np.unique(lab, return_inverse=True, return_counts=True)
    out = np.zeros(n if samples else 0, dtype=np.float64)
    if len(counts) == 1:  # one cluster: no "other" cluster, silhouette undefined
        check_diss(D, n_threads=n_threads)
        value = 0.0
    else:
        total, flags = silhouette_sum(D, inverse.astype(np.int32), counts.astype(np.int64), out,
                                      n_threads)
        diag = np.diagonal(D)              # the one entry of each row the kernel skips
        flags |= (0 if np.isfinite(diag).all() else 1) | (2 if (diag < 0).any() else 0)
        if flags:
            raise_for_diss(D, flags)
        value = total / n
    return (float(value), out) if samples else float(value)


def medoid_silhouette(diss, medoids, samples: bool = False, *, n_threads: int = 1):
    """Average medoid silhouette 1 - a/b (Van der Laan et al. 2003).

    ``a``, ``b`` are the distances of a point to its nearest and second nearest
    medoid (points with a = 0 score 1). Equals ``kmedoids.medoid_silhouette``
    on symmetric input; ``diss[m, o]`` is read as the dissimilarity of point
    ``o`` to medoid ``m``. With one medoid the value is 1, as in ``kmedoids``.
    O(nk) time: only the k medoid rows are read, and only they are checked for
    NaN, infinite and negative entries, in the same pass. ``n_threads`` threads
    take points, the same bits for any number.
    """
    n_threads = check_positive_int(n_threads, name="n_threads")
    D = check_diss(diss, n_threads=n_threads, scan=False)
    n = D.shape[0]
    med = check_medoids(medoids, n)
    out = np.empty(n if samples else 0, dtype=np.float64)
    if len(med) == 1:
        check_diss(D, n_threads=n_threads, rows=med)  # only the medoid's row is read and checked
        value = 1.0
        out[:] = 1.0
    else:  # the kernel's pass checks the k medoid rows it reads
        total, flags = medoid_silhouette_sum(D, med, out, n_threads)
        if flags:
            raise_for_diss(D[med], flags)
        value = 1.0 - total / n
    return (float(value), out) if samples else float(value)
