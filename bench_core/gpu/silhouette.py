"""Silhouette (Rousseeuw 1987) and medoid silhouette (Van der Laan et al. 2003) on a torch device.

Same definitions as :mod:`bench_core.algorithms.silhouette` and the ``kmedoids``
package: labels are renumbered, a singleton's silhouette is 0, one cluster
gives 0; the medoid silhouette of a point at distance 0 from its medoid is 1.
The per-cluster sums of the silhouette come from one product of each row block
with the one-hot label matrix, accumulated in float64 whatever the matrix dtype.
"""

from __future__ import annotations

import numpy as np
import torch

from ..input_checks import check_labels, check_medoids
from .pam import prepare


def cluster_onehot(labels, n: int, dev):
    """Labels as clusters 0..k-1 on ``dev``: (labels, cluster sizes, (n, k) one-hot matrix), float64."""
    _, inverse, counts = np.unique(check_labels(labels, n), return_inverse=True, return_counts=True)
    lab = torch.as_tensor(inverse.astype(np.int64), device=dev)
    cnt = torch.as_tensor(counts, dtype=torch.float64, device=dev)
    onehot = torch.zeros((n, len(counts)), dtype=torch.float64, device=dev)
    onehot.scatter_(1, lab[:, None], 1.0)
    return lab, cnt, onehot


def silhouette(diss, labels, samples: bool = False, *, device=None, block_rows=None,
               max_device_bytes=None):
    """Average silhouette width; ``(value, per-point values)`` with ``samples=True``."""
    M = prepare(diss, device=device, block_rows=block_rows, max_device_bytes=max_device_bytes)
    n, dev = M.n, M.device
    lab, cnt, onehot = cluster_onehot(labels, n, dev)
    k = len(cnt)
    if k == 1:
        return (0.0, np.zeros(n)) if samples else 0.0
    diag = M.diagonal().to(torch.float64)
    s = torch.empty(n, dtype=torch.float64, device=dev)
    for r0, r1, Db in M.blocks():
        S = Db.to(torch.float64) @ onehot                 # (B, k) sums per cluster
        li = lab[r0:r1]
        own = S.gather(1, li[:, None])[:, 0] - diag[r0:r1]
        mates = cnt[li] - 1
        a = torch.where(mates > 0, own / mates.clamp(min=1), 0.0)
        mean = S / cnt
        mean.scatter_(1, li[:, None], float("inf"))      # own cluster is not a neighbour
        b = mean.min(1).values
        top = torch.maximum(a, b)
        si = torch.where(top > 0, (b - a) / torch.where(top > 0, top, 1.0), 0.0)
        s[r0:r1] = torch.where(mates > 0, si, 0.0)        # singletons: 0
    value = float(s.sum() / n)
    return (value, s.cpu().numpy()) if samples else value


def medoid_silhouette(diss, medoids, samples: bool = False, *, device=None,
                      max_device_bytes=None):
    """Medoid silhouette ``1 - mean(d1 / d2)`` of the nearest-medoid assignment."""
    M = prepare(diss, device=device, max_device_bytes=max_device_bytes)
    med = check_medoids(medoids, M.n)
    n, k = M.n, len(med)
    if k == 1:
        return (1.0, np.ones(n)) if samples else 1.0
    Dm = M.rows(torch.as_tensor(med, device=M.device)).to(torch.float64)
    two = torch.topk(Dm, 2, dim=0, largest=False).values   # sorted: d1 <= d2
    d1, d2 = two[0], two[1]
    ratio = torch.where(d1 != 0, d1 / torch.where(d1 != 0, d2, 1.0), 0.0)
    value = 1.0 - float(ratio.sum() / n)
    return (value, (1.0 - ratio).cpu().numpy()) if samples else value


__all__ = ["silhouette", "medoid_silhouette"]
