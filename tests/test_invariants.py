"""The invariant checker: valid results pass, each kind of broken result is caught by name."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import random_diss

from bench_core.invariants import (
    InvariantViolation,
    assert_valid,
    check,
    medoid_silhouette_oracle,
    silhouette_oracle,
)
from bench_core.registry import Task
from bench_core.result import ClusteringResult


def _valid(D: np.ndarray, med) -> ClusteringResult:
    med = np.asarray(med, dtype=np.int64)
    labels = np.argmin(D[med], axis=0).astype(np.int64)
    return ClusteringResult(loss=float(D[med].min(axis=0).sum()), labels=labels, medoids=med)


@pytest.fixture
def problem():
    D = random_diss(30, 1)
    return D, Task(k=3, diss=D), _valid(D, [4, 11, 20])


def test_valid_result_passes(problem):
    D, task, res = problem
    rep = assert_valid(res, task, "pam/test")
    assert rep.ok and rep.n_nonempty == 3
    assert rep.recomputed_loss == pytest.approx(res.loss)


def _broken(res: ClusteringResult, **changes) -> ClusteringResult:
    return dataclasses.replace(res, **changes)


@pytest.mark.parametrize("what, make, message", [
    ("repeated medoid", lambda D, r: _broken(r, medoids=np.array([4, 4, 20])), "repeated medoids"),
    ("out of range", lambda D, r: _broken(r, medoids=np.array([4, 11, 30])), "out of range"),
    ("wrong k", lambda D, r: _valid(D, [4, 11]), "2 medoids for k = 3"),
    ("loss", lambda D, r: _broken(r, loss=r.loss * 1.001), "reported loss"),
    ("labels range", lambda D, r: _broken(r, labels=np.where(np.arange(30) == 0, 3, r.labels)), "outside 0..2"),
    ("labels length", lambda D, r: _broken(r, labels=r.labels[:-1]), "shape"),
    ("float labels", lambda D, r: _broken(r, labels=r.labels.astype(float)), "integers"),
])
def test_broken_results_are_caught(problem, what, make, message):
    D, task, res = problem
    rep = check(make(D, res), task, "pam/broken")
    assert not rep.ok, what
    assert any(message in v for v in rep.violations), rep.violations
    with pytest.raises(InvariantViolation, match="pam/broken"):
        assert_valid(make(D, res), task, "pam/broken")


def test_point_not_at_nearest_medoid_is_caught(problem):
    D, task, res = problem
    labels = res.labels.copy()
    i = next(i for i in range(30) if i not in res.medoids)
    labels[i] = (labels[i] + 1) % 3
    bad = ClusteringResult(loss=float(D[res.medoids[labels], np.arange(30)].sum()), labels=labels,
                           medoids=res.medoids)
    rep = check(bad, task, "pam/x")
    assert any("nearest medoid" in v for v in rep.violations)


def test_medoid_in_foreign_cluster_is_caught(problem):
    D, task, res = problem
    # swap the label numbers: every medoid now sits in another medoid's cluster
    bad = _broken(res, labels=(res.labels + 1) % 3)
    rep = check(bad, task, "pam/x")
    assert any("own cluster" in v for v in rep.violations)


def test_zero_distance_twin_medoid_is_a_tie_not_a_violation():
    D = np.array(random_diss(10, 3))
    D[2, :] = D[5, :]
    D[:, 2] = D[:, 5]
    D[2, 2] = D[5, 5] = D[2, 5] = D[5, 2] = 0.0
    med = np.array([2, 5, 8])
    labels = np.argmin(D[med], axis=0)  # point 5 goes to medoid 2 (tie, first listed)
    assert labels[5] == 0
    res = ClusteringResult(loss=float(D[med].min(axis=0).sum()), labels=labels.astype(np.int64), medoids=med)
    rep = check(res, Task(k=3, diss=D), "pam/twins")
    assert not any("own cluster" in v for v in rep.violations)
    assert any("empty" in v for v in rep.violations)  # cluster 1 has no point: reported


def test_centre_results():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    C = X[[0, 1, 2]].copy()
    lab = np.argmin(((X[:, None, :] - C[None]) ** 2).sum(-1), axis=1)
    loss = float(((X - C[lab]) ** 2).sum())
    task = Task(k=3, X=X)
    ok = ClusteringResult(loss=loss, labels=lab.astype(np.int64), centers=C)
    assert check(ok, task, "kmeans/test").ok
    far = ClusteringResult(loss=loss, labels=((lab + 1) % 3).astype(np.int64), centers=C)
    assert any("nearest centre" in v for v in check(far, task, "kmeans/test").violations)
    nan = ClusteringResult(loss=loss, labels=lab.astype(np.int64), centers=np.full((3, 2), np.nan))
    assert not check(nan, task, "kmeans/test").ok
    fewer = ClusteringResult(loss=loss, labels=np.zeros(50, dtype=np.int64), centers=C[:1])
    assert any("1 centres for k = 3" in v for v in check(fewer, task, "kmeans/test").violations)
    # k-median: the L1 objective, and the library's assignment metric when it says so
    l1 = float(np.abs(X - C[lab]).sum())
    sq = ClusteringResult(loss=l1, labels=lab.astype(np.int64), centers=C,
                          extras={"assign_metric": "sqeuclidean", "objective": "manhattan"})
    assert check(sq, task, "kmedian/test").ok
    assert not check(dataclasses.replace(sq, loss=loss), task, "kmedian/test").ok


def test_msc_and_silhouette_objectives():
    D = random_diss(40, 5)
    med = np.array([1, 9, 22])
    res = _valid(D, med)
    ms = medoid_silhouette_oracle(D[med])
    ok = dataclasses.replace(res, loss=1 - ms)
    assert check(ok, Task(k=3, diss=D), "fastmsc/x", family="msc", algorithm="fastmsc").ok
    wrong = dataclasses.replace(res, loss=ms)  # the kmedoids package's convention: not ours
    assert not check(wrong, Task(k=3, diss=D), "fastmsc/x", family="msc", algorithm="fastmsc").ok
    sil = dataclasses.replace(res, loss=silhouette_oracle(D, res.labels))
    assert check(sil, Task(k=3, diss=D), "silhouette/x", family="silhouette", algorithm="silhouette").ok


def test_oracles_agree_with_external_libraries():
    from sklearn.metrics import silhouette_score

    D = random_diss(60, 6)
    labels = np.random.default_rng(1).integers(0, 4, 60)
    labels[7] = 4  # a singleton cluster (scores 0)
    assert silhouette_oracle(D, labels) == pytest.approx(silhouette_score(D, labels, metric="precomputed"),
                                                         rel=1e-12)
    kmedoids = pytest.importorskip("kmedoids")
    med = np.array([3, 17, 40, 55])
    assert medoid_silhouette_oracle(D[med]) == pytest.approx(
        kmedoids.medoid_silhouette(D, med.astype(np.uintp))[0], rel=1e-12)


def test_unknown_shape_is_reported_not_raised():
    rep = check(ClusteringResult(loss=0.0, labels=np.zeros(3, dtype=np.int64)), Task(k=1, diss=random_diss(3)),
                "x/y")
    assert not rep.ok and "neither medoids nor centres" in rep.violations[0]
