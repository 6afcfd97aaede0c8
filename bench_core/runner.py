"""``kmbench run``: a grid of clustering runs, one tidy result row per run.

The grid is algorithms x implementations (from the registry) x data sets x n x
k x dtype x metric x seeds (restarts). Runs are grouped by data so that each
distance matrix is computed (or loaded from the cache) once; its time is
recorded with every row of the group.

Starting medoids
    For a given (data, n, k, seed) every implementation starts from the same
    medoids: ``init="random"`` (the default, and what the JOSS paper uses for
    FasterPAM) draws ``k`` distinct rows with ``numpy.random.default_rng(seed)``
    and hands them to every implementation that accepts a start
    (``supports_init``); k-means/k-median get those rows as centres. PAM's
    default is ``init="build"``: each implementation runs its own BUILD inside
    its timed fit (as in the paper, where PAM's time includes BUILD); BUILD is
    deterministic, so they still share the start up to ties. Other inits
    (``k-medoids++``, ``lab``, ``first``) are drawn once by the runner with
    :func:`bench_core.algorithms.init.initial_medoids` and timed as
    ``init_time``. Implementations that cannot take a start get the seed and
    are marked ``init_source="implementation"``.

Isolation, time limit, memory
    Each run executes in a forked worker process (the matrix is shared
    copy-on-write, never copied or pickled). The parent waits at most
    ``time_limit`` seconds, then kills the worker and records ``timeout``.
    In the worker the peak resident set is reset right before the fit
    (``/proc/self/clear_refs``) and read after it (``VmHWM``): ``peak_rss_mb``
    is the high-water mark during the fit (it includes the mapped matrix),
    ``extra_rss_mb`` the growth over the resident set just before the fit (what
    the implementation allocated: C, Rust and Python alike, unlike
    tracemalloc). BLAS/OpenMP pools are pinned to ``n_threads`` with
    threadpoolctl and ``OMP_NUM_THREADS`` & co. ``isolate=False`` runs in
    process (for debugging): no time limit is enforced then.

Budgets
    ``restart_budget`` caps the fit time spent per implementation and cell;
    once spent, the remaining seeds are written as ``skipped`` rows with the
    reason (never a silent omission). After a timeout the remaining seeds of
    that implementation and cell, and the larger n of the same grid, are
    skipped likewise.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import json
import math
import multiprocessing as mp
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from . import registry
from .results_io import ResultsFile

#: Families run by ``--algorithms all`` (the silhouette family are evaluations, not clusterings).
CLUSTERING_FAMILIES = ("kmedoids", "msc", "sampling", "kmeans", "kmedian")
#: Algorithms whose default start is BUILD, as in the original papers.
BUILD_DEFAULT = ("pam", "build", "pamsil", "pammedsil")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "RAYON_NUM_THREADS")


# --------------------------------------------------------------------------- grid

@dataclass
class GridSpec:
    """One Cartesian grid of runs.

    ``algorithms``/``implementations`` are fnmatch patterns on the two halves
    of registry names (``["all"]`` = every clustering family / every
    implementation); ``entries`` adds full names (patterns) on top and
    ``exclude`` removes full names (patterns).
    ``datasets`` are names as in ``kmbench datasets``, optionally with
    parameters: ``"blobs:k=5,d=10"``. ``ns`` entries may be None (all rows).
    """

    algorithms: list[str] = field(default_factory=lambda: ["fasterpam"])
    implementations: list[str] = field(default_factory=lambda: ["all"])
    entries: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=lambda: ["mnist"])
    ns: list[int | None] = field(default_factory=lambda: [1000])
    ks: list[int] = field(default_factory=lambda: [10])
    dtypes: list[str] = field(default_factory=lambda: ["float64"])
    metrics: list[str] = field(default_factory=lambda: ["euclidean"])
    seeds: list[int] = field(default_factory=lambda: [0])
    init: str = "auto"
    max_iter: int | None = None
    n_threads: int = 1
    time_limit: float | None = 600.0
    restart_budget: float | None = None
    silhouette: bool = True
    silhouette_max_n: int = 20000
    data_seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    label: str = ""


@dataclass(frozen=True)
class Run:
    """One planned run (a row of the results file)."""

    entry: str
    dataset: str
    params: tuple[tuple[str, Any], ...]
    n: int | None
    k: int
    dtype: str
    metric: str
    seed: int
    init: str
    spec_index: int

    @property
    def cell(self) -> tuple:
        """Everything but the seed: restarts of one cell are aggregated in reports."""
        return (self.entry, self.dataset, self.params, self.n, self.k, self.dtype, self.metric, self.init)


def parse_dataset(spec: str) -> tuple[str, dict[str, Any]]:
    """``"blobs:k=5,d=10"`` -> ``("blobs", {"k": 5, "d": 10})``; file:/diss: paths pass through."""
    if spec.startswith(("file:", "diss:")) or ":" not in spec:
        return spec, {}
    name, _, rest = spec.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, eq, val = item.partition("=")
        if not eq:
            raise ValueError(f"data set parameter {item!r} in {spec!r} must look like key=value")
        for conv in (int, float):
            try:
                params[key] = conv(val)
                break
            except ValueError:
                continue
        else:
            params[key] = val
    return name, params


def default_init(algorithm: str) -> str:
    return "build" if algorithm in BUILD_DEFAULT else "random"


def select_entries(spec: GridSpec) -> list[registry.Entry]:
    """Registry entries matching the spec (available or not), sorted by name."""
    chosen = []
    all_algos = any(a == "all" for a in spec.algorithms)
    for e in registry.entries():
        if any(fnmatch.fnmatchcase(e.name, p) for p in spec.exclude):
            continue
        by_name = any(fnmatch.fnmatchcase(e.name, p) for p in spec.entries)
        algo_ok = (e.family in CLUSTERING_FAMILIES) if all_algos else any(
            fnmatch.fnmatchcase(e.algorithm, p) for p in spec.algorithms)
        impl_ok = any(p == "all" or fnmatch.fnmatchcase(e.implementation, p) for p in spec.implementations)
        if by_name or (algo_ok and impl_ok and spec.algorithms):
            chosen.append(e)
    return chosen


def expand(specs: Iterable[GridSpec]) -> list[Run]:
    """All runs of the grids, in execution order (data, n, dtype, metric, k, seed, entry)."""
    runs: list[Run] = []
    for i, spec in enumerate(specs):
        entries = select_entries(spec)
        if not entries:
            raise ValueError(
                f"no registered implementation matches algorithms={spec.algorithms} "
                f"implementations={spec.implementations} entries={spec.entries}; see 'kmbench list'")
        for ds in spec.datasets:
            name, params = parse_dataset(ds)
            ptuple = tuple(sorted(params.items()))
            for n in spec.ns:
                for dtype in spec.dtypes:
                    for metric in spec.metrics:
                        for k in spec.ks:
                            for seed in spec.seeds:
                                for e in entries:
                                    init = default_init(e.algorithm) if spec.init == "auto" else spec.init
                                    runs.append(Run(e.name, name, ptuple, n, k, str(np.dtype(dtype)), metric,
                                                    int(seed), init, i))
    return runs


def run_id(run: Run, spec: GridSpec) -> str:
    key = {"entry": run.entry, "dataset": run.dataset, "params": list(run.params), "n": run.n, "k": run.k,
           "dtype": run.dtype, "metric": run.metric, "seed": run.seed, "init": run.init,
           "data_seed": spec.data_seed, "max_iter": spec.max_iter, "n_threads": spec.n_threads,
           "options": spec.options}
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- memory, threads

def _proc_status() -> dict[str, int]:
    out = {}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, val = line.split(":", 1)
                    out[key] = int(val.split()[0]) * 1024
    except OSError:
        pass
    return out


def _reset_peak() -> bool:
    """Reset this process's peak RSS (Linux >= 4.0); False where not permitted."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_bytes() -> int | None:
    st = _proc_status()
    if "VmHWM" in st:
        return st["VmHWM"]
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    except Exception:
        return None


