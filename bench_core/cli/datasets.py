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
    p.add_argument("--data-dir", default=None,
                   help="the clustering benchmark suite's folder (clustbench:BATTERY/NAME; default "
                        "$KMBENCH_CLUSTBENCH_DIR or datasets/clustbench)")
    p.set_defaults(func=run)


def list_clustbench(root=None) -> list[str]:
    """Lines for the suite's data sets found in ``root`` (n, d, reference cluster counts, noise)."""
    from ..datasets import clustbench

    found = clustbench.describe(root)
    if not found:
        return [f"(clustbench: no suite found in {clustbench.data_dir(root)}; set --data-dir or "
                f"${clustbench.ENV_VAR})"]
    lines = [f"clustbench: {len(found)} data sets in {clustbench.data_dir(root)} (cite: {clustbench.CITATION})",
             f"  {'name':36s} {'n':>7s} {'d':>4s}  reference k (noise points)"]
    for d in found:
        ks = ", ".join(str(k) for k in d["n_clusters"])
        noise = f" ({d['noise']} noise)" if d["noise"] else ""
        mark = "" if d["in_manifest"] else "  [not in the v1.1.0 manifest]"
        lines.append(f"  {d['name']:36s} {d['n']:7d} {d['d']:4d}  {ks}{noise}{mark}")
    return lines


def run(args: argparse.Namespace) -> int:
    from ..datasets import clustbench, get_dataset, list_datasets
    from ..plan_checks import check_dataset
    from ..runner import parse_dataset
    from . import UsageError

    if getattr(args, "data_dir", None):
        clustbench.set_data_dir(args.data_dir)
    if args.action == "list":
        for name, desc in list_datasets().items():
            print(f"{name:16s} {desc}")
        for line in list_clustbench():
            print(line)
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
