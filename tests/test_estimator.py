"""bench_core.KMedoids: scikit-learn behaviour and agreement with the functional API."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import mnist_diss
from sklearn.base import clone
from sklearn.metrics import pairwise_distances

from bench_core.algorithms import pam as P
from bench_core.algorithms.estimator import KMedoids


@pytest.mark.parametrize("method", ["fasterpam", "fastpam1", "pam", "alternating"])
def test_fit_matches_function(method):
    D = mnist_diss(300)
    km = KMedoids(6, method=method, init="build", random_state=0).fit(D)
    ref = P.METHODS[method](D, 6, init="build")
    assert np.array_equal(km.medoid_indices_, ref.medoids)
    assert np.array_equal(km.labels_, ref.labels)
    assert km.inertia_ == ref.loss
    assert km.cluster_centers_ is None
    assert np.array_equal(km.predict(D), km.labels_)
    assert np.array_equal(km.fit_predict(D), km.labels_)
    assert km.transform(D).shape == (300, 6)


def test_metric_points():
    X = np.random.default_rng(0).random((80, 4))
    km = KMedoids(3, metric="euclidean", random_state=1).fit(X)
    D = pairwise_distances(X)
    ref = P.fasterpam(D, 3, random_state=1)
    assert np.array_equal(km.medoid_indices_, ref.medoids)
    assert np.array_equal(km.cluster_centers_, X[km.medoid_indices_])
    assert np.array_equal(km.predict(X), km.labels_)
    assert km.n_features_in_ == 4


def test_array_init_and_clone():
    D = mnist_diss(200)
    km = KMedoids(3, init=np.array([0, 1, 2]), method="fastpam1")
    assert clone(km).get_params()["method"] == "fastpam1"
    km.fit(D)
    assert np.array_equal(km.medoid_indices_, P.fastpam1(D, np.array([0, 1, 2])).medoids)


def test_bad_parameters():
    D = mnist_diss(50)
    with pytest.raises(ValueError, match="method"):
        KMedoids(3, method="clara").fit(D)
    with pytest.raises(ValueError, match="init"):
        KMedoids(3, init="kmeans").fit(D)
    with pytest.raises(ValueError, match="n_clusters"):
        KMedoids(51).fit(D)
    with pytest.raises(ValueError, match="square"):
        KMedoids(2).fit(np.ones((4, 3)))
    with pytest.raises(Exception, match="not fitted"):
        KMedoids(2).predict(D)


def test_sklearn_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    results = check_estimator(KMedoids(3, metric="euclidean", random_state=0), on_fail=None)
    failures = [f"{r['check_name']}: {r['exception']}" for r in results if r["status"] == "failed"]
    assert not failures, "\n".join(failures)
