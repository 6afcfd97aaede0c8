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


def _nearest_two_oracle(D, medoids):
    """Nearest and second-nearest medoid positions by the rule of ``nearest_two``: the
    first listed among equals, except that a medoid is its own nearest."""
    n, k = D.shape[0], len(medoids)
    near, seco = np.zeros(n, dtype=int), np.full(n, -1)
    for o in range(n):
        own = [i for i in range(k) if medoids[i] == o]
        rest = sorted((i for i in range(k) if i not in own[-1:]), key=lambda i: (D[medoids[i], o], i))
        order = own[-1:] + rest
        near[o] = order[0]
        if k > 1:
            seco[o] = order[1]
    return near, seco


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.int64])
def test_nearest_two_matches_oracle_for_any_thread_count(dtype):
    """The swap kernels' start (nearest and second-nearest medoid, the loss) is the
    oracle's, and the same bits for 1, 2 and 3 threads (each takes a range of points)."""
    for seed, (n, k) in enumerate(((200, 1), (200, 2), (257, 9), (450, 30))):
        D = random_diss(n, seed, ties=True)
        if np.dtype(dtype).kind == "i":
            D = np.round(D * 10)
        D = D.astype(dtype)
        med = np.random.default_rng(seed).choice(n, k, replace=False).astype(np.int64)
        outs = []
        for nt in (1, 2, 3):
            ni, nd = np.empty(n, np.intc), np.empty(n)
            si, sd = np.empty(n, np.intc), np.empty(n)
            total = _common.nearest_and_second(D, med, ni, nd, si, sd, nt)
            outs.append((total.hex(), ni.tobytes(), nd.tobytes(), si.tobytes(), sd.tobytes()))
        assert outs[1] == outs[0] and outs[2] == outs[0], (n, k)
        near, seco = _nearest_two_oracle(D, med)
        np.testing.assert_array_equal(ni, near)
        np.testing.assert_array_equal(si, seco)
        rows = np.arange(n)
        np.testing.assert_array_equal(nd, D[med[near], rows].astype(np.float64))
        want = D[med[seco], rows].astype(np.float64) if k > 1 else np.full(n, np.inf)
        np.testing.assert_array_equal(sd, want)
        assert total == float(np.cumsum(nd)[-1])   # added up in point order


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