def pin_thread_env(n_threads: int) -> None:
    """Set the thread-count variables read by BLAS/OpenMP/Rayon when they load."""
    for var in THREAD_VARS:
        os.environ[var] = str(n_threads)


def _touch(a: np.ndarray | None) -> None:
    """Fault in every page of a (memory-mapped) matrix so it counts before the fit, not in it."""
    if a is not None and a.size:
        flat = a.reshape(-1) if a.flags.c_contiguous else None
        if flat is not None:
            step = max(1, 4096 // a.itemsize)
            float(flat[::step].sum())


# --------------------------------------------------------------------------- one run

def execute(entry: registry.Entry, task: registry.Task) -> dict[str, Any]:
    """Run ``entry`` on ``task`` in this process: time, peak memory and the result fields."""
    from threadpoolctl import threadpool_limits

    _touch(task.diss)
    before = _proc_status().get("VmRSS")
    reset = _reset_peak()
    with threadpool_limits(limits=task.n_threads), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        task.timed_seconds = None
        t0 = time.perf_counter()
        res = entry(task)
        call_time = time.perf_counter() - t0
    peak = _peak_bytes()
    extras: dict[str, Any] = {}
    # fit_time is the runnable's timed region (Task.timed, or the time an R/ELKI child measured
    # itself) when it marked one, else the whole call; the whole call is kept beside it.
    fit_time = call_time if task.timed_seconds is None else float(task.timed_seconds)
    if task.timed_seconds is not None:
        extras["call_seconds"] = call_time
    seen = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    if seen:  # kept with the row rather than printed over the progress bar
        extras["warnings"] = " | ".join(seen)[:500]
    for key, val in (res.extras or {}).items():
        if isinstance(val, (int, float, str, bool)) or val is None:
            extras[key] = val
        elif isinstance(val, np.generic):
            extras[key] = val.item()
    return {
        "fit_time": fit_time, "loss": float(res.loss),
        "labels": None if res.labels is None else np.asarray(res.labels, dtype=np.int64),
        "medoids": None if res.medoids is None else np.asarray(res.medoids, dtype=np.int64),
        "has_centers": res.centers is not None,
        "n_iter": int(res.n_iter), "n_swap": int(res.n_swap), "converged": res.converged,
        "extras": extras,
        "peak_rss_mb": None if peak is None else peak / 2**20,
        "extra_rss_mb": None if (peak is None or before is None or not reset) else max(0, peak - before) / 2**20,
    }


def _child(entry, task, conn) -> None:  # pragma: no cover - runs in the forked worker
    try:
        msg = ("ok", execute(entry, task))
    except BaseException as exc:
        msg = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}")
    try:
        conn.send(msg)
        conn.close()
    finally:
        os._exit(0)


