"""The one start: the initial medoids (or centres) of a seed, shared by every tool.

``kmbench run``, ``kmbench validate``, the asv suites, the adapters and the torch
backend all call :func:`initial_medoids` (or :func:`initial_centers`), so that
for the same ``(n, k, seed, init)`` every implementation starts from the same
medoids whichever tool runs it.

The random start draws ``k`` distinct rows with a NumPy generator seeded by
``[seed, n, k]`` and sorts them: the asv suites' scheme since their first
results, kept so that their history stays comparable. Seeding by ``(n, k)`` as
well makes the starts of different cells independent.
"""

from __future__ import annotations

import hashlib

import numpy as np

#: Starts the harness can draw for every implementation.
INITS = ("random", "first", "build", "k-medoids++", "lab")


def start_rng(seed: int | None, n: int, k: int) -> np.random.Generator:
    """The generator of the start of ``(n, k, seed)`` (fresh entropy when ``seed`` is None)."""
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng([int(seed), int(n), int(k)])


def rng_for(random_state, n: int, k: int) -> np.random.Generator:
    """The generator of a start: an int seed gives the one start's :func:`start_rng`;
    a Generator or RandomState is used as given (see :func:`~bench_core.input_checks.check_random_state`)."""
    import numbers

    if random_state is None or (isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)):
        return start_rng(None if random_state is None else int(random_state), n, k)
    from .input_checks import check_random_state

    return check_random_state(random_state)


def initial_medoids(n: int, k: int, seed: int | None = 0, init: str = "random",
                    diss: np.ndarray | None = None, *, X: np.ndarray | None = None,
                    metric: str = "euclidean", dtype=np.float64) -> np.ndarray:
    """``k`` distinct row indices (int64) to start from.

    Parameters
    ----------
    n, k : int
        Number of points and of medoids (``1 <= k <= n``).
    seed : int or None
        The run's seed.
    init : {"random", "first", "build", "k-medoids++", "lab"}
        ``random`` and ``first`` need only ``n``; ``build`` needs ``diss``, the
        n x n dissimilarity matrix (see :func:`bench_core.algorithms.init.initial_medoids`);
        ``k-medoids++`` and ``lab`` read a few of its rows: from ``diss`` when given,
        else computed from the points ``X`` (:func:`bench_core.dissimilarity.point_rows`).
    diss : ndarray, optional
        The dissimilarity matrix.
    X, metric, dtype : optional
        The points, the metric and the dtype of the matrix they stand for (without
        ``diss``). The same medoids as from the matrix for integer-valued points; else
        the rows can differ from the matrix's in the last bit, which changes the start
        only at an exact tie of two draws.
    """
    n, k = int(n), int(k)
    if not 1 <= k <= n:
        raise ValueError(f"k={k} is out of range for n={n}; expected 1 <= k <= n")
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; expected one of {', '.join(INITS)}")
    if init == "random":
        return np.sort(start_rng(seed, n, k).choice(n, size=k, replace=False)).astype(np.int64)
    if init == "first":
        return np.arange(k, dtype=np.int64)
    if diss is None and X is not None and init != "build":
        from .algorithms.init import seeded_medoids
        from .dissimilarity import point_rows

        if len(X) != n:
            raise ValueError(f"X has {len(X)} rows, expected n={n}")
        return seeded_medoids(point_rows(X, metric, dtype), n, k, init, start_rng(seed, n, k))
    if diss is None:
        raise ValueError(f"init={init!r} needs the dissimilarity matrix"
                         + ("" if init == "build" else " or the points"))
    from .algorithms.init import initial_medoids as seeded

    return np.asarray(seeded(diss, k, init, random_state=start_rng(seed, n, k)), dtype=np.int64)


def initial_centers(X: np.ndarray, k: int, seed: int | None = 0, init: str = "random") -> np.ndarray:
    """Initial centres for k-means/k-median: the points at the start's medoids.

    ``init="random"`` takes the rows of :func:`initial_medoids`, so k-means and
    k-medoids runs of one seed start from the same points; ``"k-means++"`` is the
    reference's D^2 seeding driven by the same generator.
    """
    X = np.asarray(X)
    n = X.shape[0]
    if init == "k-means++":
        from .algorithms.kmeans import kmeans_plusplus

        Xd = np.asarray(X, dtype=np.float64)
        return Xd[kmeans_plusplus(Xd, int(k), start_rng(seed, n, int(k)))].copy()
    return np.array(X[initial_medoids(n, k, seed, init)], dtype=np.float64)


def start_hash(start: np.ndarray) -> str:
    """A short content hash of a start (recorded with each results row)."""
    a = np.ascontiguousarray(start)
    return hashlib.sha256(a.dtype.str.encode() + str(a.shape).encode() + a.tobytes()).hexdigest()[:12]
