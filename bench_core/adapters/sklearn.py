"""Adapter to scikit-learn: ``KMeans`` (Lloyd and Elkan) and ``silhouette_score``.

``KMeans`` is run with ``n_init=1`` from ``task.centers`` (or scikit-learn's own
k-means++ with ``random_state=task.seed`` when no centres are given), ``tol`` from
``task.options["tol"]`` (scikit-learn's default 1e-4, relative to the mean feature
variance) and ``max_iter`` (default 300). scikit-learn centres the data before
iterating and relocates empty clusters to far points; our loss is the sum of
squared distances from the returned labels and centres (``inertia_`` kept as the
library's loss). OpenMP/BLAS threads are pinned to ``task.n_threads``.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..registry import Task, register
from ..result import ClusteringResult
from ._common import (
    center_result,
    dist_version,
    medoid_result,
    pinned,
    start_medoids,
    task_diss,
    task_points,
)

_REQ = ("sklearn",)
_VERSION = dist_version("scikit-learn")


def _kmeans(algorithm: str):
    def run(task: Task) -> ClusteringResult:
        from sklearn.cluster import KMeans
        from sklearn.exceptions import ConvergenceWarning

        X = task_points(task)
        if task.centers is not None:
            init, how = np.asarray(task.centers, dtype=X.dtype), "given"
        else:
            init, how = task.options.get("init", "k-means++"), f"{task.options.get('init', 'k-means++')} (sklearn)"
        max_iter = int(task.max_iter) if task.max_iter is not None else 300
        km = KMeans(n_clusters=int(task.k), init=init, n_init=1, max_iter=max_iter,
                    tol=float(task.options.get("tol", 1e-4)), algorithm=algorithm, random_state=task.seed)
        with warnings.catch_warnings(record=True) as caught, pinned(task.n_threads), task.timed():
            warnings.simplefilter("always", ConvergenceWarning)
            km.fit(X)
        n_iter = int(km.n_iter_)
        extras = {"init": how, "algorithm": algorithm, "library": "scikit-learn"}
        if caught:
            extras["warnings"] = [str(w.message) for w in caught]
        return center_result(X, km.cluster_centers_, km.labels_, objective="sqeuclidean",
                             library_loss=km.inertia_, n_iter=n_iter, converged=n_iter < max_iter,
                             extras=extras)
    run.__name__ = f"sklearn_kmeans_{algorithm}"
    return run


kmeans_lloyd = _kmeans("lloyd")
kmeans_elkan = _kmeans("elkan")


def silhouette(task: Task) -> ClusteringResult:
    """``sklearn.metrics.silhouette_score(diss, labels, metric="precomputed")``.

    Labels are the nearest medoids of ``task.medoids``. scikit-learn gives a
    singleton cluster's point 0, as Rousseeuw does; it refuses a single cluster.
    """
    from sklearn.metrics import silhouette_score

    D = task_diss(task, allow_int=False)
    med, _ = start_medoids(task, D.shape[0])
    res = medoid_result(D, med)
    res.extras.pop("labels_from", None)
    with pinned(task.n_threads), task.timed():
        value = float(silhouette_score(D, res.labels, metric="precomputed"))
    res.loss = value
    res.extras.update(silhouette=value, library_loss=value, library="scikit-learn")
    return res


_COMMON = dict(language="Cython", requires=_REQ, version=_VERSION)

register("kmeans/sklearn", kmeans_lloyd, family="kmeans", input="points", reference="kmeans/reference",
         agreement="identical", description="sklearn.cluster.KMeans(algorithm='lloyd', n_init=1)",
         note="the reference follows scikit-learn's Lloyd iteration step for step (centring, "
              "strict convergence, empty-cluster relocation)", **_COMMON)
register("kmeans/sklearn-elkan", kmeans_elkan, family="kmeans", input="points", reference="kmeans/reference",
         agreement="same-loss", description="sklearn.cluster.KMeans(algorithm='elkan', n_init=1)",
         note="Elkan's triangle-inequality bounds reach Lloyd's fixed point; its tol test and "
              "rounding can stop one iteration apart", **_COMMON)
register("silhouette/sklearn", silhouette, family="silhouette", reference="silhouette/reference",
         agreement="identical", description="sklearn.metrics.silhouette_score(metric='precomputed')",
         note="exact silhouette, computed in chunks", language="Python", requires=_REQ, version=_VERSION)
