"""The agreement matrix: every external implementation against its reference.

For each registered implementation whose entry names a ``reference`` (e.g.
``pam/kmedoids`` -> ``pam/reference``), both are run on a fixed grid of cases
(MNIST subsets and Gaussian blobs, float32 and float64, several k, fixed seeds)
from the *same* start: the same initial medoids (drawn once per case) or the
same initial centres (the points at those indices). Entries that cannot take a
start (``supports_init=False``) and their reference both run from their own
default initialisation with the case's seed.

Every result goes through :mod:`bench_core.invariants` first. Verdicts:

* ``identical``: same medoids (as a set) or the same partition (centres), and
  losses within 1e-12 relative (1e-6 for centres and silhouette values computed
  from float32 data, which some libraries do in float32 arithmetic);
* ``same loss``: losses within that tolerance, different medoids/partition;
* ``differs by x%``: the signed loss gap ``(impl - ref) / |ref|``;
* ``invariant violated`` / ``error``: the implementation's result is invalid or
  it raised.

Each entry's ``agreement`` says what is expected: ``identical`` and
``same-loss`` pairs fail the run when the verdict is worse (status ``FAIL``);
``differs`` pairs are reported (status ``known``) with the registry's note.
Unavailable libraries and missing references are listed as ``skipped``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import families, registry
from .atomic import atomic_write_text
from .invariants import check
from .registry import Entry, Task
from .result import ClusteringResult
from .start import initial_medoids

# Limits that keep slow implementations inside the grid's time budget (per-algorithm
# limits are the entries' ``limits["validate"]``).
SLOW_MAX_N = 300            # entries tagged "slow" (pure Python)
HIGH_DIM = 50               # entries tagged "slow-high-dim" skip data with more features


@dataclass(frozen=True)
class Case:
    dataset: str
    n: int
    k: int
    dtype: str
    seed: int = 0

    @property
    def id(self) -> str:
        return f"{self.dataset}-n{self.n}-k{self.k}-{self.dtype}-s{self.seed}"


QUICK_CASES: tuple[Case, ...] = (
    Case("mnist", 200, 3, "float64"),
    Case("mnist", 500, 10, "float32"),
    Case("mnist", 1000, 5, "float64"),
    Case("blobs", 300, 4, "float32", 1),
    # where scikit-learn's tolerance stops k-means before convergence (peers that run to
    # convergence then need their reference_options)
    Case("blobs", 1000, 8, "float64", 0),
)


def full_cases() -> list[Case]:
    cases = [Case("mnist", n, k, dt, s) for n in (200, 500, 1000, 2000) for k in (3, 10)
             for dt in ("float32", "float64") for s in (0, 1)]
    cases += [Case("blobs", n, k, dt, s) for n in (300, 1000) for k in (4, 8)
              for dt in ("float32", "float64") for s in (0, 1)]
    return cases


@dataclass
class Row:
    """One (implementation, case) comparison."""

    algorithm: str
    implementation: str
    reference: str
    expected: str
    case: str
    dataset: str
    n: int
    k: int
    dtype: str
    seed: int
    verdict: str
    status: str
    gap_pct: float | None = None
    loss_ref: float | None = None
    loss_impl: float | None = None
    seconds_ref: float | None = None
    seconds_impl: float | None = None
    backend: str = ""
    detail: str = ""
    note: str = ""


# ------------------------------------------------------------------- data

class _Data:
    """Points and distance matrices of the grid's cases, built once per run."""

    def __init__(self) -> None:
        self._X: dict[tuple, np.ndarray] = {}
        self._D: dict[tuple, np.ndarray] = {}

    def points(self, case: Case) -> np.ndarray:
        key = (case.dataset, case.n, case.seed)
        if key not in self._X:
            from .datasets import get_dataset

            if case.dataset == "blobs":
                ds = get_dataset("blobs", case.n, seed=case.seed, k=5, d=5)
            else:
                ds = get_dataset(case.dataset, case.n)
            self._X[key] = np.ascontiguousarray(ds.X, dtype=np.float64)
        return self._X[key]

    def X(self, case: Case) -> np.ndarray:
        X = np.ascontiguousarray(self.points(case), dtype=case.dtype)
        X.setflags(write=False)
        return X

    def diss(self, case: Case) -> np.ndarray:
        key = (case.dataset, case.n, case.seed, case.dtype)
        if key not in self._D:
            from .dissimilarity import dissimilarity

            D = dissimilarity(self.points(case), "euclidean", np.dtype(case.dtype))
            D.setflags(write=False)
            self._D[key] = D
        return self._D[key]

    @staticmethod
    def start(case: Case) -> np.ndarray:
        return initial_medoids(case.n, case.k, case.seed)


