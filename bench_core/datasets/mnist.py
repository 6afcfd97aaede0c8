"""MNIST from IDX files: the bundled test set, or the full 70,000 rows on request."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ..environment import ROOT

DATA_DIR = Path(os.environ.get("KMBENCH_DATA_DIR", ROOT / "datasets"))
MANIFEST = DATA_DIR / "manifest.json"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"


class ChecksumError(ValueError):
    """A data file does not match the checksum in the manifest."""


def md5sum(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _manifest() -> dict:
    return json.loads(MANIFEST.read_text())


def verify(path: Path) -> None:
    """Check ``path`` against the manifest; raise :class:`ChecksumError` on mismatch."""
    expected = _manifest()["mnist"]["files"].get(path.name)
    if expected is None:
        raise ChecksumError(f"{path.name} is not listed in {MANIFEST}")
    got = md5sum(path)
    if got != expected["md5"]:
        raise ChecksumError(
            f"{path} is corrupted or not the bundled file: md5 {got}, expected {expected['md5']} "
            f"({expected['bytes']} bytes, size on disk {path.stat().st_size}); restore it from git "
            f"(git checkout -- {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path})"
        )


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (optionally gzip-compressed) into a uint8 array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 8:
        raise ValueError(f"{path} is too short to be an IDX file ({len(raw)} bytes)")
    zero, dtype_code, ndim = raw[0] * 256 + raw[1], raw[2], raw[3]
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (magic {raw[:4].hex()})")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(raw) - offset != expected:
        raise ValueError(f"{path}: header says {dims} ({expected} bytes), file has {len(raw) - offset}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def _find(directory: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        p = directory / name
        if p.exists():
            return p
    return None


def load_mnist(n: int | None = None, *, dtype=np.float64, source: str | os.PathLike | None = None,
               return_labels: bool = True):
    """The first ``n`` MNIST images as an (n, 784) float array, and their labels.

    ``source=None`` (default) reads the bundled test set (10,000 rows) and checks
    its md5 against ``datasets/manifest.json``. ``source`` may also be a directory
    holding the IDX files of the full MNIST (training set first, then the test
    set, 70,000 rows, the order of OpenML's ``mnist_784``), or ``"openml"`` to
    download ``mnist_784`` with scikit-learn (needs network; only on request).
    Pixel values stay 0..255.
    """
    if source is None:
        directory = DATA_DIR / "mnist"
        paths = [directory / (TEST_IMAGES + ".gz"), directory / (TEST_LABELS + ".gz")]
        for p in paths:
            if not p.exists():
                raise FileNotFoundError(f"bundled MNIST file {p} is missing; restore it from git")
            verify(p)
        images, labels = read_idx(paths[0]), read_idx(paths[1])
        origin = f"bundled MNIST test set ({directory})"
    elif str(source) == "openml":
        from sklearn.datasets import fetch_openml

        bunch = fetch_openml("mnist_784", version=1, as_frame=False, parser="liac-arff")
        images, labels = bunch.data.astype(np.uint8), bunch.target.astype(np.uint8)
        origin = "OpenML mnist_784 (downloaded)"
    else:
        directory = Path(source)
        if not directory.is_dir():
            raise FileNotFoundError(f"MNIST source {directory} is not a directory of IDX files")
        parts = []
        for img, lab in ((TRAIN_IMAGES, TRAIN_LABELS), (TEST_IMAGES, TEST_LABELS)):
            pi, pl = _find(directory, img), _find(directory, lab)
            if pi is not None and pl is not None:
                parts.append((read_idx(pi), read_idx(pl), pi.name))
        if not parts:
            raise FileNotFoundError(
                f"no MNIST IDX files in {directory}; expected {TRAIN_IMAGES}[.gz] and/or {TEST_IMAGES}[.gz] with labels")
        images = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
        origin = f"{directory}: " + " + ".join(p[2] for p in parts)
    images = images.reshape(len(images), -1)
    total = len(images)
    if n is not None:
        if n < 1 or n > total:
            raise ValueError(f"n={n} is out of range; {origin} has {total} rows")
        images, labels = images[:n], labels[:n]
    X = np.ascontiguousarray(images, dtype=dtype)
    load_mnist.last_origin = origin  # type: ignore[attr-defined]
    return (X, labels.astype(np.int64)) if return_labels else X
