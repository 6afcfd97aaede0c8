"""Terminal progress of a grid: a one-line bar with the current run and an ETA."""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO

import numpy as np

from .grid import Run


def _fmt_s(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class Progress:
    """A one-line progress bar with the current cell and an ETA (a line per run when not a TTY)."""

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True):
        self.total, self.done = total, 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.t0 = time.perf_counter()
        self.times: dict[tuple, list[float]] = {}
        self.all: list[float] = []
        self.remaining: list[Run] = []

    def _estimate(self, run: Run) -> float:
        same = self.times.get((run.entry, run.n, run.k))
        if same:
            return float(np.median(same))
        like = [(n, t) for (e, n, _), ts in self.times.items() if e == run.entry and n for t in ts]
        if like and run.n:  # scale the implementation's runs by n^2
            return float(np.median([t * (run.n / n) ** 2 for n, t in like]))
        return float(np.median(self.all)) if self.all else math.nan

    def eta(self) -> float:
        return sum(self._estimate(r) for r in self.remaining) if self.remaining else 0.0

    def start(self, run: Run, remaining: list[Run]) -> None:
        self.remaining = remaining
        if self.enabled and self.tty:
            self._line(f"{run.entry} {run.dataset} n={run.n} k={run.k} seed={run.seed} ...")

    def finish(self, run: Run, status: str, seconds: float, loss: float | None) -> None:
        self.done += 1
        if status == "ok":
            self.times.setdefault((run.entry, run.n, run.k), []).append(seconds)
            self.all.append(seconds)
        if not self.enabled:
            return
        what = f"{seconds:.3g} s loss {loss:.6g}" if status == "ok" and loss is not None else status
        msg = f"{run.entry} {run.dataset} n={run.n} k={run.k} seed={run.seed}: {what}"
        if self.tty:
            self._line(msg)
        else:
            print(f"{self._bar()} {msg}", file=self.stream, flush=True)

    def _bar(self) -> str:
        width = 20
        filled = int(width * self.done / max(1, self.total))
        elapsed = time.perf_counter() - self.t0
        return (f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                f"{_fmt_s(elapsed)} elapsed, ETA {_fmt_s(self.eta())}")

    def _line(self, msg: str) -> None:
        text = f"{self._bar()} {msg}"
        cols = 160
        self.stream.write("\r" + text[:cols].ljust(cols))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


