"""Instruction counts of the timed call, beside the wall times (Valgrind's Callgrind).

For every single-threaded implementation of each family, the call that ``time_fit``
times is run under Callgrind with instrumentation on around that call only
(:mod:`bench_core.regress.instructions`): ``track_instructions`` is the number of
instructions it executed, ``track_ll_misses`` the simulated last-level cache misses
(fixed 8 MiB LL, so the count does not depend on the host). ``kmbench regress``
counts a combination that would fail the gate again in both commits and leaves a
count that varies between runs of one commit to the time signal.

The profile is fixed and small whatever ``KMBENCH_ASV_PROFILE`` says: Valgrind runs
code about 50 to 100 times slower, and an instruction count needs no large n to show
a change in the work done. Our reference implementations are counted at n = 200 and
500, the peers at n = 200 only (the slowest peers cost minutes under Valgrind at 500). The task is the one the family's suite builds (same data,
same seeded start, one thread). One Valgrind process per family measures all its
implementations in ``setup_cache`` (the interpreter and library imports are paid
once); the ``track_*`` methods only read the counts.

Not measured: the multi-threaded variants (a thread count changes the work), the
PyTorch backend (its start-up under Valgrind costs minutes; gated on time only),
:data:`NOT_COUNTED` (PAMSIL, CLARANS and pure-Python peers: minutes under Valgrind) and
whatever the profile's limits skip (``suites/config.json``).
Without Valgrind every combination is skipped with the reason.
"""

from __future__ import annotations

import fnmatch
from abc import ABC, abstractmethod
from typing import Any

from . import bench_kmeans as _kmeans
from . import bench_kmedian as _kmedian
from . import bench_msc as _msc
from . import bench_pam as _pam
from . import bench_sampling as _sampling
from . import bench_silhouette as _silhouette
from .common import NONE, Benchmark, entry_or_skip, implementations, initial_medoids, registry, skip

# One fixed, small problem per family (appended to, never changed: history stays comparable).
# Our reference implementations are counted at every n; the peers only at the smallest n,
# where even the slowest (PAM of scikit-learn-extra, pyclustering) costs seconds, not minutes.
PROFILE: dict[str, dict[str, Any]] = {
    "kmedoids": {"dataset": "mnist", "n": [200, 500], "k": 5, "dtype": "float64"},
    "msc": {"dataset": "mnist", "n": [200, 500], "k": 5, "dtype": "float64"},
    "silhouette": {"dataset": "mnist", "n": [200, 500], "k": 5, "dtype": "float64"},
    "sampling": {"dataset": "mnist", "n": [200, 500], "k": 5},
    "kmeans": {"dataset": "mnist", "n": [200, 500], "k": 5},
    "kmedian": {"dataset": "mnist", "n": [200, 500], "k": 5},
}
# Too slow to count (seconds natively at n = 200: minutes under Valgrind): PAMSIL is
# O(k n^3) per swap, CLARANS a long randomised search, pure Python 50x slower again.
NOT_COUNTED = ("pamsil/*", "clarans/*", "fastclarans/*", "*/*python*")
SETUP_TIMEOUT = 1800.0
#: Not counted: the torch backend (threads, device) and peers that run in a child process
#: (R, ELKI: their instructions are not the profiled process's).
EXCLUDED_TAGS = ("torch", "subprocess")


def measured(family: str) -> list[str]:
    """The implementations whose instructions are counted: single-threaded, in-process, not torch."""
    names = [n for n in implementations(family=family, parallel=False)
             if n == NONE or not set(registry.get(n).tags) & set(EXCLUDED_TAGS)]
    return names or [NONE]


def is_reference(name: str) -> bool:
    """Whether ``name`` is one of our implementations (counted at every n of the profile)."""
    return name != NONE and "reference" in registry.get(name).tags


def count_family(template: type, names: list[str], problem: dict[str, Any]) -> dict[str, Any]:
    """Build each implementation's task as ``template`` (the family's suite) does and count it.

    ``problem`` maps the axes to values, ``n`` to a list. Returns ``counts`` and ``skipped``
    keyed by ``(name, n)``, or ``unavailable`` with the reason nothing can be counted.
    """
    try:
        from bench_core.regress import instructions
    except ImportError as exc:  # an older commit, benchmarked with these suites
        return {"unavailable": f"this commit cannot count instructions ({exc})"}
    why = instructions.unavailable_reason()
    if why is not None:
        return {"unavailable": why}
    tasks, keys, skipped = [], [], {}
    builder = template()
    smallest = min(problem["n"])
    for name in names:
        for n in problem["n"]:
            if any(fnmatch.fnmatchcase(name, pat) for pat in NOT_COUNTED):
                skipped[(name, n)] = f"{name} is too slow to count under Valgrind (NOT_COUNTED)"
                continue
            if n != smallest and not is_reference(name):
                skipped[(name, n)] = f"peers are counted at n={smallest} only (cost under Valgrind)"
                continue
            try:
                entry = entry_or_skip(name, n)
                cache = {"starts": {(problem["dataset"], n, problem["k"]): initial_medoids(n, problem["k"])}}
                tasks.append((name, builder.make_task(cache, entry, **dict(problem, n=n))))
                keys.append((name, n))
            except NotImplementedError as exc:
                skipped[(name, n)] = str(exc)
    try:
        results = instructions.measure(tasks)
    except instructions.InstructionCountError:
        if len(tasks) <= 1:
            raise
        results = {}  # one library crashed Valgrind: count each alone to name the culprit
        for i, task in enumerate(tasks):
            try:
                results[i] = instructions.measure([task])[0]
            except instructions.InstructionCountError as exc:
                results[i] = str(exc)
    counts: dict[tuple[str, int], Any] = {}
    for i, key in enumerate(keys):
        c = results[i]
        counts[key] = c if isinstance(c, str) else {"instructions": c.first, "ll_misses": c.ll_misses[0]}
    return {"counts": counts, "skipped": skipped}


