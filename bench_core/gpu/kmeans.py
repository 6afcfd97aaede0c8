"""Lloyd's k-means (Lloyd 1982) on a torch device.

The iteration and stopping rule of :func:`bench_core.algorithms.kmeans.kmeans`
(itself scikit-learn's ``lloyd``): the data are centred; each iteration assigns
every point to the nearest centre through ``||c||^2 - 2 x.c`` (one matrix
product; ``||x||^2`` does not change the argmin), accumulates the cluster sums
with ``index_add_`` in float64 and moves the centres to the means; it stops when
the labels repeat or the squared centre shift is ``<= tol * mean(var(X))``, and
assigns once more if it did not stop on the labels. Empty clusters take the
points farthest from their centre (scikit-learn's rule), computed without
leaving the device.

``tol=None`` runs exactly ``max_iter`` iterations with no host synchronisation
inside the loop (for timing the iteration itself). Unlike the reference, near
ties of the norm expansion are not re-ranked with exact distances: in float64
labels differ from the reference only where two centres are equally far to
within rounding.
"""

from __future__ import annotations

import numpy as np
import torch

from ..input_checks import check_k, check_points, check_positive_int, check_random_state
from ..result import ClusteringResult
from ._device import device_name, from_numpy, resolve_device


def _initial_centers(X: np.ndarray, k: int, init, random_state) -> np.ndarray:
    rng = check_random_state(random_state)
    if not isinstance(init, str):
        C = np.asarray(init, dtype=X.dtype)
        if C.shape != (k, X.shape[1]):
            raise ValueError(f"initial centres must have shape {(k, X.shape[1])}, got {C.shape}")
        if not np.isfinite(C).all():
            raise ValueError("initial centres contain NaN or infinite values")
        return np.array(C, order="C", copy=True)
    try:  # the reference seeding, so that a seed gives the same start as kmeans/reference
        from ..algorithms.kmeans import initial_centers
    except ImportError:
        initial_centers = None
    if initial_centers is not None:
        return initial_centers(X, k, init, rng)
    if init not in ("random", "forgy"):
        raise ValueError(f"init {init!r} needs bench_core.algorithms.kmeans; 'random' is built in")
    return np.array(X[rng.choice(X.shape[0], k, replace=False)], order="C", copy=True)


