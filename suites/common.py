"""Shared machinery of the asv suites: profiles, data, starts, thread pinning, the benchmark bases.

The profile (``quick`` for CI, ``paper`` for the published figures) is chosen by
``KMBENCH_ASV_PROFILE`` and read from ``suites/config.json``. Parameters over
implementations come from :mod:`bench_core.registry`, so an implementation that
registers itself is benchmarked without touching the suites. Every parameter
list is fixed at import time (asv discovers parameters once).

Data flow, so that nothing but the algorithm is timed:

* ``setup_cache`` (once per class and run) writes every dissimilarity matrix of
  the grid to the on-disk cache (:func:`bench_core.dissimilarity.cached_dissimilarity`)
  and draws the initial medoids/centres from fixed seeds;
* ``setup`` (per parameter combination) memory-maps the cached matrix, builds
  the :class:`~bench_core.registry.Task` and pins the thread pools;
* ``time_*``/``peakmem_*`` run the implementation only; ``track_*`` read one
  fit per combination, memoised in the run's setup_cache directory so that the
  tracked values of a combination come from a single fit.

Unavailable implementations and impossible combinations raise
``NotImplementedError`` in ``setup``: asv records them as skipped (NaN) and
prints the reason.
"""

from __future__ import annotations

import fnmatch
import hashlib
import itertools
import json
import os
import sys
import timeit
import warnings
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parent.parent
CONFIG_PATH = Path(__file__).resolve().parent / "config.json"
PROFILE_ENV = "KMBENCH_ASV_PROFILE"

# The suites may run against a bench_core installed elsewhere (a virtualenv of
# asv, or an older commit on PYTHONPATH): keep data and the matrix cache in
# this checkout so that every run shares them.
os.environ.setdefault("KMBENCH_DATA_DIR", str(ROOT / "datasets"))
os.environ.setdefault("KMBENCH_CACHE", str(ROOT / "datasets" / "cache"))

import numpy as np  # noqa: E402

from bench_core import registry  # noqa: E402

NONE = "(none registered)"


def load_config(path: Path = CONFIG_PATH) -> dict[str, Any]:
    with open(path) as fh:
        return json.load(fh)


def profile_name(config: dict[str, Any] | None = None) -> str:
    """The active profile: ``$KMBENCH_ASV_PROFILE`` or the config's default."""
    config = load_config() if config is None else config
    name = os.environ.get(PROFILE_ENV) or config["default_profile"]
    if name not in config["profiles"]:
        raise ValueError(f"{PROFILE_ENV}={name!r} is not a profile; known: {', '.join(config['profiles'])}")
    return name


CONFIG = load_config()
PROFILE = profile_name(CONFIG)
SETTINGS: dict[str, Any] = CONFIG["profiles"][PROFILE]
SEED: int = int(SETTINGS.get("seed", 0))
TIMING: dict[str, Any] = SETTINGS["timing"]
SETUP_CACHE_TIMEOUT: float = float(TIMING.get("setup_cache_timeout", 600))


def preload() -> None:
    """Import every registered implementation's library once, in asv's fork server.

    With ``launch_method: forkserver`` (asv.conf.json) asv forks each benchmark from
    a server process that imported the suites; importing the libraries there instead
    of in every forked ``setup`` saves about a second per benchmark and combination.
    The price: ``peakmem_*`` then includes every library's pages (about 290 MB with
    scikit-learn and torch), so only differences between implementations mean
    something. The profile's ``preload`` decides (quick: on, paper: off, so that paper
    figures measure one library at a time); ``KMBENCH_ASV_PRELOAD=1``/``0`` overrides.
    """
    flag = os.environ.get("KMBENCH_ASV_PRELOAD")
    in_fork_server = len(sys.argv) > 1 and sys.argv[1] == "run_server"
    wanted = flag == "1" if flag in ("0", "1") else bool(SETTINGS.get("preload", False))
    if wanted and (in_fork_server or flag == "1"):
        for e in registry.entries():
            e.availability()


preload()


def grid(section: str) -> dict[str, list]:
    """The parameter grid of one family in the active profile."""
    return SETTINGS[section]


def skip(reason: str) -> NoReturn:
    """Mark the current parameter combination skipped (asv stores NaN) with ``reason``."""
    raise NotImplementedError(reason)