def skip_reason(entry: Entry, case: Case, d: int) -> str | None:
    """Why ``entry`` does not run on ``case`` in the validation grid (None: it runs)."""
    if entry.input == "points" and families.family(entry.family).input == "diss" and case.dtype == "float32":
        return ("computes its distances from the points; the reference reads a float32 matrix whose "
                "rounding differs (float64 cases only)")
    cap = entry.limit("validate")
    if cap is not None and case.n > cap:
        return f"{entry.algorithm} is validated up to n = {cap}"
    if "slow" in entry.tags and case.n > SLOW_MAX_N:
        return f"slow implementation, validated up to n = {SLOW_MAX_N}"
    if "slow-high-dim" in entry.tags and d > HIGH_DIM:
        return f"slow on high-dimensional data, validated up to d = {HIGH_DIM}"
    return None


def make_task(entry: Entry, case: Case, data: _Data, *, with_start: bool) -> Task:
    """The task of ``case`` for ``entry``'s family (the same for an implementation and its reference)."""
    fam = families.family(entry.family)
    start = data.start(case) if with_start else None
    diss = data.diss(case) if fam.input == "diss" else None
    if entry.input in ("points", "both") and fam.input == "diss":  # e.g. the tiled GPU PAM:
        inputs = fam.task_inputs(diss=diss, X=data.X(case), start=start)  # points for it, the
        inputs["X"] = data.X(case)                                          # matrix for the reference
        return Task(k=case.k, seed=case.seed, metric="euclidean",
                    options=(facts := registry.algorithm_facts(entry.algorithm)).options | facts.validate_options,
                    **inputs)
    return Task(k=case.k, seed=case.seed, metric="euclidean",
                options=(facts := registry.algorithm_facts(entry.algorithm)).options | facts.validate_options,
                **fam.task_inputs(diss=diss, X=data.X(case), start=start))


# ---------------------------------------------------------------- verdicts

