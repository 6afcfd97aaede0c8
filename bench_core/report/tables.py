"""Report tables computed from result rows, and their Markdown form.

Every table is a :class:`Table`: preformatted cells plus a caption naming the
machine, versions and commands that produced the rows, and footnotes for
anything not measured in full (restart subsets, timeouts, extrapolations).
The HTML and LaTeX renderers live in :mod:`.html` and :mod:`.latex`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..families import FAMILIES

IMPL_NAMES = {
    "reference": "kmbench (Cython)", "kmedoids": "kmedoids (Rust)", "sklearn": "scikit-learn",
    "sklearn_extra": "scikit-learn-extra", "pyclustering": "pyclustering", "banditpam": "BanditPAM",
    "torch": "kmbench (PyTorch)", "r-cluster": "R cluster", "elki": "ELKI 0.7.1 (Java)", "biopython": "biopython",
    "onebatch": "onebatch",
}
#: Families whose loss is the k-medoids objective (total deviation), comparable across them.
TD_FAMILIES = tuple(f.name for f in FAMILIES.values() if f.total_deviation)
CELL = ["dataset", "n", "k", "dtype", "metric"]
#: The column :func:`add_machines` adds: the machine (hardware) each row ran on.
MACHINE = "machine"
UNKNOWN_MACHINE = "unknown machine"


def impl_name(impl: str) -> str:
    for known in sorted(IMPL_NAMES, key=len, reverse=True):  # names with a dash first ("r-cluster")
        if "-" in known and (impl == known or impl.startswith(known + "-")):
            variant = impl[len(known) + 1:]
            return f"{IMPL_NAMES[known]}, {variant}" if variant else IMPL_NAMES[known]
    base, _, variant = impl.partition("-")
    name = IMPL_NAMES.get(base, base)
    return f"{name}, {variant}" if variant else name


def algo_name(algo: str) -> str:
    """The algorithm's title, as its provider declared it (:func:`bench_core.registry.register_algorithm`)."""
    from ..registry import algorithm_facts

    return algorithm_facts(algo).title


@dataclass
class Table:
    """A rendered-ready table: ``rows`` are lists of strings, one per column."""

    id: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    caption: str = ""
    notes: list[str] = field(default_factory=list)
    align: str = ""  # one of l/r per column; default: first column(s) left, numbers right

    def __post_init__(self) -> None:
        # ids name files (tables/<id>.tex): data set names such as clustbench:fcps/hepta are made safe
        self.id = "".join(c if c.isalnum() or c in "._-" else "-" for c in self.id)

    def alignment(self) -> str:
        if self.align:
            return self.align
        out = ""
        for j in range(len(self.columns)):
            vals = [r[j] for r in self.rows if r[j] not in ("", "—")]
            numeric = vals and all(_looks_numeric(v) for v in vals)
            out += "r" if numeric else "l"
        return out

    def to_markdown(self) -> str:
        def esc(s: str) -> str:
            return s.replace("|", "\\|")
        al = self.alignment()
        lines = [f"### {self.title}", "",
                 "| " + " | ".join(esc(c) for c in self.columns) + " |",
                 "|" + "|".join("---:" if a == "r" else ":---" for a in al) + "|"]
        lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in self.rows]
        lines.append("")
        lines += [f"{note}  " for note in self.notes]
        if self.caption:
            lines += ["", f"*{self.caption}*"]
        return "\n".join(lines) + "\n"


def _looks_numeric(s: str) -> bool:
    s = s.rstrip("†*‡ ").replace(",", "").replace("%", "").replace("×", "").split(" ")[0]
    try:
        float(s)
        return True
    except ValueError:
        return False


