"""``kmbench regress``: the asv regression gate.

Two ways in:

* ``kmbench regress BASE HEAD`` benchmarks two commits (quick profile, current
  ``.venv``, the working tree's suites, the instruction profile under Valgrind
  when it is installed) and compares them;
* ``kmbench regress --results A.json B.json`` compares two stored asv result files
  (a path, or a commit name looked up in ``results/asv/<machine>/``).

Signals: instruction counts (``track_instructions``) at ``--instr-factor``
(default 1.03; a count that varies between runs of one commit is not gated),
wall time (``time_*``) at ``--factor`` (default 1.5), tracked losses at
``--loss-rtol``; the report names the signal that fired.

Exit codes: 0 pass, 1 regression, 2 usage error, 3 incomplete (failed, skipped or
missing benchmarks), 4 no environment (a commit produced no results).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def add_parser(sub) -> None:
    from .. import regress as r

    p = sub.add_parser(
        "regress", help="benchmark two commits (or compare two asv result files) and gate on regressions",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("commits", nargs="*", metavar="COMMIT",
                   help="BASE and HEAD to benchmark (default: HEAD~1 HEAD)")
    p.add_argument("--results", nargs=2, metavar=("BASE", "HEAD"),
                   help="compare two stored asv result files (paths, or commits with stored results)")
    p.add_argument("--factor", type=float, default=r.DEFAULT_FACTOR,
                   help="a time_* benchmark slower than this factor is a regression (default %(default)s)")
    p.add_argument("--instr-factor", type=float, default=r.DEFAULT_INSTR_FACTOR,
                   help="a track_instructions count above this factor is a regression (default %(default)s)")
    p.add_argument("--nd-rtol", type=float, default=r.DEFAULT_ND_RTOL,
                   help="an instruction count varying by more than this between runs of one commit is "
                        "non-deterministic and not gated (default %(default)s)")
    p.add_argument("--ll-factor", type=float, default=None,
                   help="also gate the simulated last-level cache misses at this factor (default: report only)")
    p.add_argument("--no-instructions", action="store_true",
                   help="skip the instruction profile (Valgrind) when benchmarking commits")
    p.add_argument("--loss-rtol", type=float, default=r.DEFAULT_LOSS_RTOL,
                   help="relative tolerance before a tracked loss counts as worse (default %(default)s)")
    p.add_argument("--mem-factor", type=float, default=None,
                   help="also gate peakmem_* benchmarks at this factor (default: report only)")
    p.add_argument("--min-time", type=float, default=0.0,
                   help="ignore slowdowns of benchmarks faster than this many seconds in HEAD (default 0)")
    p.add_argument("--strict", action="store_true",
                   help="combinations skipped in both sets fail the gate too")
    p.add_argument("--machine", default=r.DEFAULT_MACHINE, help="asv machine name (default %(default)s)")
    p.add_argument("--profile", default="quick", help="suite profile for BASE HEAD runs (default %(default)s)")
    p.add_argument("--asv-quick", action="store_true",
                   help="pass --quick to asv (one sample per benchmark: fast, noisier)")
    p.add_argument("--confirm", type=int, default=1,
                   help="re-measure slower benchmarks this many times, HEAD then BASE; a slowdown "
                        "that does not repeat is reported as noisy (default %(default)s)")
    p.add_argument("--bench", action="append", metavar="REGEX",
                   help="only benchmarks matching this regular expression (repeatable)")
    p.add_argument("--json", metavar="PATH", help="also write the comparison as JSON")
    p.add_argument("--root", type=Path, default=None,
                   help="repository holding asv.conf.json (default: this checkout)")
    p.add_argument("--show-ok", action="store_true", help="list unchanged benchmarks too")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import regress as r

    root = args.root if args.root is not None else r.ROOT
    kwargs = dict(factor=args.factor, loss_rtol=args.loss_rtol, mem_factor=args.mem_factor,
                  min_time=args.min_time, strict=args.strict, instr_factor=args.instr_factor,
                  nd_rtol=args.nd_rtol, ll_factor=args.ll_factor)
    if args.no_instructions:
        from ..regress.instructions import DISABLE_ENV

        os.environ[DISABLE_ENV] = "0"  # read by suites/bench_instructions.py in asv's processes
    if args.results:
        if args.commits:
            raise ValueError("give either BASE HEAD commits or --results A B, not both")
        base, head = (r.find_results(s, root=root, machine=args.machine) for s in args.results)
        cmp = r.compare(r.load_results(base), r.load_results(head), **kwargs)
    else:
        commits = args.commits or ["HEAD~1", "HEAD"]
        if len(commits) != 2:
            raise ValueError(f"expected BASE and HEAD, got {len(commits)} commits: {' '.join(commits)}")
        cmp = r.regress_commits(commits[0], commits[1], root=root, machine=args.machine, profile=args.profile,
                                quick=args.asv_quick, bench=args.bench, confirm=args.confirm, **kwargs)
    print(cmp.format(show_ok=args.show_ok))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(cmp.to_dict(), indent=1, allow_nan=True))
    return cmp.exit_code()
