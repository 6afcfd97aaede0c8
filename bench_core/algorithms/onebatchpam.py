"""OneBatchPAM: k-medoids scored on one random batch of points.

de Mathelin, Vincent, Chesneau, Gourru and Mougeot, "OneBatchPAM: A Fast and
Frugal K-Medoids Algorithm", AAAI 2025 (arXiv:2501.19285). The authors'
package is ``onebatch`` on PyPI; this is our own implementation of the same
procedure, step for step, so that it reproduces the package from the same seed:

1. ``rng = numpy.random.default_rng(seed)``; a batch of
   ``B = min(max(int(100 log(max(2, n k))), k), n)`` distinct points
   (``rng.choice(n, B, replace=False)``);
2. the n x B distances to the batch, in float32 (n B evaluations, counted;
   :func:`batch_distances`);
3. divided by their maximum (``normalize``);
4. each batch column weighted by the number of points whose nearest batch
   point it is, divided by the mean weight (``weighting``), so that the batch
   stands for the whole data set;
5. k start medoids ``rng.choice(n, k, replace=False)``;
6. FasterPAM's eager swaps (Schubert & Rousseeuw 2021) over all n candidates,
   each scored on the batch columns, until a full pass brings no swap gaining
   more than ``tol`` times the current batch loss, at most ``max_iter`` passes.

The loss reported is the k-medoids loss over *all* n points (k n more
distances, not counted: evaluation, not part of the algorithm); the batch loss
is in ``extras["batch_loss"]``.
"""

from __future__ import annotations

import math

import numpy as np

from ..input_checks import check_choice, check_k, check_points, check_positive_int
from ..result import ClusteringResult
from . import _onebatchpam


def auto_batch_size(n: int, k: int) -> int:
    """The package's ``batch_size="auto"``: ``100 log(n k)`` clamped to ``[k, n]``."""
    est = int(100.0 * np.log(max(2, n * max(1, k))))
    return min(max(est, k), n)


def onebatchpam(X, k: int, metric: str = "euclidean", *, batch_size: int | str = "auto",
                weighting: bool = True, normalize: bool = True, max_iter: int = 100, tol: float = 1e-6,
                random_state=None) -> ClusteringResult:
    """OneBatchPAM on the points ``X``: :func:`onebatchpam_medoids`, then labels and loss over all n.

    Parameters are those of :func:`onebatchpam_medoids`.
    """
    X, med, info = onebatchpam_medoids(X, k, metric, batch_size=batch_size, weighting=weighting,
                                       normalize=normalize, max_iter=max_iter, tol=tol, random_state=random_state)
    return evaluate(X, med, metric, info)


def onebatchpam_medoids(X, k: int, metric: str = "euclidean", *, batch_size: int | str = "auto",
                        weighting: bool = True, normalize: bool = True, max_iter: int = 100, tol: float = 1e-6,
                        random_state=None) -> tuple[np.ndarray, np.ndarray, dict]:
    """The algorithm proper (steps 1-6 of the module docstring): ``(X, medoids, info)``.

    Parameters
    ----------
    X : array (n, d), float32 or float64
    k : int, number of medoids
    metric : "euclidean", "sqeuclidean" or "manhattan"
    batch_size : int or "auto"
    weighting, normalize : bool
        Steps 4 and 3 above (both on in the package's defaults).
    max_iter : int
        Passes of the eager swap search.
    tol : float
        Relative improvement a swap must bring.
    random_state : int, numpy Generator or None
        Seeds ``numpy.random.default_rng`` as the package does (an int gives the
        package's batch and start).
    """
    X = check_points(X, name="X")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    X = np.ascontiguousarray(X)
    n = X.shape[0]
    k = check_k(k, n)
    check_choice(metric, tuple(_onebatchpam.METRIC_CODES), name="metric")
    max_iter = check_positive_int(max_iter, name="max_iter")
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    if isinstance(random_state, np.random.RandomState):
        raise ValueError("random_state must be an int, a numpy Generator or None (the package uses default_rng)")
    rng = np.random.default_rng(random_state)
    if batch_size == "auto":
        B = auto_batch_size(n, k)
    else:
        B = min(check_positive_int(batch_size, name="batch_size"), n)
    batch = rng.choice(n, B, replace=False).astype(np.intp)
    Dist = np.empty((n, B), dtype=np.float32)
    evaluations = batch_distances(X, batch, metric, Dist)
    if normalize:
        maxv = Dist.max()
        if maxv > 0:
            Dist /= np.float32(maxv)
    if weighting:
        assign = Dist.argmin(1)
        weight = np.zeros(B, dtype=np.float32)
        unique, counts = np.unique(assign, return_counts=True)
        weight[unique] = counts.astype(np.float32)
        meanw = weight.mean()
        if meanw > 0:
            weight /= meanw
        Dist *= weight
    medoids = np.array(rng.choice(n, k, replace=False), dtype=np.intc)
    start = medoids.astype(np.int64)
    batch_loss, passes, swaps = _onebatchpam.swap_eager(Dist, medoids, int(max_iter), np.float32(tol))
    info = {"distance_computations": int(evaluations), "batch_size": int(B), "batch_loss": float(batch_loss),
            "start_medoids": start.tolist(), "passes": int(passes) + 1, "swaps": int(swaps)}
    return X, medoids.astype(np.int64), info


