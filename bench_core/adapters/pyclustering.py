"""Adapter to pyclustering 0.10.1 (Novikov 2019): kmedoids, kmedians, kmeans, clarans, silhouette.

pyclustering has a C++ core ("ccore") and a pure-Python implementation of most
algorithms, and silently falls back to Python when the core does not load. Each
entry names the mode it asks for (``-python`` suffix: ``ccore=False``), and
``extras["backend"]`` records the mode that actually ran:
``pyclustering.core.wrapper.ccore_library.workable()`` is what the library itself
consults before using the core.

What the library really runs:

* ``kmedoids`` with ``data_type="distance_matrix"``: PAM's SWAP from the given
  medoids (best swap per iteration), but its stop rule applies the best swap even
  when it does not improve and stops only afterwards, so it ends one
  *non-improving* swap away from PAM's local optimum (loss higher by that swap's
  cost). ``tolerance=0`` is passed so the library's tolerance does not stop early.
* ``kmedians`` assigns points with the metric it is given and defaults to
  *squared Euclidean*; the k-median objective is L1, so ``kmedian/pyclustering``
  passes ``MANHATTAN`` and ``kmedian/pyclustering-sqeuclidean`` keeps the default.
  Empty clusters are dropped (fewer than k centres). The C++ version does not
  follow the Python one: the clusters it returns are not those nearest to the
  medians it returns (blobs, 10 of 16 validation cases), on MNIST its L1 loss
  *rises* with more iterations, and it is slow on high-dimensional data (about
  0.1 s per iteration for 300 x 784). The Python version matches the reference.
* ``kmeans``: Lloyd with the default squared-Euclidean metric, ``tolerance=0``
  (stops when no centre moves). Empty clusters are dropped.
* ``clarans``: pure Python, squared Euclidean between points; it reseeds Python's
  ``random`` module from the clock (``random.seed()``) on every call -- the adapter
  swaps the module's ``random`` for a ``random.Random(task.seed)`` whose ``seed()``
  is a no-op, so runs are reproducible. Its swap cost is computed from the wrong
  medoid, so the search can accept "improving" swaps for ever (it did not stop on
  100 two-dimensional blobs); the adapter raises :class:`ClaransDidNotTerminate`
  after ``options["max_swaps"]`` accepted swaps.
* ``silhouette`` with a distance matrix: the exact silhouette, except that points
  in singleton clusters get NaN (Rousseeuw: 0); the adapter's value counts them as
  0 (``extras["nan_points"]``), the library's mean is ``extras["library_loss"]``.

When no start is given, initial centres come from our own k-means++ seeding
(:func:`bench_core.adapters._common.kmeans_plusplus`): pyclustering's
``kmeans_plusplus_initializer`` calls ``numpy.warnings``, which NumPy 2 removed.
"""

from __future__ import annotations

import contextlib
import random as _random
from collections.abc import Iterator

import numpy as np

from ..registry import Task, register
from ..result import ClusteringResult
from ._common import (
    center_result,
    dist_version,
    labels_from_clusters,
    medoid_result,
    medoid_result_points,
    pinned,
    start_centers,
    start_medoids,
    task_diss,
    task_points,
)

_REQ = ("pyclustering.cluster",)
_VERSION = dist_version("pyclustering")


def ccore_workable() -> bool:
    """Whether pyclustering's C++ core loads (what the library checks before using it)."""
    try:
        from pyclustering.core.wrapper import ccore_library
    except Exception:
        return False
    try:
        return bool(ccore_library.workable())
    except Exception:
        return False


def _backend(ccore: bool) -> str:
    if not ccore:
        return "python"
    return "ccore" if ccore_workable() else "python (ccore requested, core not loadable)"


def _metric(name: str):
    from pyclustering.utils.metric import distance_metric, type_metric

    kinds = {"sqeuclidean": type_metric.EUCLIDEAN_SQUARE, "euclidean": type_metric.EUCLIDEAN,
             "manhattan": type_metric.MANHATTAN}
    return distance_metric(kinds[name])


def _kmedoids(ccore: bool):
    def run(task: Task) -> ClusteringResult:
        from pyclustering.cluster.kmedoids import kmedoids

        D = task_diss(task)
        med, how = start_medoids(task, D.shape[0])
        itermax = int(task.max_iter) if task.max_iter is not None else 100
        data = D if ccore else D.tolist()  # the Python code indexes data[i][j]: lists are much faster
        algo = kmedoids(data, med.tolist(), tolerance=float(task.options.get("tolerance", 0.0)),
                        ccore=ccore, data_type="distance_matrix", itermax=itermax)
        with pinned(task.n_threads), task.timed():
            algo.process()
        clusters = algo.get_clusters()
        medoids = np.asarray(algo.get_medoids(), dtype=np.int64)
        labels = labels_from_clusters(clusters, D.shape[0])
        extras = {"backend": _backend(ccore), "init": how,
                  "library": "pyclustering"}
        return medoid_result(D, medoids, labels, extras=extras)
    run.__name__ = f"pyclustering_kmedoids_{'ccore' if ccore else 'python'}"
    return run


