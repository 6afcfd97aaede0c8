"""FasterPAM and FastPAM1 check the matrix in their first pass (``check_rows``).

Where the kernel can (float64, AVX2 or AVX-512 listings), the drivers scan only the
start's medoid rows and the kernel's first pass checks every other row as it lists it,
so that no separate scan of the matrix is needed. Every bad entry must still be found,
before anything uses it, and the results must not change.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import mnist_diss, random_diss

from bench_core.algorithms import _fasterpam, _fastpam1
from bench_core.algorithms import pam as P

LEVELS = [lvl for lvl in (1, 2) if lvl <= ("scalar", "avx2", "avx512").index(_fasterpam.compaction_level())]
needs_vector = pytest.mark.skipif(not LEVELS, reason="this CPU has no AVX2: the drivers scan the matrix")
MODULES = {"fasterpam": _fasterpam, "fastpam1": _fastpam1}
BAD = {"nan": (np.nan, "NaN or infinite"), "inf": (np.inf, "NaN or infinite"),
       "-inf": (-np.inf, "NaN or infinite|negative"), "negative": (-1e-300, "negative entries")}


@pytest.fixture
def level(request):
    """Limit both kernels to a vector level for one test."""
    for module in MODULES.values():
        module._limit_compaction(request.param)
    yield request.param
    for module in MODULES.values():
        module._limit_compaction(2)


def _kernel(name, D, start, check, n_threads=1, shuffle=False):
    med = np.array(start, dtype=np.int64)
    labels = np.empty(len(D), dtype=np.intc)
    if name == "fasterpam":
        order = (np.random.default_rng(5).permutation(len(D)) if shuffle else np.arange(len(D)))
        return _fasterpam.fasterpam_kernel(D, med, order.astype(np.int64), 100, P.TOL, labels,
                                           check_rows=check)
    return _fastpam1.fastpam1_kernel(D, med, 100, P.TOL, labels, n_threads, check_rows=check)


VARIANTS = [("fasterpam", 1, False), ("fasterpam", 1, True),
            ("fastpam1", 1, False), ("fastpam1", 2, False), ("fastpam1", 3, False)]


@needs_vector
@pytest.mark.parametrize("level", LEVELS, indirect=True)
@pytest.mark.parametrize(("name", "n_threads", "shuffle"), VARIANTS)
def test_every_bad_entry_outside_the_start_rows_is_found(level, name, n_threads, shuffle):
    """A bad value at every position of every non-medoid row (n = 37: vector tails
    of 5 and 13 entries) makes the checking kernel return None; a clean matrix gives
    exactly the tuple of the unchecked kernel."""
    D = random_diss(37, 3)
    start = [2, 17, 30]
    clean = _kernel(name, D, start, False, n_threads, shuffle)
    assert _kernel(name, D, start, True, n_threads, shuffle) == clean
    missed = []
    for value in (np.nan, np.inf, -2.0):
        for r in range(37):
            if r in start:
                continue
            for c in range(37):
                E = D.copy()
                E[r, c] = value
                if _kernel(name, E, start, True, n_threads, shuffle) is not None:
                    missed.append((r, c, value))
    assert not missed, missed[:10]


@needs_vector
@pytest.mark.parametrize("level", LEVELS, indirect=True)
@pytest.mark.parametrize("name", ["fasterpam", "fastpam1"])
def test_negative_zero_is_not_flagged(level, name):
    D = random_diss(29, 1)
    E = D.copy()
    E[np.arange(29), np.arange(29)] = -0.0
    E[4, 9] = E[9, 4] = -0.0
    assert _kernel(name, E, [0, 11], True) == _kernel(name, E, [0, 11], False)
    assert getattr(P, name)(E, [0, 11]).loss == getattr(P, name)(E, [0, 11]).loss


@pytest.mark.parametrize("name", ["fasterpam", "fastpam1"])
@pytest.mark.parametrize("bad", sorted(BAD))
@pytest.mark.parametrize("where", ["start medoid", "candidate", "last row", "late column"])
def test_drivers_raise_the_usual_errors(name, bad, where):
    """Through the drivers (fused or not, whatever this CPU has): the message of the scan."""
    D = random_diss(45, 2)
    start = np.array([1, 20, 33])
    r, c = {"start medoid": (20, 7), "candidate": (5, 30), "last row": (44, 0),
            "late column": (10, 44)}[where]
    value, message = BAD[bad]
    D[r, c] = value
    with pytest.raises(ValueError, match=message):
        getattr(P, name)(D, start)
    with pytest.raises(ValueError, match=message):
        getattr(P, name)(D, 3, random_state=0)


@pytest.mark.parametrize("init", ["build", "k-medoids++", "lab"])
def test_starts_that_read_the_matrix_get_it_checked_first(init):
    """An init that reads the matrix must not see a NaN (k-medoids++ would otherwise fail
    inside NumPy's sampler with its own message)."""
    D = random_diss(40, 4)
    D[13, 2] = np.nan
    for f in (P.fasterpam, P.fastpam1):
        with pytest.raises(ValueError, match="NaN or infinite"):
            f(D, 3, init=init, random_state=0)


@needs_vector
def test_fused_drivers_skip_the_separate_scan(monkeypatch):
    """With a vector listing, float64 and a given start, the drivers scan only the medoid
    rows; float32, int64 and max_iter=0 (no kernel pass) still scan the whole matrix."""
    calls = []
    real = P.check_diss

    def spy(D, **kw):
        calls.append("scan=False" if kw.get("scan") is False
                     else "rows" if kw.get("rows") is not None else "full")
        return real(D, **kw)

    monkeypatch.setattr(P, "check_diss", spy)
    D = mnist_diss(300)
    start = np.array([3, 80, 150, 290])
    for f in (P.fasterpam, P.fastpam1):
        for args, kw, want in [((D, start), {}, ["scan=False", "rows"]),
                               ((D, 4), {"random_state": 1}, ["scan=False", "rows"]),
                               ((D, 4), {"init": "build"}, ["scan=False", "full"]),
                               ((D.astype(np.float32), start), {}, ["scan=False", "full"]),
                               ((np.round(D * 100).astype(np.int64), start), {}, ["scan=False", "full"]),
                               ((D, start), {"max_iter": 0}, ["scan=False", "full"])]:
            calls.clear()
            f(*args, **kw)
            assert calls == want, (f.__name__, kw, args[0].dtype, calls)


@needs_vector
@pytest.mark.parametrize("name", ["fasterpam", "fastpam1"])
def test_results_do_not_change(name, monkeypatch):
    """The same medoids, labels, loss, n_iter and n_swap as with the separate scan."""
    D = mnist_diss(600)
    f = getattr(P, name)
    runs = [(D, 10), (D, 40)]
    fused = [f(D, k, random_state=s) for D, k in runs for s in (0, 1)]
    monkeypatch.setattr(MODULES[name], "fused_check", lambda D: False)
    plain = [f(D, k, random_state=s) for D, k in runs for s in (0, 1)]
    for a, b in zip(fused, plain, strict=True):
        assert (a.loss, a.n_iter, a.n_swap) == (b.loss, b.n_iter, b.n_swap)
        np.testing.assert_array_equal(a.medoids, b.medoids)
        np.testing.assert_array_equal(a.labels, b.labels)


def test_check_rows_refused_where_the_kernel_cannot_check():
    D = random_diss(20, 0).astype(np.float32)
    with pytest.raises(ValueError, match="check_rows needs float64"):
        _kernel("fasterpam", D, [0, 5], True)
    with pytest.raises(ValueError, match="check_rows needs float64"):
        _kernel("fastpam1", D, [0, 5], True)