def is_parallel(entry: registry.Entry) -> bool:
    """Whether an implementation is a multi-threaded variant (benchmarked in the threads set)."""
    return entry.implementation.endswith("-parallel") or "parallel" in entry.tags


def implementations(*, family: str | None = None, algorithms: tuple[str, ...] | None = None,
                    parallel: bool | None = False) -> list[str]:
    """Registry names to benchmark, sorted; ``[NONE]`` when nothing is registered yet.

    ``parallel=False`` leaves out the multi-threaded variants, ``True`` keeps only
    them, ``None`` keeps everything.
    """
    names = []
    for e in registry.entries(family=family):
        if algorithms is not None and e.algorithm not in algorithms:
            continue
        if parallel is not None and is_parallel(e) != parallel:
            continue
        names.append(e.name)
    return names or [NONE]


def limit_for(name: str, limits: dict[str, int] | None = None) -> int | None:
    """Largest n the profile runs ``name`` at (smallest matching limit), or None."""
    limits = SETTINGS.get("limits", {}) if limits is None else limits
    found = [int(v) for pat, v in limits.items() if fnmatch.fnmatchcase(name, pat)]
    return min(found) if found else None


def entry_or_skip(name: str, n: int) -> registry.Entry:
    """The registry entry, or skip with the reason it cannot run here."""
    if name == NONE:
        skip("no implementation of this family is registered yet")
    try:
        entry = registry.get(name)
    except KeyError as exc:  # e.g. an older commit, benchmarked with newer suites
        skip(str(exc).strip("'\""))
    ok, why = entry.availability()  # imports the library now, outside any timed code
    if not ok:
        skip(f"{name} is unavailable: {why}")
    own = entry.limit(PROFILE) if hasattr(entry, "limit") else None  # older commits: config limits only
    caps = [c for c in (limit_for(name), own) if c is not None]
    cap = min(caps) if caps else None
    if cap == 0:
        skip(f"{name} is too slow for the {PROFILE} profile (limits in suites/config.json)")
    if cap is not None and n > cap:
        skip(f"{name} runs only up to n={cap} in the {PROFILE} profile (n={n})")
    return entry


def load_points(dataset: str, n: int, seed: int = SEED) -> np.ndarray:
    """The first ``n`` points of ``dataset`` (synthetic sets generated with ``seed``)."""
    return _dataset(dataset, n, seed).X


def _dataset(dataset: str, n: int, seed: int = SEED):
    from bench_core.datasets import get_dataset

    try:
        return get_dataset(dataset, n, seed=seed)
    except ValueError as exc:  # e.g. n larger than a real data set
        skip(f"dataset {dataset} at n={n}: {exc}")


def load_matrix(dataset: str, n: int, dtype: str, metric: str = "euclidean") -> np.ndarray:
    """The n x n matrix through the on-disk cache (a read-only memory map once cached)."""
    from bench_core.dissimilarity import InsufficientMemoryError, cached_dissimilarity

    try:
        D, _ = cached_dissimilarity(_dataset(dataset, n), metric, np.dtype(dtype))
    except InsufficientMemoryError as exc:
        skip(str(exc))
    return D


def initial_medoids(n: int, k: int, seed: int = SEED) -> np.ndarray:
    """The shared start of every tool (:func:`bench_core.start.initial_medoids`).

    Commits older than ``bench_core.start`` (benchmarked by the regression gate with
    these suites) get the same draw, which is where the one start came from.
    """
    try:
        from bench_core.start import initial_medoids as one_start
    except ImportError:
        rng = np.random.default_rng([seed, n, k])
        return np.sort(rng.choice(n, size=k, replace=False)).astype(np.int64)
    return one_start(n, k, seed)


class pinned_threads:
    """Limit BLAS/OpenMP pools to ``n`` threads until :meth:`restore`."""

    def __init__(self, n: int):
        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(limits=int(n))

    def restore(self) -> None:
        self._limits.restore_original_limits()


def _memo_path(memo_dir: str, key: tuple) -> Path:
    digest = hashlib.sha1(repr(key).encode()).hexdigest()[:20]
    return Path(memo_dir) / f"kmbench-fit-{digest}.json"


def _memo_digest(value: dict[str, Any]) -> str:
    return hashlib.blake2b(json.dumps(value, sort_keys=True).encode(), digest_size=16).hexdigest()


