"""Registry entries of the reference silhouette computations (family "silhouette").

A silhouette runnable evaluates a clustering rather than finding one: it takes
``task.diss`` and ``task.medoids`` (points labelled with their nearest medoid)
or ``task.options["labels"]`` and returns the silhouette value as ``loss`` and
in ``extras["silhouette"]``. The timed region is the public function's call
(:func:`~bench_core.algorithms.silhouette.silhouette` with its input checks);
labelling the points is the setup of the evaluation, as in the peers' adapters.
"""

from __future__ import annotations

import numpy as np

from ..input_checks import check_diss, check_labels, check_medoids
from ..registry import Task, register, register_algorithm
from ..result import ClusteringResult
from .assignment import assign
from .silhouette import medoid_silhouette, silhouette


def _labels_and_medoids(task: Task) -> tuple[np.ndarray, np.ndarray | None]:
    D = check_diss(task.diss, name="task.diss")
    if task.medoids is not None:
        med = check_medoids(task.medoids, D.shape[0])
        return assign(D, med)[0], med
    if "labels" in task.options:
        return check_labels(task.options["labels"], D.shape[0]), None
    raise ValueError("a silhouette task needs task.medoids (or task.options['labels'])")


def _run_silhouette(task: Task) -> ClusteringResult:
    labels, med = _labels_and_medoids(task)  # the clustering to evaluate: not timed, as for the peers
    with task.timed():
        value = silhouette(task.diss, labels, n_threads=task.n_threads)
    return ClusteringResult(loss=value, labels=labels, medoids=med, extras={"silhouette": value})


def _run_medoid_silhouette(task: Task) -> ClusteringResult:
    if task.medoids is None:
        raise ValueError("a medoid silhouette task needs task.medoids")
    labels, med = _labels_and_medoids(task)
    with task.timed():
        value = medoid_silhouette(task.diss, med, n_threads=task.n_threads)
    return ClusteringResult(loss=value, labels=labels, medoids=med,
                            extras={"silhouette": value, "medoid_silhouette": value})


register("silhouette/reference", _run_silhouette, family="silhouette", input="diss",
         language="Cython", description="Silhouette (Rousseeuw 1987), one pass over the matrix",
         supports_init=False,
         tags=("reference",))
register("medoid_silhouette/reference", _run_medoid_silhouette, family="silhouette",
         input="diss", language="Cython",
         description="Medoid silhouette (Van der Laan et al. 2003), O(nk)",
         supports_init=False,
         tags=("reference",))

# What is true of each algorithm whoever implements it (titles, default start, grid limits).
register_algorithm("silhouette", title="silhouette")
register_algorithm("medoid_silhouette", title="medoid silhouette")
