"""k-median: median oracles, brute-force Lloyd, pyclustering (Python mode) agreement, inputs."""

from __future__ import annotations

import numpy as np
import pytest
from bench_core.algorithms._kmedian import median_1d, weighted_median_1d

from bench_core.algorithms.kmedian import kmedian
from bench_core.datasets import get_dataset, load_mnist


def _lower_weighted_median(a, w):
    """Oracle: smallest value whose cumulative weight reaches half the total."""
    if w.sum() == 0:
        return a.min()
    vals = np.unique(a)
    cum = np.array([w[a <= v].sum() for v in vals])
    return vals[np.argmax(cum >= w.sum() / 2)]


def test_median_by_selection_matches_numpy():
    rng = np.random.default_rng(0)
    for _ in range(500):
        m = int(rng.integers(1, 40))
        a = rng.integers(0, 6, m).astype(float) if rng.random() < 0.5 else rng.standard_normal(m)
        assert median_1d(a.copy()) == np.median(a)


def test_weighted_median_against_brute_force_oracle():
    rng = np.random.default_rng(1)
    for _ in range(500):
        m = int(rng.integers(1, 30))
        a = rng.integers(0, 5, m).astype(float)
        w = rng.integers(0, 4, m).astype(float) if rng.random() < 0.5 else rng.random(m)
        assert weighted_median_1d(a.copy(), w.copy()) == _lower_weighted_median(a, w)


def test_weighted_median_tie_rule_is_lower():
    # weights 1,1 on 1 and 3: W(<= 1) = 1 = half the total, so the lower value 1
    assert weighted_median_1d(np.array([3.0, 1.0]), np.array([1.0, 1.0])) == 1.0
    # unweighted uses the midpoint
    assert median_1d(np.array([3.0, 1.0])) == 2.0


def _brute_kmedian(X, C, iters, w=None):
    w = np.ones(len(X)) if w is None else w
    lab = None
    for _ in range(iters):
        d = np.abs(X[:, None, :] - C[None, :, :]).sum(-1)
        new = d.argmin(1)
        if lab is not None and (new == lab).all():
            break
        lab = new
        for j in range(len(C)):
            idx = lab == j
            if idx.any():
                if w is None or np.all(w == 1):
                    C[j] = np.median(X[idx], axis=0)
                else:
                    C[j] = [_lower_weighted_median(X[idx, t], w[idx]) for t in range(X.shape[1])]
    d = np.abs(X[:, None, :] - C[None, :, :]).sum(-1)
    return d.argmin(1), (w * d.min(1)).sum(), C


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("weighted", [False, True])
def test_tiny_against_brute_force(seed, weighted):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, 3)) + rng.integers(0, 3, (40, 1)) * 4
    w = rng.uniform(0.1, 3.0, 40) if weighted else None
    C0 = X[:3].copy()
    lab, loss, C = _brute_kmedian(X, C0.copy(), 100, w)
    r = kmedian(X, 3, init=C0, weights=w)
    assert r.converged
    np.testing.assert_array_equal(r.labels, lab)
    np.testing.assert_allclose(r.centers, C)
    assert r.loss == pytest.approx(loss, rel=1e-12)


def test_agrees_with_pyclustering_python_mode():
    from pyclustering.cluster.kmedians import kmedians
    from pyclustering.utils.metric import distance_metric, type_metric

    ds = get_dataset("blobs", 150, seed=2, k=3, d=3, spread=1.5)
    C0 = ds.X[[0, 50, 100]]
    pc = kmedians(ds.X.tolist(), C0.tolist(), tolerance=0.0, ccore=False,
                  metric=distance_metric(type_metric.MANHATTAN))
    pc.process()
    lab = np.empty(150, dtype=np.int64)
    for j, members in enumerate(pc.get_clusters()):
        lab[members] = j
    r = kmedian(ds.X, 3, init=C0)
    np.testing.assert_array_equal(r.labels, lab)
    np.testing.assert_allclose(r.centers, np.array(pc.get_medians()))


