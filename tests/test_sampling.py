"""CLARA / CLARANS family: PAM on the whole set as oracle, full-data losses, counted distances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bench_core import registry
from bench_core.algorithms import sampling
from bench_core.algorithms.assignment import assign
from bench_core.algorithms.pam import fasterpam, fastpam1, pam
from bench_core.datasets import get_dataset, load_mnist
from bench_core.dissimilarity import dissimilarity

CLARAS = {"clara": pam, "fastclara": fastpam1, "fasterclara": fasterpam}
ALL = ("clara", "fastclara", "fasterclara", "clarans", "fastclarans")


def blobs(n=300, k=4, d=3, seed=0):
    return get_dataset("blobs", n, seed=seed, k=k, d=d).X


def check_full_data_result(res, X, k, metric="euclidean"):
    """Medoids are distinct rows of X, labels the nearest medoid, loss on all of X."""
    n = len(X)
    assert res.medoids.dtype == np.int64 and len(res.medoids) == k
    assert len(set(res.medoids.tolist())) == k and res.medoids.min() >= 0 and res.medoids.max() < n
    D = dissimilarity(X, metric)
    labels, loss = assign(D, res.medoids)
    assert res.loss == pytest.approx(loss, rel=1e-9)
    np.testing.assert_allclose(D[res.medoids[res.labels], np.arange(n)],
                               D[res.medoids[labels], np.arange(n)], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", list(CLARAS))
def test_one_sample_of_everything_is_the_pam_variant(name):
    """With the whole data set as its single sample, CLARA is its PAM variant."""
    X = blobs(120, k=3)
    dist = sampling.PointDistances(X, "euclidean")
    D = dist.matrix(np.arange(len(X)))
    res = getattr(sampling, name)(X, 3, samples=1, sample_size=len(X), init="build", random_state=0)
    ref = CLARAS[name](D, 3, init="build")
    assert sorted(res.medoids.tolist()) == sorted(ref.medoids.tolist())
    assert res.loss == pytest.approx(ref.loss, rel=1e-9)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "manhattan", "cosine"])
def test_loss_is_on_the_full_data_set(name, metric):
    X = blobs(200, k=4) + 20.0  # away from the origin for cosine
    res = getattr(sampling, name)(X, 4, metric, random_state=1)
    check_full_data_result(res, X, 4, metric)
    assert res.extras["distance_computations"] > 0


def test_distance_counts():
    X = blobs(2000, k=5)
    n, k = len(X), 5
    res = sampling.clara(X, k, random_state=0)
    s, t = res.extras["sample_size"], res.extras["samples"]
    assert s == 40 + 2 * k and t == 5
    lo = t * s * (s - 1) // 2 + n * k
    assert lo <= res.extras["distance_computations"] <= t * (s * (s - 1) // 2 + n * k)
    assert res.extras["distance_computations"] < n * (n - 1) // 2 / 10
    for name in ("clarans", "fastclarans"):
        r = getattr(sampling, name)(X, k, numlocal=2, maxneighbor=30, random_state=0)
        assert r.extras["distance_computations"] == 2 * n * k + r.extras["trials"] * n


def swap_local_optimum(D, med):
    base = assign(D, med)[1]
    k, n = len(med), len(D)
    best = min(assign(D, [j if i == m else x for i, x in enumerate(med)])[1]
               for m in range(k) for j in range(n) if j not in med)
    return best >= base * (1 - 1e-12)


@pytest.mark.parametrize("name", ["clarans", "fastclarans"])
def test_clarans_with_many_neighbours_ends_swap_local(name):
    for seed in range(4):
        X = np.random.default_rng(seed).normal(size=(12, 2))
        D = dissimilarity(X)
        res = getattr(sampling, name)(X, 3, numlocal=1, maxneighbor=1500, random_state=seed)
        assert swap_local_optimum(D, res.medoids.tolist())
        check_full_data_result(res, X, 3)


def test_numlocal_keeps_the_best_restart():
    X = np.random.default_rng(5).normal(size=(10, 2))
    D = dissimilarity(X)
    best = min(assign(D, list(c))[1] for c in itertools.combinations(range(10), 2))
    res = sampling.fastclarans(X, 2, numlocal=5, maxneighbor=200, random_state=0)
    assert res.loss >= best * (1 - 1e-12)
    assert res.loss == pytest.approx(assign(D, res.medoids)[1], rel=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_seeded_and_reproducible(name):
    X = blobs(300, k=5)
    a = getattr(sampling, name)(X, 5, random_state=3)
    b = getattr(sampling, name)(X, 5, random_state=3)
    assert a.medoids.tolist() == b.medoids.tolist() and a.loss == b.loss
    c = getattr(sampling, name)(X, 5, random_state=np.random.default_rng(3))
    assert c.medoids.tolist() == a.medoids.tolist()


def test_float32_points_and_k_extremes():
    X = blobs(150, k=3).astype(np.float32)
    res = sampling.fasterclara(X, 3, random_state=0)
    check_full_data_result(res, X.astype(np.float64), 3)
    one = sampling.clara(X, 1, random_state=0)
    assert len(one.medoids) == 1 and (one.labels == 0).all()
    r = sampling.fastclarans(X[:6], 6, random_state=0)
    assert sorted(r.medoids.tolist()) == list(range(6)) and r.loss == 0.0


def test_fasterclara_close_to_fasterpam_on_mnist():
    X, _ = load_mnist(2000)
    full = fasterpam(dissimilarity(X), 10, random_state=0)
    res = sampling.fasterclara(X, 10, random_state=0)
    assert res.loss <= full.loss * 1.03
    assert res.extras["distance_computations"] < 2000 * 1999 // 2


@pytest.mark.parametrize("call,match", [
    (lambda X: sampling.clara(X, 5, sample_size=5), "at least k \\+ 1"),
    (lambda X: sampling.fastclara(X, 5, sample_size=1000), "larger than n"),
    (lambda X: sampling.fasterclara(X, 5, sample_size=2.5), "integer"),
    (lambda X: sampling.clara(X, 5, samples=0), "samples"),
    (lambda X: sampling.clarans(X, 5, numlocal=0), "numlocal"),
    (lambda X: sampling.fastclarans(X, 5, maxneighbor=0), "maxneighbor"),
    (lambda X: sampling.clara(X, 5, metric="chebyshev"), "euclidean.*manhattan"),
    (lambda X: sampling.clarans(X, 0), "out of range"),
    (lambda X: sampling.clarans(X, 101), "out of range"),
    (lambda X: sampling.clara(np.full((100, 2), np.nan), 2), "NaN"),
    (lambda X: sampling.clara(X[:, 0], 2), "2-D"),
    (lambda X: sampling.clara(X, 3, init="nope"), "init"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call(blobs(100))


def test_registry_entries():
    import bench_core.algorithms.entries_sampling  # noqa: F401 - registers even if another family fails

    X = blobs(200, k=3)
    for name in ALL:
        entry = registry.get(f"{name}/reference")
        assert entry.family == "sampling" and entry.input == "points"
        res = entry(registry.Task(k=3, X=X, seed=4, options={}))
        direct = getattr(sampling, name)(X, 3, random_state=4)
        assert res.medoids.tolist() == direct.medoids.tolist()
    with pytest.raises(ValueError, match="task.X"):
        registry.run("clara/reference", registry.Task(k=3, diss=np.zeros((4, 4))))


# ----------------------------------------------------------------------------- peers, in kind

def test_in_kind_with_scikit_learn_extra_clara():
    """Same algorithm family, different sampling details: report the loss gap."""
    skx = pytest.importorskip("sklearn_extra.cluster")
    X = blobs(1000, k=6, d=4, seed=2)
    D = dissimilarity(X)
    theirs = skx.CLARA(n_clusters=6, random_state=0).fit(X)
    their_loss = assign(D, theirs.medoid_indices_)[1]
    ours = sampling.clara(X, 6, random_state=0)
    gap = ours.loss / their_loss - 1
    print(f"\nCLARA vs scikit-learn-extra CLARA on blobs n=1000 k=6: loss gap {gap:+.3%}")
    assert gap < 0.25  # the same kind of result (not worse by much), not the same numbers


def test_in_kind_with_pyclustering_clarans():
    pyc = pytest.importorskip("pyclustering.cluster.clarans")
    X = blobs(100, k=3, d=2, seed=3)  # pyclustering's CLARANS is pure Python: keep it small
    D = dissimilarity(X)
    algo = pyc.clarans(X.tolist(), 3, 2, 10)
    algo.process()
    their_loss = assign(D, np.array(algo.get_medoids()))[1]
    ours = sampling.clarans(X, 3, numlocal=2, maxneighbor=10, random_state=0)
    gap = ours.loss / their_loss - 1
    print(f"\nCLARANS vs pyclustering clarans on blobs n=100 k=3: loss gap {gap:+.3%}")
    assert gap < 0.25


def test_fasterclara_default_samples_follow_the_pair_budget():
    from bench_core.algorithms.sampling import fasterclara_samples

    assert [fasterclara_samples(400 + 30 * k) for k in (1, 10, 20, 50, 100)] == [5, 4, 2, 1, 1]
    X = np.random.default_rng(0).standard_normal((900, 3))
    res = sampling.fasterclara(X, 10, random_state=0)
    assert (res.extras["sample_size"], res.extras["samples"]) == (700, 4)
    assert sampling.fasterclara(X, 10, samples=2, random_state=0).extras["samples"] == 2
