"""Run a subset of the battery preset and write its report (a check on a busy 2-core machine).

Usage::

    KMBENCH_CLUSTBENCH_DIR=../shared/datasets/clustbench \\
        python docs/guide/battery_subset.py fcps/hepta,wut/x2 0,1 battery-tiny

Two stand-ins for runner changes that are not merged yet, both local to this script:

- ``runner.parse_dataset`` passes ``clustbench:BATTERY/NAME`` through (prefixed data set
  names must not be parsed as ``key=value`` parameters);
- ARI, AMI and NCA are computed with :func:`bench_core.metrics.evaluate` on every finished
  run (outside the timed region) and added as columns of the results file afterwards (the
  runner does not record metric columns yet).
"""

from __future__ import annotations

import sys
import time
from types import SimpleNamespace

import pandas as pd

from bench_core import runner
from bench_core.datasets import prefixed_names
from bench_core.metrics import evaluate
from bench_core.presets import battery, battery_report
from bench_core.results_io import ResultsFile

_parse = runner.parse_dataset
_execute = runner.execute_isolated
_run_one = runner._run_one
_last: dict[str, object] = {}
_scores: dict[str, dict[str, float | None]] = {}


def parse_dataset(spec: str):
    return (spec, {}) if spec.partition(":")[0] in prefixed_names() else _parse(spec)


def execute_isolated(entry, task, time_limit):
    status, payload = _execute(entry, task, time_limit)
    if status == "ok":
        _last["labels"] = payload["labels"]
    return status, payload


def run_one(run, rid, spec, entry, group, *args, **kwargs):
    _last.pop("labels", None)
    row = _run_one(run, rid, spec, entry, group, *args, **kwargs)
    if row.get("status") == "ok" and "labels" in _last:
        values, _ = evaluate(SimpleNamespace(k=run.k), SimpleNamespace(labels=_last["labels"], k=run.k), group.ds)
        _scores[rid] = {c: values.get(c) for c in ("ari", "ami", "nca")}
    return row


def main(argv: list[str]) -> None:
    sets, seeds, name = argv[0].split(","), [int(s) for s in argv[1].split(",")], argv[2]
    command = "python docs/guide/battery_subset.py " + " ".join(argv)
    runner.parse_dataset, runner.execute_isolated, runner._run_one = parse_dataset, execute_isolated, run_one
    results = ResultsFile.named(name)
    t0 = time.time()
    summary = runner.run_grid(battery(datasets=sets, seeds=seeds), results, overwrite=True, progress=False,
                              command=command)
    print(summary.line(), f"({time.time() - t0:.0f} s)")
    df = pd.read_csv(results.path, dtype=str)
    for c in ("ari", "ami", "nca"):
        df[c] = [_scores.get(r, {}).get(c) for r in df["run_id"]]
    df.to_csv(results.path, index=False)
    t0 = time.time()
    print(battery_report([results.path], name, command=command), f"({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