def _rel(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    pairs = np.unique(np.stack([a, b]), axis=1).shape[1]
    return pairs == len(np.unique(a)) == len(np.unique(b))


def compare(ref: ClusteringResult, imp: ClusteringResult, *, family: str, dtype: str) -> tuple[str, float | None]:
    """Verdict of ``imp`` against ``ref`` (both already checked) and the loss gap in percent."""
    lr, li = float(ref.loss), float(imp.loss)
    if not (math.isfinite(lr) and math.isfinite(li)):
        return "differs (non-finite loss)", None
    centers = ref.medoids is None
    # centres and silhouette values are computed *from* float32 data by the libraries
    # (in float32 arithmetic, some of them); medoid losses are recomputed in double.
    tol = families.family(family).tolerance(dtype)
    gap = 0.0 if lr == li else (li - lr) / abs(lr) * 100 if lr != 0 else math.copysign(math.inf, li - lr)
    same_loss = _rel(lr, li) <= tol or abs(lr - li) <= 1e-15
    if centers:
        same_state = imp.labels is not None and _same_partition(np.asarray(ref.labels), np.asarray(imp.labels))
    else:
        same_state = imp.medoids is not None and np.array_equal(np.sort(ref.medoids), np.sort(imp.medoids))
    if same_loss and same_state:
        return "identical", gap
    if same_loss:
        return "same loss", gap
    return f"differs by {gap:+.3g}%", gap


def status_of(expected: str, verdict: str) -> str:
    if verdict == "identical" or (verdict == "same loss" and expected in ("same-loss", "differs")):
        return "ok"
    return "known" if expected == "differs" else "FAIL"


# -------------------------------------------------------------------- run

def pairs(algorithms: Iterable[str] | None = None,
          implementations: Iterable[str] | None = None) -> list[Entry]:
    """External entries that name a reference, filtered by algorithm / implementation."""
    algos = set(algorithms) if algorithms else None
    impls = set(implementations) if implementations else None
    out = []
    for e in registry.entries():
        if e.reference is None or e.name == e.reference:
            continue
        if algos and e.algorithm not in algos:
            continue
        if impls and e.implementation not in impls and e.implementation.split("-")[0] not in impls:
            continue
        out.append(e)
    return out


def _timed(entry: Entry, task: Task) -> tuple[ClusteringResult, float]:
    t0 = time.perf_counter()
    res = entry(task)
    return res, time.perf_counter() - t0


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


def run_validation(cases: Iterable[Case], *, algorithms: Iterable[str] | None = None,
                   implementations: Iterable[str] | None = None,
                   progress: Callable[[str], None] | None = None) -> list[Row]:
    """Compare every selected implementation with its reference on every case."""
    cases = list(cases)
    data = _Data()
    ref_cache: dict[tuple, tuple[ClusteringResult | None, float, str, str]] = {}
    rows: list[Row] = []
    for entry in pairs(algorithms, implementations):
        base = dict(algorithm=entry.algorithm, implementation=entry.implementation, reference=entry.reference,
                    expected=entry.agreement, note=entry.note)
        try:
            ref_entry: Entry | None = registry.get(entry.reference)
        except KeyError:
            ref_entry = None
        ok, why = entry.availability()
        for case in cases:
            cbase = dict(base, case=case.id, dataset=case.dataset, n=case.n, k=case.k, dtype=case.dtype,
                         seed=case.seed)
            if ref_entry is None:
                rows.append(Row(**cbase, verdict="no reference", status="skipped",
                                detail=f"{entry.reference} is not registered"))
                continue
            if not ok:
                rows.append(Row(**cbase, verdict="unavailable", status="skipped", detail=why))
                continue
            if not ref_entry.available:
                rows.append(Row(**cbase, verdict="reference unavailable", status="skipped",
                                detail=ref_entry.availability()[1]))
                continue
            d = data.points(case).shape[1]
            reason = skip_reason(entry, case, d) or skip_reason(ref_entry, case, d)
            if reason:
                rows.append(Row(**cbase, verdict="not run", status="skipped", detail=reason))
                continue
            # evaluations always score the case's medoids; otherwise both must accept a start
            fam = families.family(entry.family)
            with_start = not fam.clustering or (
                entry.supports_init and ref_entry.supports_init and fam.start != "none")
            task = make_task(entry, case, data, with_start=with_start)
            # the reference with this entry's reference_options (e.g. the peer's stopping rule)
            ropts = entry.reference_options or {}
            rtask = dataclasses.replace(task, options={**task.options, **ropts}) if ropts else task
            key = (ref_entry.name, case, with_start, tuple(sorted(ropts.items())))
            if key not in ref_cache:
                try:
                    rres, rsec = _timed(ref_entry, rtask)
                    rrep = check(rres, rtask, ref_entry.name)
                    ref_cache[key] = (rres, rsec, "" if rrep.ok else str(rrep), "")
                except Exception as exc:
                    ref_cache[key] = (None, 0.0, "", _error_text(exc))
            rres, rsec, rviol, rerr = ref_cache[key]
            if rres is None or rviol:
                rows.append(Row(**cbase, verdict="reference " + ("error" if rerr else "invariant violated"),
                                status="FAIL", seconds_ref=rsec, detail=rerr or rviol))
                continue
            # options of this implementation alone (its reference would not understand them)
            itask = dataclasses.replace(task, options={**task.options, **(entry.validate_options or {})})
            t0 = time.perf_counter()
            try:
                ires, isec = _timed(entry, itask)
            except Exception as exc:
                detail = _error_text(exc)
                if progress and entry.agreement != "differs":
                    progress(traceback.format_exc(limit=4))
                rows.append(Row(**cbase, verdict="error", status=status_of(entry.agreement, "error"),
                                loss_ref=float(rres.loss), seconds_ref=rsec,
                                seconds_impl=time.perf_counter() - t0, detail=detail))
                continue
            irep = check(ires, task, entry.name)
            backend = str(ires.extras.get("backend", ""))
            if not irep.ok:
                rows.append(Row(**cbase, verdict="invariant violated", status=status_of(entry.agreement, "x"),
                                loss_ref=float(rres.loss), loss_impl=float(ires.loss), seconds_ref=rsec,
                                seconds_impl=isec, backend=backend, detail=str(irep)))
                continue
            verdict, gap = compare(rres, ires, family=entry.family, dtype=case.dtype)
            rows.append(Row(**cbase, verdict=verdict, status=status_of(entry.agreement, verdict), gap_pct=gap,
                            loss_ref=float(rres.loss), loss_impl=float(ires.loss), seconds_ref=rsec,
                            seconds_impl=isec, backend=backend))
        if progress:
            mine = [r for r in rows if r.algorithm == entry.algorithm and r.implementation == entry.implementation]
            spent = sum((r.seconds_ref or 0) + (r.seconds_impl or 0) for r in mine)
            progress((_summary_line(summarize(mine)[0]) if mine else entry.name) + f" [{spent:.1f} s]")
    return rows


# ----------------------------------------------------------------- report

@dataclass
class PairSummary:
    name: str
    reference: str
    expected: str
    cases: int
    verdicts: dict[str, int] = field(default_factory=dict)
    worst_gap_pct: float | None = None
    status: str = "ok"
    note: str = ""
    detail: str = ""


def _bucket(verdict: str) -> str:
    return "differs" if verdict.startswith("differs") else verdict


def summarize(rows: list[Row]) -> list[PairSummary]:
    """One line per implementation: verdict counts, worst gap, and the worst status of the cases run."""
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(f"{r.algorithm}/{r.implementation}", []).append(r)
    out = []
    rank = {"ok": 0, "known": 1, "FAIL": 2}
    for name, rs in groups.items():
        s = PairSummary(name, rs[0].reference, rs[0].expected, len(rs), note=rs[0].note)
        for r in rs:
            b = _bucket(r.verdict)
            s.verdicts[b] = s.verdicts.get(b, 0) + 1
            if r.gap_pct is not None and math.isfinite(r.gap_pct) and (
                    s.worst_gap_pct is None or abs(r.gap_pct) > abs(s.worst_gap_pct)):
                s.worst_gap_pct = r.gap_pct
        ran = [r for r in rs if r.status != "skipped"]
        s.status = max((r.status for r in ran), key=rank.__getitem__) if ran else "skipped"
        for wanted in ("FAIL", "known", "skipped"):
            hit = next((r for r in rs if r.status == wanted and r.detail), None)
            if hit:
                s.detail = f"{hit.case}: {hit.detail}" if wanted != "skipped" else hit.detail
                break
        out.append(s)
    return sorted(out, key=lambda s: s.name)


def _fmt_verdicts(v: dict[str, int]) -> str:
    return ", ".join(f"{k} {c}" for k, c in sorted(v.items(), key=lambda kv: -kv[1]))


def _fmt_gap(g: float | None) -> str:
    return "" if g is None else f"{g:+.3g}%"


def _summary_line(s: PairSummary) -> str:
    return (f"{s.status:<7} {s.name:<34} vs {s.reference:<24} expected {s.expected:<9} "
            f"{_fmt_verdicts(s.verdicts)}" + (f"; worst gap {_fmt_gap(s.worst_gap_pct)}" if s.worst_gap_pct else ""))


def format_table(summaries: list[PairSummary]) -> str:
    return "\n".join(_summary_line(s) for s in summaries)


def exit_code(rows: list[Row]) -> int:
    return 1 if any(r.status == "FAIL" for r in rows) else 0


def to_csv(rows: list[Row]) -> str:
    buf = io.StringIO()
    names = list(Row.__dataclass_fields__)
    w = csv.DictWriter(buf, fieldnames=names, lineterminator="\n")
    w.writeheader()
    for r in rows:
        d = asdict(r)
        for key in ("gap_pct", "loss_ref", "loss_impl", "seconds_ref", "seconds_impl"):
            if d[key] is not None:
                d[key] = repr(float(d[key]))
        w.writerow(d)
    return buf.getvalue()


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def to_markdown(rows: list[Row], env: dict[str, Any], *, title: str, cases: list[Case], seconds: float) -> str:
    from .environment import summary_line

    sums = summarize(rows)
    n_fail = sum(s.status == "FAIL" for s in sums)
    lines = [f"# {title}", "",
             f"{summary_line(env)}  ", f"Generated {env.get('time')} in {seconds:.1f} s; "
             f"{len(cases)} cases, {len(sums)} implementations; "
             + ("**all expectations met**" if not n_fail else f"**{n_fail} implementation(s) FAIL**"), "",
             "Cases: " + ", ".join(f"`{c.id}`" for c in cases) + ".", "",
             "Verdicts: *identical* = same medoids (or partition) and loss within 1e-12 relative "
             "(1e-6 for centres and silhouettes from float32 data); *same loss*; *differs by x%* = (impl - ref) / |ref|. "
             "Status: *ok* meets the registry's expectation, *FAIL* an expected agreement that did not hold, "
             "*known* a difference the registry expects (reason in the last column).", "",
             "| status | implementation | reference | expected | verdicts | worst gap | reason / detail |",
             "|---|---|---|---|---|---|---|"]
    for s in sums:
        why = s.note if s.status in ("known", "ok") else (s.detail or s.note)
        if s.status == "known" and s.detail:
            why = f"{s.note} ({s.detail})"
        if s.status == "skipped":
            why = s.detail
        lines.append(f"| {s.status} | `{s.name}` | `{s.reference}` | {s.expected} | {_fmt_verdicts(s.verdicts)} | "
                     f"{_fmt_gap(s.worst_gap_pct)} | {_md_escape(why)} |")
    lines += ["", "## Every comparison", "",
              "| implementation | case | verdict | status | loss (ref) | loss (impl) | s (ref) | s (impl) | backend | detail |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        def f(x):
            return "" if x is None else f"{x:.10g}"
        lines.append(f"| `{r.algorithm}/{r.implementation}` | {r.case} | {r.verdict} | {r.status} | {f(r.loss_ref)} | "
                     f"{f(r.loss_impl)} | {f(r.seconds_ref)} | {f(r.seconds_impl)} | {r.backend} | "
                     f"{_md_escape(r.detail)} |")
    lines += ["", "## Environment", "", "```json", json.dumps(env, indent=2, default=str), "```", ""]
    return "\n".join(lines)


def write_reports(rows: list[Row], out_dir: Path, *, quick: bool, cases: list[Case], seconds: float,
                  env: dict[str, Any] | None = None) -> list[Path]:
    """Markdown, CSV and the environment record, each written atomically."""
    from .environment import record

    env = env or record()
    stem = "validation-quick" if quick else "validation"
    title = "kmbench validate" + (" --quick" if quick else "") + ": agreement with the reference implementations"
    paths = [out_dir / f"{stem}.md", out_dir / f"{stem}.csv", out_dir / f"{stem}.env.json"]
    atomic_write_text(paths[0], to_markdown(rows, env, title=title, cases=cases, seconds=seconds))
    atomic_write_text(paths[1], to_csv(rows))
    atomic_write_text(paths[2], json.dumps(env, indent=2, default=str) + "\n")
    return paths
