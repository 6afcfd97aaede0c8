"""Every threaded reference kernel gives the same bits for 1, 2 and 3 threads.

The matrices are sized so that the candidates, rows and points are split into
several blocks (FastMSC's candidate blocks hold 256, k-means' row blocks 256),
and the thread counts are passed explicitly (OpenMP may run fewer threads on a
busy machine, never a different result).
"""

from __future__ import annotations

import numpy as np
import pytest
from bench_core.algorithms._scan import scan_matrix
from threadpoolctl import threadpool_limits

from bench_core.algorithms import assignment, kmeans, kmedian, msc, pam, silhouette

THREADS = (1, 2, 3)


def _diss(n: int, dtype=np.float64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) + rng.integers(0, 4, size=(n, 1))  # a few clusters
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    if np.dtype(dtype).kind == "i":
        return np.round(D * 100).astype(dtype)
    return D.astype(dtype)


def _key(res):
    """Everything a result says, as exact values."""
    if isinstance(res, tuple):
        return tuple(_key(r) for r in res)
    if isinstance(res, float):
        return res.hex()
    if isinstance(res, np.ndarray):
        return (res.dtype.str, res.tobytes())
    extras = {k: _key(v) if isinstance(v, np.ndarray | float) else repr(v)
              for k, v in res.extras.items()}
    return (float(res.loss).hex(), _key(np.asarray(res.labels)),
            None if res.medoids is None else _key(np.asarray(res.medoids)),
            None if res.centers is None else _key(np.asarray(res.centers)),
            res.n_iter, res.n_swap, res.converged, sorted(extras.items()))


def _same_for_all_threads(f, *args, **kw):
    keys = [_key(f(*args, n_threads=t, **kw)) for t in THREADS]
    assert keys[1] == keys[0], f"{getattr(f, '__name__', f)}: 2 threads differ from 1"
    assert keys[2] == keys[0], f"{getattr(f, '__name__', f)}: 3 threads differ from 1"
    return keys[0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.int64])
@pytest.mark.parametrize("k", [1, 2, 5, 12])
def test_pam_family(dtype, k):
    D = _diss(300, dtype)
    start = np.arange(k) * 7 + 3
    _same_for_all_threads(pam.build, D, k)
    for f in (pam.pam, pam.fastpam1, pam.fasterpam, pam.alternating):
        _same_for_all_threads(f, D, start)
    _same_for_all_threads(pam.pam, D, k)  # from BUILD
    _same_for_all_threads(pam.fasterpam, D, k, random_state=2, shuffle=True)


def test_build_matches_plain_greedy():
    """The threaded lazy BUILD picks the medoids of the textbook greedy loop."""
    D = _diss(120, seed=6)
    med = [int(np.argmin(D.sum(axis=1)))]
    near = D[med[0]].copy()
    for _ in range(5):
        gains = np.maximum(near[None, :] - D, 0).sum(axis=1)
        gains[med] = -1
        med.append(int(np.argmax(gains)))
        near = np.minimum(near, D[med[-1]])
    for t in THREADS:
        assert pam.build(D, 6, n_threads=t).medoids.tolist() == med


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
@pytest.mark.parametrize("k", [2, 3, 8])
def test_medoid_silhouette_clustering(dtype, k):
    D = _diss(600, dtype, seed=1)  # three candidate blocks for FastMSC
    start = np.arange(k) * 11 + 1
    for f in (msc.fastmsc, msc.fastermsc, msc.pammedsil):
        _same_for_all_threads(f, D, start, max_iter=5)
    _same_for_all_threads(msc.dynmsc, D, start, minimum_k=2, max_iter=3)


