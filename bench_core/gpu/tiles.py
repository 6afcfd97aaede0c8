"""Distance tiles computed from the points on a torch device, and the tile size.

:class:`PointTiles` holds the n points on the device, prepared for one metric
as :func:`bench_core.dissimilarity.dissimilarity` prepares them, and computes
any block ``d(X[r0:r1], X[c0:c1])`` on demand, so that no algorithm of
:mod:`bench_core.gpu.tiled` ever holds the n x n matrix. The values are those
of the CPU reference matrix up to the rounding of the dot products:

* ``euclidean``, ``sqeuclidean``, ``cosine``: ``||x||^2 + ||y||^2 - 2 x.y``
  with one matrix product per tile, the same operation order as
  :func:`bench_core.dissimilarity.squared_block` (``(-2 G + ||x||^2) + ||y||^2``,
  clamped at 0), and the entries that lost most of their digits to cancellation
  (below ``_CANCEL (||x||^2 + ||y||^2)``) recomputed from the differences; cosine
  normalises the rows first and halves (``1 - cos = ||u - v||^2 / 2``);
* ``manhattan``: ``torch.cdist(p=1)`` directly per tile.

The diagonal is exactly 0 (as in the reference matrix). For integer-valued
coordinates (MNIST pixels) every product and sum below 2**53 is exact, so the
tiles equal the reference matrix bit for bit; otherwise they differ from it in
the last bits of the dot products (a BLAS sums in another order), which only
matters for swaps whose changes of loss tie to within rounding: those are
reported by the algorithms (``extras["near_ties"]``).

The tile size is chosen from a memory budget: the free device memory (CUDA,
at most :data:`CUDA_BUDGET`) or :data:`CPU_BUDGET` on the CPU, unless
``memory_budget`` is given; ``tile_rows``/``tile_cols`` override it (tests force
tiles smaller than n to exercise every path).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import numpy as np
import torch

from ..dissimilarity import _CANCEL, METRICS, InsufficientMemoryError, prepare_rows
from ..input_checks import check_choice, check_points, check_positive_int
from ._device import free_device_memory, from_numpy, resolve_device, torch_dtype
from .bounds import DEFAULT_LEAF, Boxes, kd_order

CPU_BUDGET = 256 << 20       # bytes of tile work arrays on the CPU by default
CUDA_BUDGET = 8 << 30        # at most this much of the free GPU memory for tiles
MIN_ROWS = 64                # a tile keeps at least this many rows before columns are split
CUDA_MIN_ROWS = 1024         # on a GPU: enough rows to occupy it (row reductions run one per row)
# Work arrays per tile entry: the tile, one temporary of the same dtype, masks.
_ARRAYS_PER_ENTRY = 3


def tile_shape(n: int, itemsize: int, budget: int, *, rows: int | None = None,
               cols: int | None = None, min_rows: int = MIN_ROWS) -> tuple[int, int]:
    """(rows, cols) of the tiles for ``n`` points within ``budget`` bytes.

    Full-width tiles (all n columns) when at least ``min_rows`` rows of them
    fit, else ``min_rows`` rows (fewer for tiny budgets) by as many columns
    as fit. ``rows``/``cols`` given by the caller win.
    """
    per_entry = _ARRAYS_PER_ENTRY * itemsize + 2
    entries = max(1, budget // per_entry)
    if cols is None:
        if rows is not None:
            cols = max(1, min(n, entries // rows))
        elif entries // n >= min_rows:
            cols = n
        else:
            cols = max(1, min(n, entries // min_rows))
    if rows is None:
        rows = max(1, min(n, entries // cols))
    rows, cols = int(min(rows, n)), int(min(cols, n))
    if rows < 1 or cols < 1:
        raise ValueError(f"tile_rows and tile_cols must be >= 1, got {rows}, {cols}")
    return rows, cols


def default_budget(device: torch.device) -> int:
    """Bytes for tile work arrays: CPU_BUDGET, or half the free GPU memory up to CUDA_BUDGET."""
    if device.type == "cpu":
        return CPU_BUDGET
    return int(min(CUDA_BUDGET, 0.5 * free_device_memory(device)))


def _sqrt_(G: torch.Tensor) -> torch.Tensor:
    """In-place square root, correctly rounded as NumPy's (and CUDA's) is.

    torch's CPU kernel is not always correctly rounded in float64 (off by one ulp
    for some integers), which would part the tiles from the reference matrix.
    """
    if G.device.type == "cpu" and G.is_contiguous():
        a = G.numpy()
        np.sqrt(a, out=a)
    else:
        G.sqrt_()
    return G


def finish(G: torch.Tensor, metric: str) -> torch.Tensor:
    """The metric's last step on repaired squared distances, out of place (fusable)."""
    if metric == "euclidean":
        return torch.sqrt(G)
    if metric == "cosine":
        return torch.clamp(G * 0.5, max=2.0)
    return G


