"""Adapter to R's ``cluster`` package (Maechler, Rousseeuw, Struyf, Hubert, Hornik; 2.1.4 in Debian 12).

``pam(x, k, diss = TRUE, medoids = start, variant = v)`` for every ``variant``
of this version (``args(pam)``): ``"original"`` (Kaufman & Rousseeuw's SWAP,
best swap per iteration), ``"o_1"`` and ``"o_2"`` (Reynolds et al. 2006 short
cuts, same swaps), ``"f_3"`` (FastPAM1, Schubert & Rousseeuw 2019: the same
swaps found O(k) faster), ``"f_4"`` and ``"f_5"`` (FastPAM2: several swaps per
iteration), ``"faster"`` (FasterPAM, Schubert & Rousseeuw 2021: eager swaps);
``do.swap = FALSE`` gives BUILD alone. ``clara(x, k, samples = 5, sampsize =
40 + 2k, rngR = TRUE, pamLike = TRUE)`` on the points, seeded by
``set.seed(task.seed)``. ``pam`` has no iteration limit: ``task.max_iter`` is
not passed (reported in ``extras``).

R runs in an ``Rscript`` child process, one per call, not through ``rpy2``: at
n = 10,000 handing the matrix over was no slower that way (a file of the lower
triangle read with ``readBin``: 4.8-6.5 s in all, against 8.7-12.5 s for rpy2,
which gathers the triangle and copies it into R), the child cannot take the
benchmark process down, and the current rpy2 does not load with Debian 12's
R 4.2 (measurements in ``docs/guide/peers.md``). The matrix goes over as R's ``dist``
layout (lower triangle by columns) in the task's precision, float32 read by R
into double. The time reported as ``fit_time`` is measured inside R around the
``pam``/``clara`` call (``Sys.time()`` before and after: not R's start-up, the
package load nor the transfer); the child's wall time is in
``extras["wall_seconds"]``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from ..registry import Task, register, register_algorithm
from ..result import ClusteringResult
from ._common import medoid_result, medoid_result_points, start_medoids, task_diss, task_points
from ._runtime import die_with_parent, r_cluster_status

_R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
lines <- readLines(file.path(dir, "params.txt"))
p <- setNames(as.list(sub("^[^=]*=", "", lines)), sub("=.*$", "", lines))
suppressPackageStartupMessages(library(cluster))
n <- as.integer(p$n); k <- as.integer(p$k); size <- as.integer(p$size)
con <- file(file.path(dir, "input.bin"), "rb")
if (p$mode == "clara") {
  d <- as.integer(p$d)
  x <- matrix(readBin(con, "double", n * d, size = size), nrow = n, ncol = d, byrow = TRUE)
} else {
  x <- readBin(con, "double", n * (n - 1) / 2, size = size)
  attributes(x) <- list(Size = n, Diag = FALSE, Upper = FALSE, class = "dist")
}
close(con)
invisible(file.remove(file.path(dir, "input.bin")))  # nothing big left behind if the worker is killed
if (p$mode == "clara") {
  set.seed(as.integer(p$seed))
  t0 <- Sys.time()
  r <- clara(x, k, metric = "euclidean", samples = as.integer(p$samples), sampsize = as.integer(p$sampsize),
             rngR = TRUE, pamLike = TRUE, medoids.x = FALSE, keep.data = FALSE)
  t1 <- Sys.time()
  med <- r$i.med; obj <- r$objective
} else {
  med0 <- if (p$medoids == "") NULL else as.integer(strsplit(p$medoids, ",", fixed = TRUE)[[1]])
  t0 <- Sys.time()
  r <- pam(x, k, diss = TRUE, medoids = med0, nstart = NA, variant = p$variant,
           do.swap = p$mode != "build", keep.diss = FALSE)
  t1 <- Sys.time()
  med <- r$id.med; obj <- r$objective
}
writeLines(c(sprintf("%.9f", as.numeric(t1) - as.numeric(t0)), paste(med, collapse = " "),
             paste(sprintf("%.17g", obj), collapse = " ")), file.path(dir, "out.txt"))
writeBin(as.integer(r$clustering), file.path(dir, "labels.bin"), size = 4)
"""


