"""Lloyd's k-means (Lloyd 1982) with k-means++ seeding (Arthur & Vassilvitskii 2007).

The iteration is scikit-learn's ``_kmeans_single_lloyd`` step for step, so that from
the same initial centres both give the same labels, inertia and iteration count:

* the data are centred (the column means subtracted) before the iterations, which
  shrinks the norms in the ``||x||^2 - 2 x.c + ||c||^2`` expansion;
* iteration ``i`` assigns every point to the nearest of the current centres and
  moves each centre to the (weighted) mean of its cluster;
* it stops *strictly* when the labels equal those of the previous iteration, or when
  the total squared centre shift ``sum_j ||c_j' - c_j||^2`` is ``<= tol * mean(var(X))``
  (``tol`` is relative to the mean per-feature variance; ``tol=0`` stops only strictly);
* if it did not stop strictly, the points are assigned once more to the final centres,
  so labels and centres agree; the inertia is computed from those labels.

Empty clusters (the rule scikit-learn uses): after an assignment, each empty cluster
(in increasing index order) takes one of the points farthest from their own old centre
(the farthest point to the lowest empty index; equal distances to the lower point
index); that point's weight moves from its old cluster's sum to the empty cluster,
whose new centre is that point. Labels are not changed by a relocation (the next
assignment moves the point). If every point sits exactly on its centre (more clusters
than distinct points) nothing is relocated and an empty cluster's centre is put on the
centre of the heaviest cluster.

Labels are the exact nearest centres (ties to the lowest index): near-ties that the
norm expansion cannot resolve are recomputed from the differences (see ``_kmeans.pyx``).
"""

from __future__ import annotations

import numbers
from contextlib import nullcontext

import numpy as np
from threadpoolctl import threadpool_limits

from ..input_checks import (
    check_choice,
    check_k,
    check_points,
    check_positive_int,
    check_random_state,
)
from ..result import ClusteringResult
from ._kmeans import inertia as _inertia
from ._kmeans import lloyd_pass

INITS = ("k-means++", "greedy-k-means++", "random", "forgy")


def check_weights(weights, n: int, *, name: str = "weights") -> np.ndarray:
    """Sample weights as float64 (n,): finite, non-negative, not all zero; None -> ones."""
    if weights is None:
        return np.ones(n, dtype=np.float64)
    w = np.asarray(weights)
    if w.ndim != 1 or len(w) != n:
        raise ValueError(f"{name} must be a 1-D array of length n = {n}, got shape {w.shape}")
    if w.dtype.kind not in "fiub":
        raise ValueError(f"{name} has dtype {w.dtype}; expected numbers")
    w = np.ascontiguousarray(w, dtype=np.float64)
    if not np.isfinite(w).all():
        raise ValueError(f"{name} contains NaN or infinite values; expected finite weights")
    if (w < 0).any():
        raise ValueError(f"{name} contains negative entries (min {w.min()}); expected weights >= 0")
    if not w.sum() > 0:
        raise ValueError(f"{name} are all zero; expected a positive total weight")
    return w


def check_tol(tol) -> float:
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    return float(tol)


def check_centers(centers, k: int | None, X: np.ndarray, *, name: str = "init") -> np.ndarray:
    """Explicit initial centres: (k, d), finite; returned in X's dtype (a copy)."""
    C = np.asarray(centers)
    if C.ndim != 2 or C.shape[1] != X.shape[1]:
        raise ValueError(f"{name} centres must have shape (k, {X.shape[1]}), got {C.shape}")
    if k is not None and C.shape[0] != k:
        raise ValueError(f"{name} has {C.shape[0]} centres but k = {k}")
    if C.shape[0] < 1 or C.shape[0] > X.shape[0]:
        raise ValueError(f"{name} has {C.shape[0]} centres; expected 1 <= k <= n = {X.shape[0]}")
    if C.dtype.kind not in "fiub":
        raise ValueError(f"{name} centres have dtype {C.dtype}; expected numbers")
    C = np.array(C, dtype=X.dtype, order="C", copy=True)
    if not np.isfinite(C).all():
        raise ValueError(f"{name} centres contain NaN or infinite values")
    return C


