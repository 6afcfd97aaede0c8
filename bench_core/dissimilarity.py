"""Dissimilarity matrices in BLAS-backed blocks, with a memory guard and an on-disk cache."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from ._validation import check_choice, check_points
from .environment import ROOT

METRICS = ("euclidean", "sqeuclidean", "manhattan", "cosine")
CACHE_DIR = Path(os.environ.get("KMBENCH_CACHE", ROOT / "datasets" / "cache"))

# Entries of ||x||^2 + ||y||^2 - 2 x.y smaller than this fraction of
# ||x||^2 + ||y||^2 have lost most of their digits to cancellation and are
# recomputed from the differences.
_CANCEL = 1e-4


class InsufficientMemoryError(MemoryError):
    """The n x n matrix would not fit in the memory available."""


def available_memory() -> int:
    """Bytes the kernel reports as available (MemAvailable), or physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(n: int, dtype, *, factor: float = 1.0, available: int | None = None, what: str = "matrix") -> int:
    """Raise :class:`InsufficientMemoryError` if ``factor * n^2 * itemsize`` exceeds what is free."""
    need = int(factor * n * n * np.dtype(dtype).itemsize)
    have = available_memory() if available is None else available
    if need > 0.9 * have:
        raise InsufficientMemoryError(
            f"the {n} x {n} {np.dtype(dtype).name} {what} needs {need / 2**30:.1f} GiB but only "
            f"{have / 2**30:.1f} GiB is available; use a smaller n, float32, or a sampling algorithm "
            f"(clara, fasterclara, clarans) that never builds the full matrix")
    return need


def _block_rows(n: int, d: int, itemsize: int, budget: int = 64 << 20) -> int:
    return max(1, min(n, budget // max(1, (n + d) * itemsize)))


def _sq_block(Xi: np.ndarray, Xj: np.ndarray, ni: np.ndarray, nj: np.ndarray) -> np.ndarray:
    """Squared distances of two row blocks via the norm expansion, repaired where it cancels."""
    G = Xi @ Xj.T
    G *= -2.0
    G += ni[:, None]
    G += nj[None, :]
    np.maximum(G, 0.0, out=G)
    bad = G < _CANCEL * (ni[:, None] + nj[None, :])
    if bad.any():
        r, c = np.nonzero(bad)
        diff = Xi[r] - Xj[c]
        G[r, c] = np.einsum("ij,ij->i", diff, diff)
    return G


def dissimilarity(X, metric: str = "euclidean", dtype=np.float64, *, out: np.ndarray | None = None,
                  max_memory: int | None = None) -> np.ndarray:
    """The n x n dissimilarity matrix of the rows of ``X``.

    Computed in row blocks with BLAS matrix products (never an n x n x d
    broadcast), in float64 whatever ``dtype`` is, then stored in ``dtype``.
    Only the upper block triangle is computed; the lower one is mirrored, so the
    result is exactly symmetric with exact zeros on the diagonal.

    ``metric``: ``"euclidean"``, ``"sqeuclidean"``, ``"manhattan"`` (L1) or
    ``"cosine"`` (1 - cosine similarity; rows of norm zero are refused).
    ``out``: an existing (n, n) array to fill, e.g. a memory map.
    """
    check_choice(metric, METRICS, name="metric")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    X = check_points(X, dtype=np.float64)
    n, d = X.shape
    if out is None:
        check_memory(n, dtype, available=max_memory)
        out = np.empty((n, n), dtype=dtype)
    elif out.shape != (n, n) or out.dtype != dtype:
        raise ValueError(f"out must have shape {(n, n)} and dtype {dtype}, got {out.shape} {out.dtype}")

    if metric == "cosine":
        # 1 - cos(x, y) = ||u - v||^2 / 2 for the unit vectors u, v: the squared
        # form goes through the same cancellation repair as the euclidean case.
        lengths = np.sqrt(np.einsum("ij,ij->i", X, X))
        if (lengths == 0).any():
            raise ValueError(f"cosine dissimilarity is undefined for all-zero rows (rows {np.nonzero(lengths == 0)[0][:5].tolist()})")
        X = X / lengths[:, None]
    if metric != "manhattan":
        norms = np.einsum("ij,ij->i", X, X)

    b = _block_rows(n, d, 8)
    for i0 in range(0, n, b):
        i1 = min(n, i0 + b)
        Xi = X[i0:i1]
        if metric in ("euclidean", "sqeuclidean"):
            B = _sq_block(Xi, X[i0:], norms[i0:i1], norms[i0:])
            if metric == "euclidean":
                np.sqrt(B, out=B)
        elif metric == "cosine":
            B = _sq_block(Xi, X[i0:], norms[i0:i1], norms[i0:])
            B *= 0.5
            np.minimum(B, 2.0, out=B)
        else:  # manhattan: no BLAS form; scipy's cdist is exact and blocked here
            from scipy.spatial.distance import cdist

            B = cdist(Xi, X[i0:], "cityblock")
        m = i1 - i0
        out[i0:i1, i0:] = B
        out[i1:, i0:i1] = B[:, m:].T
        # The diagonal block came from one product but is not exactly symmetric
        # in floating point: mirror its upper triangle and zero its diagonal.
        blk = out[i0:i1, i0:i1]
        lower = np.tril_indices(m, -1)
        blk[lower] = blk.T[lower]
        blk[np.diag_indices(m)] = 0
    return out


# ----------------------------------------------------------------------------- cache

def cache_path(checksum: str, n: int, metric: str, dtype, cache_dir: Path | None = None) -> Path:
    return Path(cache_dir or CACHE_DIR) / f"diss-{checksum}-n{n}-{metric}-{np.dtype(dtype).name}.npy"


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` via a temporary file in the same directory and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, array, allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached_dissimilarity(dataset, metric: str = "euclidean", dtype=np.float64, *,
                         cache_dir: Path | None = None, use_cache: bool = True,
                         max_memory: int | None = None) -> tuple[np.ndarray, bool]:
    """Dissimilarity matrix of a :class:`~bench_core.datasets.Dataset`, through the disk cache.

    The key is (dataset checksum, n, metric, dtype). A hit is returned as a
    read-only memory map; a miss is computed, written atomically and returned
    in memory. Returns ``(matrix, hit)``.
    """
    if dataset.diss is not None:
        return dataset.diss, True
    check_choice(metric, METRICS, name="metric")
    n = dataset.n
    path = cache_path(dataset.checksum, n, metric, dtype, cache_dir)
    if use_cache and path.exists():
        D = np.load(path, mmap_mode="r", allow_pickle=False)
        if D.shape == (n, n) and D.dtype == np.dtype(dtype):
            return D, True
    D = dissimilarity(dataset.X, metric, dtype, max_memory=max_memory)
    if use_cache:
        atomic_save_npy(path, D)
    return D, False
