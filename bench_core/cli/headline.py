"""``kmbench headline``: the README's headline table, generated from stored results.

Reads results files (by default the stored ``perf-*`` reproductions in
``results/runs/``), renders the side-by-side table of our implementations
against their peers (:func:`bench_core.report.tables.side_by_side_table`), and
prints it, or with ``--write README.md`` replaces the block between the markers
``<!-- headline:start -->`` and ``<!-- headline:end -->`` in that file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

START, END = "<!-- headline:start -->", "<!-- headline:end -->"
DEFAULT = ("perf-pam", "perf-msc", "perf-kmeans")


def add_parser(sub) -> None:
    p = sub.add_parser("headline", help="the README's headline table from stored results",
                       description=__doc__.splitlines()[0])
    p.add_argument("results", nargs="*", help=f"results files or names (default: {', '.join(DEFAULT)})")
    p.add_argument("--write", metavar="FILE", default=None,
                   help="replace the block between the headline markers in FILE (e.g. README.md)")
    p.set_defaults(func=run)


def render(paths: list[str]) -> str:
    from ..report import provenance, relative
    from ..report.tables import side_by_side_table
    from ..results_io import load_many

    df, meta = load_many(paths)
    caption, machines, commands = provenance(df, meta, None)
    tables = side_by_side_table(df, caption)
    if not tables:
        raise ValueError("the results hold no implementation measured beside its reference")
    t = tables[0]
    lines = ["| " + " | ".join(t.columns) + " |", "|" + "|".join("---:" if a == "r" else ":---"
                                                                 for a in t.alignment()) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in t.rows]
    machines = list(dict.fromkeys(machines))  # results from one environment: named once
    lines += ["", t.notes[0], "", "Machine: " + "; ".join(machines) + ".",
              "Results: " + ", ".join(f"`{relative(p)}`" for p in meta["sources"]) + ".",
              "Made by: " + "; ".join(f"`{c}`" for c in commands) + "; this table: `kmbench headline"
              + (" " + " ".join(Path(relative(p)).stem for p in paths) if paths else "") + " --write README.md`."]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..results_io import ResultsFile

    names = args.results or [n for n in DEFAULT if ResultsFile.named(n).exists()]
    if not names:
        raise FileNotFoundError(f"no stored results: run 'kmbench reproduce {DEFAULT[0]}' first")
    paths = [str(ResultsFile.named(n).path) if not Path(n).exists() else n for n in names]
    text = render(paths)
    if args.write is None:
        print(text)
        return 0
    target = Path(args.write)
    body = target.read_text()
    if START not in body or END not in body:
        raise ValueError(f"{target} has no {START} ... {END} block")
    head, _, rest = body.partition(START)
    _, _, tail = rest.partition(END)
    from ..atomic import atomic_write_text

    atomic_write_text(target, f"{head}{START}\n{text}\n{END}{tail}")
    print(f"headline table written to {target}")
    return 0
