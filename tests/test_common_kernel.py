"""The first compiled module: nearest-medoid assignment against a brute-force oracle."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_diss

from bench_core.algorithms import _common, assign, loss


def oracle(D, medoids):
    sub = D[medoids, :].astype(np.float64)
    labels = np.argmin(sub, axis=0)  # first minimum = first listed medoid
    labels[medoids] = np.arange(len(medoids))
    return labels, float(sub[labels, np.arange(D.shape[0])].sum())


def test_extension_is_compiled():
    assert _common.__file__.endswith((".so", ".pyd"))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.int64])
@pytest.mark.parametrize("ties", [False, True])
def test_assign_matches_oracle(dtype, ties):
    for seed in range(5):
        D = random_diss(12, seed, ties=ties)
        if np.dtype(dtype).kind == "i":
            D = np.round(D * 10)
        D = D.astype(dtype)
        med = np.random.default_rng(seed).choice(12, 4, replace=False)
        labels, total = assign(D, med)
        ref_labels, ref_total = oracle(D, med)
        np.testing.assert_array_equal(labels, ref_labels)
        assert total == pytest.approx(ref_total, rel=1e-12)
        assert loss(D, med) == total


def test_medoid_keeps_its_own_cluster_on_zero_distance():
    D = np.zeros((3, 3))
    labels, total = assign(D, [2, 0])
    assert labels.tolist() == [1, 0, 0] and total == 0.0


def test_readonly_input_is_not_copied():
    D = random_diss(8)
    D.setflags(write=False)
    labels, _ = assign(D, [0, 1])
    assert labels.shape == (8,)


@pytest.mark.parametrize("bad,match", [
    ([0, 0], "repeated"), ([0, 9], "out of range"), ([[0, 1]], "1-D"), ([0.5, 1], "integer"),
])
def test_bad_medoids(bad, match):
    with pytest.raises(ValueError, match=match):
        assign(random_diss(5), bad)


@pytest.mark.parametrize("D,match", [
    (np.ones((3, 4)), "square"), (np.ones(3), "2-D"), (-np.ones((3, 3)), "negative"),
    (np.full((3, 3), np.inf), "NaN or infinite"), (np.ones((2, 2), dtype=complex), "dtype"),
])
def test_bad_matrix(D, match):
    with pytest.raises(ValueError, match=match):
        assign(D, [0])