def take(v: torch.Tensor, cols: slice | torch.Tensor) -> torch.Tensor:
    """``v[cols]`` along the first axis for a slice (a view) or an index tensor (a copy)."""
    return v[cols] if isinstance(cols, slice) else v.index_select(0, cols)


#: per-cluster sums on the CPU by ``index_add_`` (False: the GPU's product, for comparisons)
CPU_SCATTER = True


def cluster_sums(U: torch.Tensor, cols, lab: torch.Tensor, onehot: torch.Tensor, k: int) -> torch.Tensor:
    """Sums of a tile ``U`` of the columns ``cols`` per cluster (``lab``, ``onehot``), in float64.

    On a GPU a product with the one-hot matrix (deterministic, no atomics); on the CPU
    an ``index_add_`` in column order, O(1) a term instead of O(k) (docs/guide/gpu-tiled.md,
    "Per-cluster sums on the CPU"). Both add in the tile's dtype.
    """
    if U.device.type != "cpu" or not CPU_SCATTER:
        return (U @ take(onehot, cols)).to(torch.float64)
    out = torch.zeros((U.shape[0], k), dtype=U.dtype)
    return out.index_add_(1, take(lab, cols), U).to(torch.float64)


class PointTiles:
    """The points of a k-medoids problem on a device, as a source of distance tiles.

    Parameters
    ----------
    X : array-like (n, d) or tensor
        The points (finite; validated as by the CPU reference).
    metric : str
        "euclidean", "sqeuclidean", "manhattan" or "cosine".
    dtype : "float64" (default) or "float32"
        Arithmetic of the tiles. float64 reproduces the reference matrix
        (see the module docstring); float32 is faster on GPUs and checked
        against float64 by the tests.
    device : torch device, default CUDA when available, else the CPU.
    memory_budget : int, optional
        Bytes for the tile work arrays (default :func:`default_budget`).
    tile_rows, tile_cols : int, optional
        Force the tile shape.
    """

    def __init__(self, X, metric: str = "euclidean", *, dtype="float64", device=None,
                 memory_budget: int | None = None, tile_rows: int | None = None,
                 tile_cols: int | None = None):
        check_choice(metric, METRICS, name="metric")
        self.metric = metric
        self.device = resolve_device(device)
        self.compute_dtype = torch_dtype(dtype)
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        # the reference's own preparation (cosine: unit rows; squared norms in float64), on the
        # host, so that the norms are those of the reference matrix bit for bit
        Xn, norms = prepare_rows(check_points(X, dtype=np.float64), metric)
        self.n, self.d = int(Xn.shape[0]), int(Xn.shape[1])
        self.Z = from_numpy(np.ascontiguousarray(Xn)).to(self.device, dtype=self.compute_dtype)
        self.norms = None if norms is None else from_numpy(norms).to(self.device)
        if self.norms is not None:
            self.norm_max = float(norms.max())
        item = torch.empty((), dtype=self.compute_dtype).element_size()
        self.memory_budget = default_budget(self.device) if memory_budget is None else int(memory_budget)
        if memory_budget is not None and self.memory_budget < 1:
            raise ValueError(f"memory_budget must be a positive number of bytes, got {memory_budget!r}")
        for name, v in (("tile_rows", tile_rows), ("tile_cols", tile_cols)):
            if v is not None and (not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 1):
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        self.tile_rows, self.tile_cols = tile_shape(
            self.n, item, self.memory_budget, rows=tile_rows, cols=tile_cols,
            min_rows=CUDA_MIN_ROWS if self.device.type == "cuda" else MIN_ROWS)
        need = self.tile_rows * self.tile_cols * (_ARRAYS_PER_ENTRY * item + 2)
        if self.device.type == "cuda" and need > 0.95 * free_device_memory(self.device):
            raise InsufficientMemoryError(
                f"a {self.tile_rows} x {self.tile_cols} tile needs {need / 2**20:.0f} MiB on {self.device}, "
                f"more than is free; pass a smaller memory_budget or tile_rows/tile_cols")
        self.repaired = 0       # entries recomputed from the differences (cancellation)
        self.repaired_tiles = 0  # fused tiles computed again on the eager path for that

    # ------------------------------------------------------------------ tiles

    @property
    def dtype_name(self) -> str:
        return str(self.compute_dtype).removeprefix("torch.")

    def row_blocks(self, rows: int | None = None) -> Iterator[tuple[int, int]]:
        b = rows or self.tile_rows
        for r0 in range(0, self.n, b):
            yield r0, min(self.n, r0 + b)

    def col_blocks(self) -> Iterator[tuple[int, int]]:
        for c0 in range(0, self.n, self.tile_cols):
            yield c0, min(self.n, c0 + self.tile_cols)

    def tile(self, r0: int, r1: int, c0: int, c1: int) -> torch.Tensor:
        """d(x_i, x_j) for i in r0:r1, j in c0:c1 (a new tensor in the compute dtype)."""
        return self.tile_of(self.Z[r0:r1], None if self.norms is None else self.norms[r0:r1],
                            slice(c0, c1), row_index=torch.arange(r0, r1, device=self.device))

    def tile_at(self, idx: torch.Tensor, cols: slice | torch.Tensor) -> torch.Tensor:
        """Rows ``idx`` against the columns ``cols`` (a slice or a sorted 1-D index tensor)."""
        return self.tile_of(self.Z.index_select(0, idx),
                            None if self.norms is None else self.norms.index_select(0, idx),
                            cols, row_index=idx)

    def tile_of(self, A: torch.Tensor, na: torch.Tensor | None, cols: slice | torch.Tensor, *,
                row_index: torch.Tensor) -> torch.Tensor:
        """Rows ``A`` (squared norms ``na``) against the columns ``cols``."""
        B = take(self.Z, cols)
        if self.metric == "manhattan":
            G = torch.cdist(A, B, p=1.0)
        else:
            nb = take(self.norms, cols)
            # not a fused addmm: BLAS libraries round alpha * A B^T + C differently from the
            # reference's separate steps (most entries off by an ulp on the CPU)
            G = A @ B.T
            G.mul_(-2.0).add_(na[:, None].to(G.dtype)).add_(nb[None, :].to(G.dtype)).clamp_(min=0.0)
            # prefilter with a per-row bound, then the reference's exact test on the few hits
            pre = G < (_CANCEL * (na + self.norm_max)).to(G.dtype)[:, None]
            r, c = torch.nonzero(pre, as_tuple=True)
            if r.numel():
                keep = G[r, c].to(torch.float64) < _CANCEL * (na[r] + nb[c])
                r, c = r[keep], c[keep]
                if r.numel():
                    diff = A[r] - B[c]
                    G[r, c] = (diff * diff).sum(1)
                    self.repaired += int(r.numel())
        # exact zeros on the diagonal (points against themselves)
        if isinstance(cols, slice):
            inside = (row_index >= cols.start) & (row_index < cols.stop)
            at = row_index - cols.start
        else:
            at = torch.searchsorted(cols, row_index).clamp_(max=len(cols) - 1)
            inside = cols[at] == row_index
        if bool(inside.any()):
            rr = torch.nonzero(inside)[:, 0]
            G[rr, at[rr]] = 0.0
        if self.metric == "euclidean":
            _sqrt_(G)
        elif self.metric == "cosine":
            G.mul_(0.5).clamp_(max=2.0)
        return G

    def rows_of(self, idx: torch.Tensor) -> torch.Tensor:
        """Full rows d(x_i, .) for the indices ``idx``: a (len(idx), n) tensor (O(kn) memory)."""
        out = torch.empty((len(idx), self.n), dtype=self.compute_dtype, device=self.device)
        for c0, c1 in self.col_blocks():
            out[:, c0:c1] = self.tile_at(idx, slice(c0, c1))
        return out

    # ------------------------------------------------------------------ pruning

    order: np.ndarray | None = None     # original index of each row (None: the input order)
    boxes: Boxes | None = None

    def reordered(self, leaf: int = DEFAULT_LEAF) -> PointTiles:
        """A copy with the points in k-d tree order and the bounding boxes of its leaves.

        ``order[j]`` is the input index of row ``j`` of the copy; the algorithms
        that prune (:mod:`bench_core.gpu.bounds`) work on the copy and map their
        indices back. The values of every tile are those of the input order.
        """
        leaf = check_positive_int(leaf, name="leaf")
        order = kd_order(self.Z.cpu().numpy(), leaf)
        Q = copy.copy(self)
        Q.order = order
        Q.order_t = torch.as_tensor(order, device=self.device)
        Q.inverse = np.empty_like(order)
        Q.inverse[order] = np.arange(len(order))
        Q.Z = self.Z.index_select(0, Q.order_t)
        Q.norms = None if self.norms is None else self.norms.index_select(0, Q.order_t)
        Q.boxes = Boxes(Q.Z, self.metric, leaf)
        Q.repaired = Q.repaired_tiles = 0
        return Q

    # the interface of bench_core.gpu._device.DeviceMatrix that pam._State uses
    def rows(self, idx: torch.Tensor) -> torch.Tensor:
        return self.rows_of(idx)

    def info(self) -> dict:
        return {"metric": self.metric, "tile_rows": self.tile_rows, "tile_cols": self.tile_cols,
                "memory_budget": self.memory_budget, "compute_dtype": self.dtype_name,
                "repaired_entries": self.repaired, "repaired_tiles": self.repaired_tiles,
                **(self.boxes.info() if self.boxes is not None else {})}


__all__ = ["PointTiles", "take", "finish", "tile_shape", "default_budget", "CPU_BUDGET", "CUDA_BUDGET"]
