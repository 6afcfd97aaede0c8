"""Adapter to BanditPAM (Tiwari et al., NeurIPS 2020; ``banditpam`` on PyPI, C++ with Armadillo).

BanditPAM replaces PAM's exhaustive BUILD and SWAP searches with multi-armed
bandit estimates on sampled points: a randomised algorithm that returns PAM's
medoids with high probability (the paper's claim), not always. It chooses its
own start (its BUILD); explicit initial medoids cannot be given. It computes in
float32: the adapter hands it our matrix through ``dist_mat`` (cast to float32
when needed) and recomputes the loss on the original matrix. ``seed`` is
``task.seed``; threads: ``parallelize`` is on only when ``task.n_threads > 1``
and ``set_num_threads(task.n_threads)`` is called.

Since banditpam 4.0 the package's ``algorithm="BanditPAM"`` is BanditPAM++
(Tiwari et al., NeurIPS 2023: virtual arms and permutation-invariant caching,
same medoids as BanditPAM in fewer distance calls); the original algorithm is
``"BanditPAM_orig"``, registered beside it as ``pam/banditpam-orig``.

Installed by ``make`` when a wheel is available (``pip install banditpam``); when
it is missing the entry is listed as unavailable with the import error.
"""

from __future__ import annotations

import numpy as np

from ..registry import Task, register
from ..result import ClusteringResult
from ._common import dist_version, medoid_result, pinned, task_diss


def pam(task: Task, default_algorithm: str = "BanditPAM") -> ClusteringResult:
    import banditpam

    D = task_diss(task)
    D32 = D if D.dtype == np.float32 else D.astype(np.float32)
    algorithm = task.options.get("algorithm", default_algorithm)
    n_threads = max(1, int(task.n_threads))
    km = banditpam.KMedoids(n_medoids=int(task.k), algorithm=algorithm,
                            max_iter=int(task.max_iter) if task.max_iter is not None else 100,
                            parallelize=n_threads > 1)
    if task.seed is not None:
        km.seed = int(task.seed)
    banditpam.set_num_threads(n_threads)
    with pinned(n_threads), task.timed():
        km.fit(D32, "L2", dist_mat=D32)  # with dist_mat the loss name is not used for distances
    medoids = np.asarray(km.medoids, dtype=np.int64)
    labels = np.asarray(km.labels, dtype=np.int64)
    extras = {"library": "banditpam", "algorithm": algorithm,
              "build_medoids": np.asarray(km.build_medoids, dtype=np.int64).tolist(),
              "steps": int(km.steps), "float32_copy": D.dtype != np.float32}
    return medoid_result(D, medoids, labels, library_loss=float(km.average_loss) * D.shape[0],
                         n_iter=int(km.steps), n_swap=int(km.steps), extras=extras)


register("pam/banditpam", pam, family="kmedoids", reference="pam/reference", agreement="differs",
         language="C++", requires=("banditpam",), version=dist_version("banditpam"),
         supports_init=False, deterministic=True,
         description="banditpam.KMedoids(algorithm='BanditPAM', dist_mat=diss): BanditPAM++ (banditpam >= 4), "
                     "bandit-sampled BUILD + SWAP",
         note="randomised: returns PAM's medoids with high probability (not always), from its own "
              "BUILD, in float32; reported, not failed")


def pam_orig(task: Task) -> ClusteringResult:
    """The original BanditPAM (NeurIPS 2020), ``algorithm="BanditPAM_orig"``."""
    return pam(task, "BanditPAM_orig")


register("pam/banditpam-orig", pam_orig, family="kmedoids", reference="pam/reference", agreement="differs",
         language="C++", requires=("banditpam",), version=dist_version("banditpam"),
         supports_init=False, deterministic=True,
         description="banditpam.KMedoids(algorithm='BanditPAM_orig', dist_mat=diss): the original BanditPAM",
         note="randomised like pam/banditpam (which runs BanditPAM++ since banditpam 4.0); reported, not failed")
