"""``kmbench validate``: agreement of every external implementation with its reference."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "validate", help="run the agreement matrix (implementations vs references) and write a report",
        description="Run every implementation that names a reference on a fixed grid of cases from the "
                    "same start, check the invariants of every result, and give a verdict per pair. "
                    "Exit status 1 when a pair expected to agree does not, or a provider module fails to load.")
    p.add_argument("--quick", action="store_true", help="small grid (MNIST n = 200..1000, blobs), under two minutes")
    p.add_argument("--algorithm", "-a", action="append", default=None, metavar="NAME",
                   help="only this algorithm (repeatable), e.g. pam")
    p.add_argument("--implementation", "-i", action="append", default=None, metavar="NAME",
                   help="only this implementation (repeatable), e.g. kmedoids or sklearn_extra")
    p.add_argument("--out", type=Path, default=None,
                   help="report folder (default: reports/validation in the project)")
    p.add_argument("--no-write", action="store_true", help="print the table only")
    p.add_argument("--verbose", "-v", action="store_true", help="print every comparison")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import registry
    from ..agreement import QUICK_CASES, full_cases, run_validation, summarize, write_reports
    from ..environment import ROOT, record
    from . import UsageError

    known_algos = sorted({e.algorithm for e in registry.entries()})
    known_impls = sorted({e.implementation for e in registry.entries()})
    for flag, given, known in (("--algorithm", args.algorithm, known_algos),
                               ("--implementation", args.implementation, known_impls)):
        unknown = [g for g in given or () if g not in known]
        if unknown:
            raise UsageError(f"{flag} {', '.join(map(repr, unknown))}: not registered; known: {', '.join(known)}")
    cases = list(QUICK_CASES) if args.quick else full_cases()
    provider_errors = registry.provider_errors()
    for mod, err in provider_errors.items():  # our own code is broken: its entries are missing
        print(f"kmbench validate: provider {mod} failed to load:\n{err}", file=sys.stderr)
    t0 = time.perf_counter()
    env = record()
    print(f"kmbench validate{' --quick' if args.quick else ''}: {len(cases)} cases", flush=True)
    rows = run_validation(cases, algorithms=args.algorithm, implementations=args.implementation,
                          progress=lambda line: print(line, flush=True))
    seconds = time.perf_counter() - t0
    if not rows:
        print("kmbench validate: no implementation matches the filters", file=sys.stderr)
        return 2
    if args.verbose:
        for r in rows:
            gap = "" if r.gap_pct is None else f" ({r.gap_pct:+.3g}%)"
            print(f"  {r.status:<7} {r.algorithm}/{r.implementation:<24} {r.case:<28} {r.verdict}{gap} {r.detail}")
    sums = summarize(rows)
    n_fail = sum(s.status == "FAIL" for s in sums)
    for s in sums:
        if s.status == "FAIL":
            print(f"FAIL {s.name} vs {s.reference} (expected {s.expected}): {s.detail}")
    print(f"{len(sums)} implementations, {len(rows)} comparisons in {seconds:.1f} s: "
          + ("all expectations met" if not n_fail else f"{n_fail} FAIL"))
    if not args.no_write:
        out = args.out if args.out is not None else ROOT / "reports" / "validation"
        paths = write_reports(rows, out, quick=args.quick, cases=cases, seconds=seconds, env=env)
        print("wrote " + ", ".join(str(p) for p in paths))
    if provider_errors:
        print(f"kmbench validate: {len(provider_errors)} provider(s) failed to load (see above)", file=sys.stderr)
    return 1 if n_fail or provider_errors else 0
