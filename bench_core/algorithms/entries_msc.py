"""Registry entries of the reference medoid-silhouette clustering (family "msc", input "diss").

``loss`` is ``1 - medoid silhouette`` (``1 - silhouette`` for PAMSIL); the
silhouette itself is in ``extras``. ``task.options`` may carry ``init`` and, for
DynMSC, ``minimum_k`` (``task.k`` is then the maximum k).
"""

from __future__ import annotations

from collections.abc import Callable

from ..registry import Task, register, register_algorithm
from ..result import ClusteringResult
from .msc import dynmsc, fastermsc, fastmsc, pammedsil, pamsil


def _runner(func: Callable, default_init: str) -> Callable[[Task], ClusteringResult]:
    def run(task: Task) -> ClusteringResult:
        if task.diss is None:
            raise ValueError("a medoid-silhouette task needs the dissimilarity matrix task.diss")
        opts = dict(task.options)
        init = opts.pop("init", default_init)
        start = task.medoids if task.medoids is not None else task.k
        if task.max_iter is not None:
            opts["max_iter"] = task.max_iter
        return func(task.diss, start, init=init, random_state=task.seed,
                    n_threads=task.n_threads, **opts)
    return run


_COMMON = dict(family="msc", input="diss", language="Cython", tags=("reference",))

register("pamsil/reference", _runner(pamsil, "build"),
         description="PAMSIL (Van der Laan et al. 2003): swaps optimising the silhouette, "
                     "O(k n^3) per iteration (small n only)", **_COMMON)
register("pammedsil/reference", _runner(pammedsil, "build"),
         description="PAMMEDSIL (Van der Laan et al. 2003): best swap per iteration for the "
                     "medoid silhouette, O(k n^2)", **_COMMON)
register("fastmsc/reference", _runner(fastmsc, "random"),
         description="FastMSC (Lenssen & Schubert 2022): PAMMEDSIL's swaps in O(n^2) per iteration",
         **_COMMON)
register("fastermsc/reference", _runner(fastermsc, "random"),
         description="FasterMSC (Lenssen & Schubert 2022): eager medoid-silhouette swaps",
         **_COMMON)
register("dynmsc/reference", _runner(dynmsc, "random"),
         description="DynMSC (Lenssen & Schubert 2024): FasterMSC from k down to minimum_k, "
                     "best medoid silhouette kept", **_COMMON)

# What is true of each algorithm whoever implements it (titles, default start, grid limits).
register_algorithm("pamsil", title="PAMSil", default_init="build", limits={"validate": 250})
register_algorithm("pammedsil", title="PAMMedSil", default_init="build")
register_algorithm("fastmsc", title="FastMSC")
register_algorithm("fastermsc", title="FasterMSC")
register_algorithm("dynmsc", title="DynMSC", options={"minimum_k": 2})
