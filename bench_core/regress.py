"""The regression gate: compare two asv result sets and say whether HEAD regressed.

asv's result files (``results/asv/<machine>/<commit>-<env>.json``, format version 2)
are read directly, never its console output. Each file holds ``result_columns``
(``["result", "params", ...]``) and ``results``: benchmark name -> row, where
``result`` lists one value per combination of ``params`` (their Cartesian
product, in order). A value is a number, ``None`` (the benchmark failed) or NaN
(skipped: ``NotImplementedError`` in ``setup``, or asv could not build/run it).

A combination is a regression when HEAD is

* ``slower``: a ``time_*`` benchmark took more than ``factor`` times BASE's time (median),
  and, where asv kept several samples of both, HEAD's first quartile lies above BASE's
  third quartile; a ratio above ``factor`` whose quartile ranges overlap is reported as
  ``noisy`` (not gated: one sample of a shared machine's hiccup);
* ``worse-loss``: a tracked objective got worse beyond ``loss_rtol`` (``track_loss``
  and the other :data:`LOWER_IS_BETTER` tracks went up, :data:`HIGHER_IS_BETTER`
  ones such as ``track_silhouette`` went down);
* ``more-memory``: only with ``mem_factor``, a ``peakmem_*`` grew beyond it.

Benchmarks that did not produce a number are reported on their own lines and are
never a pass: ``failed`` (HEAD failed), ``skipped`` (HEAD skipped what BASE ran),
``missing`` (in BASE, absent from HEAD) and ``no-environment`` (no result file, or
HEAD skipped everything: its environment or build failed). Combinations skipped in
both sets (an implementation unavailable on this machine, an impossible
combination) are counted as ``skipped-both``; ``strict`` makes them fail too.

Exit codes of :func:`exit_code` (and ``kmbench regress``):
0 pass; 1 regression; 2 usage error; 3 incomplete (failed, skipped or missing
benchmarks, no regression among the rest); 4 no environment.
"""

from __future__ import annotations

import glob
import itertools
import json
import math
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .environment import ROOT

EXIT_PASS, EXIT_REGRESSION, EXIT_USAGE, EXIT_INCOMPLETE, EXIT_NO_ENVIRONMENT = 0, 1, 2, 3, 4
DEFAULT_FACTOR = 1.5
DEFAULT_LOSS_RTOL = 1e-6
DEFAULT_MACHINE = "kmbench-ci"

# Tracks whose value is an objective; the rest (n_iter, n_swap, errors) are reported, not gated.
LOWER_IS_BETTER = ("track_loss",)
HIGHER_IS_BETTER = ("track_silhouette",)

REGRESSIONS = ("slower", "worse-loss", "more-memory")
INCOMPLETE = ("failed", "failed-both", "skipped", "missing")
STATUS_ORDER = ("slower", "worse-loss", "more-memory", "no-environment", "failed", "skipped",
                "missing", "noisy", "skipped-both", "failed-both", "fixed", "new", "faster", "better-loss",
                "changed", "ok")


class ResultsError(ValueError):
    """A result file is missing, unreadable or not in asv's format."""


@dataclass
class ResultSet:
    """One asv result file: values keyed by (benchmark name, parameter combination)."""

    path: str
    commit: str
    env_name: str
    machine: str
    values: dict[tuple[str, tuple[str, ...]], float | None]
    spread: dict[tuple[str, tuple[str, ...]], tuple[float, float]] = field(default_factory=dict)
    param_names: dict[str, list[str]] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)

    @property
    def benchmarks(self) -> set[str]:
        return {b for b, _ in self.values}


def _benchmarks_meta(results_dir: Path) -> dict[str, Any]:
    """asv's ``benchmarks.json`` (param names, units) next to the machine folders, if any."""
    path = results_dir / "benchmarks.json"
    try:
        with open(path) as fh:
            meta = json.load(fh)
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in meta.items() if isinstance(v, dict)}


