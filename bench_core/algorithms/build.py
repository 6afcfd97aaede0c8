"""PAM BUILD (Kaufman & Rousseeuw 1990): greedy initial medoids, and the result type of the
PAM family's drivers.

Its own module so that the initialisations (:mod:`.init`) and the swap algorithms
(:mod:`.pam`) can both use BUILD without importing each other.
"""

from __future__ import annotations

import numpy as np

from ..input_checks import check_diss, check_k, check_positive_int, raise_kernel_found_bad
from ..result import ClusteringResult
from ._build import build_kernel
from ._common import assign_nearest


def _result(D, medoids, labels=None, n_threads: int = 1, **kw) -> ClusteringResult:
    """Result with labels (nearest medoid) and the loss recomputed from the medoids."""
    lab = np.empty(D.shape[0], dtype=np.int64)
    near = np.empty(D.shape[0], dtype=np.float64)
    loss = float(assign_nearest(D, medoids, lab, near, n_threads))
    if labels is not None:
        lab = np.asarray(labels, dtype=np.int64)
    return ClusteringResult(loss=loss, labels=lab, medoids=np.asarray(medoids, dtype=np.int64), **kw)



def build(diss, k: int, *, n_threads: int = 1) -> ClusteringResult:
    """PAM BUILD: greedy initial medoids (Kaufman & Rousseeuw 1990).

    The first medoid minimises the total dissimilarity; each next one brings the
    largest decrease of the loss; ties go to the lowest index. When no point
    decreases the loss any more (duplicates, k close to n) the lowest-index
    non-medoid is taken, so k medoids are always returned.

    ``n_threads`` threads share the first two steps (2 n^2 reads, nearly all the

    Parameters
    ----------
    diss : ndarray, shape (n, n)
        Dissimilarities, ``diss[m, o]`` the cost of point ``o`` under medoid ``m``
        (float32, float64, int32 or int64; used in place, never copied).
    k : int
        Number of medoids, 1 <= k <= n.
    n_threads : int, default 1
        Threads (OpenMP) for the candidate evaluations; the result is the same for any
        number.

    Returns
    -------
    ClusteringResult
        ``loss``, ``labels`` (0..k-1), ``medoids``, ``n_iter``, ``n_swap``, ``converged``.
    """
    n_threads = check_positive_int(n_threads, name="n_threads")
    return checked_build(check_diss(diss, n_threads=n_threads, scan=False), k, n_threads,
                         check=True)


def checked_build(D: np.ndarray, k: int, n_threads: int = 1, *,
                  check: bool = False) -> ClusteringResult:
    """:func:`build` for a matrix that ``check_diss`` has passed; ``check``: its entries
    have not been checked yet (``scan=False``), BUILD's first step checks them."""
    k = check_k(k, D.shape[0])
    med = np.empty(k, dtype=np.int64)
    near = np.empty(D.shape[0], dtype=np.float64)
    evals = build_kernel(D, med, near, n_threads, check)
    if evals is None:  # a bad entry: the scan names it
        raise_kernel_found_bad(D, "build", n_threads=n_threads)
    res = _result(D, med, n_threads=n_threads, n_iter=1, n_swap=0, converged=True)
    res.extras.update(algorithm="build", gain_evaluations=int(evals))
    return res
