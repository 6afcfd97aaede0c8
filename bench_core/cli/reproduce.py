"""``kmbench reproduce PRESET``: run a named experiment and write its report."""

from __future__ import annotations

import argparse
import sys
import textwrap


def add_parser(sub) -> None:
    from ..experiments.presets import PRESETS
    from . import EXIT_CODES

    p = sub.add_parser(
        "reproduce", help="run a preset (quick, joss-table, perf-pam, ...) and write its report",
        description="\n".join(textwrap.fill(f"{k}: {v.description}", 100, subsequent_indent="  ")
                              for k, v in PRESETS.items()),
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("preset", choices=sorted(PRESETS))
    p.add_argument("--resume", action="store_true", help="continue an interrupted run of the preset")
    p.add_argument("--name", default=None, help="results/report name (default: the preset's name)")
    p.add_argument("--quick", action="store_true",
                   help="the preset's smaller grid (same comparisons, seconds to minutes; run in CI)")
    p.add_argument("--full", action="store_true", help="the preset's larger grid (battery: the larger data sets)")
    p.add_argument("--data-dir", default=None,
                   help="folder of the clustering benchmark suite (default $KMBENCH_CLUSTBENCH_DIR or "
                        "datasets/clustbench)")
    p.add_argument("--no-progress", action="store_true")
    from .run import add_dask_arguments

    add_dask_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..experiments.presets import PRESETS, reproduce
    from ..results_io import ResultsFile, command_line
    from ..runner.distributed import DaskUnavailable, settings_from_args
    from .run import check_plan, error_summary, warn_oversubscribed

    if getattr(args, "data_dir", None):
        from ..datasets import clustbench

        clustbench.set_data_dir(args.data_dir)
    dask = settings_from_args(args.dask, args.dask_config, retries=args.dask_retries,
                              connect_timeout=args.dask_timeout)
    preset = PRESETS[args.preset]
    grids = list(preset.grids_for(quick=args.quick, full=args.full))
    if grids:
        check_plan(grids, command="reproduce")
        if dask is None:
            warn_oversubscribed(grids, command="reproduce")
        results = ResultsFile.named(args.name or (f"{args.preset}-quick" if args.quick else
                                                  f"{args.preset}-full" if args.full else args.preset))
        results.lock()  # a second 'kmbench reproduce' of the same name stops here, before any write
    try:
        out = reproduce(args.preset, resume=args.resume, progress=not args.no_progress,
                        results_name=args.name, command=command_line(), quick=args.quick, full=args.full,
                        dask=dask, grids=grids or None)
    except DaskUnavailable as exc:
        print(f"kmbench reproduce: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"kmbench reproduce: interrupted; finished rows are kept. Continue with "
              f"'kmbench reproduce {args.preset}{' --quick' if args.quick else ''} --resume'", file=sys.stderr)
        return 130
    from ..report import relative

    print(f"report: {relative(out / 'index.html')}")
    if grids and results.exists():
        rows = results.load().to_dict("records")
        causes = error_summary(rows)
        if causes:
            print(f"kmbench reproduce: {sum(r['status'] == 'error' for r in rows)} run(s) ended in error, "
                  "by cause:", file=sys.stderr)
            for line in causes:
                print(line, file=sys.stderr)
            return 1
    return 0
