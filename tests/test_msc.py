"""Medoid-silhouette clustering: local optimality on tiny inputs, identity with kmedoids."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import blobs_diss, mnist_diss, random_diss

from bench_core import registry
from bench_core.algorithms import msc
from bench_core.algorithms.silhouette import medoid_silhouette, silhouette

kmedoids = pytest.importorskip("kmedoids")

SWAPPERS = ("pammedsil", "fastmsc", "fastermsc")


def ms_oracle(D, med):
    """Average medoid silhouette from the definition (1 - a/b, 1 when a = 0)."""
    sub = np.sort(np.asarray(D, dtype=np.float64)[list(med), :], axis=0)
    a, b = sub[0], sub[1]
    return float(np.mean(np.where(a == 0, 1.0, 1.0 - a / np.where(b == 0, 1.0, b))))


def same_as_kmedoids(name, D, start, **kw):
    ours = getattr(msc, name)(D, start.copy(), **kw)
    ref = getattr(kmedoids, name)(D, start.astype(np.uintp), **kw)
    key = "silhouette" if name == "pamsil" else "medoid_silhouette"
    assert ours.medoids.tolist() == ref.medoids.astype(np.int64).tolist(), name
    assert ours.extras[key] == pytest.approx(ref.loss, rel=1e-12, abs=1e-15), name
    assert ours.loss == pytest.approx(1.0 - ref.loss, rel=1e-12, abs=1e-15)
    assert (ours.n_iter, ours.n_swap) == (ref.n_iter, ref.n_swap), name
    np.testing.assert_array_equal(ours.labels, ref.labels)
    return ours, ref


@pytest.mark.parametrize("name", SWAPPERS)
@pytest.mark.parametrize("ties", [False, True])
def test_tiny_swap_local_optimum(name, ties):
    """No single swap improves the medoid silhouette; reported value = definition."""
    for seed in range(8):
        n, k = 10, 2 + seed % 3
        D = random_diss(n, seed, ties=ties)
        start = np.random.default_rng(seed).choice(n, k, replace=False)
        res = getattr(msc, name)(D, start)
        ms = ms_oracle(D, res.medoids)
        assert res.extras["medoid_silhouette"] == pytest.approx(ms, rel=1e-12)
        assert res.loss == pytest.approx(1 - ms, rel=1e-12, abs=1e-15)
        assert res.extras["medoid_silhouette"] >= ms_oracle(D, start) - 1e-12
        assert res.converged
        best_swap = max(ms_oracle(D, [j if i == m else x for i, x in enumerate(res.medoids)])
                        for m in range(k) for j in range(n) if j not in res.medoids)
        assert best_swap <= ms + 1e-12
        # labels: nearest medoid
        nearest = np.argmin(D[res.medoids], axis=0)
        np.testing.assert_array_equal(D[res.medoids[res.labels], np.arange(n)],
                                      D[res.medoids[nearest], np.arange(n)])


def test_tiny_exhaustive_is_an_upper_bound():
    D = random_diss(9, 4)
    for k in (2, 3):
        best = max(ms_oracle(D, c) for c in itertools.combinations(range(9), k))
        for name in SWAPPERS:
            res = getattr(msc, name)(D, np.arange(k))
            assert res.extras["medoid_silhouette"] <= best + 1e-12


def test_fastmsc_takes_pammedsils_swaps():
    """FastMSC finds the same best swap as PAMMEDSIL at every iteration."""
    for seed in range(10):
        D = random_diss(12, seed, ties=seed % 2 == 1)
        k = 2 + seed % 4
        start = np.random.default_rng(seed).choice(12, k, replace=False)
        full = msc.pammedsil(D, start)
        for it in range(1, full.n_iter + 1):
            a = msc.pammedsil(D, start, max_iter=it)
            b = msc.fastmsc(D, start, max_iter=it)
            assert a.medoids.tolist() == b.medoids.tolist()
            assert a.loss == pytest.approx(b.loss, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name", ["pamsil", *SWAPPERS, "dynmsc"])
@pytest.mark.parametrize("ties", [False, True])
def test_tiny_identical_to_kmedoids(name, ties):
    for seed in range(12):
        D = random_diss(12, seed, ties=ties)
        k = 2 + seed % 4
        start = np.random.default_rng(seed).choice(12, k, replace=False).astype(np.int64)
        same_as_kmedoids(name, D, start)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n,k", [(200, 2), (200, 3), (500, 5), (1000, 10), (1000, 20)])
@pytest.mark.parametrize("name", SWAPPERS)
def test_identical_to_kmedoids_on_mnist(name, n, k, dtype):
    if name == "pammedsil" and n * k > 5_000:
        pytest.skip("PAMMEDSIL is O(k n^2) per iteration; smaller sizes cover it")
    D = mnist_diss(n, dtype)
    start = np.random.default_rng(n + k).choice(n, k, replace=False).astype(np.int64)
    ours, _ = same_as_kmedoids(name, D, start)
    assert ours.extras["medoid_silhouette"] == medoid_silhouette(D, ours.medoids)


def test_pamsil_identical_to_kmedoids_on_mnist():
    D = mnist_diss(120)
    for k in (2, 4):
        start = np.arange(k, dtype=np.int64) * 7
        ours, _ = same_as_kmedoids("pamsil", D, start)
        assert ours.extras["silhouette"] == pytest.approx(silhouette(D, ours.labels), abs=1e-12)


@pytest.mark.parametrize("name", SWAPPERS + ("dynmsc",))
def test_identical_to_kmedoids_on_blobs(name):
    D = blobs_diss(600, k=6)
    start = np.random.default_rng(1).choice(600, 8, replace=False).astype(np.int64)
    same_as_kmedoids(name, D, start)


@pytest.mark.parametrize("minimum_k", [1, 2, 3, 5])
def test_dynmsc_identical_to_kmedoids(minimum_k):
    D = mnist_diss(500)
    start = np.random.default_rng(3).choice(500, 8, replace=False).astype(np.int64)
    ours, ref = same_as_kmedoids("dynmsc", D, start, minimum_k=minimum_k)
    np.testing.assert_allclose(ours.extras["medoid_silhouettes"], ref.losses, rtol=1e-12)
    assert ours.extras["k_range"].tolist() == list(ref.rangek)
    assert ours.extras["best_k"] == ref.bestk == len(ours.medoids)
    assert ours.extras["medoid_silhouette"] == max(ours.extras["medoid_silhouettes"])


def test_dynmsc_picks_the_number_of_blobs():
    D = blobs_diss(500, k=4)
    res = msc.dynmsc(D, np.arange(8) * 50, minimum_k=2)
    assert res.extras["best_k"] == 4


def test_edge_cases():
    D = random_diss(7, 1)
    for name in ("pamsil", *SWAPPERS, "dynmsc"):
        kw = {"minimum_k": 1} if name == "dynmsc" else {}
        one = getattr(msc, name)(D, [3], **kw)
        assert len(one.medoids) == 1 and one.labels.tolist() == [0] * 7
        assert one.medoids[0] == np.argmin(D.sum(axis=1))  # smallest row sum, as kmedoids
        full = getattr(msc, name)(D, np.arange(7))
        assert sorted(full.medoids.tolist()) == list(range(7))
    res = msc.fastermsc(D, [0, 1, 2], max_iter=0)
    assert res.medoids.tolist() == [0, 1, 2] and res.n_swap == 0


def test_int_and_readonly_input():
    D = np.round(random_diss(15, 2) * 20).astype(np.int32)
    a = msc.fastermsc(D, [0, 1, 2])
    b = msc.fastermsc(D.astype(np.float64), [0, 1, 2])
    assert a.medoids.tolist() == b.medoids.tolist() and a.loss == b.loss
    R = mnist_diss(200)
    assert not R.flags.writeable
    assert msc.fastmsc(R, 3, random_state=0).medoids.shape == (3,)


def test_seeded_init_is_reproducible():
    D = mnist_diss(300)
    a = msc.fastermsc(D, 5, random_state=7)
    b = msc.fastermsc(D, 5, random_state=7)
    assert a.medoids.tolist() == b.medoids.tolist()
    c = msc.pammedsil(D, 4)  # BUILD start by default
    assert c.extras["initial_medoids"].tolist() == kmedoids.pam_build(D, 4).medoids.tolist()


@pytest.mark.parametrize("call,match", [
    (lambda D: msc.fastmsc(D, 3, init="nope"), "unknown init"),
    (lambda D: msc.fastmsc(D, 0), "out of range"),
    (lambda D: msc.fastmsc(D, 9), "out of range"),
    (lambda D: msc.fastermsc(D, [0, 0, 1]), "repeated"),
    (lambda D: msc.pammedsil(D, [0, 8]), "out of range"),
    (lambda D: msc.dynmsc(D, [0, 1, 2], minimum_k=4), "minimum_k"),
    (lambda D: msc.dynmsc(D, [0, 1, 2], minimum_k=0), "minimum_k"),
    (lambda D: msc.fastmsc(D[:, :4], 2), "square"),
    (lambda D: msc.fastmsc(-D, 2), "negative"),
    (lambda D: msc.fastmsc(D, 2, max_iter=-1), "max_iter"),
    (lambda D: msc.fastmsc(D, 2.5), "medoids"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call(random_diss(8, 0))


def test_registry_entries():
    import bench_core.algorithms.entries_msc  # noqa: F401 - registers even if another family fails

    D = mnist_diss(300)
    start = np.array([0, 10, 20, 30])
    for name in ("pammedsil", "fastmsc", "fastermsc", "dynmsc", "pamsil"):
        if name == "pamsil":
            task = registry.Task(k=3, diss=mnist_diss(80), medoids=np.array([0, 1, 2]))
        else:
            task = registry.Task(k=4, diss=D, medoids=start, options={"init": "first"})
        res = registry.run(f"{name}/reference", task)
        direct = getattr(msc, name)(task.diss, task.medoids)
        assert res.medoids.tolist() == direct.medoids.tolist() and res.loss == direct.loss
    res = registry.run("dynmsc/reference", registry.Task(k=6, diss=D, seed=1,
                                                         options={"minimum_k": 3}))
    assert 3 <= res.extras["best_k"] <= 6
