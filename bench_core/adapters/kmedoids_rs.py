"""Adapter to the ``kmedoids`` package (Schubert & Lenssen, JOSS 2022; Rust core).

What the library runs is what its names say: ``pam`` is BUILD + best-swap SWAP
(Kaufman & Rousseeuw), ``fastpam1`` the same swaps found O(k) faster,
``fasterpam`` the eager first-improvement swaps of Schubert & Rousseeuw (2021)
(``random_state=None``: points in index order; a seed: shuffled order from the
Rust RNG; ``n_cpu > 1``: the parallel variant, which evaluates swaps in blocks),
``alternating`` the k-means-style medoid update, ``pam_build`` BUILD alone, and
the medoid-silhouette family (PAMSIL, PAMMEDSIL, FastMSC, FasterMSC, DynMSC).

The library reports the *silhouette* as the "loss" of its silhouette-optimising
algorithms (larger is better); our loss for the ``msc`` family is ``1 - value``
(the library's figure kept in ``extras["library_loss"]``). Threads: the Rust code
is given ``n_cpu=task.n_threads`` where it accepts it; BLAS is pinned anyway.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..registry import Task, register
from ..result import ClusteringResult
from ._common import (
    dist_version,
    medoid_result,
    pinned,
    start_medoids,
    task_diss,
)

_REQ = ("kmedoids",)
_VERSION = dist_version("kmedoids")


def _start(task: Task, D: np.ndarray, default_init: str):
    """Explicit medoids as uint array (what kmedoids wants), or the count plus init/seed."""
    if task.medoids is not None:
        med, how = start_medoids(task, D.shape[0])
        return med.astype(np.uintp), {}, how
    init = task.options.get("init", default_init)
    if init in ("random", "first", "build"):  # the library's own initialisation
        return int(task.k), {"init": init, "random_state": task.seed}, f"{init} (kmedoids)"
    med, how = start_medoids(task, D.shape[0], default_init)
    return med.astype(np.uintp), {}, how


def _library_init(D: np.ndarray, k: int, init: str, seed) -> np.ndarray:
    """kmedoids' own initialisation (``_check_medoids``): first, BUILD, or RandomState(seed).choice."""
    import kmedoids

    if init == "first":
        return np.arange(k, dtype=np.uintp)
    if init == "build":
        return np.asarray(kmedoids.pam_build(D, k).medoids, dtype=np.uintp)
    rs = np.random.RandomState(seed) if seed is not None else np.random.mtrand._rand
    return rs.choice(D.shape[0], k, False).astype(np.uintp)


def _max_iter(task: Task, default: int = 100) -> int:
    return int(task.max_iter) if task.max_iter is not None else default


def _n_swap(r) -> int:
    return int(getattr(r, "n_swap", None) or getattr(r, "n_swaps", None) or 0)


def _swap_runner(fname: str, default_init: str, **fixed):
    """Runnable for a swap-based k-medoids algorithm of the library."""
    def run(task: Task) -> ClusteringResult:
        import kmedoids

        D = task_diss(task)
        start, kw, how = _start(task, D, default_init)
        max_iter = _max_iter(task)
        kw = dict(kw)
        if fname == "fasterpam" and not isinstance(start, np.ndarray):
            # fasterpam's random_state also shuffles the processing order: draw the
            # start exactly as the library would, then set the order separately.
            start = _library_init(D, start, kw.pop("init"), kw.pop("random_state"))
        if isinstance(start, np.ndarray):
            kw.pop("random_state", None)
        for key, value in fixed.items():
            kw[key] = value(task) if callable(value) else value
        with warnings.catch_warnings(), pinned(task.n_threads), task.timed():
            # kmedoids warns that the seed is ignored with explicit medoids; for
            # fasterpam it still sets the processing order.
            warnings.filterwarnings("ignore", "Seed will be ignored")
            r = getattr(kmedoids, fname)(D, start, max_iter=max_iter, **kw)
        n_iter = int(r.n_iter or 0)
        extras = {"init": how,
                  "n_cpu": kw.get("n_cpu"), "library": "kmedoids"}
        return medoid_result(D, r.medoids, r.labels, library_loss=r.loss, n_iter=n_iter,
                             n_swap=_n_swap(r), converged=n_iter < max_iter, extras=extras)
    run.__name__ = f"kmedoids_{fname}"
    return run