def _write_dist(path: Path, D: np.ndarray) -> None:
    """R's ``dist`` layout: column j's entries below the diagonal, D[j+1:, j] == D[j, j+1:] (symmetric)."""
    dt = np.float32 if D.dtype == np.float32 else np.float64
    with open(path, "wb") as fh:
        for j in range(D.shape[0] - 1):
            np.ascontiguousarray(D[j, j + 1:], dtype=dt).tofile(fh)


def run_r(mode: str, params: dict, write_input, *, timeout: float | None = None) -> dict:
    """Run the R script in a child ``Rscript``; returns elapsed (in R), medoids (0-based), objective, labels, wall."""
    with tempfile.TemporaryDirectory(prefix="kmbench-r-") as tmp:
        d = Path(tmp)
        (d / "script.R").write_text(_R_SCRIPT)
        (d / "params.txt").write_text("".join(f"{k}={v}\n" for k, v in dict(params, mode=mode).items()))
        t0 = time.perf_counter()
        write_input(d / "input.bin")
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        proc = subprocess.run(["Rscript", "--vanilla", str(d / "script.R"), str(d)], capture_output=True,
                              text=True, timeout=timeout, env={**os.environ, "OMP_NUM_THREADS": "1"},
                              preexec_fn=die_with_parent)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            msg = (proc.stderr or proc.stdout).strip().splitlines()
            raise RuntimeError(f"Rscript failed ({proc.returncode}): {' | '.join(msg[-3:])}")
        lines = (d / "out.txt").read_text().splitlines()
        labels = np.fromfile(d / "labels.bin", dtype=np.int32).astype(np.int64)
    return {"elapsed": float(lines[0]), "medoids": np.array(lines[1].split(), dtype=np.int64) - 1,
            "objective": [float(v) for v in lines[2].split()], "labels": labels - 1,
            "wall": wall, "write": t_write}


def _pam_runner(variant: str, mode: str = "pam"):
    def run(task: Task) -> ClusteringResult:
        D = task_diss(task)
        n = D.shape[0]
        if mode == "build" or (task.medoids is None and task.options.get("init") == "build"):
            med0, how = None, "BUILD (cluster)"  # R's own BUILD, inside the timed call
        else:
            med0, how = start_medoids(task, n)
        params = {"n": n, "k": int(task.k), "size": 4 if D.dtype == np.float32 else 8, "variant": variant,
                  "medoids": "" if med0 is None else ",".join(str(int(m) + 1) for m in med0)}
        out = run_r(mode, params, lambda path: _write_dist(path, D), timeout=task.options.get("timeout"))
        task.timed_seconds = out["elapsed"]
        # pam's clustering numbers clusters in the order of id.med
        res = medoid_result(D, out["medoids"], out["labels"],
                            library_loss=out["objective"][-1] * n, converged=True,
                            extras={"library": "r-cluster", "variant": variant,
                                    "init": how,
                                    "wall_seconds": out["wall"], "transfer_write_seconds": out["write"],
                                    "r_objective": out["objective"],
                                    "max_iter": "not supported by pam (runs to convergence)"})
        return res
    run.__name__ = f"r_cluster_pam_{variant}_{mode}"
    return run


def clara(task: Task) -> ClusteringResult:
    X = task_points(task)
    if task.metric != "euclidean":
        raise ValueError(f"clara/r-cluster runs metric='euclidean' here, not {task.metric!r}")
    n, d = X.shape
    k = int(task.k)
    samples = int(task.options.get("samples", 5))
    sampsize = int(task.options.get("sample_size", min(n, 40 + 2 * k)))
    dt = np.float32 if X.dtype == np.float32 else np.float64
    params = {"n": n, "d": d, "k": k, "size": 4 if dt == np.float32 else 8, "samples": samples,
              "sampsize": sampsize, "seed": 0 if task.seed is None else int(task.seed)}
    out = run_r("clara", params, lambda path: np.ascontiguousarray(X, dtype=dt).tofile(path),
                timeout=task.options.get("timeout"))
    task.timed_seconds = out["elapsed"]
    return medoid_result_points(X, "euclidean", out["medoids"], out["labels"],
                                library_loss=out["objective"][-1] * n, converged=True,
                                extras={"library": "r-cluster", "samples": samples, "sample_size": sampsize,
                                        "wall_seconds": out["wall"], "transfer_write_seconds": out["write"],
                                        "distance_computations": samples * sampsize * (sampsize - 1) // 2
                                        + samples * n * k})


