"""Skipping tiles whose terms are all zero: box bounds on blocks of spatially ordered points.

Exact PAM's terms vanish for far points: FastPAM1's shared and per-medoid
corrections of a candidate ``c`` and a point ``o`` are zero when
``d(c, o) >= ds(o)`` (the second-nearest medoid is closer than the candidate),
BUILD's gain term when ``d(c, o) >= dn(o)``. The points are put in the order
of a k-d tree (recursive median splits of the widest coordinate, leaves of
:attr:`Boxes.leaf` points), so that consecutive blocks are compact, and each
leaf keeps its bounding box. For a block of candidates, the distance between
its box and a leaf's box bounds every ``d(c, o)`` of the pair from below; when
that bound reaches the largest threshold of the leaf, every term of the pair is
zero and the leaf is left out of the candidates' tile. The swaps are exactly
those of the full tiles (the sums only skip zeros), and in low dimension (maps,
``sipu/birch1``, d <= 4) most pairs are skipped once the medoids spread out;
in high dimension the boxes overlap and nothing is skipped.

The bound must hold for the distances the kernels compute, not only for the
exact ones: a leaf is skipped only when the bound, lowered by a relative
:data:`MARGIN` far above the rounding of the tiles (the product path keeps
``2^-52 / _CANCEL`` relative error in float64 after its cancellation repair,
about ``1e-12``; float32 about ``2e-3``), still reaches the threshold.
"""

from __future__ import annotations

import numpy as np
import torch

MARGIN = {torch.float64: 1e-6, torch.float32: 1e-2}
DEFAULT_LEAF = 256       # points per leaf (per skipped block)


def kd_order(Z: np.ndarray, leaf: int) -> np.ndarray:
    """A permutation that puts the rows of ``Z`` in k-d tree order, leaves of ``leaf`` rows.

    Each node is split at a multiple of ``leaf`` near its median along its
    widest coordinate, so the leaves are the aligned blocks
    ``[j * leaf, (j + 1) * leaf)`` of the permuted rows (the last one shorter).
    Deterministic for given ``Z``.
    """
    n = len(Z)
    perm = np.arange(n)
    stack = [(0, n)]
    while stack:
        lo, hi = stack.pop()
        m = hi - lo
        if m <= leaf:
            continue
        sub = Z[perm[lo:hi]]
        dim = int(np.argmax(sub.max(0) - sub.min(0)))
        half = leaf * (-(-m // leaf) // 2)           # left part: half of the leaves, rounded down
        part = np.argpartition(sub[:, dim], half - 1, kind="introselect")
        perm[lo:hi] = perm[lo:hi][part]
        stack.append((lo, lo + half))
        stack.append((lo + half, hi))
    return perm


class Boxes:
    """Bounding boxes of the leaves of ``Z`` (points already in :func:`kd_order`) and the bounds."""

    def __init__(self, Z: torch.Tensor, metric: str, leaf: int):
        self.metric, self.leaf = metric, int(leaf)
        self.n, self.d = int(Z.shape[0]), int(Z.shape[1])
        self.nb = -(-self.n // self.leaf)
        leaves = self._leaves(Z.to(torch.float64))   # the coordinates the kernels see, exactly
        self.lo, self.hi = leaves.amin(1), leaves.amax(1)
        self.margin = MARGIN[Z.dtype]
        self.pairs = 0           # (candidate, point) pairs asked for
        self.kept = 0            # of those, in tiles that were computed

    def _leaves(self, v: torch.Tensor) -> torch.Tensor:
        """``v`` (one entry per point) as (leaves, leaf, ...), the last leaf padded with its last entry."""
        pad = self.nb * self.leaf - self.n
        if pad:
            v = torch.cat([v, v[-1:].expand(pad, *v.shape[1:])])
        return v.view(self.nb, self.leaf, *v.shape[1:])

    def leaf_max(self, v: torch.Tensor) -> torch.Tensor:
        """The largest value of ``v`` (one per point) in each leaf, float64."""
        return self._leaves(v.to(torch.float64)).amax(1)

    def lower(self, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
        """A lower bound of d(c, o) for c in the box [lo, hi] and o in each leaf."""
        gap = torch.clamp(torch.maximum(self.lo - hi, lo - self.hi), min=0.0)
        if self.metric == "manhattan":
            return gap.sum(1)
        sq = (gap * gap).sum(1)
        if self.metric == "euclidean":
            return torch.sqrt(sq)
        if self.metric == "cosine":               # 1 - cos = ||u - v||^2 / 2 on unit rows
            return torch.clamp(sq * 0.5, max=2.0)
        return sq                                 # sqeuclidean

    def columns(self, A: torch.Tensor, thr: torch.Tensor) -> torch.Tensor | None:
        """Points of the leaves that the candidates ``A`` may reach below ``thr`` (leaf maxima).

        None when every leaf is kept (the caller takes the full columns).
        """
        A64 = A.to(torch.float64)
        near = self.lower(A64.amin(0), A64.amax(0)) * (1.0 - self.margin) < thr
        kept = int(near.sum())
        self.pairs += len(A) * self.n
        if kept == self.nb:
            self.kept += len(A) * self.n
            return None
        mask = near.repeat_interleave(self.leaf)[: self.n]
        cols = torch.nonzero(mask)[:, 0]
        self.kept += len(A) * len(cols)
        return cols

    def mark(self) -> tuple[int, int]:
        """The counters now, to take the fraction of a phase with :meth:`fraction`."""
        return self.pairs, self.kept

    def fraction(self, since: tuple[int, int] = (0, 0)) -> float:
        """Share of the (candidate, point) pairs skipped since ``since``."""
        pairs, kept = self.pairs - since[0], self.kept - since[1]
        return 1.0 - kept / pairs if pairs else 0.0

    def info(self) -> dict:
        return {"prune_leaf": self.leaf, "pruned_fraction": self.fraction()}


__all__ = ["kd_order", "Boxes", "MARGIN", "DEFAULT_LEAF"]
