"""Helpers shared by the adapters: thread pinning, starts, label normalisation, losses.

Every adapter hands back a :class:`~bench_core.result.ClusteringResult` in the
project's convention, whatever the library returns: labels ``0..k-1`` with
cluster ``j`` belonging to ``medoids[j]`` (or ``centers[j]``), medoids as int64
row indices, and a loss recomputed here from the returned medoids/centres (the
library's own figure goes to ``extras["library_loss"]``). The time spent in the
library call alone is marked with ``with task.timed():`` (the harness's
``fit_time``), so that the normalisation below never counts against the
library in a benchmark.
"""

from __future__ import annotations

import contextlib
import importlib.metadata as md
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..input_checks import check_diss, check_medoids, check_points, check_random_state
from ..registry import Task
from ..result import ClusteringResult


def dist_version(dist: str):
    """A ``version=`` callable for the registry: the installed version of ``dist``."""
    def version() -> str:
        try:
            return md.version(dist)
        except md.PackageNotFoundError:
            return "not installed"
    return version


@contextlib.contextmanager
def pinned(n_threads: int) -> Iterator[None]:
    """Limit BLAS/OpenMP pools to ``n_threads`` for the duration of the call."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(n_threads)):
        yield


# ---------------------------------------------------------------- task inputs

def task_diss(task: Task, *, allow_int: bool = True) -> np.ndarray:
    if task.diss is None:
        raise ValueError("this implementation needs a precomputed dissimilarity matrix (task.diss)")
    return check_diss(task.diss, name="task.diss", allow_int=allow_int)


def task_points(task: Task) -> np.ndarray:
    if task.X is None:
        raise ValueError("this implementation needs the points (task.X)")
    return check_points(task.X, name="task.X")


def start_medoids(task: Task, n: int, default_init: str = "random") -> tuple[np.ndarray, str]:
    """The initial medoids of ``task`` and how they were chosen.

    ``task.medoids`` when given; otherwise the one start
    (:func:`bench_core.start.initial_medoids`) of ``task.options["init"]``
    (default ``default_init``) and ``task.seed``, so every adapter starts where
    the reference and the runner would.
    """
    if task.medoids is not None:
        med = check_medoids(task.medoids, n, name="task.medoids")
        if len(med) != task.k:
            raise ValueError(f"task.medoids has {len(med)} entries but k = {task.k}")
        return med, "given"
    init = task.options.get("init", default_init)
    from ..start import initial_medoids

    return initial_medoids(n, task.k, task.seed, init, task.diss), init


def start_centers(task: Task, X: np.ndarray) -> tuple[np.ndarray, str]:
    """Initial centres: ``task.centers`` or k-means++ (D^2) seeding with ``task.seed``.

    The seeding is the reference's (Arthur & Vassilvitskii 2007, one candidate per
    step) so that libraries whose seeding is broken or unseeded (pyclustering's
    ``kmeans_plusplus_initializer`` fails under NumPy 2) still start reproducibly.
    """
    if task.centers is not None:
        C = np.array(task.centers, dtype=np.float64)
        if C.ndim != 2 or C.shape != (task.k, X.shape[1]):
            raise ValueError(f"task.centers must have shape ({task.k}, {X.shape[1]}), got {C.shape}")
        if not np.isfinite(C).all():
            raise ValueError("task.centers contains NaN or infinite values")
        return C, "given"
    return kmeans_plusplus(X, task.k, task.seed), "k-means++ (kmbench seeding)"


def kmeans_plusplus(X: np.ndarray, k: int, seed) -> np.ndarray:
    """k-means++ (D^2) seeds as points: the reference's seeding
    (:func:`bench_core.algorithms.kmeans.kmeans_plusplus`), so a seed gives the
    same start here as for ``kmeans/reference``."""
    from ..algorithms.kmeans import kmeans_plusplus as seed_rows

    Xd = np.asarray(X, dtype=np.float64)
    return Xd[seed_rows(Xd, k, check_random_state(seed))].copy()


# ------------------------------------------------------------ normalisation

def labels_from_clusters(clusters: Sequence[Sequence[int]], n: int) -> np.ndarray:
    """Cluster lists (pyclustering's encoding) -> labels; points in no list get -1."""
    labels = np.full(n, -1, dtype=np.int64)
    for j, members in enumerate(clusters):
        labels[np.asarray(members, dtype=np.int64)] = j
    return labels


def relabel_to_medoids(labels: np.ndarray, medoids: np.ndarray) -> tuple[np.ndarray, bool]:
    """Renumber ``labels`` so that cluster ``j`` is the one containing ``medoids[j]``.

    Returns ``(labels, ok)``; ``ok`` is False (labels returned unchanged) when
    the medoids do not sit in distinct clusters, so the invariant checker sees
    the library's output as it was rather than a silently repaired one.
    """
    labels = np.asarray(labels, dtype=np.int64)
    own = labels[medoids]
    if len(np.unique(own)) != len(own) or own.min() < 0:
        return labels, False
    if np.array_equal(own, np.arange(len(medoids))):
        return labels, True
    lut = np.full(max(int(labels.max()), int(own.max())) + 1, -1, dtype=np.int64)
    lut[own] = np.arange(len(medoids))
    out = lut[labels]
    return out, bool((out >= 0).all())


def medoid_loss(diss: np.ndarray, medoids: np.ndarray, labels: np.ndarray) -> float:
    """Sum of ``diss[medoids[labels[o]], o]`` in float64 (labels as given, not re-assigned)."""
    cols = np.arange(diss.shape[0])
    return float(np.sum(diss[medoids[labels], cols], dtype=np.float64))


def nearest_medoid(diss: np.ndarray, medoids: np.ndarray) -> np.ndarray:
    """Label of the nearest medoid (ties to the first listed); O(nk) memory."""
    return np.argmin(np.asarray(diss[medoids]), axis=0).astype(np.int64)


def medoid_result(diss: np.ndarray | None, medoids, labels=None, *, library_loss: Any = None,
                  n_iter: int | None = 0, n_swap: int | None = 0, converged: bool | None = None,
                  extras: dict[str, Any] | None = None, rows: np.ndarray | None = None) -> ClusteringResult:
    """Normalise a k-medoids answer: int64 medoids, labels aligned with them, loss recomputed.

    ``rows`` may replace ``diss``: the (k, n) dissimilarities of the medoids, row ``j``
    for ``medoids[j]`` (algorithms on points never build the n x n matrix).
    """
    med = np.asarray(medoids).astype(np.int64).ravel()
    if rows is None:
        rows = np.asarray(diss[med])
    extras = dict(extras or {})
    if labels is None:
        lab = np.argmin(rows, axis=0).astype(np.int64)
        extras["labels_from"] = "nearest medoid (library returned none)"
    else:
        lab, ok = relabel_to_medoids(np.asarray(labels).astype(np.int64), med)
        if not ok:
            extras["relabel_failed"] = "the library's medoids do not lie in distinct clusters of its labels"
    if (lab >= 0).all() and (lab < len(med)).all():
        loss = float(np.sum(rows[lab, np.arange(rows.shape[1])], dtype=np.float64))
    else:
        loss = float("nan")
    if library_loss is not None:
        extras["library_loss"] = float(library_loss)
    return ClusteringResult(loss=loss, labels=lab, medoids=med, n_iter=int(n_iter or 0),
                            n_swap=int(n_swap or 0), converged=converged, extras=extras)


# ---------------------------------------------------------- centre objectives

def pairwise_to_centers(X: np.ndarray, C: np.ndarray, metric: str) -> np.ndarray:
    """(n, k) distances from points to centres in float64, computed from the differences.

    ``metric``: sqeuclidean, euclidean, manhattan or cosine (1 - cosine similarity).
    """
    Xd = np.asarray(X, dtype=np.float64)
    Cd = np.asarray(C, dtype=np.float64)
    if metric == "manhattan":
        return np.stack([np.abs(Xd - c).sum(axis=1) for c in Cd], axis=1)
    if metric == "cosine":
        xn = np.linalg.norm(Xd, axis=1)
        cn = np.linalg.norm(Cd, axis=1)
        return np.maximum(1.0 - (Xd @ Cd.T) / np.outer(xn, cn), 0.0)
    if metric not in ("euclidean", "sqeuclidean"):
        raise ValueError(f"unknown metric {metric!r}; expected euclidean, sqeuclidean, manhattan or cosine")
    D = np.stack([np.einsum("ij,ij->i", Xd - c, Xd - c) for c in Cd], axis=1)
    return np.sqrt(D) if metric == "euclidean" else D


def medoid_result_points(X: np.ndarray, metric: str, medoids, labels=None, **kwargs) -> ClusteringResult:
    """:func:`medoid_result` for algorithms on points: only the k x n medoid rows are computed."""
    med = np.asarray(medoids).astype(np.int64).ravel()
    rows = np.ascontiguousarray(pairwise_to_centers(X, X[med], metric).T)  # row j = medoid j
    return medoid_result(None, med, labels, rows=rows, **kwargs)


def center_result(X: np.ndarray, centers, labels=None, *, objective: str, assign_metric: str | None = None,
                  library_loss: Any = None, n_iter: int | None = 0, converged: bool | None = None,
                  extras: dict[str, Any] | None = None) -> ClusteringResult:
    """Normalise a k-means/k-median answer; the loss is ``objective`` summed over the labels.

    ``objective`` is ``"sqeuclidean"`` (k-means) or ``"manhattan"`` (k-median).
    ``assign_metric`` names the metric the library assigned points with when it is
    not the objective's (recorded for the invariant checker).
    """
    C = np.array(centers, dtype=np.float64)
    extras = dict(extras or {})
    extras["objective"] = objective
    if assign_metric is not None and assign_metric != objective:
        extras["assign_metric"] = assign_metric
    if labels is None:
        lab = np.argmin(pairwise_to_centers(X, C, assign_metric or objective), axis=1).astype(np.int64)
    else:
        lab = np.asarray(labels).astype(np.int64)
    if len(C) and (lab >= 0).all() and (lab < len(C)).all():
        diff = np.asarray(X, dtype=np.float64) - C[lab]
        loss = float(np.abs(diff).sum() if objective == "manhattan" else np.einsum("ij,ij->", diff, diff))
    else:
        loss = float("nan")
    if library_loss is not None:
        extras["library_loss"] = float(library_loss)
    return ClusteringResult(loss=loss, labels=lab, centers=C, n_iter=int(n_iter or 0),
                            converged=converged, extras=extras)
