"""Report figures (matplotlib, Agg): PNG and SVG, each with the provenance printed under the axes.

Rules every figure follows (checked by :func:`check_figure_rules`, which the tests run):

- a curve "vs n" (or "vs k") is drawn only from at least :data:`MIN_X_VALUES` distinct
  values of n (k); with fewer, the numbers stay in the runtime table of the report;
- one colour per algorithm and one marker per library (variants of a library, such as
  ``kmedoids-parallel``, get hollow markers and dashed lines), the same in every figure;
- a short legend in groups (algorithms by colour, libraries by marker) instead of one
  entry per implementation.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .tables import TD_FAMILIES, algo_name, fit_slope, impl_name, ok_rows, pam_baseline, pam_times

MARKERS = "os^Dv<>pP*Xh"
#: The fewest distinct x values (n or k) a "vs n" / "vs k" curve is drawn from.
MIN_X_VALUES = 3


@dataclass
class Figure:
    id: str
    title: str
    png: Path
    svg: Path
    caption: str
    #: What the x axis sweeps (``"n"``, ``"k"``) and how many distinct values it shows.
    x: str | None = None
    x_values: int | None = None


class FigureRuleError(AssertionError):
    """A figure breaks one of the rules of this module."""


def check_figure_rules(figures: list[Figure]) -> None:
    """Raise :class:`FigureRuleError` for a curve over n or k drawn from fewer than 3 values."""
    bad = [f"{f.id} ({f.x_values} distinct {f.x})" for f in figures
           if f.x in ("n", "k") and (f.x_values is None or f.x_values < MIN_X_VALUES)]
    if bad:
        raise FigureRuleError(f"curves over n or k need at least {MIN_X_VALUES} distinct values "
                              f"(show a table instead): {', '.join(bad)}")


def safe_id(text: str) -> str:
    """``text`` usable as a file name and HTML id (``clustbench:fcps/hepta`` -> ``clustbench-fcps-hepta``)."""
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in text)


def _label(entry: str) -> str:
    a, _, i = entry.partition("/")
    return f"{algo_name(a)} — {impl_name(i)}"


def _library(impl: str) -> tuple[str, str]:
    base, _, variant = impl.partition("-")
    return base, variant


class _Style:
    """Colour per algorithm, marker per library, hollow/dashed for a library's variants."""

    def __init__(self, entries):
        import matplotlib

        entries = sorted(set(entries))
        algos = sorted({e.partition("/")[0] for e in entries})
        libs = sorted({_library(e.partition("/")[2])[0] for e in entries})
        # distinct hues first (tab10), then Dark2 and Set1: no pale pairs as in tab20
        palette = [*matplotlib.colormaps["tab10"].colors, *matplotlib.colormaps["Dark2"].colors,
                   *matplotlib.colormaps["Set1"].colors]
        self.colour = {a: palette[j % len(palette)] for j, a in enumerate(algos)}
        self.marker = {b: MARKERS[j % len(MARKERS)] for j, b in enumerate(libs)}
        self.map = {e: (self.colour[e.partition("/")[0]], self.marker[_library(e.partition("/")[2])[0]])
                    for e in entries}

    def __call__(self, entry):
        return self.map[entry]

    def variant(self, entry) -> bool:
        return bool(_library(entry.partition("/")[2])[1])

    def kw(self, entry, *, line: bool = False) -> dict:
        """Plot keywords of an entry: colour, marker, and hollow marker / dashed line for variants."""
        c, m = self(entry)
        out = {"color": c, "marker": m}
        if self.variant(entry):
            out["markerfacecolor"] = "none"
            if line:
                out["ls"] = "--"
        return out

    def handles(self, entries):
        """Grouped legend handles: algorithms (colour), libraries (marker), variants (hollow)."""
        from matplotlib.lines import Line2D

        entries = sorted(set(entries))
        algos = sorted({e.partition("/")[0] for e in entries})
        libs = sorted({_library(e.partition("/")[2])[0] for e in entries})
        hs, labels = [], []

        def head(text):
            hs.append(Line2D([], [], ls="none"))
            labels.append(text)

        head("algorithm")
        for a in algos:
            hs.append(Line2D([], [], color=self.colour[a], lw=3))
            labels.append(algo_name(a))
        head("library")
        for b in libs:
            hs.append(Line2D([], [], color="0.35", marker=self.marker[b], ls="none", ms=5))
            labels.append(impl_name(b))
        if any(self.variant(e) for e in entries):
            head("variant")
            hs.append(Line2D([], [], color="0.35", marker="o", markerfacecolor="none", ls="--", ms=5))
            labels.append("hollow/dashed: " + ", ".join(sorted({_library(e.partition("/")[2])[1] for e in entries
                                                                 if self.variant(e)})))
        return hs, labels
