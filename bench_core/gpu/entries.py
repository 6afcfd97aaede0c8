"""Registry entries of the PyTorch backend (implementation name ``torch``).

torch is imported only when a runnable is called, so this module loads without
it; every entry ``requires=("torch",)`` and is then listed as unavailable with
the import error as the reason. The device is ``task.options["device"]``, else
``$KMBENCH_TORCH_DEVICE``, else CUDA when torch sees a GPU, else the CPU; the
GPU's name is kept in ``extras["device"]``. Options besides ``init`` are passed
to the functions: ``compute_dtype``, ``block_rows``, ``max_device_bytes``,
``block_size`` (fasterpam), ``record_swaps`` (pam, fastpam1, fasterpam).
"""

from __future__ import annotations

import os
import time

import numpy as np

from ..input_checks import check_labels, check_medoids
from ..registry import Task, register
from ..result import ClusteringResult

REQUIRES = ("torch",)
TAGS = ("gpu", "torch")


def _version() -> str:
    import torch
    cuda = f", CUDA {torch.version.cuda}" if torch.version.cuda else ", CPU build"
    return f"torch {torch.__version__}{cuda}"


def _opts(task: Task) -> dict:
    opts = dict(task.options)
    opts.setdefault("device", os.environ.get("KMBENCH_TORCH_DEVICE") or None)
    return opts


def _need_diss(task: Task):
    if task.diss is None:
        raise ValueError("this task needs the dissimilarity matrix task.diss")
    return task.diss


def _swapper(name: str, default_init: str):
    def run(task: Task) -> ClusteringResult:
        from . import pam as tp
        opts = _opts(task)
        init = opts.pop("init", default_init)
        start = task.medoids if task.medoids is not None else task.k
        if task.max_iter is not None:
            opts["max_iter"] = task.max_iter
        res = getattr(tp, name)(_need_diss(task), start, init=init, random_state=task.seed, **opts)
        res.extras.setdefault("algorithm", name)
        return res
    run.__name__ = f"_run_{name}"
    return run


def _run_build(task: Task) -> ClusteringResult:
    from .pam import build
    opts = _opts(task)
    opts.pop("init", None)
    return build(_need_diss(task), task.k, **opts)


def _labels_and_medoids(task: Task):
    from .pam import assign
    D = _need_diss(task)
    n = D.shape[0]
    if task.medoids is not None:
        med = check_medoids(task.medoids, n)
        return assign(D, med, device=_opts(task)["device"])[0], med
    if "labels" in task.options:
        return check_labels(task.options["labels"], n), None
    raise ValueError("a silhouette task needs task.medoids (or task.options['labels'])")


def _run_silhouette(task: Task) -> ClusteringResult:
    from .silhouette import silhouette
    labels, med = _labels_and_medoids(task)
    value = silhouette(task.diss, labels, device=_opts(task)["device"])
    return ClusteringResult(loss=value, labels=labels, medoids=med, extras={"silhouette": value})


def _run_medoid_silhouette(task: Task) -> ClusteringResult:
    from .silhouette import medoid_silhouette
    if task.medoids is None:
        raise ValueError("a medoid silhouette task needs task.medoids")
    labels, med = _labels_and_medoids(task)
    value = medoid_silhouette(task.diss, med, device=_opts(task)["device"])
    return ClusteringResult(loss=value, labels=labels, medoids=med,
                            extras={"silhouette": value, "medoid_silhouette": value})


def _points(task: Task) -> np.ndarray:
    if task.X is None:
        raise ValueError("this task needs the points task.X")
    return task.X


def _run_kmeans(task: Task) -> ClusteringResult:
    from .kmeans import kmeans
    opts = _opts(task)
    init = task.centers if task.centers is not None else opts.pop("init", "k-means++")
    opts.pop("init", None)
    if task.max_iter is not None:
        opts["max_iter"] = task.max_iter
    return kmeans(_points(task), task.k, init=init, random_state=task.seed, **opts)


