"""kmbench validate's machinery on fake registry entries (monkeypatched into the registry)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from bench_core import agreement, registry
from bench_core.agreement import Case, compare, run_validation, status_of, summarize, write_reports
from bench_core.registry import Entry, Task
from bench_core.result import ClusteringResult

CASES = [Case("blobs", 60, 3, "float64", 0), Case("blobs", 60, 3, "float32", 1)]


def _at(task: Task, med: np.ndarray) -> ClusteringResult:
    D = task.diss
    med = np.asarray(med, dtype=np.int64)
    labels = np.argmin(np.asarray(D[med]), axis=0).astype(np.int64)
    return ClusteringResult(loss=float(np.asarray(D[med], dtype=np.float64).min(axis=0).sum()), labels=labels,
                            medoids=med)


def _identity(task: Task) -> ClusteringResult:
    """A do-nothing 'algorithm': stays at the start."""
    return _at(task, task.medoids)


def _reversed(task: Task) -> ClusteringResult:
    """The same medoids listed the other way round (labels renumbered accordingly)."""
    return _at(task, task.medoids[::-1])


def _worse(task: Task) -> ClusteringResult:
    """The first medoid replaced by the point that raises the loss most (brute force)."""
    med = task.medoids.copy()
    D = np.asarray(task.diss, dtype=np.float64)
    others = [x for x in range(D.shape[0]) if x not in med]
    med[0] = max(others, key=lambda x: D[np.r_[x, med[1:]]].min(axis=0).sum())
    return _at(task, med)


def _broken(task: Task) -> ClusteringResult:
    res = _identity(task)
    res.loss *= 0.5
    return res


def _raises(task: Task) -> ClusteringResult:
    raise RuntimeError("library crashed")


@pytest.fixture
def fake_registry(monkeypatch):
    registry.load()
    entries = {
        "fakealgo/reference": Entry("fakealgo/reference", _identity, family="kmedoids"),
        "fakealgo/same": Entry("fakealgo/same", _reversed, family="kmedoids", reference="fakealgo/reference",
                               agreement="identical", note="same start, same result"),
        "fakealgo/worse": Entry("fakealgo/worse", _worse, family="kmedoids", reference="fakealgo/reference",
                                agreement="identical", note="should agree"),
        "fakealgo/known": Entry("fakealgo/known", _worse, family="kmedoids", reference="fakealgo/reference",
                                agreement="differs", note="a different algorithm"),
        "fakealgo/broken": Entry("fakealgo/broken", _broken, family="kmedoids", reference="fakealgo/reference",
                                 agreement="same-loss"),
        "fakealgo/crash": Entry("fakealgo/crash", _raises, family="kmedoids", reference="fakealgo/reference",
                                agreement="differs", note="crashes"),
        "fakealgo/missing": Entry("fakealgo/missing", _identity, family="kmedoids",
                                  reference="fakealgo/reference", requires=("no_such_module",)),
        "otheralgo/noref": Entry("otheralgo/noref", _identity, family="kmedoids",
                                 reference="otheralgo/reference"),
    }
    for name, e in entries.items():
        monkeypatch.setitem(registry._ENTRIES, name, e)
    return entries


def _by_name(rows):
    out = {}
    for r in rows:
        out.setdefault(f"{r.algorithm}/{r.implementation}", []).append(r)
    return out


def test_verdicts_and_statuses(fake_registry):
    rows = run_validation(CASES, algorithms=["fakealgo", "otheralgo"])
    got = _by_name(rows)
    assert {r.verdict for r in got["fakealgo/same"]} == {"identical"}
    assert {r.status for r in got["fakealgo/same"]} == {"ok"}
    assert all(r.verdict.startswith("differs by +") for r in got["fakealgo/worse"])
    assert {r.status for r in got["fakealgo/worse"]} == {"FAIL"}
    assert {r.status for r in got["fakealgo/known"]} == {"known"}
    assert {r.verdict for r in got["fakealgo/broken"]} == {"invariant violated"}
    assert {r.status for r in got["fakealgo/broken"]} == {"FAIL"}
    assert "fakealgo/broken" in got["fakealgo/broken"][0].detail and "reported loss" in got["fakealgo/broken"][0].detail
    assert {(r.verdict, r.status) for r in got["fakealgo/crash"]} == {("error", "known")}
    assert "library crashed" in got["fakealgo/crash"][0].detail
    assert {r.status for r in got["fakealgo/missing"]} == {"skipped"}
    assert "no_such_module" in got["fakealgo/missing"][0].detail
    assert {r.verdict for r in got["otheralgo/noref"]} == {"no reference"}
    assert agreement.exit_code(rows) == 1
    sums = {s.name: s for s in summarize(rows)}
    assert sums["fakealgo/worse"].status == "FAIL" and sums["fakealgo/worse"].worst_gap_pct > 0
    assert sums["fakealgo/known"].note == "a different algorithm"
    assert sums["fakealgo/missing"].status == "skipped"


def test_only_agreeing_pairs_exit_zero(fake_registry):
    rows = run_validation(CASES, algorithms=["fakealgo"], implementations=["same", "known", "missing"])
    assert agreement.exit_code(rows) == 0


def test_same_start_for_implementation_and_reference(fake_registry, monkeypatch):
    seen = []

    def spy(task):
        seen.append(task.medoids.tolist())
        return _identity(task)

    monkeypatch.setitem(registry._ENTRIES, "fakealgo/reference", Entry("fakealgo/reference", spy, family="kmedoids"))
    monkeypatch.setitem(registry._ENTRIES, "fakealgo/spy", Entry("fakealgo/spy", spy, family="kmedoids",
                                                                reference="fakealgo/reference"))
    run_validation(CASES[:1], algorithms=["fakealgo"], implementations=["spy"])
    assert len(seen) == 2 and seen[0] == seen[1]


def test_reference_options_reach_the_reference_of_that_pair_only(fake_registry, monkeypatch):
    """An entry's reference_options (e.g. tol=0 for a peer that runs to convergence) go to
    its reference's run and to no other pair's; the implementation does not get them."""
    seen = []

    def spy(name):
        def run(task):
            seen.append((name, dict(task.options)))
            return _identity(task)
        return run

    def put(name, **kw):
        monkeypatch.setitem(registry._ENTRIES, name, Entry(name, spy(name), family="kmedoids", **kw))

    put("fakealgo/reference")
    put("fakealgo/strict", reference="fakealgo/reference", reference_options={"tol": 0.0})
    put("fakealgo/plain", reference="fakealgo/reference")
    run_validation(CASES[:1], algorithms=["fakealgo"], implementations=["strict", "plain"])
    ref_runs = [opts for name, opts in seen if name == "fakealgo/reference"]
    assert sorted(str(o.get("tol", "none")) for o in ref_runs) == ["0.0", "none"]  # one run each
    assert all("tol" not in opts for name, opts in seen if name != "fakealgo/reference")


def test_compare_tolerances():
    D = np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]], dtype=float)
    t = Task(k=1, diss=D, medoids=np.array([1]))
    a = _identity(t)
    b = ClusteringResult(loss=a.loss * (1 + 1e-14), labels=a.labels, medoids=a.medoids)
    assert compare(a, b, family="kmedoids", dtype="float64")[0] == "identical"
    c = ClusteringResult(loss=a.loss, labels=a.labels, medoids=np.array([0]))
    assert compare(a, c, family="kmedoids", dtype="float64")[0] == "same loss"
    d = ClusteringResult(loss=a.loss * 1.5, labels=a.labels, medoids=np.array([0]))
    verdict, gap = compare(a, d, family="kmedoids", dtype="float64")
    assert verdict == "differs by +50%" and gap == pytest.approx(50)
    # centres from float32 points: 1e-6 relative
    X = np.zeros((3, 1))
    ca = ClusteringResult(loss=1.0, labels=np.array([0, 0, 1]), centers=X[:2])
    cb = ClusteringResult(loss=1.0 + 1e-7, labels=np.array([1, 1, 0]), centers=X[:2])
    assert compare(ca, cb, family="kmeans", dtype="float32")[0] == "identical"
    assert compare(ca, cb, family="kmeans", dtype="float64")[0].startswith("differs")
    cc = ClusteringResult(loss=1.0, labels=np.array([0, 1, 1]), centers=X[:2])
    assert compare(ca, cc, family="kmeans", dtype="float64")[0] == "same loss"


@pytest.mark.parametrize("expected, verdict, status", [
    ("identical", "identical", "ok"), ("identical", "same loss", "FAIL"), ("same-loss", "same loss", "ok"),
    ("same-loss", "differs by +1%", "FAIL"), ("differs", "differs by +1%", "known"),
    ("differs", "identical", "ok"), ("identical", "invariant violated", "FAIL"),
    ("differs", "invariant violated", "known"),
])
def test_status_of(expected, verdict, status):
    assert status_of(expected, verdict) == status


def test_reports_written_atomically(fake_registry, tmp_path):
    rows = run_validation(CASES, algorithms=["fakealgo"])
    env = {"time": "now", "cpu_model": "cpu", "cpu_count": 1, "python": "3.11",
           "packages": {}, "git": {"commit": "abc"}}
    paths = write_reports(rows, tmp_path / "validation", quick=True, cases=CASES, seconds=1.0, env=env)
    assert [p.name for p in paths] == ["validation-quick.md", "validation-quick.csv", "validation-quick.env.json"]
    assert sorted(p.name for p in (tmp_path / "validation").iterdir()) == sorted(p.name for p in paths)
    md = paths[0].read_text()
    assert "`fakealgo/worse`" in md and "a different algorithm" in md and '"commit": "abc"' in md
    with paths[1].open() as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == len(rows)
    assert {r["status"] for r in table} >= {"ok", "FAIL", "known", "skipped"}
    assert json.loads(paths[2].read_text())["git"]["commit"] == "abc"


def test_cli_exit_codes(fake_registry, tmp_path, monkeypatch, capsys):
    from bench_core.cli import main

    monkeypatch.setattr(agreement, "QUICK_CASES", tuple(CASES[:1]))
    assert main(["validate", "--quick", "-a", "fakealgo", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL fakealgo/worse" in out
    assert (tmp_path / "validation-quick.md").exists()
    assert main(["validate", "--quick", "-a", "fakealgo", "-i", "same", "--no-write"]) == 0
    assert main(["validate", "--quick", "-a", "nosuchalgo", "--no-write"]) == 2
    # a provider module that fails to import hides its entries: the run fails
    monkeypatch.setitem(registry._PROVIDER_ERRORS, "bench_core.adapters.fake", "ImportError: boom")
    assert main(["validate", "--quick", "-a", "fakealgo", "-i", "same", "--no-write"]) == 1
