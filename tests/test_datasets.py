"""Bundled MNIST, checksums, generators, user files."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from bench_core import datasets as ds
from bench_core.datasets import mnist as mnist_mod


def test_mnist_first_rows_and_labels():
    X, y = ds.load_mnist(50)
    assert X.shape == (50, 784) and X.dtype == np.float64
    assert y.shape == (50,) and y.dtype == np.int64
    assert 0 <= X.min() and X.max() <= 255 and X.max() > 200
    # the first MNIST test labels are well known: 7 2 1 0 4 1 4 9 5 9
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    Xall, yall = ds.load_mnist()
    assert Xall.shape == (10000, 784)
    np.testing.assert_array_equal(Xall[:50], X)
    assert np.bincount(yall).min() > 800  # all ten digits present


def test_mnist_float32_and_range_errors():
    assert ds.load_mnist(5, dtype=np.float32, return_labels=False).dtype == np.float32
    with pytest.raises(ValueError, match="out of range"):
        ds.load_mnist(10001)
    with pytest.raises(ValueError, match="out of range"):
        ds.load_mnist(0)


def _copy_bundle(tmp_path):
    (tmp_path / "mnist").mkdir(parents=True)
    for f in mnist_mod.MANIFEST.parent.joinpath("mnist").glob("*.gz"):
        shutil.copy(f, tmp_path / "mnist" / f.name)
    shutil.copy(mnist_mod.MANIFEST, tmp_path / "manifest.json")
    return tmp_path


def test_corrupted_copy_is_refused_and_nothing_is_cached(tmp_path, monkeypatch):
    from bench_core.dissimilarity import cached_dissimilarity

    root = _copy_bundle(tmp_path / "data")
    img = root / "mnist" / "t10k-images-idx3-ubyte.gz"
    raw = bytearray(img.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    img.write_bytes(bytes(raw))
    monkeypatch.setattr(mnist_mod, "DATA_DIR", root)
    monkeypatch.setattr(mnist_mod, "MANIFEST", root / "manifest.json")
    cache = tmp_path / "cache"
    with pytest.raises(ds.ChecksumError, match="corrupted"):
        D, _ = cached_dissimilarity(ds.get_dataset("mnist", 100), cache_dir=cache)
    assert not cache.exists() or not any(cache.iterdir())


def test_missing_bundle_file_is_clear(tmp_path, monkeypatch):
    root = _copy_bundle(tmp_path)
    (root / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setattr(mnist_mod, "DATA_DIR", root)
    monkeypatch.setattr(mnist_mod, "MANIFEST", root / "manifest.json")
    with pytest.raises(FileNotFoundError, match="missing"):
        ds.load_mnist(10)


def test_full_mnist_from_directory(tmp_path):
    # a directory with a "training set" (here: a copy of the first 30 test images,
    # written uncompressed) and the test set: training rows come first.
    bundled = mnist_mod.DATA_DIR / "mnist"
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        shutil.copy(bundled / f"{stem}.gz", tmp_path / f"{stem}.gz")
    imgs = mnist_mod.read_idx(bundled / "t10k-images-idx3-ubyte.gz")[:30]
    labs = mnist_mod.read_idx(bundled / "t10k-labels-idx1-ubyte.gz")[:30]
    header = bytes([0, 0, 8, 3]) + b"".join(int(v).to_bytes(4, "big") for v in imgs.shape)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(header + imgs.tobytes())
    header = bytes([0, 0, 8, 1]) + len(labs).to_bytes(4, "big")
    with gzip.open(tmp_path / "train-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(header + labs.tobytes())
    X, y = ds.load_mnist(source=tmp_path)
    assert X.shape == (10030, 784)
    np.testing.assert_array_equal(X[:30], X[30:60])
    assert "train-images" in ds.load_mnist.last_origin
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no MNIST IDX files"):
        ds.load_mnist(source=empty)


def test_read_idx_rejects_garbage(tmp_path):
    p = tmp_path / "bad-idx"
    p.write_bytes(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"abc")
    with pytest.raises(ValueError, match="header says"):
        ds.read_idx(p)
    p.write_bytes(b"GIF89a--------")
    with pytest.raises(ValueError, match="not an unsigned-byte IDX"):
        ds.read_idx(p)


@pytest.mark.parametrize("name", ["blobs", "blobs-outliers", "student-t", "tutorial3", "elbow4"])
def test_generators_are_deterministic_per_seed(name):
    a = ds.get_dataset(name, 200, seed=3)
    b = ds.get_dataset(name, 200, seed=3)
    c = ds.get_dataset(name, 200, seed=4)
    np.testing.assert_array_equal(a.X, b.X)
    assert a.checksum == b.checksum
    assert a.checksum != c.checksum
    assert a.X.shape[0] == 200


def test_generator_shapes_and_structure():
    X, y, centers = ds.make_blobs(500, d=3, k=4, spread=0.1, seed=0, return_centers=True)
    assert X.shape == (500, 3) and centers.shape == (4, 3)
    assert np.bincount(y).tolist() == [125] * 4
    assert np.abs(X - centers[y]).max() < 1.0
    X, y = ds.make_blobs_outliers(1000, outlier_fraction=0.2, seed=0)
    assert (y == -1).sum() == 200
    X, y = ds.make_tutorial3(300, spread=0.01)
    np.testing.assert_allclose(X[y == 2].mean(axis=0), [2, 4], atol=0.01)
    X, y = ds.make_elbow4(400)
    assert len(np.unique(y)) == 4
    with pytest.raises(ValueError, match="outlier_fraction"):
        ds.make_blobs_outliers(100, outlier_fraction=1.5)


@pytest.mark.parametrize("name,shape", [("iris", (150, 4)), ("wine", (178, 13)), ("digits", (1797, 64))])
def test_sklearn_sets(name, shape):
    d = ds.get_dataset(name)
    assert d.X.shape == shape
    assert ds.get_dataset(name, 20).X.shape == (20, shape[1])


def test_user_files(tmp_path):
    X = np.arange(12, dtype=float).reshape(4, 3)
    np.save(tmp_path / "x.npy", X)
    np.savetxt(tmp_path / "x.csv", X, delimiter=",")
    for f in ("x.npy", "x.csv"):
        d = ds.get_dataset(f"file:{tmp_path / f}")
        np.testing.assert_array_equal(d.X, X)
    D = np.abs(X[:, None, 0] - X[None, :, 0])
    np.save(tmp_path / "d.npy", D)
    d = ds.get_dataset(f"diss:{tmp_path / 'd.npy'}")
    assert d.X is None and d.diss.shape == (4, 4) and d.n == 4
    np.save(tmp_path / "bad.npy", np.zeros((3, 4)))
    with pytest.raises(ValueError, match="square"):
        ds.get_dataset(f"diss:{tmp_path / 'bad.npy'}")
    with pytest.raises(FileNotFoundError):
        ds.get_dataset(f"file:{tmp_path / 'nope.npy'}")
    (tmp_path / "x.parquet").write_text("")
    with pytest.raises(ValueError, match="expected .npy or .csv"):
        ds.get_dataset(f"file:{tmp_path / 'x.parquet'}")


def test_unknown_dataset_lists_known():
    with pytest.raises(ValueError, match="known: mnist"):
        ds.get_dataset("mnist-fashion")


def test_checksum_depends_on_dtype_shape_and_values():
    a = np.zeros((4, 2))
    assert ds.array_checksum(a) != ds.array_checksum(a.astype(np.float32))
    assert ds.array_checksum(a) != ds.array_checksum(a.reshape(2, 4))
    b = a.copy()
    b[0, 0] = 1e-300
    assert ds.array_checksum(a) != ds.array_checksum(b)
    assert ds.array_checksum(np.asfortranarray(np.arange(6.0).reshape(2, 3))) == ds.array_checksum(np.arange(6.0).reshape(2, 3))
