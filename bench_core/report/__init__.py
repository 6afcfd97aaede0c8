"""``kmbench report``: Markdown, HTML and LaTeX tables and PNG/SVG figures from results files.

``write_report(paths, name)`` writes ``reports/<name>/``:

- ``index.md``, ``index.html``: every table and figure, with provenance;
- ``tables/<id>.tex`` (booktabs) and ``report.tex`` (a document inputting them; compiled to
  ``report.pdf`` when a TeX engine is installed, otherwise syntax-checked);
- ``figures/<id>.png`` and ``.svg``;
- ``rows.csv`` (the rows used) and ``provenance.json`` (environment records, commands).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from ..environment import ROOT, summary_line
from ..families import FAMILIES
from ..results_io import command_line, load_many
from . import html as html_mod
from . import latex
from .figures import make_figures
from .sources import sources_tables
from .tables import (
    Table,
    add_machines,
    diss_table,
    joss_tables,
    loss_table,
    runtime_table,
    side_by_side_table,
    speedup_table,
    status_table,
)

REPORTS_DIR = Path(os.environ.get("KMBENCH_REPORTS", ROOT / "reports"))


def relative(path: str | Path) -> str:
    """``path`` relative to the project root when it lies inside it (reports never print
    this machine's absolute paths), else as given."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(ROOT.resolve()))
    except ValueError:
        return str(path)


def provenance(df, meta: dict, report_command: str | None) -> tuple[str, list[str], list[str]]:
    """(one-line caption, machine lines, command lines) for the rows in ``df``."""
    used = [e for e in dict.fromkeys(df["env_id"].dropna().astype(str)) if e in meta["environments"]]
    machines = [summary_line(meta["environments"][e]) for e in used] or ["unknown machine"]
    commands = list(dict.fromkeys(c["command"] for c in meta.get("commands", []) if c.get("command")))
    if report_command and report_command not in commands:
        commands.append(report_command)
    shown = commands if len(commands) <= 4 else [*commands[:3], f"... ({len(commands) - 3} more)"]
    caption = "Machine: " + " | ".join(machines) + ". Commands: " + "; ".join(shown) + "."
    return caption, machines, commands


def write_report(paths: Iterable[str | Path], name: str | None = None, *, out_dir: Path | None = None,
                 command: str | None = None, title: str | None = None,
                 extra: Callable[[object, str], list[tuple[str, list[Table]]]] | None = None,
                 compile_latex: bool = True) -> Path:
    """Write the report of the results files ``paths``; returns its folder.

    ``extra(df, caption)`` may add sections (name, tables) after the JOSS tables
    (presets use it). ``command`` is recorded as the report's own command.
    """
    paths = list(paths)
    df, meta = load_many(paths)
    df = add_machines(df, meta["environments"])
    name = name or Path(str(paths[0])).stem
    out = Path(out_dir) if out_dir else REPORTS_DIR / name
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("figures", "tables"):
        shutil.rmtree(out / sub, ignore_errors=True)
    command = command or command_line()
    caption, machines, commands = provenance(df, meta, command)
    meta["sources"] = [relative(p) for p in meta["sources"]]

    sections: list[tuple[str, list[Table]]] = [("JOSS-paper layout", joss_tables(df, caption))]
    if extra is not None:
        sections += extra(df, caption)
    # one section per family, in the order of bench_core.families (runtime, then loss)
    for fam in FAMILIES.values():
        sub = df[df["family"] == fam.name]
        if len(sub):
            sections.append((fam.title, runtime_table(sub, caption, tag=fam.name)
                             + loss_table(sub, caption, tag=fam.name)))
    sections += [
        ("Our implementations against their peers", side_by_side_table(df, caption)),
        ("Speed-up over PAM", speedup_table(df, caption)),
        ("Distance matrices", diss_table(df, caption)),
        ("Runs that did not finish", status_table(df, caption)),
        ("Sources of the data sets", sources_tables(df, caption)),
    ]
    sections = [(s, t) for s, t in sections if t]
    tables = [t for _, ts in sections for t in ts]
    figures = make_figures(df, out / "figures", caption)

    title = title or f"kmbench report: {name}"
    latex_status = write_document(out, title, sections, figures, machines, commands, meta["sources"], caption,
                                  compile_latex=compile_latex)
    df.to_csv(out / "rows.csv", index=False)
    from .interactive import write_interactive

    write_interactive(df, out / "interactive.html", title, caption=caption)
    used_env = {e: meta["environments"][e] for e in df["env_id"].dropna().astype(str).unique()
                if e in meta["environments"]}
    (out / "provenance.json").write_text(json.dumps(
        {"title": title, "commands": commands, "sources": meta["sources"], "environments": used_env,
         "latex": latex_status, "tables": [t.id for t in tables], "figures": [f.id for f in figures]},
        indent=1, default=str))
    return out


def write_document(out: Path, title: str, sections: list[tuple[str, list[Table]]], figures,
                   machines: list[str], commands: list[str], sources: list[str], caption: str,
                   *, compile_latex: bool = True) -> dict:
    """Write index.md, index.html, tables/*.tex and report.tex; returns the LaTeX status."""
    tables = [t for _, ts in sections for t in ts]
    # Markdown
    md = [f"# {title}", "", "Machines: " + "; ".join(machines), "", "Commands:", ""]
    md += [f"    {c}" for c in commands]
    md += ["", f"Results: {', '.join(sources)}", ""]
    for s, ts in sections:
        md += [f"## {s}", ""] + [t.to_markdown() for t in ts]
    if figures:
        md += ["## Figures", ""]
        for f in figures:
            md += [f"![{f.title}](figures/{f.png.name})", "", f"*{f.title}* ([SVG](figures/{f.svg.name}))", ""]
    (out / "index.md").write_text("\n".join(md))

    # LaTeX
    (out / "tables").mkdir(exist_ok=True)
    problems = {}
    for t in tables:
        tex = latex.table_tex(t)
        (out / "tables" / f"{t.id}.tex").write_text(tex)
        if p := latex.check_syntax(tex):
            problems[t.id] = p
    doc = latex.document(tables, figures, title, caption)
    (out / "report.tex").write_text(doc)
    if p := latex.check_syntax(doc):
        problems["report.tex"] = p
    latex_status = {"syntax_problems": problems, "engine": latex.find_engine(), "compiled": None}
    if compile_latex and latex_status["engine"]:
        ok, log = latex.compile_pdf(out / "report.tex")
        latex_status |= {"compiled": ok, "log": log if not ok else ""}

    # HTML
    prov = ("<p class='caption'><b>Machines:</b> " + "<br>".join(html_mod.escape(m) for m in machines)
            + "<br><b>Commands:</b><br>" + "<br>".join(f"<code>{html_mod.escape(c)}</code>" for c in commands)
            + f"<br><b>Results:</b> {html_mod.escape(', '.join(sources))}"
            + " · <a href='index.md'>Markdown</a> · <a href='report.tex'>LaTeX</a> · "
            + "<a href='rows.csv'>rows</a></p>")
    (out / "index.html").write_text(html_mod.page(title, prov, sections, figures, out))
    return latex_status


__all__ = ["REPORTS_DIR", "Table", "write_document", "write_report"]
