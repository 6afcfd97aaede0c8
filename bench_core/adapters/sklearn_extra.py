"""Adapter to scikit-learn-extra's ``KMedoids`` and ``CLARA`` (0.3.0).

What the library really runs:

* ``KMedoids(method="alternate")`` is the alternating (k-means-style) update --
  assign to the nearest medoid, move each medoid to the member with the smallest
  sum of dissimilarities -- *not* PAM;
* ``KMedoids(method="pam")`` is BUILD (with ``init="build"``) + SWAP, one best
  swap per iteration, so ``max_iter`` counts swaps;
* ``max_iter=0`` with ``init="build"`` is BUILD alone;
* ``CLARA`` runs PAM on ``n_sampling_iter`` samples of ``40 + 2k`` points (always
  containing the best medoids so far) and keeps the best; it compares the
  sample's inertia with the best *full-data* inertia, so it tends to keep a later
  sample, and its samples come from NumPy's RandomState.

Explicit start medoids go through the public ``init=`` array: the library looks
each given row up in the data (``np.where((X == c).all(axis=1))``), so with
``metric="precomputed"`` we pass the rows ``diss[medoids]``. That is exact
unless a medoid has a zero-dissimilarity twin, in which case its row is not
unique and the start is injected by overriding ``_initialize_medoids``
(``extras["init_via"]`` says which). The library's BUILD and SWAP kernels need a
*writable* matrix: read-only input (memory maps) is copied once
(``extras["copied_input"]``).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..registry import Task, register
from ..result import ClusteringResult
from ._common import (
    dist_version,
    medoid_result,
    medoid_result_points,
    pinned,
    start_medoids,
    task_diss,
    task_points,
)

_REQ = ("sklearn_extra.cluster",)
_VERSION = dist_version("scikit-learn-extra")
INITS = ("build", "k-medoids++", "random", "heuristic")


def _writable(D: np.ndarray, extras: dict) -> np.ndarray:
    if D.dtype not in (np.float32, np.float64):
        extras["copied_input"] = f"converted from {D.dtype} to float64"
        return np.array(D, dtype=np.float64)
    if not D.flags.writeable:
        extras["copied_input"] = "read-only matrix copied (the library's Cython kernels need a writable buffer)"
        return np.array(D)
    return D


def _has_twin(D: np.ndarray, med: np.ndarray) -> bool:
    """Whether some medoid has another point at dissimilarity 0 (its row may then not be unique)."""
    rows = np.asarray(D[med])
    zeros = rows == 0
    zeros[np.arange(len(med)), med] = False
    return bool(zeros.any())


def _estimator(method: str, k: int, init, max_iter: int, seed, fixed_start: np.ndarray | None):
    from sklearn_extra.cluster import KMedoids

    if fixed_start is None:
        return KMedoids(n_clusters=k, metric="precomputed", method=method, init=init,
                        max_iter=max_iter, random_state=seed)

    class _FixedStart(KMedoids):
        def _initialize_medoids(self, D, n_clusters, random_state_, X=None):
            return fixed_start.copy()

    return _FixedStart(n_clusters=k, metric="precomputed", method=method, init="random",
                       max_iter=max_iter, random_state=seed)


def _kmedoids(method: str, default_init: str, *, build_only: bool = False):
    def run(task: Task) -> ClusteringResult:
        from sklearn.exceptions import ConvergenceWarning

        extras: dict = {"method": method, "library": "scikit-learn-extra"}
        D = _writable(task_diss(task), extras)
        n, k = D.shape[0], int(task.k)
        fixed = None
        if build_only:
            init, how, max_iter = "build", "build (sklearn_extra)", 0
        else:
            max_iter = int(task.max_iter) if task.max_iter is not None else 100
            if task.medoids is not None:
                med, how = start_medoids(task, n)
                if _has_twin(D, med):
                    init, fixed = "random", med
                    extras["init_via"] = "_initialize_medoids override (a medoid has a zero-distance twin)"
                else:
                    init = np.asarray(D[med])
                    extras["init_via"] = "init=diss[medoids] (public API)"
            else:
                init = task.options.get("init", default_init)
                if init not in INITS:
                    raise ValueError(f"unknown init {init!r} for scikit-learn-extra; expected one of {INITS}")
                how = f"{init} (sklearn_extra)"
        est = _estimator(method, k, init, max_iter, task.seed, fixed)
        with warnings.catch_warnings(record=True) as caught, pinned(task.n_threads), task.timed():
            warnings.simplefilter("always", ConvergenceWarning)
            est.fit(D)
        if caught:
            extras["warnings"] = [str(w.message) for w in caught]
        n_iter = int(getattr(est, "n_iter_", 0) or 0)
        extras.update(init=how)
        med_out = np.asarray(est.medoid_indices_)
        if not isinstance(init, str) and fixed is None and len(med_out) != k:
            raise RuntimeError(f"scikit-learn-extra matched {len(med_out)} start rows for k = {k}")
        swaps = None
        if method == "pam" and not build_only:
            swaps = n_iter  # one swap per iteration; the last one found none
        return medoid_result(D, med_out, est.labels_, library_loss=est.inertia_, n_iter=n_iter,
                             n_swap=swaps, converged=(n_iter < max_iter - 1) if max_iter else True,
                             extras=extras)
    run.__name__ = f"sklearn_extra_{'build' if build_only else method}"
    return run


alternate = _kmedoids("alternate", "random")
pam = _kmedoids("pam", "build")
build = _kmedoids("pam", "build", build_only=True)


def clara(task: Task) -> ClusteringResult:
    """``sklearn_extra.cluster.CLARA`` on the points with ``task.metric``.

    Options: ``n_sampling`` (default ``40 + 2k``), ``n_sampling_iter`` (default 5).
    """
    from sklearn_extra.cluster import CLARA

    X = task_points(task)
    n_sampling = task.options.get("n_sampling")
    est = CLARA(n_clusters=int(task.k), metric=task.metric, init=task.options.get("init", "build"),
                max_iter=int(task.max_iter) if task.max_iter is not None else 300,
                n_sampling=None if n_sampling is None else int(n_sampling),
                n_sampling_iter=int(task.options.get("n_sampling_iter", 5)), random_state=task.seed)
    with warnings.catch_warnings(), pinned(task.n_threads), task.timed():
        warnings.simplefilter("ignore")
        est.fit(X)
    extras = {"library": "scikit-learn-extra", "metric": task.metric}
    return medoid_result_points(X, task.metric, est.medoid_indices_, est.labels_, library_loss=est.inertia_,
                                n_iter=int(est.n_iter_), extras=extras)


_COMMON = dict(language="Python", requires=_REQ, version=_VERSION)

register("alternating/sklearn_extra", alternate, family="kmedoids", reference="alternating/reference",
         agreement="identical",
         description="sklearn_extra KMedoids(method='alternate', metric='precomputed'): alternating update, not PAM",
         note="the k-means-style alternating update; from the same start it moves like the reference "
              "(a medoid changes only when strictly better)", **_COMMON)
register("pam/sklearn_extra", pam, family="kmedoids", reference="pam/reference", agreement="identical",
         description="sklearn_extra KMedoids(method='pam', init='build', metric='precomputed'): BUILD + SWAP",
         note="one best swap per iteration (max_iter counts swaps); same swaps as PAM", **_COMMON)
register("build/sklearn_extra", build, family="kmedoids", reference="build/reference", agreement="identical",
         description="sklearn_extra KMedoids(method='pam', init='build', max_iter=0): BUILD only",
         note="the library's Cython BUILD", supports_init=False, **_COMMON)
register("clara/sklearn_extra", clara, family="sampling", input="points", reference="clara/reference",
         agreement="differs", description="sklearn_extra CLARA: PAM on 5 samples of 40 + 2k points",
         note="samples come from NumPy's RandomState and the library compares a sample's inertia "
              "with the best full-data inertia, so it keeps different samples than CLARA proper",
         deterministic=True, **_COMMON)
