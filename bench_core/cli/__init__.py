"""The ``kmbench`` command line.

Each subcommand lives in its own module under ``bench_core.cli`` and exposes
``add_parser(subparsers)``, which registers the subcommand and sets ``func``
(called with the parsed arguments, returning an exit code); adding a
subcommand is adding a module and its name to :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS: tuple[str, ...] = (
    "datasets", "env", "list", "validate", "run", "report", "reproduce", "regress",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kmbench",
        description="Benchmarks and reference implementations of k-medoids, k-means and k-median clustering.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("kmbench: interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, MemoryError, KeyError) as exc:
        print(f"kmbench {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
