"""The n x n dissimilarity matrix computed on a torch device.

The same method as :func:`bench_core.dissimilarity.dissimilarity`: row blocks
against the columns from the block on (upper block triangle), mirrored, so the
result is exactly symmetric with an exact zero diagonal; Euclidean forms
through ``||x||^2 + ||y||^2 - 2 x.y`` with one matrix product per block, and
the entries that lost most of their digits to cancellation recomputed from the
differences. Arithmetic in float64 unless ``compute_dtype="float32"``; stored in
``dtype``. The matrix is kept on the device when it fits there, else in host
memory (filled block by block); when it does not fit in host memory either,
:class:`~bench_core.dissimilarity.InsufficientMemoryError` says so.
"""

from __future__ import annotations

import numpy as np
import torch

from ..dissimilarity import _CANCEL, METRICS, check_memory
from ..input_checks import check_choice, check_points
from ._device import free_device_memory, from_numpy, resolve_device, torch_dtype

BLOCK_BYTES = 1 << 30


def _sq_block(Xi, Xj, ni, nj):
    G = Xi @ Xj.T
    G.mul_(-2.0).add_(ni[:, None]).add_(nj[None, :]).clamp_(min=0.0)
    bad = G < _CANCEL * (ni[:, None] + nj[None, :])
    r, c = torch.nonzero(bad, as_tuple=True)
    if r.numel():
        diff = Xi[r] - Xj[c]
        G[r, c] = (diff * diff).sum(1)
    return G


def dissimilarity(X, metric: str = "euclidean", dtype=np.float64, *, device=None,
                  compute_dtype=np.float64, block_rows: int | None = None,
                  max_device_bytes: int | None = None) -> torch.Tensor:
    """The n x n dissimilarity matrix of the rows of ``X`` as a tensor.

    ``metric``: "euclidean", "sqeuclidean", "manhattan" or "cosine" (as on the
    CPU). Returns a tensor on ``device`` when ``n^2`` entries of ``dtype`` fit
    in ``max_device_bytes`` (default: the free device memory, keeping room for
    the blocks), otherwise a CPU tensor.
    """
    check_choice(metric, METRICS, name="metric")
    dev = resolve_device(device)
    out_dt = torch_dtype(dtype)
    cdt = torch_dtype(compute_dtype)
    if isinstance(X, torch.Tensor):
        Xt = X.to(dev, dtype=cdt)
        if not bool(torch.isfinite(Xt).all()):
            raise ValueError("X contains NaN or infinite values; expected finite numbers")
    else:
        Xt = from_numpy(check_points(X, dtype=np.float64)).to(dev, dtype=cdt)
    if Xt.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got {Xt.ndim} dimensions")
    n, d = Xt.shape
    item = torch.empty((), dtype=out_dt).element_size()
    citem = torch.empty((), dtype=cdt).element_size()
    b = block_rows or max(1, min(n, BLOCK_BYTES // max(1, 2 * n * citem)))
    budget = free_device_memory(dev) if max_device_bytes is None else int(max_device_bytes)
    need = n * n * item
    work = 2 * b * n * citem + Xt.numel() * citem
    if dev.type == "cpu" or need + work <= 0.9 * budget:
        out = torch.empty((n, n), dtype=out_dt, device=dev)
    else:
        check_memory(n, np.dtype(str(out_dt).removeprefix("torch.")),
                     what=f"matrix (it does not fit on {dev} either)")
        out = torch.empty((n, n), dtype=out_dt, device="cpu")

    if metric == "cosine":
        lengths = torch.linalg.vector_norm(Xt, dim=1)
        if bool((lengths == 0).any()):
            zero = torch.nonzero(lengths == 0)[:5, 0].tolist()
            raise ValueError(f"cosine dissimilarity is undefined for all-zero rows (rows {zero})")
        Xt = Xt / lengths[:, None]
    norms = (Xt * Xt).sum(1) if metric != "manhattan" else None
    for i0 in range(0, n, b):
        i1 = min(n, i0 + b)
        Xi = Xt[i0:i1]
        if metric == "manhattan":
            B = torch.cdist(Xi, Xt[i0:], p=1.0)
        else:
            B = _sq_block(Xi, Xt[i0:], norms[i0:i1], norms[i0:])
            if metric == "euclidean":
                B.sqrt_()
            elif metric == "cosine":
                B.mul_(0.5).clamp_(max=2.0)
        B = B.to(out_dt)
        w = i1 - i0
        up = torch.triu(B[:, :w], 1)
        B[:, :w] = up + up.T   # diagonal block: exactly symmetric, exact zero diagonal
        out[i0:i1, i0:] = B.to(out.device)
        out[i0:, i0:i1] = B.T.to(out.device)
    return out


__all__ = ["dissimilarity"]
