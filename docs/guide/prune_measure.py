"""SWAP iterations with and without pruning, side by side in one process (sipu/birch1, k = 100).

    PYTHONPATH=. python docs/guide/prune_measure.py [ITERATIONS] [DEVICE] [FUSED]

Starts from the BUILD medoids recorded by ``perf_tiled --sections birch1``
(``results/gpu/perf_tiled_cpu_fused_pruned.json``), runs ``ITERATIONS`` (default 2)
exact SWAP iterations of ``tiled.pam`` with ``prune=True`` and with ``prune=False``
(fused kernels unless FUSED is 0, compiled first on 5,000 points), and prints
the median seconds per iteration, the pruned share and whether both made the
same swaps, as JSON.
"""
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from bench_core.gpu import tiled
from bench_core.gpu.perf_tiled import load_birch1

iters = int(sys.argv[1]) if len(sys.argv) > 1 else 2
device = sys.argv[2] if len(sys.argv) > 2 else "cpu"
fused = (sys.argv[3] != "0") if len(sys.argv) > 3 else True
ROOT = Path(__file__).resolve().parents[2]
run = json.loads((ROOT / "results/gpu/perf_tiled_cpu_fused_pruned.json").read_text())
start = np.array(run["sections"]["birch1"]["runs"][0]["initial_medoids"])
X = load_birch1()
if fused:                     # compile both kernel variants outside the timed runs
    for prune in (True, False):
        tiled.pam(X[:5000], 100, max_iter=1, fused=True, prune=prune, device=device)
out = {"device": device, "fused": fused, "torch_threads": torch.get_num_threads(), "iterations": iters}
res = {}
for prune in (True, False):
    t0 = time.perf_counter()
    r = tiled.pam(X, start, max_iter=iters, fused=fused, prune=prune, device=device)
    res[prune] = r
    out["pruned" if prune else "full"] = {
        "seconds": time.perf_counter() - t0,
        "iteration_s_median": float(np.median(r.extras["iteration_s"])),
        "pruned_fraction_swap": r.extras.get("pruned_fraction_swap"),
        "n_swap": r.n_swap, "loss": float(r.loss)}
out["same_medoids"] = list(res[True].medoids) == list(res[False].medoids)
out["speedup_per_iteration"] = out["full"]["iteration_s_median"] / out["pruned"]["iteration_s_median"]
print(json.dumps(out, indent=1))
