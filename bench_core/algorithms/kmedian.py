"""Lloyd-style k-median in L1 (Jain & Dubes 1988; Bradley, Mangasarian & Street 1997).

Alternate two steps that never increase the objective ``sum_i w_i ||x_i - c_{l(i)}||_1``:
assign every point to its nearest centre in Manhattan distance, then move each centre to
the coordinate-wise (weighted) median of its cluster (see ``_kmedian.pyx`` for the median
rules). Stop when an assignment changes no label (and, with outliers, no outlier), or
after ``max_iter`` centre updates; the labels returned always belong to the returned
centres.

Outliers (``n_outliers=z``, k-means-- style, Chawla & Gionis 2013): after every
assignment the z points farthest from their centre (equal distances: the lower point
index is excluded first) are left out of the median update and of the objective; they keep the label of their nearest
centre and are reported in ``extras["outliers"]``.

Empty clusters: a cluster with no (inlier) member after an assignment takes, in
increasing cluster index, the inlier farthest from its centre among points whose cluster
keeps at least one other member (equal distances: lower point index); that point is
relabelled and becomes the centre. If every inlier sits on its centre, nothing moves.
"""

from __future__ import annotations

import numpy as np

from ..input_checks import (
    check_choice,
    check_k,
    check_points,
    check_positive_int,
    check_random_state,
)
from ..result import ClusteringResult
from ._kmedian import assign_l1, l1_to_row, update_medians
from .kmeans import check_centers, check_weights

INITS = ("k-medians++", "random", "forgy", "uniform", "random-partition", "build")
ALIASES = {"k-means++": "k-medians++", "kmedians++": "k-medians++"}


def check_n_outliers(z, n: int, k: int) -> int:
    if isinstance(z, bool) or not isinstance(z, int | np.integer) or z < 0:
        raise ValueError(f"n_outliers must be an integer >= 0, got {z!r}")
    if z >= n - k:
        raise ValueError(f"n_outliers={z} leaves too few points: expected n_outliers < n - k = {n - k}")
    return int(z)


def kmedians_plusplus(X: np.ndarray, k: int, rng: np.random.Generator, *,
                      weights: np.ndarray | None = None) -> np.ndarray:
    """Row indices of k seeds by D^1 sampling: k-means++ with the L1 distance to the
    nearest seed in place of the squared Euclidean one (probability ``w * D(x)``)."""
    n = X.shape[0]
    w = np.ones(n) if weights is None else weights
    seeds = np.empty(k, dtype=np.int64)
    seeds[0] = rng.choice(n, p=w / w.sum())
    closest = np.full(n, np.inf)
    l1_to_row(X, int(seeds[0]), closest)
    for c in range(1, k):
        cum = np.cumsum(w * closest)
        if not cum[-1] > 0:
            unused = np.setdiff1d(np.arange(n), seeds[:c])
            seeds[c:] = rng.choice(unused, k - c, replace=False)
            break
        seeds[c] = min(int(np.searchsorted(cum, rng.random() * cum[-1], side="right")), n - 1)
        l1_to_row(X, int(seeds[c]), closest)
    return seeds


def build_centers(X: np.ndarray, k: int, rng: np.random.Generator, sample: int = 1000) -> np.ndarray:
    """PAM's BUILD (Kaufman & Rousseeuw) on the L1 dissimilarity of a sample of
    ``sample`` rows (all rows when n <= sample); the medoids become the centres."""
    from ..dissimilarity import dissimilarity
    from .pam import build

    n = X.shape[0]
    rows = np.arange(n) if n <= sample else np.sort(rng.choice(n, sample, replace=False))
    if len(rows) < k:
        raise ValueError(f"build_sample={sample} is smaller than k={k}")
    D = dissimilarity(X[rows], "manhattan", np.float64)
    medoids = np.asarray(build(D, k).medoids, dtype=np.int64)
    return X[rows[medoids]].astype(np.float64)


def initial_centers(X: np.ndarray, XT: np.ndarray, k: int, init, rng: np.random.Generator, *,
                    weights: np.ndarray | None, build_sample: int = 1000) -> np.ndarray:
    """Initial centres (k, d) as float64; ``init`` a name in :data:`INITS` or an array."""
    if not isinstance(init, str):
        return check_centers(init, k, X).astype(np.float64)
    init = ALIASES.get(init, init)
    check_choice(init, INITS, name="init")
    n = X.shape[0]
    if init in ("random", "forgy"):
        return X[rng.choice(n, k, replace=False)].astype(np.float64)
    if init == "uniform":
        return rng.uniform(X.min(axis=0), X.max(axis=0), size=(k, X.shape[1]))
    if init == "k-medians++":
        return X[kmedians_plusplus(X, k, rng, weights=weights)].astype(np.float64)
    if init == "build":
        return build_centers(X, k, rng, build_sample)
    # random partition: every point to a random cluster (sizes differ by at most one)
    labels = rng.permutation(np.arange(n) % k).astype(np.int64)
    C = np.zeros((k, X.shape[1]))
    update_medians(XT, labels, np.ones(n, dtype=np.uint8), _wt(weights), C, np.empty(k, np.int64))
    return C