def execute_isolated(entry: registry.Entry, task: registry.Task, time_limit: float | None
                     ) -> tuple[str, dict[str, Any] | str]:
    """Run in a forked worker; returns ("ok", fields) | ("error", message) | ("timeout", message)."""
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(entry, task, send), daemon=True)
    proc.start()
    send.close()
    try:
        if not recv.poll(time_limit):
            proc.kill()
            proc.join()
            return "timeout", f"killed after the time limit of {time_limit:g} s"
        try:
            status, payload = recv.recv()
        except EOFError:
            proc.join()
            code = proc.exitcode
            why = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            return "error", f"worker died without a result ({why}); a crash in the implementation?"
        proc.join(timeout=30)
        return status, payload
    except BaseException:  # Ctrl-C: take the worker down with us
        if proc.is_alive():
            proc.kill()
        proc.join()
        raise
    finally:
        recv.close()


# --------------------------------------------------------------------------- quality

_SIL_CACHE: dict[tuple, tuple[float | None, float | None, str]] = {}


def quality(D: np.ndarray | None, labels: np.ndarray | None, medoids: np.ndarray | None,
            max_n: int) -> tuple[float | None, float | None, str]:
    """(silhouette, medoid silhouette, note) of a clustering; skipped above ``max_n`` (O(n^2))."""
    if D is None or labels is None:
        return None, None, "no distance matrix" if D is None else "no labels"
    n = D.shape[0]
    key = (id(D), n, max_n, hashlib.sha1(labels.tobytes()).hexdigest(),
           None if medoids is None else medoids.tobytes())
    if key in _SIL_CACHE:
        return _SIL_CACHE[key]
    notes = []
    sil = msil = None
    n_labels = len(np.unique(labels))
    if n > max_n:
        notes.append(f"silhouette skipped: n={n} > {max_n}")
    elif not 2 <= n_labels <= n - 1:
        notes.append(f"silhouette undefined for {n_labels} clusters")
    else:
        try:
            from .algorithms.silhouette import silhouette

            sil = float(silhouette(D, labels))
        except ImportError:
            from sklearn.metrics import silhouette_score

            sil = float(silhouette_score(D, labels, metric="precomputed"))
        except Exception as exc:
            notes.append(f"silhouette failed: {type(exc).__name__}: {exc}")
    if medoids is None:
        notes.append("no medoids (centres): medoid silhouette undefined")
    else:
        try:
            from .algorithms.silhouette import medoid_silhouette
        except ImportError:
            medoid_silhouette = _medoid_silhouette
        try:
            msil = float(medoid_silhouette(D, medoids))
        except Exception as exc:
            notes.append(f"medoid silhouette failed: {type(exc).__name__}: {exc}")
    out = (sil, msil, "; ".join(notes))
    if len(_SIL_CACHE) > 10000:
        _SIL_CACHE.clear()
    _SIL_CACHE[key] = out
    return out


