"""Adapter to ``onebatch`` (de Mathelin et al., "OneBatchPAM: A Fast and Frugal K-Medoids Algorithm", AAAI 2025).

``onebatch.OneBatchPAM(n_medoids=k, distance=metric, batch_size="auto",
weighting=True, normalize=True, max_iter, tol=1e-6, random_state=seed).fit(X)``
on the points: it computes the n x B distances to one random batch with
scikit-learn, normalises and weights them, draws its start, and runs its
Cython eager swap kernel in float32. It takes no start medoids (its start comes
from the same ``default_rng(seed)`` as the batch), so it runs from the seed
only, like our ``onebatchpam/reference``, which draws the same batch and start.
``labels_`` covers the batch only; labels and loss over all n points are
computed here from the medoids. BLAS (scikit-learn's distances) is pinned to
``task.n_threads``.
"""

from __future__ import annotations

import numpy as np

from ..registry import Task, register
from ..result import ClusteringResult
from ._common import dist_version, medoid_result_points, pinned, task_points


def onebatchpam(task: Task) -> ClusteringResult:
    from onebatch import OneBatchPAM

    X = task_points(task)
    max_iter = int(task.max_iter) if task.max_iter is not None else 100
    km = OneBatchPAM(n_medoids=int(task.k), distance=task.metric,
                     batch_size=task.options.get("batch_size", "auto"),
                     weighting=bool(task.options.get("weighting", True)),
                     normalize=bool(task.options.get("normalize", True)), max_iter=max_iter,
                     tol=float(task.options.get("tol", 1e-6)), n_jobs=None, random_state=task.seed)
    with pinned(task.n_threads), task.timed():
        km.fit(X)
    medoids = np.asarray(km.medoid_indices_, dtype=np.int64)
    B = len(km.labels_)
    return medoid_result_points(X, task.metric, medoids, None, n_iter=int(km.n_iter_) + 1, converged=None,
                                extras={"library": "onebatch", "batch_size": B, "batch_loss": float(km.inertia_),
                                        "distance_computations": int(X.shape[0]) * B})


register("onebatchpam/onebatch", onebatchpam, family="sampling", input="points", language="Python+Cython",
         reference="onebatchpam/reference", agreement="identical", requires=("onebatch",),
         version=dist_version("onebatch"), supports_init=False,
         description="onebatch.OneBatchPAM(batch_size='auto', weighting=True, normalize=True, "
                     "random_state=seed).fit(X)",
         note="same batch and start from the same seed (numpy default_rng), same float32 swap arithmetic")
