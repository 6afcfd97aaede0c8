"""The ``kmbench`` command line.

Each subcommand lives in its own module under ``bench_core.cli`` and exposes
``add_parser(subparsers)``, which registers the subcommand and sets ``func``
(called with the parsed arguments, returning an exit code); adding a
subcommand is adding a module and its name to :data:`SUBCOMMANDS`.

Every subcommand follows the same exit statuses (:data:`EXIT_CODES`): user
errors give one clear line and status 2, never a traceback; genuine internal
errors still show one, with a line asking to report it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
import warnings

SUBCOMMANDS: tuple[str, ...] = (
    "datasets", "env", "list", "validate", "run", "report", "reproduce", "regress", "headline", "merge",
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


class UsageError(Exception):
    """A mistake in the command line or its inputs: a message and exit status 2, no traceback."""


#: Exit statuses of every subcommand (``kmbench run --help`` prints them).
EXIT_CODES = """exit status:
  0    every run ended as planned (ok, or timeout/skipped/unavailable with the reason recorded)
  1    at least one run ended in 'error' (a summary by cause is printed at the end), or the
       command could not finish (a write error such as a full disk; an internal error)
  2    usage error: an invalid option value, grid, file or results name (nothing was created)
  130  interrupted (Ctrl-C); finished rows are kept, continue with --resume"""


def _user_errors() -> tuple[type[BaseException], ...]:
    from ..results_io import ResultsFileError

    return (UsageError, ResultsFileError, ValueError, FileNotFoundError, FileExistsError, PermissionError,
            NotADirectoryError, IsADirectoryError, MemoryError, KeyError)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings from kmbench's own code as one line (``kmbench: warning: ...``), others as usual."""
    if category.__module__.startswith("bench_core") or "bench_core" in str(filename):
        print(f"kmbench: warning: {message}", file=file or sys.stderr)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


_default_showwarning = warnings.showwarning


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the subcommand; returns its exit status (see :data:`EXIT_CODES`).

    User errors (:data:`_user_errors`) print one line, ``kmbench CMD: error: ...``,
    and return 2; a write error (disk full...) returns 1; any other exception is a
    bug: its traceback is printed with a request to report it, and 1 is returned.
    ``KMBENCH_DEBUG=1`` shows the traceback of user errors too.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:  # argparse: --help (0) or a usage message (2)
        return exc.code if isinstance(exc.code, int) else 2
    warnings.showwarning = _show_warning
    debug = os.environ.get("KMBENCH_DEBUG", "") not in ("", "0")
    try:
        if getattr(args, "plugin", None):
            from ..plugins import load_plugins

            load_plugins(args.plugin)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"kmbench {args.command}: interrupted", file=sys.stderr)
        return 130
    except _user_errors() as exc:
        if debug:
            traceback.print_exc()
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"kmbench {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except OSError as exc:  # disk full, I/O error: the environment, not the command line
        if debug:
            traceback.print_exc()
        print(f"kmbench {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except Exception:
        traceback.print_exc()
        print(f"kmbench {args.command}: internal error (a bug in kmbench, not in your command): please "
              "report it with the command line and the traceback above", file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = _default_showwarning


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
