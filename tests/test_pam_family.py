"""PAM family: brute-force oracles on tiny problems, agreement with kmedoids 0.5.5, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import blobs_diss, mnist_diss, random_diss

from bench_core.algorithms import pam as P

kmedoids = pytest.importorskip("kmedoids")

SWAP_ALGOS = ("pam", "fastpam1", "fasterpam")
ALL_ALGOS = SWAP_ALGOS + ("alternating",)


def brute_loss(D, med):
    return float(np.min(D[np.asarray(med)], axis=0).sum())


def optimum(D, k):
    return min(brute_loss(D, c) for c in itertools.combinations(range(len(D)), k))


def is_swap_local_optimum(D, med, rtol=1e-12):
    cur = brute_loss(D, med)
    for b in range(len(med)):
        for j in range(len(D)):
            if j in med:
                continue
            trial = list(med)
            trial[b] = j
            if brute_loss(D, trial) < cur - rtol * cur:
                return False
    return True


def check_result(D, res, k):
    n = len(D)
    assert res.medoids.dtype == np.int64 and res.labels.dtype == np.int64
    assert len(res.medoids) == k and len(set(res.medoids.tolist())) == k
    assert res.labels.shape == (n,) and res.labels.min() >= 0 and res.labels.max() < k
    # labels are nearest medoids and each medoid is in its own cluster
    own = D[res.medoids[res.labels], np.arange(n)]
    assert np.all(own <= D[res.medoids].min(axis=0))
    assert np.array_equal(res.labels[res.medoids], np.arange(k))
    assert res.loss == pytest.approx(brute_loss(D, res.medoids), rel=1e-12, abs=1e-12)


# ---------------------------------------------------------------- brute-force oracles

@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_tiny_oracles(seed, ties, k):
    n = 8 + seed % 5
    D = random_diss(n, seed, ties=ties)
    best = optimum(D, k)
    start = np.random.default_rng(seed).choice(n, k, replace=False)
    for name in SWAP_ALGOS:
        res = getattr(P, name)(D, start)
        check_result(D, res, k)
        assert res.loss >= best - 1e-12
        assert res.loss <= brute_loss(D, start) + 1e-12
        assert is_swap_local_optimum(D, res.medoids.tolist()), name
    alt = P.alternating(D, start)
    check_result(D, alt, k)
    assert alt.loss <= brute_loss(D, start) + 1e-12
    b = P.build(D, k)
    check_result(D, b, k)
    if k == 1:
        assert b.loss == pytest.approx(best)


def test_build_is_greedy_oracle():
    """Plain BUILD in NumPy (every gain recomputed every step) gives the same medoids."""
    for seed in range(5):
        D = random_diss(40, seed)
        k = 7
        near = None
        med = []
        for step in range(k):
            if step == 0:
                cost = D.sum(axis=1) - np.diag(D)
                c = int(np.argmin(cost))
            else:
                gain = np.maximum(near[None, :] - D, 0).sum(axis=1)
                gain[med] = -1
                c = int(np.argmax(gain))
            med.append(c)
            near = D[c].copy() if near is None else np.minimum(near, D[c])
        assert P.build(D, k).medoids.tolist() == med


def test_build_vector_gains_are_the_scalar_definition(gain_level):
    """BUILD's float64/float32 gains (four rows at a time in SSE2 registers,
    build_gain.h) take the additions of the scalar loop used for integer matrices:
    integer-valued matrices give the same medoids, distances and evaluation counts
    in every type, for odd n (the tails) and every thread count (groups of < 4 rows)."""
    from bench_core.algorithms._build import build_kernel

    for n, seed in ((37, 0), (130, 1), (203, 2)):
        base = random_diss(n, seed, ties=True) * 3 + random_diss(n, seed + 7, ties=True)
        for k in (2, 5, 17):
            outs = []
            for dtype in (np.int64, np.float64, np.float32, np.int32):
                for nt in (1, 2, 3):
                    med, near = np.empty(k, dtype=np.int64), np.empty(n)
                    evals = build_kernel(base.astype(dtype), med, near, nt)
                    outs.append((med.tolist(), near.tobytes(), evals))
            assert all(o == outs[0] for o in outs), (n, k)


def test_build_batches_do_not_change_the_medoids():
    """Lazy BUILD takes the same medoids whatever the batch of stale candidates
    (1: one at a time, up to more than n), with more evaluations for larger batches."""
    from bench_core.algorithms._build import build_kernel

    D = mnist_diss(400)
    outs, evals = [], []
    for batch in (1, 3, 8, 64, 1000):
        med, near = np.empty(20, dtype=np.int64), np.empty(400)
        evals.append(build_kernel(D, med, near, 2, False, batch))
        outs.append((med.tolist(), near.tobytes()))
    assert all(o == outs[0] for o in outs)
    assert evals == sorted(evals) and evals[0] < evals[-1]
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        build_kernel(D, med, near, 1, False, 0)


def _gain_definition(row, near):
    """BUILD's gain as _build._gain defines it: four sequential partial sums (entry o
    to sum o % 4 of the full groups, the tail to sum 0), then (s0 + s1) + (s2 + s3)."""
    t = [float(a) - float(b) for a, b in zip(near, row, strict=True)]
    t = [x if x > 0.0 else 0.0 for x in t]
    s = [0.0, 0.0, 0.0, 0.0]
    full = len(t) // 4 * 4
    for o in range(full):
        s[o % 4] += t[o]
    for o in range(full, len(t)):
        s[0] += t[o]
    return (s[0] + s[1]) + (s[2] + s[3])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ahead", [256, 64, 0, 3])
def test_build_gains_add_in_the_defined_order(dtype, gain_level, ahead):
    """The vector gains (SSE2 and AVX2, the latter with and without prefetching its rows)
    are bit for bit the scalar definition on values whose sum depends on the order of
    the additions (any other order changes some bits)."""
    from bench_core.algorithms import _build

    if gain_level == 0 and ahead != 256:
        pytest.skip("the SSE2 gains do not prefetch")
    _build._set_prefetch(ahead, 0)   # these matrices are small
    try:
        _check_gains_against_definition(dtype)
    finally:
        _build._set_prefetch()


def test_prefetch_distance_follows_the_cpu():
    """The default prefetch distance is read from CPUID: 256 entries on AMD family 26
    (Zen 5) and on Intel with AVX512-FP16, 64 elsewhere (cpu_level.h); checked against
    the kernel's /proc/cpuinfo."""
    from bench_core.algorithms import _build, _fasterpam, _fastpam1
    from bench_core.environment import _cpu_fields

    fields = _cpu_fields()
    if "vendor_id" not in fields or "cpu family" not in fields:
        pytest.skip("no x86 /proc/cpuinfo")
    zen5 = fields["vendor_id"] == "AuthenticAMD" and int(fields["cpu family"]) >= 26
    fp16 = fields["vendor_id"] == "GenuineIntel" and "avx512_fp16" in fields.get("flags", "").split()
    for module in (_build, _fasterpam, _fastpam1):
        assert module._prefetch_default() == (256 if zen5 or fp16 else 64)