def test_repeated_threaded_runs_agree():
    """Several runs at 3 threads (different interleavings each time) give one result:
    a value shared between threads by mistake would show here sooner or later."""
    D = _diss(1100, seed=7)
    start = np.arange(9) * 97 + 5
    for f in (msc.fastmsc, msc.pammedsil, pam.pam, pam.fastpam1):
        want = _key(f(D, start, max_iter=3, n_threads=1))
        for _ in range(3):
            assert _key(f(D, start, max_iter=3, n_threads=3)) == want, f.__name__


@pytest.mark.parametrize("k", [2, 3, 4])
def test_pamsil(k):
    D = _diss(45, seed=2)
    _same_for_all_threads(msc.pamsil, D, np.arange(k) * 5, max_iter=3)
    _same_for_all_threads(msc.pamsil, D, k, max_iter=2)  # from BUILD


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32])
def test_silhouettes_and_assignment(dtype):
    D = _diss(700, dtype, seed=3)
    labels = np.random.default_rng(0).integers(0, 6, size=700)
    med = np.array([5, 100, 200, 333, 500, 650])
    for samples in (False, True):
        _same_for_all_threads(silhouette.silhouette, D, labels, samples=samples)
        _same_for_all_threads(silhouette.medoid_silhouette, D, med, samples=samples)
    _same_for_all_threads(assignment.assign, D, med)
    _same_for_all_threads(assignment.loss, D, med)


def test_threaded_values_match_one_thread_oracle():
    """Not only the same for all thread counts: the same as a direct computation."""
    D = _diss(300, seed=4)
    med = np.array([3, 50, 120, 260])
    labels, total = assignment.assign(D, med, n_threads=3)
    near = D[med].min(axis=0)
    near[med] = 0.0
    expected = np.argmin(D[med], axis=0)  # ties to the first listed medoid
    expected[med] = np.arange(len(med))   # a medoid is in its own cluster
    assert np.array_equal(labels, expected)
    assert total == pytest.approx(near.sum(), rel=1e-12)
    ms = silhouette.medoid_silhouette(D, med, n_threads=3)
    two = np.sort(D[med], axis=0)[:2]
    r = np.where(two[0] == 0, 0.0, two[0] / np.where(two[1] == 0, 1, two[1]))
    assert ms == pytest.approx(1 - r.mean(), rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [1, 7, 30])
def test_kmeans_and_kmedian(dtype, k):
    X = np.random.default_rng(5).normal(size=(2000, 9)).astype(dtype)
    X[:, 0] += np.repeat(np.arange(10), 200)
    with threadpool_limits(limits=1, user_api="blas"):  # one BLAS schedule for every run
        _same_for_all_threads(kmeans.kmeans, X, k, random_state=0, max_iter=20)
    _same_for_all_threads(kmedian.kmedian, X, k, random_state=0, max_iter=10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.int64])
def test_input_scan_finds_every_bad_entry(dtype):
    n = 300
    D = np.ones((n, n), dtype=dtype)
    for t in THREADS:
        assert scan_matrix(D, t) == 0
    rng = np.random.default_rng(0)
    for i, j in [(0, 0), (n - 1, n - 1), (130, 7), *rng.integers(0, n, size=(5, 2))]:
        E = D.copy()
        E[i, j] = -1
        assert [scan_matrix(E, t) for t in THREADS] == [2, 2, 2]
        if np.dtype(dtype).kind == "f":
            for bad in (np.nan, np.inf, -np.inf):
                E[i, j] = bad
                want = 3 if bad == -np.inf else 1
                assert [scan_matrix(E, t) for t in THREADS] == [want] * 3


def test_check_diss_messages_unchanged():
    D = _diss(50)
    D[3, 4] = -0.5
    with pytest.raises(ValueError, match=r"negative entries \(min -0.5\)"):
        pam.pam(D, 3, n_threads=2)
    D[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        silhouette.silhouette(D, np.arange(50) % 3, n_threads=2)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_n_threads_validated(bad):
    D = _diss(20)
    with pytest.raises(ValueError, match="n_threads"):
        pam.pam(D, 2, n_threads=bad)
