"""Fused tile kernels of :mod:`bench_core.gpu.tiled` (``fused=True``), through ``torch.compile``.

The eager path of :class:`~bench_core.gpu.tiles.PointTiles` forms a distance
tile in about ten elementwise passes (the scaling and the two norm additions of
``||x||^2 + ||y||^2 - 2 x.y``, the clamp, the cancellation test, the square
root) and the swap terms in five more, each reading and writing the whole tile:
on a GPU that memory traffic, not the product, sets the time. Here one
compiled kernel per tile goes from the Gram product (or, for ``d <=``
:data:`DIRECT_MAX_D`, from the coordinates themselves) to the quantities the
algorithms need, without writing a distance tile:

* :func:`swap_block`: FastPAM1's shared term ``sum_o min(d(c,o) - dn(o), 0)``
  and the per-medoid sums ``sum_{o in i} (clamp(d(c,o), dn(o), ds(o)) - dn(o))``
  of a block of candidates (for ``k <=`` :data:`SMALL_K` as k masked row sums
  in the same kernel, else through one tile ``U`` and
  :func:`~bench_core.gpu.tiles.cluster_sums`);
* :func:`gains_block`: BUILD's gains ``sum_o max(dn(o) - d(c,o), 0)``;
* :func:`sums_block`: row sums (BUILD's first medoid, PAM with k = 1).

The distances are those of the eager tiles: the same operation order
(``(-2 G + ||x||^2) + ||y||^2``, clamped at 0, exact zeros on the diagonal).
The reference's cancellation test runs in the kernel; a tile with an entry that
needs the repair from the differences is computed again on the eager path, so
the values stay those of :meth:`PointTiles.tile`. For ``d <= DIRECT_MAX_D`` the
squared distances come from the differences for every entry (no product, no
cancellation), which for integer coordinates is the reference matrix bit for
bit and otherwise differs from it in the last bits, as the product does. The
sums run in another order than on the eager path: swaps whose changes tie to
within rounding are reported by the algorithms as near-ties.

Manhattan tiles come from ``torch.cdist`` as on the eager path; only their
terms are fused.
"""

from __future__ import annotations

import torch

from ..dissimilarity import _CANCEL
from .tiles import PointTiles, cluster_sums, finish, take

DIRECT_MAX_D = 4     # up to this many coordinates the distances come from the differences
SMALL_K = 16         # up to this many medoids their sums are masked row sums in the kernel (0: never)

_COMPILED: dict = {}


def _compiled(kernel, metric: str, d: int, **consts):
    """``kernel`` with its constants bound, compiled once per (kernel, metric, d, consts).

    Dynamo caches compiled frames per code object, with a limit of
    recompilations: each variant gets a code object of its own, so that the
    variants of one process never reach that limit. The sizes stay dynamic.
    """
    d = d if d <= DIRECT_MAX_D else DIRECT_MAX_D + 1     # beyond DIRECT_MAX_D the kernel ignores d
    key = (kernel.__name__, metric, d, *sorted(consts.items()))
    if key not in _COMPILED:
        def bound(*args, _kernel=kernel, _metric=metric, _d=d, _consts=consts):
            return _kernel(*args, metric=_metric, d=_d, **_consts)
        name = "_".join([kernel.__name__, metric, f"d{d}"] + [f"{a}{v}" for a, v in sorted(consts.items())])
        bound.__code__ = bound.__code__.replace(co_name=name, co_qualname=name)
        compiled = torch.compile(bound, dynamic=True)

        def run(*args, _compiled=compiled, _name=name):
            try:
                return _compiled(*args)
            except torch._dynamo.exc.BackendCompilerFailed as exc:
                raise CompileError(
                    f"fused=True: torch.compile could not build the kernel {_name} on "
                    f"{args[0].device} ({type(exc.inner_exception).__name__}: "
                    f"{str(exc.inner_exception).splitlines()[0] if str(exc.inner_exception) else ''}); "
                    "it needs a C++ compiler on the CPU or Triton on CUDA. "
                    "Use fused=False (the eager tiles, same results)") from exc
        _COMPILED[key] = run
    return _COMPILED[key]