def memoised_fit(memo_dir: str | None, key: tuple, fit) -> dict[str, Any]:
    """``fit()`` once per ``key`` and asv run: the result's tracked figures, as a dict."""
    path = _memo_path(memo_dir, key) if memo_dir else None
    if path is not None and path.exists():
        try:  # verified like the matrix cache: a damaged memo is removed and the fit redone
            stored = json.loads(path.read_text())
            if stored["digest"] == _memo_digest(stored["value"]):
                return stored["value"]
            why = "its digest does not match its contents"
        except (ValueError, KeyError, TypeError, OSError) as exc:
            why = f"{type(exc).__name__}: {exc}"
        warnings.warn(f"memoised fit {path} is damaged ({why}); removed, fitting again", RuntimeWarning,
                      stacklevel=2)
        path.unlink(missing_ok=True)
    res = fit()
    ex = dict(res.extras or {})
    sil = ex.get("silhouette", ex.get("medoid_silhouette"))
    out = {"loss": float(res.loss), "n_iter": int(res.n_iter), "n_swap": int(res.n_swap),
           "silhouette": None if sil is None else float(sil)}
    if path is not None:
        from bench_core.atomic import atomic_write_text

        atomic_write_text(path, json.dumps({"value": out, "digest": _memo_digest(out)}))
    return out


class Benchmark:
    """Timing attributes of the active profile; wall-clock timer (multi-threaded sets need it)."""

    timer = timeit.default_timer
    number = int(TIMING.get("number", 1))
    repeat = tuple(TIMING["repeat"]) if isinstance(TIMING.get("repeat"), list) else TIMING.get("repeat", 1)
    rounds = int(TIMING.get("rounds", 1))
    warmup_time = float(TIMING.get("warmup_time", 0))
    timeout = float(TIMING.get("timeout", 120))


def param_grid(implementations_: list[str], section: str, axes: tuple[str, ...]) -> list[list]:
    g = grid(section)
    return [implementations_] + [list(g[a]) for a in axes]


class FitBenchmark(Benchmark, ABC):
    """One clustering fit per parameter combination ``(implementation, *axes)``.

    Subclasses set ``section`` (the config key), ``axes``, ``params``/``param_names``
    (via :func:`param_grid`) and define their own ``setup_cache`` calling
    :meth:`prepare` (asv keys the cache by the defining source line, so it cannot
    be inherited), and :meth:`make_task`.
    """

    section: str = ""
    axes: tuple[str, ...] = ("dataset", "n", "k", "dtype")
    uses_matrix: bool = True      # whether prepare() warms the matrix cache
    uses_start: str = "medoids"   # "medoids", "centers" or "none"

    @abstractmethod
    def setup_cache(self) -> dict[str, Any]:
        """Subclasses: ``return self.prepare()`` (and set ``setup_cache.timeout``)."""

    @abstractmethod
    def make_task(self, cache: dict[str, Any], entry: registry.Entry, **p: Any) -> registry.Task:
        """The task for one combination (``p`` holds the axes by name)."""

    # -- setup_cache: data and starts, once --------------------------------------------------
    def prepare(self) -> dict[str, Any]:
        g = grid(self.section)
        starts: dict[tuple, np.ndarray] = {}
        for dataset, n in itertools.product(g["dataset"], g["n"]):
            for k in g.get("k", []):
                if k < n:
                    starts[(dataset, n, k)] = initial_medoids(n, k)
            if self.uses_matrix:
                for dtype in g.get("dtype", ["float64"]):
                    try:
                        load_matrix(dataset, n, dtype)
                    except NotImplementedError:
                        pass  # the combination is skipped in setup with the same reason
        return {"starts": starts, "memo": os.getcwd()}

    # -- per combination ----------------------------------------------------------------------
    def setup(self, cache: dict[str, Any], implementation: str, *values: Any) -> None:
        p = dict(zip(self.axes, values, strict=True))
        n, k = int(p["n"]), int(p.get("k", 2))
        if k >= n:
            skip(f"k={k} must be smaller than n={n}")
        self.entry = entry_or_skip(implementation, n)
        self.n_threads = int(p.get("n_threads", 1))
        self._threads = pinned_threads(self.n_threads)
        try:
            self.task = self.make_task(cache, self.entry, **p)
        except BaseException:
            self._threads.restore()
            raise
        self._memo_key = (type(self).__name__, implementation, *values)

    def teardown(self, cache: dict[str, Any], *values: Any) -> None:
        threads = getattr(self, "_threads", None)
        if threads is not None:
            threads.restore()

    def start_medoids(self, cache: dict[str, Any], entry: registry.Entry, dataset: str, n: int,
                      k: int) -> np.ndarray | None:
        """The shared initial medoids, or None for algorithms that choose their own (BUILD)."""
        if not entry.supports_init:
            return None
        start = cache["starts"].get((dataset, n, k))
        return initial_medoids(n, k) if start is None else start

    def fit(self):
        return self.entry(self.task)

    def tracked(self, cache: dict[str, Any]) -> dict[str, Any]:
        return memoised_fit(cache.get("memo"), self._memo_key, self.fit)

    # -- benchmarks ---------------------------------------------------------------------------
    # The implementation's own call (Entry.raw): the harness's normalisation of plain
    # arrays returned by a plug-in is not part of the timed region.
    def time_fit(self, cache, *params):
        self._call()

    def peakmem_fit(self, cache, *params):
        self._call()

    def _call(self):
        raw = getattr(self.entry, "raw", None)  # older commits' entries have no raw()
        return raw(self.task) if raw is not None else self.entry(self.task)

    def track_loss(self, cache, *params):
        return self.tracked(cache)["loss"]

    track_loss.unit = "objective"

    def track_n_iter(self, cache, *params):
        return self.tracked(cache)["n_iter"]

    track_n_iter.unit = "iterations"


