"""The interactive page of a report: ``interactive.html``, one file that works offline.

plotly.js (from the ``plotly`` package) is embedded in the page, so it opens from disk
without a network. The page holds the result rows as JSON and draws, from the rows that
pass the table's filters:

- a results table: click a header to sort (again to reverse), type in the boxes under
  the headers to filter (substring; ``>0.5``, ``<=10`` or ``=3`` for numbers);
- loss gap (to the best known loss) vs fit time, every run (hover: implementation, seed,
  time, loss, ARI), colour per algorithm and marker per library as in the static figures;
- ARI per problem and algorithm (when the rows have ``ari``);
- fit time per problem and implementation.

Filters and sorting can be given in the address, e.g.
``interactive.html#entry=fasterpam&dataset=hepta&sort=-loss``, so a link shows a view
(the tests use it to check the filters in headless Chromium).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Columns of the table, in order (those present in the rows).
TABLE_COLUMNS = ("entry", "family", "dataset", "n", "k", "metric", "dtype", "seed", "status", "loss", "gap",
                 "fit_time", "ari", "ami", "nca", "n_iter", "run_id")
#: plotly marker symbols by library, in the order of the static figures' markers.
SYMBOLS = ("circle", "square", "triangle-up", "diamond", "triangle-down", "triangle-left", "triangle-right",
           "pentagon", "cross", "star", "x", "hexagon")

_JS = r"""
const ROWS = DATA.rows, COLS = DATA.columns, NUM = new Set(DATA.numeric);
let sortCol = null, sortDir = 1;
const filters = {};
function cmp(a, b) {
  if (a === null && b === null) return 0; if (a === null) return 1; if (b === null) return -1;
  return (a < b ? -1 : a > b ? 1 : 0);
}
function passes(row) {
  for (const [c, f] of Object.entries(filters)) {
    if (!f) continue;
    const v = row[c];
    const m = NUM.has(c) ? f.match(/^\s*(<=|>=|<|>|=)\s*(-?[0-9.eE+-]+)\s*$/) : null;
    if (m) {
      if (v === null) return false;
      const x = parseFloat(m[2]);
      if (m[1] === '<' && !(v < x)) return false; if (m[1] === '>' && !(v > x)) return false;
      if (m[1] === '<=' && !(v <= x)) return false; if (m[1] === '>=' && !(v >= x)) return false;
      if (m[1] === '=' && !(v == x)) return false;
    } else if (!String(v === null ? '' : v).toLowerCase().includes(f.toLowerCase())) return false;
  }
  return true;
}
function fmt(c, v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' && !Number.isInteger(v)) {
    if (c === 'gap') return (100 * v).toFixed(3) + ' %';
    return Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(4) : v.toPrecision(6);
  }
  return String(v);
}
function visible() {
  const rows = ROWS.filter(passes);
  if (sortCol !== null) rows.sort((a, b) => sortDir * cmp(a[sortCol], b[sortCol]));
  return rows;
}
function renderTable(rows) {
  const body = document.getElementById('rows');
  const shown = rows.slice(0, DATA.max_rows);
  body.innerHTML = shown.map(r => '<tr class="row" data-run="' + (r.run_id || '') + '">' +
    COLS.map(c => '<td class="' + (NUM.has(c) ? 'r' : 'l') + '" data-col="' + c + '">' + fmt(c, r[c]) + '</td>').join('') +
    '</tr>').join('');
  document.getElementById('count').textContent = rows.length + ' of ' + ROWS.length + ' rows' +
    (rows.length > shown.length ? ' (first ' + shown.length + ' shown)' : '');
  document.body.dataset.visibleRows = String(rows.length);
  for (const th of document.querySelectorAll('th[data-col]')) {
    th.dataset.sort = th.dataset.col === sortCol ? (sortDir > 0 ? 'asc' : 'desc') : '';
  }
}
function groupBy(rows, key) {
  const m = new Map();
  for (const r of rows) { const k = key(r); if (!m.has(k)) m.set(k, []); m.get(k).push(r); }
  return m;
}
function style(entry) { return DATA.style[entry] || {color: '#777', symbol: 'circle', open: false}; }
function hover(r) {
  return r.entry + '<br>seed ' + r.seed + ' · ' + r.dataset + ' n=' + r.n + ' k=' + r.k +
    '<br>time ' + fmt('fit_time', r.fit_time) + ' s · loss ' + fmt('loss', r.loss) +
    (r.gap !== null && r.gap !== undefined ? ' (' + fmt('gap', r.gap) + ')' : '') +
    '<br>ARI ' + (r.ari === null || r.ari === undefined ? '—' : r.ari.toFixed(4));
}
function markers(entry) {
  const s = style(entry);
  return {color: s.color, symbol: s.symbol + (s.open ? '-open' : ''), size: 7, opacity: 0.8, line: {width: 1, color: s.color}};
}
function legend(entry) {
  // grouped legend: one group per algorithm (its colour), entries named by library (their marker)
  const [algo, impl] = entry.split('/');
  if (!DATA.grouped) return {name: algo, legendgroup: algo};  // one implementation per algorithm
  return {name: impl, legendgroup: algo, legendgrouptitle: {text: algo, font: {size: 11}}};
}
const LAYOUT = {margin: {l: 60, r: 10, t: 40, b: 50}, legend: {font: {size: 10}, groupclick: 'toggleitem'},
                hovermode: 'closest', height: 420};
