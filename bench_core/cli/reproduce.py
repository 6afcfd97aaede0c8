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
    from .run import add_dask_arguments

    add_dask_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..presets import reproduce
    from ..results_io import command_line
    from ..runner.distributed import DaskUnavailable, settings_from_args

    dask = settings_from_args(args.dask, args.dask_config, retries=args.dask_retries,
                              connect_timeout=args.dask_timeout)
    try:
        out = reproduce(args.preset, resume=args.resume, progress=not args.no_progress,
                        results_name=args.name, command=command_line(), dask=dask)
    except DaskUnavailable as exc:
        print(f"kmbench reproduce: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"kmbench reproduce: interrupted; finished rows are kept. Continue with "
              f"'kmbench reproduce {args.preset} --resume'", file=sys.stderr)
        return 130
    print(f"report: {out / 'index.html'}")
    return 0
