"""A peer library in one file: SciPy's ``scipy.cluster.vq.kmeans2`` as k-means.

Load it with ``kmbench run --plugin examples/plugins/kmeans2_scipy.py
--algorithms kmeans``. Only the library's call is timed (``with task.timed()``);
the harness assigns points to the returned centres and recomputes the loss.

``kmeans2`` runs a fixed number of Lloyd iterations (``iter``: the task's
``max_iter``, default 300) with no convergence test, where ``kmeans/reference``
stops once the centres move less than scikit-learn's tolerance (1e-4 of the
mean variance). From the shared start both take the same Lloyd steps, so they
agree exactly when the reference converges fully; where it stops at the
tolerance, kmeans2 goes on and ends slightly lower (``kmbench validate``: 42 of
48 cases identical, the others within 0.13%, kmeans2 lower). Empty clusters keep
their previous centre (``missing="warn"``), where the reference relocates them.
"""

import warnings

import numpy as np

from bench_core.registry import register


def kmeans2(task):
    from scipy.cluster.vq import kmeans2 as scipy_kmeans2

    X = np.asarray(task.X, dtype=np.float64)
    if task.centers is None:
        raise ValueError("kmeans/scipy-plugin needs the shared start (task.centers)")
    start = np.array(task.centers, dtype=np.float64)
    with warnings.catch_warnings(record=True), task.timed():
        centers, _ = scipy_kmeans2(X, start, iter=task.max_iter or 300, minit="matrix",
                                   missing="warn", check_finite=False)
    return {"centers": centers}  # labels: the harness assigns each point to its nearest centre


def _version():
    import scipy

    return scipy.__version__


register("kmeans/scipy-plugin", kmeans2, family="kmeans", input="points", language="C",
         reference="kmeans/reference", agreement="differs", requires=("scipy",), version=_version,
         description="scipy.cluster.vq.kmeans2 from the shared centres (plug-in example)",
         note="a fixed number of Lloyd iterations, no tolerance: goes on where the reference stops")