def _centers_runner(kind: str, ccore: bool, metric: str):
    """kmeans / kmedians: ``metric`` is the metric handed to the library for assignment."""
    objective = "sqeuclidean" if kind == "kmeans" else "manhattan"

    def run(task: Task) -> ClusteringResult:
        X = task_points(task)
        C0, how = start_centers(task, X)
        itermax = int(task.max_iter) if task.max_iter is not None else 300
        kw = {"metric": _metric(metric), "itermax": itermax}
        data = X if ccore else X.tolist()
        tol = float(task.options.get("tolerance", 0.0))
        if kind == "kmeans":
            from pyclustering.cluster.kmeans import kmeans as algo_cls
        else:
            from pyclustering.cluster.kmedians import kmedians as algo_cls
        algo = algo_cls(data, C0.tolist(), tolerance=tol, ccore=ccore, **kw)
        with pinned(task.n_threads), task.timed():
            algo.process()
        centers = algo.get_centers() if kind == "kmeans" else algo.get_medians()
        labels = labels_from_clusters(algo.get_clusters(), X.shape[0])
        extras = {"backend": _backend(ccore), "init": how,
                  "library": "pyclustering", "library_metric": metric}
        return center_result(X, np.asarray(centers, dtype=np.float64).reshape(-1, X.shape[1]), labels,
                             objective=objective, assign_metric=metric,
                             library_loss=algo.get_total_wce(), extras=extras)
    run.__name__ = f"pyclustering_{kind}_{metric}_{'ccore' if ccore else 'python'}"
    return run


class _SeededRandom(_random.Random):
    """``random`` stand-in whose ``seed()`` keeps the state it was created with."""

    def seed(self, *args, **kwargs) -> None:  # called with no argument by clarans.process()
        if not hasattr(self, "_seeded"):
            super().seed(*args, **kwargs)
            self._seeded = True


@contextlib.contextmanager
def _seeded_clarans(seed) -> Iterator[None]:
    import pyclustering.cluster.clarans as mod

    rnd = _SeededRandom(0 if seed is None else int(seed))
    saved = mod.random
    mod.random = rnd
    try:
        yield
    finally:
        mod.random = saved


class ClaransDidNotTerminate(RuntimeError):
    """pyclustering's CLARANS kept accepting "improving" swaps past the limit."""


def _limit_swaps(algo, max_swaps: int) -> None:
    """Count accepted swaps (each one re-forms the clusters) and stop the run past ``max_swaps``.

    pyclustering's swap cost uses the distance to the *replaced* medoid where it
    means the second-nearest one, so a swap can look improving when it is not and
    the search can cycle forever (observed on 100 blobs, k=3: 25,000 swaps in 10 s).
    """
    name = "_clarans__update_clusters"
    original = getattr(algo, name)
    count = [0]

    def update(medoids):
        count[0] += 1
        if count[0] > max_swaps:
            raise ClaransDidNotTerminate(
                f"pyclustering clarans accepted {max_swaps} swaps without reaching a local minimum "
                "(its swap cost is computed wrongly, so the search cycles); raise options['max_swaps'] "
                "to wait longer")
        return original(medoids)

    setattr(algo, name, update)


def clarans(task: Task) -> ClusteringResult:
    """``pyclustering.cluster.clarans.clarans`` (pure Python, squared Euclidean between points).

    Options: ``numlocal`` (default 2), ``maxneighbor`` (default
    ``max(250, 1.25% of k(n-k))``, Ng & Han's suggestion).
    """
    from pyclustering.cluster.clarans import clarans as algo_cls

    X = task_points(task)
    n, k = X.shape[0], int(task.k)
    numlocal = int(task.options.get("numlocal", 2))
    maxneighbor = int(task.options.get("maxneighbor", max(250, int(0.0125 * k * (n - k)))))
    max_swaps = int(task.options.get("max_swaps", 100 * k * max(numlocal, 1)))
    algo = algo_cls(X.tolist(), k, numlocal, maxneighbor)
    _limit_swaps(algo, max_swaps)
    with _seeded_clarans(task.seed), pinned(task.n_threads), task.timed():
        algo.process()
    medoids = np.asarray(algo.get_medoids(), dtype=np.int64)
    labels = labels_from_clusters(algo.get_clusters(), n)
    extras = {"backend": "python", "library": "pyclustering",
              "numlocal": numlocal, "maxneighbor": maxneighbor, "metric": task.metric,
              "library_metric": "sqeuclidean"}
    return medoid_result_points(X, task.metric, medoids, labels, extras=extras)


def _silhouette(ccore: bool):
    def run(task: Task) -> ClusteringResult:
        from pyclustering.cluster.silhouette import silhouette as algo_cls

        D = task_diss(task, allow_int=False)
        med, _ = start_medoids(task, D.shape[0])
        res = medoid_result(D, med)
        res.extras.pop("labels_from", None)
        clusters = [np.flatnonzero(res.labels == j).tolist() for j in range(len(med))]
        algo = algo_cls(D if ccore else D, clusters, data_type="distance_matrix", ccore=ccore)
        with pinned(task.n_threads), task.timed():
            algo.process()
        scores = np.asarray(algo.get_score(), dtype=np.float64)
        nan = np.isnan(scores)
        value = float(np.where(nan, 0.0, scores).mean())
        res.loss = value
        res.extras.update(silhouette=value, library_loss=float(scores.mean()), nan_points=int(nan.sum()),
                          backend=_backend(ccore), library="pyclustering")
        return res
    run.__name__ = f"pyclustering_silhouette_{'ccore' if ccore else 'python'}"
    return run


