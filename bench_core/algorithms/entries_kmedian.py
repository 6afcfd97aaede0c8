"""Registry entry of the reference k-median (family "kmedian", input "points", L1)."""

from __future__ import annotations

from ..registry import Task, register, register_algorithm
from ..result import ClusteringResult
from .kmedian import kmedian


def _run_kmedian(task: Task) -> ClusteringResult:
    if task.X is None:
        raise ValueError("a k-median task needs the points task.X")
    opts = dict(task.options)
    init = task.centers if task.centers is not None else opts.pop("init", "k-medians++")
    opts.pop("init", None)
    if task.max_iter is not None:
        opts["max_iter"] = task.max_iter
    return kmedian(task.X, task.k, init=init, random_state=task.seed,
                   n_threads=task.n_threads, **opts)


register("kmedian/reference", _run_kmedian, family="kmedian", input="points", language="Cython",
         description="Lloyd-style k-median in L1: coordinate-wise medians by selection, "
                     "optional weights and outliers",
         tags=("reference",))

# What is true of each algorithm whoever implements it (titles, default start, grid limits).
register_algorithm("kmedian", title="k-median")