def _sq_to(X: np.ndarray, x_sq: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Squared distances (n, len(rows)) from every point to the points ``rows`` (>= 0)."""
    C = X[rows]
    D = X @ C.T
    D *= -2.0
    D += x_sq[:, None]
    D += x_sq[rows][None, :]
    np.maximum(D, 0.0, out=D)
    return D.astype(np.float64, copy=False)


def kmeans_plusplus(X: np.ndarray, k: int, rng: np.random.Generator, *,
                    weights: np.ndarray | None = None, n_local_trials: int = 1) -> np.ndarray:
    """Row indices of k seeds by D^2 sampling (Arthur & Vassilvitskii 2007).

    The first seed is drawn with probability proportional to the weight; each next one
    with probability proportional to ``w * D(x)^2``, ``D`` the distance to the nearest
    seed so far. With ``n_local_trials > 1`` (greedy k-means++) that many candidates are
    drawn and the one giving the smallest potential ``sum w D^2`` is kept. Points at
    distance 0 are never drawn while the potential is positive; if it is zero (fewer
    distinct points than k), the remaining seeds are drawn uniformly among unused rows.
    """
    n = X.shape[0]
    w = np.ones(n) if weights is None else weights
    x_sq = np.einsum("ij,ij->i", X, X)
    seeds = np.empty(k, dtype=np.int64)
    seeds[0] = rng.choice(n, p=w / w.sum())
    closest = _sq_to(X, x_sq, seeds[:1])[:, 0]
    for c in range(1, k):
        wd = w * closest
        pot = wd.sum()
        if not pot > 0:
            unused = np.setdiff1d(np.arange(n), seeds[:c])
            seeds[c:] = rng.choice(unused, k - c, replace=False)
            break
        cum = np.cumsum(wd)
        cand = np.searchsorted(cum, rng.random(n_local_trials) * cum[-1], side="right")
        np.minimum(cand, n - 1, out=cand)
        D = np.minimum(closest[:, None], _sq_to(X, x_sq, cand))
        best = int(np.argmin(w @ D))
        seeds[c] = cand[best]
        closest = D[:, best]
    return seeds


def initial_centers(X: np.ndarray, k: int, init, rng: np.random.Generator, *,
                    weights: np.ndarray | None = None, n_local_trials: int | None = None) -> np.ndarray:
    """Initial centres (k, d) in X's dtype; ``init`` is a name in :data:`INITS` or an array."""
    if not isinstance(init, str):
        return check_centers(init, k, X)
    check_choice(init, INITS, name="init")
    if init in ("random", "forgy"):
        rows = rng.choice(X.shape[0], k, replace=False)
    else:
        if n_local_trials is None:
            n_local_trials = 2 + int(np.log(k)) if init == "greedy-k-means++" else 1
        n_local_trials = check_positive_int(n_local_trials, name="n_local_trials")
        rows = kmeans_plusplus(X, k, rng, weights=weights, n_local_trials=n_local_trials)
    return np.array(X[rows], order="C", copy=True)


def kmeans(X, k: int, *, init="k-means++", max_iter: int = 300, tol: float = 1e-4,
           random_state=None, weights=None, n_local_trials: int | None = None,
           n_threads: int = 1) -> ClusteringResult:
    """Lloyd's k-means; returns centres, labels, inertia (``loss``) and ``n_iter``.

    Parameters
    ----------
    X : array (n, d), float32 or float64 (other numbers become float64).
    k : number of clusters, ``1 <= k <= n``.
    init : ``"k-means++"`` (D^2 sampling), ``"greedy-k-means++"`` (``2 + ln k`` trials per
        seed, as scikit-learn), ``"random"``/``"forgy"`` (k distinct points, Forgy 1965),
        or an array (k, d) of centres.
    max_iter : most Lloyd iterations.
    tol : centre-shift tolerance relative to the mean feature variance (scikit-learn's).
    weights : optional non-negative sample weights (weighted means and inertia).
    n_local_trials : candidates per k-means++ seed (overrides the init's default).
    n_threads : threads of the assignment and the inertia (blocks of rows, each with a
        one-thread BLAS product); labels, centres and inertia are the same for any number.

    ``extras``: ``strict_convergence`` (labels stopped changing), ``n_relocated`` (empty
    clusters relocated), ``n_exact`` (assignments decided by exact recomputation).
    """
    X = check_points(X)
    n, d = X.shape
    if isinstance(init, str) or init is None:
        k = check_k(k, n)
    elif k is None:
        k = check_k(np.asarray(init).shape[0] if np.ndim(init) == 2 else -1, n)
    else:
        k = check_k(k, n)
    if init is None:
        raise ValueError(f"unknown init None; expected one of {', '.join(map(repr, INITS))} or an array")
    max_iter = check_positive_int(max_iter, name="max_iter")
    n_threads = check_positive_int(n_threads, name="n_threads")
    tol = check_tol(tol)
    w = check_weights(weights, n)
    rng = check_random_state(random_state)
    C = initial_centers(X, k, init, rng, weights=w, n_local_trials=n_local_trials)

    tol_abs = float(np.mean(np.var(X, axis=0)) * tol) if tol > 0 else 0.0
    mean = X.mean(axis=0)
    Xc = X - mean
    C -= mean
    x_norms = np.sqrt(np.einsum("ij,ij->i", Xc, Xc, dtype=np.float64))

    sums = np.zeros((k, d), dtype=np.float64)
    wsum = np.zeros(k, dtype=np.float64)
    labels = np.full(n, -1, dtype=np.int64)
    labels_old = labels.copy()
    strict = converged = False
    n_exact = n_relocated = 0
    n_iter = 0
    # the threads are ours (OpenMP); BLAS works inside them on one thread
    with threadpool_limits(limits=1, user_api="blas") if n_threads > 1 else nullcontext():
        for _ in range(max_iter):
            n_iter += 1
            n_exact += lloyd_pass(Xc, x_norms, w, C, sums, wsum, labels, True, n_threads)
            n_relocated += _relocate_empty(Xc, w, C, sums, wsum, labels)
            C_new = _average(sums, wsum).astype(X.dtype, copy=False)
            shift = np.sqrt(((C_new - C) ** 2).sum(axis=1))
            C = C_new
            if np.array_equal(labels, labels_old):
                strict = converged = True
                break
            if (shift ** 2).sum() <= tol_abs:
                converged = True
                break
            labels_old[:] = labels
        if not strict:
            n_exact += lloyd_pass(Xc, x_norms, w, C, sums, wsum, labels, False, n_threads)
        dist = np.empty(n, dtype=np.float64)
        loss = _inertia(Xc, w, C, labels, dist, n_threads)
    centers = (C + mean).astype(X.dtype, copy=False)
    return ClusteringResult(
        loss=float(loss), labels=labels, centers=centers, n_iter=n_iter, converged=converged,
        extras={"strict_convergence": strict, "n_relocated": n_relocated, "n_exact": n_exact,
                "tol_abs": tol_abs})


def _relocate_empty(X: np.ndarray, w: np.ndarray, C: np.ndarray, sums: np.ndarray,
                    wsum: np.ndarray, labels: np.ndarray) -> int:
    """scikit-learn's rule (see the module docstring); returns how many were relocated."""
    empty = np.flatnonzero(wsum == 0)
    if len(empty) == 0:
        return 0
    dist = ((X - C[labels]) ** 2).sum(axis=1)
    if dist.max() == 0:
        return 0
    far = np.argsort(-dist, kind="stable")[: len(empty)]
    for e, p in zip(empty, far, strict=False):
        old = labels[p]
        sums[old] -= X[p] * w[p]
        sums[e] = X[p] * w[p]
        wsum[e] = w[p]
        wsum[old] -= w[p]
    return len(empty)


def _average(sums: np.ndarray, wsum: np.ndarray) -> np.ndarray:
    """Means ``sums * (1 / weight)``; an empty cluster goes to the heaviest cluster's mean."""
    C = sums.copy()
    full = wsum > 0
    C[full] *= (1.0 / wsum[full])[:, None]
    if not full.all():
        C[~full] = C[int(np.argmax(wsum))]
    return C
