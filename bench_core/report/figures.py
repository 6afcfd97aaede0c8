"""Report figures (matplotlib, Agg): PNG and SVG, each with the provenance printed under the axes."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .tables import TD_FAMILIES, algo_name, fit_slope, impl_name, ok_rows, pam_baseline, pam_times

MARKERS = "os^Dv<>pP*Xh"


@dataclass
class Figure:
    id: str
    title: str
    png: Path
    svg: Path
    caption: str


def _label(entry: str) -> str:
    a, _, i = entry.partition("/")
    return f"{algo_name(a)} — {impl_name(i)}"


class _Style:
    """One colour and marker per entry, the same in every figure of a report."""

    def __init__(self, entries):
        import matplotlib

        cmap = matplotlib.colormaps["tab10" if len(entries) <= 10 else "tab20"]
        self.map = {e: (cmap(j % cmap.N), MARKERS[j % len(MARKERS)]) for j, e in enumerate(sorted(entries))}

    def __call__(self, entry):
        return self.map[entry]


def _save(fig, out: Path, fid: str, title: str, provenance: str) -> Figure:
    fig.suptitle(title, fontsize=10)
    wrapped = "\n".join(textwrap.wrap(provenance, 200))
    lines = wrapped.count("\n") + 1
    fig.text(0.01, 0.01, wrapped, fontsize=5.5, va="bottom", ha="left", color="0.3")
    fig.tight_layout(rect=(0, 0.02 + 0.022 * lines, 1, 0.97))
    out.mkdir(parents=True, exist_ok=True)
    png, svg = out / f"{fid}.png", out / f"{fid}.svg"
    fig.savefig(png, dpi=120)
    fig.savefig(svg)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return Figure(fid, title, png, svg, provenance)


def _new():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"  # text stays text in the SVG (searchable, smaller)

    fig, ax = plt.subplots(figsize=(10, 4.8))
    ax.grid(True, which="both", alpha=0.3)
    return fig, ax


def _legend(ax):
    h, labels = ax.get_legend_handles_labels()
    if h:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, framealpha=0.8)


def make_figures(df_all: pd.DataFrame, out: Path, provenance: str) -> list[Figure]:
    """All figures the data allows; groups with a single n (or k) get no curve over n (or k)."""
    ok = ok_rows(df_all)
    if ok.empty:
        return []
    style = _Style(ok["entry"].unique())
    figs: list[Figure] = []
    med = (ok.groupby(["dataset", "dtype", "metric", "k", "n", "entry"], sort=True)
           .agg(t=("fit_time", "median"), ns=("ns_n2", "median"), q1=("fit_time", lambda s: s.quantile(0.25)),
                q3=("fit_time", lambda s: s.quantile(0.75)))
           .reset_index())

    # runtime vs n (log-log, fitted slope) and ns per N^2 vs n
    for (dataset, dtype, metric, k), g in med.groupby(["dataset", "dtype", "metric", "k"], sort=True):
        if g["n"].nunique() < 2:
            continue
        tag = f"{dataset}-k{int(k)}-{dtype}-{metric}"
        fig, ax = _new()
        fig2, ax2 = _new()
        for entry, e in g.groupby("entry", sort=True):
            c, m = style(entry)
            e = e.sort_values("n")
            fit = fit_slope(e["n"].to_numpy(), e["t"].to_numpy())
            lab = _label(entry) + (f" (slope {fit[0]:.2f})" if fit else "")
            ax.errorbar(e["n"], e["t"], yerr=[e["t"] - e["q1"], e["q3"] - e["t"]], color=c, marker=m,
                        ls="none", ms=4, capsize=2, label=lab)
            if fit:
                xs = np.geomspace(e["n"].min(), e["n"].max(), 20)
                ax.plot(xs, np.exp(fit[1] + fit[0] * np.log(xs)), color=c, lw=1, alpha=0.8)
            ax2.plot(e["n"], e["ns"], color=c, marker=m, ms=4, label=_label(entry))
        ax.set(xscale="log", yscale="log", xlabel="n", ylabel="fit time [s] (median, IQR)")
        _legend(ax)
        figs.append(_save(fig, out, f"runtime-vs-n-{tag}",
                          f"Runtime vs n ({dataset}, k = {int(k)}); lines: least-squares fit in log-log",
                          provenance))
        ax2.set(xscale="log", xlabel="n", ylabel="ns per N² (median)")
        spread = g["ns"].max() / max(g["ns"].min(), 1e-300)
        if spread > 20:  # implementations orders of magnitude apart
            ax2.set_yscale("log")
        else:
            ax2.set_ylim(bottom=0)
        _legend(ax2)
        figs.append(_save(fig2, out, f"ns-per-n2-vs-n-{tag}", f"ns per N² vs n ({dataset}, k = {int(k)})",
                          provenance))

    # runtime vs k
    for (dataset, dtype, metric, n), g in med.groupby(["dataset", "dtype", "metric", "n"], sort=True):
        if g["k"].nunique() < 2:
            continue
        fig, ax = _new()
        for entry, e in g.groupby("entry", sort=True):
            c, m = style(entry)
            e = e.sort_values("k")
            ax.plot(e["k"], e["t"], color=c, marker=m, ms=4, label=_label(entry))
        ax.set(xscale="log", yscale="log", xlabel="k", ylabel="fit time [s] (median)")
        _legend(ax)
        figs.append(_save(fig, out, f"runtime-vs-k-{dataset}-n{int(n)}-{dtype}-{metric}",
                          f"Runtime vs k ({dataset}, n = {int(n):,})", provenance))

    # speed-up over PAM vs k
    base = pam_baseline(ok)
    td = med[med["entry"].isin(ok.loc[ok["family"].isin(TD_FAMILIES), "entry"].unique())]
    if base is not None:
        for (dataset, dtype, metric, n), g in td.groupby(["dataset", "dtype", "metric", "n"], sort=True):
            if g["k"].nunique() < 2:
                continue
            ref = {int(k): pam_times(ok, base, dataset, int(k), n, dtype, metric) for k in g["k"].unique()}
            if sum(v[0] is not None for v in ref.values()) < 2:
                continue
            fig, ax = _new()
            extrapolated = False
            for entry, e in g.groupby("entry", sort=True):
                c, m = style(entry)
                e = e.sort_values("k")
                sp = [(k, ref[int(k)][0] / t) for k, t in zip(e["k"], e["t"], strict=True)
                      if ref[int(k)][0] is not None]
                if not sp:
                    continue
                ax.plot(*zip(*sp, strict=True), color=c, marker=m, ms=4, label=_label(entry))
                extrapolated |= any(ref[int(k)][1] != "measured" for k, _ in sp)
            ax.set(xscale="log", yscale="log", xlabel="k", ylabel=f"speed-up over {base} (median times)")
            _legend(ax)
            title = f"Speed-up over {base} vs k ({dataset}, n = {int(n):,})"
            if extrapolated:
                title += "; PAM time partly EXTRAPOLATED"
            figs.append(_save(fig, out, f"speedup-vs-k-{dataset}-n{int(n)}-{dtype}-{metric}", title, provenance))

    # loss vs runtime: every run, per (dataset, k) at the largest n
    sub = ok[ok["family"].isin(TD_FAMILIES)]
    for (dataset, dtype, metric, k), g in sub.groupby(["dataset", "dtype", "metric", "k"], sort=True):
        n = g["n"].max()
        g = g[g["n"] == n]
        best = g["loss"].min()
        fig, ax = _new()
        for entry, e in g.groupby("entry", sort=True):
            c, m = style(entry)
            ax.scatter(e["fit_time"], 100 * (e["loss"] / best - 1), color=c, marker=m, s=18, alpha=0.75,
                       label=_label(entry))
        ax.set(xscale="log", xlabel="fit time [s]", ylabel="loss above the best run [%]")
        _legend(ax)
        figs.append(_save(fig, out, f"loss-vs-runtime-{dataset}-n{int(n)}-k{int(k)}-{dtype}-{metric}",
                          f"Loss vs runtime, every run ({dataset}, n = {int(n):,}, k = {int(k)})", provenance))
    return figs
