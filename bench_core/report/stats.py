"""Statistics across runs and data sets: ranks, wins, critical differences, profiles, fronts.

Every function takes a pandas DataFrame of results rows (the columns of
:data:`bench_core.results_io.COLUMNS`, plus metric columns such as ``ari``) and
compares *methods* (``entry``, i.e. ``algorithm/implementation``) over *problems*
(a data set at one n, k, metric and dtype: :data:`PROBLEM`). The restarts (seeds) of a
method on a problem are first reduced to one number (median by default).

- :func:`score_matrix`: problems x methods;
- :func:`mean_ranks`: average rank per method, ties sharing the mean rank (Demšar, 2006,
  JMLR 7:1-30);
- :func:`win_tie_loss`: pairwise counts of problems where a method is better, equal, worse;
- :func:`friedman` and :func:`posthoc`: the Friedman test and the Nemenyi (Demšar, 2006)
  or Wilcoxon signed-rank with Holm's correction (Benavoli, Corani & Mangili, 2016,
  JMLR 17:1-10) post hoc tests, drawn by :func:`cd_diagram`;
- :func:`performance_profile`: Dolan & Moré (2002, Math. Program. 91:201-213) profiles of
  the loss relative to the best known loss of each problem;
- :func:`pareto_front`: per problem, the runs not beaten in both loss gap and time (the
  quality/speed fronts of ann-benchmarks, Aumüller et al., 2020, Inf. Syst. 87:101374).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

#: The columns that identify one problem (a block of the Friedman test).
PROBLEM = ("dataset", "n", "k", "metric", "dtype")
#: Metric columns where larger is better (everything else, loss and times, is smaller-better).
HIGHER_IS_BETTER = frozenset({"ari", "ami", "nca", "silhouette", "medoid_silhouette"})


def _problem_cols(df: pd.DataFrame) -> list[str]:
    return [c for c in PROBLEM if c in df.columns]


def ok_runs(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of finished runs (status ``ok``) with a finite loss."""
    if "status" in df.columns:
        df = df[df["status"] == "ok"]
    if "loss" in df.columns:
        df = df[np.isfinite(pd.to_numeric(df["loss"], errors="coerce"))]
    return df


def problem_label(key: Sequence[Any], cols: Sequence[str] = PROBLEM) -> str:
    """``clustbench:fcps/hepta n=212 k=7`` from a problem key (dtype/metric only when not default)."""
    d = dict(zip(cols, key, strict=False))
    out = [str(d.get("dataset", "?"))]
    if "n" in d:
        out.append(f"n={int(d['n'])}")
    if "k" in d:
        out.append(f"k={int(d['k'])}")
    if d.get("metric") not in (None, "euclidean"):
        out.append(str(d["metric"]))
    if d.get("dtype") not in (None, "float64"):
        out.append(str(d["dtype"]))
    return " ".join(out)


def score_matrix(df: pd.DataFrame, value: str = "loss", *, agg: str = "median", method: str = "entry",
                 complete: bool = True) -> pd.DataFrame:
    """Problems (rows, labelled by :func:`problem_label`) x methods (columns) of ``value``.

    Parameters
    ----------
    df : DataFrame
        Results rows; only finished runs (``ok``) count.
    value : str
        The column compared (``loss``, ``fit_time``, ``ari``, ...).
    agg : str
        How the seeds of one cell are reduced (``median``, ``mean``, ``min``, ``max``).
    method : str
        The column naming a method (``entry``; ``algorithm`` pools implementations).
    complete : bool
        Keep only the problems where every method has a value (the Friedman test needs
        complete blocks); the others are listed in ``attrs["dropped"]``.
    """
    ok = ok_runs(df)
    if value not in ok.columns:
        raise ValueError(f"results have no column {value!r}; columns: {', '.join(map(str, df.columns))}")
    ok = ok[np.isfinite(pd.to_numeric(ok[value], errors="coerce"))]
    cols = _problem_cols(ok)
    if ok.empty:
        return pd.DataFrame()
    M = ok.pivot_table(index=cols, columns=method, values=value, aggfunc=agg)
    M.index = [problem_label(k if isinstance(k, tuple) else (k,), cols) for k in M.index]
    M.columns = [str(c) for c in M.columns]
    dropped: list[str] = []
    if complete:
        full = M.notna().all(axis=1)
        dropped = list(M.index[~full])
        M = M[full]
    M.attrs["dropped"] = dropped
    M.attrs["value"] = value
    M.attrs["higher_is_better"] = value in HIGHER_IS_BETTER
    return M


def _better_sign(M: pd.DataFrame, higher_is_better: bool | None) -> float:
    if higher_is_better is None:
        higher_is_better = bool(M.attrs.get("higher_is_better", False))
    return -1.0 if higher_is_better else 1.0