def test_objective_never_increases_on_mnist():
    X, _ = load_mnist(300)
    C0 = X[:8].copy()
    losses = [kmedian(X, 8, init=C0, max_iter=t).loss for t in (1, 2, 3, 5, 8)]
    assert all(b <= a + 1e-9 for a, b in zip(losses, losses[1:], strict=False))


def test_outliers_excluded_from_objective_and_update():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.standard_normal((60, 2)), rng.standard_normal((60, 2)) + 10,
                   [[500.0, 500.0], [-400.0, 300.0]]])
    r = kmedian(X, 2, init=X[[0, 60]], n_outliers=2)
    assert sorted(r.extras["outliers"].tolist()) == [120, 121]
    d = np.abs(X - r.centers[r.labels]).sum(1)
    assert r.loss == pytest.approx(d[:120].sum())
    clean = kmedian(X[:120], 2, init=X[[0, 60]])
    np.testing.assert_allclose(r.centers, clean.centers)


def test_empty_cluster_relocated():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 2))
    C0 = np.vstack([X[:2], [[100.0, 100.0]]])
    r = kmedian(X, 3, init=C0)
    assert r.extras["n_relocated"] >= 1
    assert len(np.unique(r.labels)) == 3


@pytest.mark.parametrize("init", ["k-medians++", "k-means++", "random", "forgy", "uniform",
                                  "random-partition"])
def test_inits(init):
    ds = get_dataset("blobs", 300, seed=1, k=4, d=2)
    a = kmedian(ds.X, 4, init=init, random_state=3)
    b = kmedian(ds.X, 4, init=init, random_state=3)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.converged and a.centers.shape == (4, 2)


def test_build_init():
    pytest.importorskip("bench_core.algorithms.pam")
    from bench_core.algorithms.pam import build
    from bench_core.dissimilarity import dissimilarity

    ds = get_dataset("blobs", 120, seed=0, k=3, d=2)
    r = kmedian(ds.X, 3, init="build", max_iter=1)
    med = build(dissimilarity(ds.X, "manhattan"), 3).medoids
    lab, _, _ = _brute_kmedian(ds.X, ds.X[med].copy(), 1)
    np.testing.assert_array_equal(r.labels, lab)
    r2 = kmedian(ds.X, 3, init="build", build_sample=50, random_state=0)
    assert r2.converged


def test_float32():
    X, _ = load_mnist(200)
    r64 = kmedian(X, 5, init=X[:5])
    r32 = kmedian(X.astype(np.float32), 5, init=X[:5])
    np.testing.assert_array_equal(r32.labels, r64.labels)
    assert r32.centers.dtype == np.float32


@pytest.mark.parametrize("kwargs,match", [
    ({"X": [[0.0, np.nan], [1.0, 2.0]], "k": 1}, "NaN or infinite"),
    ({"k": 0}, "out of range"),
    ({"k": 11}, "out of range"),
    ({"k": 2, "init": "median++"}, "unknown init"),
    ({"k": 2, "weights": np.ones(9)}, "length n"),
    ({"k": 2, "weights": np.r_[-1.0, np.ones(9)]}, "negative"),
    ({"k": 2, "n_outliers": 8}, "n_outliers"),
    ({"k": 2, "n_outliers": -1}, "n_outliers"),
    ({"k": 2, "init": np.zeros((2, 3))}, "shape"),
])
def test_bad_input(kwargs, match):
    kw = {"X": np.random.default_rng(0).random((10, 2))} | kwargs
    with pytest.raises(ValueError, match=match):
        kmedian(**kw)


def test_registry_entry():
    from bench_core import registry
    from bench_core.registry import Task

    ds = get_dataset("blobs", 200, seed=0)
    C0 = ds.X[:5].copy()
    r = registry.run("kmedian/reference", Task(k=5, X=ds.X, centers=C0))
    np.testing.assert_array_equal(r.labels, kmedian(ds.X, 5, init=C0).labels)
