"""Choosing k: knee of a curve, and the suggestions on data with a known number of clusters."""

from __future__ import annotations

import numpy as np
import pytest

from bench_core.algorithms.kselect import elbow, gap_statistic, knee, silhouette_sweep
from bench_core.datasets import get_dataset


def test_knee_of_a_piecewise_linear_curve():
    ks = range(1, 9)
    assert knee(ks, [10, 7, 4, 1, 0.9, 0.8, 0.7, 0.6]) == 4
    assert knee(ks, [10, 2, 1.9, 1.8, 1.7, 1.6, 1.5, 1.4]) == 2
    assert knee([1, 2], [5, 1]) == 1  # fewer than three points: no knee, the first k


@pytest.fixture(scope="module")
def elbow4():
    return get_dataset("elbow4", 400, seed=0).X


@pytest.mark.parametrize("method", ["kmeans", "kmedian", "kmedoids"])
def test_elbow4_suggests_four(elbow4, method):
    e = elbow(elbow4, range(1, 9), method=method)
    assert e.k == 4
    assert np.all(np.diff(e.column("loss")) <= 1e-9 * e.column("loss")[0])  # best-of runs decrease
    assert silhouette_sweep(elbow4, range(2, 9), method=method).k == 4
    g = gap_statistic(elbow4, range(1, 8), method=method, B=5)
    assert g.k == 4
    assert set(g.table[0]) >= {"k", "gap", "s", "log_w", "ref_log_w"}


# Blobs whose centres are at least 8 standard deviations apart. (With pairs of close
# clusters the gap rule, which takes the *first* k within one s.e. of the next, can
# legitimately stop at the coarser level: 6 blobs of seed 2 give k = 3.)
@pytest.mark.parametrize("k_true,seed", [(3, 1), (4, 0), (5, 1), (6, 0)])
def test_blobs_with_known_k(k_true, seed):
    from scipy.spatial.distance import pdist

    from bench_core.datasets import make_blobs

    X, _, centres = make_blobs(600, 2, k_true, spread=0.5, seed=seed, return_centers=True)
    assert pdist(centres).min() > 4.0
    assert silhouette_sweep(X, range(2, 9)).k == k_true
    assert gap_statistic(X, range(1, 9), B=5).k == k_true


def test_silhouette_matches_sklearn(elbow4):
    from sklearn.metrics import silhouette_score

    from bench_core.algorithms.kmeans import kmeans

    s = silhouette_sweep(elbow4, [3], method="kmeans", n_init=1, random_state=0)
    labels = kmeans(elbow4, 3, random_state=int(np.random.default_rng(3).integers(0, 2**31 - 1))).labels
    assert s.table[0]["silhouette"] == pytest.approx(silhouette_score(elbow4, labels), rel=1e-10)


def test_kmedoids_from_a_dissimilarity_matrix(elbow4):
    from bench_core.dissimilarity import dissimilarity

    D = dissimilarity(elbow4, "euclidean")
    assert elbow(diss=D, ks=range(1, 8), method="kmedoids").k == 4
    assert silhouette_sweep(diss=D, ks=range(2, 8), method="kmedoids").k == 4


def test_seeded(elbow4):
    a = gap_statistic(elbow4, range(1, 5), B=3, random_state=5)
    b = gap_statistic(elbow4, range(1, 5), B=3, random_state=5)
    assert a.table == b.table


@pytest.mark.parametrize("call,match", [
    (lambda X: elbow(X, method="kmeanz"), "unknown method"),
    (lambda X: elbow(X, ks=[]), "empty"),
    (lambda X: elbow(X, ks=[1, 500]), "out of range"),
    (lambda X: silhouette_sweep(X, ks=[1, 2]), "k must be an integer >= 2"),
    (lambda X: gap_statistic(None, method="kmedoids"), "needs the points"),
    (lambda X: elbow(None, method="kmeans"), "points X"),
    (lambda X: gap_statistic(X, B=0), "B must be"),
])
def test_bad_input(elbow4, call, match):
    with pytest.raises(ValueError, match=match):
        call(elbow4)
