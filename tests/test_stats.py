"""Statistics across data sets, best-known losses and figure rules, on small synthetic
results tables whose answers are known by construction."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bench_core import best_known as bk
from bench_core.report import stats

METHODS = ("a/x", "b/y", "c/x", "d/z")


def results(n_problems: int = 8, seeds: int = 3, *, seed: int = 0) -> pd.DataFrame:
    """a < b < c on every problem; d ties c on odd problems and is last on even ones.

    Losses: a = base, b = base + 1, c = base + 3, d = base + 3 (odd) or base + 5 (even),
    each plus jitter < 0.1 on seeds 1.. (seed 0 sits exactly on the offset), so the
    median per cell keeps the order. ARI = 1 - offset / 10. Times: d fastest, a slowest.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_problems):
        base = 100.0 + 10 * p
        for s in range(seeds):
            for j, m in enumerate(METHODS):
                off = {"a/x": 0, "b/y": 1, "c/x": 3, "d/z": 3 if p % 2 else 5}[m]
                jitter = 0.0 if s == 0 or m == "a/x" else rng.uniform(0, 0.1)
                rows.append(dict(run_id=f"r{p}-{s}-{j}", entry=m, algorithm=m.split("/")[0],
                                 implementation=m.split("/")[1], family="kmedoids", dataset=f"ds{p}", n=100, k=3,
                                 metric="euclidean", dtype="float64", seed=s, status="ok", loss=base + off + jitter,
                                 fit_time=0.1 * (4 - j) + rng.uniform(0, 0.01), ari=1 - off / 10,
                                 dataset_checksum=f"c{p}", dataset_params="{}"))
    return pd.DataFrame(rows)


def test_mean_ranks_known_order_with_ties():
    M = stats.score_matrix(results())
    assert M.shape == (8, 4)
    loss_ranks = stats.mean_ranks(M)
    assert list(loss_ranks.index) == ["a/x", "b/y", "c/x", "d/z"]
    assert loss_ranks["a/x"] == 1.0 and loss_ranks["b/y"] == 2.0
    # ARI: c and d tie on the 4 odd problems (3.5 each), c is 3rd on the even ones
    ari = stats.mean_ranks(stats.score_matrix(results(), "ari"))
    assert ari["c/x"] == pytest.approx((4 * 3 + 4 * 3.5) / 8)
    assert ari["d/z"] == pytest.approx((4 * 4 + 4 * 3.5) / 8)
    assert ari.sum() == pytest.approx(10.0)  # ranks 1..4 always sum to 10


def test_ties_within_rtol():
    M = pd.DataFrame({"p": [1.0, 1.0 + 1e-12, 2.0]}, index=["x", "y", "z"]).T
    r = stats.rank_matrix(M)
    assert r.loc["p"].tolist() == [1.5, 1.5, 3.0]


def test_win_tie_loss():
    w = stats.win_tie_loss(stats.score_matrix(results(), "ari"))
    assert w["win"].loc["a/x", "b/y"] == 8 and w["loss"].loc["b/y", "a/x"] == 8
    assert w["tie"].loc["c/x", "d/z"] == 4 and w["win"].loc["c/x", "d/z"] == 4 and w["loss"].loc["c/x", "d/z"] == 0
    for x in METHODS:
        for y in METHODS:
            if x != y:
                assert w["win"].loc[x, y] + w["tie"].loc[x, y] + w["loss"].loc[x, y] == 8
                assert w["win"].loc[x, y] == w["loss"].loc[y, x]


def test_friedman_and_posthoc():
    M = stats.score_matrix(results(16))
    fr = stats.friedman(M)
    assert fr["pvalue"] < 1e-4 and fr["N"] == 16 and fr["k"] == 4
    cd = stats.nemenyi_cd(4, 16)
    # Demšar (2006), Table 5: q_0.05 = 2.569 for k = 4
    assert cd == pytest.approx(2.569 * np.sqrt(4 * 5 / (6 * 16)), rel=1e-3)
    P = stats.posthoc(M, "nemenyi")
    assert P.loc["a/x", "d/z"] < 0.05  # rank gap 2.75 > CD
    assert P.loc["c/x", "d/z"] > 0.05  # gap 0.25
    W = stats.posthoc(M, "wilcoxon-holm")
    assert (W.values == W.values.T).all() and W.loc["a/x", "b/y"] < 0.05
    with pytest.raises(ValueError, match="3 methods"):
        stats.friedman(M[["a/x", "b/y"]])
    with pytest.raises(ValueError, match="post hoc"):
        stats.posthoc(M, "tukey")


