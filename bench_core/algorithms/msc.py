"""Medoid-silhouette clustering: PAMSIL, PAMMEDSIL, FastMSC, FasterMSC and DynMSC.

* PAMSIL / PAMMEDSIL: Van der Laan, Pollard & Bryan, "A new partitioning around
  medoids algorithm", J. Stat. Comput. Simul. 73(8), 2003.
* FastMSC / FasterMSC: Lenssen & Schubert, "Clustering by direct optimization of
  the medoid silhouette", SISAP 2022 (and Inf. Syst. 120, 2024).
* DynMSC: Lenssen & Schubert, "Medoid silhouette clustering with automatic
  cluster number selection", Inf. Syst. 120, 2024.

Same API as the PAM family: ``medoids`` is k or an array of initial medoids.
Results are :class:`~bench_core.result.ClusteringResult` with ``loss = 1 -
medoid silhouette`` (lower is better; PAMSIL: ``1 - silhouette``) and the
silhouette itself in ``extras["medoid_silhouette"]`` (``extras["silhouette"]``
for PAMSIL). The ``kmedoids`` package returns the medoid silhouette itself in
its ``loss`` field: compare ``extras["medoid_silhouette"]`` with it.

From the same initial medoids the swaps, medoids, iteration and swap counts are
those of ``kmedoids`` 0.5.5 (same tie-breaking and floating-point order).
``diss[m, o]`` is the dissimilarity of point ``o`` to medoid ``m``; on
asymmetric input kmedoids reads the transpose.

k = 1: the medoid is the point with the smallest row sum (as in kmedoids), and
the medoid silhouette is taken as 0 (kmedoids' ``dynmsc`` does the same; its
other functions return the row sum there).
"""

from __future__ import annotations

import numbers

import numpy as np

from ..input_checks import check_choice, check_diss, check_k, check_medoids, check_positive_int
from ..result import ClusteringResult
from ._dynmsc import dynmsc_run
from ._fastermsc import fastermsc_run
from ._fastmsc import fastmsc_run
from ._msc_common import one_medoid
from ._pammedsil import pammedsil_run
from ._pamsil import pamsil_run
from .init import INITS, checked_initial_medoids
from .silhouette import medoid_silhouette


def _start(D: np.ndarray, medoids, init: str, random_state, n_threads: int = 1) -> np.ndarray:
    """Initial medoids: an explicit array (copied, it is modified), or k and an init; and
    the check of the matrix's entries (``D`` comes unscanned): BUILD makes it in its first
    step, else a scan."""
    n = D.shape[0]
    check_choice(init, INITS, name="init")
    if isinstance(medoids, numbers.Integral) and not isinstance(medoids, bool):
        k = check_k(medoids, n, name="k (medoids)")
        med = checked_initial_medoids(D, k, init, random_state=random_state, n_threads=n_threads,
                                      check=True)
        return np.array(med, dtype=np.int64)
    if isinstance(medoids, bool | float | str) or medoids is None:
        raise ValueError(f"medoids must be k (an int) or an array of initial medoids, got {medoids!r}")
    med = check_medoids(medoids, n).copy()
    check_diss(D, n_threads=n_threads)
    return med


def _single(D: np.ndarray, med: np.ndarray, extra_key: str = "medoid_silhouette") -> ClusteringResult:
    best, _ = one_medoid(D, int(med[0]))
    return ClusteringResult(loss=1.0, labels=np.zeros(D.shape[0], dtype=np.int64),
                            medoids=np.array([best], dtype=np.int64), n_iter=1,
                            n_swap=int(best != med[0]), converged=True,
                            extras={extra_key: 0.0})


def _result(D, med, labels, ms: float, n_iter: int, n_swap: int, max_iter: int,
            **extras) -> ClusteringResult:
    return ClusteringResult(loss=1.0 - ms, labels=labels, medoids=med, n_iter=int(n_iter),
                            n_swap=int(n_swap), converged=bool(n_iter < max_iter),
                            extras={"medoid_silhouette": ms, **extras})


def _prepare(diss, medoids, max_iter, init, random_state, n_threads=1):
    n_threads = check_positive_int(n_threads, name="n_threads")
    D = check_diss(diss, n_threads=n_threads, scan=False)  # _start checks the entries
    max_iter = check_positive_int(max_iter, name="max_iter", minimum=0)
    med = _start(D, medoids, init, random_state, n_threads)
    return D, med, max_iter, n_threads


def _fast(diss, medoids, max_iter, init, random_state, eager: bool,
          n_threads: int = 1) -> ClusteringResult:
    D, med, max_iter, n_threads = _prepare(diss, medoids, max_iter, init, random_state, n_threads)
    if len(med) == 1:
        return _single(D, med)
    start = med.copy()
    labels = np.empty(D.shape[0], dtype=np.int64)
    if eager:  # sequential by design: each swap changes what the next candidate sees
        total, n_iter, n_swap = fastermsc_run(D, med, labels, max_iter)
    else:
        total, n_iter, n_swap = fastmsc_run(D, med, labels, max_iter, n_threads)
    return _result(D, med, labels, 1.0 - total / D.shape[0], n_iter, n_swap, max_iter,
                   initial_medoids=start)