def _medoid_silhouette(D: np.ndarray, medoids: np.ndarray) -> float:
    """Mean of 1 - d1/d2 over the points (d1, d2: nearest and second-nearest medoid; 0/0 -> 0)."""
    M = np.asarray(D[np.asarray(medoids)], dtype=np.float64)
    if len(medoids) < 2:
        return 0.0
    two = np.partition(M, 1, axis=0)[:2]
    d1, d2 = two[0], two[1]
    s = np.where(d2 > 0, 1.0 - d1 / np.where(d2 > 0, d2, 1.0), 0.0)
    return float(s.mean())


# --------------------------------------------------------------------------- progress

def _fmt_s(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class Progress:
    """A one-line progress bar with the current cell and an ETA (a line per run when not a TTY)."""

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True):
        self.total, self.done = total, 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.t0 = time.perf_counter()
        self.times: dict[tuple, list[float]] = {}
        self.all: list[float] = []
        self.remaining: list[Run] = []

    def _estimate(self, run: Run) -> float:
        same = self.times.get((run.entry, run.n, run.k))
        if same:
            return float(np.median(same))
        like = [(n, t) for (e, n, _), ts in self.times.items() if e == run.entry and n for t in ts]
        if like and run.n:  # scale the implementation's runs by n^2
            return float(np.median([t * (run.n / n) ** 2 for n, t in like]))
        return float(np.median(self.all)) if self.all else math.nan

    def eta(self) -> float:
        return sum(self._estimate(r) for r in self.remaining) if self.remaining else 0.0

    def start(self, run: Run, remaining: list[Run]) -> None:
        self.remaining = remaining
        if self.enabled and self.tty:
            self._line(f"{run.entry} {run.dataset} n={run.n} k={run.k} seed={run.seed} ...")

    def finish(self, run: Run, status: str, seconds: float, loss: float | None) -> None:
        self.done += 1
        if status == "ok":
            self.times.setdefault((run.entry, run.n, run.k), []).append(seconds)
            self.all.append(seconds)
        if not self.enabled:
            return
        what = f"{seconds:.3g} s loss {loss:.6g}" if status == "ok" and loss is not None else status
        msg = f"{run.entry} {run.dataset} n={run.n} k={run.k} seed={run.seed}: {what}"
        if self.tty:
            self._line(msg)
        else:
            print(f"{self._bar()} {msg}", file=self.stream, flush=True)

    def _bar(self) -> str:
        width = 20
        filled = int(width * self.done / max(1, self.total))
        elapsed = time.perf_counter() - self.t0
        return (f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                f"{_fmt_s(elapsed)} elapsed, ETA {_fmt_s(self.eta())}")

    def _line(self, msg: str) -> None:
        text = f"{self._bar()} {msg}"
        cols = 160
        self.stream.write("\r" + text[:cols].ljust(cols))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


