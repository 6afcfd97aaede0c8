"""k-means: brute-force oracles on tiny inputs and agreement with scikit-learn's lloyd."""

from __future__ import annotations

import numpy as np
import pytest
from bench_core.algorithms._kmeans import lloyd_pass
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from bench_core.algorithms.kmeans import kmeans, kmeans_plusplus
from bench_core.datasets import get_dataset, load_mnist


def _sklearn(X, C0, tol, max_iter=300, weights=None):
    with threadpool_limits(1):
        return KMeans(len(C0), init=C0, n_init=1, algorithm="lloyd", tol=tol,
                      max_iter=max_iter).fit(X, sample_weight=weights)


def _agree(X, C0, tol, max_iter=300, weights=None):
    ours = kmeans(X, len(C0), init=C0, tol=tol, max_iter=max_iter, weights=weights)
    ref = _sklearn(X, C0, tol, max_iter, weights)
    np.testing.assert_array_equal(ours.labels, ref.labels_)
    assert ours.loss == pytest.approx(ref.inertia_, rel=1e-9)
    assert ours.n_iter == ref.n_iter_
    np.testing.assert_allclose(ours.centers, ref.cluster_centers_, rtol=1e-9, atol=1e-9)
    return ours


@pytest.mark.parametrize("n,k,tol", [(500, 10, 1e-4), (1000, 10, 0.0), (1000, 30, 1e-3)])
def test_agrees_with_sklearn_on_mnist(n, k, tol):
    X, _ = load_mnist(n)
    C0 = X[np.random.default_rng(n + k).choice(n, k, replace=False)]
    _agree(X, C0, tol)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_sklearn_on_blobs(seed):
    ds = get_dataset("blobs", 600, seed=seed, k=6, d=5, spread=2.0)
    C0 = ds.X[np.random.default_rng(seed).choice(600, 8, replace=False)]
    _agree(ds.X, C0, 1e-4)


def test_agrees_with_sklearn_fixed_iterations_and_weights():
    ds = get_dataset("blobs", 400, seed=3, k=4, d=3, spread=3.0)
    C0 = ds.X[:5].copy()
    r = _agree(ds.X, C0, 0.0, max_iter=3)
    assert not r.extras["strict_convergence"]
    w = np.random.default_rng(0).uniform(0.5, 2.0, 400)
    _agree(ds.X, C0, 1e-4, weights=w)


def test_empty_cluster_relocation_agrees_with_sklearn():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 2))
    C0 = np.vstack([X[:3], [[50.0, 50.0]]])  # the far centre gets no point
    r = _agree(X, C0, 1e-4)
    assert r.extras["n_relocated"] >= 1


def test_float32_close_to_float64():
    X, _ = load_mnist(500)
    C0 = X[:10].copy()
    r64 = kmeans(X, 10, init=C0, tol=0.0)
    r32 = kmeans(X.astype(np.float32), 10, init=C0, tol=0.0)
    assert r32.centers.dtype == np.float32
    assert (r32.labels == r64.labels).mean() > 0.99
    assert r32.loss == pytest.approx(r64.loss, rel=1e-4)


def _brute_lloyd(X, C, iters):
    for _ in range(iters):
        d = ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)
        lab = d.argmin(1)
        C = np.array([X[lab == j].mean(0) for j in range(len(C))])
    d = ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)
    return d.argmin(1), d.min(1).sum(), C


@pytest.mark.parametrize("seed", range(5))
def test_tiny_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((30, 3)) + rng.integers(0, 3, (30, 1)) * 4
    C0 = X[:3].copy()
    lab, loss, C = _brute_lloyd(X, C0, 50)
    r = kmeans(X, 3, init=C0, tol=0.0, max_iter=100)
    np.testing.assert_array_equal(r.labels, lab)
    assert r.loss == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(r.centers, C, rtol=1e-12, atol=1e-12)


def test_exact_recomputation_resolves_cancellation():
    # Far from the origin, ||x||^2 - 2x.c + ||c||^2 in float32 cannot separate two
    # centres 0.004 apart around x; the exact re-ranking must find the nearest one.
    x = np.array([[1000.0, 1000.0]], dtype=np.float32)
    C = np.array([[1000.002, 1000.0], [1000.0, 1000.001]], dtype=np.float32)
    norms = np.sqrt((x.astype(np.float64) ** 2).sum(1))
    labels = np.empty(1, dtype=np.int64)
    n_exact = lloyd_pass(x, norms, np.ones(1), C, np.zeros((2, 2)), np.zeros(2), labels, False)
    d = ((x.astype(np.float64) - C.astype(np.float64)) ** 2).sum(1)
    assert labels[0] == d.argmin() == 1
    assert n_exact == 1


def test_kmeans_plusplus_never_picks_duplicates_of_seeds():
    X = np.repeat(np.arange(5.0)[:, None], 20, axis=0)  # 5 distinct points
    for seed in range(10):
        seeds = kmeans_plusplus(X, 5, np.random.default_rng(seed))
        assert len(np.unique(X[seeds, 0])) == 5
    more = kmeans_plusplus(X, 7, np.random.default_rng(0))  # k > distinct: uniform fill
    assert len(np.unique(more)) == 7


@pytest.mark.parametrize("init", ["k-means++", "greedy-k-means++", "random", "forgy"])
def test_inits_seeded_and_reproducible(init):
    ds = get_dataset("blobs", 300, seed=1, k=4, d=2)
    a = kmeans(ds.X, 4, init=init, random_state=7)
    b = kmeans(ds.X, 4, init=init, random_state=7)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.converged


def test_greedy_kmeanspp_no_worse_on_average():
    X, _ = load_mnist(500)
    plain = [kmeans(X, 10, init="k-means++", random_state=s, max_iter=1).loss for s in range(6)]
    greedy = [kmeans(X, 10, init="greedy-k-means++", random_state=s, max_iter=1).loss for s in range(6)]
    assert np.mean(greedy) < np.mean(plain)


@pytest.mark.parametrize("kwargs,match", [
    ({"X": [[0.0, np.nan], [1.0, 2.0]], "k": 1}, "NaN or infinite"),
    ({"X": [[0.0, np.inf], [1.0, 2.0]], "k": 1}, "NaN or infinite"),
    ({"k": 0}, "out of range"),
    ({"k": 11}, "out of range"),
    ({"k": 2, "init": "kmeans+++"}, "unknown init"),
    ({"k": 2, "weights": np.ones(3)}, "length n"),
    ({"k": 2, "weights": -np.ones(10)}, "negative"),
    ({"k": 2, "init": np.zeros((3, 2))}, "3 centres but k = 2"),
    ({"k": 2, "init": np.zeros((2, 5))}, "shape"),
    ({"k": 2, "tol": -1.0}, "tol"),
    ({"k": 2, "max_iter": 0}, "max_iter"),
])
def test_bad_input(kwargs, match):
    kw = {"X": np.random.default_rng(0).random((10, 2))} | kwargs
    with pytest.raises(ValueError, match=match):
        kmeans(**kw)


def test_registry_entry_matches_function():
    from bench_core import registry
    from bench_core.registry import Task

    ds = get_dataset("blobs", 200, seed=0)
    C0 = ds.X[:5].copy()
    r = registry.run("kmeans/reference", Task(k=5, X=ds.X, centers=C0))
    np.testing.assert_array_equal(r.labels, kmeans(ds.X, 5, init=C0).labels)
    assert r.centers.shape == (5, 2) and r.medoids is None