def load_results(path: str | os.PathLike) -> ResultSet:
    """Read one asv result file (format version 2) into a :class:`ResultSet`."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"no asv result file at {path}")
    try:
        with open(path) as fh:
            data = json.load(fh)  # asv writes NaN for skipped values; json accepts it
    except ValueError as exc:
        raise ResultsError(f"{path} is not JSON: {exc}") from None
    if data.get("version") != 2 or "result_columns" not in data or "results" not in data:
        raise ResultsError(f"{path} is not an asv result file of format version 2 "
                           f"(needs 'version': 2, 'result_columns' and 'results')")
    cols = data["result_columns"]
    values: dict[tuple[str, tuple[str, ...]], float | None] = {}
    spread: dict[tuple[str, tuple[str, ...]], tuple[float, float]] = {}
    for name, row in data["results"].items():
        r = dict(zip(cols, row, strict=False))
        params = r.get("params") or []
        combos = list(itertools.product(*params)) if params else [()]
        result = r.get("result")
        if result is None:  # asv drops all-None columns: the whole benchmark failed
            result = [None] * len(combos)
        if len(result) != len(combos):
            raise ResultsError(f"{path}: {name} has {len(result)} values for {len(combos)} "
                               "parameter combinations")
        q25 = r.get("stats_q_25") or [None] * len(combos)
        q75 = r.get("stats_q_75") or [None] * len(combos)
        for combo, v, lo, hi in zip(combos, result, q25, q75, strict=True):
            key = (name, tuple(str(p) for p in combo))
            values[key] = None if v is None else float(v)
            if lo is not None and hi is not None:
                spread[key] = (float(lo), float(hi))
    meta = _benchmarks_meta(path.parent.parent)
    machine = path.parent.name
    mfile = path.parent / "machine.json"
    if mfile.is_file():
        try:
            machine = json.loads(mfile.read_text()).get("machine", machine)
        except ValueError:
            pass
    return ResultSet(
        path=str(path), commit=str(data.get("commit_hash", "")), env_name=str(data.get("env_name", "")),
        machine=machine, values=values, spread=spread,
        param_names={k: v.get("param_names", []) for k, v in meta.items()},
        units={k: v.get("unit", "") for k, v in meta.items()})


def kind(benchmark: str) -> str:
    """``time``, ``peakmem``, ``mem``, ``track`` (from the method name) or ``other``."""
    method = benchmark.rsplit(".", 1)[-1]
    for prefix in ("time", "peakmem", "mem", "track"):
        if method.startswith(prefix + "_"):
            return prefix
    return "other"


def _is_nan(v: float | None) -> bool:
    return v is not None and math.isnan(v)


@dataclass
class Row:
    benchmark: str
    params: tuple[str, ...]
    base: float | None
    head: float | None
    status: str
    ratio: float | None = None

    def label(self, param_names: list[str] | None = None) -> str:
        if not self.params:
            return self.benchmark
        if param_names and len(param_names) == len(self.params):
            ps = ", ".join(f"{n}={v}" for n, v in zip(param_names, self.params, strict=True))
        else:
            ps = ", ".join(self.params)
        return f"{self.benchmark}({ps})"


@dataclass
class Comparison:
    base: ResultSet | None
    head: ResultSet | None
    rows: list[Row]
    factor: float
    loss_rtol: float
    strict: bool = False
    notes: list[str] = field(default_factory=list)

    def counts(self) -> Counter:
        return Counter(r.status for r in self.rows)

    def by_status(self, status: str) -> list[Row]:
        return [r for r in self.rows if r.status == status]

    @property
    def no_environment(self) -> bool:
        return any(r.status == "no-environment" for r in self.rows) or self.base is None or self.head is None

    def exit_code(self) -> int:
        c = self.counts()
        if any(c[s] for s in REGRESSIONS):
            return EXIT_REGRESSION
        if self.no_environment:
            return EXIT_NO_ENVIRONMENT
        if any(c[s] for s in INCOMPLETE) or (self.strict and c["skipped-both"]):
            return EXIT_INCOMPLETE
        return EXIT_PASS

    def verdict(self) -> str:
        return {EXIT_PASS: "PASS", EXIT_REGRESSION: "REGRESSION", EXIT_INCOMPLETE: "INCOMPLETE",
                EXIT_NO_ENVIRONMENT: "NO ENVIRONMENT"}[self.exit_code()]

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict(), "exit_code": self.exit_code(), "factor": self.factor,
            "loss_rtol": self.loss_rtol, "strict": self.strict, "notes": self.notes,
            "base": None if self.base is None else {"path": self.base.path, "commit": self.base.commit},
            "head": None if self.head is None else {"path": self.head.path, "commit": self.head.commit},
            "counts": dict(self.counts()),
            "rows": [asdict(r) | {"params": list(r.params)} for r in self.rows if r.status != "ok"],
        }

    def format(self, *, show_ok: bool = False, limit: int = 40) -> str:
        """Human-readable report: one section per status that needs attention."""
        names = (self.head or self.base).param_names if (self.head or self.base) else {}
        lines = []
        b = self.base.commit[:8] if self.base else "-"
        h = self.head.commit[:8] if self.head else "-"
        lines.append(f"kmbench regress: BASE {b} vs HEAD {h}; slower than x{self.factor:g} or a tracked "
                     f"loss worse beyond rtol {self.loss_rtol:g} is a regression")
        lines.extend(f"note: {n}" for n in self.notes)
        for status in STATUS_ORDER:
            rows = self.by_status(status)
            if not rows or (status == "ok" and not show_ok):
                continue
            if status in ("skipped-both", "ok") and not show_ok:
                lines.append(f"\n{status.upper()} ({len(rows)}): not compared: unavailable here or "
                             "impossible in both sets (--show-ok lists them, --strict fails on them)")
                continue
            lines.append(f"\n{status.upper()} ({len(rows)})")
            for r in rows[:limit]:
                lines.append(f"  {r.label(names.get(r.benchmark))}: {_fmt(r)}")
            if len(rows) > limit:
                lines.append(f"  ... and {len(rows) - limit} more")
        c = self.counts()
        summary = ", ".join(f"{c[s]} {s}" for s in STATUS_ORDER if c[s])
        lines.append(f"\n{self.verdict()} (exit {self.exit_code()}): {summary or 'nothing compared'}")
        return "\n".join(lines)


def _fmt(r: Row) -> str:
    def v(x):
        if x is None:
            return "failed"
        if math.isnan(x):
            return "skipped"
        if kind(r.benchmark) == "time":
            return f"{x * 1e3:.4g} ms"
        if kind(r.benchmark) in ("peakmem", "mem"):
            return f"{x / 2**20:.4g} MiB"
        return f"{x:.10g}"
    s = f"{v(r.base)} -> {v(r.head)}"
    if r.ratio is not None:
        s += f" (x{r.ratio:.2f})"
    return s


def _classify(bench: str, base: float | None, head: float | None, *, factor: float, loss_rtol: float,
              mem_factor: float | None, min_time: float,
              spreads: tuple[tuple[float, float] | None, tuple[float, float] | None] = (None, None),
              ) -> tuple[str, float | None]:
    if base is None and head is None:
        return "failed-both", None
    if head is None:
        return "failed", None
    if base is None:
        return ("fixed", None) if not _is_nan(head) else ("skipped", None)
    if _is_nan(base) and _is_nan(head):
        return "skipped-both", None
    if _is_nan(head):
        return "skipped", None
    if _is_nan(base):
        return "new", None
    k = kind(bench)
    method = bench.rsplit(".", 1)[-1]
    if k == "time":
        ratio = head / base if base > 0 else math.inf
        if ratio > factor and head >= min_time:
            sb, sh = spreads
            if sb is not None and sh is not None and sh[0] <= sb[1]:
                return "noisy", ratio  # the samples' interquartile ranges overlap
            return "slower", ratio
        if ratio < 1 / factor:
            return "faster", ratio
        return "ok", ratio
    if k in ("peakmem", "mem"):
        ratio = head / base if base > 0 else math.inf
        if mem_factor is not None and ratio > mem_factor:
            return "more-memory", ratio
        return "ok", ratio
    if k == "track":
        tol = loss_rtol * max(abs(base), abs(head), 1e-300)
        if method in LOWER_IS_BETTER or method in HIGHER_IS_BETTER:
            worse = head - base if method in LOWER_IS_BETTER else base - head
            if worse > tol:
                return "worse-loss", None
            if worse < -tol:
                return "better-loss", None
            return "ok", None
        return ("changed", None) if abs(head - base) > tol else ("ok", None)
    return "ok", None


def compare(base: ResultSet | None, head: ResultSet | None, *, factor: float = DEFAULT_FACTOR,
            loss_rtol: float = DEFAULT_LOSS_RTOL, mem_factor: float | None = None,
            min_time: float = 0.0, strict: bool = False) -> Comparison:
    """Compare every (benchmark, parameters) of BASE with HEAD; see the module docstring."""
    if factor <= 1:
        raise ValueError(f"factor must be > 1, got {factor}")
    if loss_rtol < 0:
        raise ValueError(f"loss_rtol must be >= 0, got {loss_rtol}")
    cmp = Comparison(base, head, [], factor, loss_rtol, strict)
    if base is None or head is None:
        cmp.notes.append(f"no asv results for {'BASE' if base is None else 'HEAD'}: its environment "
                         "could not be created or nothing ran")
        return cmp
    bv, hv = base.values, head.values
    for key in sorted(set(bv) | set(hv)):
        bench, params = key
        if key not in hv:
            cmp.rows.append(Row(bench, params, bv[key], None, "missing"))
            continue
        if key not in bv:
            cmp.rows.append(Row(bench, params, None, hv[key], "new"))
            continue
        status, ratio = _classify(bench, bv[key], hv[key], factor=factor, loss_rtol=loss_rtol,
                                  mem_factor=mem_factor, min_time=min_time,
                                  spreads=(base.spread.get(key), head.spread.get(key)))
        cmp.rows.append(Row(bench, params, bv[key], hv[key], status, ratio))
    ran_base = sum(1 for v in bv.values() if v is not None and not _is_nan(v))
    ran_head = sum(1 for v in hv.values() if v is not None and not _is_nan(v))
    if ran_base and not ran_head:
        cmp.notes.append("HEAD produced no number at all although BASE did: its environment or build "
                         "failed (no environment)")
        for r in cmp.rows:
            if r.status in ("skipped", "failed"):
                r.status = "no-environment"
    return cmp


def compare_files(base: str | os.PathLike, head: str | os.PathLike, **kwargs) -> Comparison:
    return compare(load_results(base), load_results(head), **kwargs)


# ------------------------------------------------------------------------ benchmarking commits

def read_asv_config(path: Path) -> dict[str, Any]:
    """asv.conf.json allows ``//`` comment lines; strip them and parse."""
    text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("//"))
    return json.loads(text)


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ValueError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def resolve_commit(root: Path, name: str) -> str:
    """Full hash of a commit name (``HEAD~1``, a branch, a short hash)."""
    return _git(root, "rev-parse", "--verify", f"{name}^{{commit}}")


