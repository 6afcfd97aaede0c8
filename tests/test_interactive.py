"""The interactive report page: self-contained (no network), and in headless Chromium a
non-blank rendering whose table filters and sorting work."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from bench_core import browser
from bench_core.report.interactive import dump_dom, page_data, write_interactive

needs_chromium = pytest.mark.skipif(
    browser.find_chromium() is None,
    reason="no Chromium on this machine; 'make browser' installs Debian's chromium (as root)")


def rows() -> pd.DataFrame:
    out = []
    for p, ds in enumerate(("clustbench:fcps/hepta", "clustbench:wut/x2")):
        for s in range(3):
            for j, entry in enumerate(("fasterpam/reference", "fasterpam/kmedoids", "kmeans/reference",
                                       "clara/reference")):
                fam = {"fasterpam": "kmedoids", "kmeans": "kmeans", "clara": "sampling"}[entry.split("/")[0]]
                out.append(dict(run_id=f"{p}{s}{j}", entry=entry, algorithm=entry.split("/")[0],
                                implementation=entry.split("/")[1], family=fam, dataset=ds, n=200 + p, k=7 - p,
                                metric="euclidean", dtype="float64", seed=s, status="ok" if (p, s, j) != (1, 2, 3)
                                else "timeout", loss=100.0 + 10 * p + j + s / 10, fit_time=0.01 * (j + 1) * (s + 1),
                                ari=0.9 - 0.1 * j, dataset_checksum=f"c{p}", dataset_params="{}"))
    return pd.DataFrame(out)


def test_page_is_self_contained(tmp_path):
    path = write_interactive(rows(), tmp_path / "interactive.html", "test page", best_known=False)
    html = path.read_text()
    assert "Plotly" in html and len(html) > 1_000_000  # plotly.js is inside the file
    assert not re.search(r"<script[^>]+src=", html), "no external scripts"
    from plotly.offline import get_plotlyjs

    ours = html.replace(get_plotlyjs(), "")
    assert len(ours) < len(html) - 1_000_000 and "http" not in ours  # nothing fetched from elsewhere
    data = page_data(rows(), best_known=False)
    assert data["has_ari"] and len(data["rows"]) == 24
    assert {"entry", "seed", "fit_time", "loss", "ari", "gap"} <= set(data["columns"])
    # one colour per algorithm, one symbol per library
    st = data["style"]
    assert st["fasterpam/reference"]["color"] == st["fasterpam/kmedoids"]["color"] != st["kmeans/reference"]["color"]
    assert st["fasterpam/reference"]["symbol"] == st["kmeans/reference"]["symbol"] != st["fasterpam/kmedoids"]["symbol"]
    # gap to the best run of each problem (no best-known table): the best is 0
    gaps = [r["gap"] for r in data["rows"] if r["status"] == "ok"]
    assert min(gaps) == 0.0 and all(g >= 0 for g in gaps)


def _visible(dom: str) -> tuple[int, list[list[str]]]:
    count = int(re.search(r'data-visible-rows="(\d+)"', dom).group(1))
    body = dom[dom.index('<tbody id="rows">'):]
    cells = [re.findall(r'<td class="[lr]" data-col="(?:entry|seed|loss)">([^<]*)</td>', tr)
             for tr in re.findall(r'<tr class="row".*?</tr>', body)]
    return count, cells


@needs_chromium
def test_filters_and_sorting_in_chromium(tmp_path):
    df = rows()
    path = write_interactive(df, tmp_path / "interactive.html", "test page", best_known=False)
    dom = dump_dom(path)
    count, cells = _visible(dom)
    assert count == len(df) == len(cells)
    assert dom.count("js-plotly-plot") >= 3  # the three figures were drawn
    # text filter on a column
    count, cells = _visible(dump_dom(path, fragment="entry=kmeans"))
    assert count == (df.entry == "kmeans/reference").sum() == len(cells)
    assert all(c[0] == "kmeans/reference" for c in cells)
    # two filters (numeric comparison) and a descending sort
    count, cells = _visible(dump_dom(path, fragment="dataset=x2&seed=>0&sort=-loss"))
    expect = df[(df.dataset == "clustbench:wut/x2") & (df.seed > 0)].sort_values("loss", ascending=False)
    assert count == len(expect) == len(cells)
    shown = [float(c[2]) for c in cells]
    assert shown == sorted(shown, reverse=True)
    assert shown == pytest.approx(expect["loss"].tolist(), rel=1e-5)
    # a filter nothing passes
    assert _visible(dump_dom(path, fragment="entry=nothing-like-this"))[0] == 0


@needs_chromium
def test_page_renders_non_blank(tmp_path):
    from PIL import Image

    path = write_interactive(rows(), tmp_path / "interactive.html", "test page", best_known=False)
    png = browser.screenshot(path, tmp_path / "shot.png", width=1300, height=900, wait_ms=4000)
    with Image.open(png) as im:
        px = np.asarray(im.convert("RGB")).astype(int)
    assert px.shape == (900, 1300, 3)
    # not blank: many distinct colours and a fair share of non-white pixels
    assert len(np.unique(px.reshape(-1, 3), axis=0)) > 50
    assert (px.sum(axis=2) < 700).mean() > 0.01
    # the figures' marker colours (matplotlib tab10 blue/orange...) are on the page
    colours = {tuple(c) for c in px[::3, ::3].reshape(-1, 3)}
    assert any(abs(r - 31) < 12 and abs(g - 119) < 12 and abs(b - 180) < 12 for r, g, b in colours)