# --------------------------------------------------------------------------- the grid

@dataclass
class RunSummary:
    results: ResultsFile
    planned: int = 0
    resumed: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False

    def line(self) -> str:
        parts = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items()))
        extra = f", {self.resumed} already finished (resumed)" if self.resumed else ""
        return f"{self.planned} runs planned: {parts or 'none run'}{extra} -> {self.results.path}"


class _DataGroup:
    """The data set and distance matrix of the runs that share (dataset, params, n, dtype, metric)."""

    def __init__(self):
        self.key = None
        self.ds = None
        self.D = None
        self.diss_time = None
        self.diss_cached = None
        self.diss_error = None

    def load(self, run: Run, spec: GridSpec, need_diss: bool, use_cache: bool) -> None:
        from .datasets import get_dataset
        from .dissimilarity import cached_dissimilarity

        key = (run.dataset, run.params, run.n, run.dtype, run.metric, spec.data_seed)
        if key == self.key and (self.D is not None or not need_diss or self.diss_error):
            return
        if key != self.key:
            self.key, self.D, self.diss_error = key, None, None
            self.diss_time = self.diss_cached = None
            self.ds = get_dataset(run.dataset, run.n, seed=spec.data_seed, **dict(run.params))
        if need_diss and self.D is None:
            t0 = time.perf_counter()
            try:
                self.D, self.diss_cached = cached_dissimilarity(self.ds, run.metric, run.dtype,
                                                                use_cache=use_cache)
                self.diss_time = time.perf_counter() - t0
            except MemoryError as exc:
                self.diss_error = f"{type(exc).__name__}: {exc}"


def _medoid_start(n: int, k: int, seed: int, init: str, D: np.ndarray | None) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    if init == "random":
        if not 1 <= k <= n:
            raise ValueError(f"k={k} is out of range for n={n}")
        start = np.random.default_rng(seed).choice(n, size=k, replace=False).astype(np.int64)
    else:
        from .algorithms.init import initial_medoids

        if D is None:
            raise ValueError(f"init={init!r} needs the distance matrix")
        start = np.asarray(initial_medoids(D, k, init, random_state=seed), dtype=np.int64)
    return start, time.perf_counter() - t0


def _version(entry: registry.Entry) -> str | None:
    if entry.version is None:
        return None
    try:
        return str(entry.version())
    except Exception as exc:
        return f"unknown ({type(exc).__name__})"