def _assign(Xc: torch.Tensor, C: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest centre (first on ties) through the norm expansion, and ``||c||^2 - 2 x.c`` there."""
    scores = torch.addmm((C * C).sum(1)[None, :], Xc, C.T, beta=1.0, alpha=-2.0)
    best, labels = scores.min(1)
    return labels, best


class _Data:
    """Centred points on the device, in their dtype and in float64, with weights and norms."""

    def __init__(self, Xc: torch.Tensor, w: torch.Tensor | None, sums: str = "matmul"):
        self.Xc = Xc
        self.X64 = Xc.to(torch.float64)
        self.w = w if w is not None else torch.ones(Xc.shape[0], dtype=torch.float64, device=Xc.device)
        self.x_sq = (self.X64 * self.X64).sum(1)
        if sums not in ("matmul", "index_add"):
            raise ValueError(f"sums must be 'matmul' or 'index_add', got {sums!r}")
        self.sums = sums


def _step(data: _Data, C: torch.Tensor, labels: torch.Tensor, best: torch.Tensor):
    """New centres: cluster sums in float64, empty clusters relocated, all on the device.

    Sums: ``onehot(labels, w)^T @ X`` (one float64 product: deterministic, no
    atomics) or ``index_add_`` (atomics; the order of the additions varies).
    Empty clusters, in increasing index, take the points farthest from their
    centre (scikit-learn's rule): the 2k farthest by the expansion are re-ranked
    by their exact distances, so no pass over all n x d differences is needed.
    No host synchronisation (the loop can be recorded as a CUDA graph).
    """
    X64, w = data.X64, data.w
    n, d = X64.shape
    k = C.shape[0]
    dev = X64.device
    if data.sums == "matmul":
        W = torch.zeros((n, k), dtype=torch.float64, device=dev).scatter_(1, labels[:, None], w[:, None])
        sums = W.T @ X64
        wsum = W.sum(0)
    else:
        sums = torch.zeros((k, d), dtype=torch.float64, device=dev).index_add_(0, labels, X64 * w[:, None])
        wsum = torch.zeros(k, dtype=torch.float64, device=dev).index_add_(0, labels, w)
    empty = wsum == 0
    approx = best.to(torch.float64) + data.x_sq                     # ||x - c||^2 by the expansion
    m = min(n, 2 * k)
    cand = torch.topk(approx, m, sorted=False).indices
    exact = ((X64[cand] - C.to(torch.float64)[labels[cand]]) ** 2).sum(1)
    # Order the candidates by exact distance, descending, ties to the lower index:
    # each one's position is the number of candidates that come before it (an
    # m x m comparison, far cheaper on a GPU than two sorts of m values).
    ahead = (exact[None, :] > exact[:, None]) | ((exact[None, :] == exact[:, None]) & (cand[None, :] < cand[:, None]))
    far = torch.empty_like(cand).scatter_(0, ahead.sum(1), cand)
    rank = (torch.cumsum(empty.to(torch.int64), 0) - 1).clamp(min=0, max=m - 1)
    p = far[rank]                                     # the point an empty cluster would take
    move = empty & (exact.max() > 0)
    wp = torch.where(move, w[p], 0.0)
    contrib = X64[p] * wp[:, None]
    sums = sums.index_add(0, labels[p], -contrib)
    wsum = wsum.index_add(0, labels[p], -wp)
    sums = torch.where(move[:, None], contrib, sums)
    wsum = torch.where(move, wp, wsum)
    full = wsum > 0
    Cn = sums / torch.where(full, wsum, 1.0)[:, None]
    heaviest = Cn.index_select(0, torch.argmax(wsum).view(1))
    Cn = torch.where(full[:, None], Cn, heaviest)
    return Cn.to(C.dtype), move.sum()


def kmeans(X, k: int, *, init="k-means++", max_iter: int = 300, tol: float | None = 1e-4,
           random_state=None, weights=None, device=None, sums: str = "matmul") -> ClusteringResult:
    """Lloyd's k-means on ``device``; same arguments and result as the reference ``kmeans``.

    ``X`` float32 or float64 (the arithmetic of the assignment is in X's dtype,
    sums in float64); ``init`` a name ("k-means++", "random", ...) or a (k, d)
    array of centres. ``extras["strict_convergence"]`` says whether the labels
    stopped changing.
    """
    dev = resolve_device(device)
    Xn = check_points(X)
    n, d = Xn.shape
    k = check_k(k, n)
    max_iter = check_positive_int(max_iter, name="max_iter")
    if tol is not None and (not np.isfinite(tol) or tol < 0):
        raise ValueError(f"tol must be None or a finite number >= 0, got {tol!r}")
    C0 = _initial_centers(Xn, k, init, random_state)
    Xt = from_numpy(Xn).to(dev)
    w = (torch.ones(n, dtype=torch.float64, device=dev) if weights is None
         else torch.as_tensor(np.asarray(weights, dtype=np.float64), device=dev))
    mean = Xt.mean(0, dtype=torch.float64)
    Xc = (Xt.to(torch.float64) - mean).to(Xt.dtype)
    data = _Data(Xc, w, sums)
    C = (torch.as_tensor(C0, device=dev).to(torch.float64) - mean).to(Xt.dtype)
    tol_abs = float(Xt.to(torch.float64).var(0, unbiased=False).mean()) * tol if tol else 0.0
    labels_old = torch.full((n,), -1, dtype=torch.int64, device=dev)
    strict = converged = False
    relocated = torch.zeros((), dtype=torch.int64, device=dev)
    n_iter = 0
    for _ in range(max_iter):
        n_iter += 1
        labels, best = _assign(Xc, C)
        Cn, moved = _step(data, C, labels, best)
        relocated += moved
        shift2 = ((Cn.to(torch.float64) - C.to(torch.float64)) ** 2).sum()
        C = Cn
        if tol is not None:
            same, s2 = torch.stack([(labels == labels_old).all().to(torch.float64), shift2]).tolist()
            if same:
                strict = converged = True
                break
            if s2 <= tol_abs:
                converged = True
                break
        labels_old = labels
    if not strict:
        labels, _ = _assign(Xc, C)
    diff = data.X64 - C.to(torch.float64)[labels]
    loss = float((w * (diff * diff).sum(1)).sum())
    centers = (C.to(torch.float64) + mean).to(Xt.dtype)
    return ClusteringResult(
        loss=loss, labels=labels.cpu().numpy().astype(np.int64), centers=centers.cpu().numpy(),
        n_iter=n_iter, converged=converged if tol is not None else None,
        extras={"strict_convergence": strict, "n_relocated": int(relocated), "tol_abs": tol_abs,
                "device": device_name(dev), "dtype": str(Xt.dtype).removeprefix("torch.")})


def lloyd_iterations(Xc: torch.Tensor, C: torch.Tensor, n_iter: int, *, graph: bool = False,
                     sums: str = "matmul") -> torch.Tensor:
    """``n_iter`` Lloyd iterations on centred device data, no host synchronisation (benchmarks).

    ``graph=True`` (CUDA only) records one iteration as a CUDA graph and replays
    it ``n_iter`` times, which removes the per-kernel launch cost; the recording
    is not counted in the iterations.
    """
    data = _Data(Xc, None, sums)
    if not (graph and Xc.is_cuda):
        for _ in range(n_iter):
            C, _ = _step(data, C, *_assign(Xc, C))
        return C
    g, Cs = lloyd_graph(Xc, C, sums=sums)
    for _ in range(n_iter):
        g.replay()
    return Cs


def lloyd_graph(Xc: torch.Tensor, C: torch.Tensor, *, sums: str = "matmul"):
    """(graph, centres): one Lloyd iteration recorded as a CUDA graph updating ``centres`` in place."""
    data = _Data(Xc, None, sums)
    Cs = C.clone()
    side = torch.cuda.Stream(Xc.device)
    side.wait_stream(torch.cuda.current_stream(Xc.device))
    with torch.cuda.stream(side):                     # warm-up outside the graph
        _step(data, Cs, *_assign(Xc, Cs))
    torch.cuda.current_stream(Xc.device).wait_stream(side)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        new, _ = _step(data, Cs, *_assign(Xc, Cs))
        Cs.copy_(new)
    g.data = data          # keep the captured tensors alive with the graph
    return g, Cs


__all__ = ["kmeans", "lloyd_iterations", "lloyd_graph"]