def rank_matrix(M: pd.DataFrame, *, higher_is_better: bool | None = None, rtol: float = 1e-9) -> pd.DataFrame:
    """Ranks of the methods within each problem (1 = best); values within ``rtol`` tie."""
    from scipy.stats import rankdata

    sign = _better_sign(M, higher_is_better)
    out = np.empty(M.shape)
    for i, row in enumerate(M.to_numpy(dtype=float)):
        v = sign * row
        # snap values within rtol of each other to the same number, so they tie
        order = np.argsort(v, kind="stable")
        snapped = v.copy()
        for a, b in zip(order[:-1], order[1:], strict=True):
            if math.isclose(v[b], snapped[a], rel_tol=rtol, abs_tol=0.0) or v[b] == snapped[a]:
                snapped[b] = snapped[a]
        out[i] = rankdata(snapped, method="average", nan_policy="omit")
    return pd.DataFrame(out, index=M.index, columns=M.columns)


def mean_ranks(M: pd.DataFrame, *, higher_is_better: bool | None = None, rtol: float = 1e-9) -> pd.Series:
    """Average rank of each method over the problems, best (lowest) first."""
    if M.empty:
        return pd.Series(dtype=float)
    return rank_matrix(M, higher_is_better=higher_is_better, rtol=rtol).mean(axis=0).sort_values(kind="stable")


def win_tie_loss(M: pd.DataFrame, *, higher_is_better: bool | None = None, rtol: float = 1e-9
                 ) -> dict[str, pd.DataFrame]:
    """Pairwise counts: ``wins[a][b]`` = problems where row method ``a`` beats column method ``b``.

    Returns ``{"win", "tie", "loss"}`` DataFrames (methods x methods); values within
    ``rtol`` (relative) tie. Problems where either value is missing do not count.
    """
    sign = _better_sign(M, higher_is_better)
    methods = list(M.columns)
    V = sign * M.to_numpy(dtype=float)
    out = {w: pd.DataFrame(0, index=methods, columns=methods, dtype=int) for w in ("win", "tie", "loss")}
    for i, a in enumerate(methods):
        for j, b in enumerate(methods):
            if i == j:
                continue
            both = np.isfinite(V[:, i]) & np.isfinite(V[:, j])
            x, y = V[both, i], V[both, j]
            tie = np.isclose(x, y, rtol=rtol, atol=0.0)
            out["win"].loc[a, b] = int(((x < y) & ~tie).sum())
            out["loss"].loc[a, b] = int(((x > y) & ~tie).sum())
            out["tie"].loc[a, b] = int(tie.sum())
    return out


def friedman(M: pd.DataFrame) -> dict[str, float]:
    """Friedman's test that all methods rank alike: statistic, p-value, N problems, k methods."""
    from scipy.stats import friedmanchisquare

    N, k = M.shape
    if k < 3 or N < 2:
        raise ValueError(f"the Friedman test needs at least 3 methods and 2 problems; got {k} and {N}")
    stat, p = friedmanchisquare(*[M[c].to_numpy(dtype=float) for c in M.columns])
    return {"statistic": float(stat), "pvalue": float(p), "N": int(N), "k": int(k)}