def _run_kmedian(task: Task) -> ClusteringResult:
    from .kmedian import kmedian
    opts = _opts(task)
    init = task.centers if task.centers is not None else opts.pop("init", "k-medians++")
    opts.pop("init", None)
    if task.max_iter is not None:
        opts["max_iter"] = task.max_iter
    return kmedian(_points(task), task.k, init=init, random_state=task.seed, **opts)


_COMMON = dict(language="Python (PyTorch)", requires=REQUIRES, version=_version, tags=TAGS)
_F32 = ("float64 makes the same choices as the reference up to rounding of the sums (taken in "
        "another order); float32 matrices are computed in float32 unless "
        "options['compute_dtype'] = 'float64', and can then part ways at near-ties")

register("build/torch", _run_build, family="kmedoids", input="diss",
         description="PAM BUILD as row-block reductions on the device",
         reference="build/reference", agreement="identical", note=_F32, supports_init=False,
         **_COMMON)
register("pam/torch", _swapper("pam", "build"), family="kmedoids", input="diss",
         description="exact PAM SWAP: FastPAM1 deltas of all (candidate, medoid) pairs as one "
                     "clamped pass and one (n x n)(n x k) product per iteration",
         reference="pam/reference", agreement="identical", note=_F32, **_COMMON)
register("fastpam1/torch", _swapper("fastpam1", "random"), family="kmedoids", input="diss",
         description="FastPAM1 (same computation as pam/torch, random init by default)",
         reference="fastpam1/reference", agreement="identical", note=_F32, **_COMMON)
register("fasterpam/torch", _swapper("fasterpam", "random"), family="kmedoids", input="diss",
         description="FasterPAM-style eager swaps over blocks of 256 candidates (the best swap "
                     "of a block is applied at once)",
         reference="fasterpam/reference", agreement="differs",
         note="eager per block of candidates rather than per candidate: a local optimum of the "
              "same kind (no improving single swap left) but not the same swaps; "
              "options['block_size'] = 1 reproduces FasterPAM's swaps", **_COMMON)
register("alternating/torch", _swapper("alternating", "random"), family="kmedoids", input="diss",
         description="Alternating k-medoids: within-cluster sums of all points by one product "
                     "with the one-hot labels",
         reference="alternating/reference", agreement="identical", note=_F32, **_COMMON)
register("silhouette/torch", _run_silhouette, family="silhouette", input="diss",
         description="Silhouette: per-cluster sums by one product per row block (float64)",
         reference="silhouette/reference", agreement="identical", supports_init=False, **_COMMON)
register("medoid_silhouette/torch", _run_medoid_silhouette, family="silhouette", input="diss",
         description="Medoid silhouette from the two nearest medoids (top-2 of the k medoid rows)",
         reference="medoid_silhouette/reference", agreement="identical", supports_init=False,
         **_COMMON)
register("kmeans/torch", _run_kmeans, family="kmeans", input="points",
         description="Lloyd's k-means: assignment through the norm expansion (one matrix "
                     "product), centres through index_add in float64",
         reference="kmeans/reference", agreement="same-loss",
         note="near-ties of the norm expansion are not re-ranked with exact distances "
              "(the reference does): labels can differ where two centres are equally far "
              "to within rounding", **_COMMON)
register("kmedian/torch", _run_kmedian, family="kmedian", input="points",
         description="Lloyd-style k-median: L1 assignment by cdist, coordinate-wise medians",
         reference="kmedian/reference", agreement="identical",
         note="no sample weights or outliers (the reference's options)", **_COMMON)


# ----------------------------------------------------------------------------- torch-tiled
# Exact PAM from the points (bench_core.gpu.tiled): distance tiles computed on the fly, never
# the n x n matrix. Options: dtype ("float64" default, "float32"), device, memory_budget
# (bytes of tile work arrays), tile_rows, tile_cols, lazy (BUILD), tol, tie_rtol,
# record_swaps, fused (BUILD gains and swap sums in one torch.compile kernel per tile,
# bench_core.gpu.fused), prune and prune_leaf (build, pam, fastpam1: skip the tiles that box
# bounds prove out of reach, bench_core.gpu.bounds), block_size (fasterpam).

