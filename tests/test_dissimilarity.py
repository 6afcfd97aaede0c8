"""Dissimilarity matrices against scipy's cdist, the disk cache and the memory guard."""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from bench_core import dissimilarity as dm
from bench_core.datasets import get_dataset, load_mnist

SCIPY = {"euclidean": "euclidean", "sqeuclidean": "sqeuclidean", "manhattan": "cityblock", "cosine": "cosine"}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((157, 9))
    X[5] = X[4] + 1e-9  # a near duplicate: the norm expansion cancels here
    X[6] = 1e4 + X[7]  # far from the origin
    return {"gauss": X, "mnist": load_mnist(300, return_labels=False)}


@pytest.mark.parametrize("metric", dm.METRICS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("which", ["gauss", "mnist"])
def test_equals_cdist(data, metric, dtype, which):
    X = data[which]
    D = dm.dissimilarity(X, metric, dtype)
    ref = cdist(X, X, SCIPY[metric])
    np.fill_diagonal(ref, 0.0)
    assert D.dtype == dtype and D.shape == (len(X), len(X))
    assert np.array_equal(D, D.T), "not exactly symmetric"
    assert np.all(np.diag(D) == 0)
    if dtype == np.float64:
        # absolute error relative to the scale of the entries, and the repaired
        # near-duplicate pair must be right to many digits
        np.testing.assert_allclose(D, ref, rtol=1e-9, atol=1e-9 * ref.max())
    else:
        np.testing.assert_allclose(D, ref.astype(np.float32), rtol=2e-6, atol=1e-6 * ref.max())


def test_near_duplicate_is_repaired(data):
    X = data["gauss"]
    D = dm.dissimilarity(X, "euclidean")
    assert D[4, 5] == pytest.approx(np.linalg.norm(X[4] - X[5]), rel=1e-6)


def test_blocks_do_not_change_the_result(data, monkeypatch):
    X = data["gauss"]
    full = dm.dissimilarity(X, "euclidean")
    monkeypatch.setattr(dm, "_block_rows", lambda n, d, itemsize, budget=0: 7)
    blocked = dm.dissimilarity(X, "euclidean")
    assert np.array_equal(blocked, blocked.T) and np.all(np.diag(blocked) == 0)
    # BLAS rounds differently for other block shapes; nothing more than that changes
    np.testing.assert_allclose(blocked, full, rtol=1e-12, atol=1e-12 * full.max())


def test_bad_input():
    with pytest.raises(ValueError, match="unknown metric 'chebyshev'"):
        dm.dissimilarity(np.zeros((3, 2)), "chebyshev")
    with pytest.raises(ValueError, match="NaN or infinite"):
        dm.dissimilarity(np.array([[0.0, np.nan], [1, 2]]))
    with pytest.raises(ValueError, match="all-zero rows"):
        dm.dissimilarity(np.array([[0.0, 0.0], [1, 2]]), "cosine")
    with pytest.raises(ValueError, match="float32 or float64"):
        dm.dissimilarity(np.ones((3, 2)), dtype=np.int64)
    with pytest.raises(ValueError, match="2-D"):
        dm.dissimilarity(np.ones(3))


def test_memory_guard():
    with pytest.raises(dm.InsufficientMemoryError, match="needs 74.5 GiB"):
        dm.check_memory(100_000, np.float64, available=16 * 2**30)
    assert dm.check_memory(1000, np.float32, available=16 * 2**30) == 4_000_000
    with pytest.raises(MemoryError, match="sampling algorithm"):
        dm.dissimilarity(np.ones((50, 2)), max_memory=1000)
    assert dm.available_memory() > 0


def test_cache_miss_then_hit_is_a_readonly_memmap(tmp_path):
    ds = get_dataset("blobs", 120, seed=1)
    D1, hit1 = dm.cached_dissimilarity(ds, "euclidean", np.float32, cache_dir=tmp_path)
    D2, hit2 = dm.cached_dissimilarity(ds, "euclidean", np.float32, cache_dir=tmp_path)
    assert (hit1, hit2) == (False, True)
    assert isinstance(D2, np.memmap) and not D2.flags.writeable
    np.testing.assert_array_equal(D1, D2)
    files = sorted(p.name for p in tmp_path.iterdir())
    name = f"diss-{ds.checksum}-n120-euclidean-float32.npy"
    assert files == [name, name + ".digest"]  # the matrix and its hash (verified on every load)
    # other key -> other entry
    _, hit3 = dm.cached_dissimilarity(ds, "manhattan", np.float32, cache_dir=tmp_path)
    assert not hit3 and len(list(tmp_path.iterdir())) == 4


def test_cache_write_is_atomic(tmp_path, monkeypatch):
    """A crash while writing leaves no partial file behind, and no temporary file either."""
    ds = get_dataset("blobs", 60, seed=2)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        dm.cached_dissimilarity(ds, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    D, hit = dm.cached_dissimilarity(ds, cache_dir=tmp_path)
    assert not hit and dm.cache_path(ds.checksum, 60, "euclidean", np.float64, tmp_path).exists()


def test_precomputed_dataset_bypasses_cache(tmp_path):
    M = np.abs(np.subtract.outer(np.arange(5.0), np.arange(5.0)))
    np.save(tmp_path / "m.npy", M)
    ds = get_dataset(f"diss:{tmp_path / 'm.npy'}")
    D, hit = dm.cached_dissimilarity(ds, cache_dir=tmp_path / "c")
    assert hit and np.array_equal(D, M) and not (tmp_path / "c").exists()
