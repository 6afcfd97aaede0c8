"""Adapter to ELKI 0.7.1 (Schubert & Zimek et al.; Java; Debian package ``elki``).

The k-medoids algorithms this version offers: ``KMedoidsPAM`` (BUILD/SWAP,
best swap per iteration), ``KMedoidsEM`` (the alternating method) and
``CLARA`` (FastPAM and FasterPAM came with ELKI 0.7.5 and 0.8). Each call
runs one ``java`` child process (``KDDCLIApplication``) with ``-time``.

Distances: ELKI 0.7.1 can read a precomputed matrix only as a text file of
``i j distance`` lines (``FileBasedDoubleDistanceFunction``: 10^8 lines,
gigabytes, at n = 10,000) or in its own binary on-disk cache format
(``DiskCacheBasedDoubleDistanceFunction``), which it reads through a memory map
at every distance lookup: PAM ran 5x slower that way than from an in-memory
matrix (MNIST n = 2,000, k = 10: 15 s against 3 s), because 0.7.1 does not
put an external distance into its in-memory ``PrecomputedDistanceMatrix``
index. By default the adapter therefore hands ELKI the *points* and lets it
compute Euclidean distances itself, once, into that in-memory index before the
algorithm starts, so the algorithm reads a precomputed matrix as ours do (the
task's matrix is used to recompute the loss; on MNIST pixels, integers, the
distances are the same numbers as ours). ``task.options["elki_input"] =
"matrix"`` (or a task without points) hands it the task's own matrix in the
on-disk format instead (any metric; slower lookups).

Start: ELKI's ``FirstKInitialMeans`` takes the first k objects; the adapter
writes the start medoids first and the other points after them in index order,
and maps ELKI's object ids back. PAM's best swap and the alternating update do
not depend on the order except for exact ties.

Timing: ``fit_time`` is ELKI's own ``<Algorithm>.runtime`` (milliseconds,
measured by ELKI around the algorithm: not the JVM start, the parsing nor the
distance matrix); the child's wall time is in ``extras["wall_seconds"]`` and
the matrix construction time in ``extras["elki_matrix_seconds"]``.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from ..registry import Task, register
from ..result import ClusteringResult
from ._common import medoid_result, medoid_result_points, start_medoids, task_diss, task_points
from ._runtime import die_with_parent, elki_jar, elki_status

_PKG = "de.lmu.ifi.dbs.elki"
_RUNTIME = re.compile(r"\.(\w+)\.runtime: (\d+) ms")
_COST = re.compile(r"iteration-(\d+)\.cost: (\S+)")
_MATRIX = re.compile(r"PrecomputedDistanceMatrix\.construction: (\d+) ms")


def _write_points(path: Path, X: np.ndarray) -> None:
    """ELKI's number-vector text format, one point per line; integers written as such."""
    Xd = np.asarray(X, dtype=np.float64)
    fmt = "%d" if np.array_equal(Xd, np.round(Xd)) and np.abs(Xd).max(initial=0) < 2 ** 53 else "%.17g"
    np.savetxt(path, Xd, fmt=fmt, delimiter=" ")


def _read_clusters(out_dir: Path, n: int, id_base: int) -> tuple[list[int], np.ndarray]:
    """ELKI ids (``id_base``-based, data order) of the medoids and each object's cluster (ResultWriter's files)."""
    medoids: list[int] = []
    labels = np.full(n, -1, dtype=np.int64)
    for j, f in enumerate(sorted(out_dir.glob("cluster_*.txt"), key=lambda p: int(p.stem.split("_")[1]))):
        ids = []
        with open(f) as fh:
            for line in fh:
                if line.startswith("# Cluster Medoid:"):
                    medoids.append(int(line.split(":")[1]))
                elif line.startswith("ID="):
                    ids.append(int(line[3:line.index(" ")] if " " in line else line[3:]))
        labels[np.asarray(ids, dtype=np.int64) - id_base] = j
    return medoids, labels


#: Header of ELKI 0.7.1's on-disk double distance cache (OnDiskUpperTriangleMatrix, big-endian):
#: the magic word its CacheDoubleDistanceInOnDiskMatrix writes, header size, record size.
_CACHE_MAGIC, _CACHE_HEADER, _CACHE_RECORD = 0xB3EC07DF, 20, 8


