"""Registry entry of the reference k-means (family "kmeans", input "points")."""

from __future__ import annotations

from threadpoolctl import threadpool_limits

from ..registry import Task, register, register_algorithm
from ..result import ClusteringResult
from .kmeans import kmeans


def _run_kmeans(task: Task) -> ClusteringResult:
    if task.X is None:
        raise ValueError("a k-means task needs the points task.X")
    opts = dict(task.options)
    init = task.centers if task.centers is not None else opts.pop("init", "k-means++")
    opts.pop("init", None)
    if task.max_iter is not None:
        opts["max_iter"] = task.max_iter
    with threadpool_limits(limits=task.n_threads):  # the BLAS of the assignment blocks
        return kmeans(task.X, task.k, init=init, random_state=task.seed,
                      n_threads=task.n_threads, **opts)


register("kmeans/reference", _run_kmeans, family="kmeans", input="points", language="Cython",
         description="Lloyd's k-means (BLAS blocks, exact near-tie re-ranking), k-means++ seeding; "
                     "the iteration and stopping rule of scikit-learn's lloyd",
         tags=("reference",))

# What is true of each algorithm whoever implements it (titles, default start, grid limits).
register_algorithm("kmeans", title="k-means")