def _wt(weights: np.ndarray | None) -> np.ndarray:
    return np.empty(0) if weights is None else weights


def kmedian(X, k: int, *, init="k-medians++", max_iter: int = 300, random_state=None,
            weights=None, n_outliers: int = 0, build_sample: int = 1000,
            n_threads: int = 1) -> ClusteringResult:
    """Lloyd-style k-median in L1; ``loss`` is the (weighted) sum of L1 distances of the inliers.

    Parameters
    ----------
    X : array (n, d), float32 or float64.
    k : number of clusters, ``1 <= k <= n``.
    init : ``"k-medians++"`` (D^1 sampling; alias ``"k-means++"``), ``"random"``/``"forgy"``
        (k distinct data points, Forgy 1965), ``"uniform"`` (k points uniform in the bounding
        box), ``"random-partition"`` (medians of a random balanced partition), ``"build"``
        (PAM BUILD on the L1 dissimilarity of ``build_sample`` rows), or an array (k, d).
    max_iter : most centre updates.
    weights : optional non-negative sample weights (weighted medians and objective).
    n_outliers : z points excluded from the update and the objective, ``0 <= z < n - k``.
    n_threads : threads of the L1 assignment (pairs of points); the same result for any number.

    ``extras``: ``outliers`` (sorted indices), ``n_relocated`` (empty clusters refilled).
    """
    X = check_points(X)
    n, d = X.shape
    if k is None and not isinstance(init, str) and np.ndim(init) == 2:
        k = np.shape(init)[0]
    k = check_k(k, n)
    max_iter = check_positive_int(max_iter, name="max_iter")
    z = check_n_outliers(n_outliers, n, k)
    w = None if weights is None else check_weights(weights, n)
    build_sample = check_positive_int(build_sample, name="build_sample")
    n_threads = check_positive_int(n_threads, name="n_threads")
    rng = check_random_state(random_state)
    XT = np.ascontiguousarray(X.T)
    C = initial_centers(X, XT, k, init, rng, weights=w, build_sample=build_sample)

    labels = np.full(n, -1, dtype=np.int64)
    dist = np.empty(n, dtype=np.float64)
    counts = np.empty(k, dtype=np.int64)
    assign_l1(X, C, labels, dist, n_threads)
    use = _inliers(dist, z)
    converged = False
    n_iter = n_relocated = 0
    while n_iter < max_iter:
        n_relocated += _relocate_empty(X, C, labels, dist, use, k)
        update_medians(XT, labels, use, _wt(w), C, counts)
        n_iter += 1
        prev_labels, prev_use = labels.copy(), use
        assign_l1(X, C, labels, dist, n_threads)
        use = _inliers(dist, z)
        if np.array_equal(labels, prev_labels) and np.array_equal(use, prev_use):
            converged = True
            break
    contrib = dist if w is None else w * dist
    loss = float(contrib[use.view(bool)].sum())
    return ClusteringResult(
        loss=loss, labels=labels, centers=C.astype(X.dtype, copy=False), n_iter=n_iter,
        converged=converged,
        extras={"outliers": np.flatnonzero(use == 0), "n_relocated": n_relocated})


def _inliers(dist: np.ndarray, z: int) -> np.ndarray:
    """uint8 mask: 0 for the z points farthest from their centre (stable: lower index first)."""
    use = np.ones(len(dist), dtype=np.uint8)
    if z:
        use[np.argsort(-dist, kind="stable")[:z]] = 0
    return use


def _relocate_empty(X, C, labels, dist, use, k) -> int:
    """The module's empty-cluster rule; updates C, labels, dist in place."""
    counts = np.bincount(labels[use.view(bool)], minlength=k)
    empty = np.flatnonzero(counts == 0)
    if len(empty) == 0:
        return 0
    moved = 0
    for p in np.argsort(-dist, kind="stable"):
        if moved == len(empty) or dist[p] == 0:
            break
        if not use[p] or counts[labels[p]] < 2:
            continue
        e = empty[moved]
        counts[labels[p]] -= 1
        counts[e] += 1
        labels[p] = e
        dist[p] = 0.0
        C[e] = X[p]
        moved += 1
    return moved
