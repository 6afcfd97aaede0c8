"""The peers of issue 17: biopython, R cluster, ELKI, onebatch and our OneBatchPAM, BanditPAM++.

Each peer is compared with its reference from the same start (or the same seed)
on small MNIST subsets; a peer whose library, R or Java is missing is skipped
with the reason the registry gives. The quick JOSS table runs end to end.
"""

from __future__ import annotations

import importlib
import json
import sys

import numpy as np
import pytest
from conftest import mnist_diss

from bench_core import registry
from bench_core.datasets import load_mnist
from bench_core.invariants import assert_valid
from bench_core.registry import Entry, Task

NEW_PEERS = [
    "alternating/biopython", "pam/r-cluster", "pam/r-cluster-o_1", "pam/r-cluster-o_2", "fastpam1/r-cluster",
    "fastpam2/r-cluster", "fastpam2/r-cluster-f_5", "fasterpam/r-cluster", "build/r-cluster", "clara/r-cluster",
    "pam/elki", "alternating/elki", "clara/elki", "onebatchpam/onebatch", "pam/banditpam-orig",
]


def _entry(name: str) -> Entry:
    e = registry.get(name)
    ok, why = e.availability()
    if not ok:
        pytest.skip(f"{name} unavailable: {why}")
    return e


def _points(n: int) -> np.ndarray:
    X, _ = load_mnist(n)
    return np.ascontiguousarray(X, dtype=np.float64)