def test_holm():
    # three p-values 0.01, 0.04, 0.03: adjusted 3*0.01, max(0.03, 2*0.03), max(0.06, 1*0.04)
    assert stats.holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])


def test_performance_profile_relative_to_best_known():
    df = results(4, 1)  # seed 0 only: losses exactly base + offset
    P = stats.performance_profile(df)
    assert P.loc[1.0, "a/x"] == 1.0 and P.loc[1.0, "b/y"] == 0.0
    # b's ratio on problem p is (base + 1) / base: <= 1.01 on the problems with base >= 100
    assert P["b/y"].iloc[-1] == 1.0
    assert P["b/y"].is_monotonic_increasing
    # with a best known loss 2 % below a on every problem, nobody reaches tau = 1
    labels = stats.score_matrix(df).index
    best = pd.Series([0.98 * (100 + 10 * p) for p in range(4)], index=labels)
    P2 = stats.performance_profile(df, best)
    assert (P2.loc[1.0] == 0.0).all()
    # a missing method on a problem counts as never solved (ratio inf)
    P3 = stats.performance_profile(df[~((df.entry == "d/z") & (df.dataset == "ds0"))])
    assert P3["d/z"].iloc[-1] == pytest.approx(0.75)


def test_pareto_front():
    pts = pd.DataFrame({"fit_time": [1.0, 2.0, 3.0, 0.5, 2.5], "gap": [0.5, 0.1, 0.0, 0.9, 0.2]})
    assert stats.pareto_front(pts).tolist() == [True, True, True, True, False]
    F = stats.pareto_fronts(results(2, 1))
    # d is fastest, a has gap 0: both on the front of every problem
    front = F[F.on_front]
    for p in F["problem"].unique():
        assert {"a/x", "d/z"} <= set(front.loc[front.problem == p, "entry"])


def test_summary_tables_render():
    tables = stats.summary_tables(results(), "caption")
    ids = [t.id for t in tables]
    assert ids[:2] == ["mean-rank-loss-td-objective", "win-tie-loss-loss-td-objective"] and "mean-rank-ari" in ids
    # k-means rows form their own objective: never ranked against k-medoids losses
    km = results().assign(family="kmeans", entry=lambda d: "km-" + d["entry"], algorithm="kmeans")
    ids2 = [t.id for t in stats.summary_tables(pd.concat([results(), km]), "")]
    assert "mean-rank-loss-sse-objective" in ids2 and "mean-rank-loss-td-objective" in ids2
    assert tables[0].rows[0][0] == "a/x" and "Friedman" in " ".join(tables[0].notes)


# --------------------------------------------------------------------------- best known

def test_best_known_update_rule(tmp_path):
    df = results(2, 3)
    table = bk.BestKnown()
    first = table.update(df, source="r1")
    assert len(first) == 2 and table.revision == 1
    key = bk.key_of(df.iloc[0])
    assert key == "ds0|100|3|euclidean|td"
    assert table.records[key]["loss"] == 100.0 and table.records[key]["entry"] == "a/x"
    assert table.records[key]["run_id"] == "r0-0-0"
    # the same rows again, and a worse run: nothing changes, the revision stays
    assert table.update(df) == [] and table.revision == 1
    # a run better only by float noise does not replace the record
    noise = df.iloc[[0]].assign(loss=100.0 * (1 - 1e-13), run_id="noise")
    assert table.update(noise) == []
    # a real improvement does, with its run id
    better = df.iloc[[0]].assign(loss=99.5, run_id="better", entry="b/y")
    ch = table.update(better)
    assert ch == [{"key": key, "old": 100.0, "new": 99.5, "run_id": "better", "entry": "b/y"}]
    assert table.revision == 2
    # other data under the same name (checksum) is never compared
    other = df.iloc[[0]].assign(loss=1.0, run_id="other", dataset_checksum="different")
    assert table.update(other) == [] and table.get(key) == 99.5
    # failed runs and non-clustering families are ignored
    failed = df.iloc[[0]].assign(loss=1.0, status="timeout")
    sil = df.iloc[[0]].assign(loss=1.0, family="silhouette")
    assert table.update(pd.concat([failed, sil])) == []
    # round trip
    path = table.save(tmp_path / "best.json")
    again = bk.BestKnown.load(path)
    assert again.records == json.loads(json.dumps(table.records)) and again.revision == 2