def _check_gains_against_definition(dtype):
    from bench_core.algorithms._build import _gain_rows

    rng = np.random.default_rng(3)
    for n in (1, 3, 4, 9, 66, 131):
        D = np.ascontiguousarray((rng.random((n, n)) * 10.0 ** rng.integers(-8, 8, (n, n))).astype(dtype))
        near = rng.random(n) * 10.0 ** rng.integers(-8, 8, n)
        for rows in (np.arange(n), rng.permutation(n)[: max(1, n // 3)], np.zeros(3, dtype=np.intp)):
            rows = np.ascontiguousarray(rows, dtype=np.intp)
            got = _gain_rows(D, rows, near)
            want = [_gain_definition(D[i], near) for i in rows]
            assert got.tolist() == want, n


def test_pam_vector_sums_are_the_scalar_loop():
    """PAM SWAP's AVX2 candidate sums (16 per pass, pam_candidate.h) are bit for bit the
    scalar loop, for every type and k from 1 to 37 (partial registers, several passes),
    on values whose sums depend on the order of the additions, and the kernel makes the
    same swaps."""
    from bench_core.algorithms import _pam

    if _pam.pam_level() != "avx2":
        pytest.skip("this CPU or build has no AVX2 candidate sums")
    rng = np.random.default_rng(5)
    n = 61
    X = rng.random((n, n)) * 10.0 ** rng.integers(-6, 6, (n, n))
    mats = {np.float64: X, np.float32: X.astype(np.float32),
            np.int32: rng.integers(0, 2**20, (n, n)).astype(np.int32),
            np.int64: rng.integers(0, 2**40, (n, n))}
    try:
        for dtype, D in mats.items():
            D = np.ascontiguousarray(D)
            np.fill_diagonal(D, 0)
            for k in (1, 2, 3, 4, 5, 8, 15, 16, 17, 20, 31, 32, 33, 37):
                med = np.ascontiguousarray(rng.choice(n, k, replace=False), dtype=np.int64)
                sums = []
                for level in (0, 1):
                    _pam._limit_pam_level(level)
                    sums.append(_pam._candidate_sums(D, med))
                np.testing.assert_array_equal(sums[1], sums[0], err_msg=f"{dtype.__name__} k={k}")
                if k > 1:
                    runs = []
                    for level in (0, 1):
                        _pam._limit_pam_level(level)
                        r = P.pam(D, med, max_iter=3)
                        runs.append((r.medoids.tolist(), r.loss, r.n_swap))
                    assert runs[1] == runs[0]
        # the values are order-sensitive: summing the float64 terms in another order
        # (pairwise, as numpy does) changes some changes' bits
        D, k = mats[np.float64], 5
        med = np.arange(k, dtype=np.int64) * 7
        _pam._limit_pam_level(1)
        got = _pam._candidate_sums(D, med)
        near = D[med].min(0)
        lab = D[med].argmin(0)
        lab[med] = np.arange(k)
        near[med] = 0.0
        seco = np.sort(D[med], 0)[1]
        other = np.full((n, k), np.nan)
        for j in set(range(n)) - set(med.tolist()):
            o = np.arange(n) != j
            x = np.where(D[j] < near, D[j] - near, 0.0)
            y = np.minimum(D[j], seco) - near
            t = np.where(lab[None, :] == np.arange(k)[:, None], y, x)[:, o]
            other[j] = -near[j] + t.sum(1)
        close = np.isclose(other, got, rtol=1e-9, equal_nan=True)
        assert close.all()
        assert (other != got)[~np.isnan(got)].any()
    finally:
        _pam._limit_pam_level(1)


@pytest.mark.parametrize("name", ALL_ALGOS)
def test_k_equals_n_and_one(name):
    D = random_diss(9, 3)
    res = getattr(P, name)(D, 9)
    check_result(D, res, 9)
    assert res.loss == pytest.approx(0.0)
    one = getattr(P, name)(D, np.array([4]))
    check_result(D, one, 1)
    assert one.loss == pytest.approx(optimum(D, 1))
    assert len(P.build(D, 9).medoids) == 9


def test_shuffled_fasterpam_seeded():
    D = mnist_diss(300)
    a = P.fasterpam(D, 10, random_state=7, shuffle=True)
    b = P.fasterpam(D, 10, random_state=7, shuffle=True)
    c = P.fasterpam(D, a.extras["initial_medoids"], random_state=8, shuffle=True)
    assert np.array_equal(a.medoids, b.medoids) and a.loss == b.loss
    for r in (a, c):
        check_result(D, r, 10)
        assert r.loss <= brute_loss(D, r.extras["initial_medoids"])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_matrices(dtype):
    Df = random_diss(30, 5, ties=True)
    Di = Df.astype(dtype)
    start = np.array([0, 1, 2, 3])
    for name in ALL_ALGOS:
        ri, rf = getattr(P, name)(Di, start), getattr(P, name)(Df, start)
        assert isinstance(ri.loss, float)
        assert np.array_equal(ri.medoids, rf.medoids) and ri.loss == rf.loss
        km = getattr(kmedoids, name)(Di, start.copy())
        assert np.array_equal(ri.medoids, km.medoids) and ri.loss == km.loss
    assert np.array_equal(P.build(Di, 4).medoids, kmedoids.pam_build(Di, 4).medoids)


def test_matrix_not_copied_and_readonly_ok():
    D = mnist_diss(200)
    assert not D.flags.writeable
    res = P.fasterpam(D, 5, random_state=0)
    check_result(D, res, 5)


def test_asymmetric_row_is_medoid():
    """diss[m, o] is the cost of o under medoid m: transposing changes the problem."""
    rng = np.random.default_rng(0)
    A = rng.random((12, 12)) * 10
    np.fill_diagonal(A, 0)
    for name in ALL_ALGOS:
        res = getattr(P, name)(A, np.array([0, 5]))
        assert res.loss == pytest.approx(A[res.medoids].min(axis=0).sum())


# ---------------------------------------------------------------- agreement with kmedoids

def _kmedoids_call(name, D, med):
    kw = {"n_cpu": 1} if name == "fasterpam" else {}
    return getattr(kmedoids, name)(D, med.astype(np.int64).copy(), 100, **kw)


CASES = [("mnist", 200, 2), ("mnist", 200, 50), ("mnist", 500, 5), ("mnist", 500, 20),
         ("blobs", 400, 3), ("blobs", 400, 12), ("mnist", 1000, 10)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("data", "n", "k"), CASES)
def test_agreement_with_kmedoids(data, n, k, dtype):
    """With tol=0 every choice is kmedoids' (same arithmetic, same order): identical results.

    With the default tol, a swap whose gain is rounding noise (two equivalent medoids of a
    tiny cluster) is not taken; kmedoids takes it, so medoids may then differ, at the same
    loss (such cases are counted and must stay rare).
    """
    D = mnist_diss(n, dtype) if data == "mnist" else blobs_diss(n, dtype=dtype)
    start = np.random.default_rng(n + k).choice(n, k, replace=False)
    for name in ALL_ALGOS:
        if name == "pam" and n * k > 10000:
            continue  # slow in kmedoids; covered by the slow test
        theirs = _kmedoids_call(name, D, start)
        ours = getattr(P, name)(D, start, **({} if name == "alternating" else {"tol": 0.0}))
        assert np.array_equal(ours.medoids, theirs.medoids), name
        assert ours.extras.get("kernel_loss", ours.loss) == theirs.loss, name
        assert ours.loss == pytest.approx(theirs.loss, rel=1e-12), name
        assert np.array_equal(ours.labels, theirs.labels), name
        assert ours.n_iter == theirs.n_iter, name
        if name != "alternating":
            assert ours.n_swap == theirs.n_swap, name
        default = getattr(P, name)(D, start)
        if not np.array_equal(default.medoids, theirs.medoids):
            assert name != "alternating"
            assert default.loss == pytest.approx(theirs.loss, rel=1e-9), name
            assert default.n_swap < theirs.n_swap, name
    b = P.build(D, k)
    kb = kmedoids.pam_build(D, k)
    assert np.array_equal(b.medoids, kb.medoids)
    assert b.loss == pytest.approx(kb.loss, rel=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize(("n", "k"), [(2000, 2), (2000, 30), (1500, 50)])
def test_agreement_with_kmedoids_large(n, k):
    D = mnist_diss(n)
    start = np.random.default_rng(k).choice(n, k, replace=False)
    for name in ("fastpam1", "fasterpam", "alternating"):
        kw = {} if name == "alternating" else {"tol": 0.0}
        ours, theirs = getattr(P, name)(D, start, **kw), _kmedoids_call(name, D, start)
        assert np.array_equal(ours.medoids, theirs.medoids), name
        assert ours.loss == pytest.approx(theirs.loss, rel=1e-12), name
    assert np.array_equal(P.build(D, k).medoids, kmedoids.pam_build(D, k).medoids)
    ours = P.pam(D, k, tol=0.0)
    theirs = kmedoids.pam(D, k)
    assert np.array_equal(ours.medoids, theirs.medoids)
    assert ours.loss == pytest.approx(theirs.loss, rel=1e-12)


def test_pam_default_init_is_build():
    D = mnist_diss(300)
    ours, theirs = P.pam(D, 6), kmedoids.pam(D, 6)
    assert np.array_equal(ours.medoids, theirs.medoids)
    assert ours.loss == pytest.approx(theirs.loss, rel=1e-12)


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("name", ALL_ALGOS)
def test_bad_input(name):
    f = getattr(P, name)
    D = random_diss(10, 0)
    with pytest.raises(ValueError, match="square"):
        f(np.ones((3, 4)), 2)
    with pytest.raises(ValueError, match="2-D"):
        f(np.ones(5), 2)
    bad = D.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        f(bad, 2)
    bad[1, 2] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        f(bad, 2)
    bad[1, 2] = -1
    with pytest.raises(ValueError, match="negative"):
        f(bad, 2)
    for k in (0, 11, -1):
        with pytest.raises(ValueError, match="out of range"):
            f(D, k)
    with pytest.raises(ValueError, match="out of range"):
        f(D, np.array([0, 10]))
    with pytest.raises(ValueError, match="repeated"):
        f(D, np.array([3, 3]))
    with pytest.raises(ValueError, match="unknown init"):
        f(D, 2, init="kmeans")
    with pytest.raises(ValueError, match="max_iter"):
        f(D, 2, max_iter=-1)
    with pytest.raises(ValueError, match="medoids"):
        f(D, 2.5)
    with pytest.raises(ValueError, match="out of range"):
        P.build(D, 0)


def test_float32_bounds_round_up():
    """The listings' float32 bounds: the smallest float32 >= each distance (nextafter
    semantics at 0, denormals, exact floats, FLT_MAX and beyond the range)."""
    from bench_core.algorithms._fasterpam import _round_up_f32

    f32 = np.finfo(np.float32)
    rng = np.random.default_rng(0)
    x = np.concatenate([
        [0.0, 5e-324, 1e-45, 1.4e-45, 1e-40, 1.0, 1.0 + 2.0**-30, 3.0, 0.1, 2.0**24 + 1,
         float(f32.max), float(f32.max) * (1 + 2.0**-30), float(f32.max) * 1.5, 1e300, np.inf],
        rng.random(1000) * 10.0 ** rng.integers(-40, 40, 1000)])
    with np.errstate(over="ignore"):  # beyond float32's range: +inf, as wanted
        want = x.astype(np.float32)
        low = want.astype(np.float64) < x
        want[low] = np.nextafter(want[low], np.float32(np.inf))
    got = _round_up_f32(np.ascontiguousarray(x))
    assert got.tobytes() == want.tobytes()
    assert (got.astype(np.float64) >= x).all()


@pytest.mark.parametrize("ties", [False, True])
def test_vector_and_scalar_hit_lists_agree(ties):
    """The AVX-512 and AVX2 listings of affected points (float64, where the CPU has
    them), with and without prefetching their rows, and the scalar loop must take
    exactly the same swaps."""
    from bench_core.algorithms import _fasterpam, _fastpam1

    cases = [(mnist_diss(600), 10), (mnist_diss(600), 40)] + [
        (random_diss(150, seed, ties=ties), 7) for seed in range(4)]
    # Values above 2**24 that float32 cannot hold: the vector listings compare with
    # bounds rounded up to float32 and so list extra points, which must be dropped.
    big = np.round(random_diss(200, 9, ties=ties) * 50) + 2.0**30
    np.fill_diagonal(big, 0.0)
    cases.append((big, 6))
    try:
        for D, k in cases:
            start = np.random.default_rng(k).choice(D.shape[0], k, replace=False)
            for f, module in ((P.fasterpam, _fasterpam), (P.fastpam1, _fastpam1)):
                results = []
                for level, ahead in ((0, 0), (1, 256), (1, 64), (1, 0), (2, 256), (2, 64), (2, 0), (2, 5)):
                    module._limit_compaction(level)
                    module._set_prefetch(ahead, 0)   # these matrices are small
                    results.append(f(D, start))
                scalar = results[0]
                for vector in results[1:]:
                    np.testing.assert_array_equal(scalar.medoids, vector.medoids)
                    assert ((scalar.loss, scalar.n_swap, scalar.n_iter)
                            == (vector.loss, vector.n_swap, vector.n_iter))
    finally:
        for module in (_fasterpam, _fastpam1):
            module._limit_compaction(2)
            module._set_prefetch()
