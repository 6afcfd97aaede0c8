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
    "datasets", "env", "list", "validate", "run", "report", "reproduce", "regress", "merge",
)
#: Subcommands that take ``--plugin PATH.py`` (see :mod:`bench_core.plugins`).
PLUGIN_COMMANDS: tuple[str, ...] = ("datasets", "list", "validate", "run", "report", "reproduce")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kmbench",
        description="Benchmarks and reference implementations of k-medoids, k-means and k-median clustering.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
        if name in PLUGIN_COMMANDS:
            sub.choices[name].add_argument(
                "--plugin", action="append", default=[], metavar="PATH.py",
                help="load a plug-in file (an implementation, data set or metric; repeatable; "
                     "also $KMBENCH_PLUGINS and the kmbench.plugins entry points)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "plugin", None):
            from ..plugins import load_plugins

            load_plugins(args.plugin)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("kmbench: interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, MemoryError, KeyError) as exc:
        print(f"kmbench {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
