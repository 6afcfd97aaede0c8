"""Best known losses: the lowest loss ever recorded per problem, a small versioned table.

``results/best_known.json`` (tracked in git) holds, for each (dataset, n, k, metric,
objective), the lowest loss of a finished run and where it came from (run id, entry,
seed, dtype, data checksum, results file, date). The *objective* is the function the
family minimises, so that, e.g., FasterPAM and CLARA (both total deviation) share a
record while k-means (sum of squares) has its own:

===========================  =============================================
family (algorithm)           objective
===========================  =============================================
kmedoids, sampling           ``td``: sum of distances to the nearest medoid
kmeans                       ``sse``: sum of squared distances to the centres
kmedian                      ``kmedian``: sum of distances to the centres
msc (pamsil)                 ``1-silhouette``
msc (others)                 ``1-medoid-silhouette``
===========================  =============================================

:meth:`BestKnown.update` takes results rows and replaces a record only when a run
beats it by more than a relative ``rtol`` (float noise never churns the table);
records whose data checksum differs from the run's (the same name, other data) are
never compared. Every change bumps ``revision``. Reports show each run's gap to the
record (:func:`gaps`).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .atomic import atomic_write_text
from .environment import ROOT

PATH = Path(os.environ.get("KMBENCH_BEST_KNOWN", ROOT / "results" / "best_known.json"))
FORMAT = 1
KEY = ("dataset", "n", "k", "metric", "objective")


def objective(family: str, algorithm: str = "") -> str | None:
    """The objective a family minimises (see the module docstring); None for non-clustering rows."""
    if family in ("kmedoids", "sampling"):
        return "td"
    if family == "kmeans":
        return "sse"
    if family == "kmedian":
        return "kmedian"
    if family == "msc":
        return "1-silhouette" if algorithm == "pamsil" else "1-medoid-silhouette"
    return None


def key_of(row: Any) -> str | None:
    """``dataset|n|k|metric|objective`` of a results row (mapping or namedtuple), or None."""
    get = row.get if hasattr(row, "get") else lambda c, d=None: getattr(row, c, d)
    obj = objective(str(get("family", "")), str(get("algorithm", "")))
    if obj is None:
        return None
    ds = str(get("dataset"))
    params = get("dataset_params")
    if isinstance(params, str) and params not in ("", "{}", "nan"):
        ds += params  # blobs with other parameters is another problem
    return "|".join([ds, str(int(get("n"))), str(int(get("k"))), str(get("metric")), obj])


@dataclass
class BestKnown:
    """The table: ``records[key] = {"loss", "run_id", "entry", ...}``; ``revision`` counts changes."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    revision: int = 0
    path: Path | None = None

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> BestKnown:
        """Read ``path`` (default ``results/best_known.json``); a missing file is an empty table."""
        p = Path(path) if path is not None else PATH
        if not p.exists():
            return cls(path=p)
        doc = json.loads(p.read_text())
        if doc.get("format") != FORMAT:
            raise ValueError(f"{p}: best-known format {doc.get('format')!r}; this kmbench reads format {FORMAT}")
        return cls(records=dict(doc.get("records", {})), revision=int(doc.get("revision", 0)), path=p)

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write the table (sorted keys, one record per line block; atomic)."""
        p = Path(path) if path is not None else (self.path or PATH)
        p.parent.mkdir(parents=True, exist_ok=True)
        doc = {"format": FORMAT, "revision": self.revision, "key": list(KEY),
               "note": "lowest loss per problem; updated by kmbench.best_known.BestKnown.update",
               "records": {k: self.records[k] for k in sorted(self.records)}}
        atomic_write_text(p, json.dumps(doc, indent=1, default=str) + "\n")
        self.path = p
        return p

    def get(self, key: str) -> float | None:
        rec = self.records.get(key)
        return None if rec is None else float(rec["loss"])

    def update(self, df: pd.DataFrame, *, source: str | None = None, rtol: float = 1e-9) -> list[dict[str, Any]]:
        """Record every finished run that beats the table; returns the changes made.

        A run beats a record when ``loss < record - rtol * |record|`` (or the problem has no
        record yet) and both were computed on the same data (``dataset_checksum``; a
        record or row without one is compared by name). Among rows of one problem the
        lowest loss (then the earliest row) wins.
        """
        changes: list[dict[str, Any]] = []
        if df.empty:
            return changes
        ok = df[(df["status"] == "ok") & np.isfinite(pd.to_numeric(df["loss"], errors="coerce"))]
        best_rows: dict[str, Any] = {}
        for row in ok.to_dict("records"):
            key = key_of(row)
            if key is None:
                continue
            cur = best_rows.get(key)
            if cur is None or float(row["loss"]) < float(cur["loss"]):
                best_rows[key] = row
        today = _dt.date.today().isoformat()
        for key, row in sorted(best_rows.items()):
            loss = float(row["loss"])
            old = self.records.get(key)
            checksum = _clean(row.get("dataset_checksum"))
            if old is not None:
                if checksum and old.get("checksum") and old["checksum"] != checksum:
                    continue  # other data under the same name: not comparable
                if not loss < float(old["loss"]) - rtol * abs(float(old["loss"])):
                    continue
            rec = {"loss": loss, "run_id": _clean(row.get("run_id")), "entry": _clean(row.get("entry")),
                   "seed": _int(row.get("seed")), "dtype": _clean(row.get("dtype")), "checksum": checksum,
                   "source": source or _clean(row.get("source")), "recorded": today}
            changes.append({"key": key, "old": None if old is None else float(old["loss"]), "new": loss,
                            "run_id": rec["run_id"], "entry": rec["entry"]})
            self.records[key] = rec
        if changes:
            self.revision += 1
        return changes

    def series(self) -> pd.Series:
        """Best known loss by key."""
        return pd.Series({k: float(v["loss"]) for k, v in self.records.items()}, dtype=float)


def _clean(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return str(v)


def _int(v: Any) -> int | None:
    try:
        return None if v is None or (isinstance(v, float) and np.isnan(v)) else int(v)
    except (TypeError, ValueError):
        return None


def gaps(df: pd.DataFrame, table: BestKnown | None = None) -> pd.DataFrame:
    """Rows of ``df`` with ``best_known`` and ``gap`` = loss / best_known - 1 (None where unknown).

    A run better than the table (not yet recorded) has a negative gap.
    """
    table = table if table is not None else BestKnown.load()
    out = df.copy()
    keys = [key_of(r) for r in out.to_dict("records")]
    out["best_known"] = [table.get(k) if k else None for k in keys]
    bk = pd.to_numeric(out["best_known"], errors="coerce")
    loss = pd.to_numeric(out["loss"], errors="coerce")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["gap"] = np.where(bk > 0, loss / bk - 1.0, np.where((bk == 0) & (loss == 0), 0.0, np.nan))
    return out


def best_by_problem(df: pd.DataFrame, table: BestKnown | None = None) -> pd.Series:
    """Best known loss indexed like :func:`bench_core.report.stats.score_matrix` rows (problem labels)."""
    from .report.stats import PROBLEM, problem_label

    g = gaps(df, table)
    g = g[g["best_known"].notna()]
    if g.empty:
        return pd.Series(dtype=float)
    cols = [c for c in PROBLEM if c in g.columns]
    labels = [problem_label(tuple(r), cols) for r in g[cols].itertuples(index=False)]
    return pd.Series(g["best_known"].to_numpy(dtype=float), index=labels).groupby(level=0).min()


def gap_table(df: pd.DataFrame, caption: str = "", table: BestKnown | None = None):
    """Report table: per problem and entry, the best and median gap to the best known loss."""
    from .report.tables import Table

    g = gaps(df[df["status"] == "ok"], table)
    g = g[g["gap"].notna()]
    if g.empty:
        return []
    rows = []
    for (ds, n, k, entry), e in g.groupby(["dataset", "n", "k", "entry"], sort=True):
        rows.append([str(ds), f"{int(n):,}", str(int(k)), str(entry), f"{e['best_known'].iloc[0]:.6g}",
                     f"{100 * e['gap'].min():+.3f}", f"{100 * e['gap'].median():+.3f}", str(len(e))])
    return [Table(id="gap-to-best-known", title="Loss above the best known loss [%]",
                  columns=["data", "n", "k", "implementation", "best known", "best run", "median", "runs"],
                  rows=rows, caption=caption,
                  notes=["Best known: results/best_known.json (lowest loss ever recorded per data set, n, k, "
                         "metric and objective, with the run id). A negative gap beats the record."])]


def update_file(paths: list[str | os.PathLike], table_path: str | os.PathLike | None = None
                ) -> list[dict[str, Any]]:
    """Update the table from results files and save it when something changed."""
    from .results_io import load_many

    df, _ = load_many(paths)
    table = BestKnown.load(table_path)
    changes = []
    for src, part in df.groupby("source", sort=False):
        changes += table.update(part, source=str(src))
    if changes:
        table.save(table_path)
    return changes
