"""One start: every tool hands the same medoids to an implementation for the same seed."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from bench_core import registry, start
from bench_core.adapters._common import start_medoids
from bench_core.agreement import Case, _Data
from bench_core.algorithms.init import initial_medoids as reference_init
from bench_core.environment import ROOT
from bench_core.result import ClusteringResult
from bench_core.results_io import ResultsFile
from bench_core.runner import GridSpec, run_grid

N, K, SEED = 1000, 10, 0


@pytest.fixture
def scratch_registry(monkeypatch):
    """Entries registered in the test are forgotten after it (the providers loaded first: a
    copy taken before the lazy load left an empty registry to the tests that followed)."""
    registry.load()
    monkeypatch.setattr(registry, "_ENTRIES", dict(registry._ENTRIES))


def test_the_start_is_fixed_sorted_distinct_and_depends_on_n_k_seed():
    a = start.initial_medoids(N, K, SEED)
    assert a.dtype == np.int64 and np.all(np.diff(a) > 0) and a.min() >= 0 and a.max() < N
    assert np.array_equal(a, start.initial_medoids(N, K, SEED))
    assert not np.array_equal(a, start.initial_medoids(N, K, SEED + 1))
    assert not np.array_equal(a[:5], start.initial_medoids(N, 5, SEED))
    # the asv suites' scheme since their first results: generator seeded by [seed, n, k]
    expect = np.sort(np.random.default_rng([SEED, N, K]).choice(N, K, replace=False))
    assert np.array_equal(a, expect)
    with pytest.raises(ValueError, match="1 <= k <= n"):
        start.initial_medoids(5, 6, 0)
    with pytest.raises(ValueError, match="needs the dissimilarity matrix"):
        start.initial_medoids(5, 2, 0, "lab")


def test_every_tool_starts_from_the_same_medoids(tmp_path, monkeypatch, scratch_registry):
    expected = start.initial_medoids(N, K, SEED)
    seen: dict[str, np.ndarray] = {}

    # 1. kmbench run: the medoids handed to a (fake) implementation, and the row's start hash
    def keep(task):
        seen["run"] = np.asarray(task.medoids).copy()
        return ClusteringResult(loss=0.0, labels=np.zeros(task.n, dtype=np.int64), medoids=task.medoids)

    registry.register("zzstart/keep", keep, family="kmedoids")
    rf = ResultsFile(tmp_path / "s.csv")
    run_grid([GridSpec(algorithms=["zzstart"], datasets=["mnist"], ns=[N], ks=[K], seeds=[SEED],
                       silhouette=False)], rf, progress=False, isolate=False, use_cache=False)
    row = rf.load().iloc[0]
    assert row["start"] == start.start_hash(expected)

    # 2. kmbench validate
    seen["validate"] = _Data.start(Case("mnist", N, K, "float64", SEED))

    # 3. the asv suites
    sys.path.insert(0, str(ROOT))
    from suites import common

    seen["asv"] = common.initial_medoids(N, K, SEED)

    # 4. the adapters (no start given: they draw the one start themselves)
    D = np.zeros((N, N))
    seen["adapters"] = start_medoids(registry.Task(k=K, diss=D, seed=SEED), N)[0]

    # 5. the reference functions' own random start, and the torch backend's
    seen["reference"] = reference_init(D, K, "random", random_state=SEED)
    try:
        from bench_core.gpu._device import as_matrix
        from bench_core.gpu.pam import _initial
    except ImportError:
        pass
    else:
        seen["torch"] = _initial(as_matrix(D[:N, :N], device="cpu"), K, "random", SEED)

    for tool, medoids in seen.items():
        assert np.array_equal(np.sort(medoids), expected), tool


def test_seeded_starts_from_the_points_where_the_matrix_does_not_fit(tmp_path, monkeypatch, scratch_registry):
    """k-medoids++ and lab of a points-only implementation: drawn by the runner from the
    points when the n x n matrix does not fit (recorded as such), the same medoids as from
    the matrix; the plan check refuses the grid only for a matrix implementation."""
    from bench_core import dissimilarity, plan_checks
    from bench_core.datasets import get_dataset
    from bench_core.dissimilarity import dissimilarity as matrix_of

    n = 400
    X = get_dataset("mnist", n).X
    D = matrix_of(X)
    for init in ("k-medoids++", "lab"):
        a = start.initial_medoids(n, K, SEED, init, D)
        assert np.array_equal(start.initial_medoids(n, K, SEED, init, X=X), a)
        with pytest.raises(ValueError, match="expected n=401"):
            start.initial_medoids(n + 1, K, SEED, init, X=X)
    with pytest.raises(ValueError, match="needs the dissimilarity matrix$"):
        start.initial_medoids(n, K, SEED, "build", X=X)

    seen = []

    def keep(task):
        assert task.diss is None
        seen.append(np.asarray(task.medoids).copy())
        return ClusteringResult(loss=0.0, labels=np.zeros(task.n, dtype=np.int64), medoids=task.medoids)

    registry.register("zzpoints/keep", keep, family="kmedoids", input="points")
    registry.register("zzpoints/matrix", keep, family="kmedoids", input="diss")
    monkeypatch.setattr(dissimilarity, "available_memory", lambda: 100 * n)   # no n x n matrix fits

    def spec(impl, init):
        return GridSpec(algorithms=["zzpoints"], implementations=[impl], datasets=["mnist"], ns=[n],
                        ks=[K], seeds=[SEED], silhouette=False, init=init)
    assert plan_checks.check_grid([spec("keep", "lab")]) == []
    assert any("GiB" in p for p in plan_checks.check_grid([spec("matrix", "lab")]))
    for init in ("k-medoids++", "lab"):
        rf = ResultsFile(tmp_path / f"{init}.csv")
        run_grid([spec("keep", init)], rf, progress=False, isolate=False, use_cache=False)
        row = rf.load().iloc[0]
        expected = start.initial_medoids(n, K, SEED, init, D)
        assert row["status"] == "ok" and row["init_source"] == "runner (points)"
        assert row["start"] == start.start_hash(expected)
        assert np.array_equal(seen.pop(), expected)
