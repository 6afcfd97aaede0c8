"""Kernels that check the matrix in a pass they make anyway.

FasterPAM and FastPAM1 (``check_rows``): where the kernel can (float64, AVX2 or
AVX-512 listings), the drivers scan only the start's medoid rows and the kernel's
first pass checks every other row as it lists it. BUILD (``check``): its first step
reads every row whole, in any dtype, and checks it there. So no separate scan of the
matrix is needed. Every bad entry must still be found, before anything uses it, and
the results must not change.
"""

from __future__ import annotations

import numpy as np
import pytest
from bench_core.algorithms._build import _first_step, build_kernel
from bench_core.algorithms._scan import scan_matrix
from conftest import mnist_diss, random_diss

from bench_core import input_checks
from bench_core.algorithms import _fasterpam, _fastpam1, init, msc
from bench_core.algorithms import build as B
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
@pytest.mark.parametrize("four", [False, True], ids=["one row", "four rows"])
def test_every_listing_checks_every_entry(level, four):
    """Each vector listing, alone and (AVX-512) in its group of four, flags a bad value
    at any position of rows of 1 to 40 entries (every tail of every step width), and
    only there; the kernels reach the one-row AVX-512 listing rarely (a group of one)."""
    if four and level < 2:
        pytest.skip("the group listing is AVX-512's")
    for n in range(1, 41):
        rows = np.random.default_rng(n).random((4, n)) + 0.5
        bound = _fasterpam._round_up_f32(np.full(n, 1.0))
        assert not _fasterpam._listing_flags(rows, bound, four).any()
        for r in range(4):
            for c in range(n):
                for value in (np.nan, np.inf, -np.inf, -2.0):
                    E = rows.copy()
                    E[r, c] = value
                    flags = _fasterpam._listing_flags(E, bound, four)
                    want = np.ones(4, bool) if four else np.arange(4) == r
                    assert (flags == want).all(), (n, r, c, value)


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
    rows; float32, int64 and max_iter=0 (no kernel pass) still scan the whole matrix;
    from BUILD nothing is scanned apart (BUILD's first step checks, see below)."""
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
                               ((D, 4), {"init": "build"}, ["scan=False"]),
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


def _build(D, k, check, n_threads=1):
    med, near = np.empty(k, dtype=np.int64), np.empty(len(D))
    evals = build_kernel(D, med, near, n_threads, check)
    return None if evals is None else (med.tolist(), near.tobytes(), evals)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_build_finds_every_bad_entry_in_its_first_step(dtype, n_threads):
    """BUILD with ``check``: a bad value anywhere (diagonal included; n = 37, row blocks
    split between threads) makes the kernel return None; a clean matrix gives exactly
    the medoids, distances and gain evaluations of the unchecked kernel."""
    D = (random_diss(37, 3) * 50).astype(dtype)
    clean = _build(D, 5, False, n_threads)
    assert _build(D, 5, True, n_threads) == clean
    values = (-2,) if D.dtype.kind == "i" else (np.nan, np.inf, -np.inf, -2.0, -1e-30)
    missed = []
    for value in values:
        for r in range(37):
            for c in range(37):
                E = D.copy()
                E[r, c] = value
                if _build(E, 5, True, n_threads) is not None:
                    missed.append((r, c, value))
    assert not missed, missed[:10]


def test_build_check_lets_negative_zero_pass():
    D = random_diss(29, 1)
    E = D.copy()
    E[np.arange(29), np.arange(29)] = -0.0
    E[4, 9] = E[9, 4] = -0.0
    assert _build(E, 4, True) == _build(E, 4, False) is not None


@pytest.mark.parametrize("bad", sorted(BAD))
def test_build_starts_raise_the_usual_errors(bad):
    """build(), initial_medoids(init="build") and the swap drivers from BUILD: the message
    of the scan, for a bad entry in the first row, the middle and the last entry."""
    value, message = BAD[bad]
    for r, c in ((0, 0), (20, 7), (44, 44)):
        D = random_diss(45, 2)
        D[r, c] = value
        for f, kw in ((B.build, {}), (init.initial_medoids, {"init": "build"}), (P.pam, {}),
                      (P.fastpam1, {"init": "build"}), (P.fasterpam, {"init": "build"}),
                      (P.alternating, {"init": "build"}), (P.pam, {"max_iter": 0}),
                      (msc.fastmsc, {"init": "build"}), (msc.fastermsc, {"init": "build"}),
                      (msc.pamsil, {"init": "build"}), (msc.dynmsc, {"init": "build"})):
            with pytest.raises(ValueError, match=message):
                f(D, 3, **kw)


def test_build_drivers_skip_the_separate_scan(monkeypatch):
    """build() and initial_medoids(init="build") leave the scan to the kernel; the scan
    runs only for the message once the kernel has found a bad entry."""
    calls = []
    real = B.check_diss

    def spy(D, **kw):
        calls.append("scan=False" if kw.get("scan") is False else "full")
        return real(D, **kw)

    monkeypatch.setattr(B, "check_diss", spy)
    monkeypatch.setattr(init, "check_diss", spy)
    monkeypatch.setattr(input_checks, "check_diss", spy)  # raise_kernel_found_bad's scan
    D = mnist_diss(300)
    for call in (lambda D: B.build(D, 5), lambda D: init.initial_medoids(D, 5, "build")):
        calls.clear()
        call(D)
        assert calls == ["scan=False"]
        E = D.copy()
        E[100, 7] = np.nan
        calls.clear()
        with pytest.raises(ValueError, match="NaN"):
            call(E)
        assert calls == ["scan=False", "full"]
    calls.clear()
    init.initial_medoids(D, 5, "random", random_state=0)
    assert calls == ["scan=False", "full"]
    monkeypatch.setattr(msc, "check_diss", spy)
    for medoids, kw, want in ((5, {"init": "build"}, ["scan=False"]),
                              (5, {"init": "random"}, ["scan=False", "full"]),
                              (np.array([1, 50, 99, 150, 290]), {}, ["scan=False", "full"])):
        calls.clear()
        msc.fastmsc(D, medoids, max_iter=1, **kw)
        assert calls == want, kw
    for name in ("first", "random", "k-medoids++", "lab"):  # check=True: a scan first
        E = D.copy()
        E[7, 100] = -1.0
        calls.clear()
        with pytest.raises(ValueError, match="negative"):
            init.checked_initial_medoids(E, 5, name, random_state=0, check=True)
        assert calls == ["full"], name


def test_build_checked_row_sums_take_the_same_additions(gain_level):
    """The float64 sums with the check (one SSE2 or AVX2 loop, build_gain.h) are those of
    ``_row_sum`` bit for bit, on values whose sum depends on the order of the additions
    (magnitudes from 1e-8 to 1e8; n = 1..13 and 61 for every tail of both halves), and
    their flags those of the input check's scan for each kind of bad entry anywhere."""
    rng = np.random.default_rng(4)
    for n in [*range(1, 14), 61]:
        D = 10.0 ** rng.uniform(-8, 8, size=(n, n))
        checked, flags = _first_step(D, True)
        plain, _ = _first_step(D, False)
        assert flags == 0
        assert checked.tobytes() == plain.tobytes(), n
        for i in range(n):  # the definition: four partial sums on each side of the diagonal
            want = 0.0
            for lo, hi in ((0, i), (i + 1, n)):
                s = [0.0] * 4
                full = lo + (hi - lo) // 4 * 4
                for o in range(lo, full):
                    s[(o - lo) % 4] += D[i, o]
                for o in range(full, hi):
                    s[0] += D[i, o]
                want += (s[0] + s[1]) + (s[2] + s[3])
            assert checked[i] == want, (n, i)
        E = D.copy()
        E[n - 1, n // 2] = -1.0
        assert _first_step(E, True)[1] == 2
    D = rng.random((13, 13)) + 0.5
    for value in (np.nan, -np.nan, np.inf, -np.inf, -1.0, -1e-300, -0.0):
        for r in range(13):
            for c in range(13):
                E = D.copy()
                E[r, c] = value
                assert _first_step(E, True)[1] == scan_matrix(E), (value, r, c)