def run_grid(specs: list[GridSpec], results: ResultsFile, *, resume: bool = False, overwrite: bool = False,
             progress: bool = True, isolate: bool = True, use_cache: bool = True,
             command: str | None = None, stream: TextIO | None = None,
             on_row: Callable[[dict], None] | None = None) -> RunSummary:
    """Plan, run and append every run of ``specs`` to ``results``.

    Raises ``FileExistsError`` when the file exists and neither ``resume`` nor
    ``overwrite`` is given. ``KeyboardInterrupt`` propagates after the current
    worker is killed; every finished row is already on disk.
    """
    from .environment import record

    plan = expand(specs)
    if results.exists() and not (resume or overwrite):
        raise FileExistsError(f"{results.path} exists; pass --resume to continue it or --overwrite")
    if not results.exists() or overwrite:
        results.create(overwrite=overwrite)
    else:
        results.check_header()
    existing = results.load() if results.exists() else None
    done_ids = results.finished_ids() if resume else set()

    n_threads = max(s.n_threads for s in specs)
    pin_thread_env(n_threads)
    eid = results.add_environment(record(gpu=any("torch" in r.entry for r in plan)))
    if command:
        results.add_command(command, env_id=eid, time=time.strftime("%Y-%m-%dT%H:%M:%S%z"))

    ids = [run_id(r, specs[r.spec_index]) for r in plan]
    todo = [(r, i) for r, i in zip(plan, ids, strict=True) if i not in done_ids]
    summary = RunSummary(results, planned=len(plan), resumed=len(plan) - len(todo))

    # Budgets and timeouts carry over from the rows already in the file.
    spent: dict[tuple, float] = {}
    timed_out: dict[tuple, int | None] = {}
    if existing is not None and len(existing):
        by_id = {i: r for r, i in zip(plan, ids, strict=True)}
        for rid, status, ft in existing[["run_id", "status", "fit_time"]].itertuples(index=False):
            r = by_id.get(rid)
            if r is None:
                continue
            if status == "ok" and ft == ft:
                spent[r.cell] = spent.get(r.cell, 0.0) + float(ft)
            if status == "timeout":
                timed_out[r.cell] = r.n

    prog = Progress(len(todo), stream=stream, enabled=progress)
    group = _DataGroup()
    entries = {e.name: e for e in registry.entries()}
    try:
        for pos, (run, rid) in enumerate(todo):
            spec = specs[run.spec_index]
            entry = entries[run.entry]
            prog.start(run, [r for r, _ in todo[pos:]])
            row = _run_one(run, rid, spec, entry, group, spent, timed_out, isolate, use_cache, eid)
            results.append(row)
            summary.counts[row["status"]] = summary.counts.get(row["status"], 0) + 1
            if on_row is not None:
                on_row(row)
            prog.finish(run, row["status"], row.get("fit_time") or 0.0, row.get("loss"))
    except KeyboardInterrupt:
        summary.interrupted = True
        prog.close()
        raise
    prog.close()
    return summary


