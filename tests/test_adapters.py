"""Adapters: normalised results on small data, the libraries' documented behaviour, unavailability."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import blobs_diss, mnist_diss, random_diss

from bench_core import registry
from bench_core.adapters import _common
from bench_core.datasets import get_dataset, load_mnist
from bench_core.invariants import assert_valid, medoid_silhouette_oracle, silhouette_oracle
from bench_core.registry import Entry, Task, UnavailableError

MEDOID_ADAPTERS = [
    "pam/kmedoids", "fastpam1/kmedoids", "fasterpam/kmedoids", "fasterpam/kmedoids-shuffled",
    "fasterpam/kmedoids-parallel", "build/kmedoids", "alternating/kmedoids", "pamsil/kmedoids",
    "pammedsil/kmedoids", "fastmsc/kmedoids", "fastermsc/kmedoids", "dynmsc/kmedoids",
    "silhouette/kmedoids", "medoid_silhouette/kmedoids", "silhouette/sklearn",
    "alternating/sklearn_extra", "pam/sklearn_extra", "build/sklearn_extra",
    "pam/pyclustering", "pam/pyclustering-python", "silhouette/pyclustering",
    "silhouette/pyclustering-python", "pam/banditpam",
]
POINT_ADAPTERS = [
    "kmeans/sklearn", "kmeans/sklearn-elkan", "kmeans/pyclustering", "kmeans/pyclustering-python",
    "kmedian/pyclustering", "kmedian/pyclustering-python", "kmedian/pyclustering-sqeuclidean",
    "clara/sklearn_extra",
]


def _entry(name: str) -> Entry:
    e = registry.get(name)
    ok, why = e.availability()
    if not ok:
        pytest.skip(f"{name} unavailable: {why}")
    return e


def _start(n: int, k: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).choice(n, k, replace=False).astype(np.int64)


def test_all_adapters_registered_with_reference_and_reason():
    for name in MEDOID_ADAPTERS + POINT_ADAPTERS + ["clarans/pyclustering"]:
        e = registry.get(name)
        assert e.reference == f"{e.algorithm}/reference"
        assert e.agreement in ("identical", "same-loss", "differs")
        assert e.note, name
        assert e.requires, name
    assert not registry.provider_errors()


@pytest.mark.parametrize("name", MEDOID_ADAPTERS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_medoid_adapter_result_is_normalised(name, dtype):
    e = _entry(name)
    D = mnist_diss(120, dtype)
    k = 4
    task = Task(k=k, diss=D, medoids=_start(120, k) if e.supports_init else None, seed=3,
                options={"minimum_k": 2} if e.algorithm == "dynmsc" else {})
    res = e(task)
    assert res.labels.dtype == np.int64 and res.medoids.dtype == np.int64
    assert res.labels.shape == (120,)
    assert_valid(res, task, name)
    # the library's call, and only that, is marked as the timed region
    assert task.timed_seconds is not None and task.timed_seconds >= 0


@pytest.mark.parametrize("name", POINT_ADAPTERS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_point_adapter_result_is_normalised(name, dtype):
    e = _entry(name)
    X = get_dataset("blobs", 150, seed=1, k=4, d=3).X.astype(dtype)
    k = 4
    task = Task(k=k, X=X, centers=X[_start(150, k)].astype(np.float64), seed=0)
    res = e(task)
    assert res.labels.dtype == np.int64
    if name == "kmedian/pyclustering":
        # the C++ kmedians does not label points by their nearest L1 median (see the adapter)
        assert res.loss == pytest.approx(float(np.abs(X - res.centers[res.labels]).sum()), rel=1e-9)
        return
    assert_valid(res, task, name)


def _local_optimum(D: np.ndarray, med: np.ndarray) -> bool:
    """No single swap of a medoid with a non-medoid lowers the loss (brute force)."""
    loss = D[med].min(axis=0).sum()
    for i, x in itertools.product(range(len(med)), range(D.shape[0])):
        if x in med:
            continue
        trial = med.copy()
        trial[i] = x
        if D[trial].min(axis=0).sum() < loss - 1e-9 * loss:
            return False
    return True


@pytest.mark.parametrize("name", ["pam/kmedoids", "pam/sklearn_extra", "fastpam1/kmedoids", "fasterpam/kmedoids"])
def test_swap_adapters_reach_a_brute_force_local_optimum(name):
    e = _entry(name)
    for seed in range(4):
        D = random_diss(25, seed, ties=seed % 2 == 1)
        res = e(Task(k=3, diss=D, medoids=_start(25, 3, seed)))
        assert _local_optimum(D, res.medoids), (name, seed)


def _build_oracle(D: np.ndarray, k: int) -> np.ndarray:
    """PAM BUILD by brute force: greedily add the point that lowers the loss most (ties: lowest index)."""
    n = D.shape[0]
    med: list[int] = []
    for _ in range(k):
        best, arg = np.inf, -1
        for x in range(n):
            if x in med:
                continue
            loss = D[med + [x]].min(axis=0).sum()
            if loss < best:
                best, arg = loss, x
        med.append(arg)
    return np.array(med)


@pytest.mark.parametrize("name", ["build/kmedoids", "build/sklearn_extra"])
def test_build_adapters_match_brute_force_build(name):
    e = _entry(name)
    for seed in range(3):
        D = random_diss(30, seed)
        res = e(Task(k=4, diss=D))
        assert sorted(res.medoids) == sorted(_build_oracle(D, 4))


def test_pyclustering_pam_ends_one_non_improving_swap_after_pam():
    """What the adapter's note claims: the same swaps as PAM, plus one that does not improve."""
    e = _entry("pam/pyclustering")
    kmedoids = pytest.importorskip("kmedoids")
    D = mnist_diss(200)
    start = _start(200, 5)
    ours = e(Task(k=5, diss=D, medoids=start))
    pam = kmedoids.pam(D, start.astype(np.uintp), max_iter=1000)
    assert ours.loss > pam.loss
    assert len(set(ours.medoids.tolist()) ^ set(int(m) for m in pam.medoids)) == 2  # one medoid swapped