const CONFIG = {responsive: true, displaylogo: false, displayModeBar: 'hover'};
function renderPlots(rows) {
  const ok = rows.filter(r => r.status === 'ok');
  const traces = [];
  for (const [entry, rs] of groupBy(ok.filter(r => r.gap !== null && r.fit_time !== null), r => r.entry)) {
    traces.push({type: 'scatter', mode: 'markers', x: rs.map(r => r.fit_time), ...legend(entry),
                 y: rs.map(r => 100 * r.gap), text: rs.map(hover), hoverinfo: 'text', marker: markers(entry)});
  }
  Plotly.react('plot-gap', traces, Object.assign({}, LAYOUT, {
    title: {text: 'Loss above the best known loss vs fit time (every run)', font: {size: 13}, x: 0.01, xanchor: 'left'},
    xaxis: {type: 'log', title: 'fit time [s]'}, yaxis: {title: 'loss gap [%]'}}), CONFIG);
  if (DATA.has_ari) {
    const at = [];
    for (const [algo, rs] of groupBy(ok.filter(r => r.ari !== null), r => r.entry.split('/')[0])) {
      at.push({type: 'box', name: algo, x: rs.map(r => r.problem), y: rs.map(r => r.ari), boxpoints: 'all',
               jitter: 0.4, pointpos: 0, text: rs.map(hover), hoverinfo: 'text',
               marker: {color: style(rs[0].entry).color, size: 4}, line: {width: 1}});
    }
    Plotly.react('plot-ari', at, Object.assign({}, LAYOUT, {boxmode: 'group',
      title: {text: 'ARI per problem and algorithm', font: {size: 13}, x: 0.01, xanchor: 'left'}, yaxis: {title: 'ARI'},
      xaxis: {tickangle: -30, automargin: true}}), CONFIG);
  }
  const tt = [];
  for (const [entry, rs] of groupBy(ok.filter(r => r.fit_time !== null), r => r.entry)) {
    tt.push({type: 'scatter', mode: 'markers', ...legend(entry), x: rs.map(r => r.problem), y: rs.map(r => r.fit_time),
             text: rs.map(hover), hoverinfo: 'text', marker: markers(entry)});
  }
  Plotly.react('plot-time', tt, Object.assign({}, LAYOUT, {
    title: {text: 'Fit time per problem', font: {size: 13}, x: 0.01, xanchor: 'left'}, yaxis: {type: 'log', title: 'fit time [s]'},
    xaxis: {tickangle: -30, automargin: true}}), CONFIG);
}
function render() { const rows = visible(); renderTable(rows); renderPlots(rows); }
function fromHash() {
  const h = decodeURIComponent(location.hash.replace(/^#/, ''));
  for (const part of h.split('&')) {
    if (!part) continue;
    const i = part.indexOf('='); const k = part.slice(0, i), v = part.slice(i + 1);
    if (k === 'sort') { sortDir = v.startsWith('-') ? -1 : 1; sortCol = v.replace(/^-/, ''); }
    else if (COLS.includes(k)) { filters[k] = v; const box = document.querySelector('input[data-col="' + k + '"]'); if (box) box.value = v; }
  }
}
document.addEventListener('DOMContentLoaded', () => {
  for (const th of document.querySelectorAll('th[data-col]')) {
    th.addEventListener('click', () => {
      const c = th.dataset.col; sortDir = sortCol === c ? -sortDir : 1; sortCol = c; render(); });
  }
  for (const box of document.querySelectorAll('input[data-col]')) {
    box.addEventListener('input', () => { filters[box.dataset.col] = box.value; render(); });
  }
  fromHash();
  render();
});
"""

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em auto; max-width: 1400px;
       color: #222; padding: 0 1em; }
h1 { font-size: 1.4em; } .caption { font-size: .8em; color: #555; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(620px, 1fr)); gap: 1em; }
.plot { min-height: 420px; border: 1px solid #eee; }
table { border-collapse: collapse; font-size: .82em; margin-top: .5em; }
th { cursor: pointer; border-bottom: 1px solid #222; padding: .2em .5em; white-space: nowrap; user-select: none; }
th[data-sort="asc"]::after { content: " ▲"; } th[data-sort="desc"]::after { content: " ▼"; }
td { padding: .1em .5em; border-bottom: 1px solid #f0f0f0; } td.r { text-align: right;
     font-variant-numeric: tabular-nums; }
tr.filters input { width: 100%; box-sizing: border-box; font-size: .9em; min-width: 4em; }
#count { font-size: .85em; color: #333; }
"""


def _json_value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    return v if isinstance(v, (int, str)) else str(v)


def page_data(df: pd.DataFrame, best_known=None) -> dict[str, Any]:
    """The JSON the page draws from: rows (with ``gap`` and ``problem``), columns, styles."""
    import matplotlib.colors as mcolors

    from ..best_known import BestKnown, gaps
    from .figures import _Style
    from .stats import PROBLEM, problem_label

    table = best_known if isinstance(best_known, BestKnown) else (None if best_known is False else BestKnown.load())
    d = df.copy()
    if "loss" in d.columns:
        g = gaps(d, table) if table is not None else d.assign(best_known=np.nan, gap=np.nan)
        # no record: gap to the best finished run of the same problem here
        cols = [c for c in PROBLEM if c in d.columns]
        ok = d["status"] == "ok" if "status" in d.columns else pd.Series(True, index=d.index)
        here = d[ok].groupby(cols)["loss"].transform("min").reindex(d.index)
        ref = g["best_known"].where(g["best_known"].notna(), here)
        with np.errstate(divide="ignore", invalid="ignore"):
            d["gap"] = np.where(ref > 0, d["loss"] / ref - 1.0, np.nan)
    cols = [c for c in PROBLEM if c in d.columns]
    d["problem"] = [problem_label(tuple(r), cols) for r in d[cols].itertuples(index=False)]
    columns = [c for c in TABLE_COLUMNS if c in d.columns]
    numeric = [c for c in columns if pd.api.types.is_numeric_dtype(d[c])]
    keep = [*columns, "problem"]
    rows = [{c: _json_value(v) for c, v in zip(keep, rec, strict=True)}
            for rec in d[keep].itertuples(index=False, name=None)]
    entries = sorted(d["entry"].dropna().astype(str).unique()) if "entry" in d.columns else []
    st = _Style(entries) if entries else None
    libs = sorted({st.marker[b] for b in st.marker}) if st else []
    symbol_of = {m: SYMBOLS[i % len(SYMBOLS)] for i, m in enumerate(libs)}
    style = {e: {"color": mcolors.to_hex(st(e)[0]), "symbol": symbol_of[st(e)[1]], "open": st.variant(e)}
             for e in entries} if st else {}
    has_ari = "ari" in d.columns and pd.to_numeric(d["ari"], errors="coerce").notna().any()
    algos = [e.partition("/")[0] for e in entries]
    grouped = len(set(algos)) < len(algos)  # some algorithm has several implementations
    return {"rows": rows, "columns": columns, "numeric": numeric, "style": style, "has_ari": bool(has_ari),
            "grouped": grouped, "max_rows": 2000}


def write_interactive(df: pd.DataFrame, path: str | os.PathLike, title: str, *, caption: str = "",
                      best_known=None) -> Path:
    """Write the interactive page of ``df`` (results rows) to ``path``; returns the path.

    ``best_known``: a :class:`~bench_core.best_known.BestKnown` table (default: the stored
    one), or False for gaps to the best run in ``df``.
    """
    from plotly.offline import get_plotlyjs

    data = page_data(df, best_known)
    head = "".join(f'<th data-col="{escape(c)}" title="click to sort">{escape(c)}</th>' for c in data["columns"])
    boxes = "".join(f'<th><input data-col="{escape(c)}" placeholder="filter" aria-label="filter {escape(c)}"></th>'
                    for c in data["columns"])
    plots = '<div id="plot-gap" class="plot"></div>'
    if data["has_ari"]:
        plots += '<div id="plot-ari" class="plot"></div>'
    plots += '<div id="plot-time" class="plot"></div>'
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    html = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{_CSS}</style><script>{get_plotlyjs()}</script></head><body>"
            f"<h1>{escape(title)}</h1><p class='caption'>{escape(caption)}</p>"
            "<p class='caption'>Filter: type in the boxes under the headers (text: substring; numbers: "
            "&gt;0.5, &lt;=10, =3); sort: click a header. The figures show the rows that pass the filters. "
            "Gap: loss above the best known loss (results/best_known.json), else the best run here.</p>"
            f"<div class='plots'>{plots}</div>"
            f"<p id='count'></p><table id='results'><thead><tr>{head}</tr><tr class='filters'>{boxes}</tr></thead>"
            "<tbody id='rows'></tbody></table>"
            f"<script>const DATA = {payload};</script><script>{_JS}</script></body></html>")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(html)
    return p


def dump_dom(url_or_path: str | os.PathLike, *, fragment: str = "", wait_ms: int = 3000,
             timeout: float = 90.0) -> str:
    """The page's DOM after its scripts ran, from headless Chromium (``--dump-dom``).

    ``fragment`` is appended as ``#fragment`` (this page reads filters and sorting from it).
    """
    from .. import browser

    exe = browser.find_chromium()
    if exe is None:
        raise browser.BrowserError("no Chromium found; install it with 'make browser'")
    url = browser._url(url_or_path) + (f"#{fragment}" if fragment else "")
    with tempfile.TemporaryDirectory(prefix="kmbench-chromium-") as profile:
        cmd = [exe, *browser.FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={int(wait_ms)}",
               "--dump-dom", url]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=dict(os.environ, HOME=profile))
    if proc.returncode != 0 or not proc.stdout.strip():
        tail = "\n".join((proc.stderr or "").strip().splitlines()[-15:])
        raise browser.BrowserError(f"chromium exited with {proc.returncode} dumping {url}:\n{tail}")
    return proc.stdout
