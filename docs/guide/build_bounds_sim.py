"""Would tighter stale bounds let lazy BUILD read fewer rows? A NumPy simulation.

Run: ``PYTHONPATH=. python docs/guide/build_bounds_sim.py [--n 2000] [--k 100]``
(MNIST test set, Euclidean). It counts the matrix entries that BUILD's lazy steps read
(in rows of n entries; cache lines of 8 float64 entries for gathers), one candidate at
a time (``batch_size=1``), for three kinds of stale bound:

* ``row``: the kernel's own, one bound per candidate, a whole row per evaluation;
* ``chunks``: one bound per chunk of a row; an evaluation stops as soon as the
  candidate's bound (exact chunks so far plus stale ones) falls below the next
  candidate's, and resumes later where it stopped;
* ``changes``: before a candidate's row is read, its bound is lowered by the exact loss
  of gain over the points whose nearest medoid changed since its bound was computed
  (gathered from its row); a row is read only if it stays on top.

All three must pick the same medoids (checked). Nothing here is used by the kernel;
docs/guide/threads.md reports what it printed.
"""

from __future__ import annotations

import argparse
import heapq

import numpy as np

from bench_core.datasets import get_dataset
from bench_core.dissimilarity import dissimilarity


def lazy_build(D: np.ndarray, k: int, kind: str, chunk: int = 512) -> tuple[list[int], float]:
    """The medoids and the entries read by the lazy steps, in rows."""
    n = len(D)
    first = int(np.argmin(D.sum(1) - np.diag(D)))
    med, near = [first], D[first].copy()
    near[first] = 0.0
    spans = [(lo, min(lo + chunk, n)) for lo in range(0, n, chunk)] if kind == "chunks" else [(0, n)]
    part = np.stack([np.maximum(near[lo:hi] - D[:, lo:hi], 0).sum(1) for lo, hi in spans], axis=1)
    fresh = np.ones(part.shape, dtype=int)      # step at which each part was computed
    upto = np.ones(n, dtype=int)                # "changes": step the bound accounts for
    changed: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    entries = 0.0
    heap = [(-part[i].sum(), i) for i in range(n) if i != first]
    heapq.heapify(heap)
    for step in range(1, k):
        while True:
            bound, c = heapq.heappop(heap)
            if (fresh[c] == step).all():
                break
            tau = heap[0] if heap else (np.inf, -1)
            if kind == "changes" and upto[c] < step:
                lost, seen = 0.0, []
                for t in range(upto[c] + 1, step + 1):
                    pts, before, after = changed[t]
                    d = D[c, pts]
                    lost += (np.maximum(before - d, 0) - np.maximum(after - d, 0)).sum()
                    seen.append(pts // 8)
                entries += 8 * len(np.unique(np.concatenate(seen)))
                part[c, 0] -= lost
                upto[c] = step
            else:
                for p, (lo, hi) in enumerate(spans):
                    if fresh[c, p] == step:
                        continue
                    part[c, p] = np.maximum(near[lo:hi] - D[c, lo:hi], 0).sum()
                    fresh[c, p] = step
                    entries += hi - lo
                    if (-part[c].sum(), c) > tau:
                        break
                upto[c] = step
            heapq.heappush(heap, (-part[c].sum(), c))
        med.append(c)
        new = np.minimum(near, D[c])
        new[c] = 0.0
        pts = np.nonzero(new < near)[0]
        changed[step + 1] = (pts, near[pts], new[pts])
        near = new
    return med, entries / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--k", type=int, default=100)
    a = ap.parse_args()
    D = dissimilarity(get_dataset("mnist", a.n).X, "euclidean", np.float64)
    print(f"MNIST n = {a.n}, k = {a.k}: rows read by the lazy steps")
    ref = None
    for kind, chunk in (("row", a.n), ("chunks", 1024), ("chunks", 512), ("changes", a.n)):
        med, rows = lazy_build(D, a.k, kind, chunk)
        ref = ref or med
        same = "same medoids" if med == ref else "DIFFERENT MEDOIDS"
        label = f"{kind} ({chunk} entries)" if kind == "chunks" else kind
        print(f"  {label:<22} {rows:9,.0f}   {same}")


if __name__ == "__main__":
    main()
