"""The run loop: plan a grid, load each data group once, run, append one row per run.

Starting medoids
    For a given (data, n, k, seed) every implementation starts from the same
    medoids: :func:`bench_core.start.initial_medoids` (drawn once by the runner
    and handed to every implementation that accepts a start; families started
    from centres get the points at those rows). An algorithm whose default start
    is BUILD (``Entry.default_init``) runs its own BUILD inside its timed fit, as
    in the papers; other inits (``k-medoids++``, ``lab``, ``first``) are drawn
    once by the runner and timed as ``init_time``: ``k-medoids++`` and ``lab``
    from the matrix, or from the points where it does not fit (points-only
    implementations; ``init_source="runner (points)"``). Implementations that cannot
    take a start get the seed and are marked ``init_source="implementation"``.
    Each row records a hash of its start (``start``).

Budgets
    ``restart_budget`` caps the fit time spent per implementation and cell;
    once spent, the remaining seeds are written as ``skipped`` rows with the
    reason (never a silent omission). After a timeout the remaining seeds of
    that implementation and cell, and the larger n of the same grid, are
    skipped likewise.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from .. import registry
from ..families import family
from ..results_io import ResultsFile
from ..start import initial_medoids, start_hash
from .grid import GridSpec, Run, expand, run_id
from .measure import execute, execute_isolated, pin_thread_env
from .progress import Progress
from .quality import quality


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


class DataGroup:
    """The data set and distance matrix of the runs that share (dataset, params, n, dtype, metric)."""

    def __init__(self):
        self.key = None
        self.ds = None
        self.D = None
        self.diss_time = None
        self.diss_cached = None
        self.diss_error = None

    def load(self, run: Run, spec: GridSpec, need_diss: bool, use_cache: bool) -> None:
        from ..datasets import get_dataset
        from ..dissimilarity import cached_dissimilarity

        key = (run.dataset, run.params, run.n, run.dtype, run.metric, spec.data_seed)
        if key == self.key and (self.D is not None or not need_diss or self.diss_error):
            return
        if key != self.key:
            self.key, self.ds, self.D, self.diss_error = None, None, None, None
            self.diss_time = self.diss_cached = None
            self.ds = get_dataset(run.dataset, run.n, seed=spec.data_seed, **dict(run.params))
            self.key = key  # only once loaded: a failed load is retried (and reported) by the next run
        if need_diss and self.D is None:
            t0 = time.perf_counter()
            try:
                self.D, self.diss_cached = cached_dissimilarity(self.ds, run.metric, run.dtype,
                                                                use_cache=use_cache)
                self.diss_time = time.perf_counter() - t0
            except MemoryError as exc:
                self.diss_error = f"{type(exc).__name__}: {exc}"


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
    from ..environment import record

    plan = expand(specs)
    pin_thread_env(max(s.n_threads for s in specs))  # before the environment record, which notes them
    state = open_grid(specs, results, resume=resume, overwrite=overwrite, command=command, plan=plan,
                      environment=record(gpu=any("torch" in r.entry for r in plan)))
    todo, summary, spent, timed_out, eid = state.todo, state.summary, state.spent, state.timed_out, state.eid

    if isolate and todo:
        from ..metrics import prepare_all

        prepare_all()  # heavy imports once here, not in every forked worker
    prog = Progress(len(todo), stream=stream, enabled=progress)
    group = DataGroup()
    entries = {e.name: e for e in registry.entries()}
    try:
        for pos, (run, rid) in enumerate(todo):
            spec = specs[run.spec_index]
            entry = entries[run.entry]
            prog.start(run, [r for r, _ in todo[pos:]])
            row = run_one(run, rid, spec, entry, group, spent, timed_out, isolate, use_cache, eid)
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


@dataclass
class GridState:
    """A grid opened against its results file: what is planned, what is left, what carries over."""

    plan: list[Run]
    ids: list[str]
    done: set[str]
    summary: RunSummary
    spent: dict[tuple, float]
    timed_out: dict[tuple, int | None]
    eid: str

    @property
    def todo(self) -> list[tuple[Run, str]]:
        """The runs not finished yet, in plan order, with their run ids."""
        return [(r, i) for r, i in zip(self.plan, self.ids, strict=True) if i not in self.done]


def open_grid(specs: list[GridSpec], results: ResultsFile, *, resume: bool, overwrite: bool,
              command: str | None, environment: dict[str, Any], plan: list[Run] | None = None,
              **command_info: Any) -> GridState:
    """Plan ``specs`` and open ``results`` for them (the local and the Dask runner alike).

    Refuses an existing file without ``resume``/``overwrite`` (``FileExistsError``),
    records ``environment`` and the command, and carries over the restart budgets
    spent and the timeouts from the rows already in the file. ``plan`` is ``expand(specs)``
    when the caller has it already.
    """
    plan = expand(specs) if plan is None else plan
    if results.exists() and not (resume or overwrite):
        raise FileExistsError(f"{results.path} exists; pass --resume to continue it or --overwrite")
    if not results.exists() or overwrite:
        results.create(overwrite=overwrite)
    else:
        results.check_header()
    existing = results.load() if results.exists() else None
    done = results.finished_ids() if resume else set()
    eid = results.add_environment(environment)
    if command:
        results.add_command(command, env_id=eid, time=time.strftime("%Y-%m-%dT%H:%M:%S%z"), **command_info)
    ids = [run_id(r, specs[r.spec_index]) for r in plan]
    spent: dict[tuple, float] = {}
    timed_out: dict[tuple, int | None] = {}
    if existing is not None and len(existing):
        by_id = dict(zip(ids, plan, strict=True))
        for rid, status, ft in existing[["run_id", "status", "fit_time"]].itertuples(index=False):
            r = by_id.get(rid)
            if r is None:
                continue
            if status == "ok" and ft == ft:
                spent[r.cell] = spent.get(r.cell, 0.0) + float(ft)
            if status == "timeout":
                timed_out[r.cell] = r.n
    left = sum(i not in done for i in ids)
    return GridState(plan, ids, done, RunSummary(results, planned=len(plan), resumed=len(plan) - left),
                     spent, timed_out, eid)


def base_row(run: Run, rid: str, spec: GridSpec, entry: registry.Entry, eid: str) -> dict[str, Any]:
    """The identity columns of a run's row (what was asked, before anything ran)."""
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


