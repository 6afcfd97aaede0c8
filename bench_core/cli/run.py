"""``kmbench run``: run a grid of implementations x data x n x k x dtype x seeds."""

from __future__ import annotations

import argparse
import sys
import textwrap
import time


def _list(conv=str, what: str = "values"):
    def parse(text: str):
        out = []
        for x in text.split(","):
            if not x.strip():
                continue
            try:
                out.append(conv(x.strip()))
            except ValueError:
                raise argparse.ArgumentTypeError(f"{x.strip()!r} is not {what} (comma-separated)") from None
        return out
    return parse


def _k(text: str) -> int | str:
    return "true" if text == "true" else int(text)


def _datasets(text: str) -> list[str]:
    """``"blobs:k=3,d=2,mnist"`` -> ``["blobs:k=3,d=2", "mnist"]``: a ``key=value`` item is a parameter
    of the data set before it, anything else starts a new data set."""
    out: list[str] = []
    for item in (x.strip() for x in text.split(",")):
        if not item:
            continue
        if out and "=" in item and ":" not in item.split("=", 1)[0] and ":" in out[-1] \
                and not out[-1].startswith(("file:", "diss:")):
            out[-1] += "," + item
        else:
            out.append(item)
    return out


def _n(text: str) -> int | None:
    return None if text in ("all", "full") else int(text)


def parse_seeds(text: str) -> list[int]:
    """``"5"`` -> 0..4; ``"3-7"`` -> 3..7; ``"0,4,9"`` -> those."""
    expected = "expected a count (5 = seeds 0..4), a range (3-7) or a list (0,4,9)"
    try:
        if "," in text:
            return [int(x) for x in text.split(",") if x.strip()]
        if "-" in text.strip("-"):
            a, b = text.split("-", 1)
            if int(b) < int(a):
                raise argparse.ArgumentTypeError(f"{text!r} is an empty range; {expected}")
            return list(range(int(a), int(b) + 1))
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a seed count, range or list; {expected}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: the count must be at least 1; {expected}")
    return list(range(count))


def _number(conv, what: str):
    def parse(text: str):
        try:
            return conv(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    return parse


def add_grid_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("grid")
    g.add_argument("--algorithms", type=_list(), default=["fasterpam"],
                   help="algorithm names or patterns, comma-separated ('all': every clustering family)")
    g.add_argument("--impl", type=_list(), default=["all"], dest="implementations",
                   help="implementations (reference, kmedoids, sklearn_extra, pyclustering, ...; patterns ok; "
                        "default all)")
    g.add_argument("--entries", type=_list(), default=[],
                   help="extra full registry names (patterns), e.g. 'pam/reference,fasterpam/kmedoids*'")
    g.add_argument("--dataset", type=_datasets, default=["mnist"], dest="datasets",
                   help="data sets, comma-separated; parameters as 'blobs:k=5,d=10' (e.g. 'blobs:k=5,d=10,iris')")
    g.add_argument("--n", type=_list(_n, "a size or 'all'"), default=[1000], dest="ns", help="sizes (first n rows), e.g. 1000,5000")
    g.add_argument("--k", type=_list(_k, "a whole number or 'true'"), default=[10], dest="ks",
                   help="numbers of clusters, e.g. 10,100; 'true': the number of clusters of each data set's "
                        "reference partition")
    g.add_argument("--dtype", type=_list(), default=["float64"], dest="dtypes", help="float64,float32")
    g.add_argument("--metric", type=_list(), default=["euclidean"], dest="metrics")
    g.add_argument("--seeds", type=parse_seeds, default=[0],
                   help="restarts: a count (5 = seeds 0..4), a range 3-7 or a list 0,4,9")
    g.add_argument("--init", default="auto",
                   help="start: auto (BUILD for PAM, random medoids otherwise), random, build, k-medoids++, lab")
    g.add_argument("--max-iter", type=_number(int, "a whole number"), default=None)
    g.add_argument("--threads", type=_number(int, "a whole number"), default=1, dest="n_threads", help="threads per run (pinned; default 1)")
    g.add_argument("--data-seed", type=_number(int, "a whole number"), default=0, help="seed of synthetic data sets")
    g.add_argument("--data-dir", default=None,
                   help="folder of the clustering benchmark suite for clustbench:BATTERY/NAME data sets "
                        "(default $KMBENCH_CLUSTBENCH_DIR or datasets/clustbench)")
    g.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="algorithm option passed in Task.options (repeatable)")
    e = p.add_argument_group("execution")
    e.add_argument("--time-limit", type=_number(float, "a number of seconds"), default=600.0, help="seconds per run before it is killed (default 600)")
    e.add_argument("--restart-budget", type=_number(float, "a number of seconds"), default=None,
                   help="seconds of fit time per implementation and cell; later seeds are recorded as skipped")
    e.add_argument("--no-silhouette", action="store_true", help="do not compute silhouette/medoid silhouette")
    e.add_argument("--silhouette-max-n", type=_number(int, "a whole number"), default=20000, help="skip the O(n^2) silhouette above this n")
    e.add_argument("--in-process", action="store_true",
                   help="run in this process (debugging; no time limit, no crash isolation)")
    e.add_argument("--no-cache", action="store_true", help="recompute distance matrices (no disk cache)")
    e.add_argument("--no-progress", action="store_true")