def fmt(x: float | None, digits: int = 3) -> str:
    """Significant digits, thousands separators for big numbers, '—' for missing."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    x = float(x)
    if abs(x) >= 10 ** min(digits, 4):
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def add_machines(df: pd.DataFrame, environments: dict[str, dict]) -> pd.DataFrame:
    """Add the :data:`MACHINE` column: each row's machine, from its ``env_id``'s environment record.

    Rows whose records share :func:`bench_core.environment.machine_key` (the same
    CPU model, cores, memory and architecture) are on one machine; rows with no
    record are on :data:`UNKNOWN_MACHINE`.
    """
    from ..environment import machine_key, machine_label

    used = {str(e) for e in df["env_id"].dropna()} if "env_id" in df else set()
    keys = {e: machine_key(environments[e]) for e in used if e in environments}
    hosts: dict[tuple, list[str]] = {}
    first: dict[tuple, dict] = {}
    for e, key in sorted(keys.items()):
        hosts.setdefault(key, []).append(str(environments[e].get("hostname") or "?"))
        first.setdefault(key, environments[e])
    labels = {e: machine_label(first[key], hosts[key]) for e, key in keys.items()}
    out = df.copy()
    out[MACHINE] = [labels.get(str(e), UNKNOWN_MACHINE) if e == e and e is not None else UNKNOWN_MACHINE
                    for e in (df["env_id"] if "env_id" in df else [None] * len(df))]
    return out


def per_machine(tables_of: Callable[[pd.DataFrame, str], list[Table]]):
    """Make a table function compare timings within one machine only.

    With rows from several machines (the :data:`MACHINE` column of
    :func:`add_machines`), ``tables_of`` is called once per machine on that
    machine's rows, and each table's title and id name the machine: no speed
    ratio, time or ns per N² ranking ever mixes machines. With one machine (or
    no such column) it is ``tables_of`` unchanged.
    """
    @functools.wraps(tables_of)
    def wrapped(df_all: pd.DataFrame, caption: str, *args, **kwargs) -> list[Table]:
        if MACHINE not in df_all or df_all[MACHINE].nunique(dropna=False) <= 1:
            return tables_of(df_all, caption, *args, **kwargs)
        out = []
        for j, (label, sub) in enumerate(df_all.groupby(MACHINE, sort=True)):
            for t in tables_of(sub, caption, *args, **kwargs):
                t.id = f"{t.id}-machine{j + 1}"
                t.title = f"{t.title}, on {label}"
                t.notes = [f"Timings on {label} only (rows from other machines are in their own tables)."
                           ] + t.notes
                out.append(t)
        return out
    return wrapped


def ok_rows(df: pd.DataFrame) -> pd.DataFrame:
    ok = df[df["status"] == "ok"].copy()
    for c in ("fit_time", "loss", "n", "k", "silhouette", "medoid_silhouette", "extra_rss_mb",
              "peak_rss_mb", "diss_time"):
        ok[c] = pd.to_numeric(ok[c], errors="coerce")
    ok["ns_n2"] = ok["fit_time"] / ok["n"].astype(float) ** 2 * 1e9
    return ok


def _cells(df: pd.DataFrame):
    return df.groupby(CELL, sort=True, dropna=False)


def _cell_label(key) -> str:
    dataset, n, k, dtype, metric = key
    return f"{dataset}, n = {int(n):,}, k = {int(k)}, {metric}, {dtype}"


def _incomplete(df_all: pd.DataFrame, key, entry: str) -> tuple[int, int, str]:
    """(ok runs, planned runs, reason of the others) of one entry in one cell."""
    m = np.ones(len(df_all), dtype=bool)
    for c, v in zip(CELL, key, strict=True):
        m &= (df_all[c] == v).to_numpy()
    rows = df_all[m & (df_all["entry"] == entry).to_numpy()]
    n_ok = int((rows["status"] == "ok").sum())
    reasons = sorted({f"{s}: {e}" for s, e in zip(rows["status"], rows["error"].fillna(""), strict=True)
                      if s != "ok"})
    return n_ok, len(rows), "; ".join(r.strip().splitlines()[0][:160] for r in reasons)


@per_machine
def joss_tables(df_all: pd.DataFrame, caption: str) -> list[Table]:
    """The JOSS paper's Table 1 layout, one table per (data set, k) at its largest n, k-medoids family.

    ns per N^2 is the mean fit time over restarts divided by n^2; average loss the mean
    loss over restarts (Schubert & Lenssen 2022, "Fast k-medoids clustering in Rust and
    Python", JOSS 7(75):4183). Implementations with fewer finished restarts than
    planned are marked † with the reason; those with none are listed under the table.
    """
    ok = ok_rows(df_all)
    ok = ok[ok["family"].isin(TD_FAMILIES)]
    tables = []
    normalised = df_all.copy()
    for c in ("n", "k"):
        normalised[c] = pd.to_numeric(normalised[c], errors="coerce")
    largest = ok.groupby(["dataset", "k", "dtype", "metric"])["n"].transform("max")
    for key, cell in _cells(ok[ok["n"] == largest]):
        agg = cell.groupby("entry").agg(algorithm=("algorithm", "first"), implementation=("implementation", "first"),
                                        language=("language", "first"), ns=("ns_n2", "mean"),
                                        loss=("loss", "mean"), runs=("loss", "size"))
        agg = agg.sort_values("ns")
        rows, notes = [], []
        for entry, r in agg.iterrows():
            n_ok, planned, why = _incomplete(normalised, key, entry)
            mark = ""
            if n_ok < planned:
                mark = "†"
                notes.append(f"† {impl_name(r.implementation)} {algo_name(r.algorithm)}: {n_ok} of {planned} "
                             f"restarts ({why})")
            rows.append([impl_name(r.implementation) + mark, algo_name(r.algorithm), r.language,
                         fmt(r.ns, 3), fmt(r.loss, 6)])
        # Implementations measured only at a smaller n of this (data, k): listed, marked ‡.
        smaller = ok[(ok["dataset"] == key[0]) & (ok["k"] == key[2]) & (ok["dtype"] == key[3])
                     & (ok["metric"] == key[4]) & ~ok["entry"].isin(agg.index)]
        for entry, r in smaller.groupby("entry", sort=True):
            n_max = r["n"].max()
            r = r[r["n"] == n_max]
            rows.append([impl_name(r["implementation"].iloc[0]) + "‡", algo_name(r["algorithm"].iloc[0]),
                         r["language"].iloc[0], fmt(r["ns_n2"].mean(), 3), "—"])
            notes.append(f"‡ {entry}: measured at n = {int(n_max):,} only ({len(r)} restart{'s' if len(r) != 1 else ''}); ns per N² "
                         f"from that n, loss not comparable")
        cell_all = normalised
        m = np.ones(len(cell_all), dtype=bool)
        for c, v in zip(CELL, key, strict=True):
            m &= (cell_all[c] == v).to_numpy()
        missing = sorted(set(cell_all.loc[m & cell_all["family"].isin(TD_FAMILIES).to_numpy(), "entry"])
                         - set(agg.index))
        for entry in missing:
            _, planned, why = _incomplete(normalised, key, entry)
            notes.append(f"not in the table: {entry} ({planned} planned; {why})")
        tables.append(Table(
            id=f"joss-{key[0]}-n{int(key[1])}-k{int(key[2])}-{key[3]}-{key[4]}",
            title=f"Implementations on {_cell_label(key)} (JOSS Table 1 layout)",
            columns=["implementation", "algorithm", "language", "ns per N²", "average loss"],
            rows=rows, notes=notes, caption=caption))
    return tables


@per_machine
def runtime_table(df_all: pd.DataFrame, caption: str, tag: str = "") -> list[Table]:
    """Median fit time and interquartile range over seeds, per implementation, n and k.

    ``tag`` (e.g. a family name) makes the table ids unique within a report.
    """
    ok = ok_rows(df_all)
    tables = []
    prefix = f"{tag}-" if tag else ""
    for (dataset, dtype, metric), grp in ok.groupby(["dataset", "dtype", "metric"], sort=True):
        g = grp.groupby(["entry", "n", "k"], sort=True)
        rows = []
        for (entry, n, k), r in g:
            t = r["fit_time"].to_numpy()
            q1, med, q3 = np.percentile(t, [25, 50, 75])
            a, _, i = entry.partition("/")
            rows.append([impl_name(i), algo_name(a), f"{int(n):,}", str(int(k)), str(len(t)), fmt(med, 3),
                         f"{fmt(q1, 3)} – {fmt(q3, 3)}", fmt(float(np.median(r["ns_n2"])), 3),
                         fmt(float(np.nanmedian(r["extra_rss_mb"])) if r["extra_rss_mb"].notna().any()
                             else None, 3)])
        tables.append(Table(
            id=f"{prefix}runtime-{dataset}-{dtype}-{metric}", title=f"Runtime on {dataset} ({metric}, {dtype})",
            columns=["implementation", "algorithm", "n", "k", "runs", "median s", "IQR s", "ns per N²",
                     "extra MiB"],
            rows=rows, caption=caption,
            notes=["Fit time only (the distance matrix is computed once per data set and n, see its table); "
                   "median and interquartile range over seeds; extra MiB: median growth of the worker's "
                   "resident set during the fit."]))
    return tables


def loss_table(df_all: pd.DataFrame, caption: str, tag: str = "") -> list[Table]:
    """Mean loss relative to the best loss any implementation found in the same cell.

    Losses are compared within a family's objective (the total-deviation families
    share one); ``tag`` makes the table ids unique within a report.
    """
    ok = ok_rows(df_all)
    tables = []
    groups: dict[str, tuple[str, ...]] = {"total deviation": TD_FAMILIES}
    for f in FAMILIES.values():
        if not f.total_deviation:
            groups[f.title] = (f.name,)
    prefix = f"{tag}-" if tag else ""
    for fam_name, fams in groups.items():
        sub = ok[ok["family"].isin(fams)]
        if sub.empty:
            continue
        rows = []
        for key, cell in _cells(sub):
            best = cell["loss"].min()
            for entry, r in cell.groupby("entry", sort=True):
                rel = r["loss"] / best - 1.0
                a, _, i = entry.partition("/")
                hit = np.isclose(r["loss"], best, rtol=1e-9, atol=0).mean()
                sil = r["silhouette"].mean() if r["silhouette"].notna().any() else None
                msil = r["medoid_silhouette"].mean() if r["medoid_silhouette"].notna().any() else None
                rows.append([impl_name(i), algo_name(a), key[0], f"{int(key[1]):,}", str(int(key[2])),
                             str(len(r)), fmt(r["loss"].mean(), 6), f"{100 * rel.mean():.3f}%",
                             f"{100 * rel.max():.3f}%", f"{100 * hit:.0f}%", fmt(sil, 4), fmt(msil, 4)])
        tables.append(Table(
            id=prefix + "loss-" + "".join(c if c.isalnum() else "-" for c in fam_name.lower()),
            title=f"Loss relative to the best found per cell ({fam_name} objective)",
            columns=["implementation", "algorithm", "data", "n", "k", "runs", "mean loss", "mean rel.",
                     "worst rel.", "best found", "silhouette", "medoid sil."],
            rows=rows, caption=caption,
            notes=["rel. = loss / (lowest loss of any run in the cell) − 1; best found: share of runs that "
                   "reached that lowest loss (relative tolerance 1e-9)."]))
    return tables


def pam_baseline(ok: pd.DataFrame) -> str | None:
    """The PAM entry speed-ups are measured against: the reference if it ran, else any PAM."""
    pams = sorted(set(ok.loc[ok["algorithm"] == "pam", "entry"]))
    if not pams:
        return None
    for pref in ("pam/reference", "pam/kmedoids", "pam/sklearn_extra"):
        if pref in pams:
            return pref
    return pams[0]


def fit_slope(n: np.ndarray, t: np.ndarray) -> tuple[float, float] | None:
    """Least-squares (slope, intercept) of log t against log n; None with fewer than 2 sizes."""
    n, t = np.asarray(n, float), np.asarray(t, float)
    keep = (n > 0) & (t > 0)
    if len(np.unique(n[keep])) < 2:
        return None
    b, a = np.polyfit(np.log(n[keep]), np.log(t[keep]), 1)
    return float(b), float(a)


def pam_times(ok: pd.DataFrame, base: str, dataset: str, k: int, n: int, dtype: str, metric: str
              ) -> tuple[float | None, str]:
    """Median PAM time at (dataset, n, k): measured, or extrapolated (and labelled so) from smaller n."""
    p = ok[(ok["entry"] == base) & (ok["dataset"] == dataset) & (ok["k"] == k) & (ok["dtype"] == dtype)
           & (ok["metric"] == metric)]
    at = p[p["n"] == n]
    if len(at):
        return float(at["fit_time"].median()), "measured"
    med = p.groupby("n")["fit_time"].median()
    med = med[med.index < n]
    fit = fit_slope(med.index.to_numpy(), med.to_numpy())
    if fit is None:
        return None, "not measured"
    b, a = fit
    return float(math.exp(a + b * math.log(n))), (
        f"extrapolated from n = {', '.join(f'{int(x):,}' for x in med.index)} with fitted slope {b:.2f}")


@per_machine
def speedup_table(df_all: pd.DataFrame, caption: str) -> list[Table]:
    """Speed-up of each implementation over PAM (median times), as a function of k."""
    ok = ok_rows(df_all)
    base = pam_baseline(ok)
    if base is None:
        return []
    tables = []
    for (dataset, n, dtype, metric), grp in ok[ok["family"].isin(TD_FAMILIES)].groupby(
            ["dataset", "n", "dtype", "metric"], sort=True):
        ks = sorted(int(k) for k in grp["k"].unique())
        notes, ref = [], {}
        for k in ks:
            t, how = pam_times(ok, base, dataset, k, n, dtype, metric)
            ref[k] = t
            if how != "measured" and t is not None:
                notes.append(f"* k = {k}: {base} time {fmt(t, 3)} s {how} (not measured at this n).")
            elif t is None:
                notes.append(f"k = {k}: {base} did not finish at this n and cannot be extrapolated.")
        if all(v is None for v in ref.values()):
            continue
        rows = []
        for entry, r in grp.groupby("entry", sort=True):
            a, _, i = entry.partition("/")
            cells = []
            for k in ks:
                med = r.loc[r["k"] == k, "fit_time"].median()
                if ref[k] is None or not med == med:
                    cells.append("—")
                else:
                    star = "*" if not (ok[(ok["entry"] == base) & (ok["dataset"] == dataset) & (ok["n"] == n)
                                          & (ok["k"] == k)].shape[0]) else ""
                    cells.append(f"{ref[k] / med:,.1f}×{star}")
            rows.append([impl_name(i), algo_name(a), *cells])
        tables.append(Table(
            id=f"speedup-{dataset}-n{int(n)}-{dtype}-{metric}",
            title=f"Speed-up over {base} on {dataset}, n = {int(n):,} ({metric}, {dtype})",
            columns=["implementation", "algorithm", *[f"k = {k}" for k in ks]], rows=rows,
            notes=[f"Median {base} fit time divided by the median fit time of the implementation."] + notes,
            caption=caption))
    return tables


@per_machine
def diss_table(df_all: pd.DataFrame, caption: str) -> list[Table]:
    d = df_all[df_all["diss_time"].notna() & (df_all["diss_time"].astype(str) != "")].copy()
    if d.empty:
        return []
    d["diss_time"] = pd.to_numeric(d["diss_time"], errors="coerce")
    rows = []
    for (dataset, n, dtype, metric), g in d.groupby(["dataset", "n", "dtype", "metric"], sort=True):
        cached = g["diss_cached"].astype(str).str.lower().eq("true")
        computed = g.loc[~cached, "diss_time"]
        loaded = g.loc[cached, "diss_time"]
        rows.append([dataset, f"{int(n):,}", dtype, metric,
                     fmt(computed.median(), 3) if len(computed) else "—",
                     fmt(loaded.median(), 3) if len(loaded) else "—"])
    return [Table(id="distance-matrices", title="Distance matrices",
                  columns=["data", "n", "dtype", "metric", "computed s", "from cache s"], rows=rows,
                  notes=["Computed: BLAS-blocked computation (bench_core.dissimilarity); from cache: opening the "
                         "cached .npy as a memory map. Not included in the fit times."],
                  caption=caption)]


def status_table(df_all: pd.DataFrame, caption: str) -> list[Table]:
    """Runs that did not finish: timeouts, errors, skipped restarts, unavailable libraries."""
    bad = df_all[df_all["status"] != "ok"]
    if bad.empty:
        return []
    rows = []
    for (entry, dataset, n, k, status), g in bad.groupby(["entry", "dataset", "n", "k", "status"], sort=True,
                                                         dropna=False):
        why = sorted({str(e).strip().splitlines()[0][:200] for e in g["error"].fillna("")})
        n_txt = "all" if n != n else f"{int(float(n)):,}"
        rows.append([entry, dataset, n_txt, str(int(k)), status, str(len(g)), "; ".join(why)])
    return [Table(id="not-finished", title="Runs that did not finish",
                  columns=["entry", "data", "n", "k", "status", "runs", "reason"], rows=rows,
                  align="lllrlrl", caption=caption)]


def side_by_side_table(df_all: pd.DataFrame, caption: str, ours: str = "reference") -> list[Table]:
    """Our implementation against every peer of the same algorithm, cell by cell, in one run.

    Per (algorithm, data set, n, k, dtype, threads): the median fit time of ``ours``
    and of each peer over the seeds both finished, their ratio (ours / peer: below 1
    is faster), and whether they ended at the same medoids (or the same loss) seed
    by seed. Rows from different machines are never compared (``env_id``).
    """
    ok = ok_rows(df_all)
    if ok.empty:
        return []
    ok["n_threads"] = pd.to_numeric(ok["n_threads"], errors="coerce").fillna(1).astype(int)
    keys = ["algorithm", "dataset", "n", "k", "dtype", "metric", "n_threads", "env_id"]
    rows = []
    for key, cell in ok.groupby(keys, sort=True, dropna=False):
        mine = cell[cell["implementation"] == ours].set_index("seed")
        if mine.empty:
            continue
        for impl, peer in cell[cell["implementation"] != ours].groupby("implementation", sort=True):
            peer = peer.set_index("seed")
            seeds = mine.index.intersection(peer.index)
            if not len(seeds):
                continue
            t_ours = float(np.median(mine.loc[seeds, "fit_time"]))
            t_peer = float(np.median(peer.loc[seeds, "fit_time"]))
            same_med = sum(str(mine.loc[s, "medoids"]) == str(peer.loc[s, "medoids"]) for s in seeds)
            same_loss = sum(bool(np.isclose(mine.loc[s, "loss"], peer.loc[s, "loss"], rtol=1e-12, atol=0))
                            for s in seeds)
            agree = (f"{same_med}/{len(seeds)} same medoids" if mine["medoids"].notna().any()
                     else f"{same_loss}/{len(seeds)} same loss")
            rows.append([algo_name(key[0]), impl_name(impl), key[1], f"{int(key[2]):,}", str(int(key[3])),
                         key[4], str(key[6]), str(len(seeds)), fmt(t_ours, 3), fmt(t_peer, 3),
                         _ratio(t_ours, t_peer), agree])
    if not rows:
        return []
    return [Table(
        id=f"side-by-side-{ours}", title=f"{impl_name(ours)} against each peer, side by side",
        columns=["algorithm", "peer", "data", "n", "k", "dtype", "threads", "runs", f"{impl_name(ours)} s",
                 "peer s", "ratio", "agreement"],
        rows=rows, caption=caption,
        notes=["Median fit time over the seeds both finished, from the same starts, in one run on one "
               "machine; ratio = ours / peer (below 1: ours is faster). Fit time is the implementation's own "
               "call (the library's public function for a peer)."])]


# ------------------------------------------------------------ JOSS paper comparison

#: Schubert, E. & Lenssen, L. (2022). "Fast k-medoids Clustering in Rust and Python".
#: Journal of Open Source Software 7(75), 4183, doi:10.21105/joss.04183, Table 1: the first
#: 10,000 MNIST *training* images, k = 10, 25 restarts, AMD EPYC 7302.
#: Rows: (implementation, algorithm, ns per N², average loss, our registry entry or None).
JOSS_PAPER_TABLE1: tuple[tuple[str, str, float, float, str | None], ...] = (
    ("kmedoids (Rust)", "FasterPAM", 5.53, 18_755_648, "fasterpam/kmedoids"),
    ("ELKI (Java)", "FasterPAM", 17.81, 18_744_453, None),  # not in ELKI 0.7.1 (Debian 12)
    ("kmedoids (Rust)", "Alternating", 8.91, 19_238_742, "alternating/kmedoids"),
    ("ELKI (Java)", "Alternating", 12.80, 19_238_868, "alternating/elki"),
    ("scikit-learn-extra", "Alternating", 13.44, 19_238_742, "alternating/sklearn_extra"),
    ("biopython", "Alternating", 13.68, 19_702_804, "alternating/biopython"),
    ("kmedoids (Rust)", "PAM", 212.34, 18_780_639, "pam/kmedoids"),
    ("ELKI (Java)", "PAM", 787.55, 18_764_896, "pam/elki"),
    ("scikit-learn-extra", "PAM", 1_506.52, 18_755_237, "pam/sklearn_extra"),
    ("PyClustering", "PAM", 76_957.64, 18_753_892, "pam/pyclustering"),
)
JOSS_BASELINE = "fasterpam/kmedoids"


def _ratio(x: float | None, base: float | None) -> str:
    if x is None or base is None or not (math.isfinite(x) and math.isfinite(base)) or base <= 0:
        return "—"
    return f"{x / base:,.3g}×" if x / base < 1000 else f"{x / base:,.0f}×"


def json_cell(cell) -> dict:
    """A JSON-object column of a row (``extras``, ``dataset_params``) as a dict: JSON strings in
    results files, dicts in memory; empty where absent or unreadable."""
    import json

    if isinstance(cell, str) and cell.startswith("{"):
        try:
            cell = json.loads(cell)
        except ValueError:
            return {}
    return cell if isinstance(cell, dict) else {}


def _extra_column(df: pd.DataFrame, key: str) -> pd.Series:
    """``extras[key]`` of each row as a float (NaN where absent)."""
    def get(x):
        v = json_cell(x).get(key)
        return float(v) if isinstance(v, (int, float)) else np.nan
    if "extras" not in df:
        return pd.Series(np.nan, index=df.index)
    return df["extras"].map(get)


def _fit_wall(r) -> str:
    wall = r.get("wall")
    out = fmt(r["fit"], 3)
    return out + (f" ({fmt(wall, 3)})" if wall is not None and math.isfinite(wall) else "")


@per_machine
def joss_paper_tables(df_all: pd.DataFrame, caption: str) -> list[Table]:
    """The JOSS paper's Table 1 beside ours, as ratios to kmedoids FasterPAM of the same run.

    Absolute ns per N² from different machines are not comparable; ratios to the
    same baseline measured in the same run are. One table per MNIST cell (k = 10,
    largest n); the paper's rows first (ours where the implementation ran), then
    every other implementation of the k-medoids objective that ran in the cell.
    """
    ok = ok_rows(df_all)
    ok = ok[ok["family"].isin(TD_FAMILIES) & (ok["dataset"] == "mnist")]
    if ok.empty:
        return []
    tables = []
    largest = ok.groupby(["k", "dtype", "metric"])["n"].transform("max")
    base_ns = JOSS_PAPER_TABLE1[0][2]
    base_loss = JOSS_PAPER_TABLE1[0][3]
    for key, cell in _cells(ok[ok["n"] == largest]):
        agg = cell.groupby("entry").agg(ns=("ns_n2", "mean"), loss=("loss", "mean"), runs=("loss", "size"),
                                        fit=("fit_time", "mean"))
        agg["wall"] = cell.assign(wall=_extra_column(cell, "wall_seconds")).groupby("entry")["wall"].mean()
        ours_base = agg["ns"].get(JOSS_BASELINE)
        ours_loss = agg["loss"].get(JOSS_BASELINE)
        rows, seen = [], set()
        for impl, algo, ns, loss, entry in JOSS_PAPER_TABLE1:
            have = entry is not None and entry in agg.index
            seen.add(entry)
            r = agg.loc[entry] if have else None
            rows.append([impl, algo, fmt(ns, 4), _ratio(ns, base_ns), f"{loss / base_loss:.4f}",
                         entry or "— (not available here)",
                         str(int(r["runs"])) if have else "0",
                         fmt(r["ns"], 3) if have else "—", _ratio(r["ns"], ours_base) if have else "—",
                         f"{r['loss'] / ours_loss:.4f}" if have and ours_loss else "—",
                         _fit_wall(r) if have else "—"])
        for entry, r in agg.sort_values("ns").iterrows():
            if entry in seen:
                continue
            a, _, i = entry.partition("/")
            rows.append([impl_name(i), algo_name(a), "—", "—", "—", entry, str(int(r["runs"])), fmt(r["ns"], 3),
                         _ratio(r["ns"], ours_base), f"{r['loss'] / ours_loss:.4f}" if ours_loss else "—",
                         _fit_wall(r)])
        notes = [
            "Paper: Schubert & Lenssen (2022), JOSS 7(75):4183, Table 1: the first 10,000 MNIST *training* "
            "images, k = 10, 25 restarts, AMD EPYC 7302. Ours: the bundled MNIST *test* images "
            f"(n = {int(key[1]):,}), so losses differ in absolute terms; compare the ratios.",
            "time ratio = ns per N² / ns per N² of kmedoids FasterPAM (paper: 5.53; ours: measured in the same "
            "run); loss ratio = average loss / kmedoids FasterPAM's average loss.",
            "ELKI here is Debian's 0.7.1 (the paper used a later ELKI with FasterPAM): it computes the Euclidean "
            "distances itself into its in-memory matrix before the timed algorithm; its time is ELKI's own "
            "(-time, milliseconds, a fresh JVM per run: JIT compilation included). R cluster's time is measured "
            "inside R around pam()/clara(). Last column: mean fit time, and in parentheses the mean wall time of "
            "the R or Java child process (start-up, data transfer, parsing, ELKI's distance matrix).",
        ]
        if ours_base is None:
            notes.append("kmedoids FasterPAM did not run in this cell: no ratios for our measurements.")
        tables.append(Table(
            id=f"joss-paper-{key[0]}-n{int(key[1])}-k{int(key[2])}-{key[3]}-{key[4]}",
            title=f"JOSS Table 1 beside ours ({_cell_label(key)}), ratios to kmedoids FasterPAM",
            columns=["implementation", "algorithm", "paper ns per N²", "paper time ratio", "paper loss ratio",
                     "our entry", "runs", "our ns per N²", "our time ratio", "our loss ratio",
                     "our s (child wall s)"],
            rows=rows, notes=notes, caption=caption))
    return tables
