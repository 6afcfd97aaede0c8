"""kmbench run: grid expansion, isolated execution, time limits, budgets, atomic appends, resume."""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
import pytest

from bench_core import registry
from bench_core.algorithms.assignment import assign
from bench_core.result import ClusteringResult
from bench_core.results_io import ResultsFile, columns
from bench_core.runner import GridSpec, expand, parse_dataset, quality, run_grid


def _keep_start(task: registry.Task) -> ClusteringResult:
    """A fake 'algorithm' that returns its start: exposes what start the runner handed over."""
    medoids = np.asarray(task.medoids, dtype=np.int64)
    labels, loss = assign(task.diss, medoids)
    return ClusteringResult(loss=loss, labels=labels, medoids=medoids, n_iter=1, converged=True,
                            extras={"init_time": 0.0})


def _slow(task):
    time.sleep(float(task.options.get("sleep", 60)))
    return _keep_start(task)


def _raises(task):
    raise RuntimeError("deliberate failure")


def _crash(task):
    os._exit(3)


def _hungry(task):
    block = np.ones(200 * 2**20 // 8)  # 200 MiB, touched
    res = _keep_start(task)
    res.extras["checksum"] = float(block[::4096].sum())
    return res


@pytest.fixture
def fake_registry(monkeypatch):
    """A registry holding only fake entries (the real providers are not loaded)."""
    monkeypatch.setattr(registry, "_ENTRIES", {})
    monkeypatch.setattr(registry, "_ALGORITHMS", {})
    monkeypatch.setattr(registry, "_LOADED", True)
    registry.register_algorithm("pam", default_init="build")  # as the reference provider declares it
    for name, func in (("fakepam/keep", _keep_start), ("fakepam/copy", _keep_start), ("fakepam/slow", _slow),
                       ("fakepam/raises", _raises), ("fakepam/crash", _crash), ("fakepam/hungry", _hungry),
                       ("pam/keepbuild", _keep_start)):
        registry.register(name, func, family="kmedoids", language="Python", version=lambda: "1.0")
    registry.register("fakepam/missing", _keep_start, family="kmedoids", requires=("no_such_module_xyz",))
    return registry


def _spec(**kw) -> GridSpec:
    base = dict(algorithms=["fakepam"], implementations=["keep", "copy"], datasets=["blobs:k=3,d=2"], ns=[40],
                ks=[3], seeds=[0, 1], time_limit=30.0)
    return GridSpec(**(base | kw))


def _run(spec, path, **kw):
    return run_grid([spec] if isinstance(spec, GridSpec) else spec, ResultsFile(path), progress=False,
                    use_cache=False, **kw)


def test_parse_dataset():
    assert parse_dataset("blobs:k=5,d=2,spread=0.5") == ("blobs", {"k": 5, "d": 2, "spread": 0.5})
    assert parse_dataset("mnist") == ("mnist", {})
    assert parse_dataset("file:/a:b.csv") == ("file:/a:b.csv", {})
    with pytest.raises(ValueError, match="key=value"):
        parse_dataset("blobs:k")


def test_parse_seeds():
    from bench_core.cli.run import parse_seeds

    assert parse_seeds("3") == [0, 1, 2]
    assert parse_seeds("2-4") == [2, 3, 4]
    assert parse_seeds("0,7") == [0, 7]


def test_expand_is_the_cartesian_product(fake_registry):
    spec = _spec(ns=[40, 80], ks=[2, 3, 4], seeds=[0, 1, 2], dtypes=["float64", "float32"])
    plan = expand([spec])
    assert len(plan) == 2 * 2 * 3 * 3 * 2  # impls x n x k x seeds x dtypes
    assert len(set(plan)) == len(plan)
    assert {r.entry for r in plan} == {"fakepam/keep", "fakepam/copy"}
    assert {(r.n, r.k, r.seed, r.dtype) for r in plan} == {
        (n, k, s, d) for n in (40, 80) for k in (2, 3, 4) for s in (0, 1, 2) for d in ("float64", "float32")}
    # patterns, exclusion, full names, and PAM's BUILD default
    assert {r.entry for r in expand([_spec(implementations=["all"], exclude=["*/slow", "*/crash"])])} == {
        "fakepam/keep", "fakepam/copy", "fakepam/raises", "fakepam/hungry", "fakepam/missing"}
    inits = {r.entry: r.init for r in expand([_spec(algorithms=["fakepam", "pam"], implementations=["keep*"])])}
    assert inits == {"fakepam/keep": "random", "pam/keepbuild": "build"}
    with pytest.raises(ValueError, match="no registered implementation"):
        expand([_spec(algorithms=["nothing"])])


def test_rows_are_complete_and_share_the_start(fake_registry, tmp_path):
    summary = _run(_spec(seeds=[0, 1, 2]), tmp_path / "r.csv")
    assert summary.counts == {"ok": 6}
    rf = ResultsFile(tmp_path / "r.csv")
    df = rf.load()
    assert list(df.columns) == list(columns())  # the harness's columns, then every registered metric
    assert (df["status"] == "ok").all()
    # same start for every implementation of a seed, different starts across seeds
    by_seed = df.groupby("seed")["medoids"].agg(set)
    assert all(len(s) == 1 for s in by_seed)
    assert len({next(iter(s)) for s in by_seed}) == 3
    # the loss in the row is the loss of the medoids in the row
    from bench_core.datasets import get_dataset
    from bench_core.dissimilarity import dissimilarity

    ds = get_dataset("blobs", 40, seed=0, k=3, d=2)
    D = dissimilarity(ds.X)
    for med, loss in zip(df["medoids"], df["loss"], strict=True):
        assert loss == pytest.approx(assign(D, np.array(med.split(), dtype=np.int64))[1], rel=1e-12)
    assert (df["dataset_checksum"] == ds.checksum).all()
    assert (df["impl_version"] == "1.0").all()
    assert (df["fit_time"] > 0).all() and (df["diss_time"] > 0).all()
    assert df["silhouette"].between(-1, 1).all() and df["medoid_silhouette"].between(-1, 1).all()
    # the environment is stored once and referenced
    meta = rf.read_meta()
    assert set(df["env_id"]) == set(meta["environments"]) and len(meta["environments"]) == 1
    assert meta["environments"][df["env_id"][0]]["cpu_count"] == os.cpu_count()


def test_time_limit_kills_and_skips_the_rest(fake_registry, tmp_path):
    spec = _spec(implementations=["slow", "keep"], ns=[30, 40], seeds=[0, 1], time_limit=1.0)
    t0 = time.perf_counter()
    _run(spec, tmp_path / "t.csv")
    assert time.perf_counter() - t0 < 60  # the 60 s sleeper was killed at 1 s, the rest skipped
    df = ResultsFile(tmp_path / "t.csv").load()
    slow = df[df["entry"] == "fakepam/slow"].set_index(["n", "seed"])
    assert slow.loc[(30, 0), "status"] == "timeout"
    assert slow.loc[(30, 1), "status"] == "skipped" and "time limit" in slow.loc[(30, 1), "error"]
    assert slow.loc[(40, 0), "status"] == "skipped" and "smaller n=30" in slow.loc[(40, 0), "error"]
    assert (df.loc[df["entry"] == "fakepam/keep", "status"] == "ok").all()


def test_errors_and_crashes_become_rows(fake_registry, tmp_path):
    _run(_spec(implementations=["raises", "crash", "missing", "keep"], seeds=[0]), tmp_path / "e.csv")
    df = ResultsFile(tmp_path / "e.csv").load().set_index("entry")
    assert df.loc["fakepam/raises", "status"] == "error"
    assert "deliberate failure" in df.loc["fakepam/raises", "error"]
    assert df.loc["fakepam/crash", "status"] == "error" and "worker died" in df.loc["fakepam/crash", "error"]
    assert df.loc["fakepam/missing", "status"] == "unavailable"
    assert "no_such_module_xyz" in df.loc["fakepam/missing", "error"]
    assert df.loc["fakepam/keep", "status"] == "ok"


def test_restart_budget_marks_skipped(fake_registry, tmp_path):
    spec = _spec(implementations=["slow"], seeds=[0, 1, 2, 3], options={"sleep": 0.3}, restart_budget=0.5)
    _run(spec, tmp_path / "b.csv")
    df = ResultsFile(tmp_path / "b.csv").load()
    assert list(df["status"]) == ["ok", "ok", "skipped", "skipped"]
    assert df["error"].iloc[-1].startswith("restart budget of 0.5 s")


def test_peak_memory_sees_the_allocation(fake_registry, tmp_path):
    _run(_spec(implementations=["hungry", "keep"], seeds=[0]), tmp_path / "m.csv")
    df = ResultsFile(tmp_path / "m.csv").load().set_index("entry")
    assert df.loc["fakepam/hungry", "extra_rss_mb"] > 150
    assert df.loc["fakepam/keep", "extra_rss_mb"] < 50
    assert df.loc["fakepam/hungry", "peak_rss_mb"] >= df.loc["fakepam/hungry", "extra_rss_mb"]


def test_interrupt_keeps_rows_and_resume_finishes(fake_registry, tmp_path):
    path = tmp_path / "i.csv"
    spec = _spec(seeds=[0, 1, 2, 3])
    seen = []

    def stop_after_three(row):
        seen.append(row["run_id"])
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(spec, path, on_row=stop_after_three)
    first = ResultsFile(path).load()
    assert list(first["run_id"]) == seen
    with pytest.raises(FileExistsError, match="--resume"):
        _run(spec, path)
    summary = _run(spec, path, resume=True)
    assert summary.resumed == 3 and summary.counts == {"ok": 5}
    df = ResultsFile(path).load(latest=False)
    assert len(df) == 8 and df["run_id"].is_unique
    assert list(df["run_id"][:3]) == seen
    assert _run(spec, path, resume=True).counts == {}


def test_torn_line_is_dropped_and_repaired(fake_registry, tmp_path):
    path = tmp_path / "torn.csv"
    _run(_spec(seeds=[0]), path)
    with open(path, "ab") as fh:
        fh.write(b"deadbeef,ok,,fakepam/keep,fake")  # a crash in the middle of a write
    rf = ResultsFile(path)
    with pytest.warns(RuntimeWarning, match="torn last line"):
        assert len(rf.load()) == 2
    with pytest.warns(RuntimeWarning, match="removing a torn last line"):
        rf.append({"run_id": "abc", "status": "error", "error": 'with "quotes", commas\nand a newline'})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = rf.load()
    assert len(df) == 3 and df["error"].iloc[-1] == 'with "quotes", commas\nand a newline'
    with pytest.raises(ValueError, match="unknown result columns"):
        rf.append({"nonsense": 1})


def test_in_process_mode_gives_the_same_rows(fake_registry, tmp_path):
    _run(_spec(), tmp_path / "a.csv")
    _run(_spec(), tmp_path / "b.csv", isolate=False)
    a, b = ResultsFile(tmp_path / "a.csv").load(), ResultsFile(tmp_path / "b.csv").load()
    assert list(a["run_id"]) == list(b["run_id"])
    assert list(a["loss"]) == list(b["loss"]) and list(a["medoids"]) == list(b["medoids"])


def test_quality_matches_sklearn_and_brute_force(rng):
    from sklearn.metrics import silhouette_score

    X = rng.normal(size=(50, 3))
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    medoids = np.array([0, 10, 20])
    labels, _ = assign(D, medoids)
    sil, msil, note = quality(D, labels, medoids, max_n=1000)
    assert sil == pytest.approx(silhouette_score(D, labels, metric="precomputed"), rel=1e-10)
    d = np.sort(D[medoids], axis=0)
    assert msil == pytest.approx(np.mean(1 - d[0] / d[1]), rel=1e-12)
    assert note == ""
    sil, msil, note = quality(D, labels, medoids, max_n=10)
    assert sil is None and "n=50 > 10" in note and msil is not None


def test_every_run_of_a_group_that_fails_to_load_says_why(tmp_path):
    """A data set that cannot be loaded gives each of its runs the loader's error (it was
    an AttributeError on None for every run after the first)."""
    from bench_core.datasets import clustbench

    (tmp_path / "suite" / "toy").mkdir(parents=True)
    clustbench.set_data_dir(tmp_path / "suite")
    try:
        spec = GridSpec(algorithms=["fasterpam", "alternating"], implementations=["reference"],
                        datasets=["clustbench:toy/absent"], ns=[10], ks=[2], seeds=[0, 1], time_limit=60.0)
        out = ResultsFile(tmp_path / "r.csv")
        summary = run_grid([spec], out, progress=False)
        rows = out.load()
        assert summary.counts == {"error": 4}
        assert rows["error"].str.contains("FileNotFoundError").all(), rows["error"].tolist()
    finally:
        clustbench.set_data_dir(None)


def test_pools_are_pinned_in_the_parent_before_the_fork():
    """The BLAS/OpenMP limits are set in the process that forks (set in a forked worker,
    OpenBLAS's set_num_threads slowed the fits that followed); the worker inherits them."""
    from threadpoolctl import threadpool_info

    from bench_core.runner import measure

    measure.pin_pools(1)
    assert measure._POOLS["n"] == 1
    assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
    task = registry.Task(k=2, diss=np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.5], [2.0, 1.5, 0.0]]), seed=0,
                         medoids=np.array([0, 2]))
    entry = next(e for e in registry.entries() if e.name == "fasterpam/reference")
    status, out = measure.execute_isolated(entry, task, 60.0)
    assert status == "ok" and out["loss"] == 1.0
