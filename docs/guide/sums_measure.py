"""Per-cluster sums on the CPU: ``index_add_`` against the one-hot product, side by side in one process.

    PYTHONPATH=. python docs/guide/sums_measure.py [ITERATIONS] [REPEATS]

For each case, ``tiled.pam`` runs ``ITERATIONS`` (default 2) SWAP iterations on
the CPU from the same start with ``tiles.CPU_SCATTER`` on (``index_add_``, the
default) and off (the product with the one-hot matrix, as on a GPU), in turns,
``REPEATS`` times (default 2). Prints, as JSON, the smallest median seconds per
iteration of each, their ratio and whether both made the same swaps to the same
loss. Cases: blobs (``perf_tiled.blobs``) at d = 2 with k = 10 and 100, unpruned
and pruned; MNIST (d = 784, the distance product dominates); ``sipu/birch1`` from
the recorded BUILD medoids, pruned and fused, where the clustbench data is found.
"""
import json
import sys

import numpy as np
import torch

from bench_core.datasets import load_mnist
from bench_core.environment import ROOT, cpu_id, cpu_model
from bench_core.gpu import tiled, tiles
from bench_core.gpu.perf_tiled import blobs, load_birch1

iters = int(sys.argv[1]) if len(sys.argv) > 1 else 2
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 2


def case(name: str, X: np.ndarray, start, **kw) -> dict:
    runs: dict[bool, list] = {True: [], False: []}
    for _ in range(repeats):
        for scatter in (False, True):
            tiles.CPU_SCATTER = scatter
            r = tiled.pam(X, start, max_iter=iters, device="cpu", **kw)
            runs[scatter].append(r)
    tiles.CPU_SCATTER = True
    per = {s: min(float(np.median(r.extras["iteration_s"])) for r in rs) for s, rs in runs.items()}
    a, b = runs[True][0], runs[False][0]
    return {"case": name, "n": len(X), "d": X.shape[1], "k": len(a.medoids), **kw,
            "product_iteration_s": per[False], "scatter_iteration_s": per[True],
            "speedup": per[False] / per[True], "n_swap": a.n_swap,
            "same_swaps": list(a.medoids) == list(b.medoids) and a.n_swap == b.n_swap,
            "loss_rel_diff": abs(a.loss - b.loss) / abs(b.loss)}


def start_of(n: int, k: int) -> np.ndarray:
    return np.sort(np.random.default_rng(0).choice(n, k, replace=False))


out = {"cpu": cpu_model(), "cpu_id": cpu_id(), "torch_threads": torch.get_num_threads(),
       "iterations": iters, "repeats": repeats, "cases": []}
for k in (10, 100):
    X = blobs(20_000, 2, k)
    for prune in (False, True):
        out["cases"].append(case(f"blobs k={k}", X, start_of(len(X), k), prune=prune))
        print(json.dumps(out["cases"][-1]), file=sys.stderr, flush=True)
X = load_mnist(n=2_000)[0]
out["cases"].append(case("mnist", X, start_of(len(X), 10)))
try:
    B = load_birch1()
except (FileNotFoundError, OSError) as exc:
    out["birch1"] = f"not run: {exc}"
else:
    run = json.loads((ROOT / "results/gpu/perf_tiled_cpu_fused_pruned.json").read_text())
    start = np.array(run["sections"]["birch1"]["runs"][0]["initial_medoids"])
    tiled.pam(B[:5000], 100, max_iter=1, fused=True, prune=True, device="cpu")   # compile outside
    out["cases"].append(case("birch1", B, start, prune=True, fused=True))
print(json.dumps(out, indent=1))
