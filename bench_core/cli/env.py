"""``kmbench env``: the environment record stored with every result."""

from __future__ import annotations

import argparse
import json


def add_parser(sub) -> None:
    p = sub.add_parser("env", help="print the environment record (machine, versions, threads)")
    p.add_argument("--gpu", action="store_true", help="include the GPU record (imports torch)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..environment import record

    print(json.dumps(record(gpu=args.gpu), indent=2, default=str))
    return 0