_C = dict(requires=_REQ, version=_VERSION)
_PAM_NOTE = ("the same best swaps as PAM, but its stop rule applies one last non-improving swap "
             "before stopping, so the loss ends higher than PAM's local optimum by that swap's cost")

register("pam/pyclustering", _kmedoids(True), family="kmedoids", reference="pam/reference",
         agreement="differs", language="C++",
         description="pyclustering kmedoids(data_type='distance_matrix', ccore=True): PAM SWAP from the given "
                     "medoids (BUILD is not part of it)", note=_PAM_NOTE, **_C)
register("pam/pyclustering-python", _kmedoids(False), family="kmedoids", reference="pam/reference",
         agreement="differs", language="Python",
         description="pyclustering kmedoids, pure-Python mode (ccore=False)", note=_PAM_NOTE,
         tags=("slow",), **_C)
_KMED_NOTE = ("Lloyd-style k-median from the same centres; pyclustering drops empty clusters, and its "
              "C++ version does not take the Python version's steps (measured on 300 MNIST digits, k=5: "
              "its L1 loss rises with itermax, 7.9e6 at 5 iterations, 8.2e6 at 40; Python: 5.7e6)")
register("kmedian/pyclustering", _centers_runner("kmedian", True, "manhattan"), family="kmedian",
         input="points", reference="kmedian/reference", agreement="differs", language="C++",
         description="pyclustering kmedians with metric=MANHATTAN (L1 assignment, coordinate-wise medians)",
         note=_KMED_NOTE, tags=("slow-high-dim",), **_C)
register("kmedian/pyclustering-python", _centers_runner("kmedian", False, "manhattan"), family="kmedian",
         input="points", reference="kmedian/reference", agreement="identical", language="Python",
         description="pyclustering kmedians, metric=MANHATTAN, pure-Python mode",
         note="Lloyd-style k-median in L1 with the mean of the two middle values for even counts, as the "
              "reference; identical on every validation case (it would drop an empty cluster)",
         tags=("slow",), **_C)
register("kmedian/pyclustering-sqeuclidean", _centers_runner("kmedian", True, "sqeuclidean"),
         family="kmedian", input="points", reference="kmedian/reference", agreement="differs",
         language="C++",
         description="pyclustering kmedians with its default metric (squared Euclidean assignment)",
         note="the library's default assigns points by squared Euclidean distance, not L1: not k-median",
         tags=("slow-high-dim",), **_C)
# pyclustering's k-means stops when no centre moves more than `tolerance` (0 here: at
# convergence); the reference is compared at convergence too (tol=0), not with its
# default, scikit-learn's relative tolerance, which stops earlier on some data
_TO_CONVERGENCE = {"tol": 0.0}
register("kmeans/pyclustering", _centers_runner("kmeans", True, "sqeuclidean"), family="kmeans",
         input="points", reference="kmeans/reference", agreement="same-loss", language="C++",
         description="pyclustering kmeans (ccore, tolerance=0)",
         note="Lloyd from the same centres; empty clusters are dropped instead of relocated",
         reference_options=_TO_CONVERGENCE, **_C)
register("kmeans/pyclustering-python", _centers_runner("kmeans", False, "sqeuclidean"), family="kmeans",
         input="points", reference="kmeans/reference", agreement="same-loss", language="Python",
         description="pyclustering kmeans, pure-Python mode (tolerance=0)",
         note="Lloyd from the same centres; empty clusters are dropped instead of relocated",
         reference_options=_TO_CONVERGENCE, **_C)
register("clarans/pyclustering", clarans, family="sampling", input="points", reference="clarans/reference",
         agreement="differs", language="Python", supports_init=False, tags=("slow", "broken"),
         description="pyclustering clarans (pure Python; numlocal, maxneighbor); stopped after "
                     "options['max_swaps'] accepted swaps (default 100 k numlocal)",
         note="its swap cost uses the replaced medoid where it means the second-nearest one, so the "
              "search can cycle without end; squared Euclidean; randomised", **_C)
register("silhouette/pyclustering", _silhouette(True), family="silhouette", reference="silhouette/reference",
         agreement="identical", language="C++",
         description="pyclustering silhouette(data_type='distance_matrix', ccore=True)",
         note="singleton clusters score NaN in the library; counted as 0 here (Rousseeuw)", **_C)
register("silhouette/pyclustering-python", _silhouette(False), family="silhouette",
         reference="silhouette/reference", agreement="identical", language="Python",
         description="pyclustering silhouette, pure-Python mode",
         note="singleton clusters score NaN in the library; counted as 0 here (Rousseeuw)", **_C)