def _version() -> str:
    ok, what = r_cluster_status()
    return what.split(" (")[0].replace("cluster ", "") if ok else "not installed"


#: "subprocess": R runs in an Rscript child (not counted by the in-process instruction profile).
_COMMON = dict(family="kmedoids", language="R (C)", requires=("bench_core.adapters._need_r",), version=_version,
               tags=("subprocess",))
_SAME = "from the same start medoids (pam(medoids = start)); time measured inside R around pam()"

register("pam/r-cluster", _pam_runner("original"), reference="pam/reference", agreement="identical",
         description='cluster::pam(diss, medoids = start, variant = "original"): SWAP, best swap per iteration',
         note="the original PAM SWAP " + _SAME, **_COMMON)
register("pam/r-cluster-o_1", _pam_runner("o_1"), reference="pam/reference", agreement="identical",
         description='cluster::pam(variant = "o_1"): Reynolds et al. (2006) first short cut',
         note="same swaps as PAM " + _SAME, **_COMMON)
register("pam/r-cluster-o_2", _pam_runner("o_2"), reference="pam/reference", agreement="identical",
         description='cluster::pam(variant = "o_2"): Reynolds et al. (2006) both short cuts',
         note="same swaps as PAM " + _SAME, **_COMMON)
register("fastpam1/r-cluster", _pam_runner("f_3"), reference="fastpam1/reference", agreement="identical",
         description='cluster::pam(variant = "f_3"): FastPAM1 (Schubert & Rousseeuw 2019)',
         note="PAM's swaps found O(k) faster " + _SAME, **_COMMON)
register("fastpam2/r-cluster", _pam_runner("f_4"), reference="fastpam1/reference", agreement="differs",
         description='cluster::pam(variant = "f_4"): FastPAM2, several swaps per iteration',
         note="FastPAM2 executes several swaps per iteration, so it may reach another local optimum "
              "than the best-swap FastPAM1", **_COMMON)
register("fastpam2/r-cluster-f_5", _pam_runner("f_5"), reference="fastpam1/reference", agreement="differs",
         description='cluster::pam(variant = "f_5"): FastPAM2 with the "o_2" short cuts',
         note="FastPAM2 executes several swaps per iteration, so it may reach another local optimum "
              "than the best-swap FastPAM1", **_COMMON)
register("fasterpam/r-cluster", _pam_runner("faster"), reference="fasterpam/reference", agreement="identical",
         description='cluster::pam(variant = "faster", nstart = NA, medoids = start): FasterPAM eager swaps',
         note="eager swaps " + _SAME, **_COMMON)
register("build/r-cluster", _pam_runner("original", mode="build"), reference="build/reference",
         agreement="identical", supports_init=False,
         description="cluster::pam(do.swap = FALSE): BUILD only", note="greedy BUILD, deterministic",
         **_COMMON)
register("clara/r-cluster", clara, family="sampling", input="points", language="R (C)", tags=("subprocess",),
         requires=("bench_core.adapters._need_r",), version=_version, reference="clara/reference",
         agreement="differs", supports_init=False,
         description="cluster::clara(X, samples = 5, sampsize = 40 + 2k, rngR = TRUE, pamLike = TRUE), "
                     "set.seed(seed)",
         note="samples drawn by R's RNG, not ours: another sample gives another result (reported, not failed)")

register_algorithm("fastpam2", title="FastPAM2")