_TILED_OPTS = ("dtype", "device", "memory_budget", "tile_rows", "tile_cols")


def _pinned(run):
    """Run with torch's intra-op threads pinned to ``task.n_threads`` (CPU tiles; restored after)."""
    def pinned(task: Task) -> ClusteringResult:
        import torch
        before = torch.get_num_threads()
        torch.set_num_threads(max(1, int(task.n_threads)))
        try:
            return run(task)
        finally:
            torch.set_num_threads(before)
    pinned.__name__ = run.__name__
    return pinned


#: Points of the untimed run that compiles the fused kernels (options["fused"]) before the timed one.
WARMUP_ROWS = 20_000


def _warm_up(func, X: np.ndarray, k: int, opts: dict) -> float | None:
    """With ``opts["fused"]``: ``func(first points, k, **opts)`` outside the timed region, so that
    the timed call reuses the compiled kernels; its seconds (None without ``fused``).

    ``torch.compile`` specialises on d, k, the metric and the dtype, not on n, so the kernels
    compiled here are those of the timed call; a user's first call in a process pays this once.
    """
    if not opts.get("fused"):
        return None
    t0 = time.perf_counter()
    func(np.ascontiguousarray(X[:max(min(len(X), WARMUP_ROWS), k)]), k, **opts)
    return time.perf_counter() - t0


def _tiled_swapper(name: str, default_init: str, prune: bool = False):
    def run(task: Task) -> ClusteringResult:
        from . import tiled
        opts = _opts(task)
        if prune:
            opts.setdefault("prune", True)
        init = opts.pop("init", default_init)
        start = task.medoids if task.medoids is not None else task.k
        if task.max_iter is not None:
            opts["max_iter"] = task.max_iter
        X, func = _points(task), getattr(tiled, name)
        opts |= {"random_state": task.seed, "metric": task.metric}
        # two SWAP iterations from the same kind of start (given medoids may lie beyond the head)
        compile_s = _warm_up(func, X, task.k, opts | {"max_iter": 2, "init": "random" if task.medoids is not None
                                                       else init})
        with task.timed():
            res = func(X, start, init=init, **opts)
        if compile_s is not None:
            res.extras["compile_s"] = compile_s
        if res.extras.get("iteration_s"):       # the rows keep scalars: the median for the reports
            res.extras["iteration_s_median"] = float(np.median(res.extras["iteration_s"]))
        return res
    run.__name__ = f"_run_tiled_{name}{'_pruned' if prune else ''}"
    return _pinned(run)


def _run_tiled_build(task: Task) -> ClusteringResult:
    from .tiled import build
    opts = _opts(task) | {"metric": task.metric}
    opts.pop("init", None)
    X = _points(task)
    compile_s = _warm_up(build, X, task.k, opts)
    with task.timed():
        res = build(X, task.k, **opts)
    if compile_s is not None:
        res.extras["compile_s"] = compile_s
    return res


def _tiled_labels(task: Task):
    from .tiled import assign
    opts = {k: v for k, v in _opts(task).items() if k in _TILED_OPTS and k != "tile_rows"}
    X = _points(task)
    if task.medoids is not None:
        med = check_medoids(task.medoids, X.shape[0])
        return assign(X, med, task.metric, **opts)[0], med
    if "labels" in task.options:
        return check_labels(task.options["labels"], X.shape[0]), None
    raise ValueError("a silhouette task needs task.medoids (or task.options['labels'])")


def _run_tiled_silhouette(task: Task) -> ClusteringResult:
    from .tiled import silhouette
    labels, med = _tiled_labels(task)
    opts = {k: v for k, v in _opts(task).items() if k in _TILED_OPTS}
    value = silhouette(_points(task), labels, task.metric, **opts)
    return ClusteringResult(loss=value, labels=labels, medoids=med, extras={"silhouette": value})


