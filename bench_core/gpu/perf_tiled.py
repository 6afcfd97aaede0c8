"""Performance of exact PAM from the points (``pam/torch-tiled``) — the figures of issue 16.

    python -m bench_core.gpu.perf_tiled --out results/gpu                 # all sections (CUDA)
    python -m bench_core.gpu.perf_tiled --sections birch1,vs-matrix --out results/gpu
    python -m bench_core.gpu.perf_tiled --quick --device cpu --out /tmp/x  # smoke test

Sections (each written to ``<out>/perf_tiled.json`` and ``.md`` as soon as it is
done, so that a run cut short keeps what it measured):

* ``blobs100k``: synthetic blobs n = 100,000, d = 784, k = 100; BUILD + exact
  PAM SWAP in float64 (target of the issue: <= 120 s);
* ``birch1``: ``sipu/birch1`` (100,000 points, d = 2) from the clustbench
  folder, k = 100 (target: <= 30 s);
* ``n1m``: blobs n = 1,000,000, d = 2, k = 10 (the time is reported);
* ``n200k`` (not in the default list): the same blobs at n = 200,000, about 1/25 of
  the work of ``n1m``, to compare kernel variants (``--masked-k``) in a short call;
* ``vs-matrix``: blobs d = 784 at n = 10,000 and 30,000, k = 100, against the
  matrix-based ``pam/torch`` (matrix computed on the device, timed apart): same
  medoids, and the time ratio;
* ``cpu-small`` (not in the default list; runs on the CPU): MNIST n = 2,000,
  k = 10, one thread, against ``pam/reference`` (matrix + BUILD + SWAP):
  the figures of the guide for machines without a GPU.

Every run records the seconds per SWAP iteration and the *floor* of one
iteration: its flops (``2 n^2 d`` for the distance products — ``3 n^2 d`` for
Manhattan — plus ``2 n^2 k`` for the products with the one-hot clusters)
divided by the device's float64 peak, as a percentage of the measured time.
The peak is the vendor's data-sheet figure for the FP64 tensor cores
(:data:`FP64_PEAK_TFLOPS`, or ``--peak-tflops``), not a measurement.
Nothing is written for a section that did not run: no figure is made up.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .entries import WARMUP_ROWS  # points of the run that compiles the fused kernels first

# FP64 (tensor core) peak of NVIDIA data sheets, TFLOP/s; matched against the device name.
FP64_PEAK_TFLOPS = {"H200": 67.0, "H100 SXM": 67.0, "H100 80GB HBM3": 67.0, "H100 PCIe": 51.0,
                    "H100 NVL": 60.0, "A100": 19.5, "V100": 7.8, "L40S": 1.4, "A10": 0.97}

SECTIONS = ("blobs100k", "birch1", "n1m", "vs-matrix", "cpu-small", "n200k")


def peak_tflops(name: str) -> float | None:
    for key, value in FP64_PEAK_TFLOPS.items():
        if key.lower() in name.lower():
            return value
    return None


def iteration_flops(n: int, d: int, k: int, metric: str = "euclidean") -> float:
    """Flops of one exact SWAP iteration on tiles: distances plus the one-hot products."""
    per_distance = 3 * d if metric == "manhattan" else 2 * d
    return float(n) * n * (per_distance + 2 * k)


def _clustbench(root: Path | None) -> Path:
    from ..environment import ROOT
    for cand in ([root] if root else []) + [ROOT.parent / "shared" / "datasets" / "clustbench",
                                            ROOT / "shared" / "datasets" / "clustbench"]:
        if cand is not None and (cand / "sipu" / "birch1.data.gz").exists():
            return cand
    raise FileNotFoundError("sipu/birch1.data.gz not found; pass --clustbench DIR "
                            "(the folder ../shared/datasets/clustbench)")


def load_birch1(root: Path | None = None) -> np.ndarray:
    with gzip.open(_clustbench(root) / "sipu" / "birch1.data.gz", "rt") as fh:
        return np.loadtxt(fh, ndmin=2)


def blobs(n: int, d: int, k: int, seed: int = 0) -> np.ndarray:
    from ..datasets import get_dataset
    return np.ascontiguousarray(get_dataset("blobs", n, seed=seed, k=k, d=d).X, dtype=np.float64)


def run_tiled(X: np.ndarray, k: int, *, device, dtype="float64", max_iter=100, peak=None,
              fused=False, prune=False, **opts) -> dict[str, Any]:
    """Time BUILD + exact SWAP (``tiled.pam``) and summarise it (floor included)."""
    from . import tiled
    from ._device import synchronize
    from .tiles import PointTiles
    t0 = time.perf_counter()     # from the points on the host: their transfer is counted
    P = PointTiles(X, opts.pop("metric", "euclidean"), dtype=dtype, device=device, **opts)
    res = tiled.pam(P, k, max_iter=max_iter, fused=fused, prune=prune, record_swaps=True)
    synchronize(P.device)
    total = time.perf_counter() - t0
    ex = res.extras
    its = ex.get("iteration_s") or []
    n, d = X.shape
    out = {"n": n, "d": d, "k": k, "dtype": dtype, "fused": bool(fused), "prune": bool(prune),
           "pruned_fraction_swap": ex.get("pruned_fraction_swap"), "device": ex["device"], "metric": P.metric,
           "seconds": total, "build_s": ex.get("init_s"),
           "swap_s": ex["total_s"] - ex["init_s"], "prepare_s": total - ex["total_s"],
           "n_iter": res.n_iter, "n_swap": res.n_swap, "converged": res.converged,
           "loss": float(res.loss), "medoids": [int(m) for m in res.medoids],
           "tile_rows": ex["tile_rows"], "tile_cols": ex["tile_cols"],
           "gain_evaluations": ex.get("gain_evaluations"), "near_ties": len(ex.get("near_ties", [])),
           "iteration_s_median": float(np.median(its)) if its else None,
           "initial_medoids": [int(m) for m in ex["initial_medoids"]],
           "swaps": [[int(c), int(i)] for c, i, _ in ex.get("swaps", [])]}
    flops = iteration_flops(n, d, k, P.metric)
    out["iteration_gflop"] = flops / 1e9
    if peak and its:
        floor = flops / (peak * 1e12)
        out.update(peak_tflops=peak, floor_s=floor, floor_percent=100 * floor / float(np.median(its)))
    return out


def medoids_after(run: dict, iterations: int) -> list[int] | None:
    """The medoids of ``run`` after its first ``iterations`` SWAP iterations (one swap each
    until the last), replayed from its start and swaps; None if it made fewer."""
    if iterations > len(run.get("swaps", [])):
        return None
    med = list(run["initial_medoids"])
    for c, i in run["swaps"][:iterations]:
        med[i] = c
    return med


def compare_runs(run: dict, other: dict, X: np.ndarray, device) -> dict[str, Any]:
    """Whether ``run`` (this process) and ``other`` (another device or setting) take the same
    path: the medoids (and loss) of the shorter one against the longer one's after as many
    iterations. Both from the same start (BUILD of the same points)."""
    from .tiled import assign
    short, long = (run, other) if run["n_iter"] <= other["n_iter"] else (other, run)
    t = short["n_iter"] - (1 if short["converged"] else 0)      # its swaps
    out: dict[str, Any] = {"device": other.get("device"), "prune": other.get("prune"),
                           "iterations": t, "other_n_iter": other["n_iter"],
                           "other_converged": other["converged"]}
    differ = [f"{key} = {run.get(key)} here, {other.get(key)} there" for key in ("n", "d", "k")
              if run.get(key) != other.get(key)]
    if differ:               # e.g. a --quick run against a full one: not the same problem
        out["error"] = "not comparable: " + "; ".join(differ)
        return out
    med = medoids_after(long, t)
    if med is None:
        out["error"] = "the longer run has no swap record (an older results file)"
        return out
    _, loss = assign(X, med, device=device)
    out.update(same_medoids=med == short["medoids"], loss_rel_diff=abs(loss - short["loss"]) / short["loss"])
    if short["converged"] and long["converged"]:
        out["same_n_iter"] = short["n_iter"] == long["n_iter"]
    return out


def run_matrix(X: np.ndarray, k: int, *, device) -> dict[str, Any]:
    """The matrix-based ``pam/torch`` on the same points: matrix on the device, then BUILD + SWAP."""
    import torch

    from . import pam as tp
    from ._device import synchronize
    from .distances import dissimilarity
    dev = torch.device(device)
    t0 = time.perf_counter()
    D = dissimilarity(X, "euclidean", np.float64, device=dev)
    synchronize(dev)
    t1 = time.perf_counter()
    res = tp.pam(D, k, device=dev)
    synchronize(dev)
    t2 = time.perf_counter()
    del D
    return {"matrix_s": t1 - t0, "pam_s": t2 - t1, "seconds": t2 - t0, "loss": float(res.loss),
            "medoids": [int(m) for m in res.medoids], "n_iter": res.n_iter, "n_swap": res.n_swap}


def warm_up(X: np.ndarray, k: int, common: dict, rows: int = WARMUP_ROWS, unpruned: bool = False,
            dtypes: Sequence[str] = ("float64",)) -> float:
    """Compile the fused kernels of this (d, k, metric) on the first ``rows`` points; its seconds.

    ``torch.compile`` specialises on the dimension, k, the metric and the dtype, not
    on n: the timed runs that follow reuse these kernels, and the compilation is
    reported apart (``warmup_s``). ``dtypes``: those of the timed runs (a float32
    run would otherwise compile its kernels inside its timed region). ``unpruned``:
    also the kernels of the runs without pruning that follow pruned ones (:func:`series`).
    """
    if not common.get("fused"):
        return 0.0
    t0 = time.perf_counter()
    prune = bool(common.get("prune"))
    head = np.ascontiguousarray(X[:max(rows, 2 * k)])
    for dt in dtypes:
        for variant in [prune] + ([False] if prune and unpruned else []):
            run_tiled(head, k, **(common | {"dtype": dt, "max_iter": 2, "prune": variant}))
    return time.perf_counter() - t0


def series(entry: dict, X: np.ndarray, k: int, dtypes: Sequence[str], common: dict, save,
           unpruned: bool = False) -> None:
    """Time ``X`` once per dtype into ``entry["runs"]``; with ``unpruned`` (and ``--prune``) each
    run is followed by the same run without pruning, and the pruned one records the comparison."""
    for dt in dtypes:
        r = run_tiled(X, k, dtype=dt, **common)
        entry["runs"].append(r)
        _vs64(entry["runs"])
        save()
        if unpruned and common.get("prune"):
            u = run_tiled(X, k, dtype=dt, **(common | {"prune": False}))
            entry["runs"].append(u)
            r.update(same_medoids_as_unpruned=r["medoids"] == u["medoids"],
                     same_swaps_as_unpruned=(r["n_iter"], r["n_swap"]) == (u["n_iter"], u["n_swap"]),
                     prune_speedup=u["seconds"] / r["seconds"],
                     prune_iteration_speedup=(u["iteration_s_median"] / r["iteration_s_median"]
                                              if r["iteration_s_median"] else None))
            save()


def _vs64(runs: list[dict]) -> None:
    """Mark a float32 run with its agreement with the float64 run before it."""
    if len(runs) > 1 and runs[-1]["dtype"] == "float32":
        r32, r64 = runs[-1], runs[0]
        r32["same_medoids_as_float64"] = r32["medoids"] == r64["medoids"]
        r32["loss_rel_diff_to_float64"] = abs(r32["loss"] - r64["loss"]) / r64["loss"]


def cpu_small(n: int, k: int, common: dict) -> dict[str, Any]:
    """MNIST n, one thread: pam/reference (matrix + BUILD + SWAP) against pam/torch-tiled on the CPU."""
    import torch
    from threadpoolctl import threadpool_limits

    from ..algorithms import pam as ref
    from ..datasets import load_mnist
    from ..dissimilarity import dissimilarity
    X = np.ascontiguousarray(load_mnist(n)[0], dtype=np.float64)
    common = common | {"device": "cpu"}
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        warmup = warm_up(X, k, common)      # with --fused: compiled before, not in the timed run
        with threadpool_limits(1):
            t0 = time.perf_counter()
            D = dissimilarity(X, "euclidean")
            t1 = time.perf_counter()
            r = ref.pam(D, k)
            t2 = time.perf_counter()
        t = run_tiled(X, k, **common)
    finally:
        torch.set_num_threads(before)
    return {"n": n, "k": k, "warmup_s": warmup, "reference_matrix_s": t1 - t0, "reference_pam_s": t2 - t1,
            "reference_s": t2 - t0, "tiled": t, "same_medoids": [int(m) for m in r.medoids] == t["medoids"],
            "same_swaps": (r.n_iter, r.n_swap) == (t["n_iter"], t["n_swap"]),
            "ratio": t["seconds"] / (t2 - t0)}


def markdown(d: dict) -> str:
    lines = [f"# pam/torch-tiled performance ({d.get('device', '?')})", "",
             "Times from the points on the host (their transfer included); s/iter: median "
             "seconds of a SWAP iteration; floor: its flops at the data-sheet FP64 peak; "
             "'(max_iter)': SWAP stopped at the iteration limit, not converged; pruned: share of the "
             "SWAP tiles' (candidate, point) pairs skipped by the box bounds (--prune).", "",
             f"command: `{d.get('command', '')}`", "",
             f"fused kernels: the medoid sums are masked row sums in the kernel up to k = "
             f"{d.get('masked_k', 'n/a')}, else one product with the one-hot matrix.", "",
             "| section | n | d | k | dtype | fused | pruned | total s | BUILD s | SWAP s | iters | swaps | "
             "s/iter | floor s/iter | % of floor | near-ties |", "|" + "---|" * 16]

    def f(x, nd=3):
        return "n/a" if x is None else (f"{x:.{nd}f}" if isinstance(x, float) else str(x))
    for name, sec in d["sections"].items():
        for r in sec.get("runs", []) + [c["tiled"] for c in sec.get("vs_reference", [])]:
            pr = r.get("pruned_fraction_swap")
            lines.append(f"| {name} | {r['n']} | {r['d']} | {r['k']} | {r['dtype']} | {r['fused']} | "
                         f"{'no' if pr is None else f'{100 * pr:.1f} %'} | {f(r['seconds'])} | "
                         f"{f(r['build_s'])} | {f(r['swap_s'])} | {r['n_iter']}{'' if r['converged'] else ' (max_iter)'} | {r['n_swap']} | "
                         f"{f(r['iteration_s_median'])} | {f(r.get('floor_s'))} | "
                         f"{f(r.get('floor_percent'), 1)} | {r['near_ties']} |")
        if "error" in sec:
            lines.append(f"| {name} | error: {sec['error'].splitlines()[-1]} |" + " |" * 14)
    for sec in d["sections"].values():
        for c in sec.get("vs_reference", []):
            lines.append("")
            lines.append(f"- MNIST n = {c['n']}, k = {c['k']}, one thread: pam/reference "
                         f"{f(c['reference_s'])} s (matrix {f(c['reference_matrix_s'])} s, BUILD + "
                         f"SWAP {f(c['reference_pam_s'])} s), pam/torch-tiled {f(c['tiled']['seconds'])} s "
                         f"(ratio {f(c['ratio'], 2)}), same medoids: {c['same_medoids']}, same "
                         f"n_iter/n_swap: {c['same_swaps']}")
        for c in sec.get("vs_matrix", []):
            lines.append("")
            lines.append(f"- n = {c['n']}: pam/torch (matrix) {f(c['matrix']['seconds'])} s "
                         f"(matrix {f(c['matrix']['matrix_s'])} s), pam/torch-tiled "
                         f"{f(c['tiled']['seconds'])} s, ratio tiled/matrix "
                         f"{f(c['ratio'], 2)}, same medoids: {c['same_medoids']}")
            if "eager" in c:
                lines[-1] += (f"; eager tiles {f(c['eager']['seconds'])} s (fused {f(c['fused_speedup'], 2)}x "
                              f"faster, same medoids: {c['same_medoids_as_eager']})")
    for name, sec in d["sections"].items():
        for r in sec.get("runs", []):
            if "prune_speedup" in r:
                lines.append("")
                lines.append(f"- {name}, {r['dtype']}: pruned {f(r['seconds'])} s against "
                             f"{f(r['seconds'] * r['prune_speedup'])} s without pruning, "
                             f"{f(r['prune_speedup'], 2)}x (per SWAP iteration "
                             f"{f(r['prune_iteration_speedup'], 2)}x); same medoids: "
                             f"{r['same_medoids_as_unpruned']}, same n_iter/n_swap: "
                             f"{r['same_swaps_as_unpruned']}")
    for name, sec in d["sections"].items():
        c = sec.get("compare")
        if c:
            lines.append("")
            lines.append(f"- {name}: against {c['file']} ({c['device']}, {'pruned' if c['prune'] else 'not pruned'}, "
                         f"{c['other_n_iter']} iterations{'' if c['other_converged'] else ', not converged'}): "
                         + (c["error"] if "error" in c else
                            f"same medoids after {c['iterations']} swaps: {c['same_medoids']}, "
                            f"relative loss difference {c['loss_rel_diff']:.1e}"
                            + (f", both converged at the same iteration: {c['same_n_iter']}"
                               if "same_n_iter" in c else "")))
    for name, sec in d["sections"].items():
        if sec.get("warmup_s"):
            lines.append("")
            lines.append(f"- {name}: compilation of the fused kernels (warm-up run on at most "
                         f"{WARMUP_ROWS:,} points, not in the times above): {f(sec['warmup_s'], 1)} s")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="results/gpu")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--sections", default=",".join(SECTIONS[:4]))
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test, any device)")
    ap.add_argument("--float32", action="store_true", help="also time float32 tiles")
    ap.add_argument("--peak-tflops", type=float, default=None,
                    help="FP64 peak of the device (default: the data-sheet table)")
    ap.add_argument("--max-iter", type=int, default=1000,
                    help="SWAP iterations at most (a run that stops here is marked '(max_iter)')")
    ap.add_argument("--fused", action="store_true",
                    help="BUILD gains and swap sums in one torch.compile kernel per tile "
                         "(compiled on a warm-up run, timed apart)")
    ap.add_argument("--prune", action="store_true",
                    help="skip the tiles that box bounds prove out of reach (k-d tree order of the "
                         "points; bench_core.gpu.bounds): the same swaps, less work in low dimension")
    ap.add_argument("--also-unpruned", action="store_true",
                    help="with --prune: follow each run of blobs100k, birch1, n1m and n200k by the "
                         "same run without pruning (same medoids? the speed-up)")
    ap.add_argument("--memory-budget", type=int, default=None, help="bytes of tile work arrays")
    ap.add_argument("--masked-k", type=int, default=None,
                    help="fused: largest k whose medoid sums are masked row sums in the kernel "
                         "(default bench_core.gpu.fused.SMALL_K; 0: always the one-hot product)")
    ap.add_argument("--clustbench", type=Path, default=None)
    ap.add_argument("--compare", type=Path, default=None,
                    help="a perf_tiled JSON of another device or setting: for each section in both, "
                         "whether the first float64 runs take the same swaps (the shorter run's "
                         "medoids against the longer one's at as many iterations)")
    a = ap.parse_args(argv)
    import torch

    from ..environment import record
    from . import fused
    from ._device import device_name, resolve_device
    try:
        dev = resolve_device(a.device)
    except ValueError as exc:
        print(f"--device: {exc}", file=sys.stderr)
        return 2
    name = device_name(dev)
    peak = a.peak_tflops or peak_tflops(name)
    on_cpu = {"cpu-small"} | ({"birch1"} if a.prune else set())
    if dev.type == "cpu" and not a.quick and not set(a.sections.split(",")) <= on_cpu:
        print("the full run is for a GPU (on the CPU: cpu-small, and birch1 with --prune, "
              "about 20 minutes); use --quick for a CPU smoke test", file=sys.stderr)
        return 2
    try:
        other = json.loads(a.compare.read_text()) if a.compare else None
    except (OSError, ValueError) as exc:
        print(f"--compare {a.compare}: not a perf_tiled results file ({exc})", file=sys.stderr)
        return 2
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    tag = "quick" if a.quick else "cpu" if dev.type == "cpu" else name.replace("NVIDIA ", "").split()[0].lower()
    tag += "_fused" if a.fused else ""
    tag += "_pruned" if a.prune else ""
    tag += f"_masked{a.masked_k}" if a.fused and a.masked_k is not None else ""
    data: dict[str, Any] = {"device": name, "torch": torch.__version__, "peak_tflops": peak,
                            "command": " ".join(["python -m bench_core.gpu.perf_tiled"] + (argv or sys.argv[1:])),
                            "env": record(gpu=dev.type == "cuda"), "sections": {}}

    def save():
        (out / f"perf_tiled_{tag}.json").write_text(json.dumps(data, indent=1, default=str))
        (out / f"perf_tiled_{tag}.md").write_text(markdown(data))

    if a.masked_k is not None:
        fused.SMALL_K = max(0, a.masked_k)
    data["masked_k"] = fused.SMALL_K
    q = a.quick
    common = dict(device=dev, max_iter=a.max_iter, peak=peak, memory_budget=a.memory_budget,
                  fused=a.fused, prune=a.prune)
    dtypes = ("float64",) + (("float32",) if a.float32 else ())
    for sec in [s for s in a.sections.split(",") if s]:
        if sec not in SECTIONS:
            raise SystemExit(f"unknown section {sec!r}; known: {', '.join(SECTIONS)}")
        entry: dict[str, Any] = {"runs": []}
        data["sections"][sec] = entry
        try:
            if sec == "blobs100k":
                X = blobs(2000 if q else 100_000, 784, 100)
                entry["warmup_s"] = warm_up(X, 20 if q else 100, common, unpruned=a.also_unpruned, dtypes=dtypes)
                series(entry, X, 20 if q else 100, dtypes, common, save, a.also_unpruned)
                entry["target_s"] = 120
            elif sec == "birch1":
                X = load_birch1(a.clustbench)
                if q:
                    X = np.ascontiguousarray(X[:3000])
                entry["warmup_s"] = warm_up(X, 100, common, unpruned=a.also_unpruned, dtypes=dtypes)
                series(entry, X, 100, dtypes, common, save, a.also_unpruned)
                entry["target_s"] = 30
            elif sec in ("n1m", "n200k"):
                X = blobs(5000 if q else 1_000_000 if sec == "n1m" else 200_000, 2, 10)
                entry["warmup_s"] = warm_up(X, 10, common, unpruned=a.also_unpruned)
                series(entry, X, 10, ["float64"], common, save, a.also_unpruned)     # float64 only
            elif sec == "vs-matrix":
                entry["vs_matrix"] = []
                for n in ((1000, 2000) if q else (10_000, 30_000)):
                    X = blobs(n, 784, 100, seed=1)
                    kk = 10 if q else 100
                    if "warmup_s" not in entry:      # once: the kernels serve both sizes
                        entry["warmup_s"] = warm_up(X, kk, common)
                    t = run_tiled(X, kk, **common)
                    m = run_matrix(X, kk, device=dev)
                    entry["runs"].append(t)
                    c = {"n": n, "tiled": t, "matrix": m, "same_medoids": t["medoids"] == m["medoids"],
                         "ratio": t["seconds"] / m["seconds"]}
                    if a.fused:          # the eager tiles on the same points, for the gain of fusing
                        e = run_tiled(X, kk, **(common | {"fused": False}))
                        entry["runs"].append(e)
                        c.update(eager=e, same_medoids_as_eager=e["medoids"] == t["medoids"],
                                 fused_speedup=e["seconds"] / t["seconds"])
                    entry["vs_matrix"].append(c)
                    save()
            elif sec == "cpu-small":
                entry["vs_reference"] = [cpu_small(2000 if not q else 500, 10, common)]
                entry["warmup_s"] = entry["vs_reference"][0]["warmup_s"]
            theirs = (other or {}).get("sections", {}).get(sec, {}).get("runs", [])
            if entry["runs"] and theirs and sec != "vs-matrix":
                entry["compare"] = compare_runs(entry["runs"][0], theirs[0], X, dev)
                entry["compare"]["file"] = str(a.compare)
        except Exception:
            entry["error"] = traceback.format_exc()
            print(entry["error"], file=sys.stderr)
        save()
        print(markdown(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