def _seed(task: Task) -> int:
    return 0 if task.seed is None else int(task.seed)


fasterpam = _swap_runner("fasterpam", "random", n_cpu=1)
fasterpam_shuffled = _swap_runner("fasterpam", "random", n_cpu=1, random_state=_seed)
fasterpam_parallel = _swap_runner("fasterpam", "random", n_cpu=lambda t: max(1, int(t.n_threads)),
                                  random_state=_seed)
fastpam1 = _swap_runner("fastpam1", "random")
pam = _swap_runner("pam", "build")
alternating = _swap_runner("alternating", "random")


def build(task: Task) -> ClusteringResult:
    """PAM BUILD (``kmedoids.pam_build``): greedy initialisation only."""
    import kmedoids

    D = task_diss(task)
    with pinned(task.n_threads), task.timed():
        r = kmedoids.pam_build(D, int(task.k))
    return medoid_result(D, r.medoids, r.labels, library_loss=r.loss, n_iter=0, n_swap=0, converged=True,
                         extras={"library": "kmedoids"})


def _msc_runner(fname: str, default_init: str, objective: str):
    """PAMSIL (silhouette) and the medoid-silhouette optimisers; loss = 1 - objective."""
    def run(task: Task) -> ClusteringResult:
        import kmedoids

        D = task_diss(task, allow_int=False)
        start, kw, how = _start(task, D, default_init)
        max_iter = _max_iter(task)
        extra_kw = {}
        if fname == "dynmsc":
            extra_kw["minimum_k"] = int(task.options.get("minimum_k", 2))
        with pinned(task.n_threads), task.timed():
            r = getattr(kmedoids, fname)(D, start, max_iter=max_iter, **extra_kw, **kw)
        res = medoid_result(D, r.medoids, r.labels, library_loss=r.loss, n_iter=r.n_iter,
                            n_swap=_n_swap(r), converged=int(r.n_iter or 0) < max_iter,
                            extras={"init": how, "library": "kmedoids"})
        value = _objective_value(D, res, objective)
        res.loss = 1.0 - value
        res.extras["silhouette"] = value
        res.extras["objective"] = objective
        if fname == "dynmsc":
            res.extras["bestk"] = int(r.bestk)
            res.extras["losses"] = [float(x) for x in r.losses]
            res.extras["rangek"] = [int(x) for x in r.rangek]
        return res
    run.__name__ = f"kmedoids_{fname}"
    return run


def _objective_value(D: np.ndarray, res: ClusteringResult, objective: str) -> float:
    """The silhouette our loss is built from, computed by the library from the returned state."""
    import kmedoids

    if objective == "silhouette":
        return float(kmedoids.silhouette(D, res.labels.astype(np.uintp), n_cpu=1)[0])
    return float(kmedoids.medoid_silhouette(D, res.medoids.astype(np.uintp))[0])


pamsil = _msc_runner("pamsil", "build", "silhouette")
pammedsil = _msc_runner("pammedsil", "build", "medoid_silhouette")
fastmsc = _msc_runner("fastmsc", "random", "medoid_silhouette")
fastermsc = _msc_runner("fastermsc", "random", "medoid_silhouette")
dynmsc = _msc_runner("dynmsc", "random", "medoid_silhouette")


def silhouette(task: Task) -> ClusteringResult:
    """``kmedoids.silhouette`` of the nearest-medoid labels of ``task.medoids``."""
    import kmedoids

    D = task_diss(task, allow_int=False)
    med, _ = start_medoids(task, D.shape[0])
    res = medoid_result(D, med)
    with pinned(task.n_threads), task.timed():
        value, _ = kmedoids.silhouette(D, res.labels.astype(np.uintp), n_cpu=max(1, int(task.n_threads)))
    res.loss = float(value)
    res.extras.update(silhouette=float(value), library_loss=float(value), library="kmedoids")
    res.extras.pop("labels_from", None)
    return res


def medoid_silhouette(task: Task) -> ClusteringResult:
    """``kmedoids.medoid_silhouette`` of ``task.medoids``."""
    import kmedoids

    D = task_diss(task, allow_int=False)
    med, _ = start_medoids(task, D.shape[0])
    res = medoid_result(D, med)
    with pinned(task.n_threads), task.timed():
        value, _ = kmedoids.medoid_silhouette(D, med.astype(np.uintp))
    res.loss = float(value)
    res.extras.update(silhouette=float(value), library_loss=float(value), library="kmedoids")
    res.extras.pop("labels_from", None)
    return res


