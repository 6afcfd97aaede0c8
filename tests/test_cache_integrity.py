"""Cached distance matrices (and the asv memo cache) are verified when loaded, never used damaged."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench_core.datasets import get_dataset
from bench_core.dissimilarity import (
    CacheIntegrityWarning,
    cache_path,
    cached_dissimilarity,
    digest_path,
    dissimilarity,
    file_digest,
)


@pytest.fixture
def ds():
    return get_dataset("blobs", 60, seed=3, k=3, d=4)


def _cached(ds, tmp_path):
    D, hit = cached_dissimilarity(ds, "euclidean", np.float64, cache_dir=tmp_path)
    assert not hit
    path = cache_path(ds.checksum, ds.n, "euclidean", np.float64, tmp_path)
    assert path.exists() and digest_path(path).exists()
    return np.array(D), path


def test_intact_cache_is_a_verified_hit(ds, tmp_path):
    D, _ = _cached(ds, tmp_path)
    again, hit = cached_dissimilarity(ds, "euclidean", np.float64, cache_dir=tmp_path)
    assert hit and isinstance(again, np.memmap)
    np.testing.assert_array_equal(again, D)


@pytest.mark.parametrize("damage", ["one-entry", "truncated", "no-digest", "bad-digest-file", "garbage"])
def test_damaged_cache_is_reported_removed_and_recomputed(ds, tmp_path, damage):
    D, path = _cached(ds, tmp_path)
    raw = bytearray(path.read_bytes())
    if damage == "one-entry":  # one float64 entry changed in place, same size: only the hash sees it
        A = np.load(path, mmap_mode="r+")
        A[7, 11] += 1e-9
        A.flush()
        del A
        expected = "contents changed on disk"
    elif damage == "truncated":
        path.write_bytes(bytes(raw[: len(raw) // 2]))
        expected = "truncated"
    elif damage == "no-digest":
        digest_path(path).unlink()
        expected = "no digest file"
    elif damage == "bad-digest-file":
        digest_path(path).write_text("{not json")
        expected = "digest file .* is unreadable"
    else:
        path.write_bytes(b"\x00garbage" * 100)
        expected = "bytes"
    with pytest.warns(CacheIntegrityWarning, match=f"not used and was removed: .*{expected}.*recomputing"):
        again, hit = cached_dissimilarity(ds, "euclidean", np.float64, cache_dir=tmp_path)
    assert not hit
    np.testing.assert_array_equal(again, D)  # the recomputed matrix, not the damaged one
    # the cache was rewritten with a fresh digest: the next load is a verified hit
    third, hit = cached_dissimilarity(ds, "euclidean", np.float64, cache_dir=tmp_path)
    assert hit
    np.testing.assert_array_equal(third, D)


def test_digest_covers_every_byte(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(bytes(range(256)) * 1000)
    a = file_digest(p)
    for algo in ("blake2b", a[0]):
        base = file_digest(p, algo)
        data = bytearray(p.read_bytes())
        data[-1] ^= 1
        p.write_bytes(bytes(data))
        assert file_digest(p, algo) != base
        data[-1] ^= 1
        p.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="unknown digest algorithm"):
        file_digest(p, "md4")


def test_runner_recomputes_a_damaged_cache_and_records_the_true_loss(tmp_path, monkeypatch):
    """End to end: a damaged cache must not change the loss of the next run."""
    from bench_core import dissimilarity as dmod

    monkeypatch.setattr(dmod, "CACHE_DIR", tmp_path / "cache")
    ds = get_dataset("blobs", 40, seed=0, k=3, d=2)
    D = dissimilarity(ds.X)
    cached_dissimilarity(ds)
    path = cache_path(ds.checksum, ds.n, "euclidean", np.float64)
    A = np.load(path, mmap_mode="r+")
    A[:] = 0.0  # a matrix of zeros would give loss 0
    A.flush()
    del A
    with pytest.warns(CacheIntegrityWarning):
        got, hit = cached_dissimilarity(ds)
    assert not hit and float(np.asarray(got).sum()) == pytest.approx(float(D.sum()))


def test_asv_memo_cache_is_verified(tmp_path, monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent))
    from bench_core.result import ClusteringResult
    from suites.common import _memo_path, memoised_fit

    calls = []

    def fit():
        calls.append(1)
        return ClusteringResult(loss=2.5, labels=np.zeros(3, dtype=np.int64), medoids=np.array([0]), n_iter=1)

    key = ("Bench", "pam/reference", 100)
    assert memoised_fit(str(tmp_path), key, fit)["loss"] == 2.5
    assert memoised_fit(str(tmp_path), key, fit)["loss"] == 2.5 and len(calls) == 1
    path = _memo_path(str(tmp_path), key)
    stored = json.loads(path.read_text())
    stored["value"]["loss"] = 0.1  # a changed number
    path.write_text(json.dumps(stored))
    with pytest.warns(RuntimeWarning, match="damaged .*digest does not match"):
        assert memoised_fit(str(tmp_path), key, fit)["loss"] == 2.5
    assert len(calls) == 2
    path.write_text("{trunc")
    with pytest.warns(RuntimeWarning, match="damaged"):
        assert memoised_fit(str(tmp_path), key, fit)["loss"] == 2.5
    assert len(calls) == 3