def _write_matrix(path: Path, D: np.ndarray, order: np.ndarray) -> None:
    """``D[order][:, order]`` in ELKI's on-disk triangle format: record y(y+1)/2 + x = d(x, y), x <= y."""
    n = len(order)
    with open(path, "wb") as fh:
        fh.write(np.array([_CACHE_MAGIC, _CACHE_HEADER, _CACHE_RECORD, n * (n + 1) // 2, n], dtype=">u4").tobytes())
        for y in range(n):
            np.asarray(D[order[y], order[:y + 1]], dtype=">f8").tofile(fh)


def run_elki(X: np.ndarray | None, algorithm: str, k: int, extra: list[str], *, timeout: float | None = None,
             D: np.ndarray | None = None, order: np.ndarray | None = None) -> dict:
    """Run one ELKI clustering; returns medoids and labels (positions in the data handed over), times, log.

    With ``D`` (and ``order``) ELKI reads the matrix ``D[order][:, order]`` from its on-disk cache
    format (``DiskCacheBasedDoubleDistanceFunction``); otherwise it computes Euclidean distances of
    the rows of ``X`` into its in-memory ``PrecomputedDistanceMatrix`` index.
    """
    with tempfile.TemporaryDirectory(prefix="kmbench-elki-") as tmp:
        d = Path(tmp)
        if D is not None:
            order = np.arange(D.shape[0]) if order is None else order
            n = len(order)
            _write_matrix(d / "matrix.bin", D, order)
            dist = ["external.DiskCacheBasedDoubleDistanceFunction", "-distance.matrix", str(d / "matrix.bin")]
            data = ["-dbc", "DBIDRangeDatabaseConnection", "-idgen.count", str(n)]
            id_base = 0
        else:
            n = X.shape[0]
            _write_points(d / "data.txt", X)
            dist = ["minkowski.EuclideanDistanceFunction"]
            data = ["-dbc.in", str(d / "data.txt"), "-db.index", "distancematrix.PrecomputedDistanceMatrix$Factory",
                    "-matrix.distance", *dist]
            id_base = 1
        cmd = ["java", "-XX:+UseSerialGC", "--add-opens", "java.base/java.nio=ALL-UNNAMED", "-cp", elki_jar(),
               f"{_PKG}.application.KDDCLIApplication", *data,
               "-algorithm", f"clustering.kmeans.{algorithm}", "-kmeans.k", str(k),
               "-algorithm.distancefunction", *dist,
               *extra, "-time", "-resulthandler", "ResultWriter", "-out", str(d / "out")]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              preexec_fn=die_with_parent)
        wall = time.perf_counter() - t0
        log = proc.stdout + proc.stderr
        if proc.returncode != 0 or not (d / "out").is_dir():
            lines = [ln for ln in log.splitlines() if ln.strip() and not ln.startswith(("#", "\tat "))]
            raise RuntimeError(f"ELKI {algorithm} failed ({proc.returncode}): {' | '.join(lines[-3:])}")
        medoids, labels = _read_clusters(d / "out", n, id_base)
    runtime = [int(ms) for name, ms in _RUNTIME.findall(log) if name == algorithm]
    if not runtime:
        raise RuntimeError(f"ELKI printed no {algorithm}.runtime line (with -time)")
    costs = [float(c) for _, c in _COST.findall(log)]
    matrix = _MATRIX.findall(log)
    return {"medoids": np.asarray(medoids, dtype=np.int64) - id_base, "labels": labels,
            "seconds": runtime[-1] / 1000.0,
            "wall": wall, "costs": costs, "matrix_seconds": int(matrix[-1]) / 1000.0 if matrix else None}


def _start_order(task: Task, n: int) -> tuple[np.ndarray, str]:
    """Row order handed to ELKI: the start medoids first, then the rest in index order."""
    med0, how = start_medoids(task, n)
    rest = np.setdiff1d(np.arange(n), med0, assume_unique=False)
    return np.concatenate([med0, rest]), how


def _runner(algorithm: str):
    def run(task: Task) -> ClusteringResult:
        use_matrix = task.options.get("elki_input") == "matrix" or task.X is None
        if use_matrix:
            D = task_diss(task)
            X = None
        else:
            X = task_points(task)
            if task.metric != "euclidean":
                raise ValueError(f"the ELKI adapter computes metric='euclidean' from the points, not "
                                 f"{task.metric!r}; pass options={{'elki_input': 'matrix'}} to hand it the matrix")
        n = task.n if X is None else X.shape[0]
        if task.medoids is None and task.options.get("init") == "build":
            # ELKI's own BUILD, inside its timed run
            order, how = np.arange(n), "BUILD (ELKI PAMInitialMeans)"
            extra = ["-kmeans.initialization", "PAMInitialMeans"]
        else:
            order, how = _start_order(task, n)
            how += " (FirstKInitialMeans, reordered)"
            extra = ["-kmeans.initialization", "FirstKInitialMeans"]
        if task.max_iter is not None:
            extra += ["-kmeans.maxiter", str(int(task.max_iter))]
        if use_matrix:
            out = run_elki(None, algorithm, int(task.k), extra, timeout=task.options.get("timeout"), D=D, order=order)
        else:
            out = run_elki(X[order], algorithm, int(task.k), extra, timeout=task.options.get("timeout"))
        task.timed_seconds = out["seconds"]
        medoids = order[out["medoids"]]
        labels = np.empty(n, dtype=np.int64)
        labels[order] = out["labels"]
        extras = {"library": "elki", "algorithm": algorithm, "init": how,
                  "wall_seconds": out["wall"], "elki_matrix_seconds": out["matrix_seconds"],
                  "distances": ("the task's matrix, read by ELKI from its on-disk cache format" if use_matrix else
                                "computed by ELKI (Euclidean, PrecomputedDistanceMatrix index)"),
                  "timer": "ELKI -time, milliseconds"}
        if out["costs"]:
            extras["library_loss"] = out["costs"][-1]
        n_iter = max(len(out["costs"]) - 1, 0)
        if task.diss is not None:
            return medoid_result(task.diss, medoids, labels, n_iter=n_iter, n_swap=n_iter, converged=True,
                                 extras=extras)
        return medoid_result_points(X, "euclidean", medoids, labels, n_iter=n_iter, n_swap=n_iter,
                                    converged=True, extras=extras)
    run.__name__ = f"elki_{algorithm}"
    return run


def clara(task: Task) -> ClusteringResult:
    X = task_points(task)
    if task.metric != "euclidean":
        raise ValueError(f"the ELKI adapter computes metric='euclidean', not {task.metric!r}")
    k = int(task.k)
    samples = int(task.options.get("samples", 5))
    size = int(task.options.get("sample_size", min(X.shape[0], 40 + 2 * k)))
    seed = 0 if task.seed is None else int(task.seed)
    extra = ["-kmeans.initialization", "PAMInitialMeans", "-clara.samples", str(samples),
             "-clara.samplesize", str(size), "-clara.random", str(seed)]
    out = run_elki(X, "CLARA", k, extra, timeout=task.options.get("timeout"))
    task.timed_seconds = out["seconds"]
    return medoid_result_points(X, "euclidean", out["medoids"], out["labels"], converged=True,
                                extras={"library": "elki", "algorithm": "CLARA", "samples": samples,
                                        "sample_size": size, "wall_seconds": out["wall"],
                                        "timer": "ELKI -time, milliseconds"})


def _version() -> str:
    ok, what = elki_status()
    return what.replace("ELKI ", "") if ok else "not installed"


#: "subprocess": ELKI runs in a Java child (not counted by the in-process instruction profile).
_COMMON = dict(family="kmedoids", input="both", language="Java", requires=("bench_core.adapters._need_elki",),
               version=_version, tags=("subprocess",))
_NOTE = ("ELKI computes the Euclidean distances from the points itself (0.7.1 reads a precomputed "
         "matrix only as text or its own binary cache); start medoids written first, FirstKInitialMeans")

register("pam/elki", _runner("KMedoidsPAM"), reference="pam/reference", agreement="identical",
         description="ELKI 0.7.1 KMedoidsPAM from the start medoids (FirstKInitialMeans on reordered points)",
         note=_NOTE, **_COMMON)
register("alternating/elki", _runner("KMedoidsEM"), reference="alternating/reference", agreement="differs",
         description="ELKI 0.7.1 KMedoidsEM (alternating) from the start medoids",
         note="from the same start ELKI 0.7.1's KMedoidsEM stops at another local optimum than the textbook "
              "alternation (assign all, then update all medoids) of alternating/reference, already after its "
              "first pass (-kmeans.maxiter 1 gives the final result); the JOSS paper shows the same small gap "
              "(19,238,868 vs 19,238,742). " + _NOTE, **_COMMON)
register("clara/elki", clara, family="sampling", input="points", language="Java", tags=("subprocess",),
         requires=("bench_core.adapters._need_elki",), version=_version, reference="clara/reference",
         agreement="differs", supports_init=False,
         description="ELKI 0.7.1 CLARA: PAM (BUILD) on 5 samples of 40 + 2k, -clara.random seed",
         note="samples drawn by ELKI's RNG, not ours (reported, not failed)")
