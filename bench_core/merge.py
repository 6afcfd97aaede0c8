"""``kmbench merge``: results files from several machines or runs combined into one.

Each input contributes its latest row per ``run_id`` (a retried run's last
attempt, as :meth:`~bench_core.results_io.ResultsFile.load` reads it). A run id
found in several inputs is a conflict unless the rows are equal field by field
(the same measurement copied, e.g. a file merged with its own resumed copy):
conflicts are listed and the merge refuses to write unless ``keep`` says which
input wins (``"first"`` or ``"last"`` in the order given). Rows are copied as
text, so values are written exactly as they were read.

The environment records of all inputs (keyed by content hash, so the same
machine and software give the same id) and their command lines go into the
output's ``.meta.json``, with a ``merged`` entry naming the inputs and how
conflicts were resolved.
"""

from __future__ import annotations

import csv
import io
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import atomic_write, atomic_write_text
from .results_io import COLUMNS, LATER_COLUMNS, ResultsFile, columns

KEEP = ("first", "last")


@dataclass
class Conflict:
    """One run id with different rows in several inputs."""

    run_id: str
    sources: list[str]
    statuses: list[str]


@dataclass
class MergeSummary:
    out: Path
    rows: int = 0
    per_source: dict[str, int] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    identical: int = 0
    keep: str | None = None

    def lines(self) -> list[str]:
        out = [f"{self.rows} rows -> {self.out} (" + ", ".join(f"{n} from {s}" for s, n in
                                                         self.per_source.items()) + ")"]
        if self.identical:
            out.append(f"{self.identical} run id(s) had equal rows in several inputs; kept once")
        if self.conflicts:
            out.append(f"{len(self.conflicts)} run id(s) with different rows in several inputs: kept the "
                       f"{self.keep} input's row (--keep {self.keep})")
        return out


def _read(path: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    """(header, latest row per run id in file order) of a results file, as text."""
    raw = path.read_bytes()
    if raw and not raw.endswith(b"\n"):
        cut = raw.rfind(b"\n") + 1
        warnings.warn(f"{path}: dropping a torn last line ({len(raw) - cut} bytes)", RuntimeWarning, stacklevel=3)
        raw = raw[:cut]
    reader = csv.reader(io.StringIO(raw.decode()))
    header = next(reader, None)
    if header is None:
        raise ValueError(f"{path} is empty; not a kmbench results file")
    missing = set(COLUMNS) - set(LATER_COLUMNS) - set(header)
    if missing:
        raise ValueError(f"{path} lacks the columns {sorted(missing)}; not a kmbench results file")
    rows: dict[str, dict[str, str]] = {}
    for line_no, values in enumerate(reader, start=2):
        if len(values) != len(header):
            raise ValueError(f"{path}, line {line_no}: {len(values)} fields, the header has {len(header)}")
        row = dict(zip(header, values, strict=True))
        rows.pop(row["run_id"], None)  # the latest attempt wins, at its own position
        rows[row["run_id"]] = row
    return header, rows


def _conflict_message(conflicts: list[Conflict], shown: int = 10) -> str:
    lines = [f"{len(conflicts)} run id(s) have different rows in several inputs:"]
    for c in conflicts[:shown]:
        where = ", ".join(f"{s} ({st})" for s, st in zip(c.sources, c.statuses, strict=True))
        lines.append(f"  {c.run_id}: {where}")
    if len(conflicts) > shown:
        lines.append(f"  ... and {len(conflicts) - shown} more")
    lines.append("choose which input's row to keep with --keep first or --keep last (order of the inputs)")
    return "\n".join(lines)


def merge_results(inputs: Sequence[str | os.PathLike], out: str | os.PathLike, *, keep: str | None = None,
                  overwrite: bool = False, command: str | None = None) -> MergeSummary:
    """Merge the results files ``inputs`` into ``out`` (a new file unless ``overwrite``).

    Raises ``ValueError`` listing the conflicting run ids when ``keep`` is None and
    two inputs hold different rows for one run id.
    """
    if keep is not None and keep not in KEEP:
        raise ValueError(f"--keep must be one of {', '.join(KEEP)}, got {keep!r}")
    files = [ResultsFile(p) if Path(p).exists() else ResultsFile.named(str(p)) for p in inputs]
    if len(files) < 2:
        raise ValueError("kmbench merge needs at least two results files")
    for f in files:
        if not f.exists():
            raise FileNotFoundError(f"results file {f.path} does not exist")
    target = ResultsFile(out)
    resolved = {f.path.resolve() for f in files}
    if len(resolved) != len(files):
        raise ValueError("an input is given twice")
    if target.path.resolve() in resolved:
        raise ValueError(f"the output {target.path} is one of the inputs; write to a new file")
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target.path} exists; pass --overwrite to replace it")

    headers, tables = [], []
    for f in files:
        header, rows = _read(f.path)
        headers.append(header)
        tables.append(rows)
    cols = list(columns())
    for h in headers:
        cols += [c for c in h if c not in cols]

    chosen: dict[str, tuple[int, dict[str, str]]] = {}
    seen: dict[str, list[int]] = {}
    for i, rows in enumerate(tables):
        for rid, row in rows.items():
            seen.setdefault(rid, []).append(i)
            if rid not in chosen or keep == "last":
                chosen[rid] = (i, row)
    summary = MergeSummary(target.path, keep=keep)
    names = [str(f.path) for f in files]
    for rid, where in seen.items():
        if len(where) < 2:
            continue
        variants = [tables[i][rid] for i in where]
        full = [{c: r.get(c, "") for c in cols} for r in variants]
        if all(v == full[0] for v in full[1:]):
            summary.identical += 1
        else:
            summary.conflicts.append(Conflict(rid, [names[i] for i in where],
                                              [tables[i][rid].get("status", "") for i in where]))
    if summary.conflicts and keep is None:
        raise ValueError(_conflict_message(summary.conflicts))

    # Rows in input order, each input's rows in its own order.
    order = [(i, rid) for i, rows in enumerate(tables) for rid in rows if chosen[rid][0] == i]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    for i, rid in order:
        row = chosen[rid][1]
        writer.writerow([row.get(c, "") for c in cols])
        summary.per_source[names[i]] = summary.per_source.get(names[i], 0) + 1
    summary.rows = len(order)
    for n in names:
        summary.per_source.setdefault(n, 0)

    meta: dict = {"environments": {}, "commands": [], "merged": []}
    for f, name in zip(files, names, strict=True):
        m = f.read_meta()
        meta["environments"].update(m.get("environments", {}))
        meta["commands"] += [c | {"source": name} for c in m.get("commands", [])]
        meta["merged"] += [x for x in m.get("merged", [])]
    meta["merged"].append({
        "inputs": names, "keep": keep, "command": command, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "rows": summary.rows, "identical": summary.identical,
        "conflicts": [{"run_id": c.run_id, "sources": c.sources, "statuses": c.statuses}
                      for c in summary.conflicts]})
    import json

    target.path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target.path, lambda fh: fh.write(buf.getvalue().encode()))
    atomic_write_text(target.meta_path, json.dumps(meta, indent=1, default=str))
    return summary
