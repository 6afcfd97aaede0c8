"""Initialisations: validity, determinism under a seed, and agreement with their definitions."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import mnist_diss, random_diss

from bench_core.algorithms import pam as P
from bench_core.algorithms.assignment import loss
from bench_core.algorithms.init import INITS, initial_medoids


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
