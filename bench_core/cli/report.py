"""``kmbench report``: tables and figures from results files into reports/<name>/."""

from __future__ import annotations

import argparse
import json


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report", help="write reports/NAME/ (Markdown, HTML, LaTeX tables, PNG/SVG figures) from run results",
        description="Read one or more results files (results/runs/NAME.csv, or names) and write reports/NAME/.")
    p.add_argument("results", nargs="+", help="results files or names under results/runs/")
    p.add_argument("--name", default=None, help="report folder name (default: the first results name)")
    p.add_argument("--out", default=None, help="write to this folder instead of reports/NAME/")
    p.add_argument("--title", default=None)
    p.add_argument("--no-latex-compile", action="store_true", help="only syntax-check the LaTeX")
    p.add_argument("--screenshot", action="store_true", help="also render index.html to screenshot.png (Chromium)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..report import relative, write_report
    from ..results_io import command_line

    out = write_report(args.results, args.name, out_dir=Path(args.out) if args.out else None, title=args.title,
                       command=command_line(), compile_latex=not args.no_latex_compile)
    prov = json.loads((out / "provenance.json").read_text())
    lx = prov["latex"]
    if lx["syntax_problems"]:
        print(f"LaTeX syntax problems: {lx['syntax_problems']}")
    state = ("compiled to report.pdf" if lx["compiled"] else "did NOT compile (see provenance.json)"
             if lx["compiled"] is False else "syntax-checked (no TeX engine found)")
    print(f"{len(prov['tables'])} tables, {len(prov['figures'])} figures; LaTeX {state}")
    if args.screenshot:
        from ..browser import find_chromium, screenshot

        if find_chromium() is None:
            print("no Chromium found: screenshot skipped ('make browser' installs it)")
        else:
            print(f"screenshot: {screenshot(out / 'index.html', out / 'screenshot.png', height=2400)}")
    print(f"report: {relative(out / 'index.html')}")
    return 0