class CompileError(RuntimeError):
    """``fused=True`` where ``torch.compile`` cannot build the kernels."""


# ----------------------------------------------------------------------------- distances


def _squared(A, B, M, na, nb, d: int):
    """Squared distances of a tile and the mask of entries that need the repair."""
    if M is None:                       # from the differences (d <= DIRECT_MAX_D)
        G = (A[:, 0, None] - B[None, :, 0]) ** 2
        for j in range(1, d):
            G = G + (A[:, j, None] - B[None, :, j]) ** 2
        return G, None
    G = (M * -2.0 + na[:, None].to(M.dtype)) + nb[None, :].to(M.dtype)
    G = torch.clamp(G, min=0.0)
    bad = G.to(torch.float64) < _CANCEL * (na[:, None] + nb[None, :])
    return G, bad


def _distances(A, B, M, na, nb, ri, ci, metric: str, d: int):
    if metric == "manhattan":
        G, bad = M, None                # M is the cdist tile
    else:
        G, bad = _squared(A, B, M, na, nb, d)
    diagonal = ri[:, None] == ci[None, :]
    G = torch.where(diagonal, 0.0, G)
    if bad is not None:
        bad = bad & ~diagonal           # a point against itself is 0, not repaired
    return (G if metric == "manhattan" else finish(G, metric)), bad


def _bad_rows(bad, like):
    if bad is None:
        return torch.zeros(like.shape[0], dtype=torch.int64, device=like.device)
    return bad.sum(1)


def swap_terms(D: torch.Tensor, dn: torch.Tensor, ds: torch.Tensor):
    """FastPAM1's two terms of a tile, in one formula for the eager and the fused path.

    With ``W = min(d, ds) - dn``: ``min(W, 0) = min(d - dn, 0)`` (the shared
    term; ``d < dn <= ds`` there) and ``max(W, 0) = clamp(d, dn, ds) - dn`` (the
    per-medoid term), both exactly as the reference forms them. Returns the row
    sums of the first (float64) and the second as a tile.
    """
    W = torch.minimum(D, ds) - dn
    return torch.clamp(W, max=0).sum(1, dtype=torch.float64), torch.clamp(W, min=0)


def _swap_terms(D, dn, ds, lab, masked: int, excess=None):
    """Shared row sums and either the ``masked`` per-medoid sums or, for 0, the clamped term U.

    With ``excess`` (``ds - dn`` of the columns) the per-medoid term is
    ``U - excess = clamp(d, dn, ds) - ds``, exactly 0 where ``d >= ds``: the
    form of the pruned swaps (:mod:`bench_core.gpu.bounds`), whose skipped
    tiles contribute nothing and whose caller adds ``sum_{o in i} excess(o)``.
    """
    shared, U = swap_terms(D, dn, ds)
    if excess is not None:
        U = U - excess
    if masked:
        per = torch.stack([torch.where(lab[None, :] == i, U, 0.0).sum(1, dtype=torch.float64)
                           for i in range(masked)], 1)
        return shared, per
    return shared, U


def _swap_kernel(A, B, M, na, nb, ri, ci, dn, ds, lab, metric: str, d: int, masked: int):
    D, bad = _distances(A, B, M, na, nb, ri, ci, metric, d)
    shared, per = _swap_terms(D, dn, ds, lab, masked)
    return shared, per, _bad_rows(bad, D)


def _swap_kernel_excess(A, B, M, na, nb, ri, ci, dn, ds, lab, excess, metric: str, d: int, masked: int):
    D, bad = _distances(A, B, M, na, nb, ri, ci, metric, d)
    shared, per = _swap_terms(D, dn, ds, lab, masked, excess)
    return shared, per, _bad_rows(bad, D)


def _gain_terms(D, dn):
    return torch.clamp(dn - D, min=0.0).sum(1, dtype=torch.float64)


def _gains_kernel(A, B, M, na, nb, ri, ci, dn, metric: str, d: int):
    D, bad = _distances(A, B, M, na, nb, ri, ci, metric, d)
    return _gain_terms(D, dn), _bad_rows(bad, D)


