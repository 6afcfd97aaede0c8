"""Dissimilarity matrices in BLAS-backed blocks, with a memory guard and an on-disk cache.

Every cached matrix ``diss-*.npy`` has a sidecar ``diss-*.npy.digest`` (its size and
an xxh3-128 or BLAKE2b hash of all its bytes), written after the matrix; a load
hashes the file again and uses it only if both agree (see :func:`load_verified`).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np

from .atomic import atomic_write
from .environment import ROOT
from .input_checks import check_choice, check_points

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


def prepare_rows(X: np.ndarray, metric: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The rows as the metric sees them, and their squared norms (None for manhattan).

    For cosine, 1 - cos(x, y) = ||u - v||^2 / 2 for the unit vectors u, v: the rows
    are normalised so that every metric but manhattan goes through
    :func:`squared_block` and its cancellation repair.
    """
    if metric == "cosine":
        lengths = np.sqrt(np.einsum("ij,ij->i", X, X, dtype=np.float64))
        if (lengths == 0).any():
            raise ValueError(f"cosine dissimilarity is undefined for all-zero rows (rows {np.nonzero(lengths == 0)[0][:5].tolist()})")
        X = (X / lengths[:, None]).astype(X.dtype, copy=False)
    if metric == "manhattan":
        return X, None
    return X, np.einsum("ij,ij->i", X, X, dtype=np.float64)


