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
import dataclasses
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
    "bench_core.algorithms.entries_pam",         # reference implementations, one module per family
    "bench_core.algorithms.entries_msc",
    "bench_core.algorithms.entries_sampling",
    "bench_core.algorithms.entries_kmeans",
    "bench_core.algorithms.entries_kmedian",
    "bench_core.algorithms.entries_silhouette",
    "bench_core.algorithms.entries_onebatchpam",
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
    "bench_core.metrics.external",        # ARI, AMI, NCA metric columns
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


@dataclass(frozen=True)
class AlgorithmFacts:
    """What is true of an algorithm whoever implements it.

    ``default_init``: the start the runner uses for ``--init auto`` (``"build"``
    for PAM, as in the papers; ``"random"`` otherwise). ``options``: keywords
    every run of it gets. ``validate_options``: keywords for the agreement grid
    only (e.g. a small CLARANS search). ``limits``: the largest n a grid runs it
    at, by grid (``{"validate": 250}``; asv profiles by name). ``title``: its
    name in reports.
    """

    name: str
    title: str = ""
    default_init: str = "random"
    options: dict[str, Any] = field(default_factory=dict)
    validate_options: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.title:
            object.__setattr__(self, "title", self.name)


_ALGORITHMS: dict[str, AlgorithmFacts] = {}


def register_algorithm(name: str, **facts: Any) -> AlgorithmFacts:
    """Declare the facts of algorithm ``name`` (see :class:`AlgorithmFacts`) for all its entries."""
    if not name or "/" in name:
        raise ValueError(f"algorithm name {name!r} must be non-empty without '/'")
    out = AlgorithmFacts(name, **facts)
    _ALGORITHMS[name] = out
    return out


def algorithm_facts(name: str) -> AlgorithmFacts:
    """The facts of algorithm ``name`` (defaults where none were declared)."""
    load()
    return _ALGORITHMS.get(name) or AlgorithmFacts(name)


@dataclass
class Entry:
    """A registered implementation.

    ``input`` says what the runnable needs: ``"diss"`` (a precomputed matrix),
    ``"points"`` (X and a metric) or ``"both"``. ``reference`` names the entry it
    should be compared with (e.g. ``"pam/reference"``) and ``agreement`` what is
    expected of that comparison: ``"identical"`` (same medoids, loss to 1e-12),
    ``"same-loss"``, or ``"differs"`` (reported, not failed) with ``note`` saying
    why. ``requires`` lists importable modules the runnable needs.

    Per-algorithm facts (:class:`AlgorithmFacts`: default start, options, size
    limits, title) are declared once per algorithm with :func:`register_algorithm`
    and read as ``entry.facts``; an entry may override any of them with the
    same keywords. ``reference_options``: keywords its reference gets in this
    entry's comparisons only, so that both stop by the same rule (pyclustering's
    k-means runs to convergence; the reference then runs with ``tol=0`` rather than
    scikit-learn's relative tolerance). ``source`` is the file that registered it.
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
    default_init: str | None = None
    options: dict[str, Any] | None = None
    validate_options: dict[str, Any] | None = None
    reference_options: dict[str, Any] | None = None
    limits: dict[str, int] | None = None
    title: str | None = None
    source: str = ""
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

    @property
    def facts(self) -> AlgorithmFacts:
        """The algorithm's facts (:func:`register_algorithm`) with this entry's overrides."""
        base = _ALGORITHMS.get(self.algorithm) or AlgorithmFacts(self.algorithm)
        own = {f: getattr(self, f) for f in ("default_init", "options", "validate_options", "limits", "title")
               if getattr(self, f) is not None}
        return dataclasses.replace(base, **own) if own else base

    def limit(self, context: str) -> int | None:
        """Largest n that grid ``context`` (``"validate"``, an asv profile) runs this at."""
        return self.facts.limits.get(context)

    def raw(self, task: Task) -> Any:
        """The runnable's own answer (a result or plain arrays), after the availability check."""
        ok, why = self.availability()
        if not ok:
            raise UnavailableError(f"{self.name} is unavailable: {why}")
        return self.func(task)

    def __call__(self, task: Task) -> ClusteringResult:
        """Run on ``task``; plain arrays are normalised into a result, the loss recomputed."""
        from .families import normalise

        return normalise(self.raw(task), family_name=self.family, algorithm=self.algorithm,
                         diss=task.diss, X=task.X, metric=task.metric)


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


_FIELDS = {"input", "language", "description", "reference", "agreement", "note", "requires",
           "supports_init", "deterministic", "version", "tags", "default_init", "options",
           "validate_options", "reference_options", "limits", "title"}


def register(name: str, func: Callable[[Task], Any], *, family: str, **kwargs) -> Entry:
    """Add an implementation (in-tree provider or plug-in file).

    Parameters
    ----------
    name : str
        ``"<algorithm>/<implementation>"``; a new algorithm name is allowed.
    func : callable
        ``func(task)`` returning a :class:`~bench_core.result.ClusteringResult`, or
        plain arrays (a dict with ``labels`` and ``medoids`` or ``centers``, optionally
        ``loss``, ``n_iter``, ``n_swap``; or a ``(labels, medoids)`` tuple) that the
        harness normalises, recomputing the loss, outside the timed region.
    family : str
        One of :data:`bench_core.families.FAMILIES`.
    **kwargs
        The other :class:`Entry` fields (``input``, ``reference``, ``agreement``, ...).
    """
    from .families import FAMILIES

    where = f" (registered from {_CURRENT_SOURCE})" if _CURRENT_SOURCE else ""
    if not isinstance(name, str) or name.count("/") != 1 or not all(name.split("/")):
        raise ValueError(f"registry name {name!r} must look like 'algorithm/implementation'{where}")
    if not callable(func):
        raise TypeError(f"{name}: the runnable must be callable, got {type(func).__name__}{where}")
    if family not in FAMILIES:
        raise ValueError(f"{name}: unknown family {family!r}; expected one of {', '.join(FAMILIES)}{where}")
    unknown = set(kwargs) - _FIELDS
    if unknown:
        raise TypeError(f"{name}: unknown registry fields {sorted(unknown)}; known: {sorted(_FIELDS)}{where}")
    if kwargs.get("input", "diss") not in ("diss", "points", "both"):
        raise ValueError(f"{name}: input must be 'diss', 'points' or 'both', got {kwargs['input']!r}{where}")
    if kwargs.get("agreement", "identical") not in ("identical", "same-loss", "differs"):
        raise ValueError(f"{name}: agreement must be 'identical', 'same-loss' or 'differs', "
                         f"got {kwargs['agreement']!r}{where}")
    if name in _ENTRIES and _ENTRIES[name].func is not func:
        raise ValueError(f"{name!r} is already registered (by {_ENTRIES[name].source or 'bench_core'}){where}")
    entry = Entry(name=name, func=func, family=family, source=_CURRENT_SOURCE or "", **kwargs)
    _ENTRIES[name] = entry
    return entry


_CURRENT_SOURCE: str | None = None


@contextlib.contextmanager
def registering_from(source: str) -> Iterator[None]:
    """Record ``source`` (a plug-in's path) on the entries registered inside the block."""
    global _CURRENT_SOURCE
    previous, _CURRENT_SOURCE = _CURRENT_SOURCE, source
    try:
        yield
    finally:
        _CURRENT_SOURCE = previous


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
    from .plugins import load_configured

    load_configured()


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
