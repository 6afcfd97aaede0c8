"""``kmbench merge A.csv B.csv ... -o OUT.csv``: results from several machines or runs in one file."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> None:
    p = sub.add_parser(
        "merge", help="combine results files (several machines or runs) into one",
        description="Combine results files into one, with their environment records and commands. A run id "
                    "in several inputs with different rows is reported and must be resolved with --keep; "
                    "it is never written twice.")
    p.add_argument("inputs", nargs="+", metavar="RESULTS.csv", help="results files (paths or names in results/runs/)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.csv", help="the merged results file")
    p.add_argument("--keep", choices=("first", "last"), default=None,
                   help="for a run id with different rows in several inputs: keep the row of the first or "
                        "the last input holding it (default: stop and list them)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT.csv if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..merge import merge_results
    from ..results_io import command_line

    try:
        summary = merge_results(args.inputs, args.output, keep=args.keep, overwrite=args.overwrite,
                                command=command_line())
    except FileExistsError as exc:
        print(f"kmbench merge: error: {exc}", file=sys.stderr)
        return 2
    for line in summary.lines():
        print(line)
    for c in summary.conflicts[:10]:
        print(f"  {c.run_id}: " + ", ".join(f"{s} ({st})" for s, st in zip(c.sources, c.statuses, strict=True)))
    return 0
