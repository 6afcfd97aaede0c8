"""Lloyd-style k-median in L1 on a torch device.

The loop of :func:`bench_core.algorithms.kmedian.kmedian` (unweighted, no
outliers): assign every point to the centre nearest in Manhattan distance
(``torch.cdist(p=1)``, first centre on ties), move every non-empty centre to the
coordinate-wise median of its members (midpoint of the two middle values for an
even count, as ``numpy.median``), stop when an assignment changes no label.
Empty clusters take, in increasing index, the point farthest from its centre
whose cluster keeps another member (the reference rule; done on the host, it is
rare). Distances and medians in float64.
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
        C = np.asarray(init, dtype=np.float64)
        if C.shape != (k, X.shape[1]) or not np.isfinite(C).all():
            raise ValueError(f"initial centres must be finite with shape {(k, X.shape[1])}, got {C.shape}")
        return C.copy()
    try:
        from ..algorithms.kmedian import initial_centers
    except ImportError:
        initial_centers = None
    if initial_centers is not None:
        return initial_centers(X, np.ascontiguousarray(X.T), k, init, rng, weights=None)
    if init not in ("random", "forgy"):
        raise ValueError(f"init {init!r} needs bench_core.algorithms.kmedian; 'random' is built in")
    return X[rng.choice(X.shape[0], k, replace=False)].astype(np.float64)


def _assign(X: torch.Tensor, C: torch.Tensor, block: int = 8192):
    labels = torch.empty(X.shape[0], dtype=torch.int64, device=X.device)
    dist = torch.empty(X.shape[0], dtype=torch.float64, device=X.device)
    for r0 in range(0, X.shape[0], block):
        dist[r0:r0 + block], labels[r0:r0 + block] = torch.cdist(X[r0:r0 + block], C, p=1.0).min(1)
    return labels, dist


def _medians(X: torch.Tensor, labels: torch.Tensor, C: torch.Tensor, k: int) -> None:
    """Coordinate-wise medians of the clusters, in place in ``C`` (empty clusters unchanged)."""
    order = torch.argsort(labels, stable=True)
    Xs = X[order]
    counts = torch.bincount(labels, minlength=k).tolist()
    start = 0
    for j, m in enumerate(counts):
        if m:
            s = Xs[start:start + m].sort(0).values
            C[j] = 0.5 * (s[(m - 1) // 2] + s[m // 2])
        start += m


def _relocate_empty(X, C, labels, dist, k) -> int:
    counts = torch.bincount(labels, minlength=k)
    empty = torch.nonzero(counts == 0)[:, 0].tolist()
    if not empty:
        return 0
    counts = counts.tolist()
    lab = labels.cpu().numpy()
    dh = dist.cpu().numpy()
    moved = 0
    for p in np.argsort(-dh, kind="stable"):
        if moved == len(empty) or dh[p] == 0:
            break
        if counts[lab[p]] < 2:
            continue
        e = empty[moved]
        counts[lab[p]] -= 1
        counts[e] += 1
        labels[int(p)] = e
        dist[int(p)] = 0.0
        C[e] = X[int(p)]
        moved += 1
    return moved


def kmedian(X, k: int, *, init="k-medians++", max_iter: int = 300, random_state=None,
            device=None) -> ClusteringResult:
    """Lloyd-style k-median on ``device``; ``loss`` is the sum of L1 distances to the centres."""
    dev = resolve_device(device)
    Xn = check_points(X)
    n, _ = Xn.shape
    k = check_k(k, n)
    max_iter = check_positive_int(max_iter, name="max_iter")
    C0 = _initial_centers(Xn, k, init, random_state)
    Xt = from_numpy(Xn).to(dev, dtype=torch.float64)
    C = torch.as_tensor(C0, dtype=torch.float64, device=dev).clone()
    labels, dist = _assign(Xt, C)
    converged = False
    n_iter = n_relocated = 0
    while n_iter < max_iter:
        n_relocated += _relocate_empty(Xt, C, labels, dist, k)
        _medians(Xt, labels, C, k)
        n_iter += 1
        prev = labels
        labels, dist = _assign(Xt, C)
        if bool((labels == prev).all()):
            converged = True
            break
    return ClusteringResult(
        loss=float(dist.sum()), labels=labels.cpu().numpy().astype(np.int64),
        centers=C.cpu().numpy().astype(Xn.dtype, copy=False), n_iter=n_iter, converged=converged,
        extras={"n_relocated": n_relocated, "device": device_name(dev)})


__all__ = ["kmedian"]
