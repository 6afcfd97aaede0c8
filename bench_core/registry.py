"""The registry: every runnable is named ``"<algorithm>/<implementation>"``.

Suites, the runner, validation and reports look implementations up here and
nowhere else, so adding an implementation is adding one :func:`register` call
in a provider module.

A runnable takes one :class:`Task` and returns a
:class:`~bench_core.result.ClusteringResult`. Providers are imported lazily on
first use; an implementation whose library is missing or broken stays listed
with ``available=False`` and the reason.
"""

from __future__ import annotations

import contextlib
import importlib
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .result import ClusteringResult

# Modules that call register() when imported. An import error (a missing
# extension, a broken provider) is recorded, shown by `kmbench list`, and fails
# the registry test; a missing *library* only makes its entries unavailable.
PROVIDERS: tuple[str, ...] = (
    "bench_core.algorithms.entries",      # Cython reference implementations
    "bench_core.adapters.kmedoids_rs",    # kmedoids (Rust)
    "bench_core.adapters.sklearn",        # scikit-learn
    "bench_core.adapters.sklearn_extra",  # scikit-learn-extra
    "bench_core.adapters.pyclustering",   # pyclustering
    "bench_core.adapters.banditpam",      # BanditPAM (optional)
    "bench_core.adapters.biopython",      # biopython (optional)
    "bench_core.adapters.r_cluster",      # R cluster, in an Rscript child (optional)
    "bench_core.adapters.elki",           # ELKI 0.7.1, in a Java child (optional)
    "bench_core.adapters.onebatch",       # OneBatchPAM (optional)
    "bench_core.gpu.entries",             # PyTorch backend
)


@dataclass
class Task:
    """One clustering problem handed to a runnable.

    ``diss`` is the precomputed n x n dissimilarity matrix (k-medoids family);
    ``X`` the points (k-means, k-median, sampling algorithms, or adapters that
    need points). ``medoids``/``centers`` fix the start so that implementations
    can be compared from the same initial state; ``seed`` drives everything
    random otherwise. ``n_threads`` is pinned by the runnable (threadpoolctl,
    ``n_cpu``). ``options`` carries algorithm-specific keywords.
    """

    k: int
    diss: np.ndarray | None = None
    X: np.ndarray | None = None
    metric: str = "euclidean"
    medoids: np.ndarray | None = None
    centers: np.ndarray | None = None
    seed: int | None = None
    max_iter: int | None = None
    n_threads: int = 1
    options: dict[str, Any] = field(default_factory=dict)
    #: Seconds spent inside :meth:`timed` regions (None: the runnable marked none).
    timed_seconds: float | None = field(default=None, repr=False, compare=False)

    @contextlib.contextmanager
    def timed(self) -> Iterator[None]:
        """Mark the timed region: the call a user of the implementation makes.

        An adapter wraps only the library's public call in ``with task.timed():``,
        so that converting inputs and normalising the answer are not counted. The
        harness reports the sum of these regions as ``fit_time``; a runnable that
        marks none is timed as a whole.
        """
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timed_seconds = (self.timed_seconds or 0.0) + (time.perf_counter() - t0)

    @property
    def n(self) -> int:
        if self.diss is not None:
            return int(self.diss.shape[0])
        if self.X is not None:
            return int(self.X.shape[0])
        raise ValueError("Task has neither diss nor X")