class SwapTracks(ABC):
    """``track_n_swap`` for the swap-based families (abstract: asv discovers only the subclasses)."""

    @abstractmethod
    def tracked(self, cache: dict[str, Any]) -> dict[str, Any]: ...

    def track_n_swap(self, cache, *params):
        return self.tracked(cache)["n_swap"]

    track_n_swap.unit = "swaps"


class SilhouetteTracks(ABC):
    """``track_silhouette``: the silhouette a result reports (``extras``) or ``1 - loss``.

    By the contract of :class:`~bench_core.result.ClusteringResult`, the loss of the
    silhouette family is ``1 - (medoid) silhouette``.
    """

    @abstractmethod
    def tracked(self, cache: dict[str, Any]) -> dict[str, Any]: ...

    def track_silhouette(self, cache, *params):
        t = self.tracked(cache)
        return t["silhouette"] if t["silhouette"] is not None else 1.0 - t["loss"]

    track_silhouette.unit = "silhouette"


def matrix_task(cache: dict[str, Any], bench: FitBenchmark, entry: registry.Entry, *, dataset: str,
                n: int, k: int, dtype: str = "float64", n_threads: int = 1) -> registry.Task:
    """A task on the precomputed matrix (and the points, for entries that take them)."""
    diss = X = None
    if entry.input in ("diss", "both"):
        diss = load_matrix(dataset, n, dtype)
    if entry.input in ("points", "both"):
        if entry.input == "points" and dtype != "float64":
            skip(f"{entry.name} takes points; the matrix dtype {dtype} does not apply")
        X = load_points(dataset, n)
    medoids = bench.start_medoids(cache, entry, dataset, n, k)
    return registry.Task(k=int(k), diss=diss, X=X, medoids=medoids, seed=SEED, n_threads=int(n_threads))


def points_task(cache: dict[str, Any], bench: FitBenchmark, entry: registry.Entry, *, dataset: str,
                n: int, k: int, n_threads: int = 1) -> registry.Task:
    """A task on the points (sampling, k-means, k-median); ``uses_start="centers"`` gives the
    shared start as centres (rows of X at the seeded indices)."""
    X = load_points(dataset, n)
    diss = load_matrix(dataset, n, "float64") if entry.input == "diss" else None
    centers = medoids = None
    if bench.uses_start == "centers" and entry.supports_init:
        idx = cache["starts"].get((dataset, n, k))
        centers = X[initial_medoids(n, k) if idx is None else idx].copy()
    elif bench.uses_start == "medoids":
        medoids = bench.start_medoids(cache, entry, dataset, n, k)
    return registry.Task(k=int(k), diss=diss, X=X, medoids=medoids, centers=centers, seed=SEED,
                         n_threads=int(n_threads))