def squared_block(A: np.ndarray, B: np.ndarray, na: np.ndarray, nb: np.ndarray,
                  exact: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Squared distances between the rows of A and B via ||a||^2 + ||b||^2 - 2 a.b.

    The product runs in the dtype of A and B. Entries smaller than ``_CANCEL`` times
    ||a||^2 + ||b||^2 have lost most of their digits to cancellation and are
    recomputed from the differences in float64, from ``exact`` (float64 copies of
    the rows) when given, else from A and B.
    """
    G = A @ B.T
    G *= -2
    G += na[:, None].astype(G.dtype, copy=False)
    G += nb[None, :].astype(G.dtype, copy=False)
    np.maximum(G, 0, out=G)
    bad = G < _CANCEL * (na[:, None] + nb[None, :])
    if bad.any():
        r, c = np.nonzero(bad)
        Ea, Eb = exact if exact is not None else (A, B)
        diff = np.asarray(Ea[r], dtype=np.float64) - Eb[c]
        G[r, c] = np.einsum("ij,ij->i", diff, diff)
    return G


def finish_block(G: np.ndarray, metric: str) -> np.ndarray:
    """Turn squared distances into the metric's values, in place."""
    if metric == "euclidean":
        np.sqrt(G, out=G)
    elif metric == "cosine":
        G *= 0.5
        np.minimum(G, 2, out=G)
    return G


def _checked(X, metric: str, dtype) -> tuple[np.ndarray, np.dtype]:
    """The points in float64 and the matrix dtype, after checking the metric and the dtype."""
    check_choice(metric, METRICS, name="metric")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return check_points(X, dtype=np.float64), dtype


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
    X, dtype = _checked(X, metric, dtype)
    n, d = X.shape
    if out is None:
        check_memory(n, dtype, available=max_memory)
        out = np.empty((n, n), dtype=dtype)
    elif out.shape != (n, n) or out.dtype != dtype:
        raise ValueError(f"out must have shape {(n, n)} and dtype {dtype}, got {out.shape} {out.dtype}")

    X, norms = prepare_rows(X, metric)
    b = _block_rows(n, d, 8)
    for i0 in range(0, n, b):
        i1 = min(n, i0 + b)
        if metric == "manhattan":  # no BLAS form; scipy's cdist is exact and blocked here
            from scipy.spatial.distance import cdist

            B = cdist(X[i0:i1], X[i0:], "cityblock")
        else:
            B = finish_block(squared_block(X[i0:i1], X[i0:], norms[i0:i1], norms[i0:]), metric)
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


def point_rows(X, metric: str = "euclidean", dtype=np.float64):
    """Blocks of the :func:`dissimilarity` matrix of ``X`` computed from the points, on demand.

    Returns ``dist(rows, cols=None)``, the float64 block ``D[rows][:, cols]`` (every
    column when ``cols`` is None) by the matrix's own steps (float64 products with the
    cancellation repair, exact zeros for a point against itself, rounded to ``dtype``),
    in O((len(rows) + len(cols)) d) memory besides the block. For the inits that read
    few rows (:func:`bench_core.algorithms.init.seeded_medoids`) where the n x n matrix
    does not fit. The values are the matrix's for integer-valued data; otherwise an
    entry can differ from it in the last bit (the matrix mirrors its lower triangle
    and blocks its products differently).
    """
    X, dtype = _checked(X, metric, dtype)
    Xp, norms = prepare_rows(X, metric)
    n = Xp.shape[0]

    def dist(rows: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.intp)
        at = np.arange(n) if cols is None else np.asarray(cols, dtype=np.intp)
        A, B = Xp[rows], (Xp if cols is None else Xp[at])
        if metric == "manhattan":
            from scipy.spatial.distance import cdist

            G = cdist(A, B, "cityblock")
        else:
            G = finish_block(squared_block(A, B, norms[rows], norms[at]), metric)
        G[rows[:, None] == at[None, :]] = 0.0
        return G if dtype == np.float64 else G.astype(dtype).astype(np.float64)

    return dist


# ----------------------------------------------------------------------------- cache

def cache_path(checksum: str, n: int, metric: str, dtype, cache_dir: Path | None = None) -> Path:
    return Path(cache_dir or CACHE_DIR) / f"diss-{checksum}-n{n}-{metric}-{np.dtype(dtype).name}.npy"


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` atomically (see :mod:`bench_core.atomic`)."""
    atomic_write(path, lambda fh: np.save(fh, array, allow_pickle=False))


class CacheIntegrityWarning(RuntimeWarning):
    """A cached matrix failed its check and was removed (it is recomputed, never used)."""


def _hasher():
    """xxh3-128 when the ``xxhash`` package is installed (~10x faster), else BLAKE2b."""
    try:
        import xxhash

        return "xxh3_128", xxhash.xxh3_128()
    except ImportError:
        import hashlib

        return "blake2b", hashlib.blake2b(digest_size=16)


def file_digest(path: Path, algorithm: str | None = None, chunk: int = 64 << 20) -> tuple[str, str]:
    """``(algorithm, hex digest)`` of the bytes of ``path``, hashed through a read-only memory map.

    ``algorithm`` picks ``"xxh3_128"`` or ``"blake2b"`` (the default: the fastest available).
    Mapping the file instead of reading it saves copying it out of the page cache
    (about 2.5x less CPU time for xxh3 on an 800 MB matrix), and the pages it faults
    in are the ones the algorithms read next.
    """
    import mmap

    if algorithm is None:
        algorithm, h = _hasher()
    elif algorithm == "blake2b":
        import hashlib

        h = hashlib.blake2b(digest_size=16)
    elif algorithm == "xxh3_128":
        import xxhash

        h = xxhash.xxh3_128()
    else:
        raise ValueError(f"unknown digest algorithm {algorithm!r}; expected xxh3_128 or blake2b")
    with open(path, "rb", buffering=0) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size:  # an empty file cannot be mapped; its digest is that of no bytes
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
                view = memoryview(m)
                try:
                    for i in range(0, size, chunk):
                        h.update(view[i:i + chunk])
                finally:
                    view.release()
    return algorithm, h.hexdigest()


def digest_path(path: Path) -> Path:
    """The sidecar ``<file>.digest`` holding the size and hash of a cached ``<file>``."""
    return Path(str(path) + ".digest")


def write_digest(path: Path) -> None:
    """Hash ``path`` and write its sidecar atomically (after the file itself is in place)."""
    algorithm, digest = file_digest(path)
    text = json.dumps({"algorithm": algorithm, "digest": digest, "size": path.stat().st_size})
    atomic_write(digest_path(path), lambda fh: fh.write(text.encode()))


def verify_file(path: Path) -> str | None:
    """None when ``path`` matches its sidecar digest, else what is wrong (a sentence)."""
    side = digest_path(path)
    if not side.exists():
        return f"{path.name} has no digest file {side.name} (written before integrity checks, or interrupted)"
    try:
        meta = json.loads(side.read_text())
        algorithm, want, size = meta["algorithm"], meta["digest"], int(meta["size"])
    except (ValueError, KeyError, TypeError, OSError) as exc:
        return f"its digest file {side.name} is unreadable ({type(exc).__name__}: {exc})"
    have_size = path.stat().st_size
    if have_size != size:
        return f"{path.name} has {have_size} bytes, {size} were written (truncated or overwritten)"
    try:
        _, got = file_digest(path, algorithm)
    except ImportError:  # written with xxhash, which is gone now: cannot check, so do not trust
        return f"its {algorithm} digest cannot be checked without the xxhash package"
    if got != want:
        return f"the {algorithm} hash of {path.name} is {got}, {want} was written: the contents changed on disk"
    return None


def remove_cached(path: Path) -> None:
    path.unlink(missing_ok=True)
    digest_path(path).unlink(missing_ok=True)


def load_verified(path: Path, shape: tuple[int, ...], dtype) -> np.ndarray | None:
    """The cached array at ``path`` as a read-only memory map, or None when absent or damaged.

    Every byte is hashed and compared with the digest written beside it, so a single
    changed entry is caught; a damaged, truncated or unverifiable file is reported
    (a :class:`CacheIntegrityWarning`) and removed, and the caller recomputes it.
    """
    if not path.exists():
        return None
    problem = verify_file(path)
    D = None
    if problem is None:
        try:
            D = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as exc:
            problem = f"numpy cannot read it ({exc})"
        else:
            if D.shape != tuple(shape) or D.dtype != np.dtype(dtype):
                problem = f"it holds {D.shape} {D.dtype}, expected {tuple(shape)} {np.dtype(dtype)}"
                D = None
    if problem is not None:
        warnings.warn(f"cached matrix {path} is not used and was removed: {problem}; recomputing it",
                      CacheIntegrityWarning, stacklevel=3)
        remove_cached(path)
        return None
    return D


def cached_dissimilarity(dataset, metric: str = "euclidean", dtype=np.float64, *,
                         cache_dir: Path | None = None, use_cache: bool = True,
                         max_memory: int | None = None) -> tuple[np.ndarray, bool]:
    """Dissimilarity matrix of a :class:`~bench_core.datasets.Dataset`, through the disk cache.

    The key is (dataset checksum, n, metric, dtype). A hit is verified against the
    hash written beside it (:func:`load_verified`) and returned as a read-only
    memory map; a miss (or a damaged file) is computed, written atomically with
    its digest and returned in memory. Returns ``(matrix, hit)``.
    """
    if dataset.diss is not None:
        return dataset.diss, True
    check_choice(metric, METRICS, name="metric")
    n = dataset.n
    path = cache_path(dataset.checksum, n, metric, dtype, cache_dir)
    if use_cache:
        D = load_verified(path, (n, n), dtype)
        if D is not None:
            return D, True
    D = dissimilarity(dataset.X, metric, dtype, max_memory=max_memory)
    if use_cache:
        atomic_save_npy(path, D)
        write_digest(path)
    return D, False