def test_sklearn_extra_start_through_rows_and_through_twin_override():
    e = _entry("pam/sklearn_extra")
    D = np.array(random_diss(20, 1))
    start = np.array([2, 7, 11])
    res = e(Task(k=3, diss=D, medoids=start, max_iter=0))
    assert res.extras["init_via"].startswith("init=diss[medoids]")
    assert sorted(res.medoids) == sorted(start)
    # make point 19 a zero-distance twin of medoid 7: its row is then not unique
    D2 = D.copy()
    D2[19, :] = D2[7, :]
    D2[:, 19] = D2[:, 7]
    D2[19, 19] = D2[7, 19] = D2[19, 7] = 0.0
    res = e(Task(k=3, diss=D2, medoids=start, max_iter=0))
    assert "override" in res.extras["init_via"]
    assert sorted(res.medoids) == sorted(start)


def test_sklearn_extra_copies_read_only_input_once():
    e = _entry("alternating/sklearn_extra")
    D = mnist_diss(100)
    assert not D.flags.writeable
    res = e(Task(k=3, diss=D, medoids=_start(100, 3)))
    assert "copied_input" in res.extras


def test_kmeans_adapters_stop_at_a_lloyd_fixed_point():
    X = get_dataset("blobs", 200, seed=2, k=3, d=2).X
    for name in ["kmeans/sklearn", "kmeans/pyclustering", "kmeans/pyclustering-python"]:
        e = _entry(name)
        res = e(Task(k=3, X=X, centers=X[_start(200, 3)], options={"tol": 0.0}))
        for j in range(3):
            np.testing.assert_allclose(res.centers[j], X[res.labels == j].mean(axis=0), rtol=1e-9, atol=1e-9)


def test_kmedian_pyclustering_python_centres_are_coordinatewise_medians():
    e = _entry("kmedian/pyclustering-python")
    X = get_dataset("blobs", 121, seed=2, k=3, d=2).X
    res = e(Task(k=3, X=X, centers=X[_start(121, 3)]))
    for j in range(len(res.centers)):
        np.testing.assert_allclose(res.centers[j], np.median(X[res.labels == j], axis=0))


def test_pyclustering_records_backend_and_falls_back_when_core_unusable(monkeypatch):
    e = _entry("pam/pyclustering")
    from pyclustering.core.wrapper import ccore_library

    from bench_core.adapters import pyclustering as adapter

    D = mnist_diss(60)
    task = Task(k=3, diss=D, medoids=_start(60, 3))
    expected = "ccore" if adapter.ccore_workable() else "python (ccore requested, core not loadable)"
    assert e(task).extras["backend"] == expected
    assert registry.get("pam/pyclustering-python")(task).extras["backend"] == "python"
    monkeypatch.setattr(ccore_library, "workable", staticmethod(lambda: False))
    res = e(task)
    assert res.extras["backend"] == "python (ccore requested, core not loadable)"
    assert_valid(res, task, "pam/pyclustering")