def test_objectives_are_separate():
    assert bk.objective("kmedoids") == bk.objective("sampling") == "td"
    assert bk.objective("kmeans") == "sse" and bk.objective("msc", "pamsil") == "1-silhouette"
    assert bk.objective("msc", "fastmsc") == "1-medoid-silhouette" and bk.objective("silhouette") is None
    df = results(1, 1)
    km = df.assign(family="kmeans", loss=df["loss"] / 10)
    table = bk.BestKnown()
    table.update(pd.concat([df, km]))
    assert table.get("ds0|100|3|euclidean|td") == 100.0 and table.get("ds0|100|3|euclidean|sse") == 10.0


def test_gaps_and_gap_table():
    df = results(2, 1)
    table = bk.BestKnown()
    table.update(df[df.entry == "b/y"])  # the record is b's loss: a is below it
    g = bk.gaps(df, table)
    a0 = g[(g.entry == "a/x") & (g.dataset == "ds0")].iloc[0]
    assert a0["best_known"] == 101.0 and a0["gap"] == pytest.approx(100 / 101 - 1)
    t = bk.gap_table(df, "cap", table)[0]
    assert t.id == "gap-to-best-known" and len(t.rows) == 8
    empty = bk.gaps(df, bk.BestKnown())
    assert empty["gap"].isna().all()


def test_stored_table_is_valid():
    table = bk.BestKnown.load()
    for key, rec in table.records.items():
        assert len(key.split("|")) == 5 and rec["loss"] >= 0 and rec["run_id"]


# --------------------------------------------------------------------------- figure rules

def _timing_rows(ns):
    rows = []
    for n in ns:
        for entry in ("fasterpam/reference", "fasterpam/kmedoids", "pam/kmedoids-parallel"):
            for s in range(2):
                rows.append(dict(run_id=f"{n}{entry}{s}", status="ok", entry=entry, algorithm=entry.split("/")[0],
                                 implementation=entry.split("/")[1], family="kmedoids", dataset="mnist", n=n, k=10,
                                 dtype="float64", metric="euclidean", seed=s, loss=1000.0 + s + n / 100,
                                 fit_time=1e-6 * n * (1 + s / 10)))
    return _full(pd.DataFrame(rows))


def _full(df):
    """Every column of a results file (absent ones empty), as reports read them."""
    from bench_core.results_io import COLUMNS

    for c in COLUMNS:
        if c not in df.columns:
            df[c] = np.nan
    return df


def _figures(df, tmp_path):
    from bench_core.report.figures import make_figures

    return make_figures(df, tmp_path / "figures", "provenance", best_known=False)


def test_no_curve_over_fewer_than_three_n(tmp_path):
    from bench_core.report.figures import check_figure_rules

    two = _figures(_timing_rows([500, 1000]), tmp_path)
    assert not [f for f in two if f.x == "n"]
    check_figure_rules(two)
    three = _figures(_timing_rows([500, 1000, 2000]), tmp_path)
    vs_n = [f for f in three if f.x == "n"]
    assert vs_n and all(f.x_values == 3 for f in vs_n)
    check_figure_rules(three)


def test_the_rule_check_fails_on_a_two_point_curve(tmp_path):
    from bench_core.report.figures import Figure, FigureRuleError, check_figure_rules

    bad = Figure("runtime-vs-n-x", "Runtime vs n", tmp_path / "a.png", tmp_path / "a.svg", "", x="n", x_values=2)
    with pytest.raises(FigureRuleError, match="runtime-vs-n-x"):
        check_figure_rules([bad])


def test_colour_per_algorithm_marker_per_library():
    from bench_core.report.figures import _Style

    st = _Style(["fasterpam/reference", "fasterpam/kmedoids", "fasterpam/kmedoids-parallel", "pam/kmedoids"])
    assert st("fasterpam/reference")[0] == st("fasterpam/kmedoids")[0] != st("pam/kmedoids")[0]
    assert st("fasterpam/kmedoids")[1] == st("pam/kmedoids")[1] != st("fasterpam/reference")[1]
    assert st.variant("fasterpam/kmedoids-parallel") and not st.variant("fasterpam/kmedoids")
    _, labels = st.handles(st.map)
    # grouped and short: 3 headings + 2 algorithms + 2 libraries + 1 variant line, not 4 entries
    assert labels[0] == "algorithm" and "library" in labels and len(labels) == 8


def test_stats_figures_on_several_data_sets(tmp_path):
    df = _full(results(6, 2).assign(dataset=lambda d: d["dataset"].map(lambda s: f"clustbench:x/{s}")))
    figs = _figures(df, tmp_path)
    ids = [f.id for f in figs]
    assert any(i.startswith("cd-ari") for i in ids) and any(i.startswith("cd-loss") for i in ids)
    assert "profile-td" in ids and any(i.startswith("pareto-td") for i in ids)
    for f in figs:
        assert f.png.stat().st_size > 1000