def _save(fig, out: Path, fid: str, title: str, provenance: str, *, x: str | None = None,
          x_values: int | None = None) -> Figure:
    fid = safe_id(fid)
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
    return Figure(fid, title, png, svg, provenance, x=x, x_values=x_values)


def _new():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"  # text stays text in the SVG (searchable, smaller)

    fig, ax = plt.subplots(figsize=(10, 4.8))
    ax.grid(True, which="both", alpha=0.3)
    return fig, ax


def _legend(ax, style: _Style | None = None, entries=None):
    """A legend right of the axes; grouped by algorithm and library when ``style`` is given."""
    h, labels = ax.get_legend_handles_labels()
    if style is not None:
        entries = entries if entries is not None else [lab for lab in labels if lab in style.map]
        if not entries:
            return
        h, labels = style.handles(entries)
        leg = ax.legend(h, labels, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0,
                        framealpha=0.8, handlelength=1.6)
        for text, handle in zip(leg.get_texts(), h, strict=True):
            if handle.get_linestyle() in ("None", "none", "") and handle.get_marker() in ("None", "none", "", None):
                text.set_fontweight("bold")
        return
    if h:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, framealpha=0.8)


def make_figures(df_all: pd.DataFrame, out: Path, provenance: str, *, best_known=None) -> list[Figure]:
    """All figures the data allows; groups with fewer than 3 n (or k) get no curve over n (or k).

    With rows from several data sets (a battery) the statistics figures of
    :func:`stats_figures` are added. ``best_known``: a :class:`~bench_core.best_known.BestKnown`
    table (default: ``results/best_known.json``), or False for gaps to the best run here.
    """
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
        if g["n"].nunique() < MIN_X_VALUES:
            continue  # the runtime table shows these numbers
        nx = int(g["n"].nunique())
        tag = f"{dataset}-k{int(k)}-{dtype}-{metric}"
        fig, ax = _new()
        fig2, ax2 = _new()
        for entry, e in g.groupby("entry", sort=True):
            kw = style.kw(entry)
            e = e.sort_values("n")
            fit = fit_slope(e["n"].to_numpy(), e["t"].to_numpy())
            ax.errorbar(e["n"], e["t"], yerr=[e["t"] - e["q1"], e["q3"] - e["t"]], ls="none", ms=4, capsize=2,
                        label=entry, **kw)
            if fit:
                xs = np.geomspace(e["n"].min(), e["n"].max(), 20)
                ax.plot(xs, np.exp(fit[1] + fit[0] * np.log(xs)), color=kw["color"], lw=1, alpha=0.8,
                        ls="--" if style.variant(entry) else "-")
                ax.annotate(f"{fit[0]:.2f}", (xs[-1], np.exp(fit[1] + fit[0] * np.log(xs[-1]))), fontsize=6,
                            color=kw["color"], xytext=(3, 0), textcoords="offset points", va="center")
            ax2.plot(e["n"], e["ns"], ms=4, label=entry, **style.kw(entry, line=True))
        ax.set(xscale="log", yscale="log", xlabel="n", ylabel="fit time [s] (median, IQR)")
        _legend(ax, style)
        figs.append(_save(fig, out, f"runtime-vs-n-{tag}",
                          f"Runtime vs n ({dataset}, k = {int(k)}); lines: least-squares fit in log-log, "
                          "numbers: fitted slope", provenance, x="n", x_values=nx))
        ax2.set(xscale="log", xlabel="n", ylabel="ns per N² (median)")
        spread = g["ns"].max() / max(g["ns"].min(), 1e-300)
        if spread > 20:  # implementations orders of magnitude apart
            ax2.set_yscale("log")
        else:
            ax2.set_ylim(bottom=0)
        _legend(ax2, style)
        figs.append(_save(fig2, out, f"ns-per-n2-vs-n-{tag}", f"ns per N² vs n ({dataset}, k = {int(k)})",
                          provenance, x="n", x_values=nx))

    # runtime vs k
    for (dataset, dtype, metric, n), g in med.groupby(["dataset", "dtype", "metric", "n"], sort=True):
        if g["k"].nunique() < MIN_X_VALUES:
            continue
        fig, ax = _new()
        for entry, e in g.groupby("entry", sort=True):
            e = e.sort_values("k")
            ax.plot(e["k"], e["t"], ms=4, label=entry, **style.kw(entry, line=True))
        ax.set(xscale="log", yscale="log", xlabel="k", ylabel="fit time [s] (median)")
        _legend(ax, style)
        figs.append(_save(fig, out, f"runtime-vs-k-{dataset}-n{int(n)}-{dtype}-{metric}",
                          f"Runtime vs k ({dataset}, n = {int(n):,})", provenance, x="k",
                          x_values=int(g["k"].nunique())))

    # speed-up over PAM vs k
    base = pam_baseline(ok)
    td = med[med["entry"].isin(ok.loc[ok["family"].isin(TD_FAMILIES), "entry"].unique())]
    if base is not None:
        for (dataset, dtype, metric, n), g in td.groupby(["dataset", "dtype", "metric", "n"], sort=True):
            if g["k"].nunique() < MIN_X_VALUES:
                continue
            ref = {int(k): pam_times(ok, base, dataset, int(k), n, dtype, metric) for k in g["k"].unique()}
            if sum(v[0] is not None for v in ref.values()) < MIN_X_VALUES:
                continue
            fig, ax = _new()
            extrapolated = False
            for entry, e in g.groupby("entry", sort=True):
                e = e.sort_values("k")
                sp = [(k, ref[int(k)][0] / t) for k, t in zip(e["k"], e["t"], strict=True)
                      if ref[int(k)][0] is not None]
                if not sp:
                    continue
                if len(sp) < MIN_X_VALUES:
                    continue
                ax.plot(*zip(*sp, strict=True), ms=4, label=entry, **style.kw(entry, line=True))
                extrapolated |= any(ref[int(k)][1] != "measured" for k, _ in sp)
            ax.set(xscale="log", yscale="log", xlabel="k", ylabel=f"speed-up over {base} (median times)")
            _legend(ax, style)
            title = f"Speed-up over {base} vs k ({dataset}, n = {int(n):,})"
            if extrapolated:
                title += "; PAM time partly EXTRAPOLATED"
            figs.append(_save(fig, out, f"speedup-vs-k-{dataset}-n{int(n)}-{dtype}-{metric}", title, provenance,
                              x="k", x_values=int(g["k"].nunique())))

    figs += pareto_figures(ok, out, provenance, style, best_known=best_known)
    figs += stats_figures(ok, out, provenance, style, best_known=best_known)
    return figs


