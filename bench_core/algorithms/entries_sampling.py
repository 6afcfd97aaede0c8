"""Registry entries of the reference sampling algorithms (family "sampling", input "points").

They take ``task.X`` and ``task.metric``; ``task.options`` may carry the
algorithm's keywords (``samples``, ``sample_size``, ``init``, ``keep_medoids``
for CLARA; ``numlocal``, ``maxneighbor`` for CLARANS). They draw their own
samples and starts from ``task.seed``; ``task.medoids`` is not used.
"""

from __future__ import annotations

from collections.abc import Callable

from ..registry import Task, register, register_algorithm
from ..result import ClusteringResult
from .sampling import clara, clarans, fastclara, fastclarans, fasterclara


def _runner(func: Callable) -> Callable[[Task], ClusteringResult]:
    def run(task: Task) -> ClusteringResult:
        if task.X is None:
            raise ValueError("a sampling task needs the points task.X (and task.metric)")
        opts = dict(task.options)
        if task.max_iter is not None and func in (clara, fastclara, fasterclara):
            opts["max_iter"] = task.max_iter
        return func(task.X, task.k, task.metric, random_state=task.seed, **opts)
    return run


_COMMON = dict(family="sampling", input="points", language="Python+Cython",
               supports_init=False, deterministic=True, tags=("reference",))

register("clara/reference", _runner(clara),
         description="CLARA (Kaufman & Rousseeuw 1990): PAM on 5 samples of 40 + 2k points",
         **_COMMON)
register("fastclara/reference", _runner(fastclara),
         description="FastCLARA (Schubert & Rousseeuw 2019): FastPAM1 on 5 samples of 80 + 4k",
         **_COMMON)
register("fasterclara/reference", _runner(fasterclara),
         description="FasterCLARA (Schubert & Rousseeuw 2021): FasterPAM on samples of 400 + 30k (1 to 5 by budget)",
         **_COMMON)
register("clarans/reference", _runner(clarans),
         description="CLARANS (Ng & Han 2002): randomized swaps, numlocal restarts", **_COMMON)
register("fastclarans/reference", _runner(fastclarans),
         description="FastCLARANS (Schubert & Rousseeuw 2019): each candidate against all medoids",
         **_COMMON)

# What is true of each algorithm whoever implements it (titles, default start, grid limits).
register_algorithm("clara", title="CLARA")
register_algorithm("fastclara", title="FastCLARA")
register_algorithm("fasterclara", title="FasterCLARA")
register_algorithm("clarans", title="CLARANS", validate_options={"numlocal": 1, "maxneighbor": 100}, limits={"validate": 300})
register_algorithm("fastclarans", title="FastCLARANS")