def export_commit(root: Path, sha: str, dest: Path) -> Path:
    """Extract the tree of ``sha`` into ``dest`` with ``git archive`` (no worktree changes)."""
    dest.mkdir(parents=True, exist_ok=True)
    tar = dest / ".export.tar"
    with open(tar, "wb") as fh:
        proc = subprocess.run(["git", "archive", "--format=tar", sha], cwd=root, stdout=fh,
                              stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise ValueError(f"git archive {sha} failed: {proc.stderr.decode().strip()}")
    with tarfile.open(tar) as tf:
        tf.extractall(dest, filter="data")
    tar.unlink()
    return dest


def result_file(results_dir: Path, machine: str, sha: str, hash_length: int = 8,
                env_prefix: str = "existing") -> Path | None:
    matches = sorted(glob.glob(str(results_dir / machine / f"{sha[:hash_length]}-{env_prefix}*.json")),
                     key=os.path.getmtime)
    return Path(matches[-1]) if matches else None


def prepare_commit(commit: str, work: Path, *, root: Path = ROOT, python: str = sys.executable,
                   say=print) -> tuple[str, Path | None, str]:
    """Export ``commit`` into ``work/<sha>`` and build its extensions in place.

    Returns ``(sha, tree or None when the build failed, build output)``.
    """
    sha = resolve_commit(Path(root), commit)
    tree = export_commit(Path(root), sha, Path(work) / sha[:12])
    say(f"kmbench regress: {commit} = {sha[:8]}: building its extensions in {tree}")
    env = dict(os.environ)
    env.pop("KMBENCH_EXT", None)
    proc = subprocess.run([python, "setup.py", "-q", "build_ext", "--inplace", "-j", "2"], cwd=tree,
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr)[-3000:]
        say(f"build of {sha[:8]} failed:\n{out}")
        return sha, None, out
    return sha, tree, ""


def run_asv(sha: str, tree: Path, *, root: Path = ROOT, machine: str = DEFAULT_MACHINE,
            profile: str = "quick", quick: bool = False, bench: list[str] | None = None,
            python: str = sys.executable, fresh: bool = True, echo: bool = True) -> tuple[Path | None, str, int]:
    """``asv run -E existing:<python> --set-commit-hash <sha>`` with ``tree`` first on ``sys.path``.

    ``fresh`` removes an earlier result file of that commit first (no stale benchmarks merged
    in); otherwise asv merges the benchmarks run now into it.
    """
    root = Path(root)
    conf_path = root / "asv.conf.json"
    conf = read_asv_config(conf_path)
    results_dir = root / conf.get("results_dir", "results")
    hash_length = int(conf.get("hash_length", 8))
    if fresh:
        old = result_file(results_dir, machine, sha, hash_length)
        if old is not None:
            old.unlink()
    subprocess.run([python, "-m", "asv", "machine", "--yes", "--machine", machine], cwd=root,
                   capture_output=True, text=True)
    cmd = [python, "-m", "asv", "run", "--config", str(conf_path), "-E", f"existing:{python}",
           "--set-commit-hash", sha, "--machine", machine]
    if quick:
        cmd.append("--quick")
    for b in bench or ():
        cmd += ["--bench", b]
    env = dict(os.environ)
    # asv's benchmark runner drops PYTHONPATH but puts ASV_PYTHONPATH first on sys.path.
    env["ASV_PYTHONPATH"] = str(tree)
    env["KMBENCH_ASV_PROFILE"] = profile
    if echo:
        print(f"kmbench regress: {' '.join(cmd[1:])}  (ASV_PYTHONPATH={tree}, KMBENCH_ASV_PROFILE={profile})",
              flush=True)
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    if echo:
        for ln in [ln for ln in out.splitlines() if "failed" in ln or "rror" in ln][-15:]:
            print("  " + ln)
    return result_file(results_dir, machine, sha, hash_length), out, proc.returncode


@dataclass
class CommitRun:
    commit: str
    sha: str
    result: Path | None
    log: str
    returncode: int


def benchmark_commit(commit: str, *, root: Path = ROOT, machine: str = DEFAULT_MACHINE,
                     profile: str = "quick", quick: bool = False, bench: list[str] | None = None,
                     python: str = sys.executable, echo: bool = True) -> CommitRun:
    """Benchmark one commit with the working tree's suites in the current environment.

    The commit's tree is exported with ``git archive``, its extensions are built in
    place with ``python``, and ``asv run -E existing:<python> --set-commit-hash`` runs
    the suites with that tree first on ``sys.path`` (``ASV_PYTHONPATH``, which asv's
    benchmark runner honours; it drops ``PYTHONPATH``). Results land in asv's results
    folder like any other run. ``result`` is None when the build or asv produced none.
    """
    log: list[str] = []
    say = (lambda m: (log.append(m), print(m, flush=True))) if echo else log.append
    with tempfile.TemporaryDirectory(prefix="kmbench-regress-") as work:
        sha, tree, out = prepare_commit(commit, Path(work), root=root, python=python, say=say)
        if tree is None:
            return CommitRun(commit, sha, None, "\n".join(log), 1)
        result, out, rc = run_asv(sha, tree, root=root, machine=machine, profile=profile, quick=quick,
                                  bench=bench, python=python, echo=echo)
        log.append(out)
        return CommitRun(commit, sha, result, "\n".join(log), rc)


def regress_commits(base: str, head: str, *, root: Path = ROOT, machine: str = DEFAULT_MACHINE,
                    profile: str = "quick", quick: bool = False, bench: list[str] | None = None,
                    python: str = sys.executable, confirm: int = 1, echo: bool = True,
                    **compare_kwargs) -> Comparison:
    """Benchmark BASE and HEAD and compare their result files.

    A shared machine slows whole stretches of a run, so a benchmark found ``slower`` is
    measured again ``confirm`` times, HEAD first then BASE, and stays a regression only
    if every re-run confirms it; otherwise it is reported as ``noisy``.
    """
    say = (lambda m: print(m, flush=True)) if echo else (lambda m: None)
    opts = dict(root=root, machine=machine, profile=profile, quick=quick, python=python, echo=echo)
    with tempfile.TemporaryDirectory(prefix="kmbench-regress-") as work:
        prepared = [prepare_commit(c, Path(work), root=root, python=python, say=say) for c in (base, head)]
        files: list[Path | None] = []
        logs: list[str] = []
        for sha, tree, out in prepared:
            if tree is None:
                files.append(None)
                logs.append(out)
                continue
            result, out, _ = run_asv(sha, tree, bench=bench, **opts)
            files.append(result)
            logs.append(out)
        sets = [load_results(f) if f is not None else None for f in files]
        cmp = compare(sets[0], sets[1], **compare_kwargs)
        for (commit, (sha, _, _), f, out) in zip((base, head), prepared, files, logs, strict=True):
            if f is None:
                cmp.notes.append(f"{commit} ({sha[:8]}): no result file; last output:\n"
                                 + "\n".join(out.splitlines()[-20:]))
        for i in range(confirm if cmp.base is not None and cmp.head is not None else 0):
            slow = [r for r in cmp.rows if r.status == "slower"]
            if not slow:
                break
            names = sorted({r.benchmark for r in slow})
            regex = "^(" + "|".join(re.escape(n) for n in names) + ")$"
            say(f"kmbench regress: confirming {len(slow)} slower combination(s) of {len(names)} "
                f"benchmark(s), round {i + 1}")
            for sha, tree, _ in reversed(prepared):
                run_asv(sha, tree, bench=[regex], fresh=False, **opts)
            again = compare(load_results(files[0]), load_results(files[1]), **compare_kwargs)
            status = {(r.benchmark, r.params): r for r in again.rows}
            for r in slow:
                other = status.get((r.benchmark, r.params))
                if other is None or other.status != "slower":
                    r.status = "noisy"
        n_noisy = sum(1 for r in cmp.rows if r.status == "noisy")
        if n_noisy:
            cmp.notes.append(f"{n_noisy} combination(s) slower in one run but not when measured again: noisy")
        return cmp


def find_results(spec: str, *, root: Path = ROOT, machine: str = DEFAULT_MACHINE) -> Path:
    """A result file from a path, or from a commit name looked up in ``results/asv/<machine>``."""
    p = Path(spec)
    if p.suffix == ".json" or p.exists():
        return p
    conf = read_asv_config(Path(root) / "asv.conf.json")
    sha = resolve_commit(Path(root), spec)
    found = result_file(Path(root) / conf.get("results_dir", "results"), machine, sha,
                        int(conf.get("hash_length", 8)), env_prefix="")
    if found is None:
        raise ResultsError(f"no stored asv results for {spec} ({sha[:8]}) on machine {machine}")
    return found


__all__ = [
    "DEFAULT_FACTOR", "DEFAULT_LOSS_RTOL", "DEFAULT_MACHINE", "EXIT_INCOMPLETE", "EXIT_NO_ENVIRONMENT",
    "EXIT_PASS", "EXIT_REGRESSION", "EXIT_USAGE", "Comparison", "ResultSet", "ResultsError", "Row",
    "benchmark_commit", "compare", "compare_files", "find_results", "kind", "load_results",
    "regress_commits", "resolve_commit",
]
