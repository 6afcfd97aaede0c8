"""The gate: compare two asv result sets and say whether HEAD regressed, and on which signal.

A combination is a regression when HEAD is

* ``more-instructions``: a ``track_instructions`` benchmark (the instruction profile,
  ``suites/bench_instructions.py``: Valgrind's count of the instructions of the timed
  call) went up by more than ``instr_factor`` (default 1.03). An instruction count
  does not depend on the machine's load, so the factor can be tight;
* ``slower``: a ``time_*`` benchmark took more than ``factor`` (default 1.5) times
  BASE's time (median), and, where asv kept several samples of both, HEAD's first
  quartile lies above BASE's third quartile; a ratio above ``factor`` whose quartile
  ranges overlap is reported as ``noisy`` (not gated: one sample of a shared
  machine's hiccup);
* ``worse-loss``: a tracked objective got worse beyond ``loss_rtol`` (``track_loss``
  and the other :data:`LOWER_IS_BETTER` tracks went up, :data:`HIGHER_IS_BETTER`
  ones such as ``track_silhouette`` went down);
* ``more-memory``: only with ``mem_factor``, a ``peakmem_*`` grew beyond it;
* ``more-ll-misses``: only with ``ll_factor``, the simulated last-level cache misses
  (``track_ll_misses``) grew beyond it (reported, not gated, by default: they depend
  on addresses more than instruction counts do).

An instruction count is only a signal if it repeats: :func:`bench_core.regress.drive.regress_commits`
counts every ``more-instructions`` combination again, in fresh processes of BASE and
HEAD, and one whose count changed by more than ``nd_rtol`` (default 0.1 %) between the
two runs of the same commit is passed to :func:`compare` as ``nondeterministic``: it is
reported as ``non-deterministic`` and left to the wall-time signal (its family's
``time_*`` benchmark).

Benchmarks that did not produce a number are reported on their own lines and are
never a pass: ``failed`` (HEAD failed), ``skipped`` (HEAD skipped what BASE ran),
``missing`` (in BASE, absent from HEAD) and ``no-environment`` (no result file, or
HEAD skipped everything: its environment or build failed). Combinations skipped in
both sets (an implementation unavailable on this machine, an impossible
combination, no Valgrind) are counted as ``skipped-both``; ``strict`` makes them fail too.

Exit codes of :meth:`Comparison.exit_code` (and ``kmbench regress``):
0 pass; 1 regression; 2 usage error; 3 incomplete (failed, skipped or missing
benchmarks, no regression among the rest); 4 no environment.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from .asv_results import ResultSet, is_nan, kind, load_results

EXIT_PASS, EXIT_REGRESSION, EXIT_USAGE, EXIT_INCOMPLETE, EXIT_NO_ENVIRONMENT = 0, 1, 2, 3, 4
DEFAULT_FACTOR = 1.5
DEFAULT_INSTR_FACTOR = 1.03
DEFAULT_ND_RTOL = 1e-3
DEFAULT_LOSS_RTOL = 1e-6

# Tracks whose value is an objective; the rest (n_iter, n_swap, errors) are reported, not gated.
LOWER_IS_BETTER = ("track_loss",)
HIGHER_IS_BETTER = ("track_silhouette",)

REGRESSIONS = ("more-instructions", "slower", "worse-loss", "more-memory", "more-ll-misses")
INCOMPLETE = ("failed", "failed-both", "skipped", "missing")
STATUS_ORDER = ("more-instructions", "slower", "worse-loss", "more-memory", "more-ll-misses",
                "no-environment", "failed", "skipped", "missing", "non-deterministic", "noisy",
                "skipped-both", "failed-both", "fixed", "new", "fewer-instructions", "faster",
                "better-loss", "changed", "ok")
# The signal behind each regression status, as the report names it.
SIGNAL = {"more-instructions": "instructions", "slower": "wall time", "worse-loss": "loss",
          "more-memory": "peak memory", "more-ll-misses": "LL misses"}


@dataclass
class Row:
    benchmark: str
    params: tuple[str, ...]
    base: float | None
    head: float | None
    status: str
    ratio: float | None = None

    @property
    def signal(self) -> str | None:
        """The signal that fired (``instructions``, ``wall time``, ...), None if none did."""
        return SIGNAL.get(self.status)

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
    instr_factor: float = DEFAULT_INSTR_FACTOR
    nd_rtol: float = DEFAULT_ND_RTOL

    def counts(self) -> Counter:
        return Counter(r.status for r in self.rows)

    def by_status(self, status: str) -> list[Row]:
        return [r for r in self.rows if r.status == status]

    def signals(self) -> Counter:
        """How many combinations each signal flagged as a regression."""
        return Counter(r.signal for r in self.rows if r.signal is not None)

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
            "instr_factor": self.instr_factor, "nd_rtol": self.nd_rtol,
            "loss_rtol": self.loss_rtol, "strict": self.strict, "notes": self.notes,
            "base": None if self.base is None else {"path": self.base.path, "commit": self.base.commit},
            "head": None if self.head is None else {"path": self.head.path, "commit": self.head.commit},
            "counts": dict(self.counts()), "signals": dict(self.signals()),
            "rows": [asdict(r) | {"params": list(r.params), "signal": r.signal}
                     for r in self.rows if r.status != "ok"],
        }

    def format(self, *, show_ok: bool = False, limit: int = 40) -> str:
        """Human-readable report: one section per status that needs attention."""
        names = (self.head or self.base).param_names if (self.head or self.base) else {}
        lines = []
        b = self.base.commit[:8] if self.base else "-"
        h = self.head.commit[:8] if self.head else "-"
        lines.append(f"kmbench regress: BASE {b} vs HEAD {h}; a regression is more instructions than "
                     f"x{self.instr_factor:g}, slower than x{self.factor:g} (wall time) or a tracked "
                     f"loss worse beyond rtol {self.loss_rtol:g}")
        lines.extend(f"note: {n}" for n in self.notes)
        for status in STATUS_ORDER:
            rows = self.by_status(status)
            if not rows or (status == "ok" and not show_ok):
                continue
            if status in ("skipped-both", "ok") and not show_ok:
                lines.append(f"\n{status.upper()} ({len(rows)}): not compared: unavailable here or "
                             "impossible in both sets (--show-ok lists them, --strict fails on them)")
                continue
            title = f"{status.upper()} ({len(rows)})"
            if status in SIGNAL:
                title += f": signal {SIGNAL[status]}"
            elif status == "non-deterministic":
                title += (f": instruction count varies by more than {self.nd_rtol:g} between runs of "
                          "one commit; gated on wall time only")
            lines.append("\n" + title)
            for r in rows[:limit]:
                lines.append(f"  {r.label(names.get(r.benchmark))}: {_fmt(r)}")
            if len(rows) > limit:
                lines.append(f"  ... and {len(rows) - limit} more")
        c = self.counts()
        summary = ", ".join(f"{c[s]} {s}" for s in STATUS_ORDER if c[s])
        fired = self.signals()
        if fired:
            lines.append("\nsignals fired: " + ", ".join(f"{s} ({n})" for s, n in fired.most_common()))
        lines.append(f"\n{self.verdict()} (exit {self.exit_code()}): {summary or 'nothing compared'}")
        return "\n".join(lines)


def _fmt(r: Row) -> str:
    k = kind(r.benchmark)

    def v(x):
        if x is None:
            return "failed"
        if math.isnan(x):
            return "skipped"
        if k == "time":
            return f"{x * 1e3:.4g} ms"
        if k in ("peakmem", "mem"):
            return f"{x / 2**20:.4g} MiB"
        if k in ("instructions", "ll-misses"):
            return f"{x:,.0f}"
        return f"{x:.10g}"
    s = f"{v(r.base)} -> {v(r.head)}"
    if r.ratio is not None:
        s += f" (x{r.ratio:.4f})" if k == "instructions" else f" (x{r.ratio:.2f})"
    return s


def _classify(bench: str, base: float | None, head: float | None, *, factor: float, loss_rtol: float,
              mem_factor: float | None, min_time: float,
              spreads: tuple[tuple[float, float] | None, tuple[float, float] | None] = (None, None),
              instr_factor: float = DEFAULT_INSTR_FACTOR, ll_factor: float | None = None,
              ) -> tuple[str, float | None]:
    if base is None and head is None:
        return "failed-both", None
    if head is None:
        return "failed", None
    if base is None:
        return ("fixed", None) if not is_nan(head) else ("skipped", None)
    if is_nan(base) and is_nan(head):
        return "skipped-both", None
    if is_nan(head):
        return "skipped", None
    if is_nan(base):
        return "new", None
    k = kind(bench)
    method = bench.rsplit(".", 1)[-1]
    if k == "instructions":
        ratio = head / base if base > 0 else math.inf
        if ratio > instr_factor:
            return "more-instructions", ratio
        if ratio < 1 / instr_factor:
            return "fewer-instructions", ratio
        return "ok", ratio
    if k == "ll-misses":
        ratio = head / base if base > 0 else (math.inf if head > 0 else 1.0)
        if ll_factor is not None and ratio > ll_factor:
            return "more-ll-misses", ratio
        return "ok", ratio
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
            min_time: float = 0.0, strict: bool = False, instr_factor: float = DEFAULT_INSTR_FACTOR,
            nd_rtol: float = DEFAULT_ND_RTOL, ll_factor: float | None = None,
            nondeterministic: set[tuple[str, tuple[str, ...]]] | frozenset = frozenset(),
            ) -> Comparison:
    """Compare every (benchmark, parameters) of BASE with HEAD; see the module docstring.

    ``nondeterministic`` names ``track_instructions`` combinations already known to vary
    between runs of one commit (found by re-measuring); they are never gated.
    """
    if factor <= 1:
        raise ValueError(f"factor must be > 1, got {factor}")
    if instr_factor <= 1:
        raise ValueError(f"instr_factor must be > 1, got {instr_factor}")
    if loss_rtol < 0:
        raise ValueError(f"loss_rtol must be >= 0, got {loss_rtol}")
    if nd_rtol < 0:
        raise ValueError(f"nd_rtol must be >= 0, got {nd_rtol}")
    cmp = Comparison(base, head, [], factor, loss_rtol, strict, instr_factor=instr_factor, nd_rtol=nd_rtol)
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
                                  spreads=(base.spread.get(key), head.spread.get(key)),
                                  instr_factor=instr_factor, ll_factor=ll_factor)
        if key in nondeterministic and status in ("more-instructions", "fewer-instructions", "ok"):
            status = "non-deterministic"
        cmp.rows.append(Row(bench, params, bv[key], hv[key], status, ratio))
    ran_base = sum(1 for v in bv.values() if v is not None and not is_nan(v))
    ran_head = sum(1 for v in hv.values() if v is not None and not is_nan(v))
    if ran_base and not ran_head:
        cmp.notes.append("HEAD produced no number at all although BASE did: its environment or build "
                         "failed (no environment)")
        for r in cmp.rows:
            if r.status in ("skipped", "failed"):
                r.status = "no-environment"
    return cmp


def compare_files(base: str | os.PathLike, head: str | os.PathLike, **kwargs) -> Comparison:
    """:func:`compare` of two result files."""
    return compare(load_results(base), load_results(head), **kwargs)
