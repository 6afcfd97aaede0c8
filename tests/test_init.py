"""Initialisations: validity, determinism under a seed, and agreement with their definitions."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import mnist_diss, random_diss

from bench_core.algorithms import pam as P
from bench_core.algorithms.assignment import loss
from bench_core.algorithms.init import INITS, initial_medoids, matrix_rows, seeded_medoids


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("k", [1, 3, 12])
def test_valid_and_seeded(init, k):
    D = random_diss(12, 1, ties=True)
    a = initial_medoids(D, k, init, random_state=3)
    b = initial_medoids(D, k, init, random_state=3)
    assert a.dtype == np.int64 and len(a) == k and len(np.unique(a)) == k
    assert a.min() >= 0 and a.max() < 12
    assert np.array_equal(a, b)


def test_first_and_build():
    D = mnist_diss(200)
    assert initial_medoids(D, 4, "first").tolist() == [0, 1, 2, 3]
    assert np.array_equal(initial_medoids(D, 7, "build"), P.build(D, 7).medoids)


def test_random_differs_by_seed():
    D = mnist_diss(200)
    draws = {tuple(initial_medoids(D, 5, "random", random_state=s)) for s in range(5)}
    assert len(draws) > 1


def test_kmedoidspp_prefers_far_points():
    """D^2 sampling: with two tight far-apart groups, k=2 puts one medoid in each."""
    x = np.r_[np.zeros(20), np.full(20, 100.0)] + np.random.default_rng(0).random(40) * 0.01
    D = np.abs(x[:, None] - x[None, :])
    for s in range(10):
        m = initial_medoids(D, 2, "k-medoids++", random_state=s)
        assert sorted(m // 20) == [0, 1]


def test_lab_beats_random_on_average():
    D = mnist_diss(500)
    lab = np.mean([loss(D, initial_medoids(D, 10, "lab", random_state=s)) for s in range(5)])
    rnd = np.mean([loss(D, initial_medoids(D, 10, "random", random_state=s)) for s in range(5)])
    assert lab < rnd


def test_lab_is_build_on_small_n():
    """When the sample covers all non-medoids (n <= 10 + sqrt(n)), LAB is BUILD."""
    D = random_diss(12, 4)
    assert np.array_equal(initial_medoids(D, 4, "lab", random_state=0), P.build(D, 4).medoids)


def test_bad_init():
    D = random_diss(6, 0)
    with pytest.raises(ValueError, match="unknown init"):
        initial_medoids(D, 2, "kmeans++")
    with pytest.raises(ValueError, match="out of range"):
        initial_medoids(D, 7, "random")
    with pytest.raises(ValueError, match="random_state"):
        initial_medoids(D, 2, "random", random_state="x")


# --------------------------------------------------------------------------- from the points


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "manhattan", "cosine"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["mnist", "blobs"])
def test_seeded_inits_from_the_points_are_those_of_the_matrix(kind, dtype, metric):
    """k-medoids++ and LAB read rows of the matrix; computed from the points
    (``point_rows``) they give the matrix's medoids. On integer-valued data (MNIST,
    except cosine, which normalises the rows) every value is the matrix's bit for bit."""
    from bench_core.datasets import get_dataset
    from bench_core.dissimilarity import dissimilarity, point_rows
    from bench_core.start import start_rng

    X = get_dataset("mnist", 300).X if kind == "mnist" else get_dataset("blobs", 300, seed=1, k=4, d=3).X
    D = dissimilarity(X, metric, dtype)
    dist = point_rows(X, metric, dtype)
    rows, cols = np.array([5, 0, 299]), np.array([0, 7, 150, 299])
    tol = dict(rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-12)
    if kind == "mnist" and metric != "cosine":
        tol = dict(rtol=0, atol=0)
    np.testing.assert_allclose(dist(rows), D[rows], **tol)
    np.testing.assert_allclose(dist(rows, cols), D[np.ix_(rows, cols)], **tol)
    assert dist(rows)[np.arange(3), rows].tolist() == [0.0, 0.0, 0.0]   # exact zeros on the diagonal
    for init in ("k-medoids++", "lab"):
        for k in (1, 9):
            for seed in range(3):
                a = initial_medoids(D, k, init, random_state=start_rng(seed, 300, k))
                b = seeded_medoids(dist, 300, k, init, start_rng(seed, 300, k))
                assert np.array_equal(a, b), (init, k, seed)


@pytest.mark.parametrize("init", ["k-medoids++", "lab"])
def test_seeded_inits_read_few_rows(init):
    """Never the n x n matrix: k-medoids++ reads at most 2 + log k rows a step, LAB a
    (10 + sqrt n)^2 block and one row a step."""
    D = mnist_diss(400)
    n, k = 400, 12
    read = []

    def counting(rows, cols=None):
        read.append(len(rows) * (n if cols is None else len(cols)))
        return matrix_rows(D)(rows, cols)

    a = seeded_medoids(counting, n, k, init, np.random.default_rng(0))
    assert np.array_equal(a, initial_medoids(D, k, init, random_state=np.random.default_rng(0)))
    bound = (1 + (k - 1) * (2 + int(np.log(k)))) * n if init == "k-medoids++" else \
        k * ((10 + int(np.ceil(np.sqrt(n)))) ** 2 + n)
    assert sum(read) <= bound


def test_point_rows_bad_input():
    from bench_core.dissimilarity import point_rows

    X = np.random.default_rng(0).random((10, 2))
    with pytest.raises(ValueError, match="metric"):
        point_rows(X, "chebyshev")
    with pytest.raises(ValueError, match="float32 or float64"):
        point_rows(X, dtype=np.int32)
    with pytest.raises(ValueError, match="NaN|finite"):
        point_rows(np.r_[X, [[np.nan, 0.0]]])
    with pytest.raises(ValueError, match="init"):
        seeded_medoids(point_rows(X), 10, 2, "build", np.random.default_rng(0))
