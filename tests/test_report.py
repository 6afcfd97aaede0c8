"""kmbench report: tables, figures, LaTeX and HTML from a small stored result set."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from bench_core import browser
from bench_core.environment import record
from bench_core.report import latex, write_report
from bench_core.report.tables import fit_slope
from bench_core.results_io import ResultsFile

# Stored rows: fit time = C * n^2 (so ns per N^2 is C * 1e9 and the fitted slope is 2),
# loss = L * (1 + extra) per implementation; PAM times out at the largest n.
C = {"fasterpam/kmedoids": 2e-9, "fasterpam/reference": 4e-9, "pam/reference": 1e-7, "alternating/sklearn_extra": 8e-9}
EXTRA = {"fasterpam/kmedoids": 0.0, "fasterpam/reference": 0.0, "pam/reference": 0.001, "alternating/sklearn_extra": 0.05}
LANG = {"kmedoids": "Rust", "reference": "Cython", "sklearn_extra": "Python"}
NS, KS, SEEDS = (250, 500, 1000), (5, 10), (0, 1, 2)


def _rows(env_id: str):
    for n in NS:
        for k in KS:
            for seed in SEEDS:
                for entry, c in C.items():
                    algo, impl = entry.split("/")
                    row = {"run_id": f"{entry}-{n}-{k}-{seed}", "entry": entry, "algorithm": algo,
                           "implementation": impl, "family": "kmedoids", "language": LANG[impl],
                           "dataset": "mnist", "n": n, "k": k, "dtype": "float64", "metric": "euclidean",
                           "seed": seed, "env_id": env_id, "diss_time": 1e-8 * n * n, "diss_cached": seed > 0}
                    if entry == "pam/reference" and n == NS[-1]:
                        status = "timeout" if seed == 0 else "skipped"
                        yield row | {"status": status, "error": "killed after the time limit of 1 s"
                                     if seed == 0 else "an earlier restart of this cell hit the time limit"}
                        continue
                    if entry == "fasterpam/reference" and n == NS[-1] and k == 10 and seed == 2:
                        yield row | {"status": "skipped", "error": "restart budget of 1 s is spent"}
                        continue
                    loss = 1000.0 * k ** -0.5 * n * (1 + EXTRA[entry])
                    yield row | {"status": "ok", "fit_time": c * n * n * (1 + 0.01 * seed), "loss": loss,
                                 "silhouette": 0.1, "medoid_silhouette": 0.2, "n_iter": 3, "n_swap": 7,
                                 "converged": True, "extra_rss_mb": 1.5, "peak_rss_mb": 100.0}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rep")
    rf = ResultsFile(tmp / "stored.csv")
    rf.create()
    eid = rf.add_environment(record())
    rf.add_command("kmbench run --algorithms fasterpam,pam --n 250,500,1000 --k 5,10 --seeds 3")
    for row in _rows(eid):
        rf.append(row)
    out = write_report([rf.path], "stored", out_dir=tmp / "report", command="kmbench report stored")
    return out


def _md_tables(md: str) -> dict[str, list[list[str]]]:
    """Markdown tables of index.md by their '### title'."""
    out, title = {}, None
    for line in md.splitlines():
        if line.startswith("### "):
            title = line[4:]
            out[title] = []
        elif line.startswith("|") and title and not line.startswith("|:") and not line.startswith("|-"):
            out[title].append([c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
    return out


def test_joss_table_layout_and_values(report):
    md = (report / "index.md").read_text()
    tables = _md_tables(md)
    joss = {t: r for t, r in tables.items() if "JOSS" in t}
    assert set(joss) == {f"Implementations on mnist, n = 1,000, k = {k}, euclidean, float64 (JOSS Table 1 layout)"
                         for k in KS}  # the largest n per k
    rows = joss[next(t for t in joss if "k = 10" in t)]
    assert rows[0] == ["implementation", "algorithm", "language", "ns per N²", "average loss"]
    body = {(r[0], r[1]): r for r in rows[1:]}
    # sorted by ns per N^2; values are the stored C * 1e9 and mean losses
    assert [r[0] for r in rows[1:]] == ["kmedoids (Rust)", "kmbench (Cython)†", "scikit-learn-extra",
                                        "kmbench (Cython)‡"]
    ns = np.mean([C["fasterpam/kmedoids"] * 1e9 * (1 + 0.01 * s) for s in SEEDS])
    assert body[("kmedoids (Rust)", "FasterPAM")][3] == f"{ns:.3g}"
    assert body[("kmedoids (Rust)", "FasterPAM")][4] == f"{1000 * 10 ** -0.5 * 1000:,.0f}"
    # PAM timed out at n = 1000: shown from its largest measured n, marked and explained
    assert body[("kmbench (Cython)‡", "PAM")][4] == "—"
    assert "‡ pam/reference: measured at n = 500 only" in md
    assert "† kmbench (Cython) FasterPAM: 2 of 3 restarts (skipped: restart budget" in md
    assert "not in the table: pam/reference" in md


def test_every_table_and_figure_names_machine_versions_and_command(report):
    md = (report / "index.md").read_text()
    rec = record()
    n_tables = md.count("\n### ")
    assert n_tables >= 6
    assert md.count(f"*Machine: {rec['cpu_model']}") == n_tables
    assert md.count("kmbench report stored") >= n_tables and md.count("kmbench run --algorithms") >= n_tables
    assert f"numpy {rec['packages']['numpy']}" in md
    prov = json.loads((report / "provenance.json").read_text())
    assert prov["figures"]
    for fid in prov["figures"]:
        svg = (report / "figures" / f"{fid}.svg").read_text()
        assert "Machine:" in svg and "kmbench report stored" in svg


def test_runtime_loss_and_speedup_tables(report):
    tables = _md_tables((report / "index.md").read_text())
    runtime = tables["Runtime on mnist (euclidean, float64)"]
    assert runtime[0] == ["implementation", "algorithm", "n", "k", "runs", "median s", "IQR s", "ns per N²",
                          "extra MiB"]
    assert len(runtime) - 1 == len(C) * len(NS) * len(KS) - len(KS)  # PAM has no row at n = 1000
    r = next(r for r in runtime[1:] if r[:4] == ["kmedoids (Rust)", "FasterPAM", "500", "10"])
    assert r[4] == "3" and r[5] == f"{2e-9 * 500 ** 2 * 1.01:.3g}"

    loss = tables["Loss relative to the best found per cell (total deviation objective)"]
    rel = {(r[0], r[1], r[3], r[4]): r[7] for r in loss[1:]}
    assert rel[("scikit-learn-extra", "Alternating", "500", "5")] == "5.000%"
    assert rel[("kmedoids (Rust)", "FasterPAM", "500", "5")] == "0.000%"

    sp = tables["Speed-up over pam/reference on mnist, n = 500 (euclidean, float64)"]
    assert sp[0] == ["implementation", "algorithm", "k = 5", "k = 10"]
    row = next(r for r in sp[1:] if r[0] == "kmedoids (Rust)")
    assert row[2] == f"{1e-7 / 2e-9:,.1f}×"
    # at n = 1000 PAM did not finish: its time is extrapolated and labelled so
    sp_big = tables["Speed-up over pam/reference on mnist, n = 1,000 (euclidean, float64)"]
    assert all(r[2].endswith("×*") for r in sp_big[1:])
    md = (report / "index.md").read_text()
    assert "extrapolated from n = 250, 500 with fitted slope 2.00" in md


def test_fit_slope_recovers_the_exponent():
    n = np.array([100, 200, 400, 800])
    b, a = fit_slope(n, 3e-9 * n ** 2.5)
    assert b == pytest.approx(2.5) and np.exp(a) == pytest.approx(3e-9)
    assert fit_slope(np.array([100, 100]), np.array([1.0, 2.0])) is None


def test_figures_are_nontrivial_png_and_svg(report):
    prov = json.loads((report / "provenance.json").read_text())
    kinds = {re.sub(r"-mnist.*", "", f) for f in prov["figures"]}
    # three n give curves over n; two k give none over k (the runtime table shows them)
    assert kinds == {"runtime-vs-n", "ns-per-n2-vs-n", "pareto-td"}
    for fid in prov["figures"]:
        png, svg = report / "figures" / f"{fid}.png", report / "figures" / f"{fid}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
        assert svg.stat().st_size > 10_000 and "<svg" in svg.read_text()[:1000]
    svg = (report / "figures" / "runtime-vs-n-mnist-k10-float64-euclidean.svg").read_text()
    assert ">2.00</text>" in svg  # the fitted slope, printed at the end of each line


def test_latex_tables_pass_the_syntax_check_and_compile_where_possible(report):
    texs = sorted((report / "tables").glob("*.tex"))
    assert texs
    for tex in texs:
        text = tex.read_text()
        assert latex.check_syntax(text) == [], tex.name
        assert r"\toprule" in text and r"\bottomrule" in text
    doc = (report / "report.tex").read_text()
    assert latex.check_syntax(doc) == []
    assert doc.count(r"\input{tables/") == len(texs)
    prov = json.loads((report / "provenance.json").read_text())
    if latex.find_engine() is None:
        pytest.skip("no TeX engine (pdflatex, lualatex, xelatex, latexmk, tectonic): syntax check only")
    assert prov["latex"]["compiled"] is True, prov["latex"].get("log")
    assert (report / "report.pdf").stat().st_size > 10_000


def test_latex_syntax_check_catches_breakage():
    good = "\\begin{tabular}{lr}\n\\toprule\na & 1 \\\\\n\\midrule\nb & 2 \\\\\n\\bottomrule\n\\end{tabular}\n"
    assert latex.check_syntax(good) == []
    assert latex.check_syntax(good.replace("\\bottomrule\n", ""))
    assert latex.check_syntax(good.replace("b & 2", "b & 2 & 3"))
    assert latex.check_syntax(good.replace("\\end{tabular}", ""))
    assert latex.check_syntax("\\textbf{open")
    assert latex.escape("a_b & 50% #1") == r"a\_b \& 50\% \#1"


@pytest.mark.skipif(browser.find_chromium() is None,
                    reason="no Chromium on this machine; 'make browser' installs Debian's chromium (as root)")
def test_html_report_renders_with_figures_in_headless_chromium(report):
    from PIL import Image

    html = (report / "index.html").read_text()
    imgs = re.findall(r'<img src="([^"]+)"', html)
    assert imgs and all((report / p).exists() for p in imgs)
    png = browser.screenshot(report / "index.html", report / "screenshot.png", width=1280, height=5000,
                             wait_ms=3000)
    px = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert px.shape == (5000, 1280, 3)
    # The figures' curves are drawn in matplotlib's tab10 colours; nothing else on the page uses
    # them, so many such pixels mean the images loaded and rendered.
    for colour in ((31, 119, 180), (255, 127, 14)):
        close = (np.abs(px - np.array(colour)).sum(axis=2) < 30).sum()
        assert close > 500, f"too few pixels of the figure colour {colour}: {close}"
    # and the page is not one image: the tables' text is there (dark pixels on the white page)
    assert (px.sum(axis=2) < 150).sum() > 5000


def test_side_by_side_ratio_keeps_three_digits_below_one_tenth():
    import pandas as pd

    from bench_core.report.tables import side_by_side_table

    rows = [{"status": "ok", "algorithm": "build", "implementation": impl, "dataset": "mnist", "n": 100,
             "k": 5, "dtype": "float64", "metric": "euclidean", "n_threads": 1, "env_id": "e", "seed": 0,
             "fit_time": t, "loss": 1.0, "medoids": "[1, 2]", "diss_time": 0.0, "silhouette": 0.1,
             "medoid_silhouette": 0.2, "extra_rss_mb": 1.0, "peak_rss_mb": 9.0}
            for impl, t in (("reference", 0.15), ("kmedoids", 35.0), ("sklearn_extra", 0.6))]
    (table,) = side_by_side_table(pd.DataFrame(rows), "caption")
    ratios = {r[1]: r[10] for r in table.rows}
    assert ratios == {"kmedoids (Rust)": "0.00429×", "scikit-learn-extra": "0.25×"}, ratios
