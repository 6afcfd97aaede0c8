"""Checks of a whole grid before its first run.

``kmbench run`` used to accept grids it could never run (k larger than n, an
unknown data set, a CSV with text in it...) and fill a results file with
``error`` rows. :func:`check_grid` looks at every value of every option, every
user file and every combination of a :class:`~bench_core.runner.GridSpec`
*before* anything is created, and returns one line per problem saying what was
given and what is expected; the command line prints them and exits with status 2.

The checks are cheap: data sets are loaded once at their full size (real sets,
user files: a ``.npy`` is memory-mapped) or generated at a small size (seeded
synthetic sets, to validate their parameters), never per cell, and no distance
matrix is computed.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

#: Dtypes the distance matrix can be stored in.
DTYPES = ("float64", "float32")
#: Largest size at which a seeded synthetic set is generated to check its parameters.
_PROBE_N = 200


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _duplicates(values: Iterable[Any]) -> list[Any]:
    return [v for v, c in Counter(values).items() if c > 1]


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


# --------------------------------------------------------------------------- scalar options

def check_scalars(spec: Any) -> list[str]:
    """Problems with the options that do not depend on the data (lists and limits)."""
    from .algorithms.init import INITS
    from .dissimilarity import METRICS

    out: list[str] = []
    if not spec.ks:
        out.append("--k is empty; expected at least one number of clusters, e.g. --k 10")
    for k in spec.ks:
        if k != "true" and (not _is_int(k) or k < 1):
            out.append(f"--k {k!r}: expected a whole number >= 1, or 'true'")
    if not spec.ns:
        out.append("--n is empty; expected at least one size, e.g. --n 1000 (or 'all')")
    for n in spec.ns:
        if n is not None and (not _is_int(n) or n < 1):
            out.append(f"--n {n!r}: expected a whole number >= 1, or 'all' for every row")
    if not spec.seeds:
        out.append("--seeds is empty; expected a count (5), a range (3-7) or a list (0,4,9)")
    for s in spec.seeds:
        if not _is_int(s) or s < 0:
            out.append(f"--seeds {s!r}: expected whole numbers >= 0")
    for d in spec.dtypes:
        try:
            ok = str(np.dtype(d)) in DTYPES
        except (TypeError, ValueError):
            ok = False
        if not ok:
            out.append(f"--dtype {d!r}: expected one of {', '.join(DTYPES)}")
    if not spec.dtypes:
        out.append("--dtype is empty; expected float64 and/or float32")
    for m in spec.metrics:
        if m not in METRICS:
            out.append(f"--metric {m!r}: expected one of {', '.join(METRICS)}")
    if not spec.metrics:
        out.append(f"--metric is empty; expected one or more of {', '.join(METRICS)}")
    if spec.init != "auto" and spec.init not in INITS:
        out.append(f"--init {spec.init!r}: expected auto or one of {', '.join(INITS)}")
    if spec.max_iter is not None and (not _is_int(spec.max_iter) or spec.max_iter < 0):
        out.append(f"--max-iter {spec.max_iter!r}: expected a whole number >= 0")
    if not _is_int(spec.n_threads) or spec.n_threads < 1:
        out.append(f"--threads {spec.n_threads!r}: expected a whole number >= 1")
    for flag, value in (("--time-limit", spec.time_limit), ("--restart-budget", spec.restart_budget)):
        if value is not None and (not _is_number(value) or not math.isfinite(value) or value <= 0):
            out.append(f"{flag} {value!r}: expected a number of seconds > 0")
    if not _is_int(spec.silhouette_max_n) or spec.silhouette_max_n < 0:
        out.append(f"--silhouette-max-n {spec.silhouette_max_n!r}: expected a whole number >= 0")
    if not _is_int(spec.data_seed) or spec.data_seed < 0:
        out.append(f"--data-seed {spec.data_seed!r}: expected a whole number >= 0")
    for key in spec.options:
        if not isinstance(key, str) or not key.isidentifier():
            out.append(f"--option {key!r}=...: expected KEY=VALUE with KEY a name (letters, digits, _)")
    for flag, values in (("--k", spec.ks), ("--n", spec.ns), ("--seeds", spec.seeds), ("--dtype", spec.dtypes),
                         ("--metric", spec.metrics), ("--dataset", spec.datasets)):
        try:
            dup = _duplicates(values)
        except TypeError:  # unhashable values were reported above
            dup = []
        if dup:
            out.append(f"{flag} lists {', '.join(map(repr, dup))} more than once; each value runs once "
                       "(its runs would share one run id)")
    return out


# --------------------------------------------------------------------------- entries

def check_entries(spec: Any) -> tuple[list[str], list[Any]]:
    """(problems, selected entries): every pattern must match a registered implementation."""
    import fnmatch

    from . import registry
    from .families import clustering_families
    from .runner import select_entries

    out: list[str] = []
    everything = list(registry.entries())
    algos = sorted({e.algorithm for e in everything if e.family in clustering_families()})
    impls = sorted({e.implementation for e in everything})
    for p in spec.algorithms:
        if p != "all" and not any(fnmatch.fnmatchcase(e.algorithm, p) for e in everything):
            out.append(f"--algorithms {p!r} matches no registered algorithm; known: {', '.join(algos)}")
    for p in spec.implementations:
        if p != "all" and not any(fnmatch.fnmatchcase(e.implementation, p) for e in everything):
            out.append(f"--impl {p!r} matches no registered implementation; known: {', '.join(impls)}")
    for p in spec.entries:
        if not any(fnmatch.fnmatchcase(e.name, p) for e in everything):
            out.append(f"--entries {p!r} matches no registry name (ALGORITHM/IMPLEMENTATION); "
                       "see 'kmbench list'")
    chosen = select_entries(spec)
    if not chosen and not out:
        out.append(f"no registered implementation matches --algorithms {','.join(spec.algorithms)} "
                   f"--impl {','.join(spec.implementations)}; see 'kmbench list'")
    return out, chosen


# --------------------------------------------------------------------------- data sets

def _check_points_array(what: str, X: np.ndarray) -> list[str]:
    if X.ndim != 2:
        return [f"{what} holds an array of shape {X.shape}; expected rows of numbers (n_samples, n_features)"]
    if X.shape[0] == 0 or X.shape[1] == 0:
        return [f"{what} is empty (shape {X.shape}); expected at least one row and one column"]
    if X.dtype.kind not in "fiub":
        return [f"{what} holds {X.dtype} values; expected numbers"]
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        bad = np.argwhere(~np.isfinite(X))[0]
        return [f"{what} has a NaN or infinite value (row {bad[0] + 1}, column {bad[1] + 1}); "
                "expected finite numbers"]
    return []


def _user_file(spec_text: str) -> tuple[list[str], int | None, str]:
    """(problems, rows, kind) of a ``file:`` or ``diss:`` data set, reading it as the run would."""
    from .datasets.catalog import load_points_file

    kind = "diss" if spec_text.startswith("diss:") else "points"
    path = Path(spec_text[5:])
    what = f"--dataset {spec_text}"
    if not spec_text[5:]:
        return [f"{what}: no path after '{spec_text[:5]}'; expected {spec_text[:5]}PATH"], None, kind
    if not path.exists():
        return [f"{what}: {path} does not exist"], None, kind
    if not path.is_file():
        return [f"{what}: {path} is not a file"], None, kind
    if kind == "points":
        if path.suffix not in (".npy", ".csv", ".txt"):
            return [f"{what}: unsupported file type {path.suffix or '(none)'}; expected .npy, .csv or .txt"], \
                None, kind
        try:
            X = (np.load(path, mmap_mode="r", allow_pickle=False) if path.suffix == ".npy"
                 else load_points_file(path))
        except Exception as exc:
            hint = "; expected a .npy array" if path.suffix == ".npy" else \
                "; expected rows of numbers separated by commas (no header, no text)"
            return [f"{what}: cannot read {path.name}: {_short(exc)}{hint}"], None, kind
        problems = _check_points_array(what, np.asarray(X))
        return problems, (None if problems else int(X.shape[0])), kind
    if path.suffix != ".npy":
        return [f"{what}: unsupported file type {path.suffix or '(none)'}; a matrix must be a .npy file"], \
            None, kind
    try:
        D = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:
        return [f"{what}: cannot read {path.name}: {_short(exc)}; expected a .npy array"], None, kind
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        return [f"{what}: the matrix has shape {D.shape}; expected a square n x n matrix"], None, kind
    if D.shape[0] == 0:
        return [f"{what}: the matrix is empty; expected at least one row"], None, kind
    if D.dtype.kind not in "fiu":
        return [f"{what}: the matrix holds {D.dtype} values; expected numbers"], None, kind
    lo, hi = float(np.min(D)), float(np.max(D))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [f"{what}: the matrix has NaN or infinite entries; expected finite dissimilarities"], None, kind
    if lo < 0:
        return [f"{what}: the matrix has negative entries (min {lo:g}); expected dissimilarities >= 0"], \
            None, kind
    return [], int(D.shape[0]), kind


def _known_params(loader: Any, defaults: dict[str, Any]) -> set[str] | None:
    """Parameter names a catalogue loader accepts (None: it takes ``**kwargs``, anything goes)."""
    try:
        sig = inspect.signature(loader)
    except (TypeError, ValueError):
        return None
    names = set(defaults)
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            # In-tree loaders swallow and ignore extra keywords; a plug-in's may use them.
            if not getattr(loader, "__module__", "").startswith("bench_core"):
                return None
        elif p.kind is not p.VAR_POSITIONAL and p.name not in ("seed", "return_centers"):
            names.add(p.name)
    return names


def _param_type_problem(name: str, key: str, value: Any, default: Any) -> str | None:
    """A data set parameter whose default is a number must be given as one (``k=abc``)."""
    if isinstance(default, bool) or not isinstance(default, int | float):
        return None
    if isinstance(default, int) and not _is_int(value):
        return f"parameter {key}={value!r} of {name} must be a whole number (default {default})"
    if isinstance(default, float) and not (isinstance(value, int | float) and math.isfinite(value)):
        return f"parameter {key}={value!r} of {name} must be a finite number (default {default})"
    return None


def check_dataset(spec_text: str, ns: list[int | None], data_seed: int) -> tuple[list[str], dict, str]:
    """(problems, rows by requested n, kind) of one ``--dataset`` value.

    ``rows`` maps each requested n (None: all rows) to the number of rows that
    cell will have; kind is ``"points"`` or ``"diss"``.
    """
    from .datasets import catalog
    from .runner import parse_dataset

    what = f"--dataset {spec_text}"
    try:
        name, params = parse_dataset(spec_text)
    except ValueError as exc:
        return [f"{what}: {exc}"], {}, "points"
    if name.startswith(("file:", "diss:")):
        problems, total, kind = _user_file(name)
    else:
        prefix, colon, _ = name.partition(":")
        kind = "points"
        if colon and prefix in catalog._PREFIXED:
            problems, total = [], None
            try:
                ds = catalog.get_dataset(name, None, seed=data_seed, **params)
                total, kind = ds.n, ("points" if ds.X is not None else "diss")
            except Exception as exc:
                problems = [f"{what}: cannot load it: {_short(exc)}"]
        elif name not in catalog._CATALOG:
            known = ", ".join(catalog.list_datasets())
            return [f"{what}: unknown dataset {name!r}; known: {known}"], {}, kind
        else:
            loader, _, defaults = catalog._CATALOG[name]
            known_p = _known_params(loader, defaults)
            bad = sorted(set(params) - known_p) if known_p is not None else []
            if bad:
                return [f"{what}: unknown parameter(s) {', '.join(bad)} of {name}; "
                        f"known: {', '.join(sorted(known_p)) or '(none)'}"], {}, kind
            wrong = [_param_type_problem(name, key, params[key], defaults[key])
                     for key in sorted(set(params) & set(defaults))]
            if any(wrong):
                return [f"{what}: {w}" for w in wrong if w], {}, kind
            seeded = name in catalog.SEEDED
            sizes = [n for n in ns if _is_int(n) and n >= 1]
            probe = min([*sizes, _PROBE_N]) if seeded else None
            problems, total = [], None
            try:
                ds = catalog.get_dataset(name, probe, seed=data_seed, **params)
                if not seeded:
                    total = ds.n
                kind = "points" if ds.X is not None else "diss"
                if ds.X is not None:
                    problems = _check_points_array(what, ds.X)
            except Exception as exc:
                problems = [f"{what}: invalid parameters for {name}: {_short(exc)}"]
            if seeded:  # generated at the requested size; n=None means the 'n' parameter
                gen_n = params.get("n", defaults.get("n"))
                return problems, {n: (n if n is not None else gen_n) for n in ns}, kind
    if problems or total is None:
        return problems, {}, kind
    rows: dict[int | None, int] = {}
    for n in ns:
        if n is None:
            rows[n] = total
        elif _is_int(n) and n > total:
            problems.append(f"{what} has {total} rows; --n {n} is larger (expected n <= {total}, or 'all')")
        elif _is_int(n):
            rows[n] = n
    return problems, rows, kind


# --------------------------------------------------------------------------- the grid

def _needs_matrix(entry: Any, spec: Any, n: int) -> bool:
    """Whether a run cannot go without the n x n matrix (the runner draws k-medoids++ and lab
    starts of points-only implementations from the points where the matrix does not fit)."""
    init = spec.init
    return entry.input in ("diss", "both") or (spec.silhouette and n <= spec.silhouette_max_n) or \
        (init not in ("auto", "random", "build") and entry.input != "points")


def check_grid(specs: list[Any]) -> list[str]:
    """Every problem of the grids ``specs``, one line each (an empty list: the plan can run).

    Checks every option value (k, n, seeds, dtype, metric, init, limits and
    budgets > 0, options), every data set (names, parameters, user files:
    existence, format, shape, numbers, squareness), every implementation
    pattern, and the combinations: k <= n for every cell, points-only
    implementations on a matrix data set, and whether an n x n matrix fits in
    the memory available.
    """
    from .dissimilarity import check_memory

    problems: list[str] = []
    for i, spec in enumerate(specs):
        tag = f"grid {i + 1}: " if len(specs) > 1 else ""
        mine = check_scalars(spec)
        bad_entries, entries = check_entries(spec)
        mine += bad_entries
        if not spec.datasets:
            mine.append("--dataset is empty; expected at least one data set (see 'kmbench datasets')")
        ns = [n for n in spec.ns if n is None or (_is_int(n) and n >= 1)]
        ks = [k for k in spec.ks if _is_int(k) and k >= 1]
        dtypes = []
        for d in spec.dtypes:
            try:
                if str(np.dtype(d)) in DTYPES:
                    dtypes.append(str(np.dtype(d)))
            except (TypeError, ValueError):
                pass
        for ds_text in spec.datasets:
            ds_problems, rows, kind = check_dataset(ds_text, ns, spec.data_seed if _is_int(spec.data_seed) else 0)
            mine += ds_problems
            if "true" in spec.ks and not ds_problems:
                from .runner.grid import resolve_k

                try:
                    resolve_k("true", ds_text, spec)
                except ValueError as exc:
                    mine.append(f"--k true with --dataset {ds_text}: {exc}")
            for n, size in rows.items():
                if size is None:
                    continue
                too_big = [k for k in ks if k > size]
                if too_big:
                    at = "all rows" if n is None else f"n={n}"
                    mine.append(f"--k {','.join(map(str, too_big))} with --dataset {ds_text} at {at}: "
                                f"k must be <= n = {size}")
            if kind == "diss":
                pts = sorted(e.name for e in entries if e.input == "points")
                if pts:
                    mine.append(f"--dataset {ds_text} is a dissimilarity matrix, but {', '.join(pts)} "
                                "need(s) points; drop them (--impl/--algorithms) or use a points data set")
            elif entries and rows:
                for size in sorted({s for s in rows.values() if s is not None}):
                    if any(_needs_matrix(e, spec, size) for e in entries):
                        for dt in dtypes:
                            try:
                                check_memory(size, dt)
                            except MemoryError as exc:
                                mine.append(f"--dataset {ds_text} --n {size} --dtype {dt}: {exc}")
        problems += [tag + p for p in mine]
    return problems


def describe_plan(specs: list[Any]) -> list[str]:
    """One line per planned run (for ``--dry-run``), after :func:`check_grid` passed."""
    from .runner import expand

    return [f"{r.entry:32s} {r.dataset}{'' if not r.params else ':' + ','.join(f'{k}={v}' for k, v in r.params)}"
            f" n={'all' if r.n is None else r.n} k={r.k} {r.dtype} {r.metric} seed={r.seed} init={r.init}"
            for r in expand(specs)]