_COMMON = dict(language="Rust", requires=_REQ, version=_VERSION)

register("fasterpam/kmedoids", fasterpam, family="kmedoids", reference="fasterpam/reference",
         agreement="identical", description="kmedoids.fasterpam, points in index order (random_state=None), n_cpu=1",
         note="same eager swaps in the same order as the reference from the same start", **_COMMON)
register("fasterpam/kmedoids-shuffled", fasterpam_shuffled, family="kmedoids",
         reference="fasterpam/reference", agreement="differs",
         description="kmedoids.fasterpam with random_state=seed: processing order shuffled by the Rust RNG",
         note="the shuffled order comes from the library's own RNG, so the local optimum reached can differ",
         **_COMMON)
register("fasterpam/kmedoids-parallel", fasterpam_parallel, family="kmedoids",
         reference="fasterpam/reference", agreement="differs",
         description="kmedoids.fasterpam with n_cpu=task.n_threads (parallel variant when > 1)",
         note="the parallel variant evaluates swaps in blocks and applies them in a different order; "
              "with n_threads=1 the library runs the sequential shuffled version", tags=("parallel",), **_COMMON)
register("fastpam1/kmedoids", fastpam1, family="kmedoids", reference="fastpam1/reference",
         agreement="identical", description="kmedoids.fastpam1: PAM's best swaps found O(k) faster",
         note="same swaps as PAM from the same start", **_COMMON)
register("pam/kmedoids", pam, family="kmedoids", reference="pam/reference", agreement="identical",
         description="kmedoids.pam: BUILD + SWAP (best swap per iteration)",
         note="the original PAM; same swaps from the same start", **_COMMON)
register("build/kmedoids", build, family="kmedoids", reference="build/reference", agreement="identical",
         description="kmedoids.pam_build: PAM's BUILD", note="greedy BUILD, deterministic", supports_init=False,
         **_COMMON)
register("alternating/kmedoids", alternating, family="kmedoids", reference="alternating/reference",
         agreement="identical", description="kmedoids.alternating: k-means-style medoid update",
         note="alternating assignment/medoid update from the same start", **_COMMON)
register("pamsil/kmedoids", pamsil, family="msc", reference="pamsil/reference", agreement="identical",
         description="kmedoids.pamsil: PAM swaps maximising the silhouette; loss = 1 - silhouette",
         note="the library reports the silhouette itself as its loss", **_COMMON)
register("pammedsil/kmedoids", pammedsil, family="msc", reference="pammedsil/reference", agreement="identical",
         description="kmedoids.pammedsil: PAM swaps maximising the medoid silhouette; loss = 1 - medoid silhouette",
         note="the library reports the medoid silhouette itself as its loss", **_COMMON)
register("fastmsc/kmedoids", fastmsc, family="msc", reference="fastmsc/reference", agreement="identical",
         description="kmedoids.fastmsc: PAMMEDSIL's swaps found O(k^2) faster; loss = 1 - medoid silhouette",
         note="same swaps as PAMMEDSIL from the same start", **_COMMON)
register("fastermsc/kmedoids", fastermsc, family="msc", reference="fastermsc/reference", agreement="identical",
         description="kmedoids.fastermsc: eager medoid-silhouette swaps; loss = 1 - medoid silhouette",
         note="eager swaps in index order", **_COMMON)
register("dynmsc/kmedoids", dynmsc, family="msc", reference="dynmsc/reference", agreement="identical",
         description="kmedoids.dynmsc: FasterMSC for k = minimum_k..k, best medoid silhouette; task.k is the maximum",
         note="task.options['minimum_k'] (default 2)", **_COMMON)
register("silhouette/kmedoids", silhouette, family="silhouette", reference="silhouette/reference",
         agreement="identical", description="kmedoids.silhouette of the nearest-medoid labels",
         note="exact silhouette (Rousseeuw 1987), singletons 0", **_COMMON)
register("medoid_silhouette/kmedoids", medoid_silhouette, family="silhouette",
         reference="medoid_silhouette/reference", agreement="identical",
         description="kmedoids.medoid_silhouette", note="1 - a/b with a, b the two nearest medoids", **_COMMON)
