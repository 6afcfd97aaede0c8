"""The PAM family on a precomputed dissimilarity matrix (Python drivers of the Cython kernels).

* :func:`build`: PAM BUILD (Kaufman & Rousseeuw 1987/1990).
* :func:`pam`: BUILD + SWAP, the best swap per iteration, O(k (n-k)^2) per iteration.
* :func:`fastpam1`: FastPAM1 (Schubert & Rousseeuw 2019/2021): the swaps of PAM in O(n^2).
* :func:`fasterpam`: FasterPAM (Schubert & Rousseeuw 2021): eager swaps, O(n^2) per pass.
* :func:`alternating`: k-means-style alternation (Park & Jun 2009).

All take ``diss[m, o]`` as the cost of point ``o`` under medoid ``m`` (row = medoid;
asymmetric matrices are allowed and read that way), never copy it (float32, float64,
int32 and int64 are used as they are, read-only and memory-mapped included), and
accumulate losses in double. ``medoids`` is either k (then ``init`` and
``random_state`` choose the start) or an array of distinct initial medoids.

From the same start, ``pam``, ``fastpam1``, unshuffled ``fasterpam`` and
``alternating`` make the same choices as ``kmedoids`` 0.5.5 (candidates in index
order, ties to the first candidate and the first medoid, a medoid is always its own
nearest), except that a swap is taken only if it lowers the loss by more than
``tol`` times the loss (``tol=0`` for integer matrices, whose sums are exact): this
rules out swaps that only "improve" through rounding.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..input_checks import (
    check_choice,
    check_diss,
    check_k,
    check_medoids,
    check_positive_int,
    check_random_state,
    raise_kernel_found_bad,
)
from ..result import ClusteringResult
from . import _fasterpam, _fastpam1
from ._alternating import alternating_kernel, single_medoid
from ._fasterpam import fasterpam_kernel
from ._fastpam1 import fastpam1_kernel
from ._pam import pam_kernel
from .build import _result, build, checked_build  # noqa: F401 - build is part of this module's API
from .init import INITS, checked_initial_medoids

TOL = 1e-12  # relative improvement a swap must bring (floating-point matrices)


def _start(diss, medoids, init, random_state, max_iter, tol, n_threads=1, kernel_module=None):
    """Check the arguments and choose the start; returns (D, medoids, max_iter, rel_tol,
    n_threads, check_rows).

    The matrix is scanned for NaN, infinite and negative entries here, unless
    the start is BUILD, whose first step checks every row, or ``kernel_module``
    (``_fasterpam`` or ``_fastpam1``) can check the rows in its first pass
    (``fused_check``) and nothing reads the matrix before the kernel: then only the
    start's medoid rows are scanned here and ``check_rows`` is True.
    """
    n_threads = check_positive_int(n_threads, name="n_threads")
    D = check_diss(diss, n_threads=n_threads, scan=False)
    n = D.shape[0]
    check_choice(init, INITS, name="init")
    max_iter = check_positive_int(max_iter, name="max_iter", minimum=0)
    if not (isinstance(tol, numbers.Real) and tol >= 0):
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    given_k = isinstance(medoids, numbers.Integral) and not isinstance(medoids, bool)
    if given_k:
        k = check_k(medoids, n, name="k (medoids)")
    elif isinstance(medoids, bool | float | str) or medoids is None:
        raise ValueError(f"medoids must be k (an int) or an array of initial medoids, got {medoids!r}")
    else:
        med = check_medoids(medoids, n)
        k = len(med)
    # the kernel runs (see _run) and is the first to read the matrix beyond the start's rows
    check_rows = (kernel_module is not None and kernel_module.fused_check(D) and max_iter > 0
                  and 1 < k < n and (not given_k or init in ("random", "first")))
    if given_k:  # the start checks the matrix (BUILD in its first step) unless the kernel will
        med = checked_initial_medoids(D, k, init, random_state, n_threads=n_threads,
                                      check=not check_rows)
    elif not check_rows:
        check_diss(D, n_threads=n_threads)
    med = np.array(med, dtype=np.int64)  # the kernels update it in place: always our copy
    if check_rows:
        check_diss(D, n_threads=n_threads, rows=med)
    rel_tol = 0.0 if D.dtype.kind in "iu" else float(tol)
    return D, med, max_iter, rel_tol, n_threads, check_rows


def _one_cluster(D, med, start, n_threads) -> ClusteringResult:
    """k = 1 for the swap algorithms: the best single medoid (one iteration, as kmedoids)."""
    best, _ = single_medoid(D, int(med[0]))
    med[0] = best
    return _result(D, med, n_threads=n_threads, n_iter=1, n_swap=int(best != start[0]),
                   converged=True)


def _run(kernel, D, med, max_iter, rel_tol, name, *extra, n_threads=1,
         threaded=False, check_rows=False) -> ClusteringResult:
    """Run a swap kernel (``threaded``: it takes ``n_threads``; ``check_rows``: it checks
    the matrix in its first pass, see :func:`_start`) and build the result."""
    start = med.copy()
    if len(med) == 1 and max_iter > 0:
        res = _one_cluster(D, med, start, n_threads)
    elif len(med) == D.shape[0] or max_iter == 0:  # nothing to swap in / nothing to do
        res = _result(D, med, n_threads=n_threads, n_iter=0, n_swap=0,
                      converged=len(med) == D.shape[0])
    else:
        labels = np.empty(D.shape[0], dtype=np.intc)
        kw = {"n_threads": n_threads} if threaded else {}
        if check_rows:
            kw["check_rows"] = True
        out = kernel(D, med, *extra, max_iter, rel_tol, labels, **kw)
        if out is None:  # the kernel found a bad row: the full scan names what is wrong
            raise_kernel_found_bad(D, name, n_threads=n_threads)
        loss, n_iter, n_swap, converged = out
        res = _result(D, med, labels, n_threads=n_threads, n_iter=int(n_iter),
                      n_swap=int(n_swap), converged=bool(converged))
        res.extras["kernel_loss"] = float(loss)
    res.extras.update(algorithm=name, initial_medoids=start)
    return res


def pam(diss, medoids, max_iter: int = 100, init: str = "build", random_state=None, *,
        tol: float = TOL, n_threads: int = 1) -> ClusteringResult:
    """PAM: SWAP with the best (medoid, non-medoid) exchange per iteration, from BUILD by default.

    Kaufman & Rousseeuw, *Finding Groups in Data* (1990): O(k (n-k)^2) per iteration.

    ``n_threads`` threads evaluate the candidates; the result is the same for any number.

    Parameters
    ----------
    diss : ndarray, shape (n, n)
        Dissimilarities, ``diss[m, o]`` the cost of point ``o`` under medoid ``m``
        (float32, float64, int32 or int64; used in place, never copied).
    medoids : int or array-like of int
        k, or the k distinct initial medoids (row indices).
    max_iter : int, default 100
        Maximum number of iterations (passes over the candidates).
    init : str, default 'build'
        Start when ``medoids`` is k: ``"random"``, ``"first"``, ``"build"``,
        ``"k-medoids++"`` or ``"lab"`` (:func:`~bench_core.algorithms.init.initial_medoids`).
    random_state : int, Generator or None
        Seeds the initial medoids.
    tol : float, default 1e-12
        A swap is taken only if it lowers the loss by more than ``tol`` times the
        loss (integer matrices: any decrease; ``tol=0`` reproduces ``kmedoids``).
    n_threads : int, default 1
        Threads (OpenMP) for the candidate evaluations; the result is the same for any
        number.

    Returns
    -------
    ClusteringResult
        ``loss``, ``labels`` (0..k-1), ``medoids``, ``n_iter``, ``n_swap``, ``converged``.
    """
    D, med, max_iter, rel_tol, nt, _ = _start(diss, medoids, init, random_state, max_iter, tol,
                                              n_threads)
    return _run(pam_kernel, D, med, max_iter, rel_tol, "pam", n_threads=nt, threaded=True)


def fastpam1(diss, medoids, max_iter: int = 100, init: str = "random", random_state=None, *,
             tol: float = TOL, n_threads: int = 1) -> ClusteringResult:
    """FastPAM1: the same swaps as PAM, each iteration in O(n^2) instead of O(k n^2).

    Schubert & Rousseeuw, SISAP 2019 and *Information Systems* 101 (2021).

    ``n_threads`` threads evaluate the candidates; the result is the same for any number.

    Parameters
    ----------
    diss : ndarray, shape (n, n)
        Dissimilarities, ``diss[m, o]`` the cost of point ``o`` under medoid ``m``
        (float32, float64, int32 or int64; used in place, never copied).
    medoids : int or array-like of int
        k, or the k distinct initial medoids (row indices).
    max_iter : int, default 100
        Maximum number of iterations (passes over the candidates).
    init : str, default 'random'
        Start when ``medoids`` is k: ``"random"``, ``"first"``, ``"build"``,
        ``"k-medoids++"`` or ``"lab"`` (:func:`~bench_core.algorithms.init.initial_medoids`).
    random_state : int, Generator or None
        Seeds the initial medoids.
    tol : float, default 1e-12
        A swap is taken only if it lowers the loss by more than ``tol`` times the
        loss (integer matrices: any decrease; ``tol=0`` reproduces ``kmedoids``).
    n_threads : int, default 1
        Threads (OpenMP) for the candidate evaluations; the result is the same for any
        number.

    Returns
    -------
    ClusteringResult
        ``loss``, ``labels`` (0..k-1), ``medoids``, ``n_iter``, ``n_swap``, ``converged``.
    """
    D, med, max_iter, rel_tol, nt, check_rows = _start(diss, medoids, init, random_state,
                                                       max_iter, tol, n_threads, _fastpam1)
    return _run(fastpam1_kernel, D, med, max_iter, rel_tol, "fastpam1", n_threads=nt,
                threaded=True, check_rows=check_rows)


def fasterpam(diss, medoids, max_iter: int = 100, init: str = "random", random_state=None,
              shuffle: bool = False, *, tol: float = TOL, n_threads: int = 1) -> ClusteringResult:
    """FasterPAM: eager swaps, candidates in index order, or a seeded random order if ``shuffle``.

    Schubert & Rousseeuw, *Information Systems* 101 (2021): each candidate's best swap
    is taken at once if it improves, O(n^2) per pass.

    Parameters
    ----------
    diss : ndarray, shape (n, n)
        Dissimilarities, ``diss[m, o]`` the cost of point ``o`` under medoid ``m``
        (float32, float64, int32 or int64; used in place, never copied).
    medoids : int or array-like of int
        k, or the k distinct initial medoids (row indices).
    max_iter : int, default 100
        Maximum number of iterations (passes over the candidates).
    init : str, default 'random'
        Start when ``medoids`` is k: ``"random"``, ``"first"``, ``"build"``,
        ``"k-medoids++"`` or ``"lab"`` (:func:`~bench_core.algorithms.init.initial_medoids`).
    random_state : int, Generator or None
        Seeds the initial medoids (when ``medoids`` is k) and, with
        ``shuffle=True``, the candidate order (drawn after the initial medoids).
    shuffle : bool, default False
        Visit the candidates in a seeded random order instead of index order.
    tol : float, default 1e-12
        A swap is taken only if it lowers the loss by more than ``tol`` times the
        loss (integer matrices: any decrease; ``tol=0`` reproduces ``kmedoids``).
    n_threads : int, default 1
        Accepted for a common signature: FasterPAM's eager swaps stay sequential (its
        result must not depend on the thread count); only the input check (where it
        is a separate scan, see ``_start``) and the final loss use them.

    Returns
    -------
    ClusteringResult
        ``loss``, ``labels`` (0..k-1), ``medoids``, ``n_iter``, ``n_swap``, ``converged``.
    """
    D, med, max_iter, rel_tol, nt, check_rows = _start(diss, medoids, init, random_state,
                                                       max_iter, tol, n_threads, _fasterpam)
    n = D.shape[0]
    if shuffle:
        rng = check_random_state(random_state)
        if isinstance(medoids, numbers.Integral) and random_state is not None and not isinstance(
                random_state, np.random.Generator | np.random.RandomState):
            rng = np.random.default_rng([int(random_state), 1])  # not the stream of the init
        order = rng.permutation(n).astype(np.int64)
    else:
        order = np.arange(n, dtype=np.int64)
    res = _run(fasterpam_kernel, D, med, max_iter, rel_tol, "fasterpam", order, n_threads=nt,
               check_rows=check_rows)
    res.extras["shuffle"] = bool(shuffle)
    return res


def alternating(diss, medoids, max_iter: int = 100, init: str = "random",
                random_state=None, *, n_threads: int = 1) -> ClusteringResult:
    """Alternating (k-means style) optimisation: assign, then re-centre each cluster.

    Park & Jun, *Expert Systems with Applications* 36 (2009). ``n_swap`` counts medoid
    changes (``kmedoids`` reports none for this method).

    ``n_threads`` threads assign points and re-centre clusters; same result for any number.

    Parameters
    ----------
    diss : ndarray, shape (n, n)
        Dissimilarities, ``diss[m, o]`` the cost of point ``o`` under medoid ``m``
        (float32, float64, int32 or int64; used in place, never copied).
    medoids : int or array-like of int
        k, or the k distinct initial medoids (row indices).
    max_iter : int, default 100
        Maximum number of iterations (passes over the candidates).
    init : str, default 'random'
        Start when ``medoids`` is k: ``"random"``, ``"first"``, ``"build"``,
        ``"k-medoids++"`` or ``"lab"`` (:func:`~bench_core.algorithms.init.initial_medoids`).
    random_state : int, Generator or None
        Seeds the initial medoids.
    n_threads : int, default 1
        Threads (OpenMP) for the candidate evaluations; the result is the same for any
        number.

    Returns
    -------
    ClusteringResult
        ``loss``, ``labels`` (0..k-1), ``medoids``, ``n_iter``, ``n_swap``, ``converged``.
    """
    D, med, max_iter, _, nt, _ = _start(diss, medoids, init, random_state, max_iter, TOL, n_threads)
    start = med.copy()
    labels = np.empty(D.shape[0], dtype=np.int64)
    loss, n_iter, n_changes, converged = alternating_kernel(D, med, max_iter, labels, nt)
    res = _result(D, med, labels, n_threads=nt, n_iter=int(n_iter), n_swap=int(n_changes),
                  converged=bool(converged))
    res.extras.update(algorithm="alternating", initial_medoids=start, kernel_loss=float(loss))
    return res


METHODS = {"pam": pam, "fastpam1": fastpam1, "fasterpam": fasterpam, "alternating": alternating}