def fastmsc(diss, medoids, max_iter: int = 100, init: str = "random",
            random_state=None, *, n_threads: int = 1) -> ClusteringResult:
    """FastMSC (Lenssen & Schubert 2022): PAMMEDSIL's swaps in O(n^2) per pass
    instead of O(k n^2); the best swap of each pass is taken. ``n_threads``
    threads evaluate the candidates (k >= 3); the result is the same for any number."""
    return _fast(diss, medoids, max_iter, init, random_state, eager=False, n_threads=n_threads)


def fastermsc(diss, medoids, max_iter: int = 100, init: str = "random",
              random_state=None, *, n_threads: int = 1) -> ClusteringResult:
    """FasterMSC (Lenssen & Schubert 2022): FastMSC with eager swaps (any improving
    candidate is swapped in at once), candidates in index order. The swaps are
    sequential; ``n_threads`` applies to the input check and the start."""
    return _fast(diss, medoids, max_iter, init, random_state, eager=True, n_threads=n_threads)


def pammedsil(diss, medoids, max_iter: int = 100, init: str = "build",
              random_state=None, *, n_threads: int = 1) -> ClusteringResult:
    """PAMMEDSIL (Van der Laan et al. 2003): best swap per pass for the medoid
    silhouette, each (medoid, candidate) pair evaluated in O(n): O(k n^2) per pass.
    ``n_threads`` threads evaluate the candidates; the same result for any number."""
    D, med, max_iter, n_threads = _prepare(diss, medoids, max_iter, init, random_state, n_threads)
    if len(med) == 1:
        return _single(D, med)
    start = med.copy()
    labels = np.empty(D.shape[0], dtype=np.int64)
    total, n_iter, n_swap = pammedsil_run(D, med, labels, max_iter, n_threads)
    return _result(D, med, labels, 1.0 - total / D.shape[0], n_iter, n_swap, max_iter,
                   initial_medoids=start)


def pamsil(diss, medoids, max_iter: int = 100, init: str = "build",
           random_state=None, *, n_threads: int = 1) -> ClusteringResult:
    """PAMSIL (Van der Laan et al. 2003): best swap per pass for the (full)
    silhouette, every swap evaluated by recomputing it: O(k n^3) per pass, for
    small n only. ``loss = 1 - silhouette``. ``n_threads`` threads evaluate the
    candidates; the same result for any number."""
    D, med, max_iter, n_threads = _prepare(diss, medoids, max_iter, init, random_state, n_threads)
    if len(med) == 1:
        res = _single(D, med, "silhouette")
        res.extras["medoid_silhouette"] = 0.0
        return res
    start = med.copy()
    labels = np.empty(D.shape[0], dtype=np.int64)
    sil, n_iter, n_swap = pamsil_run(D, med, labels, max_iter, n_threads)
    return ClusteringResult(loss=1.0 - sil, labels=labels, medoids=med, n_iter=int(n_iter),
                            n_swap=int(n_swap), converged=bool(n_iter < max_iter),
                            extras={"silhouette": float(sil),
                                    "medoid_silhouette": medoid_silhouette(
                                        D, med, n_threads=n_threads),
                                    "initial_medoids": start})


def dynmsc(diss, medoids, minimum_k: int = 2, max_iter: int = 100, init: str = "random",
           random_state=None, *, n_threads: int = 1) -> ClusteringResult:
    """DynMSC (Lenssen & Schubert 2024): FasterMSC for k = k_max, then repeatedly
    drop the medoid whose removal costs least and re-optimise, down to
    ``minimum_k``; the clustering with the highest medoid silhouette is returned.

    ``medoids`` is k_max or k_max initial medoids. ``extras``: ``best_k``,
    ``k_range`` and ``medoid_silhouettes`` (one per k; 0 for k = 1, as kmedoids).
    The swaps are FasterMSC's (sequential); ``n_threads`` applies to the input
    check and the start.
    """
    D, med, max_iter, n_threads = _prepare(diss, medoids, max_iter, init, random_state, n_threads)
    n, k_max = D.shape[0], len(med)
    minimum_k = check_positive_int(minimum_k, name="minimum_k")
    if minimum_k > k_max:
        raise ValueError(f"minimum_k={minimum_k} is larger than the maximum k={k_max} "
                         "(the number of medoids); expected minimum_k <= k_max")
    if k_max == 1:
        res = _single(D, med)
        res.extras.update(best_k=1, k_range=np.array([1]), medoid_silhouettes=np.zeros(1))
        return res
    initial = med.copy()
    by_k = np.zeros(k_max - minimum_k + 1)
    best_med = np.empty(k_max, dtype=np.int64)
    labels = np.empty(n, dtype=np.int64)
    best, best_k, n_iter, n_swap = dynmsc_run(D, med, minimum_k, max_iter, by_k,
                                                   best_med, labels)
    if best_k == 0:  # no k with a positive medoid silhouette: kmedoids keeps the start
        from .assignment import assign

        best_med = initial
        labels = assign(D, initial)[0]
        best = 0.0
    else:
        best_med = best_med[:best_k].copy()
    res = _result(D, best_med, labels, float(best), n_iter, n_swap, max_iter * k_max)
    res.extras.update(best_k=len(best_med), k_range=np.arange(minimum_k, k_max + 1),
                      medoid_silhouettes=by_k, initial_medoids=initial)
    return res


__all__ = ["dynmsc", "fastermsc", "fastmsc", "pammedsil", "pamsil"]
