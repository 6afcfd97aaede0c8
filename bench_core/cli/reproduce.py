"""``kmbench reproduce PRESET``: run a named experiment and write its report."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> None:
    from ..presets import PRESETS

    p = sub.add_parser(
        "reproduce", help="run a preset (quick, joss-table, fasterpam-vs-pam, kselect) and write its report",
        description="Presets: " + "; ".join(f"{k}: {v.description}" for k, v in PRESETS.items()))
    p.add_argument("preset", choices=sorted(PRESETS))
    p.add_argument("--resume", action="store_true", help="continue an interrupted run of the preset")
    p.add_argument("--name", default=None, help="results/report name (default: the preset's name)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--quick", action="store_true",
                   help="joss-table only: the quick variant (MNIST n = 2,000, 3 restarts; run in CI)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..presets import PRESETS, reproduce
    from ..results_io import command_line

    preset = args.preset
    if args.quick:
        if f"{preset}-quick" not in PRESETS:
            raise ValueError(f"--quick: preset {preset!r} has no quick variant "
                             f"(those with one: {', '.join(p[:-6] for p in PRESETS if p.endswith('-quick'))})")
        preset = f"{preset}-quick"
    try:
        out = reproduce(preset, resume=args.resume, progress=not args.no_progress,
                        results_name=args.name, command=command_line())
    except KeyboardInterrupt:
        print(f"kmbench reproduce: interrupted; finished rows are kept. Continue with "
              f"'kmbench reproduce {args.preset}{' --quick' if args.quick else ''} --resume'", file=sys.stderr)
        return 130
    print(f"report: {out / 'index.html'}")
    return 0
