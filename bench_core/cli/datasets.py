"""``kmbench datasets``: list data sets, show one, print its checksum."""

from __future__ import annotations

import argparse
import json


def add_parser(sub) -> None:
    p = sub.add_parser("datasets", help="list data sets, show one, print its checksum")
    p.add_argument("action", nargs="?", choices=("list", "info", "checksum"), default="list")
    p.add_argument("name", nargs="?", help="data set name (see 'kmbench datasets list')")
    p.add_argument("--n", type=int, default=None, help="first n rows (generated size for synthetic sets)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--source", default=None, help="mnist only: directory of full MNIST IDX files, or 'openml'")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..datasets import get_dataset, list_datasets
    from ..plan_checks import check_dataset
    from ..runner import parse_dataset
    from . import UsageError

    if args.action == "list":
        for name, desc in list_datasets().items():
            print(f"{name:16s} {desc}")
        return 0
    if not args.name:
        raise UsageError(f"'kmbench datasets {args.action}' needs a data set name (see 'kmbench datasets list')")
    if args.n is not None and args.n < 1:
        raise UsageError(f"--n {args.n}: expected a whole number >= 1 (or leave it out for every row)")
    if args.seed < 0:
        raise UsageError(f"--seed {args.seed}: expected a whole number >= 0")
    name, params = parse_dataset(args.name)
    problems, _, _ = check_dataset(args.name, [args.n], args.seed)
    if problems:
        raise UsageError("; ".join(p.replace(f"--dataset {args.name}: ", "", 1).replace(
            f"--dataset {args.name}", args.name, 1) for p in problems))
    extra = {"source": args.source} if args.source else {}
    ds = get_dataset(name, args.n, seed=args.seed, **(params | extra))
    if args.action == "checksum":
        print(ds.checksum)
    else:
        print(json.dumps(ds.info(), indent=2, default=str))
    return 0
