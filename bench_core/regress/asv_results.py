"""Reading asv's result files (format version 2), never its console output.

Each file ``results/asv/<machine>/<commit>-<env>.json`` holds ``result_columns``
(``["result", "params", ...]``) and ``results``: benchmark name -> row, where
``result`` lists one value per combination of ``params`` (their Cartesian
product, in order). A value is a number, ``None`` (the benchmark failed) or NaN
(skipped: ``NotImplementedError`` in ``setup``, or asv could not build/run it).
``benchmarks.json`` beside the machine folders gives each benchmark's parameter
names and unit.
"""

from __future__ import annotations

import glob
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ResultsError(ValueError):
    """A result file is missing, unreadable or not in asv's format."""


@dataclass
class ResultSet:
    """One asv result file: values keyed by (benchmark name, parameter combination)."""

    path: str
    commit: str
    env_name: str
    machine: str
    values: dict[tuple[str, tuple[str, ...]], float | None]
    spread: dict[tuple[str, tuple[str, ...]], tuple[float, float]] = field(default_factory=dict)
    param_names: dict[str, list[str]] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)

    @property
    def benchmarks(self) -> set[str]:
        return {b for b, _ in self.values}


def _benchmarks_meta(results_dir: Path) -> dict[str, Any]:
    """asv's ``benchmarks.json`` (param names, units) next to the machine folders, if any."""
    path = results_dir / "benchmarks.json"
    try:
        with open(path) as fh:
            meta = json.load(fh)
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in meta.items() if isinstance(v, dict)}


def load_results(path: str | os.PathLike) -> ResultSet:
    """Read one asv result file (format version 2) into a :class:`ResultSet`."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"no asv result file at {path}")
    try:
        with open(path) as fh:
            data = json.load(fh)  # asv writes NaN for skipped values; json accepts it
    except ValueError as exc:
        raise ResultsError(f"{path} is not JSON: {exc}") from None
    if data.get("version") != 2 or "result_columns" not in data or "results" not in data:
        raise ResultsError(f"{path} is not an asv result file of format version 2 "
                           f"(needs 'version': 2, 'result_columns' and 'results')")
    cols = data["result_columns"]
    values: dict[tuple[str, tuple[str, ...]], float | None] = {}
    spread: dict[tuple[str, tuple[str, ...]], tuple[float, float]] = {}
    for name, row in data["results"].items():
        r = dict(zip(cols, row, strict=False))
        params = r.get("params") or []
        combos = list(itertools.product(*params)) if params else [()]
        result = r.get("result")
        if result is None:  # asv drops all-None columns: the whole benchmark failed
            result = [None] * len(combos)
        if len(result) != len(combos):
            raise ResultsError(f"{path}: {name} has {len(result)} values for {len(combos)} "
                               "parameter combinations")
        q25 = r.get("stats_q_25") or [None] * len(combos)
        q75 = r.get("stats_q_75") or [None] * len(combos)
        for combo, v, lo, hi in zip(combos, result, q25, q75, strict=True):
            key = (name, tuple(str(p) for p in combo))
            values[key] = None if v is None else float(v)
            if lo is not None and hi is not None:
                spread[key] = (float(lo), float(hi))
    meta = _benchmarks_meta(path.parent.parent)
    machine = path.parent.name
    mfile = path.parent / "machine.json"
    if mfile.is_file():
        try:
            machine = json.loads(mfile.read_text()).get("machine", machine)
        except ValueError:
            pass
    return ResultSet(
        path=str(path), commit=str(data.get("commit_hash", "")), env_name=str(data.get("env_name", "")),
        machine=machine, values=values, spread=spread,
        param_names={k: v.get("param_names", []) for k, v in meta.items()},
        units={k: v.get("unit", "") for k, v in meta.items()})


# Tracks of the instruction profile (suites/bench_instructions.py), told apart by method name.
INSTRUCTION_TRACKS = {"track_instructions": "instructions", "track_ll_misses": "ll-misses"}


def kind(benchmark: str) -> str:
    """``time``, ``peakmem``, ``mem``, ``instructions``, ``ll-misses``, ``track`` (from the
    method name) or ``other``."""
    method = benchmark.rsplit(".", 1)[-1]
    if method in INSTRUCTION_TRACKS:
        return INSTRUCTION_TRACKS[method]
    for prefix in ("time", "peakmem", "mem", "track"):
        if method.startswith(prefix + "_"):
            return prefix
    return "other"


def is_nan(v: float | None) -> bool:
    """Whether a value is asv's mark of a skipped combination (NaN); None (failed) is not."""
    return v is not None and math.isnan(v)


def read_asv_config(path: Path) -> dict[str, Any]:
    """asv.conf.json allows ``//`` comment lines; strip them and parse."""
    text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("//"))
    return json.loads(text)


def result_file(results_dir: Path, machine: str, sha: str, hash_length: int = 8,
                env_prefix: str = "existing") -> Path | None:
    """The newest result file of commit ``sha`` on ``machine`` (environment name starting
    with ``env_prefix``), or None."""
    matches = sorted(glob.glob(str(results_dir / machine / f"{sha[:hash_length]}-{env_prefix}*.json")),
                     key=os.path.getmtime)
    return Path(matches[-1]) if matches else None