def nemenyi_cd(k: int, N: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of mean ranks, q_alpha * sqrt(k (k + 1) / (6 N)) (Demšar, 2006)."""
    from scipy.stats import studentized_range

    q = studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(k * (k + 1) / (6.0 * N)))


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm, 1979, Scand. J. Stat. 6:65-70)."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p)
    adj = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, (m - rank) * p[idx])
        adj[idx] = min(1.0, running)
    return adj


def posthoc(M: pd.DataFrame, method: str = "nemenyi", *, higher_is_better: bool | None = None) -> pd.DataFrame:
    """Pairwise p-values (methods x methods) of the post hoc test.

    ``nemenyi``: scikit-posthocs' Nemenyi test for Friedman blocks. ``wilcoxon-holm``:
    scipy's Wilcoxon signed-rank test on each pair (zero differences split), Holm-adjusted.
    """
    methods = list(M.columns)
    if method == "nemenyi":
        import scikit_posthocs as sp

        sign = _better_sign(M, higher_is_better)
        P = sp.posthoc_nemenyi_friedman((sign * M).reset_index(drop=True))
        P.index, P.columns = methods, methods
        return P.astype(float)
    if method in ("wilcoxon-holm", "wilcoxon"):
        from scipy.stats import wilcoxon

        pairs, ps = [], []
        for i in range(len(methods)):
            for j in range(i + 1, len(methods)):
                d = M.iloc[:, i].to_numpy(dtype=float) - M.iloc[:, j].to_numpy(dtype=float)
                if np.allclose(d, 0.0):
                    p = 1.0
                else:
                    p = float(wilcoxon(M.iloc[:, i], M.iloc[:, j], zero_method="zsplit").pvalue)
                pairs.append((i, j))
                ps.append(p)
        adj = holm(ps) if method == "wilcoxon-holm" else np.asarray(ps)
        P = pd.DataFrame(1.0, index=methods, columns=methods)
        for (i, j), p in zip(pairs, adj, strict=True):
            P.iloc[i, j] = P.iloc[j, i] = p
        return P
    raise ValueError(f"unknown post hoc test {method!r}; expected 'nemenyi' or 'wilcoxon-holm'")


def performance_profile(df: pd.DataFrame, best: pd.Series | None = None, *, method: str = "entry",
                        value: str = "loss", agg: str = "median", taus: np.ndarray | None = None
                        ) -> pd.DataFrame:
    """Dolan-Moré profile of ``value`` relative to the best per problem.

    The ratio of method s on problem p is r = value / best(p), where ``best`` is the best
    known loss of each problem (a Series indexed like :func:`score_matrix`'s rows, e.g.
    from :mod:`bench_core.best_known`) or, where it is missing, the best value in ``df``.
    A method without a finished run on a problem gets r = inf. Returns a DataFrame indexed
    by tau (ratios >= 1) with the fraction rho_s(tau) = |{p : r_{p,s} <= tau}| / |P| per method.
    """
    M = score_matrix(df, value, agg=agg, method=method, complete=False)
    if M.empty:
        return pd.DataFrame()
    ref = M.min(axis=1)
    if best is not None:
        b = best.reindex(M.index)
        ref = b.where(b.notna() & (b <= ref), ref)  # a better run in df wins over a stale record
    R = M.div(ref, axis=0).fillna(np.inf)
    R[(M.le(0)).fillna(False) & (ref.to_numpy()[:, None] <= 0)] = 1.0  # 0/0: the best is 0 and reached
    finite = R.to_numpy()[np.isfinite(R.to_numpy())]
    if taus is None:
        hi = max(1.0 + 1e-9, float(finite.max()) if finite.size else 1.0)
        taus = np.unique(np.concatenate([[1.0], np.sort(finite), [hi * 1.05]]))
    P = pd.DataFrame({m: [(R[m] <= t).mean() for t in taus] for m in R.columns}, index=pd.Index(taus, name="tau"))
    P.attrs["ratios"] = R
    return P


def pareto_front(points: pd.DataFrame, x: str = "fit_time", y: str = "gap") -> pd.Series:
    """Boolean mask of the rows not dominated in (``x``, ``y``), both smaller-better.

    A row is dominated when another row is no worse in both and strictly better in one.
    """
    X = points[x].to_numpy(dtype=float)
    Y = points[y].to_numpy(dtype=float)
    order = np.lexsort((Y, X))  # by x, then y
    keep = np.zeros(len(points), dtype=bool)
    best_y = np.inf
    for i in order:
        if Y[i] < best_y:
            keep[i] = True
            best_y = Y[i]
    return pd.Series(keep, index=points.index)


def loss_gaps(df: pd.DataFrame, best: pd.Series | None = None) -> pd.DataFrame:
    """Finished runs with ``problem``, ``best`` and ``gap`` = loss / best - 1 (best known, else best here)."""
    ok = ok_runs(df).copy()
    if ok.empty:
        return ok.assign(problem=[], best=[], gap=[])
    cols = _problem_cols(ok)
    ok["problem"] = [problem_label(tuple(r), cols) for r in ok[cols].itertuples(index=False)]
    here = ok.groupby("problem")["loss"].transform("min")
    if best is not None:
        b = ok["problem"].map(best)
        here = b.where(b.notna() & (b <= here), here)
    ok["best"] = here
    with np.errstate(divide="ignore", invalid="ignore"):
        ok["gap"] = np.where(here > 0, ok["loss"] / here - 1.0, np.where(ok["loss"] <= here, 0.0, np.inf))
    return ok


def pareto_fronts(df: pd.DataFrame, best: pd.Series | None = None) -> pd.DataFrame:
    """:func:`loss_gaps` with an ``on_front`` column per problem (gap and fit time)."""
    g = loss_gaps(df, best)
    if g.empty:
        return g.assign(on_front=[])
    g["on_front"] = False
    for _, idx in g.groupby("problem").groups.items():
        g.loc[idx, "on_front"] = pareto_front(g.loc[idx]).to_numpy()
    return g


# --------------------------------------------------------------------------- drawing


def cd_diagram(ranks: pd.Series, P: pd.DataFrame, *, alpha: float = 0.05, cd: float | None = None, ax=None,
               labels: dict[str, str] | None = None):
    """Critical-difference diagram (Demšar, 2006) with scikit-posthocs; bars join methods not
    significantly different at ``alpha``. Returns the axes."""
    import matplotlib.pyplot as plt
    import scikit_posthocs as sp

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.6 + 0.28 * len(ranks)))
    labels = labels or {}
    r = ranks.rename(index=lambda m: labels.get(m, m))
    Q = P.rename(index=lambda m: labels.get(m, m), columns=lambda m: labels.get(m, m))
    sp.critical_difference_diagram(r, Q, alpha=alpha, ax=ax, label_fmt_left="{label} ({rank:.2f})",
                                   label_fmt_right="({rank:.2f}) {label}",
                                   label_props={"fontsize": 7}, text_h_margin=0.3)
    note = f"α = {alpha}" + (f", Nemenyi CD = {cd:.2f}" if cd is not None else "")
    ax.set_title(f"mean rank (1 = best); bars: not significantly different ({note})", fontsize=8)
    return ax


def profile_axes(P: pd.DataFrame, ax, style=None, *, log: bool | None = None) -> None:
    """Draw a performance profile (step functions) on ``ax``; ``style(method)`` gives (colour, marker).

    The tau axis is logarithmic when the ratios span more than a factor of 2 (``log=None``).
    """
    for m in P.columns:
        c, mk = style(m) if style else (None, None)
        ax.step(P.index, P[m], where="post", color=c, lw=1.4, label=m)
        first = int(np.argmax(P[m].to_numpy() > 0)) if (P[m] > 0).any() else None
        if mk and first is not None:  # the library's marker where the method first solves a problem
            ax.plot(P.index[first], P[m].iloc[first], marker=mk, color=c, ms=5, ls="none")
    if log is None:
        log = P.index.max() > 2.0
    if log:
        ax.set_xscale("log")
    ax.set(xlabel="τ (loss / best known loss)", ylabel="fraction of problems with ratio ≤ τ", ylim=(-0.02, 1.02))


def summary_tables(df: pd.DataFrame, caption: str = "", *, best: pd.Series | None = None,
                   value: str = "loss", test: str = "nemenyi", alpha: float = 0.05) -> list:
    """Report tables: mean ranks (loss per objective and, when recorded, ARI, NCA) and win/tie/loss.

    Returns :class:`~bench_core.report.tables.Table` objects, empty when fewer than two
    methods share at least two problems.
    """
    from ..best_known import objective
    from .tables import Table

    tables = []
    groups: list[tuple[str, str, pd.DataFrame]] = []
    if value == "loss" and "family" in df.columns:
        # losses compare only within one objective (total deviation, sum of squares, ...)
        obj = pd.Series([objective(str(f), str(a)) for f, a in zip(df["family"], df["algorithm"], strict=True)],
                        index=df.index)
        for o in sorted(obj.dropna().unique()):
            groups.append((value, f" ({o} objective)", df[obj == o]))
    else:
        groups.append((value, "", df))
    groups += [(c, "", df) for c in ("ari", "nca") if c in df.columns and pd.to_numeric(df[c], errors="coerce").notna().any()]
    for col, what, part in groups:
        M = score_matrix(part, col)
        if M.shape[0] < 2 or M.shape[1] < 2:
            continue
        ranks = mean_ranks(M)
        tag = "".join(c if c.isalnum() else "-" for c in what).strip("-")
        notes = [f"{M.shape[0]} problems with a finished run of every method (median over seeds); ties share "
                 f"their mean rank; 1 = best ({'higher' if M.attrs['higher_is_better'] else 'lower'} {col})."]
        if M.attrs["dropped"]:
            notes.append(f"left out (some method missing): {len(M.attrs['dropped'])} problems")
        if M.shape[1] >= 3:
            fr = friedman(M)
            cd = nemenyi_cd(M.shape[1], M.shape[0], alpha)
            notes.append(f"Friedman χ² = {fr['statistic']:.2f}, p = {fr['pvalue']:.3g}; Nemenyi critical "
                         f"difference at α = {alpha}: {cd:.2f}")
        tables.append(Table(id=f"mean-rank-{col}" + (f"-{tag}" if tag else ""), title=f"Mean rank by {col}{what}",
                            columns=["method", "mean rank", "problems"],
                            rows=[[m, f"{r:.2f}", str(M.shape[0])] for m, r in ranks.items()],
                            notes=notes, caption=caption))
        if col == value:
            w = win_tie_loss(M)
            order = list(ranks.index)
            rows = [[a] + ["—" if a == b else f"{w['win'].loc[a, b]}/{w['tie'].loc[a, b]}/{w['loss'].loc[a, b]}"
                           for b in order] for a in order]
            tables.append(Table(id=f"win-tie-loss-{col}" + (f"-{tag}" if tag else ""),
                                title=f"Wins/ties/losses by {col}{what} (row vs column)",
                                columns=["method", *order], rows=rows,
                                notes=["w/t/l: problems where the row method is better / equal (relative "
                                       "difference ≤ 1e-9) / worse than the column method."],
                                caption=caption))
    return tables