def test_silhouette_adapters_score_singletons_zero():
    D = random_diss(40, 4)
    # medoid 0 with every other point much closer to medoids 1 or 2 -> a singleton cluster
    D = np.array(D)
    D[0, 1:] = D[1:, 0] = 10.0
    task = Task(k=3, diss=D, medoids=np.array([0, 1, 2]))
    for name in ["silhouette/pyclustering", "silhouette/pyclustering-python", "silhouette/kmedoids",
                 "silhouette/sklearn"]:
        res = _entry(name)(task)
        assert res.loss == pytest.approx(silhouette_oracle(D, res.labels), rel=1e-12, abs=1e-15), name
    res = _entry("silhouette/pyclustering")(task)
    assert res.extras["nan_points"] == 1
    ms = _entry("medoid_silhouette/kmedoids")(task)
    assert ms.loss == pytest.approx(medoid_silhouette_oracle(D[[0, 1, 2]]))


def test_msc_adapter_loss_is_one_minus_silhouette():
    e = _entry("fastmsc/kmedoids")
    D = mnist_diss(100)
    res = e(Task(k=4, diss=D, medoids=_start(100, 4)))
    assert res.loss == pytest.approx(1 - res.extras["silhouette"])
    assert res.extras["library_loss"] == pytest.approx(res.extras["silhouette"])


def test_kmedoids_threads_passed_as_n_cpu():
    e = _entry("fasterpam/kmedoids-parallel")
    res = e(Task(k=3, diss=blobs_diss(300), medoids=_start(300, 3), n_threads=2, seed=1))
    assert res.extras["n_cpu"] == 2
    assert _entry("fasterpam/kmedoids")(Task(k=3, diss=blobs_diss(300), seed=1)).extras["n_cpu"] == 1


def test_clarans_is_seeded_and_stopped_when_it_cycles():
    e = _entry("clarans/pyclustering")
    from bench_core.adapters.pyclustering import ClaransDidNotTerminate

    X = get_dataset("blobs", 100, seed=0, k=3, d=2).X
    task = Task(k=3, X=X, seed=0, options={"numlocal": 1, "maxneighbor": 20, "max_swaps": 200})
    # measured: on these 100 blobs pyclustering's CLARANS keeps accepting swaps
    with pytest.raises(ClaransDidNotTerminate):
        e(task)
    X2, _ = load_mnist(40)
    t2 = Task(k=2, X=X2, seed=5, options={"numlocal": 1, "maxneighbor": 5, "max_swaps": 30})
    outcomes = []
    for _ in range(2):
        try:
            outcomes.append(e(t2).medoids.tolist())
        except ClaransDidNotTerminate as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]


def test_unavailable_library_is_listed_with_reason():
    entry = Entry(name="pam/nolib", func=lambda task: None, family="kmedoids", requires=("no_such_module",))
    ok, why = entry.availability()
    assert not ok and "no_such_module" in why
    with pytest.raises(UnavailableError, match="no_such_module"):
        entry(Task(k=2, diss=random_diss(5)))


# ----------------------------------------------------------- normalisation

def test_relabel_to_medoids_permutes_labels():
    labels = np.array([2, 2, 0, 1, 0, 1])
    medoids = np.array([3, 0, 4])  # medoid 3 has library label 1, 0 -> 2, 4 -> 0
    out, ok = _common.relabel_to_medoids(labels, medoids)
    assert ok
    np.testing.assert_array_equal(out, [1, 1, 2, 0, 2, 0])
    assert (out[medoids] == np.arange(3)).all()


def test_relabel_refuses_medoids_sharing_a_cluster():
    out, ok = _common.relabel_to_medoids(np.array([0, 0, 1]), np.array([0, 1]))
    assert not ok
    np.testing.assert_array_equal(out, [0, 0, 1])
    D = random_diss(3)
    res = _common.medoid_result(D, [0, 1], [0, 0, 1])
    assert "relabel_failed" in res.extras


def test_labels_from_clusters_and_medoid_result_recompute_loss():
    labels = _common.labels_from_clusters([[3, 1], [0], [2, 4]], 6)
    np.testing.assert_array_equal(labels, [1, 0, 2, 0, 2, -1])
    D = random_diss(8, 2)
    med = np.array([5, 1])
    lib_labels = 1 - np.argmin(D[med], axis=0)  # the library numbers clusters the other way round
    res = _common.medoid_result(D, med.astype(np.uint64), lib_labels, library_loss=123.0)
    assert res.medoids.dtype == np.int64
    np.testing.assert_array_equal(res.labels, np.argmin(D[med], axis=0))
    assert res.loss == pytest.approx(D[med].min(axis=0).sum(), rel=1e-15)
    assert res.extras["library_loss"] == 123.0


def test_kmeans_plusplus_seeding_is_reproducible_and_distinct():
    X = get_dataset("blobs", 200, seed=0, k=4, d=2).X
    a = _common.kmeans_plusplus(X, 4, 7)
    b = _common.kmeans_plusplus(X, 4, 7)
    np.testing.assert_array_equal(a, b)
    assert len({tuple(r) for r in a}) == 4
