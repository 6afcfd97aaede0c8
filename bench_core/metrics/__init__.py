"""Quality metrics recorded as columns of every results row.

A metric is a function of one run, registered once (in-tree or from a plug-in
file) with :func:`register_metric`; the runner calls every registered metric on
every successful run, outside the timed region, and stores the value in a
column named after the metric. Results files written before a metric existed
keep working: ``--resume`` extends their header.

The function receives the :class:`~bench_core.registry.Task` the implementation
ran on, the normalised :class:`~bench_core.result.ClusteringResult`, and the
:class:`~bench_core.datasets.Dataset` (for reference labels: ``data.labelings``)
when it declares a third parameter. It returns a float, or None where the
metric is undefined for that run (e.g. no reference labels).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_RESERVED = frozenset({
    "run_id", "status", "error", "entry", "algorithm", "implementation", "family", "language",
    "loss", "fit_time", "seed", "n", "k", "d", "dtype", "metric", "dataset", "extras",
})


@dataclass(frozen=True)
class Metric:
    """A registered metric: ``name`` is its results column."""

    name: str
    func: Callable[..., Any]
    description: str = ""
    needs_data: bool = False
    prepare: Callable[[], Any] | None = None

    def __call__(self, task: Any, result: Any, data: Any = None) -> float | None:
        value = self.func(task, result, data) if self.needs_data else self.func(task, result)
        if value is None:
            return None
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"metric {self.name!r} returned {type(value).__name__}; expected a number "
                            "or None") from None
        return value if math.isfinite(value) else None


_METRICS: dict[str, Metric] = {}


def register_metric(name: str, func: Callable[..., Any], *, description: str = "",
                    prepare: Callable[[], Any] | None = None) -> Metric:
    """Record ``func(task, result[, data])`` as the column ``name`` of every run.

    ``name`` must be a new identifier (letters, digits, ``_``) that is not one of
    the harness's own columns. ``prepare()``, if given, is called once per process
    before the runs (e.g. to import a heavy module): metrics are evaluated in each
    run's forked worker, so an import inside ``func`` would be repeated per run.
    """
    if not name.isidentifier() or name in _RESERVED:
        raise ValueError(f"metric name {name!r} must be an identifier and not a built-in column")
    if not callable(func):
        raise TypeError(f"metric {name!r} must be callable, got {type(func).__name__}")
    try:
        params = [p for p in inspect.signature(func).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    if name in _METRICS and _METRICS[name].func is not func:
        raise ValueError(f"metric {name!r} is already registered")
    if prepare is not None and not callable(prepare):
        raise TypeError(f"metric {name!r}: prepare must be callable, got {type(prepare).__name__}")
    metric = Metric(name, func, description, needs_data=len(params) >= 3, prepare=prepare)
    _METRICS[name] = metric
    return metric


def metrics() -> dict[str, Metric]:
    """Every registered metric by column name (in-tree ones are loaded first)."""
    from .. import registry

    registry.load()
    return dict(_METRICS)


def prepare_all() -> dict[str, str]:
    """Call every metric's ``prepare`` once in this process (before the runs fork from it).

    Returns the errors by column; a metric whose preparation fails is still
    evaluated per run (and reports its error there).
    """
    errors: dict[str, str] = {}
    for name, metric in metrics().items():
        if metric.prepare is None:
            continue
        try:
            metric.prepare()
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
    return errors


def evaluate(task: Any, result: Any, data: Any = None) -> tuple[dict[str, float | None], dict[str, str]]:
    """Every metric of one run: (values by column, errors by column).

    A metric that raises gets None and its error message; the run stays ``ok``.
    """
    values: dict[str, float | None] = {}
    errors: dict[str, str] = {}
    for name, metric in metrics().items():
        try:
            values[name] = metric(task, result, data)
        except Exception as exc:
            values[name] = None
            errors[name] = f"{type(exc).__name__}: {exc}"
    return values, errors