def _sums_kernel(A, B, M, na, nb, ri, ci, metric: str, d: int):
    D, bad = _distances(A, B, M, na, nb, ri, ci, metric, d)
    return D.sum(1, dtype=torch.float64), _bad_rows(bad, D)


# ----------------------------------------------------------------------------- blocks


def _operands(P: PointTiles, idx: torch.Tensor, cols):
    """(A, B, M, na, nb, ri, ci, d) of rows ``idx`` against the columns ``cols`` (slice or indices)."""
    A = P.Z.index_select(0, idx)
    B = take(P.Z, cols)
    ci = torch.arange(cols.start, cols.stop, device=P.device) if isinstance(cols, slice) else cols
    if P.metric == "manhattan":
        return A, B, torch.cdist(A, B, p=1.0), None, None, idx, ci, P.d
    na, nb = P.norms.index_select(0, idx), take(P.norms, cols)
    if P.d <= DIRECT_MAX_D:
        return A, B, None, na, nb, idx, ci, P.d
    return A, B, A @ B.T, na, nb, idx, ci, P.d


def _repair(P: PointTiles, M, bad) -> bool:
    """True (and counted) when a product tile has entries that the eager tile must repair."""
    if M is None or P.metric == "manhattan" or not bool(bad.any()):
        return False
    P.repaired_tiles += 1
    return True


def swap_block(P: PointTiles, idx: torch.Tensor, cols, dn, ds, lab, onehot, k: int, excess=None):
    """(shared, per-medoid) FastPAM1 sums of the candidates ``idx`` over the points ``cols`` (float64).

    ``cols``: a slice or a sorted index tensor. With ``excess`` (``ds - dn`` of
    every point) the per-medoid sums leave out ``sum excess`` (see :func:`_swap_terms`).
    """
    A, B, M, na, nb, ri, ci, d = _operands(P, idx, cols)
    masked = k if k <= SMALL_K else 0
    dn_c, ds_c, lab_c = take(dn, cols), take(ds, cols), take(lab, cols)
    args = (A, B, M, na, nb, ri, ci, dn_c, ds_c, lab_c)
    ex = None if excess is None else take(excess, cols)
    if ex is None:
        shared, per, bad = _compiled(_swap_kernel, P.metric, d, masked=masked)(*args)
    else:
        shared, per, bad = _compiled(_swap_kernel_excess, P.metric, d, masked=masked)(*args, ex)
    if _repair(P, M, bad):     # entries that lost their digits to cancellation
        shared, per = _swap_terms(P.tile_at(idx, cols), dn_c, ds_c, lab_c, masked, ex)
    if not masked:
        per = cluster_sums(per, cols, lab, onehot, k)
    return shared, per


def gains_block(P: PointTiles, idx: torch.Tensor, cols, dn) -> torch.Tensor:
    """BUILD gains ``sum_o max(dn(o) - d(c, o), 0)`` of the candidates ``idx`` over ``cols``."""
    A, B, M, na, nb, ri, ci, d = _operands(P, idx, cols)
    g, bad = _compiled(_gains_kernel, P.metric, d)(A, B, M, na, nb, ri, ci, take(dn, cols))
    if _repair(P, M, bad):
        g = _gain_terms(P.tile_at(idx, cols), take(dn, cols))
    return g


def sums_block(P: PointTiles, idx: torch.Tensor, cols) -> torch.Tensor:
    """Row sums ``sum_o d(c, o)`` of the rows ``idx`` over ``cols``."""
    A, B, M, na, nb, ri, ci, d = _operands(P, idx, cols)
    s, bad = _compiled(_sums_kernel, P.metric, d)(A, B, M, na, nb, ri, ci)
    if _repair(P, M, bad):
        s = P.tile_at(idx, cols).sum(1, dtype=torch.float64)
    return s


__all__ = ["swap_terms", "swap_block", "gains_block", "sums_block", "CompileError", "DIRECT_MAX_D",
           "SMALL_K"]