class InstructionCounts(Benchmark, ABC):
    """``track_instructions`` and ``track_ll_misses`` of one family's implementations.

    Subclasses set ``family``, ``template`` (the family's suite class, which builds the
    task) and ``params``, and define ``setup_cache`` as ``return self.count()`` (asv
    keys the cache by the defining source line, so it cannot be inherited).
    """

    family: str = ""
    template: type = object
    axes: tuple[str, ...] = ("dataset", "n", "k", "dtype")

    @abstractmethod
    def setup_cache(self) -> dict[str, Any]:
        """Subclasses: ``return self.count()`` (and set ``setup_cache.timeout``)."""

    def count(self) -> dict[str, Any]:
        problem = {a: PROFILE[self.family][a] for a in self.axes}
        return count_family(self.template, list(self.params[0]), problem)

    def setup(self, cache: dict[str, Any], implementation: str, *values: Any) -> None:
        if implementation == NONE:
            skip("no implementation of this family is registered yet")
        if "unavailable" in cache:
            skip(cache["unavailable"])
        key = (implementation, int(dict(zip(self.axes, values, strict=True))["n"]))
        if key in cache["skipped"]:
            skip(cache["skipped"][key])
        found = cache["counts"].get(key)
        if isinstance(found, str) or found is None:
            raise RuntimeError(f"counting the instructions of {implementation} failed: {found}")
        self.found = found

    def track_instructions(self, cache, *params):
        return self.found["instructions"]

    track_instructions.unit = "instructions"

    def track_ll_misses(self, cache, *params):
        return self.found["ll_misses"]

    track_ll_misses.unit = "LL misses"


def _params(family: str, axes: tuple[str, ...]) -> list[list]:
    p = PROFILE[family]
    return [measured(family)] + [list(p[a]) if isinstance(p[a], list) else [p[a]] for a in axes]


class PAMInstructions(InstructionCounts):
    """k-medoids (PAM family) on the n x n matrix, from the suites' seeded start."""

    family, template = "kmedoids", _pam.PAMFamily
    param_names = ["implementation", *InstructionCounts.axes]
    params = _params(family, InstructionCounts.axes)

    def setup_cache(self):
        return self.count()

    setup_cache.timeout = SETUP_TIMEOUT


class MSCInstructions(InstructionCounts):
    """Medoid silhouette clustering on the n x n matrix."""

    family, template = "msc", _msc.MedoidSilhouetteClustering
    param_names = ["implementation", *InstructionCounts.axes]
    params = _params(family, InstructionCounts.axes)

    def setup_cache(self):
        return self.count()

    setup_cache.timeout = SETUP_TIMEOUT


class SilhouetteInstructions(InstructionCounts):
    """Silhouette evaluation of the seeded medoids on the n x n matrix."""

    family, template = "silhouette", _silhouette.Silhouettes
    param_names = ["implementation", *InstructionCounts.axes]
    params = _params(family, InstructionCounts.axes)

    def setup_cache(self):
        return self.count()

    setup_cache.timeout = SETUP_TIMEOUT


class SamplingInstructions(InstructionCounts):
    """CLARA/CLARANS-type sampling algorithms on the points."""

    family, template, axes = "sampling", _sampling.Sampling, ("dataset", "n", "k")
    param_names = ["implementation", *axes]
    params = _params(family, axes)

    def setup_cache(self):
        return self.count()

    setup_cache.timeout = SETUP_TIMEOUT


class KMeansInstructions(InstructionCounts):
    """k-means from the shared seeded centres."""

    family, template, axes = "kmeans", _kmeans.KMeans, ("dataset", "n", "k")
    param_names = ["implementation", *axes]
    params = _params(family, axes)

    def setup_cache(self):
        return self.count()

    setup_cache.timeout = SETUP_TIMEOUT


class KMedianInstructions(InstructionCounts):
    """k-median from the shared seeded centres."""

    family, template, axes = "kmedian", _kmedian.KMedian, ("dataset", "n", "k")
    param_names = ["implementation", *axes]
    params = _params(family, axes)

    def setup_cache(self):
        return self.count()

    setup_cache.timeout = SETUP_TIMEOUT