@dataclass
class Entry:
    """A registered implementation.

    ``input`` says what the runnable needs: ``"diss"`` (a precomputed matrix),
    ``"points"`` (X and a metric) or ``"both"``. ``reference`` names the entry it
    should be compared with (e.g. ``"pam/reference"``) and ``agreement`` what is
    expected of that comparison: ``"identical"`` (same medoids, loss to 1e-12),
    ``"same-loss"``, or ``"differs"`` (reported, not failed) with ``note`` saying
    why. ``requires`` lists importable modules the runnable needs.
    """

    name: str
    func: Callable[[Task], ClusteringResult]
    family: str
    input: str = "diss"
    language: str = "Python"
    description: str = ""
    reference: str | None = None
    agreement: str = "identical"
    note: str = ""
    requires: tuple[str, ...] = ()
    supports_init: bool = True
    deterministic: bool = True
    version: Callable[[], str] | None = None
    tags: tuple[str, ...] = ()
    _availability: tuple[bool, str] | None = field(default=None, repr=False)

    @property
    def algorithm(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def implementation(self) -> str:
        return self.name.split("/", 1)[1]

    def availability(self) -> tuple[bool, str]:
        """(available, reason). Tries to import each required module once."""
        if self._availability is None:
            reason = ""
            for mod in self.requires:
                ok, why = _module_available(mod)
                if not ok:
                    reason = f"{mod}: {why}"
                    break
            self._availability = (reason == "", reason)
        return self._availability

    @property
    def available(self) -> bool:
        return self.availability()[0]

    def __call__(self, task: Task) -> ClusteringResult:
        ok, why = self.availability()
        if not ok:
            raise UnavailableError(f"{self.name} is unavailable: {why}")
        return self.func(task)


class UnavailableError(RuntimeError):
    """The implementation's library is missing or broken."""


_ENTRIES: dict[str, Entry] = {}
_PROVIDER_ERRORS: dict[str, str] = {}
_LOADED = False
_MODULE_CACHE: dict[str, tuple[bool, str]] = {}


def _module_available(mod: str) -> tuple[bool, str]:
    if mod not in _MODULE_CACHE:
        try:
            importlib.import_module(mod)
            _MODULE_CACHE[mod] = (True, "")
        except Exception as exc:  # broken installs raise all sorts of things
            _MODULE_CACHE[mod] = (False, f"{type(exc).__name__}: {exc}".strip())
    return _MODULE_CACHE[mod]


def register(name: str, func: Callable[[Task], ClusteringResult], *, family: str, **kwargs) -> Entry:
    """Add an implementation. ``name`` must be ``"<algorithm>/<implementation>"``."""
    if name.count("/") != 1 or not all(name.split("/")):
        raise ValueError(f"registry name {name!r} must look like 'algorithm/implementation'")
    if name in _ENTRIES and _ENTRIES[name].func is not func:
        raise ValueError(f"{name!r} is already registered")
    entry = Entry(name=name, func=func, family=family, **kwargs)
    _ENTRIES[name] = entry
    return entry


def load() -> None:
    """Import every provider once."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for mod in PROVIDERS:
        try:
            importlib.import_module(mod)
        except Exception:
            _PROVIDER_ERRORS[mod] = traceback.format_exc(limit=3)


def get(name: str) -> Entry:
    load()
    try:
        return _ENTRIES[name]
    except KeyError:
        close = [n for n in _ENTRIES if n.split("/")[0] == name.split("/")[0]]
        hint = f"; implementations of that algorithm: {', '.join(sorted(close))}" if close else ""
        raise KeyError(f"no implementation named {name!r} in the registry{hint}") from None


def entries(*, algorithm: str | None = None, implementation: str | None = None,
            family: str | None = None, available: bool | None = None) -> Iterator[Entry]:
    """Entries filtered by algorithm, implementation, family and availability, sorted by name."""
    load()
    for name in sorted(_ENTRIES):
        e = _ENTRIES[name]
        if algorithm is not None and e.algorithm != algorithm:
            continue
        if implementation is not None and e.implementation != implementation:
            continue
        if family is not None and e.family != family:
            continue
        if available is not None and e.available != available:
            continue
        yield e


def names(**filters) -> list[str]:
    return [e.name for e in entries(**filters)]


def algorithms() -> list[str]:
    load()
    return sorted({e.algorithm for e in _ENTRIES.values()})


def provider_errors() -> dict[str, str]:
    load()
    return dict(_PROVIDER_ERRORS)


def run(name: str, task: Task) -> ClusteringResult:
    """Look ``name`` up and run it on ``task``."""
    return get(name)(task)
