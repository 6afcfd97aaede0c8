"""Grid expansion: a :class:`GridSpec` becomes a list of planned :class:`Run`\\ s.

The grid is algorithms x implementations (from the registry) x data sets x n x
k x dtype x metric x seeds (restarts). Runs are ordered by data so that each
distance matrix is computed (or loaded from the cache) once per group.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import registry
from ..families import clustering_families


@dataclass
class GridSpec:
    """One Cartesian grid of runs.

    ``algorithms``/``implementations`` are fnmatch patterns on the two halves
    of registry names (``["all"]`` = every clustering family / every
    implementation); ``entries`` adds full names (patterns) on top and
    ``exclude`` removes full names (patterns).
    ``datasets`` are names as in ``kmbench datasets``, optionally with
    parameters: ``"blobs:k=5,d=10"``. ``ns`` entries may be None (all rows).
    """

    algorithms: list[str] = field(default_factory=lambda: ["fasterpam"])
    implementations: list[str] = field(default_factory=lambda: ["all"])
    entries: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=lambda: ["mnist"])
    ns: list[int | None] = field(default_factory=lambda: [1000])
    ks: list[int | str] = field(default_factory=lambda: [10])  # "true": the reference partition's k
    dtypes: list[str] = field(default_factory=lambda: ["float64"])
    metrics: list[str] = field(default_factory=lambda: ["euclidean"])
    seeds: list[int] = field(default_factory=lambda: [0])
    init: str = "auto"
    max_iter: int | None = None
    n_threads: int = 1
    time_limit: float | None = 600.0
    restart_budget: float | None = None
    silhouette: bool = True
    silhouette_max_n: int = 20000
    data_seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    label: str = ""


@dataclass(frozen=True)
class Run:
    """One planned run (a row of the results file)."""

    entry: str
    dataset: str
    params: tuple[tuple[str, Any], ...]
    n: int | None
    k: int
    dtype: str
    metric: str
    seed: int
    init: str
    spec_index: int

    @property
    def cell(self) -> tuple:
        """Everything but the seed: restarts of one cell are aggregated in reports."""
        return (self.entry, self.dataset, self.params, self.n, self.k, self.dtype, self.metric, self.init)


def parse_dataset(spec: str) -> tuple[str, dict[str, Any]]:
    """``"blobs:k=5,d=10"`` -> ``("blobs", {"k": 5, "d": 10})``.

    ``file:``/``diss:`` paths and data set families named ``PREFIX:NAME`` (e.g.
    ``clustbench:fcps/hepta``) pass through whole; their parameters follow a second
    colon (``clustbench:fcps/hepta:labels=1``).
    """
    from ..datasets import prefixed_names

    if spec.startswith(("file:", "diss:")) or ":" not in spec:
        return spec, {}
    if spec.partition(":")[0] in prefixed_names():
        head, sep, rest = spec.rpartition(":")
        if not sep or "=" not in rest or head.count(":") < 1:
            return spec, {}
        name = head
    else:
        name, _, rest = spec.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, eq, val = item.partition("=")
        if not eq:
            raise ValueError(f"data set parameter {item!r} in {spec!r} must look like key=value")
        for conv in (int, float):
            try:
                params[key] = conv(val)
                break
            except ValueError:
                continue
        else:
            params[key] = val
    return name, params


def select_entries(spec: GridSpec) -> list[registry.Entry]:
    """Registry entries matching the spec (available or not), sorted by name."""
    chosen = []
    all_algos = any(a == "all" for a in spec.algorithms)
    for e in registry.entries():
        if any(fnmatch.fnmatchcase(e.name, p) for p in spec.exclude):
            continue
        by_name = any(fnmatch.fnmatchcase(e.name, p) for p in spec.entries)
        algo_ok = (e.family in clustering_families()) if all_algos else any(
            fnmatch.fnmatchcase(e.algorithm, p) for p in spec.algorithms)
        impl_ok = any(p == "all" or fnmatch.fnmatchcase(e.implementation, p) for p in spec.implementations)
        if by_name or (algo_ok and impl_ok and spec.algorithms):
            chosen.append(e)
    return chosen


def expand(specs: Iterable[GridSpec]) -> list[Run]:
    """All runs of the grids, in execution order (data, n, dtype, metric, k, seed, entry)."""
    runs: list[Run] = []
    for i, spec in enumerate(specs):
        entries = select_entries(spec)
        if not entries:
            raise ValueError(
                f"no registered implementation matches algorithms={spec.algorithms} "
                f"implementations={spec.implementations} entries={spec.entries}; see 'kmbench list'")
        for ds in spec.datasets:
            name, params = parse_dataset(ds)
            ptuple = tuple(sorted(params.items()))
            ks = list(dict.fromkeys(resolve_k(k, ds, spec) for k in spec.ks))
            for n in spec.ns:
                for dtype in spec.dtypes:
                    for metric in spec.metrics:
                        for k in ks:
                            for seed in spec.seeds:
                                for e in entries:
                                    init = e.facts.default_init if spec.init == "auto" else spec.init
                                    runs.append(Run(e.name, name, ptuple, n, k, str(np.dtype(dtype)), metric,
                                                    int(seed), init, i))
    return runs


def resolve_k(k, dataset: str, spec: GridSpec) -> int:
    """``k``, or for ``"true"`` the number of clusters of the data set's reference partition."""
    if k != "true":
        return int(k)
    from ..datasets import get_dataset, true_k

    name, params = parse_dataset(dataset)
    if name.startswith("clustbench:") and not params:
        return true_k(name)  # from the suite's manifest, without loading the points
    return true_k(get_dataset(name, seed=spec.data_seed, **params))


def run_id(run: Run, spec: GridSpec) -> str:
    key = {"entry": run.entry, "dataset": run.dataset, "params": list(run.params), "n": run.n, "k": run.k,
           "dtype": run.dtype, "metric": run.metric, "seed": run.seed, "init": run.init,
           "data_seed": spec.data_seed, "max_iter": spec.max_iter, "n_threads": spec.n_threads,
           "options": spec.options}
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]




def spec_dict(spec: GridSpec) -> dict[str, Any]:
    return dataclasses.asdict(spec)
