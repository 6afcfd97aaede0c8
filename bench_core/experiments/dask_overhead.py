"""The quick preset's grid on the local runner and on ``--dask local:N``: wall time and per-run overhead.

Run ``python -m bench_core.experiments.dask_overhead`` (``--workers 2 1``; ``--preset quick``).
The distance matrices are computed into the cache first, so every variant loads
them. Each variant writes its rows to ``--out/perf-dask-<variant>.csv`` and
records when each row arrived. Prints a Markdown table:

* wall: the whole grid, a Dask variant including starting its ``LocalCluster``;
* per-run overhead: each run's cycle (time from the previous row to its row;
  per worker for Dask) minus the same run's cycle on the local runner, median
  and interquartile range over runs; with one worker this is what scheduling
  costs per run;
* fit-time ratio: median over runs of the Dask fit time over the local one
  (above 1 when workers compete for cores);
* equal: runs with the same status, loss and medoids as on the local runner.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def _variant(label: str, grids, path: Path, workers: int | None) -> dict:
    from ..results_io import ResultsFile
    from ..runner import run_grid
    from ..runner.distributed import parse_target, run_on_dask

    arrivals: list[tuple] = []
    t0 = time.perf_counter()

    def on_row(row: dict) -> None:
        arrivals.append((time.perf_counter() - t0, row["run_id"], (row.get("extras") or {}).get("dask_worker")))

    rf = ResultsFile(path)
    if workers is None:
        run_grid(grids, rf, overwrite=True, progress=False, on_row=on_row)
    else:
        run_on_dask(grids, rf, parse_target(f"local:{workers}"), overwrite=True, progress=False, on_row=on_row,
                    log=lambda m: None)
    return {"label": label, "wall_s": time.perf_counter() - t0, "arrivals": arrivals,
            "load": os.getloadavg(), "rows": rf.load()}


def _cycles(arrivals, per_worker: bool) -> dict[str, float]:
    out, last = {}, {}
    for t, rid, worker in arrivals:
        key = worker if per_worker else None
        if key in last:
            out[rid] = t - last[key]
        last[key] = t
    return out


def main(argv: list[str] | None = None) -> None:
    from ..datasets import get_dataset
    from ..dissimilarity import cached_dissimilarity
    from ..environment import cpu_model
    from ..runner import expand
    from .presets import PRESETS

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="quick")
    p.add_argument("--workers", type=int, nargs="+", default=[2, 1])
    p.add_argument("--out", default="/tmp/kmbench-perf-dask")
    p.add_argument("--json", default=None, help="also write the measurements here")
    args = p.parse_args(argv)
    grids = PRESETS[args.preset].grids
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for spec in grids:  # warm the distance-matrix cache
        for ds in spec.datasets:
            for n in spec.ns:
                for dtype in spec.dtypes:
                    for metric in spec.metrics:
                        cached_dissimilarity(get_dataset(ds, n, seed=spec.data_seed), metric, dtype)

    local = _variant("local", grids, out / "perf-dask-local.csv", None)
    variants = [_variant(f"local:{w}", grids, out / f"perf-dask-local{w}.csv", w) for w in args.workers]
    base = _cycles(local["arrivals"], False)
    lrows = local["rows"].set_index("run_id")
    print(f"{len(expand(grids))} runs of the {args.preset} preset; CPU {cpu_model()} ({os.cpu_count()} cores); "
          f"load average during the local run {local['load'][0]:.1f}\n")
    print("| runner | wall s | ratio to local | per-run overhead ms, median (IQR) | fit-time ratio | equal rows |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| local | {local['wall_s']:.1f} | 1.00 | — | — | — |")
    summary = {"local": {"wall_s": local["wall_s"], "load": local["load"]}}
    for v in variants:
        cyc = _cycles(v["arrivals"], True)
        common = sorted(set(base) & set(cyc))
        diff = np.array([cyc[r] - base[r] for r in common]) * 1000
        rows = v["rows"].set_index("run_id").reindex(lrows.index)
        same_medoids = (rows["medoids"] == lrows["medoids"]) | (rows["medoids"].isna() & lrows["medoids"].isna())
        same = ((rows["status"] == lrows["status"]) & (rows["loss"] == lrows["loss"]) & same_medoids) | (
            (rows["status"] == lrows["status"]) & (lrows["status"] != "ok"))  # k-means rows have no medoids
        both_ok = (rows["status"] == "ok") & (lrows["status"] == "ok")
        fit_ratio = float(np.median(rows.loc[both_ok, "fit_time"] / lrows.loc[both_ok, "fit_time"]))
        q1, med, q3 = np.percentile(diff, [25, 50, 75])
        print(f"| --dask {v['label']} | {v['wall_s']:.1f} | {v['wall_s'] / local['wall_s']:.2f} | "
              f"{med:.0f} ({q1:.0f} .. {q3:.0f}) | {fit_ratio:.2f} | {int(same.sum())} of {len(lrows)} |")
        summary[v["label"]] = {"wall_s": v["wall_s"], "overhead_ms_median": med, "overhead_ms_iqr": [q1, q3],
                               "fit_ratio": fit_ratio, "equal": int(same.sum()), "load": v["load"]}
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
