"""Initial medoids shared by every k-medoids algorithm.

``initial_medoids(diss, k, init, random_state)`` with ``init`` one of

* ``"random"``: k distinct points drawn uniformly (NumPy Generator).
* ``"first"``: points ``0..k-1`` (deterministic, as in ``kmedoids``).
* ``"build"``: PAM BUILD (:func:`bench_core.algorithms.pam.build`).
* ``"k-medoids++"``: D^2 sampling with greedy local trials, as scikit-learn-extra's
  ``KMedoids(init="k-medoids++")`` (Arthur & Vassilvitskii 2007): each step draws
  ``2 + int(log k)`` candidates with probability proportional to the squared
  distance to the nearest medoid so far and keeps the one with the smallest
  resulting potential.
* ``"lab"``: LAB, linear approximative BUILD (Schubert & Rousseeuw 2019): each step
  runs one BUILD step on a random subsample of ``10 + ceil(sqrt(n))`` non-medoids.

k-medoids++ and LAB read few rows of the matrix: :func:`seeded_medoids` runs them on any
:data:`Distances`, e.g. blocks computed from the points where the matrix does not fit.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..input_checks import check_choice, check_diss, check_k
from ..start import rng_for

INITS = ("random", "first", "build", "k-medoids++", "lab")


def initial_medoids(diss, k: int, init: str = "random", random_state=None, *,
                    n_threads: int = 1) -> np.ndarray:
    """k distinct row indices (int64) to start a k-medoids algorithm from."""
    check_choice(init, INITS, name="init")
    D = check_diss(diss, n_threads=n_threads, scan=False)
    return checked_initial_medoids(D, k, init, random_state, n_threads=n_threads, check=True)


def checked_initial_medoids(D: np.ndarray, k: int, init: str, random_state=None, *,
                            n_threads: int = 1, check: bool = False) -> np.ndarray:
    """:func:`initial_medoids` for a matrix that ``check_diss`` has passed (the drivers
    check it once, in one pass, and start from here). ``check``: its entries have not
    been checked yet (``scan=False``); BUILD checks them in its first step, which reads
    every row, and the other inits scan the matrix first."""
    check_choice(init, INITS, name="init")
    n = D.shape[0]
    k = check_k(k, n)
    if check and init != "build":
        check_diss(D, n_threads=n_threads)
    if init == "first":
        return np.arange(k, dtype=np.int64)
    if init == "build":
        from .build import checked_build
        return checked_build(D, k, n_threads, check=check).medoids
    rng = rng_for(random_state, n, k)  # an int seed: the harness's one start (bench_core.start)
    if init == "random":
        return np.sort(rng.choice(n, size=k, replace=False)).astype(np.int64)
    return seeded_medoids(matrix_rows(D), n, k, init, rng)


#: ``dist(rows, cols=None)``: the float64 block ``D[rows][:, cols]`` of the dissimilarity
#: matrix (every column when ``cols`` is None), from the matrix or computed from the points.
Distances = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]


def matrix_rows(D: np.ndarray) -> Distances:
    """The :data:`Distances` of a matrix: its blocks, in float64."""
    def dist(rows: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
        return np.asarray(D[rows] if cols is None else D[np.ix_(rows, cols)], dtype=np.float64)
    return dist


def seeded_medoids(dist: Distances, n: int, k: int, init: str, rng: np.random.Generator) -> np.ndarray:
    """``"k-medoids++"`` or ``"lab"`` from :data:`Distances` of ``n`` points.

    These inits read few rows of the matrix (k-medoids++: ``2 + int(log k)``
    rows a step; LAB: a ``10 + ceil(sqrt(n))`` square block and one row a step),
    so ``dist`` may compute them from the points (:func:`bench_core.dissimilarity.point_rows`,
    :mod:`bench_core.gpu.tiled`) where the n x n matrix does not fit. With the
    same values and generator the medoids are those of the matrix.
    """
    check_choice(init, ("k-medoids++", "lab"), name="init (from distances)")
    if init == "k-medoids++":
        return _kmedoids_pp(dist, n, k, rng)
    return _lab(dist, n, k, rng)


def _kmedoids_pp(dist: Distances, n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    trials = 2 + int(np.log(k))
    medoids = np.empty(k, dtype=np.int64)
    chosen = np.zeros(n, dtype=bool)
    medoids[0] = rng.integers(n)
    chosen[medoids[0]] = True
    closest = dist(medoids[:1])[0] ** 2
    potential = closest.sum()
    for step in range(1, k):
        if potential <= 0.0:  # every point sits on a medoid: take any unused one
            medoids[step] = rng.choice(np.flatnonzero(~chosen))
        else:
            cands = np.searchsorted(np.cumsum(closest), rng.random(trials) * potential)
            cands = np.minimum(cands, n - 1)
            fresh = np.unique(cands[~chosen[cands]])  # the rows this step reads, each once
            rows = dist(fresh) if len(fresh) else None
            best, best_pot, best_closest = -1, np.inf, None
            for c in cands:
                if chosen[c]:
                    continue
                new = np.minimum(closest, rows[np.searchsorted(fresh, c)] ** 2)
                pot = new.sum()
                if pot < best_pot:
                    best, best_pot, best_closest = int(c), pot, new
            if best < 0:
                best = int(rng.choice(np.flatnonzero(~chosen)))
                best_closest = np.minimum(closest, dist(np.array([best]))[0] ** 2)
                best_pot = best_closest.sum()
            medoids[step], closest, potential = best, best_closest, best_pot
        chosen[medoids[step]] = True
    return medoids


def _lab(dist: Distances, n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    size = 10 + math.ceil(math.sqrt(n))
    medoids = np.empty(k, dtype=np.int64)
    chosen = np.zeros(n, dtype=bool)
    near = np.full(n, np.inf)
    for step in range(k):
        free = np.flatnonzero(~chosen)
        S = free if len(free) <= size else np.sort(rng.choice(free, size=size, replace=False))
        sub = dist(S, S)  # rows: candidate, columns: point
        if step == 0:
            cost = sub.sum(axis=1) - np.diag(sub)
        else:  # BUILD gain on the sample, as a cost change (<= 0)
            cost = np.minimum(sub - near[S][None, :], 0.0).sum(axis=1)
        c = int(S[np.argmin(cost)])
        medoids[step] = c
        chosen[c] = True
        np.minimum(near, dist(np.array([c]))[0], out=near)
        near[c] = 0.0
    return medoids
