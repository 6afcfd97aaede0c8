"""Exact PAM from the points: BUILD, SWAP/FastPAM1, eager swaps and silhouettes on distance tiles.

The algorithms of :mod:`bench_core.gpu.pam` and :mod:`bench_core.gpu.silhouette`,
with the dissimilarities computed on the fly from the points
(:class:`~bench_core.gpu.tiles.PointTiles`) instead of read from an n x n matrix:
memory is O(n d + n k + one tile), so n = 10^5 .. 10^6 fit on one GPU.

SWAP uses the FastPAM1 decomposition (Schubert & Rousseeuw, "Fast and eager
k-medoids clustering", Information Systems 101, 2021): for a block of candidates
``c`` and a tile of points ``o``,

    delta[c, i] = sum_o min(d(c,o) - dn(o), 0)                               (row sums)
                + sum_{o in cluster i} (clamp(d(c,o), dn(o), ds(o)) - dn(o))  (tile @ one-hot)

accumulated over the column tiles in float64, ``dn``/``ds`` the distances to
the nearest/second-nearest medoid. The swap is chosen with the rules of the CPU
reference :mod:`bench_core.algorithms.pam` (``kmedoids`` 0.5.5's order):
per candidate the first medoid with the smallest ``delta``, then the first
candidate in index order with the smallest change; a swap is made only if it
lowers the loss by more than ``tol`` (:data:`bench_core.algorithms.pam.TOL`)
times the loss, and the loop stops when a swap does not lower the loss. From
the same start this gives the reference's medoids, loss, ``n_iter`` and
``n_swap``. The sums are taken in another order than on the CPU and the dot
products of the tiles are rounded differently from those of the reference
matrix (except for integer-valued data, where they are exact), so swaps whose
changes tie to within ``tie_rtol`` times the loss could go either way: every
such near-tie is listed in ``extras["near_ties"]``.

BUILD (Kaufman & Rousseeuw 1990) is evaluated lazily as the reference does it
(Minoux's lazy greedy: gains only decrease, so a stale gain bounds the fresh
one), in blocks of candidates with the largest bounds; the medoids are those
of plain BUILD.
"""

from __future__ import annotations

import numbers
import time

import numpy as np
import torch

from ..algorithms.init import seeded_medoids
from ..algorithms.pam import TOL
from ..input_checks import (
    check_choice,
    check_k,
    check_medoids,
    check_positive_int,
)
from ..result import ClusteringResult
from ..start import rng_for
from . import fused as fz
from ._device import device_name, sum64, synchronize
from .bounds import DEFAULT_LEAF
from .fused import swap_terms
from .pam import _State
from .silhouette import cluster_onehot
from .tiles import PointTiles, cluster_sums, take

INF = float("inf")
TIE_RTOL = 1e-10     # changes of loss closer than this (times the loss) are reported as near-ties
MAX_TIES = 100       # near-ties kept in extras
PRUNE_ROWS = 1024    # with prune=True, candidate blocks of at most this many rows
INITS = ("random", "first", "build", "k-medoids++", "lab")


# ----------------------------------------------------------------------------- input


def prepare(X, metric: str = "euclidean", *, dtype="float64", device=None, memory_budget=None,
            tile_rows=None, tile_cols=None) -> PointTiles:
    """Validate the points and put them on the device as a :class:`PointTiles`."""
    if isinstance(X, PointTiles):
        return X
    return PointTiles(X, metric, dtype=dtype, device=device, memory_budget=memory_budget,
                      tile_rows=tile_rows, tile_cols=tile_cols)


