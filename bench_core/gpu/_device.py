"""Devices, dtypes and the dissimilarity matrix as the GPU kernels see it.

:class:`DeviceMatrix` wraps an n x n matrix that is either *resident* (one
tensor on the device) or *streamed* (kept in host memory and copied to the
device one block of rows at a time, when n x n does not fit on the device).
Every kernel of this package reads the matrix only through
:meth:`DeviceMatrix.blocks` (row blocks), :meth:`DeviceMatrix.rows` (a few
gathered rows) and :meth:`DeviceMatrix.diagonal`, so both layouts run the same
code. On the CPU the NumPy array is wrapped without a copy.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ..dissimilarity import InsufficientMemoryError, available_memory

# Temporaries of one row block (the block itself in the compute dtype and two
# work arrays of the same shape) are budgeted at this many bytes by default.
DEFAULT_WORKSPACE = 2 << 30
CPU_WORKSPACE = 256 << 20

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` as a :class:`torch.device`; None is CUDA when available, else the CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):   # torch's own message lists every backend it knows
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda[:i]', got {str(device)!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} requested but torch {torch.__version__} sees no CUDA device")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {str(device)!r} requested but torch sees {torch.cuda.device_count()} "
                         "CUDA device(s), numbered from 0")
    return dev


def torch_dtype(dtype) -> torch.dtype:
    """float32/float64 as a torch dtype (accepts NumPy dtypes, strings and torch dtypes)."""
    if isinstance(dtype, torch.dtype):
        if dtype in (torch.float32, torch.float64):
            return dtype
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    name = np.dtype(dtype).name
    if name not in _DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {name}")
    return _DTYPES[name]


def device_name(device: torch.device) -> str:
    """Human name of ``device`` (the GPU model for CUDA)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return "cpu"


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA timings are meaningless without it)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def free_device_memory(device: torch.device) -> int:
    """Bytes free on ``device`` (for the CPU: MemAvailable)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    return int(available_memory())


def from_numpy(a: np.ndarray) -> torch.Tensor:
    """Wrap a NumPy array without copying; read-only arrays (memory maps) are fine.

    PyTorch warns that writing to such a tensor is undefined; the kernels here
    never write to their inputs.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not writable.*")
        return torch.from_numpy(a)


@dataclass
class DeviceMatrix:
    """An n x n dissimilarity matrix, resident on ``device`` or streamed from host memory.

    ``data`` is the whole matrix (on ``device`` when ``resident``, else on the
    host). ``compute_dtype`` is the dtype of the arithmetic on blocks (the
    matrix's own dtype unless float64 accumulation is asked for a float32
    matrix). ``block_rows`` is the number of candidate rows processed at once.
    """

    data: torch.Tensor
    device: torch.device
    compute_dtype: torch.dtype
    block_rows: int
    resident: bool

    @property
    def n(self) -> int:
        return int(self.data.shape[0])

    @property
    def dtype(self) -> torch.dtype:
        return self.data.dtype

    def _to_device(self, t: torch.Tensor) -> torch.Tensor:
        return t.to(self.device, dtype=self.compute_dtype, non_blocking=False)

    def blocks(self, block_rows: int | None = None) -> Iterator[tuple[int, int, torch.Tensor]]:
        """(r0, r1, rows r0:r1 on the device in the compute dtype) for consecutive row blocks."""
        b = block_rows or self.block_rows
        for r0 in range(0, self.n, b):
            r1 = min(self.n, r0 + b)
            yield r0, r1, self._to_device(self.data[r0:r1])

    def block(self, r0: int, r1: int) -> torch.Tensor:
        return self._to_device(self.data[r0:r1])

    def rows(self, idx: torch.Tensor) -> torch.Tensor:
        """Rows ``idx`` (a 1-D index tensor on the device) in the compute dtype."""
        if self.resident:
            return self.data.index_select(0, idx).to(self.compute_dtype)
        host = self.data.index_select(0, idx.cpu())
        return self._to_device(host)

    def diagonal(self) -> torch.Tensor:
        return self._to_device(torch.diagonal(self.data))

    @property
    def zero_diagonal(self) -> bool:
        return bool((torch.diagonal(self.data) == 0).all())