def skip_reason(run: Run, spec: GridSpec, spent: dict, timed_out: dict) -> str | None:
    """Why a run is skipped (an earlier timeout, the restart budget), or None."""
    smaller = [n for (c, n) in timed_out.items() if c[:3] == run.cell[:3] and c[4:] == run.cell[4:]]
    if run.cell in timed_out:
        return "an earlier restart of this cell hit the time limit"
    if run.n is not None and any(n is not None and n < run.n for n in smaller):
        return f"timed out at smaller n={min(n for n in smaller if n is not None)}"
    budget = spec.restart_budget
    if budget is not None and spent.get(run.cell, 0.0) >= budget:
        return f"restart budget of {budget:g} s for this implementation and cell is spent"
    return None


def run_one(run: Run, rid: str, spec: GridSpec, entry: registry.Entry, group: DataGroup,
            spent: dict, timed_out: dict, isolate: bool, use_cache: bool, eid: str) -> dict[str, Any]:
    """Run one planned run (loading its data group if needed) and return its row."""
    row = base_row(run, rid, spec, entry, eid)
    ok, why = entry.availability()
    if not ok:
        return row | {"status": "unavailable", "error": why}
    skipped = skip_reason(run, spec, spent, timed_out)
    if skipped:
        return row | {"status": "skipped", "error": skipped}

    fam = family(entry.family)
    try:
        group.load(run, spec, False, use_cache)  # the data first: its size decides on the matrix
        need_diss = entry.input in ("diss", "both") or run.init not in ("random", "build", "first") or (
            spec.silhouette and group.ds.n <= spec.silhouette_max_n)
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
                         options=entry.facts.options | dict(spec.options))
    init_time = None
    if fam.start == "none":  # it draws its own sample from the seed
        row["init_source"] = "implementation"
    elif fam.clustering and (run.init == "build" or not entry.supports_init):  # evaluations always get it
        task.options.setdefault("init", run.init)
        row["init_source"] = "implementation"
    else:
        t0 = time.perf_counter()
        try:
            # k-medoids++ and lab read rows of the matrix; where it does not fit, from the points
            start = initial_medoids(ds.n, run.k, run.seed, run.init, D, X=ds.X, metric=run.metric,
                                    dtype=run.dtype)
        except Exception as exc:
            return row | {"status": "error", "error": f"initial medoids: {type(exc).__name__}: {exc}"}
        init_time = time.perf_counter() - t0
        if fam.start == "centers" and ds.X is None:
            return row | {"status": "error", "error": f"{fam.title} needs points"}
        inputs = fam.task_inputs(diss=task.diss, X=ds.X, start=start)
        task.centers, task.medoids = inputs.get("centers"), inputs.get("medoids")
        row |= {"init_source": "runner" if D is not None or run.init in ("random", "first")
                else "runner (points)", "start": start_hash(start)}

    if isolate:
        status, payload = execute_isolated(entry, task, spec.time_limit, ds)
    else:
        try:
            status, payload = "ok", execute(entry, task, ds)
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
    if out["metric_errors"]:
        extras["metric_errors"] = out["metric_errors"]
    sil, msil, note = (None, None, "disabled") if not spec.silhouette else quality(
        D, out["labels"], out["medoids"], spec.silhouette_max_n)
    if D is None and spec.silhouette and not note:
        note = "no distance matrix"
    medoids = out["medoids"]
    return row | out["metrics"] | {
        "status": "ok", "fit_time": out["fit_time"], "wall_time": out["wall_time"], "init_time": init_time,
        "loss": out["loss"], "silhouette": sil, "medoid_silhouette": msil, "silhouette_note": note or None,
        "n_iter": out["n_iter"], "n_swap": out["n_swap"], "converged": out["converged"],
        "peak_rss_mb": out["peak_rss_mb"], "extra_rss_mb": out["extra_rss_mb"],
        "medoids": None if medoids is None else " ".join(map(str, medoids.tolist())),
        "extras": extras or None,
    }