def _check_rtol(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


def _initial(P: PointTiles, medoids, init: str, random_state, lazy: bool = True,
             info: dict | None = None, fused: bool = False) -> np.ndarray:
    """k with ``init``, or given medoids: "build" on the device, "random", "k-medoids++" and
    "lab" as the reference draws them (their rows of distances computed as tiles), "first".

    BUILD's counters go into ``info`` when given.
    """
    n = P.n
    if isinstance(medoids, numbers.Integral) and not isinstance(medoids, bool):
        k = check_k(medoids, n, name="k (medoids)")
        check_choice(init, INITS, name="init (from the points)")
        if init == "build":
            meds, _, counters = _build(P, k, lazy=lazy, fused=fused)
            if info is not None:
                info.update(counters)
            return meds
        if init == "first":
            return _positions(P, np.arange(k, dtype=np.int64))
        # bench_core.algorithms.init.initial_medoids(..., init, random_state):
        # the one start of an int seed (bench_core.start), as the reference draws it
        rng = rng_for(random_state, n, k)
        if init == "random":
            draw = rng.choice(n, size=k, replace=False)
            return _positions(P, np.sort(draw).astype(np.int64))
        return _positions(P, seeded_medoids(_host_rows(P), n, k, init, rng))
    if isinstance(medoids, bool | float | str) or medoids is None:
        raise ValueError(f"medoids must be k (an int) or an array of initial medoids, got {medoids!r}")
    return _positions(P, check_medoids(medoids, n))


def _host_rows(P: PointTiles):
    """The :data:`~bench_core.algorithms.init.Distances` of ``P`` in the input order: tiles
    computed on the device, returned in float64 on the host (for the seeded inits)."""
    def dist(rows: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
        r = torch.as_tensor(_positions(P, np.asarray(rows, dtype=np.int64)), device=P.device)
        if cols is None:
            out = P.rows_of(r)
            if P.order is not None:  # columns back to the input order
                out = out.index_select(1, torch.as_tensor(P.inverse, device=P.device))
        else:
            at = _positions(P, np.asarray(cols, dtype=np.int64))
            o = np.argsort(at, kind="stable")   # tile_at takes sorted columns
            t = P.tile_at(r, torch.as_tensor(at[o], device=P.device))
            out = torch.empty_like(t)
            out[:, torch.as_tensor(o, device=P.device)] = t
        return out.to(torch.float64).cpu().numpy()
    return dist


# ----------------------------------------------------------------------------- pruning


def _positions(P: PointTiles, medoids: np.ndarray) -> np.ndarray:
    """Input indices as rows of ``P`` (the same unless ``P`` is reordered for pruning)."""
    return medoids if P.order is None else P.inverse[medoids]


def _reorder(P: PointTiles, prune, leaf) -> PointTiles:
    """``P`` itself, or with ``prune`` its copy in k-d tree order (row blocks of whole leaves)."""
    if not prune:
        return P
    leaf = min(check_positive_int(DEFAULT_LEAF if leaf is None else leaf, name="prune_leaf"), P.tile_rows)
    Q = P.reordered(leaf)
    # candidate blocks: whole leaves, at most PRUNE_ROWS rows (a smaller box reaches fewer leaves)
    Q.tile_rows = max(leaf, min(P.tile_rows, PRUNE_ROWS) // leaf * leaf)
    return Q


def _restore(P: PointTiles, res: ClusteringResult) -> ClusteringResult:
    """Map the indices of a result on a reordered ``P`` back to the input order."""
    if P.order is None:
        return res
    o = P.order
    labels = np.empty_like(res.labels)
    labels[o] = res.labels
    res.medoids, res.labels = o[res.medoids], labels
    ex = res.extras
    if "initial_medoids" in ex:
        ex["initial_medoids"] = o[np.asarray(ex["initial_medoids"])]
    for tie in ex.get("near_ties", []):
        for key in ("chosen", "other"):
            if key in tie:
                tie[key] = int(o[tie[key]])
    if "swaps" in ex:
        ex["swaps"] = [(int(o[c]), i, delta) for c, i, delta in ex["swaps"]]
    return res


def _columns(P: PointTiles, rows: torch.Tensor, thr: torch.Tensor | None):
    """The column sets of a block of candidates: slices of the full width, or with pruning
    the points of the leaves the candidates may reach below ``thr`` (leaf maxima), in chunks."""
    cols = None if thr is None else P.boxes.columns(P.Z.index_select(0, rows), thr)
    if cols is None:
        for c0, c1 in P.col_blocks():
            yield slice(c0, c1)
        return
    for c0 in range(0, len(cols), P.tile_cols):
        yield cols[c0:c0 + P.tile_cols]


class _Cut:
    """Per iteration of the pruned swaps: leaf maxima of ``ds``, ``ds - dn`` and its sums per medoid."""

    def __init__(self, P: PointTiles, st: _State):
        self.thr = P.boxes.leaf_max(st.ds)
        self.excess = st.ds - st.dn
        # a product, not index_add_ (atomic, so in no fixed order on CUDA)
        self.base = self.excess.to(torch.float64) @ st.onehot.to(torch.float64)


def _extras(P: PointTiles, **more) -> dict:
    ex = {"device": device_name(P.device), "dtype": P.dtype_name}
    ex.update(P.info())
    ex.update(more)
    return ex


def _first_min(v: torch.Tensor, P: PointTiles | None = None) -> tuple[int, float]:
    """Row and value of the minimum; on ties the first in the input order."""
    j = int(torch.argmin(v))
    if P is not None and P.order is not None:
        tied = torch.nonzero(v == v[j])[:, 0]
        j = int(tied[torch.argmin(P.order_t[tied])])
    return j, float(v[j])


def _first_max(v: torch.Tensor, P: PointTiles) -> int:
    return _first_min(-v, P)[0]


def _row_sums(P: PointTiles, fused: bool = False) -> torch.Tensor:
    """sum_o d(i, o) for every i (float64)."""
    sums = torch.empty(P.n, dtype=torch.float64, device=P.device)
    for r0, r1 in P.row_blocks():
        acc = torch.zeros(r1 - r0, dtype=torch.float64, device=P.device)
        idx = torch.arange(r0, r1, device=P.device)
        for c0, c1 in P.col_blocks():
            acc += fz.sums_block(P, idx, slice(c0, c1)) if fused else sum64(P.tile(r0, r1, c0, c1), 1)
        sums[r0:r1] = acc
    return sums


# ----------------------------------------------------------------------------- BUILD


def _gains(P: PointTiles, idx: torch.Tensor, dn: torch.Tensor, fused: bool = False,
           thr: torch.Tensor | None = None) -> torch.Tensor:
    """BUILD gains sum_o max(dn(o) - d(c, o), 0) of the candidates ``idx`` (float64).

    ``thr``: the leaf maxima of ``dn`` when pruning (leaves out of reach add 0).
    """
    g = torch.zeros(len(idx), dtype=torch.float64, device=P.device)
    for cols in _columns(P, idx, thr):
        if fused:
            g += fz.gains_block(P, idx, cols, dn)
            continue
        D = P.tile_at(idx, cols)
        torch.sub(take(dn, cols), D, out=D)
        g += sum64(D.clamp_(min=0), 1)
    return g


def _build(P: PointTiles, k: int, *, lazy: bool = True, fused: bool = False):
    """PAM BUILD from the points; returns (medoids, dn, info).

    First medoid: the smallest sum of dissimilarities; then the largest gain
    ``sum_o max(dn(o) - d(c, o), 0)`` (its own term included, as ``kmedoids``
    0.5 and the reference count it), ties to the lowest index. With ``lazy``,
    after the second step only candidates whose previous gain (an upper bound)
    reaches the best fresh gain of the step (less a relative slack of 1e-9 for
    rounding) are evaluated, in blocks of the largest bounds.
    """
    dev, n = P.device, P.n
    first, _ = _first_min(_row_sums(P, fused), P)
    meds = [first]
    is_med = torch.zeros(n, dtype=torch.bool, device=dev)
    is_med[first] = True
    dn = P.rows_of(torch.tensor([first], device=dev))[0]
    dn[first] = 0
    bound = torch.full((n,), INF, dtype=torch.float64, device=dev)
    evals = no_gain = 0
    # lazy steps evaluate few candidates: blocks of at most 1024 rows (n/16 for small n)
    B = max(1, min(P.tile_rows, 1024, max(64, -(-n // 16))))
    for step in range(1, k):
        fresh = torch.full((n,), -INF, dtype=torch.float64, device=dev)
        thr = None if P.boxes is None else P.boxes.leaf_max(dn)
        if step == 1 or not lazy:
            for r0, r1 in P.row_blocks():
                idx = torch.arange(r0, r1, device=dev)
                fresh[r0:r1] = _gains(P, idx, dn, fused, thr)
            evals += n
        else:
            done = is_med.clone()
            best = -INF
            while True:
                slack = 1e-9 * abs(best) if best > -INF else INF
                eligible = ~done & (bound >= best - slack)
                cnt = int(eligible.sum())
                if cnt == 0:
                    break
                if cnt <= B:
                    idx = torch.nonzero(eligible)[:, 0]
                else:
                    idx = torch.topk(torch.where(eligible, bound, -INF), B).indices
                g = _gains(P, idx, dn, fused, thr)
                fresh[idx] = g
                done[idx] = True
                evals += len(idx)
                best = max(best, float(g.max()))
        bound = torch.where(fresh > -INF, fresh, bound)
        fresh.masked_fill_(is_med, -INF)
        c = _first_max(fresh, P)               # first (lowest) index of the largest gain
        no_gain += float(fresh[c]) <= 0        # only with duplicate points: nothing improves
        row = P.rows_of(torch.tensor([c], device=dev))[0]
        torch.minimum(dn, row, out=dn)
        dn[c] = 0
        is_med[c] = True
        meds.append(c)
    return np.asarray(meds, dtype=np.int64), dn, {"gain_evaluations": int(evals),
                                                   "build_without_gain": int(no_gain)}


def build(X, k: int, metric: str = "euclidean", *, lazy: bool = True, dtype="float64", device=None,
          memory_budget=None, tile_rows=None, tile_cols=None, fused: bool = False,
          prune: bool = False, prune_leaf: int | None = None) -> ClusteringResult:
    """PAM BUILD from the points; the medoids of ``bench_core.algorithms.pam.build``.

    ``prune``: skip the tiles whose gain terms are all zero (see :func:`pam`).
    """
    t0 = time.perf_counter()
    P = _reorder(prepare(X, metric, dtype=dtype, device=device, memory_budget=memory_budget,
                         tile_rows=tile_rows, tile_cols=tile_cols), prune, prune_leaf)
    k = check_k(k, P.n)
    meds, _, info = _build(P, k, lazy=bool(lazy), fused=bool(fused))
    st = _State(P, meds)
    synchronize(P.device)
    return _restore(P, ClusteringResult(
        loss=st.loss(), labels=st.labels(), medoids=meds, n_iter=1, n_swap=0, converged=True,
        extras=_extras(P, algorithm="build", build_s=time.perf_counter() - t0, **info)))


# ----------------------------------------------------------------------------- SWAP


def _changes(P: PointTiles, st: _State, r0: int, r1: int, fused: bool = False,
             cut: _Cut | None = None):
    """(change, which, medoid gap) of the candidates r0:r1.

    ``change[c] = min_i delta[c, i]`` in float64 (+inf for current medoids),
    ``which[c]`` the first ``i`` attaining it, ``gap[c]`` the distance to the
    second-smallest ``delta[c, .]`` (for the report of near-ties). ``fused``
    takes each tile's shared and per-medoid sums from one compiled kernel
    (:func:`bench_core.gpu.fused.swap_block`). With ``cut`` (pruning) only the
    leaves within reach are computed, with the per-medoid terms less
    ``ds - dn``, whose sums per medoid start the accumulators.
    """
    dev = P.device
    shared = torch.zeros(r1 - r0, dtype=torch.float64, device=dev)
    if cut is None:
        per = torch.zeros((r1 - r0, st.k), dtype=torch.float64, device=dev)
    else:
        per = cut.base.expand(r1 - r0, st.k).clone()
    excess = None if cut is None else cut.excess
    idx = torch.arange(r0, r1, device=dev)
    for cols in _columns(P, idx, None if cut is None else cut.thr):
        if fused:
            s, p = fz.swap_block(P, idx, cols, st.dn, st.ds, st.lab, st.onehot, st.k, excess)
            shared += s
            per += p
            continue
        s, U = swap_terms(P.tile_at(idx, cols), take(st.dn, cols), take(st.ds, cols))
        if excess is not None:
            U -= take(excess, cols)
        shared += s
        per += cluster_sums(U, cols, st.lab, st.onehot, st.k)
    two = torch.topk(per, 2, dim=1, largest=False).values
    best, which = per.min(1)                           # first medoid on ties
    change = best + shared
    change.masked_fill_(st.is_med[r0:r1], INF)
    return change, which, two[:, 1] - two[:, 0]


def _note_ties(ties: list, it: int, change: torch.Tensor, gap: torch.Tensor, c: int,
               delta: float, loss: float, tol: float, tie_rtol: float) -> None:
    """Record the near-ties of one decision (candidates, medoids, the stopping threshold)."""
    if len(ties) >= MAX_TIES or tie_rtol <= 0:
        return
    width = tie_rtol * abs(loss)
    vals, idx = torch.topk(change, min(2, len(change)), largest=False)
    if len(vals) == 2 and float(vals[1]) - float(vals[0]) <= width:
        other = int(idx[1]) if int(idx[0]) == c else int(idx[0])
        ties.append({"iter": it, "kind": "candidate", "chosen": c, "other": other,
                     "gap": float(vals[1]) - float(vals[0])})
    if float(gap[c]) <= width:
        ties.append({"iter": it, "kind": "medoid", "chosen": c, "gap": float(gap[c])})
    if abs(delta + tol * loss) <= width:
        ties.append({"iter": it, "kind": "threshold", "chosen": c, "gap": abs(delta + tol * loss)})


def _single(P: PointTiles, med0: int, start: np.ndarray, fused: bool = False) -> ClusteringResult:
    """k = 1: the point with the smallest sum, keeping the start on ties (as the reference)."""
    sums = _row_sums(P, fused)
    j, best = _first_min(sums, P)
    if float(sums[med0]) <= best:
        j = med0
    st = _State(P, np.array([j], dtype=np.int64))
    return ClusteringResult(loss=st.loss(), labels=np.zeros(P.n, dtype=np.int64),
                            medoids=np.array([j], dtype=np.int64), n_iter=1,
                            n_swap=int(j != med0), converged=True,
                            extras=_extras(P, initial_medoids=start))


def _no_swap(P: PointTiles, start: np.ndarray, converged: bool) -> ClusteringResult:
    st = _State(P, start)
    return ClusteringResult(loss=st.loss(), labels=st.labels(), medoids=start.copy(), n_iter=0,
                            n_swap=0, converged=converged, extras=_extras(P, initial_medoids=start))


def _swap_exact(P: PointTiles, start: np.ndarray, max_iter: int, tol: float, tie_rtol: float,
                record: bool, fused: bool = False) -> ClusteringResult:
    st = _State(P, start)
    n = P.n
    mark = None if P.boxes is None else P.boxes.mark()
    change = torch.empty(n, dtype=torch.float64, device=P.device)
    which = torch.empty(n, dtype=torch.int64, device=P.device)
    gap = torch.empty(n, dtype=torch.float64, device=P.device)
    loss = st.loss()
    trace: list[tuple[int, int, float]] = []
    ties: list[dict] = []
    iter_s: list[float] = []
    n_iter = n_swap = 0
    converged = False
    while n_iter < max_iter:
        n_iter += 1
        t0 = time.perf_counter()
        cut = None if P.boxes is None else _Cut(P, st)
        for r0, r1 in P.row_blocks():
            change[r0:r1], which[r0:r1], gap[r0:r1] = _changes(P, st, r0, r1, fused, cut)
        c, delta = _first_min(change, P)
        _note_ties(ties, n_iter, change, gap, c, delta, loss, tol, tie_rtol)
        if not delta < -tol * loss:
            converged = True          # no swap lowers the loss by more than tol * loss
            iter_s.append(time.perf_counter() - t0)
            break
        i = int(which[c])
        n_swap += 1
        st.swap(i, c)
        if record:
            trace.append((c, i, delta))
        new = st.loss()
        iter_s.append(time.perf_counter() - t0)
        if new >= loss:               # rounding: the swap did not lower the loss
            break
        loss = new
    synchronize(P.device)
    ex = _extras(P, initial_medoids=start, near_ties=ties, tie_rtol=tie_rtol, iteration_s=iter_s)
    if mark is not None:
        ex["pruned_fraction_swap"] = P.boxes.fraction(mark)
    if record:
        ex["swaps"] = trace
    return ClusteringResult(loss=st.loss(), labels=st.labels(), medoids=st.medoids(),
                            n_iter=n_iter, n_swap=n_swap, converged=converged, extras=ex)


def _common_args(max_iter, tol, tie_rtol):
    max_iter = check_positive_int(max_iter, name="max_iter", minimum=0)
    return max_iter, _check_rtol(tol, "tol"), _check_rtol(tie_rtol, "tie_rtol")


def pam(X, medoids, max_iter: int = 100, init: str = "build", random_state=None, *,
        metric: str = "euclidean", tol: float = TOL, tie_rtol: float = TIE_RTOL, lazy: bool = True,
        dtype="float64", device=None, memory_budget=None, tile_rows=None, tile_cols=None,
        record_swaps: bool = False, fused: bool = False, prune: bool = False,
        prune_leaf: int | None = None) -> ClusteringResult:
    """Exact PAM (BUILD + SWAP, the best swap per iteration) from the points.

    Same medoids, loss, ``n_iter`` and ``n_swap`` as ``pam/reference`` on the
    matrix of the same points and metric, from the same start (see the module
    docstring). ``medoids``: k or initial medoids; ``init``: "build" (tiled, on
    the device), "random", "k-medoids++" or "lab" (the reference's draws, their
    rows of distances as tiles) or "first". ``dtype``:
    "float64" or "float32" tiles. ``memory_budget`` (bytes) or
    ``tile_rows``/``tile_cols`` size the tiles. ``extras`` has the device, the
    tile shape, the seconds per iteration and the near-ties. ``fused=True``
    goes from the product (or the coordinates) of a tile to its BUILD gains or
    swap sums in one ``torch.compile`` kernel (:mod:`bench_core.gpu.fused`:
    no distance tile is written; the same terms, summed in another order).
    ``prune=True`` puts the points in k-d tree order (leaves of ``prune_leaf``
    points, default :data:`~bench_core.gpu.bounds.DEFAULT_LEAF`) and skips the
    leaves that box bounds prove out of reach of a block of candidates, whose
    terms are all zero (:mod:`bench_core.gpu.bounds`): the same swaps, and in
    low dimension a fraction of the work (``extras["pruned_fraction"]``);
    indices and ties are those of the input order.
    """
    t0 = time.perf_counter()
    P = _reorder(prepare(X, metric, dtype=dtype, device=device, memory_budget=memory_budget,
                         tile_rows=tile_rows, tile_cols=tile_cols), prune, prune_leaf)
    max_iter, tol, tie_rtol = _common_args(max_iter, tol, tie_rtol)
    info: dict = {}
    start = _initial(P, medoids, init, random_state, lazy=bool(lazy), info=info, fused=bool(fused))
    t1 = time.perf_counter()
    if len(start) == 1 and max_iter > 0:
        res = _single(P, int(start[0]), start, bool(fused))
    elif len(start) == P.n or max_iter == 0:
        res = _no_swap(P, start, converged=len(start) == P.n)
    else:
        res = _swap_exact(P, start, max_iter, tol, tie_rtol, record_swaps, bool(fused))
    res.extras.update(algorithm="pam", fused=bool(fused), prune=bool(prune), init_s=t1 - t0,
                      total_s=time.perf_counter() - t0, **info)
    return _restore(P, res)


def fastpam1(X, medoids, max_iter: int = 100, init: str = "random", random_state=None,
             **kwargs) -> ClusteringResult:
    """FastPAM1: the swaps of PAM (the same computation here); random init by default."""
    res = pam(X, medoids, max_iter=max_iter, init=init, random_state=random_state, **kwargs)
    res.extras["algorithm"] = "fastpam1"
    return res


def fasterpam(X, medoids, max_iter: int = 100, init: str = "random", random_state=None, *,
              metric: str = "euclidean", block_size: int = 256, tol: float = TOL,
              dtype="float64", device=None, memory_budget=None, tile_cols=None,
              record_swaps: bool = False, fused: bool = False, prune: bool = False) -> ClusteringResult:
    """FasterPAM-style eager swaps from the points, over blocks of ``block_size`` candidates.

    Blocks of candidates are visited in index order; the best swap of a block
    (FastPAM1 deltas of all its candidates) is made at once when it lowers the
    loss by more than ``tol`` times the loss, and the same block is evaluated
    again; the loop stops after a full cycle of blocks without a swap (as
    FasterPAM after a full cycle of candidates). ``block_size=1`` makes
    FasterPAM's swaps (``fasterpam/reference`` unshuffled); larger blocks make
    each swap the best of its block rather than the first improving one (a
    local optimum of the same kind, not the same swaps). ``prune`` is refused:
    the swaps depend on the order in which candidates are visited, which the
    k-d tree order of the pruned algorithms would change.
    """
    t0 = time.perf_counter()
    if prune:
        raise ValueError("prune=True is not available for fasterpam: its eager swaps depend on the "
                         "order of the candidates, which pruning changes (use pam or fastpam1)")
    block_size = check_positive_int(block_size, name="block_size")
    P = prepare(X, metric, dtype=dtype, device=device, memory_budget=memory_budget,
                tile_rows=block_size, tile_cols=tile_cols)
    max_iter, tol, _ = _common_args(max_iter, tol, 0.0)
    start = _initial(P, medoids, init, random_state, fused=bool(fused))
    if len(start) == 1 and max_iter > 0:
        return _single(P, int(start[0]), start, bool(fused))
    if len(start) == P.n or max_iter == 0:
        return _no_swap(P, start, converged=len(start) == P.n)
    st = _State(P, start)
    n = P.n
    B = min(block_size, n)
    nb = -(-n // B)
    loss = st.loss()
    trace: list[tuple[int, int, float]] = []
    n_iter = n_swap = 0
    converged = False
    last = nb                      # block of the last swap (none yet)
    while n_iter < max_iter:
        n_iter += 1
        swaps_before, lastloss = n_swap, loss
        for b in range(nb):
            if b == last:
                break
            r0, r1 = b * B, min(n, (b + 1) * B)
            while True:
                change, which, _ = _changes(P, st, r0, r1, bool(fused))
                jj, delta = _first_min(change)
                if not delta < -tol * loss:
                    break
                c, i = r0 + jj, int(which[jj])
                n_swap += 1
                last = b
                st.swap(i, c)
                if record_swaps:
                    trace.append((c, i, delta))
                loss = st.loss()
        if n_swap == swaps_before:
            converged = True
            break
        if loss >= lastloss:       # a pass without real progress (rounding noise)
            break
    synchronize(P.device)
    ex = _extras(P, algorithm="fasterpam", block_size=B, initial_medoids=start,
                 total_s=time.perf_counter() - t0)
    if record_swaps:
        ex["swaps"] = trace
    return ClusteringResult(loss=loss, labels=st.labels(), medoids=st.medoids(), n_iter=n_iter,
                            n_swap=n_swap, converged=converged, extras=ex)


def assign(X, medoids, metric: str = "euclidean", *, dtype="float64", device=None,
           memory_budget=None, tile_cols=None) -> tuple[np.ndarray, float]:
    """Labels (nearest medoid, ties to the first listed, medoids in their own cluster) and loss."""
    P = prepare(X, metric, dtype=dtype, device=device, memory_budget=memory_budget,
                tile_cols=tile_cols)
    st = _State(P, check_medoids(medoids, P.n))
    return st.labels(), st.loss()


# ----------------------------------------------------------------------------- silhouettes


def silhouette(X, labels, metric: str = "euclidean", samples: bool = False, *, dtype="float64",
               device=None, memory_budget=None, tile_rows=None, tile_cols=None):
    """Average silhouette width (Rousseeuw 1987) from the points; per-point values with ``samples``.

    The same definition as ``silhouette/reference`` (labels renumbered, a
    singleton scores 0, one cluster gives 0); the per-cluster sums of each row
    block in float64 (products with the one-hot labels; on the CPU ``index_add_``).
    """
    P = prepare(X, metric, dtype=dtype, device=device, memory_budget=memory_budget,
                tile_rows=tile_rows, tile_cols=tile_cols)
    n, dev = P.n, P.device
    lab, cnt, onehot = cluster_onehot(labels, n, dev)
    k = len(cnt)
    if k == 1:
        return (0.0, np.zeros(n)) if samples else 0.0
    s = torch.empty(n, dtype=torch.float64, device=dev)
    for r0, r1 in P.row_blocks():
        S = torch.zeros((r1 - r0, k), dtype=torch.float64, device=dev)
        for c0, c1 in P.col_blocks():
            S += cluster_sums(P.tile(r0, r1, c0, c1).to(torch.float64), slice(c0, c1), lab, onehot, k)
        li = lab[r0:r1]
        own = S.gather(1, li[:, None])[:, 0]               # d(i, i) = 0
        mates = cnt[li] - 1
        a = torch.where(mates > 0, own / mates.clamp(min=1), 0.0)
        mean = S / cnt
        mean.scatter_(1, li[:, None], INF)                  # own cluster is not a neighbour
        b = mean.min(1).values
        top = torch.maximum(a, b)
        si = torch.where(top > 0, (b - a) / torch.where(top > 0, top, 1.0), 0.0)
        s[r0:r1] = torch.where(mates > 0, si, 0.0)          # singletons: 0
    value = float(s.sum() / n)
    return (value, s.cpu().numpy()) if samples else value


def medoid_silhouette(X, medoids, metric: str = "euclidean", samples: bool = False, *,
                      dtype="float64", device=None, memory_budget=None, tile_cols=None):
    """Medoid silhouette ``1 - mean(d1 / d2)`` (Van der Laan et al. 2003) from the points."""
    P = prepare(X, metric, dtype=dtype, device=device, memory_budget=memory_budget,
                tile_cols=tile_cols)
    med = check_medoids(medoids, P.n)
    n, k = P.n, len(med)
    if k == 1:
        return (1.0, np.ones(n)) if samples else 1.0
    idx = torch.as_tensor(med, device=P.device)
    d1 = torch.empty(n, dtype=torch.float64, device=P.device)
    d2 = torch.empty(n, dtype=torch.float64, device=P.device)
    for c0, c1 in P.col_blocks():
        two = torch.topk(P.tile_at(idx, slice(c0, c1)).to(torch.float64), 2, dim=0, largest=False).values
        d1[c0:c1], d2[c0:c1] = two[0], two[1]
    ratio = torch.where(d1 != 0, d1 / torch.where(d1 != 0, d2, 1.0), 0.0)
    value = 1.0 - float(ratio.sum() / n)
    return (value, (1.0 - ratio).cpu().numpy()) if samples else value


__all__ = ["build", "pam", "fastpam1", "fasterpam", "assign", "silhouette", "medoid_silhouette",
           "prepare", "TIE_RTOL"]