def _block_rows_for(n: int, itemsize: int, workspace: int, copies: int = 3) -> int:
    return max(1, min(n, workspace // max(1, copies * n * itemsize)))


def as_matrix(diss, *, device=None, compute_dtype=None, block_rows: int | None = None,
              max_device_bytes: int | None = None, workspace: int | None = None) -> DeviceMatrix:
    """Put a validated dissimilarity matrix where the kernels can use it.

    ``diss``: a C-contiguous float32/float64 NumPy array (validated by the
    caller, possibly read-only) or a float tensor. The matrix is moved to the
    device when it and one block of work arrays fit in ``max_device_bytes``
    (default: the device's free memory); otherwise it stays in host memory and
    blocks of rows are copied to the device as they are needed. If not even a
    block of one row fits, :class:`~bench_core.dissimilarity.InsufficientMemoryError`
    says how much was needed.
    """
    dev = resolve_device(device)
    if isinstance(diss, torch.Tensor):
        t = diss
    else:
        arr = np.asarray(diss)
        if arr.dtype.kind in "iu":
            arr = arr.astype(np.float64)
        t = from_numpy(np.ascontiguousarray(arr))
    if t.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"the torch backend needs a float32 or float64 matrix, got {t.dtype}")
    n = int(t.shape[0])
    cdt = t.dtype if compute_dtype is None else torch_dtype(compute_dtype)
    citem = torch.empty((), dtype=cdt).element_size()
    need_matrix = n * n * t.element_size()
    budget = free_device_memory(dev) if max_device_bytes is None else int(max_device_bytes)
    ws_default = CPU_WORKSPACE if dev.type == "cpu" else DEFAULT_WORKSPACE
    ws = ws_default if workspace is None else int(workspace)

    already = t.device == dev or (dev.type == "cpu" and t.device.type == "cpu")
    if already and max_device_bytes is None:
        resident = True  # nothing to move (a CPU array is wrapped, never copied)
    else:
        resident = need_matrix + min(ws, 3 * n * n * citem) <= 0.9 * budget
    if resident:
        room = int(0.9 * budget) - (0 if already else need_matrix)
        ws = min(ws, max(3 * n * citem, room))
        data = t if already else t.to(dev)
    else:
        ws = min(ws, int(0.9 * budget))
        if 3 * n * citem > ws:
            raise InsufficientMemoryError(
                f"the {n} x {n} {str(t.dtype).removeprefix('torch.')} matrix does not fit on {dev} "
                f"({need_matrix / 2**30:.1f} GiB, {budget / 2**30:.1f} GiB free), and not even a block "
                f"of one row with its work arrays ({3 * n * citem / 2**20:.2f} MiB) does; use a "
                f"smaller n, float32, or a sampling algorithm (clara, fasterclara, clarans)")
        data = t if t.device.type == "cpu" else t.cpu()
    b = block_rows or _block_rows_for(n, citem, ws)
    if b < 1:
        raise ValueError(f"block_rows must be >= 1, got {b}")
    return DeviceMatrix(data=data, device=dev, compute_dtype=cdt, block_rows=int(min(b, n)),
                        resident=resident)


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def sum64(t: torch.Tensor, dim=None) -> torch.Tensor:
    """Sum accumulated in float64 whatever the dtype of ``t``."""
    if dim is None:
        return t.sum(dtype=torch.float64)
    return t.sum(dim, dtype=torch.float64)


__all__ = ["DeviceMatrix", "as_matrix", "resolve_device", "torch_dtype", "device_name",
           "synchronize", "free_device_memory", "from_numpy", "ceil_div", "sum64"]
