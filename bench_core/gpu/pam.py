"""PAM BUILD, exact PAM SWAP, block-eager FasterPAM and Alternating as dense tensor work.

Exact SWAP uses the FastPAM1 decomposition of the change of loss when medoid
``i`` is replaced by candidate ``c`` (Schubert & Rousseeuw, "Fast and eager
k-medoids clustering", Information Systems 101, 2021, eq. 11 and the journal's
O(n^2) refinement):

    delta[c, i] = sum_o min(d(c,o) - dn(o), 0)                                  (shared)
                + sum_{o in cluster i} (clamp(d(c,o), dn(o), ds(o)) - dn(o))     (per medoid)

with ``dn``/``ds`` the distances to the nearest/second-nearest medoid. The first
term is a row sum of a clamped block; the second is one matrix product of the
clamped block with the (n x k) one-hot cluster matrix. ``clamp(d, dn, ds) - dn``
equals ``min(d, ds) - min(d, dn)``: 0 when ``c`` would take ``o`` over anyway,
``d - dn`` when ``o`` moves to ``c``, ``ds - dn`` when it moves to its second
medoid. Points with ``dn == ds`` contribute 0, so ties in the labels never
change ``delta``.

The best swap is chosen as ``kmedoids.fastpam1``/``kmedoids.pam`` choose it: per
candidate the first medoid with the smallest ``delta``, then the first candidate
(in index order, medoids skipped) whose change is strictly below the best so
far, starting from 0; the loop stops when no change is negative or a swap does
not lower the loss. In float64 this makes the same swaps from the same start;
sums are taken in another order than on the CPU, so only swaps whose deltas tie
to within rounding (about 1e-16 relative) could be chosen differently.

Convention: ``diss[m, o]`` is the cost of point ``o`` under medoid ``m`` (row =
medoid), as in the reference kernels.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from ..input_checks import (
    check_choice,
    check_diss,
    check_k,
    check_medoids,
    check_positive_int,
)
from ..result import ClusteringResult
from ..start import rng_for
from ._device import DeviceMatrix, as_matrix, ceil_div, device_name, sum64

INF = float("inf")


# ----------------------------------------------------------------------------- input


def prepare(diss, *, device=None, compute_dtype=None, block_rows=None, max_device_bytes=None,
            workspace=None) -> DeviceMatrix:
    """Validate ``diss`` (NumPy array or tensor) and wrap it as a :class:`DeviceMatrix`."""
    if isinstance(diss, DeviceMatrix):
        return diss
    if isinstance(diss, torch.Tensor):
        if diss.ndim != 2 or diss.shape[0] != diss.shape[1] or diss.shape[0] == 0:
            raise ValueError(f"diss must be a non-empty square matrix, got shape {tuple(diss.shape)}")
        if diss.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"diss tensor must be float32 or float64, got {diss.dtype}")
        if not bool(torch.isfinite(diss).all()):
            raise ValueError("diss contains NaN or infinite values; expected finite dissimilarities")
        if bool((diss < 0).any()):
            raise ValueError("diss contains negative entries; dissimilarities must be >= 0")
        t = diss.contiguous()
    else:
        t = check_diss(diss)
        if t.dtype.kind in "iu":
            t = t.astype(np.float64)
    return as_matrix(t, device=device, compute_dtype=compute_dtype, block_rows=block_rows,
                     max_device_bytes=max_device_bytes, workspace=workspace)


INITS = ("random", "first", "build", "k-medoids++", "lab")


def _initial(M: DeviceMatrix, medoids, init: str, random_state) -> np.ndarray:
    """Initial medoids: the given array, or ``k`` with ``init`` (BUILD runs on the device)."""
    n = M.n
    if isinstance(medoids, numbers.Integral) and not isinstance(medoids, bool):
        k = check_k(medoids, n)
        check_choice(init, INITS, name="init")
        if init == "build":
            return _build(M, k)[0]
        if init == "first":
            return np.arange(k, dtype=np.int64)
        try:  # the reference initialisations, when the PAM module has landed
            from ..algorithms.init import initial_medoids
        except ImportError:
            initial_medoids = None
        if initial_medoids is not None and init != "random":
            host = M.data.cpu().numpy()   # no copy when the matrix is in host memory
            return np.asarray(initial_medoids(host, k, init, random_state), dtype=np.int64)
        if init != "random":
            raise ValueError(f"init {init!r} needs bench_core.algorithms.init; the torch backend "
                             f"itself provides 'build', 'first' and 'random'")
        # as bench_core.algorithms.init does it, without copying a device matrix to the host
        return np.sort(rng_for(random_state, n, k).choice(n, k, replace=False)).astype(np.int64)
    return check_medoids(medoids, n)


# ----------------------------------------------------------------------------- state


class _State:
    """Medoids and, for every point, nearest/second-nearest medoid distance and label."""

    def __init__(self, M: DeviceMatrix, medoids: np.ndarray):
        self.M = M
        dev = M.device
        self.k = len(medoids)
        self.med = torch.as_tensor(medoids, dtype=torch.int64, device=dev).clone()
        self.Dm = M.rows(self.med)                       # (k, n): rows of the medoids
        self.is_med = torch.zeros(M.n, dtype=torch.bool, device=dev)
        self.is_med[self.med] = True
        self.arange_k = torch.arange(self.k, device=dev)
        self.onehot = torch.empty((M.n, self.k), dtype=M.compute_dtype, device=dev)
        self.refresh()

    def refresh(self) -> None:
        """dn, ds, labels and the one-hot matrix from the medoid rows (O(nk))."""
        dn, lab = self.Dm.min(0)                  # first (lowest-index) medoid on ties
        if self.k > 1:
            ds = self.Dm.scatter(0, lab[None], INF).min(0).values
        else:
            ds = torch.full_like(dn, INF)
        lab[self.med] = self.arange_k             # every medoid in its own cluster
        self.dn, self.ds, self.lab = dn, ds, lab
        self.onehot.zero_()
        self.onehot.scatter_(1, lab[:, None], 1.0)

    def loss(self) -> float:
        return float(sum64(self.dn))

    def swap(self, i: int, c: int) -> None:
        """Medoid number ``i`` becomes point ``c``."""
        self.is_med[self.med[i]] = False
        self.med[i] = c
        self.is_med[c] = True
        self.Dm[i] = self.M.rows(self.med[i:i + 1])[0]
        self.refresh()

    def labels(self) -> np.ndarray:
        return self.lab.cpu().numpy().astype(np.int64)

    def medoids(self) -> np.ndarray:
        return self.med.cpu().numpy().astype(np.int64)


def _block_change(Db: torch.Tensor, st: _State, r0: int, r1: int, work: torch.Tensor):
    """Best medoid to replace and the change of loss for every candidate row ``r0:r1``.

    Returns ``(change, which)``: ``change[c]`` (float64) is ``min_i delta[c, i]``
    (``+inf`` for current medoids) and ``which[c]`` the first ``i`` attaining it.
    """
    tmp = work[: r1 - r0]
    torch.sub(Db, st.dn, out=tmp)
    tmp.clamp_(max=0)
    shared = sum64(tmp, 1)                               # sum_o min(d - dn, 0)
    torch.clamp(Db, min=st.dn, max=st.ds, out=tmp)
    tmp.sub_(st.dn)                                      # min(d, ds) - min(d, dn)
    per_medoid = tmp @ st.onehot                         # (B, k) sums per cluster
    best, which = per_medoid.min(1)                      # first medoid on ties
    change = best.to(torch.float64) + shared
    change.masked_fill_(st.is_med[r0:r1], INF)
    return change, which


def _work(M: DeviceMatrix, rows: int) -> torch.Tensor:
    return torch.empty((rows, M.n), dtype=M.compute_dtype, device=M.device)


def _first_min(v: torch.Tensor) -> tuple[int, float]:
    j = int(torch.argmin(v))                             # first index of the minimum
    return j, float(v[j])


def _extras(M: DeviceMatrix, **more) -> dict:
    ex = {"device": device_name(M.device), "dtype": str(M.dtype).removeprefix("torch."),
          "compute_dtype": str(M.compute_dtype).removeprefix("torch."),
          "resident": M.resident, "block_rows": M.block_rows}
    ex.update(more)
    return ex


# ----------------------------------------------------------------------------- BUILD


def _build(M: DeviceMatrix, k: int) -> tuple[np.ndarray, torch.Tensor, torch.Tensor, dict]:
    """PAM BUILD (Kaufman & Rousseeuw 1987) as ``kmedoids.pam_build`` does it.

    First medoid: smallest sum of dissimilarities to the other points. Then
    repeatedly the point with the most negative ``sum_o min(d(c,o) - dn(o), 0)`` (its own
    term included, as ``kmedoids`` 0.5 counts it). Ties go to the lowest index.
    """
    dev, n = M.device, M.n
    diag = M.diagonal()
    sums = torch.empty(n, dtype=torch.float64, device=dev)
    for r0, r1, Db in M.blocks():
        sums[r0:r1] = sum64(Db, 1) - diag[r0:r1].to(torch.float64)
    first, _ = _first_min(sums)
    meds = [first]
    is_med = torch.zeros(n, dtype=torch.bool, device=dev)
    is_med[first] = True
    dn = M.rows(torch.tensor([first], device=dev))[0].clone()
    dn[first] = 0
    lab = torch.zeros(n, dtype=torch.int64, device=dev)
    work = _work(M, M.block_rows)
    no_gain = 0
    for step in range(1, k):
        gain = torch.empty(n, dtype=torch.float64, device=dev)
        for r0, r1, Db in M.blocks():
            tmp = work[: r1 - r0]
            torch.sub(Db, dn, out=tmp)
            tmp.clamp_(max=0)
            gain[r0:r1] = sum64(tmp, 1)
        gain.masked_fill_(is_med, INF)
        c, g = _first_min(gain)
        no_gain += g >= 0       # only with duplicate points: no candidate improves
        row = M.rows(torch.tensor([c], device=dev))[0]
        lab[row < dn] = step    # strictly closer: ties stay with the earlier medoid
        torch.minimum(dn, row, out=dn)
        dn[c] = 0
        lab[c] = step
        is_med[c] = True
        meds.append(c)
    return np.asarray(meds, dtype=np.int64), dn, lab, {"build_without_gain": int(no_gain)}


def build(diss, k: int, *, device=None, compute_dtype=None, block_rows=None,
          max_device_bytes=None) -> ClusteringResult:
    """PAM BUILD on a torch device; same medoids as ``kmedoids.pam_build``."""
    M = prepare(diss, device=device, compute_dtype=compute_dtype, block_rows=block_rows,
                max_device_bytes=max_device_bytes)
    k = check_k(k, M.n)
    meds, dn, lab, info = _build(M, k)
    return ClusteringResult(loss=float(sum64(dn)), labels=lab.cpu().numpy().astype(np.int64),
                            medoids=meds, n_iter=0, n_swap=0, converged=None,
                            extras=_extras(M, **info))


# ----------------------------------------------------------------------------- k = 1


def _single(M: DeviceMatrix, med0: int) -> ClusteringResult:
    """k = 1: the point with the smallest sum (ties keep the start), as ``kmedoids`` does."""
    diag = M.diagonal()
    sums = torch.empty(M.n, dtype=torch.float64, device=M.device)
    for r0, r1, Db in M.blocks():
        sums[r0:r1] = sum64(Db, 1) - diag[r0:r1].to(torch.float64)
    j, best = _first_min(sums)
    cur = float(sums[med0])
    if cur <= best:
        j, best = med0, cur
    return ClusteringResult(loss=best, labels=np.zeros(M.n, dtype=np.int64),
                            medoids=np.array([j], dtype=np.int64), n_iter=1,
                            n_swap=int(j != med0), converged=True, extras=_extras(M))


# ----------------------------------------------------------------------------- SWAP


def _swap_exact(M: DeviceMatrix, start: np.ndarray, max_iter: int, record: bool) -> ClusteringResult:
    if len(start) == 1:
        return _single(M, int(start[0]))
    st = _State(M, start)
    n = M.n
    work = _work(M, M.block_rows)
    change = torch.empty(n, dtype=torch.float64, device=M.device)
    which = torch.empty(n, dtype=torch.int64, device=M.device)
    loss = st.loss()
    trace: list[tuple[int, int, float]] = []
    n_iter = n_swap = 0
    converged = False
    while n_iter < max_iter:
        n_iter += 1
        for r0, r1, Db in M.blocks():
            change[r0:r1], which[r0:r1] = _block_change(Db, st, r0, r1, work)
        c, delta = _first_min(change)
        if not delta < 0:
            converged = True        # no improving swap
            break
        i = int(which[c])
        n_swap += 1
        st.swap(i, c)
        if record:
            trace.append((c, i, delta))
        new = st.loss()
        if new >= loss:             # rounding: the "improvement" did not lower the loss
            converged = True
            break
        loss = new
    ex = _extras(M)
    if record:
        ex["swaps"] = trace
    return ClusteringResult(loss=loss, labels=st.labels(), medoids=st.medoids(), n_iter=n_iter,
                            n_swap=n_swap, converged=converged, extras=ex)


def pam(diss, medoids, max_iter: int = 100, init: str = "build", random_state=None, *,
        device=None, compute_dtype=None, block_rows=None, max_device_bytes=None,
        record_swaps: bool = False) -> ClusteringResult:
    """Exact PAM SWAP (best swap per iteration) on a torch device.

    Same swaps as ``kmedoids.pam`` and ``kmedoids.fastpam1`` from the same start
    (see the module docstring for the tie-breaking). ``medoids``: k or an array
    of initial medoids; ``init`` "build" (on the device), "random" or "first".
    ``compute_dtype="float64"`` does the arithmetic of a float32 matrix in
    float64. ``record_swaps`` keeps ``(candidate, medoid index, delta)`` of every
    swap in ``extras["swaps"]``.
    """
    M = prepare(diss, device=device, compute_dtype=compute_dtype, block_rows=block_rows,
                max_device_bytes=max_device_bytes)
    max_iter = check_positive_int(max_iter, name="max_iter", minimum=0) if max_iter else 0
    start = _initial(M, medoids, init, random_state)
    if max_iter == 0:
        return _assign_result(M, start)
    res = _swap_exact(M, start, max_iter, record_swaps)
    res.extras["start"] = start.tolist() if len(start) <= 1000 else None
    return res


def fastpam1(diss, medoids, max_iter: int = 100, init: str = "random", random_state=None,
             **kwargs) -> ClusteringResult:
    """FastPAM1: the same swaps as PAM (it is the same computation here); default init random."""
    return pam(diss, medoids, max_iter=max_iter, init=init, random_state=random_state, **kwargs)


def fasterpam(diss, medoids, max_iter: int = 100, init: str = "random", random_state=None, *,
              block_size: int = 256, device=None, compute_dtype=None, max_device_bytes=None,
              record_swaps: bool = False) -> ClusteringResult:
    """FasterPAM-style eager swapping over blocks of candidates.

    Candidates are visited in index order, ``block_size`` rows at a time. For a
    block, the deltas of all its candidates against all medoids come from one
    tensor pass; the best swap in the block is applied at once if it improves
    (then the same block is evaluated again), otherwise the next block is
    visited. The loop stops after a full cycle of blocks without a swap, as
    FasterPAM stops after a full cycle of candidates. ``block_size=1`` is
    FasterPAM itself (same swaps as ``kmedoids.fasterpam``); larger blocks
    trade a little eagerness for far fewer, larger GPU steps, and each swap is
    the best of its block rather than the first improving one.
    """
    block_size = check_positive_int(block_size, name="block_size")
    M = prepare(diss, device=device, compute_dtype=compute_dtype,
                block_rows=None, max_device_bytes=max_device_bytes)
    max_iter = check_positive_int(max_iter, name="max_iter", minimum=0) if max_iter else 0
    start = _initial(M, medoids, init, random_state)
    if max_iter == 0:
        return _assign_result(M, start)
    if len(start) == 1:
        return _single(M, int(start[0]))
    st = _State(M, start)
    n = M.n
    B = min(block_size, n)
    nb = ceil_div(n, B)
    work = _work(M, B)
    loss = st.loss()
    trace: list[tuple[int, int, float]] = []
    n_iter = n_swap = 0
    last = nb                      # block of the last swap (none yet)
    while n_iter < max_iter:
        n_iter += 1
        swaps_before, lastloss = n_swap, loss
        for b in range(nb):
            if b == last:
                break
            r0, r1 = b * B, min(n, (b + 1) * B)
            Db = M.block(r0, r1)
            while True:
                change, which = _block_change(Db, st, r0, r1, work)
                jj, delta = _first_min(change)
                if not delta < 0:
                    break
                c, i = r0 + jj, int(which[jj])
                n_swap += 1
                last = b
                st.swap(i, c)
                if record_swaps:
                    trace.append((c, i, delta))
                new = st.loss()
                stalled = new >= loss
                loss = new
                if stalled:
                    break
        if n_swap == swaps_before or loss >= lastloss:
            break
    ex = _extras(M, block_size=B)
    if record_swaps:
        ex["swaps"] = trace
    return ClusteringResult(loss=loss, labels=st.labels(), medoids=st.medoids(), n_iter=n_iter,
                            n_swap=n_swap, converged=n_iter < max_iter or n_swap == 0, extras=ex)


# ----------------------------------------------------------------------------- Alternating


def _assign(M: DeviceMatrix, med: torch.Tensor, Dm: torch.Tensor | None = None):
    """Nearest medoid (ties to the first listed; medoids in their own cluster) and distance."""
    Dm = M.rows(med) if Dm is None else Dm
    k = len(med)
    dn, lab = Dm.min(0)
    ar = torch.arange(k, device=M.device)
    lab[med] = ar
    dn[med] = Dm[ar, med]
    return dn, lab


def _assign_result(M: DeviceMatrix, med: np.ndarray) -> ClusteringResult:
    medt = torch.as_tensor(med, dtype=torch.int64, device=M.device)
    dn, lab = _assign(M, medt)
    return ClusteringResult(loss=float(sum64(dn)), labels=lab.cpu().numpy().astype(np.int64),
                            medoids=np.asarray(med, dtype=np.int64), n_iter=0, n_swap=0,
                            converged=None, extras=_extras(M))


def assign(diss, medoids, *, device=None) -> tuple[np.ndarray, float]:
    """Labels (nearest medoid, ties to the first listed) and loss, on a torch device."""
    M = prepare(diss, device=device)
    med = check_medoids(medoids, M.n)
    res = _assign_result(M, med)
    return res.labels, res.loss


def alternating(diss, medoids, max_iter: int = 100, init: str = "random", random_state=None, *,
                device=None, compute_dtype=None, block_rows=None,
                max_device_bytes=None) -> ClusteringResult:
    """Alternating (k-means-style) k-medoids, as ``kmedoids.alternating`` does it.

    Each iteration assigns every point to its nearest medoid and then moves
    every medoid to the member of its cluster with the smallest sum of
    dissimilarities to the other members (kept when it already is one of the
    smallest; otherwise the first in index order). The per-cluster sums of all
    candidates come from one product of the matrix with the one-hot labels.
    """
    M = prepare(diss, device=device, compute_dtype=compute_dtype, block_rows=block_rows,
                max_device_bytes=max_device_bytes)
    max_iter = check_positive_int(max_iter, name="max_iter", minimum=0) if max_iter else 0
    start = _initial(M, medoids, init, random_state)
    dev, n, k = M.device, M.n, len(start)
    med = torch.as_tensor(start, dtype=torch.int64, device=dev).clone()
    dn, lab = _assign(M, med)
    loss = float(sum64(dn))
    diag = M.diagonal()
    ar_n = torch.arange(n, device=dev)
    onehot = torch.empty((n, k), dtype=M.compute_dtype, device=dev)
    cost = torch.empty(n, dtype=torch.float64, device=dev)
    n_iter = 0
    converged = False
    while n_iter < max_iter:
        n_iter += 1
        onehot.zero_()
        onehot.scatter_(1, lab[:, None], 1.0)
        for r0, r1, Db in M.blocks():
            sums = (Db @ onehot).gather(1, lab[r0:r1, None])[:, 0]
            cost[r0:r1] = sums.to(torch.float64) - diag[r0:r1].to(torch.float64)
        lo = torch.full((k,), INF, dtype=torch.float64, device=dev).scatter_reduce(
            0, lab, cost, "amin")
        at_min = cost == lo[lab]
        first = torch.full((k,), n, dtype=torch.int64, device=dev).scatter_reduce(
            0, lab, torch.where(at_min, ar_n, n), "amin")
        new = torch.where(cost[med] <= lo, med, first)
        if not bool((new != med).any()):
            converged = True
            break
        med = new
        dn, lab = _assign(M, med)
        loss = float(sum64(dn))
    return ClusteringResult(loss=loss, labels=lab.cpu().numpy().astype(np.int64),
                            medoids=med.cpu().numpy().astype(np.int64), n_iter=n_iter, n_swap=0,
                            converged=converged, extras=_extras(M))


__all__ = ["build", "pam", "fastpam1", "fasterpam", "alternating", "assign", "prepare"]
