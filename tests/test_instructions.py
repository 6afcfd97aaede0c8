"""Instruction counts under Valgrind and the gate on them.

The gate's rules are tested on synthetic asv result sets (no Valgrind needed). The
measurement itself runs Valgrind a few times at tiny n (skipped without it):

* the count of one call repeats across processes (within 0.1 %; in practice exactly);
* a 5 % extra work injected into FasterPAM, in a throwaway copy of ``bench_core``
  (the production code has no such knob), is counted and the gate flags it as
  ``more-instructions``; a 1.05x change is far below the wall-time factor 1.5.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

from bench_core import regress as r
from bench_core.registry import Task
from bench_core.regress import instructions as ins
from bench_core.regress.asv_results import ResultSet

NEEDS_VALGRIND = pytest.mark.skipif(ins.unavailable_reason() is not None,
                                    reason=str(ins.unavailable_reason()))

B = "bench_instructions.PAMInstructions"
P = ("'fasterpam/reference'", "'mnist'", "500", "5", "'float64'")


def _set(values: dict, commit: str = "c0ffee00") -> ResultSet:
    return ResultSet(path=f"{commit}.json", commit=commit, env_name="e", machine="m",
                     values={(b, P): v for b, v in values.items()})


def _status(cmp: r.Comparison, bench: str) -> str:
    return next(row.status for row in cmp.rows if row.benchmark == bench)


# ---------------------------------------------------------------------------------------- gate

def test_instructions_gated_at_tight_factor_time_at_loose_one():
    base = _set({f"{B}.track_instructions": 1_000_000, "bench_pam.PAMFamily.time_fit": 0.010})
    head = _set({f"{B}.track_instructions": 1_050_000, "bench_pam.PAMFamily.time_fit": 0.0105})
    cmp = r.compare(base, head)
    assert _status(cmp, f"{B}.track_instructions") == "more-instructions"
    assert _status(cmp, "bench_pam.PAMFamily.time_fit") == "ok"
    assert cmp.exit_code() == r.EXIT_REGRESSION
    assert cmp.signals() == {"instructions": 1}
    text = cmp.format()
    assert "MORE-INSTRUCTIONS (1): signal instructions" in text
    assert "signals fired: instructions (1)" in text and "x1.0500" in text
    assert cmp.to_dict()["rows"][0]["signal"] == "instructions"
    # A looser instruction factor lets it pass; 2 % more is within the default 1.03.
    assert r.compare(base, head, instr_factor=1.06).exit_code() == r.EXIT_PASS
    within = _set({f"{B}.track_instructions": 1_020_000})
    assert _status(r.compare(base, within), f"{B}.track_instructions") == "ok"
    fewer = _set({f"{B}.track_instructions": 900_000})
    assert _status(r.compare(base, fewer), f"{B}.track_instructions") == "fewer-instructions"


def test_varying_count_is_non_deterministic_and_not_gated():
    """A count that changed when its commit was measured again (the drive's recount) is not gated."""
    base = _set({f"{B}.track_instructions": 1_000_000})
    head = _set({f"{B}.track_instructions": 1_200_000})
    key = (f"{B}.track_instructions", P)
    assert r.compare(base, head).exit_code() == r.EXIT_REGRESSION
    cmp = r.compare(base, head, nondeterministic={key})
    assert _status(cmp, key[0]) == "non-deterministic"
    assert cmp.exit_code() == r.EXIT_PASS
    assert "gated on wall time only" in cmp.format()


def test_ll_misses_reported_unless_a_factor_is_given():
    base = _set({f"{B}.track_ll_misses": 1000.0})
    head = _set({f"{B}.track_ll_misses": 2000.0})
    assert _status(r.compare(base, head), f"{B}.track_ll_misses") == "ok"
    cmp = r.compare(base, head, ll_factor=1.5)
    assert _status(cmp, f"{B}.track_ll_misses") == "more-ll-misses"
    assert cmp.signals() == {"LL misses": 1}


def test_bad_factors_are_rejected():
    with pytest.raises(ValueError, match="instr_factor must be > 1"):
        r.compare(None, None, instr_factor=1.0)
    with pytest.raises(ValueError, match="nd_rtol must be >= 0"):
        r.compare(None, None, nd_rtol=-1)


def test_parse_dump(tmp_path):
    p = tmp_path / "callgrind.out.1"
    p.write_text(textwrap.dedent("""\
        # callgrind format
        version: 1
        desc: I1 cache: 32768 B, 64 B, 8-way associative
        desc: Trigger: Client Request: kmbench#3#1
        events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
        summary: 1000 400 100 5 50 10 2 30 7
        totals: 998 400 100 5 50 10 2 30 7
        """))
    label, ev = ins.parse_dump(p)
    assert label.endswith("kmbench#3#1") and ev["Ir"] == 1000
    assert sum(ev[e] for e in ins.LL_EVENTS) == 39
    (tmp_path / "bad").write_text("not a dump\n")
    with pytest.raises(ins.InstructionCountError, match="not a Callgrind dump"):
        ins.parse_dump(tmp_path / "bad")


def test_disabled_by_environment(monkeypatch):
    monkeypatch.setenv(ins.DISABLE_ENV, "0")
    assert "switched off" in ins.unavailable_reason()
    with pytest.raises(ins.InstructionCountError, match="switched off"):
        ins.measure([("fasterpam/reference", None)])


def test_suite_shape_and_skips():
    import inspect

    from suites import bench_instructions as bi

    classes = [bi.PAMInstructions, bi.MSCInstructions, bi.SilhouetteInstructions,
               bi.SamplingInstructions, bi.KMeansInstructions, bi.KMedianInstructions]
    assert inspect.isabstract(bi.InstructionCounts)  # asv discovers only the families
    assert {c.family for c in classes} == set(bi.PROFILE)
    for cls in classes:
        names = cls.params[0]
        assert names and all("/torch" not in n and "parallel" not in n for n in names), names
        assert cls.param_names == ["implementation", *cls.axes]
        assert max(cls.params[cls.param_names.index("n")]) <= 2000
    assert "fasterpam/reference" in bi.PAMInstructions.params[0]
    assert bi.InstructionCounts.track_instructions.unit == "instructions"
    bench = bi.PAMInstructions()
    with pytest.raises(NotImplementedError, match="no valgrind here"):
        bench.setup({"unavailable": "no valgrind here"}, "fasterpam/reference", "mnist", 200, 5, "float64")
    cache = {"counts": {("fasterpam/reference", 200): {"instructions": 7, "ll_misses": 1},
                        ("pam/kmedoids", 200): "pam/kmedoids: RuntimeError: boom"},
             "skipped": {("pam/kmedoids", 500): "peers are counted at n=200 only"}}
    bench.setup(cache, "fasterpam/reference", "mnist", 200, 5, "float64")
    assert bench.track_instructions(cache) == 7 and bench.track_ll_misses(cache) == 1
    with pytest.raises(NotImplementedError, match="counted at n=200 only"):
        bench.setup(cache, "pam/kmedoids", "mnist", 500, 5, "float64")
    with pytest.raises(RuntimeError, match="boom"):
        bench.setup(cache, "pam/kmedoids", "mnist", 200, 5, "float64")


# ---------------------------------------------------------------------------- under Valgrind

def _task(n: int = 200, k: int = 4) -> Task:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 8))
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    return Task(k=k, diss=D, medoids=np.arange(0, n, n // k)[:k].astype(np.int64), seed=0)


@NEEDS_VALGRIND
def test_counts_repeat_across_processes():
    """The k-th call counts the same in every process; calls of one process differ a little
    (CPython's adaptive interpreter, see instructions.WARMUP)."""
    task = _task()
    runs = [ins.measure([("fasterpam/reference", task)], repeats=2)[0] for _ in range(3)]
    assert all(isinstance(run, ins.Counts) for run in runs)
    for call in range(2):
        counts = [run.instructions[call] for run in runs]
        assert min(counts) > 100_000  # the kernel ran, not only the wrapper
        assert (max(counts) - min(counts)) / min(counts) <= 1e-3, counts
    assert all(run.ll_misses[0] > 0 for run in runs)


@NEEDS_VALGRIND
def test_failure_of_one_implementation_is_reported_not_fatal():
    res = ins.measure([("fasterpam/reference", Task(k=3)), ("fasterpam/reference", _task(60, 3))],
                      repeats=1)
    assert isinstance(res[0], str) and "fasterpam/reference" in res[0]
    assert isinstance(res[1], ins.Counts)


INJECTED = '''

# --- injected by tests/test_instructions.py in a throwaway copy: FasterPAM's kernel
# --- also runs on the first {fraction} of the rows and columns (about 5 % more work)
_kmbench_kernel = fasterpam_kernel


def fasterpam_kernel(D, med, order, max_iter, rel_tol, labels, **kw):
    m = max(len(med) + 1, int(round({fraction} * D.shape[0])))
    _kmbench_kernel(np.ascontiguousarray(D[:m, :m]), np.arange(len(med), dtype=med.dtype),
                    np.arange(m, dtype=order.dtype), max_iter, rel_tol, np.empty(m, dtype=labels.dtype),
                    **kw)
    return _kmbench_kernel(D, med, order, max_iter, rel_tol, labels, **kw)
'''


@NEEDS_VALGRIND
def test_injected_five_percent_is_caught_by_instructions(tmp_path):
    """FasterPAM's kernel run again on the leading 10 % block (about 5 % more instructions), in a copy."""
    src = Path(r.__file__).resolve().parent.parent  # this bench_core
    copy = tmp_path / "slow" / "bench_core"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("__pycache__", "*.c"))
    pam = copy / "algorithms" / "pam.py"
    assert "fasterpam_kernel" in pam.read_text(), "the injection wraps pam.fasterpam_kernel"
    pam.write_text(pam.read_text() + INJECTED.format(fraction=0.1))
    task = _task(300, 5)
    base = ins.measure([("fasterpam/reference", task)])[0]
    slow = ins.measure([("fasterpam/reference", task)], pythonpath=str(copy.parent))[0]
    ratio = slow.instructions[0] / base.instructions[0]
    assert 1.03 < ratio < 1.10, ratio
    # The gate flags it on the instruction signal (wall time, at 1.5, cannot see 1.05x).
    key = ("bench_instructions.PAMInstructions.track_instructions", P)
    sets = [ResultSet(path="x", commit=c, env_name="e", machine="m", values={key: float(x.first)})
            for c, x in (("base", base), ("slow", slow))]
    cmp = r.compare(*sets)
    assert _status(cmp, key[0]) == "more-instructions", cmp.format()
    assert cmp.signals() == {"instructions": 1}


def test_drive_recounts_and_marks_varying_counts(monkeypatch):
    """The drive's recount: a count that changes in either commit is non-deterministic."""
    from bench_core.regress import drive

    key = (f"{B}.track_instructions", P)
    other = (key[0], ("'pam/reference'", *P[1:]))
    base = _set({key[0]: 1_000_000})
    base.values[other] = 1_000_000
    head = _set({key[0]: 1_100_000})
    head.values[other] = 1_100_000
    again = {"base": {key: 1_000_000, other: 1_000_000}, "head": {key: 1_100_000, other: 1_090_000}}
    calls = []
    monkeypatch.setattr(drive, "run_asv", lambda sha, tree, **kw: calls.append((sha, kw["bench"])))
    monkeypatch.setattr(drive, "load_results", lambda f: ResultSet("x", f, "e", "m", again[f]))
    cmp = r.compare(base, head)
    assert cmp.counts()["more-instructions"] == 2
    drive._confirm_instructions(cmp, [("b" * 40, "tb", ""), ("h" * 40, "th", "")], ["base", "head"],
                                {}, lambda m: None)
    st = {(row.benchmark, row.params): row.status for row in cmp.rows}
    assert st[key] == "more-instructions" and st[other] == "non-deterministic"
    assert [c[0][0] for c in calls] == ["h", "b"]  # HEAD first, then BASE
    assert any("non-deterministic" in n for n in cmp.notes)