def _base_row(run: Run, rid: str, spec: GridSpec, entry: registry.Entry, eid: str) -> dict[str, Any]:
    return {
        "run_id": rid, "entry": entry.name, "algorithm": entry.algorithm,
        "implementation": entry.implementation, "family": entry.family, "language": entry.language,
        "impl_version": _version(entry), "dataset": run.dataset,
        "dataset_params": dict(run.params) | ({"seed": spec.data_seed} if spec.data_seed else {}),
        "n": run.n, "k": run.k, "dtype": run.dtype, "metric": run.metric, "seed": run.seed,
        "init": run.init, "max_iter": spec.max_iter, "n_threads": spec.n_threads,
        "time_limit": spec.time_limit, "env_id": eid,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _run_one(run: Run, rid: str, spec: GridSpec, entry: registry.Entry, group: _DataGroup,
             spent: dict, timed_out: dict, isolate: bool, use_cache: bool, eid: str) -> dict[str, Any]:
    row = _base_row(run, rid, spec, entry, eid)
    ok, why = entry.availability()
    if not ok:
        return row | {"status": "unavailable", "error": why}
    # Timeouts and budgets: never silent, always a row saying why.
    smaller = [n for (c, n) in timed_out.items() if c[:3] == run.cell[:3] and c[4:] == run.cell[4:]]
    if run.cell in timed_out:
        return row | {"status": "skipped", "error": "an earlier restart of this cell hit the time limit"}
    if run.n is not None and any(n is not None and n < run.n for n in smaller):
        return row | {"status": "skipped",
                      "error": f"timed out at smaller n={min(n for n in smaller if n is not None)}"}
    budget = spec.restart_budget
    if budget is not None and spent.get(run.cell, 0.0) >= budget:
        return row | {"status": "skipped",
                      "error": f"restart budget of {budget:g} s for this implementation and cell is spent"}

    need_diss = entry.input in ("diss", "both") or (
        spec.silhouette and (run.n or 0) <= spec.silhouette_max_n) or run.init not in ("random", "build")
    try:
        group.load(run, spec, need_diss, use_cache)
    except Exception as exc:
        return row | {"status": "error", "error": f"loading data: {type(exc).__name__}: {exc}"}
    ds, D = group.ds, group.D
    row |= {"n": ds.n, "d": None if ds.X is None else ds.X.shape[1], "dataset_checksum": ds.checksum,
            "diss_time": group.diss_time, "diss_cached": group.diss_cached}
    if entry.input in ("diss", "both") and D is None:
        return row | {"status": "error", "error": group.diss_error or "no distance matrix"}
    if entry.input == "points" and ds.X is None:
        return row | {"status": "error", "error": f"{entry.name} needs points; {run.dataset} is a matrix"}

    task = registry.Task(k=run.k, diss=D if entry.input != "points" else None, X=ds.X, metric=run.metric,
                         seed=run.seed, max_iter=spec.max_iter, n_threads=spec.n_threads,
                         options=dict(spec.options))
    init_time = None
    if run.init == "build" or not entry.supports_init:
        task.options.setdefault("init", run.init)
        row["init_source"] = "implementation"
    else:
        try:
            start, init_time = _medoid_start(ds.n, run.k, run.seed, run.init, D)
        except Exception as exc:
            return row | {"status": "error", "error": f"initial medoids: {type(exc).__name__}: {exc}"}
        if entry.family in ("kmeans", "kmedian"):
            if ds.X is None:
                return row | {"status": "error", "error": "k-means/k-median need points"}
            task.centers = np.ascontiguousarray(ds.X[start])
        else:
            task.medoids = start
        row["init_source"] = "runner"

    if isolate:
        status, payload = execute_isolated(entry, task, spec.time_limit)
    else:
        try:
            status, payload = "ok", execute(entry, task)
        except Exception as exc:
            status, payload = "error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"
    if status == "timeout":
        timed_out[run.cell] = run.n
        return row | {"status": "timeout", "error": payload, "fit_time": spec.time_limit}
    if status == "error":
        return row | {"status": "error", "error": str(payload)[-2000:]}

    out: dict[str, Any] = payload  # type: ignore[assignment]
    spent[run.cell] = spent.get(run.cell, 0.0) + out["fit_time"]
    extras = dict(out["extras"])
    init_time = extras.pop("init_time", init_time)
    sil, msil, note = (None, None, "disabled") if not spec.silhouette else quality(
        D, out["labels"], out["medoids"], spec.silhouette_max_n)
    if D is None and spec.silhouette and not note:
        note = "no distance matrix"
    medoids = out["medoids"]
    return row | {
        "status": "ok", "fit_time": out["fit_time"], "init_time": init_time, "loss": out["loss"],
        "silhouette": sil, "medoid_silhouette": msil, "silhouette_note": note or None,
        "n_iter": out["n_iter"], "n_swap": out["n_swap"], "converged": out["converged"],
        "peak_rss_mb": out["peak_rss_mb"], "extra_rss_mb": out["extra_rss_mb"],
        "medoids": None if medoids is None else " ".join(map(str, medoids.tolist())),
        "extras": extras or None,
    }


def spec_dict(spec: GridSpec) -> dict[str, Any]:
    return dataclasses.asdict(spec)