def add_dask_arguments(p: argparse.ArgumentParser) -> None:
    d = p.add_argument_group("Dask (docs/guide/dask.md)")
    d.add_argument("--dask", default=None, metavar="TARGET",
                   help="run on Dask: local:N (N single-threaded worker processes on this machine, loopback only) "
                        "or a scheduler address tcp://HOST:PORT (workers: 'dask worker ADDRESS --nthreads 1 "
                        "--resources kmbench=1')")
    d.add_argument("--dask-config", default=None, metavar="FILE.yaml",
                   help="a Dask cluster from a file: ssh hosts, or slurm/pbs/sge/lsf/... jobs (dask-jobqueue) "
                        "with cores, memory, walltime, queue, jobs; TLS security settings")
    d.add_argument("--dask-retries", type=int, default=None, metavar="N",
                   help="re-queue a run lost with its worker N times, then record it as 'lost' (default 1)")
    d.add_argument("--dask-timeout", type=float, default=None, metavar="S",
                   help="seconds to reach the scheduler before giving up (default 10)")


def add_parser(sub) -> None:
    from . import EXIT_CODES

    p = sub.add_parser(
        "run", help="run a grid of implementations and write tidy rows to results/runs/",
        description=textwrap.fill(
            "Run every registered implementation matching --algorithms/--impl on every data set, n, k, "
            "dtype and seed; one row per run, appended atomically to results/runs/NAME.csv. The whole "
            "grid is checked before the first run: any invalid value is reported (one line per "
            "problem) and nothing is created.", 100),
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_grid_arguments(p)
    add_dask_arguments(p)
    p.add_argument("--name", default=None, help="results name (default: run-YYYYmmdd-HHMMSS) or a .csv path")
    p.add_argument("--resume", action="store_true", help="continue NAME: skip runs already finished")
    p.add_argument("--overwrite", action="store_true", help="start NAME afresh")
    p.add_argument("--dry-run", action="store_true", help="check the grid, print the plan and exit")
    p.add_argument("--report", action="store_true", help="write reports/NAME/ afterwards")
    p.set_defaults(func=run)


def spec_from_args(args: argparse.Namespace):
    from ..runner import GridSpec, parse_dataset
    from . import UsageError

    options = {}
    for item in args.option:
        key, eq, val = item.partition("=")
        if not eq or not key:
            raise UsageError(f"--option {item!r} must look like KEY=VALUE")
        options[key] = parse_dataset(f"x:{key}={val}")[1][key]
    return GridSpec(algorithms=args.algorithms, implementations=args.implementations, entries=args.entries,
                    datasets=args.datasets, ns=args.ns, ks=args.ks, dtypes=args.dtypes, metrics=args.metrics,
                    seeds=args.seeds, init=args.init, max_iter=args.max_iter, n_threads=args.n_threads,
                    time_limit=args.time_limit, restart_budget=args.restart_budget,
                    silhouette=not args.no_silhouette, silhouette_max_n=args.silhouette_max_n,
                    data_seed=args.data_seed, options=options)


def check_plan(specs: list, command: str = "run") -> None:
    """Print every problem of the grid and raise :class:`UsageError` (exit 2) if there is one."""
    from ..plan_checks import check_grid
    from . import UsageError

    problems = check_grid(specs)
    if problems:
        for line in problems:
            print(f"kmbench {command}: invalid: {line}", file=sys.stderr)
        raise UsageError(f"{len(problems)} problem(s) in the grid (listed above); nothing was run or written")


def warn_oversubscribed(specs: list, command: str = "run") -> None:
    """Warn (stderr) when a run of a local grid asks for more threads than this process's CPUs.

    The runs still run, with the same results, but their threads share the CPUs, so their
    times do not show what that many threads would do. Not called for Dask runs, whose
    workers may have other CPUs.
    """
    from ..environment import usable_cpus

    usable = usable_cpus()
    most = max((s.n_threads for s in specs), default=1)
    if most > usable:
        print(f"kmbench {command}: warning: runs with {most} threads on the {usable} CPU(s) this process may "
              f"use: the threads share them, so the times will not show what {most} threads do "
              "(the results are the same)", file=sys.stderr)


def error_summary(rows: list[dict]) -> list[str]:
    """One line per cause of the ``error`` rows: count, the first line of the message, the entries."""
    causes: dict[str, list[str]] = {}
    for row in rows:
        if row.get("status") == "error":
            first = (str(row.get("error") or "no message").strip().splitlines() or ["no message"])[0][:160]
            causes.setdefault(first, []).append(str(row.get("entry")))
    out = []
    for cause, entries in sorted(causes.items(), key=lambda kv: -len(kv[1])):
        names = sorted(set(entries))
        out.append(f"  {len(entries):4d} x {cause}  [{', '.join(names[:4])}{', ...' if len(names) > 4 else ''}]")
    return out


def run(args: argparse.Namespace) -> int:
    from ..results_io import ResultsFile, command_line
    from ..runner import run_grid
    from ..runner.distributed import DaskUnavailable, run_on_dask, settings_from_args
    from . import UsageError

    if args.resume and args.overwrite:
        raise UsageError("--resume and --overwrite contradict each other; give one of them")
    if args.data_dir:
        from ..datasets import clustbench

        clustbench.set_data_dir(args.data_dir)
    spec = spec_from_args(args)
    check_plan([spec])
    dask = settings_from_args(args.dask, args.dask_config, retries=args.dask_retries,
                              connect_timeout=args.dask_timeout)
    if dask is not None and args.in_process:
        raise UsageError("--in-process cannot be combined with --dask: each Dask run is a forked child")
    if dask is None:
        warn_oversubscribed([spec])
    name = args.name or time.strftime("run-%Y%m%d-%H%M%S")
    results = ResultsFile.named(name)
    if args.dry_run:
        from ..plan_checks import describe_plan

        plan = describe_plan([spec])
        for line in plan:
            print(line)
        state = (" (exists: would be resumed)" if args.resume else " (exists: would be overwritten)"
                 if args.overwrite else " (exists: add --resume or --overwrite)") if results.exists() else ""
        print(f"{len(plan)} runs, grid checked -> {results.path}{state}")
        return 0
    if results.exists() and not (args.resume or args.overwrite):
        raise UsageError(f"results {results.path} already exist; pass --resume to continue them, --overwrite "
                         "to start afresh, or another --name")
    results.lock()  # before anything is written: a second process on this name stops here
    rows: list[dict] = []
    try:
        if dask is not None:
            summary = run_on_dask([spec], results, dask, resume=args.resume, overwrite=args.overwrite,
                                  progress=not args.no_progress, use_cache=not args.no_cache,
                                  command=command_line(), log=lambda m: print(m, file=sys.stderr),
                                  on_row=rows.append)
        else:
            summary = run_grid([spec], results, resume=args.resume, overwrite=args.overwrite,
                               progress=not args.no_progress, isolate=not args.in_process,
                               use_cache=not args.no_cache, command=command_line(), on_row=rows.append)
    except DaskUnavailable as exc:
        print(f"kmbench run: error: {exc}", file=sys.stderr)
        if results.exists():
            print(f"kmbench run: finished rows are in {results.path} (continue with --name {name} --resume)",
                  file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"kmbench run: interrupted; finished rows are in {results.path} "
              f"(continue with --name {name} --resume)", file=sys.stderr)
        return 130
    finally:
        results.unlock()
    print(summary.line())
    if args.report:
        from ..report import relative, write_report

        out = write_report([results.path], name=results.path.stem, command=command_line())
        print(f"report: {relative(out / 'index.html')}")
    causes = error_summary(rows)
    if causes:
        n_err = summary.counts.get("error", 0)
        print(f"kmbench run: {n_err} run(s) ended in error, by cause:", file=sys.stderr)
        for line in causes:
            print(line, file=sys.stderr)
        return 1
    return 0