def _start(n: int, k: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng([seed, n, k]).choice(n, k, replace=False).astype(np.int64)


def _pair(name: str, ref: str, n: int, k: int, seed: int = 0, *, start: bool = True, points: bool = False,
          dtype: str = "float64", **options):
    """Run ``name`` and ``ref`` on the same task (fresh Task objects: timed regions are per task)."""
    impl, reference = _entry(name), _entry(ref)
    D = mnist_diss(n, dtype)
    X = _points(n) if points or impl.input != "diss" else None
    med = _start(n, k, seed) if start else None

    def task() -> Task:
        return Task(k=k, diss=None if impl.input == "points" else D, X=X, medoids=med, seed=seed,
                    options=dict(options))

    t_impl = task()
    res = impl(t_impl)
    rref = reference(task())
    assert_valid(res, t_impl, name)
    return res, rref, t_impl


def _same_medoids(a, b) -> bool:
    return np.array_equal(np.sort(a.medoids), np.sort(b.medoids))


def test_new_peers_registered_with_reference_note_and_provider():
    for name in NEW_PEERS:
        e = registry.get(name)
        assert e.reference is not None and e.reference in registry.names(), name
        assert e.agreement in ("identical", "same-loss", "differs") and e.note, name
    for mod in ("bench_core.adapters.biopython", "bench_core.adapters.r_cluster", "bench_core.adapters.elki",
                "bench_core.adapters.onebatch"):
        assert mod in registry.PROVIDERS
        assert mod not in registry.provider_errors()


def test_missing_runtime_is_unavailable_with_reason_not_an_error(monkeypatch):
    """Without Rscript / java on PATH the entries are listed as unavailable, with the reason."""
    from bench_core.adapters import _runtime

    def clear():
        _runtime.r_cluster_status.cache_clear()
        _runtime.elki_status.cache_clear()
        for mod in ("bench_core.adapters._need_r", "bench_core.adapters._need_elki"):
            sys.modules.pop(mod, None)

    monkeypatch.setenv("PATH", "/nonexistent")
    clear()
    try:
        ok_r, why_r = _runtime.r_cluster_status()
        ok_e, why_e = _runtime.elki_status()
        assert not ok_r and "Rscript" in why_r
        assert not ok_e and "java" in why_e
        for mod in ("bench_core.adapters._need_r", "bench_core.adapters._need_elki"):
            with pytest.raises(ImportError, match="not found on PATH"):
                importlib.import_module(mod)
    finally:
        monkeypatch.undo()
        clear()


# --------------------------------------------------------------------- biopython

@pytest.mark.parametrize("n,k,seed", [(300, 5, 0), (500, 10, 1)])
def test_biopython_alternating_matches_reference_from_same_start(n, k, seed):
    res, ref, _ = _pair("alternating/biopython", "alternating/reference", n, k, seed)
    assert _same_medoids(res, ref)
    assert res.loss == pytest.approx(ref.loss, rel=1e-12)
    assert res.extras["library_loss"] == pytest.approx(ref.loss, rel=1e-9)


def test_biopython_breaks_medoid_ties_by_lowest_index():
    """The one documented difference (hence ``agreement="differs"``): in a cluster of two
    points both have the same total distance; Biopython takes the lower index, the reference
    (like kmedoids) keeps the current medoid. Same loss here, different medoids."""
    x = np.array([0.0, 1.0, 10.0, 11.0])
    D = np.abs(x[:, None] - x[None, :])
    start = np.array([1, 3])
    task = lambda: Task(k=2, diss=D, medoids=start, seed=0)  # noqa: E731
    bio = _entry("alternating/biopython")(task())
    ref = _entry("alternating/reference")(task())
    assert sorted(ref.medoids.tolist()) == [1, 3]        # kept
    assert sorted(bio.medoids.tolist()) == [0, 2]        # lowest index of each tied pair
    assert bio.loss == ref.loss == 2.0
    assert registry.get("alternating/biopython").agreement == "differs"


# ----------------------------------------------------------------------- R cluster

@pytest.mark.parametrize("name,ref", [
    ("pam/r-cluster", "pam/reference"), ("pam/r-cluster-o_1", "pam/reference"),
    ("pam/r-cluster-o_2", "pam/reference"), ("fastpam1/r-cluster", "fastpam1/reference"),
    ("fasterpam/r-cluster", "fasterpam/reference"),
])
def test_r_cluster_pam_variants_match_reference(name, ref):
    res, rref, task = _pair(name, ref, 300, 5, 2)
    assert _same_medoids(res, rref)
    assert res.loss == pytest.approx(rref.loss, rel=1e-12)
    # pam's objective is the average dissimilarity; time measured inside R, wall time beside it
    assert res.extras["library_loss"] == pytest.approx(rref.loss, rel=1e-9)
    assert 0 < task.timed_seconds < res.extras["wall_seconds"]


def test_r_cluster_float32_matrix_and_build():
    res, rref, _ = _pair("build/r-cluster", "build/reference", 300, 5, start=False, dtype="float32")
    assert _same_medoids(res, rref)


def test_r_cluster_fastpam2_reaches_a_local_optimum_close_to_fastpam1():
    res, rref, _ = _pair("fastpam2/r-cluster", "fastpam1/reference", 300, 5, 3)
    assert res.loss <= rref.loss * 1.02


def test_r_cluster_own_build_when_init_is_build():
    e = _entry("pam/r-cluster")
    D = mnist_diss(200)
    task = Task(k=4, diss=D, options={"init": "build"})
    res = e(task)
    ref = _entry("pam/reference")(Task(k=4, diss=D, options={"init": "build"}))
    assert res.extras["init"] == "BUILD (cluster)"
    assert _same_medoids(res, ref)


def test_r_cluster_clara_is_seeded():
    e = _entry("clara/r-cluster")
    X = _points(400)
    a, b = e(Task(k=5, X=X, seed=7)), e(Task(k=5, X=X, seed=7))
    assert np.array_equal(a.medoids, b.medoids)
    assert_valid(a, Task(k=5, X=X, seed=7), "clara/r-cluster")


def test_r_failure_is_a_clear_error():
    from bench_core.adapters import r_cluster

    _entry("pam/r-cluster")
    with pytest.raises(RuntimeError, match="Rscript failed"):
        r_cluster.run_r("pam", {"n": 3, "k": 9, "size": 8, "variant": "original", "medoids": ""},
                        lambda path: np.zeros(3).tofile(path))


# ---------------------------------------------------------------------------- ELKI

def test_elki_pam_matches_reference_from_same_start():
    res, rref, task = _pair("pam/elki", "pam/reference", 300, 5, 4, points=True)
    assert _same_medoids(res, rref)
    assert res.loss == pytest.approx(rref.loss, rel=1e-12)
    assert res.extras["library_loss"] == pytest.approx(rref.loss, rel=1e-9)
    assert task.timed_seconds < res.extras["wall_seconds"]


def test_elki_reads_our_matrix_in_its_on_disk_format():
    """options elki_input='matrix' (and tasks without points): ELKI reads the task's own float32 matrix."""
    impl, ref = _entry("pam/elki"), _entry("pam/reference")
    D = mnist_diss(250, "float32")
    med = _start(250, 4, 5)
    task = Task(k=4, diss=D, medoids=med, options={"elki_input": "matrix"})
    res = impl(task)
    rref = ref(Task(k=4, diss=D, medoids=med))
    assert_valid(res, task, "pam/elki")
    assert _same_medoids(res, rref)
    assert "matrix" in res.extras["distances"]
    assert _same_medoids(impl(Task(k=4, diss=D, medoids=med)), rref)  # no points: the matrix route too


def test_elki_alternating_is_a_valid_nearby_local_optimum():
    res, rref, _ = _pair("alternating/elki", "alternating/reference", 300, 5, 4, points=True)
    assert abs(res.loss / rref.loss - 1) < 0.05


def test_elki_refuses_other_metrics():
    e = _entry("pam/elki")
    with pytest.raises(ValueError, match="euclidean"):
        e(Task(k=3, X=_points(50), diss=mnist_diss(50), metric="manhattan", medoids=np.arange(3)))


# ---------------------------------------------------------------------- OneBatchPAM

@pytest.mark.parametrize("n,k,dtype", [(1500, 10, "float64"), (1200, 5, "float32")])
def test_onebatchpam_reference_reproduces_onebatch_from_same_seed(n, k, dtype):
    impl, ref = _entry("onebatchpam/onebatch"), _entry("onebatchpam/reference")
    X = _points(n).astype(dtype)
    for seed in (0, 1, 2):
        a, b = impl(Task(k=k, X=X, seed=seed)), ref(Task(k=k, X=X, seed=seed))
        assert np.array_equal(a.medoids, b.medoids), seed  # same order too: the same swaps
        assert a.loss == b.loss
        assert a.extras["batch_size"] == b.extras["batch_size"] < n
        assert b.extras["distance_computations"] == n * b.extras["batch_size"]
        assert a.extras["batch_loss"] == pytest.approx(b.extras["batch_loss"], rel=1e-6)


def test_onebatchpam_distance_kernels_agree_with_scikit_learn():
    from sklearn.metrics import pairwise_distances

    from bench_core.algorithms import _onebatchpam
    from bench_core.algorithms.onebatchpam import batch_distances

    X = _points(400)
    batch = np.random.default_rng(0).choice(400, 60, replace=False).astype(np.intp)
    for dtype in (np.float64, np.float32):
        Xd = X.astype(dtype)
        blas, direct = np.empty((400, 60), np.float32), np.empty((400, 60), np.float32)
        assert batch_distances(Xd, batch, "euclidean", blas) == 400 * 60
        _onebatchpam.batch_distances(Xd, batch, _onebatchpam.METRIC_CODES["euclidean"], direct)
        expected = pairwise_distances(Xd, Xd[batch]).astype(np.float32)
        np.testing.assert_array_equal(blas, expected)
        np.testing.assert_array_equal(direct, expected)
    man = np.empty((400, 60), np.float32)
    batch_distances(X, batch, "manhattan", man)
    np.testing.assert_allclose(man, pairwise_distances(X, X[batch], metric="manhattan"), rtol=1e-6)


def test_onebatchpam_quality_close_to_fasterpam():
    from bench_core.algorithms.onebatchpam import onebatchpam

    X = _points(1500)
    D = mnist_diss(1500)
    fp = _entry("fasterpam/reference")(Task(k=10, diss=D, medoids=_start(1500, 10)))
    ob = onebatchpam(X, 10, random_state=0)
    assert ob.loss < fp.loss * 1.05
    assert ob.extras["distance_computations"] < 1500 * 1500 / 1.4


def test_onebatchpam_bad_input_is_refused():
    from bench_core.algorithms.onebatchpam import onebatchpam

    X = _points(50)
    with pytest.raises(ValueError, match="metric"):
        onebatchpam(X, 3, "chebyshev")
    with pytest.raises(ValueError, match="tol"):
        onebatchpam(X, 3, tol=-1)
    with pytest.raises(ValueError):
        onebatchpam(X, 60)


# ---------------------------------------------------------------------- BanditPAM++

def test_banditpam_plus_plus_and_original_both_run():
    D = mnist_diss(300)
    for name in ("pam/banditpam", "pam/banditpam-orig"):
        e = _entry(name)
        task = Task(k=5, diss=D, seed=0)
        res = e(task)
        assert_valid(res, task, name)
        assert res.extras["algorithm"] == ("BanditPAM" if name == "pam/banditpam" else "BanditPAM_orig")


# ------------------------------------------------------------------ the JOSS table

def test_joss_paper_table_ratios():
    import pandas as pd

    from bench_core.report.tables import JOSS_PAPER_TABLE1, joss_paper_tables

    rows = []
    for entry, fit, loss in (("fasterpam/kmedoids", 0.01, 100.0), ("pam/elki", 0.5, 100.5),
                             ("onebatchpam/reference", 0.04, 101.0)):
        a, _, i = entry.partition("/")
        rows.append({"entry": entry, "algorithm": a, "implementation": i, "family": "kmedoids", "status": "ok",
                     "dataset": "mnist", "n": 1000, "k": 10, "dtype": "float64", "metric": "euclidean",
                     "fit_time": fit, "loss": loss, "language": "x", "silhouette": None,
                     "medoid_silhouette": None, "extra_rss_mb": None, "peak_rss_mb": None, "diss_time": None})
    (table,) = joss_paper_tables(pd.DataFrame(rows), "caption")
    by_entry = {r[5]: r for r in table.rows}
    assert by_entry["fasterpam/kmedoids"][8] == "1×"
    assert by_entry["pam/elki"][8] == "50×" and by_entry["pam/elki"][9] == "1.0050"
    assert by_entry["pam/elki"][3] == f"{787.55 / 5.53:.3g}×"
    assert by_entry["onebatchpam/reference"][8] == "4×"
    assert len(table.rows) == len(JOSS_PAPER_TABLE1) + 1
    assert any("MNIST *test*" in note for note in table.notes)


def test_reproduce_joss_table_quick(tmp_path):
    """`kmbench reproduce joss-table --quick` end to end (unavailable peers are rows, not failures)."""
    pytest.importorskip("kmedoids")
    from bench_core.experiments.presets import reproduce_joss

    out = reproduce_joss("joss-table-quick", progress=False, out_dir=tmp_path / "report",
                         results_dir=tmp_path / "runs", log=lambda *a: None)
    md = (out / "index.md").read_text()
    assert "JOSS Table 1 beside ours" in md and "n = 2,000" in md
    prov = json.loads((out / "provenance.json").read_text())
    assert any(t.startswith("joss-paper-mnist-n2000-k10") for t in prov["tables"])
    import pandas as pd

    df = pd.read_csv(tmp_path / "runs" / "joss-table-quick.csv")
    assert set(df["status"]) <= {"ok", "skipped", "unavailable", "timeout"}
    assert (df.loc[df["entry"] == "fasterpam/kmedoids", "status"] == "ok").all()
    for name in NEW_PEERS:
        e = registry.get(name)
        if e.available and e.algorithm in ("pam", "alternating", "fasterpam", "fastpam1", "onebatchpam") \
                and name not in ("pam/banditpam-orig", "pam/r-cluster-o_1", "pam/r-cluster-o_2"):
            assert (df["entry"] == name).any(), name


def test_reproduce_quick_flag_needs_a_quick_variant(capsys):
    from bench_core.cli import main

    assert main(["reproduce", "kselect", "--quick"]) == 2
    assert "has no --quick grid" in capsys.readouterr().err
