"""``kmbench list``: the registry, with availability and reasons."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("list", help="list registered implementations and whether they are available")
    p.add_argument("--family", default=None)
    p.add_argument("--available", action="store_true", help="only available implementations")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import registry
    from . import UsageError

    families = sorted({e.family for e in registry.entries()})
    if args.family is not None and args.family not in families:
        raise UsageError(f"--family {args.family!r} is not a family; known: {', '.join(families)}")
    rows = list(registry.entries(family=args.family, available=True if args.available else None))
    width = max((len(e.name) for e in rows), default=10)
    for e in rows:
        ok, why = e.availability()
        status = "ok" if ok else f"UNAVAILABLE ({why})"
        ref = f" [vs {e.reference}: {e.agreement}]" if e.reference else ""
        print(f"{e.name:<{width}}  {e.family:<10} {e.language:<8} {status}{ref}")
    for mod, err in registry.provider_errors().items():
        print(f"provider {mod} failed to load:\n{err}")
    return 1 if registry.provider_errors() else 0
