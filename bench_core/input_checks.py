"""Input checks shared by every public function.

The compiled kernels trust their inputs; everything a user can get wrong is
caught here with a message that says what was wrong and what was expected.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


def check_diss(diss, *, name: str = "diss", allow_int: bool = True, n_threads: int = 1,
               rows=None, scan: bool = True) -> np.ndarray:
    """Validate a dissimilarity matrix without copying it.

    Returns the input itself when it is already a C-contiguous float32, float64,
    int32 or int64 array (read-only and memory-mapped arrays included); other
    dtypes or layouts are converted once. Asymmetric matrices are accepted:
    the algorithms read ``diss[m, o]`` as the cost of point ``o`` under medoid ``m``.
    NaN, infinite and negative entries are found in one streaming pass (row
    blocks split between ``n_threads`` threads). A kernel that reads only some
    rows passes them as ``rows`` (only those are scanned); one that checks the
    entries in its own pass passes ``scan=False`` and calls :func:`raise_for_diss`
    when its flags are set.
    """
    if not hasattr(diss, "shape") or not hasattr(diss, "dtype"):
        diss = np.asarray(diss)
    if diss.ndim != 2:
        raise ValueError(f"{name} must be a 2-D square matrix, got an array with {diss.ndim} dimension(s)")
    n, m = diss.shape
    if n != m:
        raise ValueError(f"{name} must be square (n x n), got shape {diss.shape}")
    if n == 0:
        raise ValueError(f"{name} is empty; expected at least one row")
    dt = diss.dtype
    if dt in (np.float32, np.float64) or (allow_int and dt in (np.int32, np.int64)):
        arr = np.ascontiguousarray(diss)
    elif dt.kind in "iub":
        if not allow_int:
            raise ValueError(f"{name} has integer dtype {dt}; expected float32 or float64")
        arr = np.ascontiguousarray(diss, dtype=np.int64)
    elif dt.kind == "f":
        arr = np.ascontiguousarray(diss, dtype=np.float64)
    else:
        raise ValueError(f"{name} has dtype {dt}; expected float32, float64, int32 or int64")
    if not scan:
        return arr
    from .algorithms._scan import scan_matrix, scan_rows  # here: the algorithms import this module

    if rows is None:
        flags = scan_matrix(arr, n_threads)
    else:
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        flags = scan_rows(arr, rows, n_threads)
    if flags:
        raise_for_diss(arr if rows is None else arr[rows], flags, name=name)
    return arr


def raise_for_diss(arr: np.ndarray, flags: int, *, name: str = "diss") -> None:
    """Raise the error of a dissimilarity matrix whose scan set ``flags`` (1: NaN or
    infinity, 2: a negative entry); the exact culprit is looked up only here."""
    if flags & 1 and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; expected finite dissimilarities")
    if flags & 2:
        raise ValueError(f"{name} contains negative entries (min {arr.min()}); dissimilarities must be >= 0")
    if flags & 1:
        raise ValueError(f"{name}: sums of its entries exceed the float64 range (largest "
                         f"{arr.max()}); expected dissimilarities small enough to add up")


def raise_kernel_found_bad(D: np.ndarray, algorithm: str, *, n_threads: int = 1) -> None:
    """A kernel that checked the entries of ``D`` on its own pass found a bad one: raise
    the scan's message, which names it (a RuntimeError if the scan finds none)."""
    check_diss(D, n_threads=n_threads)
    raise RuntimeError(f"{algorithm}: the kernel's input check and the scan of the matrix disagree")


def check_points(X, *, name: str = "X", dtype=None) -> np.ndarray:
    """Validate a data matrix (n, d): finite, 2-D, non-empty; float32/float64."""
    X = np.asarray(X)
    if X.ndim == 1:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got a 1-D array; use X.reshape(-1, 1) for one feature")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got {X.ndim} dimensions")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); expected at least one sample and one feature")
    if dtype is None:
        dtype = X.dtype if X.dtype in FLOAT_DTYPES else np.float64
    if X.dtype.kind not in "fiub":
        raise ValueError(f"{name} has dtype {X.dtype}; expected numbers")
    X = np.ascontiguousarray(X, dtype=dtype)
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinite values; expected finite numbers")
    return X


def check_k(k, n: int, *, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {k!r}")
    k = int(k)
    if k < 1 or k > n:
        raise ValueError(f"{name}={k} is out of range; expected 1 <= {name} <= n = {n}")
    return k


def check_medoids(medoids, n: int, *, name: str = "medoids") -> np.ndarray:
    """Validate explicit initial medoids: distinct row indices in [0, n)."""
    arr = np.asarray(medoids)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of row indices, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; expected at least one medoid index")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"{name} must contain integer row indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.min() < 0 or arr.max() >= n:
        bad = arr[(arr < 0) | (arr >= n)]
        raise ValueError(f"{name} contains indices out of range {bad.tolist()[:5]}; expected 0 <= index < n = {n}")
    if len(np.unique(arr)) != len(arr):
        uniq, counts = np.unique(arr, return_counts=True)
        raise ValueError(f"{name} contains repeated indices {uniq[counts > 1].tolist()[:5]}; expected distinct medoids")
    if len(arr) > n:
        raise ValueError(f"{name} has {len(arr)} entries but n = {n}")
    return np.ascontiguousarray(arr)


def check_labels(labels, n: int, *, name: str = "labels") -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"{name} must have length n = {n}, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integers, got dtype {arr.dtype}")
    if n and arr.min() < 0:
        raise ValueError(f"{name} must be >= 0, got min {arr.min()}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def check_choice(value, choices: Sequence[str], *, name: str) -> str:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(map(repr, choices))}")
    return value


def check_positive_int(value, *, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_random_state(seed) -> np.random.Generator:
    """A NumPy Generator from None, an int, a Generator or a RandomState."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.RandomState):
        return np.random.default_rng(seed.randint(0, 2**31 - 1))
    if seed is None or isinstance(seed, numbers.Integral):
        return np.random.default_rng(seed)
    raise ValueError(f"random_state must be None, an int, a numpy Generator or RandomState, got {seed!r}")