def _run_tiled_medoid_silhouette(task: Task) -> ClusteringResult:
    from .tiled import medoid_silhouette
    if task.medoids is None:
        raise ValueError("a medoid silhouette task needs task.medoids")
    labels, med = _tiled_labels(task)
    opts = {k: v for k, v in _opts(task).items() if k in _TILED_OPTS and k != "tile_rows"}
    value = medoid_silhouette(_points(task), med, task.metric, **opts)
    return ClusteringResult(loss=value, labels=labels, medoids=med,
                            extras={"silhouette": value, "medoid_silhouette": value})


_TILED = dict(language="Python (PyTorch)", requires=REQUIRES, version=_version,
              tags=TAGS + ("tiled",))
_TILED_NOTE = ("distances recomputed per tile from the points (float64 by default): bit-identical "
               "to the reference matrix for integer-valued data, else equal up to the rounding of "
               "the dot products; swaps whose changes tie to within 1e-10 of the loss are listed in "
               "extras['near_ties']; options['dtype'] = 'float32' can part ways at near-ties")

register("build/torch-tiled", _pinned(_run_tiled_build), family="kmedoids", input="points",
         description="PAM BUILD from the points: lazy-greedy gains over blocks of candidates, "
                     "distance tiles computed on the fly (no n x n matrix)",
         reference="build/reference", agreement="identical", note=_TILED_NOTE,
         supports_init=False, **_TILED)
register("pam/torch-tiled", _tiled_swapper("pam", "build"), family="kmedoids", input="points",
         description="exact PAM SWAP from the points: FastPAM1 deltas per block of candidates, "
                     "one elementwise pass and one product with the one-hot clusters per tile",
         reference="pam/reference", agreement="identical", note=_TILED_NOTE, **_TILED)
register("fastpam1/torch-tiled", _tiled_swapper("fastpam1", "random"), family="kmedoids",
         input="points",
         description="FastPAM1 from the points (the computation of pam/torch-tiled, random init)",
         reference="fastpam1/reference", agreement="identical", note=_TILED_NOTE, **_TILED)
for _alg, _init in (("pam", "build"), ("fastpam1", "random")):
    register(f"{_alg}/torch-tiled-pruned", _tiled_swapper(_alg, _init, prune=True), family="kmedoids",
             input="points",
             description=f"{_alg}/torch-tiled with prune=True: points in k-d tree order, the tiles "
                         "that box bounds prove out of reach skipped (their terms are all zero)",
             reference=f"{_alg}/reference", agreement="identical",
             note=_TILED_NOTE + "; in low dimension most tiles are skipped, in high dimension none",
             **_TILED)
register("fasterpam/torch-tiled", _tiled_swapper("fasterpam", "random"), family="kmedoids",
         input="points",
         description="FasterPAM-style eager swaps from the points over blocks of 256 candidates "
                     "(the best swap of a block is made at once)",
         reference="fasterpam/reference", agreement="differs",
         note="eager per block of candidates rather than per candidate: a local optimum of the "
              "same kind, not the same swaps; options['block_size'] = 1 makes FasterPAM's swaps",
         **_TILED)
register("silhouette/torch-tiled", _pinned(_run_tiled_silhouette), family="silhouette", input="points",
         description="Silhouette from the points: per-cluster sums by products of distance tiles "
                     "with the one-hot labels (float64)",
         reference="silhouette/reference", agreement="identical", supports_init=False, **_TILED)
register("medoid_silhouette/torch-tiled", _pinned(_run_tiled_medoid_silhouette), family="silhouette",
         input="points",
         description="Medoid silhouette from the points: top-2 of the k medoid rows, tile by tile",
         reference="medoid_silhouette/reference", agreement="identical", supports_init=False,
         **_TILED)