def evaluate(X: np.ndarray, med: np.ndarray, metric: str, info: dict) -> ClusteringResult:
    """Labels (nearest medoid) and loss over all n points: k n distances, not counted in the algorithm's."""
    n = X.shape[0]
    rows = _rows(X, med, metric)
    labels = np.argmin(rows, axis=0).astype(np.int64)
    loss = float(np.sum(rows[labels, np.arange(n)], dtype=np.float64))
    extras = {key: v for key, v in info.items() if key not in ("passes", "swaps")}
    extras["algorithm"] = "onebatchpam"
    return ClusteringResult(loss=loss, labels=labels, medoids=med, n_iter=info["passes"], n_swap=info["swaps"],
                            converged=None, extras=extras)


def batch_distances(X: np.ndarray, batch: np.ndarray, metric: str, out: np.ndarray,
                    block_bytes: int = 32 << 20) -> int:
    """Fill ``out`` (n, B) float32 with the distances of every row to the batch rows; returns n B.

    Euclidean and squared Euclidean go through BLAS in float64 row blocks
    (||a||² + ||b||² - 2 a.b with the cancellation repair of
    :func:`bench_core.dissimilarity.squared_block`), rounded to float32 as
    scikit-learn rounds them (float64 data: sqrt, then float32; float32 data:
    float32 squared distance, then a float32 sqrt). Manhattan uses the direct
    Cython kernel :func:`_onebatchpam.batch_distances`, which computes every
    metric from the differences (the same numbers on integer data such as MNIST).
    """
    if metric == "manhattan":
        return _onebatchpam.batch_distances(X, batch, _onebatchpam.METRIC_CODES[metric], out)
    from ..dissimilarity import squared_block

    n, B = X.shape[0], len(batch)
    Y = np.asarray(X[batch], dtype=np.float64)
    ny = np.einsum("ij,ij->i", Y, Y)
    step = max(1, block_bytes // (8 * max(B, X.shape[1])))
    for r0 in range(0, n, step):
        A = np.asarray(X[r0:r0 + step], dtype=np.float64)
        G = squared_block(A, Y, np.einsum("ij,ij->i", A, A), ny)
        if metric == "sqeuclidean":
            out[r0:r0 + step] = G
        elif X.dtype == np.float32:
            out[r0:r0 + step] = np.sqrt(G.astype(np.float32))
        else:
            out[r0:r0 + step] = np.sqrt(G)
    return int(n * B)


def _rows(X: np.ndarray, med: np.ndarray, metric: str) -> np.ndarray:
    """(k, n) float64 distances of the medoids to every point (for the full loss)."""
    Xd = np.asarray(X, dtype=np.float64)
    out = np.empty((len(med), Xd.shape[0]))
    for r, m in enumerate(med):
        diff = Xd - Xd[m]
        if metric == "manhattan":
            out[r] = np.abs(diff).sum(axis=1)
        else:
            sq = np.einsum("ij,ij->i", diff, diff)
            out[r] = sq if metric == "sqeuclidean" else np.sqrt(sq)
    return out
