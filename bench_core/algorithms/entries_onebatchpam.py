"""Registry entry of the reference OneBatchPAM (family "sampling", input "points")."""

from __future__ import annotations

from ..registry import Task, register, register_algorithm
from ..result import ClusteringResult
from .onebatchpam import evaluate, onebatchpam_medoids

#: Keywords of :func:`onebatchpam` a task may set in ``task.options``.
OPTIONS = ("batch_size", "weighting", "normalize", "tol")


def run(task: Task) -> ClusteringResult:
    if task.X is None:
        raise ValueError("onebatchpam needs the points task.X (and task.metric)")
    opts = {key: task.options[key] for key in OPTIONS if key in task.options}
    with task.timed():  # the algorithm; the loss over all n points is evaluation, as in the adapter
        X, med, info = onebatchpam_medoids(task.X, task.k, task.metric, max_iter=task.max_iter or 100,
                                           random_state=task.seed, **opts)
    return evaluate(X, med, task.metric, info)


register("onebatchpam/reference", run, family="sampling", input="points", language="Python+Cython",
         supports_init=False, deterministic=True, tags=("reference",),
         description="OneBatchPAM (de Mathelin et al., AAAI 2025): eager swaps scored on one batch of "
                     "100 log(nk) points, float32, seeded like the onebatch package")
register_algorithm("onebatchpam", title="OneBatchPAM")
