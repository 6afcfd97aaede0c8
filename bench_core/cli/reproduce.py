"""``kmbench reproduce PRESET``: run a named experiment and write its report."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> None:
    from ..experiments.presets import PRESETS

    p = sub.add_parser(
        "reproduce", help="run a preset (quick, joss-table, perf-pam, ...) and write its report",
        description="Presets: " + "; ".join(f"{k}: {v.description}" for k, v in PRESETS.items()))
    p.add_argument("preset", choices=sorted(PRESETS))
    p.add_argument("--resume", action="store_true", help="continue an interrupted run of the preset")
    p.add_argument("--name", default=None, help="results/report name (default: the preset's name)")
    p.add_argument("--quick", action="store_true",
                   help="the preset's smaller grid (same comparisons, seconds to minutes; run in CI)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..experiments.presets import reproduce
    from ..results_io import command_line

    try:
        out = reproduce(args.preset, resume=args.resume, progress=not args.no_progress,
                        results_name=args.name, command=command_line(), quick=args.quick)
    except KeyboardInterrupt:
        print(f"kmbench reproduce: interrupted; finished rows are kept. Continue with "
              f"'kmbench reproduce {args.preset} --resume'", file=sys.stderr)
        return 130
    print(f"report: {out / 'index.html'}")
    return 0