def _objective_groups(ok: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Rows split by the objective their loss measures (only losses of one objective compare)."""
    from ..best_known import objective

    obj = [objective(f, a) for f, a in zip(ok["family"], ok["algorithm"], strict=True)]
    ok = ok.assign(objective=obj)
    return [(o, g) for o, g in ok.groupby("objective", sort=True)]


OBJECTIVE_NAMES = {"td": "k-medoids objective (total deviation)", "sse": "k-means objective (sum of squares)",
                   "kmedian": "k-median objective", "1-silhouette": "1 - silhouette",
                   "1-medoid-silhouette": "1 - medoid silhouette"}


def _best_series(ok: pd.DataFrame, best_known):
    from ..best_known import BestKnown, best_by_problem

    if best_known is False:
        return None
    table = best_known if isinstance(best_known, BestKnown) else BestKnown.load()
    return best_by_problem(ok, table) if table.records else None


def pareto_figures(ok: pd.DataFrame, out: Path, provenance: str, style: _Style, *, best_known=None,
                   per_figure: int = 12) -> list[Figure]:
    """Loss gap (to the best known loss, else the best run) vs fit time, every run, one panel per
    problem, with each problem's Pareto front (runs no other run beats in both) as a line."""
    from . import stats

    figs = []
    for obj, g in _objective_groups(ok):
        if g.empty:
            continue
        best = _best_series(g, best_known)
        F = stats.pareto_fronts(g, best)
        problems = list(dict.fromkeys(F["problem"]))
        for c0 in range(0, len(problems), per_figure):
            chunk = problems[c0:c0 + per_figure]
            cols = 1 if len(chunk) == 1 else min(4, len(chunk))
            rows = -(-len(chunk) // cols)
            fig, _ = _new()
            fig.clf()
            fig.set_size_inches(10 if cols == 1 else 12, 4.8 if cols == 1 else 2.4 * rows + 0.8)
            axs = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
            for ax, prob in zip(axs, chunk, strict=False):
                e = F[F["problem"] == prob]
                for entry, r in e.groupby("entry", sort=True):
                    kw = style.kw(entry)
                    ax.scatter(r["fit_time"], 100 * r["gap"], color=kw["color"], marker=kw["marker"], s=14,
                               alpha=0.75, facecolors="none" if style.variant(entry) else kw["color"], label=entry)
                front = e[e["on_front"]].sort_values("fit_time")
                ax.step(front["fit_time"], 100 * front["gap"], where="post", color="0.2", lw=0.8, alpha=0.7)
                ax.set_xscale("log")
                ax.set_title(prob, fontsize=7)
                ax.tick_params(which="both", labelsize=6)
                ax.grid(True, which="both", alpha=0.3)
            for ax in axs[len(chunk):]:
                ax.set_visible(False)
            axs[0].set_ylabel("loss above the reference [%]", fontsize=7)
            axs[min(len(chunk), len(axs)) - 1].set_xlabel("fit time [s]", fontsize=7)
            _legend(axs[cols - 1], style, sorted(F.loc[F["problem"].isin(chunk), "entry"].unique()))
            ref = "the best known loss (results/best_known.json)" if best is not None and len(best) else "the best run"
            part = f" ({c0 // per_figure + 1}/{-(-len(problems) // per_figure)})" if len(problems) > per_figure else ""
            fid = "pareto-" + "".join(ch if ch.isalnum() else "-" for ch in obj) + (f"-{c0 // per_figure + 1}"
                                                                                   if len(problems) > per_figure else "")
            if len(problems) == 1:
                fid += "-" + "".join(ch if ch.isalnum() else "-" for ch in chunk[0]).strip("-")
            figs.append(_save(fig, out, fid, f"Loss gap vs fit time, every run; line: Pareto front; gap to {ref}; "
                              f"{OBJECTIVE_NAMES.get(obj, obj)}{part}", provenance))
    return figs


def stats_figures(ok: pd.DataFrame, out: Path, provenance: str, style: _Style, *, best_known=None,
                  alpha: float = 0.05) -> list[Figure]:
    """Across data sets (at least 2 data sets, 3 problems): critical-difference diagrams of ARI
    (every method) and of the loss (per objective), and performance profiles of the loss."""
    from . import stats

    figs: list[Figure] = []
    if ok["dataset"].nunique() < 2:
        return figs
    targets = []
    if "ari" in ok.columns and pd.to_numeric(ok["ari"], errors="coerce").notna().any():
        targets.append(("ari", "ARI (every method)", ok))
    for obj, g in _objective_groups(ok):
        targets.append(("loss", OBJECTIVE_NAMES.get(obj, obj), g))
    for value, what, g in targets:
        M = stats.score_matrix(g, value)
        if M.shape[0] < 3 or M.shape[1] < 3:
            continue
        ranks = stats.mean_ranks(M)
        P = stats.posthoc(M, "nemenyi")
        cd = stats.nemenyi_cd(M.shape[1], M.shape[0], alpha)
        fr = stats.friedman(M)
        fig, ax = _new()
        fig.set_size_inches(10, 1.6 + 0.22 * len(ranks))
        ax.grid(False)
        stats.cd_diagram(ranks, P, alpha=alpha, cd=cd, ax=ax)
        tag = "".join(ch if ch.isalnum() else "-" for ch in what).strip("-").lower()
        figs.append(_save(fig, out, f"cd-{value}-{tag}",
                          f"Critical differences by {value}: {what}; {M.shape[0]} problems, Friedman p = "
                          f"{fr['pvalue']:.2g}, Nemenyi post hoc", provenance))
    for obj, g in _objective_groups(ok):
        if g["entry"].nunique() < 2:
            continue
        best = _best_series(g, best_known)
        P = stats.performance_profile(g, best)
        if P.empty:
            continue
        fig, ax = _new()
        stats.profile_axes(P, ax, style)
        for line in ax.get_lines():
            ent = line.get_label()
            if ent in style.map and style.variant(ent):
                line.set_linestyle("--")
        _legend(ax, style, list(P.columns))
        n_prob = len(P.attrs["ratios"])
        figs.append(_save(fig, out, "profile-" + "".join(ch if ch.isalnum() else "-" for ch in obj),
                          f"Performance profile (Dolan-Moré) of the median loss relative to the best known, "
                          f"{OBJECTIVE_NAMES.get(obj, obj)}, {n_prob} problems", provenance))
    return figs
