"""Report tables of exact PAM from the points (``pam/torch-tiled``, ``kmbench reproduce perf-tiled``).

Two tables from the harness's rows: the time of every tiled run beside its target, with the
seconds per SWAP iteration against the device's floor (the iteration's flops at the data-sheet
FP64 peak, :func:`bench_core.gpu.perf_tiled.iteration_flops`); and the tiled runs against the
matrix-based ``pam/torch`` on the same points (time ratio, same medoids).
"""

from __future__ import annotations

import pandas as pd

from .tables import Table, fmt, json_cell, ok_rows

MATRIX = "pam/torch"


def _data(r) -> str:
    params = json_cell(r["dataset_params"]) if "dataset_params" in r else {}
    shown = ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
    return f"{r['dataset']}({shown})" if shown else str(r["dataset"])


def tiled_tables(df_all: pd.DataFrame, caption: str, targets: dict[tuple[str, int, int], float]) -> list[Table]:
    """The tiled runs' times against ``targets`` ({(dataset, n, k): seconds}) and the device floor,
    and the tiled runs against ``pam/torch`` where both ran on the same points."""
    from ..gpu.entries import WARMUP_ROWS
    from ..gpu.perf_tiled import iteration_flops, peak_tflops

    ok = ok_rows(df_all)
    tiled = ok[ok["implementation"].str.startswith("torch-tiled")]
    if tiled.empty:
        return []
    rows = []
    for _, r in tiled.sort_values(["n", "entry"]).iterrows():
        ex = json_cell(r["extras"])
        per_it = ex.get("iteration_s_median")
        n, k, d = int(r["n"]), int(r["k"]), int(float(r["d"]))
        device = str(ex.get("device", "?"))
        peak = peak_tflops(device)
        floor = iteration_flops(n, d, k, str(r["metric"])) / (peak * 1e12) if peak else None
        target = targets.get((str(r["dataset"]), n, k))
        build_s = ex.get("init_s")
        swap_s = ex["total_s"] - build_s if build_s is not None and "total_s" in ex else None
        converged = str(r["converged"]).lower() in ("true", "1", "1.0")
        rows.append([r["entry"], _data(r), f"{n:,}", str(d), str(k), r["dtype"], device,
                     fmt(r["fit_time"], 3), fmt(ex.get("compile_s"), 2), fmt(build_s, 3), fmt(swap_s, 3),
                     f"{int(float(r['n_iter']))}{'' if converged else ' (not converged)'}",
                     fmt(per_it, 3), fmt(floor, 3),
                     fmt(100 * floor / per_it, 3) if floor and per_it else "—",
                     f"≤ {target:g} s: {'met' if r['fit_time'] <= target and converged else 'not met'}"
                     if target else "—"])
    out = [Table(
        id="tiled-times", title="Exact PAM from the points: time, iterations and the device floor",
        columns=["entry", "data set", "n", "d", "k", "dtype", "device", "s (timed call)", "compile s (apart)",
                 "BUILD s", "SWAP s", "iterations", "s / iteration", "floor s / iteration", "% of floor",
                 "target"],
        rows=rows, caption=caption,
        notes=["s (timed call): BUILD + SWAP from the points on the host to the result (the transfer "
               "included); with the option fused the kernels are compiled before, on an untimed run on "
               f"the first {WARMUP_ROWS:,} points, and that run's seconds are the compile column.",
               "floor: the iteration's flops (distances and the one-hot products) at the device's "
               "data-sheet FP64 peak; none for a CPU. It counts every (candidate, point) pair, so a "
               "pruned run, which skips pairs, can go below it. A target is met by a converged run "
               "within it."])]
    vs = []
    mat = ok[ok["entry"] == MATRIX]
    for _, t in tiled[tiled["algorithm"] == "pam"].sort_values(["n", "entry"]).iterrows():
        same = mat[(mat["dataset"] == t["dataset"]) & (mat["n"] == t["n"]) & (mat["k"] == t["k"])
                   & (mat["seed"] == t["seed"]) & (mat["metric"] == t["metric"])
                   & (mat["dataset_params"] == t["dataset_params"])]
        for _, m in same.iterrows():
            vs.append([_data(t), f"{int(t['n']):,}", str(int(t["k"])), t["entry"], fmt(m["fit_time"], 3),
                       fmt(t["fit_time"], 3), f"{t['fit_time'] / m['fit_time']:.2f}",
                       "yes" if str(t["medoids"]) == str(m["medoids"]) else "no",
                       f"{abs(t['loss'] - m['loss']) / m['loss']:.1e}"])
    if vs:
        out.append(Table(
            id="tiled-vs-matrix", title="From the points against the matrix-based pam/torch, same points and start",
            columns=["data set", "n", "k", "tiled entry", "pam/torch s", "tiled s", "tiled / matrix",
                     "same medoids", "loss difference (relative)"],
            rows=vs, caption=caption,
            notes=["pam/torch's timed call takes the matrix from the host (its transfer included; the "
                   "harness computes the matrix before, untimed); the tiled call takes the points."]))
    return out
