"""The sources of the data sets a report used, as their licences ask.

The clustering benchmark suite (Gagolewski, 2022) is provided on the condition that every
publication using it cites the suite and the references in each data set's ``NAME.txt``: a
report with ``clustbench:`` rows lists both.
"""

from __future__ import annotations

import pandas as pd

from .tables import Table


def _source(battery: str, name: str) -> str:
    """``NAME.txt`` on one line (its description and references), without the suite's own
    citation, which the table's note gives."""
    from ..datasets import clustbench

    path = clustbench.data_dir() / battery / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"{battery}/{name}.txt not found here (see the suite's copy)"
    parts = [" ".join(p.split()) for p in text.split("\n\n")]
    return " ".join(p for p in parts if p and "A framework for benchmarking clustering algorithms" not in p)


def sources_tables(df: pd.DataFrame, caption: str) -> list[Table]:
    """One row per data set of the clustering benchmark suite in ``df``: its ``NAME.txt`` source."""
    from ..datasets import clustbench

    names = sorted({str(d) for d in df["dataset"].dropna() if str(d).startswith(f"{clustbench.PREFIX}:")})
    if not names:
        return []
    rows = []
    for full in names:
        battery, name = clustbench.split_name(full.partition(":")[2])
        rows.append([full, _source(battery, name)])
    return [Table(id="data-sources", title="Sources of the data sets", columns=["data set", "description and references (its NAME.txt)"],
                  rows=rows, caption=caption, align="ll",
                  notes=[f"The clustering benchmark suite: cite {clustbench.CITATION}."])]
