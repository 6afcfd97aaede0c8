"""Registry entries of the reference PAM family (family "kmedoids", input "diss")."""

from __future__ import annotations

from collections.abc import Callable

from ..registry import Task, register, register_algorithm
from ..result import ClusteringResult
from . import pam as _pam


def _swap_runner(func: Callable, default_init: str, **fixed) -> Callable[[Task], ClusteringResult]:
    def run(task: Task) -> ClusteringResult:
        if task.diss is None:
            raise ValueError("a k-medoids task needs the dissimilarity matrix task.diss")
        opts = dict(task.options)
        init = opts.pop("init", default_init)
        start = task.medoids if task.medoids is not None else task.k
        if task.max_iter is not None:
            opts["max_iter"] = task.max_iter
        opts.update(fixed)
        return func(task.diss, start, init=init, random_state=task.seed,
                    n_threads=task.n_threads, **opts)
    return run


def _run_build(task: Task) -> ClusteringResult:
    if task.diss is None:
        raise ValueError("a k-medoids task needs the dissimilarity matrix task.diss")
    return _pam.build(task.diss, task.k, n_threads=task.n_threads)


_COMMON = dict(family="kmedoids", input="diss", language="Cython", tags=("reference",))

register("build/reference", _run_build, supports_init=False,
         description="PAM BUILD (Kaufman & Rousseeuw 1990), lazy-greedy evaluation, same medoids as "
                     "plain BUILD", **_COMMON)
register("pam/reference", _swap_runner(_pam.pam, "build"),
         description="PAM SWAP, best swap per iteration, O(k(n-k)^2) per iteration", **_COMMON)
register("fastpam1/reference", _swap_runner(_pam.fastpam1, "random"),
         description="FastPAM1 (Schubert & Rousseeuw 2021): PAM's swaps in O(n^2) per iteration",
         **_COMMON)
register("fasterpam/reference", _swap_runner(_pam.fasterpam, "random"),
         description="FasterPAM (Schubert & Rousseeuw 2021), eager swaps, candidates in index order",
         **_COMMON)
register("fasterpam/reference-shuffled", _swap_runner(_pam.fasterpam, "random", shuffle=True),
         description="FasterPAM, candidates in a random order seeded by task.seed",
         reference="fasterpam/reference", agreement="differs",
         note="a different candidate order gives a different local optimum", **_COMMON)
register("alternating/reference", _swap_runner(_pam.alternating, "random"),
         description="Alternating (k-means style) k-medoids (Park & Jun 2009)", **_COMMON)

# What is true of each algorithm whoever implements it (titles, default start, grid limits).
register_algorithm("build", title="BUILD", default_init="build")
register_algorithm("pam", title="PAM", default_init="build")
register_algorithm("fastpam1", title="FastPAM1")
register_algorithm("fasterpam", title="FasterPAM")
register_algorithm("alternating", title="Alternating")
