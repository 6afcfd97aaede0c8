"""Exact PAM from the points (bench_core.gpu.tiled) against the CPU reference and brute force.

Runs on the CPU build of torch in CI; ``KMBENCH_TORCH_DEVICE=cuda`` runs the same
tests on a GPU. Tiles are forced smaller than n so that the row and column
tiling paths are exercised.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bench_core import registry  # noqa: E402
from bench_core.algorithms import pam as ref  # noqa: E402
from bench_core.algorithms.silhouette import medoid_silhouette as ref_msil  # noqa: E402
from bench_core.algorithms.silhouette import silhouette as ref_sil  # noqa: E402
from bench_core.datasets import get_dataset, load_mnist  # noqa: E402
from bench_core.dissimilarity import METRICS, dissimilarity  # noqa: E402
from bench_core.gpu import tiled, tiles  # noqa: E402
from bench_core.gpu.tiles import CUDA_MIN_ROWS, MIN_ROWS, PointTiles, tile_shape  # noqa: E402

DEVICE = os.environ.get("KMBENCH_TORCH_DEVICE", "cpu")
SMALL = dict(tile_rows=97, tile_cols=131, device=DEVICE)      # tiles much smaller than n


@functools.lru_cache(maxsize=4)
def mnist(n: int) -> np.ndarray:
    X, _ = load_mnist(n)
    X = np.ascontiguousarray(X, dtype=np.float64)
    X.setflags(write=False)
    return X


@functools.lru_cache(maxsize=4)
def blobs(n: int, d: int = 5, k: int = 5, seed: int = 0) -> np.ndarray:
    X = np.ascontiguousarray(get_dataset("blobs", n, seed=seed, k=k, d=d).X, dtype=np.float64)
    X.setflags(write=False)
    return X


@functools.lru_cache(maxsize=16)
def matrix(kind: str, n: int, metric: str) -> np.ndarray:
    X = mnist(n) if kind == "mnist" else blobs(n)
    D = dissimilarity(X, metric)
    D.setflags(write=False)
    return D


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread (as the runner pins a task to ``n_threads=1``): on a loaded
    2-core CI machine, torch's default threads spin against each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def points(kind: str, n: int) -> np.ndarray:
    return mnist(n) if kind == "mnist" else blobs(n)


def _same(res, exp, *, iters=True, rel=1e-12):
    assert [int(m) for m in res.medoids] == [int(m) for m in exp.medoids]
    assert res.loss == pytest.approx(float(exp.loss), rel=rel, abs=1e-300)
    if iters:
        assert (res.n_iter, res.n_swap) == (exp.n_iter, exp.n_swap)
        assert res.converged == exp.converged


# ----------------------------------------------------------------------------- tiles


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("kind", ["mnist", "blobs"])
def test_tiles_equal_the_reference_matrix(kind, metric):
    n = 300
    X, D = points(kind, n), matrix(kind, n, metric)
    P = PointTiles(X, metric, **SMALL)
    assert (P.tile_rows, P.tile_cols) == (97, 131)
    T = torch.empty((n, n), dtype=torch.float64)
    for r0, r1 in P.row_blocks():
        for c0, c1 in P.col_blocks():
            T[r0:r1, c0:c1] = P.tile(r0, r1, c0, c1).cpu()
    T = T.numpy()
    assert (np.diag(T) == 0).all()
    if kind == "mnist" and metric != "cosine":
        # integer pixels: every product and sum is exact, the tiles are the matrix bit for bit
        np.testing.assert_array_equal(T, D)
    else:
        np.testing.assert_allclose(T, D, rtol=1e-12, atol=1e-12 * float(D.max()))


def test_tile_shape_from_the_budget():
    # 1000 points, 3 float64 arrays + masks per entry: 1 MB holds ~38,000 entries
    rows, cols = tile_shape(1000, 8, 1 << 20)
    assert cols < 1000 and rows == 64 and rows * cols * 26 <= 1 << 20
    rows, cols = tile_shape(1000, 8, 1 << 30)
    assert cols == 1000 and rows == 1000
    assert tile_shape(1000, 8, 1 << 20, rows=10) == (10, 1000)
    assert tile_shape(1000, 8, 1 << 20, cols=7, rows=3) == (3, 7)
    # a GPU keeps 1,024 rows (one reduction per row): n = 10^6 in float64 with 8 GiB
    assert tile_shape(1_000_000, 8, 8 << 30, min_rows=CUDA_MIN_ROWS) == (1024, 322_638)
    P = PointTiles(mnist(300), memory_budget=200_000, device=DEVICE)
    assert P.tile_cols < 300


# ----------------------------------------------------------------------------- PAM / FastPAM1


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("kind,n,k", [("mnist", 500, 10), ("blobs", 400, 7)])
def test_pam_from_build_same_as_reference(kind, n, k, metric):
    X, D = points(kind, n), matrix(kind, n, metric)
    exp = ref.pam(D, k)
    res = tiled.pam(X, k, metric=metric, **SMALL)
    _same(res, exp)
    assert res.extras["near_ties"] == [] or kind != "mnist"
    assert list(tiled.build(X, k, metric=metric, **SMALL).medoids) == list(ref.build(D, k).medoids)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("kind,n,k,seed", [("mnist", 600, 12, 1), ("blobs", 500, 5, 2)])
def test_fastpam1_from_random_start_same_as_reference(kind, n, k, seed, metric):
    X, D = points(kind, n), matrix(kind, n, metric)
    exp = ref.fastpam1(D, k, random_state=seed)
    res = tiled.fastpam1(X, k, random_state=seed, metric=metric, **SMALL)
    assert list(res.extras["initial_medoids"]) == list(exp.extras["initial_medoids"])
    _same(res, exp)
    _same(res, ref.pam(D, exp.extras["initial_medoids"]))   # PAM's swaps from the same start


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("init", ["k-medoids++", "lab"])
@pytest.mark.parametrize("kind,n,k,seed", [("mnist", 400, 9, 4), ("blobs", 450, 6, 1)])
def test_seeded_inits_from_tiles_same_as_reference(kind, n, k, seed, init, metric):
    """k-medoids++ and LAB draw as the reference does, their rows of distances from tiles
    (smaller than n; in k-d tree order with pruning): the same start and swaps."""
    X, D = points(kind, n), matrix(kind, n, metric)
    exp = ref.fastpam1(D, k, init=init, random_state=seed)
    res = tiled.fastpam1(X, k, init=init, random_state=seed, metric=metric, **SMALL)
    assert list(res.extras["initial_medoids"]) == list(exp.extras["initial_medoids"])
    _same(res, exp)
    if metric in ("euclidean", "manhattan"):   # the bounds of pruning
        pruned = tiled.pam(X, k, init=init, random_state=seed, metric=metric, prune=True, prune_leaf=32,
                           tile_rows=64, device=DEVICE)
        assert list(pruned.extras["initial_medoids"]) == list(exp.extras["initial_medoids"])
        _same(pruned, exp)


@pytest.mark.parametrize("n", [1000, pytest.param(2000, marks=pytest.mark.slow)])
def test_pam_mnist_larger_default_tiles(n):
    X, D = mnist(n), matrix("mnist", n, "euclidean")
    exp = ref.pam(D, 10)
    res = tiled.pam(X, 10, device=DEVICE, memory_budget=2 << 20)
    min_rows = CUDA_MIN_ROWS if str(DEVICE).startswith("cuda") else MIN_ROWS
    shape = tile_shape(n, 8, 2 << 20, min_rows=min_rows)
    assert (res.extras["tile_rows"], res.extras["tile_cols"]) == shape
    if min_rows == MIN_ROWS:     # CPU: 80 full rows fit at n = 1,000, not at 2,000
        assert shape[1] == n if n == 1000 else shape[1] < n
    _same(res, exp)
    assert res.extras["near_ties"] == []


def test_swap_terms_are_the_reference_forms():
    rng = np.random.default_rng(0)
    D = torch.as_tensor(rng.integers(0, 6, (7, 40)).astype(float))
    dn = torch.as_tensor(rng.integers(0, 4, 40).astype(float))
    ds = dn + torch.as_tensor(rng.integers(0, 3, 40).astype(float))
    shared, U = tiled.swap_terms(D, dn, ds)
    assert torch.equal(shared, torch.clamp(D - dn, max=0).sum(1))
    assert torch.equal(U, torch.clamp(D, min=dn, max=ds) - dn)


@pytest.mark.slow
def test_fused_kernel_same_swaps():
    # torch.compile of the swap terms (minutes of compilation on a busy CPU)
    X, D = mnist(300), matrix("mnist", 300, "euclidean")
    res = tiled.fastpam1(X, 6, random_state=0, fused=True, **SMALL)
    assert res.extras["fused"]
    _same(res, ref.fastpam1(D, 6, random_state=0))


# Fused kernels (bench_core.gpu.fused): the coordinates path (d <= 4) and the product path,
# masked medoid sums (k <= 16) and the one-hot product (k > 16), every metric once.
FUSED_CASES = [("blobs", 2, "euclidean", 5), ("blobs", 3, "cosine", 20),
               ("mnist", 0, "euclidean", 20), ("mnist", 0, "sqeuclidean", 5),
               ("mnist", 0, "manhattan", 5)]


@pytest.mark.slow
@pytest.mark.parametrize("kind,d,metric,k", FUSED_CASES)
def test_fused_build_and_swaps_same_as_reference(kind, d, metric, k):
    # torch.compile of three kernels per case (seconds each on the CPU)
    X = mnist(300) if kind == "mnist" else blobs(300, d=d, k=6, seed=3)
    D = dissimilarity(X, metric)
    res = tiled.pam(X, k, metric=metric, fused=True, **SMALL)
    assert res.extras["fused"] and res.extras["repaired_tiles"] == 0
    _same(res, ref.pam(D, k))
    eager = tiled.fasterpam(X, k, metric=metric, block_size=1, random_state=0, device=DEVICE)
    fused = tiled.fasterpam(X, k, metric=metric, block_size=1, random_state=0, fused=True, device=DEVICE)
    _same(fused, eager)


@pytest.mark.slow
def test_fused_one_hot_product_for_small_k_same_swaps(monkeypatch):
    # --masked-k 0: the clamped term and the one-hot product, whatever k
    from bench_core.gpu import fused
    monkeypatch.setattr(fused, "SMALL_K", 0)
    X = blobs(300, d=2, k=6, seed=3)
    _same(tiled.pam(X, 5, fused=True, **SMALL), ref.pam(dissimilarity(X, "euclidean"), 5))


@pytest.mark.slow
def test_fused_tile_with_cancellation_is_computed_again_on_the_eager_path():
    # near-duplicates far from the origin: ||x - y||^2 < 1e-4 (||x||^2 + ||y||^2), repaired
    rng = np.random.default_rng(5)
    base = 100.0 + rng.random((60, 6))
    X = np.vstack([base, base + 1e-2 * rng.random((60, 6))])
    D = dissimilarity(X, "euclidean")
    res = tiled.pam(X, 20, fused=True, **SMALL)
    assert res.extras["repaired_tiles"] > 0
    _same(res, ref.pam(D, 20))


def test_fused_without_a_compiler_is_a_clear_error(monkeypatch):
    from bench_core.gpu import fused

    def broken(fn, **_):
        def call(*args):
            raise torch._dynamo.exc.BackendCompilerFailed(fn, OSError("no C++ compiler found"), None)
        return call
    monkeypatch.setattr(fused, "_COMPILED", {})
    monkeypatch.setattr(torch, "compile", broken)
    with pytest.raises(fused.CompileError, match=r"OSError: no C\+\+ compiler found.*Use fused=False"):
        tiled.pam(blobs(50), 3, fused=True, device=DEVICE)


def test_lazy_build_is_plain_build():
    X, D = blobs(400), matrix("blobs", 400, "euclidean")
    lazy = tiled.build(X, 15, **SMALL)
    plain = tiled.build(X, 15, lazy=False, **SMALL)
    assert list(lazy.medoids) == list(plain.medoids) == list(ref.build(D, 15).medoids)
    assert lazy.extras["gain_evaluations"] < plain.extras["gain_evaluations"]


# ----------------------------------------------------------------------------- pruning


def test_kd_order_makes_compact_leaves():
    from bench_core.gpu.bounds import kd_order
    Z = np.random.default_rng(0).random((1000, 2))
    perm = kd_order(Z, 64)
    assert np.array_equal(np.sort(perm), np.arange(1000))
    leaves = [Z[perm[j:j + 64]] for j in range(0, 1000, 64)]
    area = [np.prod(b.max(0) - b.min(0)) for b in leaves]
    # 16 leaves of a unit square: about 1/16 each; the input order gives leaves of ~1
    assert max(area) < 0.2
    assert min(np.prod(Z[j:j + 64].max(0) - Z[j:j + 64].min(0)) for j in range(0, 1000, 64)) > 0.5


@pytest.mark.parametrize("metric", METRICS)
def test_box_bound_is_below_every_distance(metric):
    from bench_core.gpu.bounds import Boxes, kd_order
    rng = np.random.default_rng(1)
    X = rng.random((600, 3)) + 0.2
    P = PointTiles(X, metric, device=DEVICE)
    Q = P.reordered(50)
    D = dissimilarity(X[Q.order], metric)
    assert isinstance(Q.boxes, Boxes) and np.array_equal(Q.order, kd_order(P.Z.cpu().numpy(), 50))
    for r0 in range(0, 600, 50):
        Zc = Q.Z[r0:r0 + 50].to(torch.float64)
        lb = Q.boxes.lower(Zc.amin(0), Zc.amax(0)).cpu().numpy()
        true = D[r0:r0 + 50].reshape(50, 12, 50).min(axis=(0, 2))
        assert (lb <= true * (1 + 1e-12)).all()
        assert (lb > 0).sum() >= 1        # far leaves have a positive bound


def _pruned(X, k, **kw):
    return tiled.pam(X, k, prune=True, prune_leaf=32, tile_rows=64, tile_cols=150, device=DEVICE, **kw)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("k", [4, 25])
def test_pruned_pam_same_as_reference(metric, k):
    X = blobs(700, d=2, k=12, seed=4) + (50.0 if metric == "cosine" else 0.0)
    res = _pruned(X, k, metric=metric)
    exp = ref.pam(dissimilarity(X, metric), k)
    _same(res, exp)
    assert np.array_equal(res.labels, exp.labels)
    assert res.extras["prune"] and res.extras["pruned_fraction_swap"] > (0.04 if k < 10 else 0.2)
    assert tiled.pam(X, k, metric=metric, tile_rows=64, device=DEVICE).extras.get("prune") is False


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
def test_pruned_changes_equal_those_of_the_full_tiles(metric):
    # every candidate's change and best medoid, not only the chosen swap
    from bench_core.gpu.pam import _State
    X = blobs(700, d=2, k=12, seed=4)
    Q = tiled._reorder(tiled.prepare(X, metric, tile_rows=64, tile_cols=150, device=DEVICE), True, 32)
    st = _State(Q, np.arange(0, 700, 35))
    cut = tiled._Cut(Q, st)
    for r0, r1 in Q.row_blocks():
        full, which, _ = tiled._changes(Q, st, r0, r1)
        pruned, which_p, _ = tiled._changes(Q, st, r0, r1, cut=cut)
        torch.testing.assert_close(pruned, full, rtol=0, atol=1e-12 * st.loss())
        assert torch.equal(which_p, which)
    assert Q.boxes.fraction() > 0.3


def test_pruned_fastpam1_and_build_from_the_input_order():
    X = blobs(600, d=3, k=8, seed=5)
    D = dissimilarity(X, "euclidean")
    start = np.array([590, 3, 300, 17, 450, 120])          # not sorted: slot order is kept
    res = _pruned(X, start, record_swaps=True)
    exp = ref.fastpam1(D, start)
    _same(res, exp)
    assert list(res.extras["initial_medoids"]) == list(start)
    # the recorded swaps name input indices: replaying them gives the result
    med = list(start)
    for c, i, _ in res.extras["swaps"]:
        med[i] = c
    assert med == list(res.medoids)
    _same(tiled.fastpam1(X, 6, random_state=3, prune=True, prune_leaf=32, tile_rows=64, device=DEVICE),
          ref.fastpam1(D, 6, random_state=3))
    b = tiled.build(X, 20, prune=True, prune_leaf=32, tile_rows=64, device=DEVICE)
    assert list(b.medoids) == list(ref.build(D, 20).medoids)
    assert b.extras["pruned_fraction"] > 0


def test_pruned_ties_go_to_the_first_input_index():
    # duplicated lattice points, Manhattan: integer distances, so sums and ties are exact in any
    # order; the k-d order puts duplicates of a point in other places than the input order
    rng = np.random.default_rng(2)
    X = np.repeat(rng.integers(0, 6, (60, 2)).astype(float), 3, axis=0)
    X = X[rng.permutation(len(X))]
    D = dissimilarity(X, "manhattan")
    Q = PointTiles(X, "manhattan", device=DEVICE).reordered(16)
    sums = D.sum(1)
    tied = np.flatnonzero(sums == sums.min())
    assert len(tied) > 1 and Q.inverse[tied].argmin() != 0     # the tie is there, reordered
    for k in (1, 3, 7):
        exp = ref.pam(D, k)
        res = tiled.pam(X, k, metric="manhattan", prune=True, prune_leaf=16, tile_rows=32, device=DEVICE)
        _same(res, exp)
        assert np.array_equal(res.labels, exp.labels)


@pytest.mark.slow
def test_pruned_fused_and_float32():
    X = blobs(700, d=2, k=12, seed=4)
    exp = ref.pam(dissimilarity(X, "euclidean"), 15)
    _same(_pruned(X, 15, fused=True), exp)                              # masked sums (k <= 16)
    _same(_pruned(X, 20, fused=True), ref.pam(dissimilarity(X, "euclidean"), 20))   # one-hot product
    r32 = _pruned(X, 15, dtype="float32")
    assert list(r32.medoids) == list(tiled.pam(X, 15, dtype="float32", tile_rows=64, device=DEVICE).medoids)


def test_pruning_in_high_dimension_skips_little_and_changes_nothing():
    X, D = mnist(300), matrix("mnist", 300, "euclidean")
    res = _pruned(X, 8)
    _same(res, ref.pam(D, 8))
    assert res.extras["pruned_fraction_swap"] < 0.5


# ----------------------------------------------------------------------------- brute force


def _loss(D, med):
    return float(D[list(med)].min(0).sum())


def _brute_pam(D, med, max_iter=100):
    """PAM by full recomputation of every swap's loss: candidates in index order, the
    first best medoid per candidate, strict improvement by more than 1e-12 of the loss."""
    med = list(med)
    n_iter = 0
    for _ in range(max_iter):
        n_iter += 1
        cur = _loss(D, med)
        best = (0.0, None, None)
        for c in range(len(D)):
            if c in med:
                continue
            deltas = [_loss(D, med[:i] + [c] + med[i + 1:]) - cur for i in range(len(med))]
            i = int(np.argmin(deltas))
            if deltas[i] < best[0]:
                best = (deltas[i], c, i)
        if best[1] is None or not best[0] < -1e-12 * cur:
            break
        med[best[2]] = best[1]
    return med, n_iter


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("metric,ties", [("euclidean", False), ("sqeuclidean", True),
                                         ("manhattan", True), ("cosine", False)])
def test_tiny_brute_force(seed, metric, ties):
    rng = np.random.default_rng(seed)
    n, k = 13, 3
    X = rng.integers(0, 3, (n, 2)).astype(float) + 1 if ties else rng.random((n, 3)) + 0.1
    D = dissimilarity(X, metric)
    start = np.sort(rng.choice(n, k, replace=False))
    med, n_iter = _brute_pam(D, start)
    res = tiled.pam(X, start, metric=metric, tile_rows=4, tile_cols=5, device=DEVICE)
    assert list(res.medoids) == med and res.n_iter == n_iter
    assert res.loss == pytest.approx(_loss(D, med), rel=1e-12)
    _same(res, ref.pam(D, start))


def test_exact_ties_are_reported():
    # a symmetric configuration: candidates 1 and 2 (mirror images) tie exactly
    X = np.array([[0.0, 0], [1, 1], [1, -1], [2, 0], [10, 0], [11, 0]])
    res = tiled.pam(X, [3, 4], tile_rows=2, tile_cols=3, device=DEVICE)
    D = dissimilarity(X, "euclidean")
    _same(res, ref.pam(D, [3, 4]))
    kinds = {(t["kind"], t["iter"]) for t in res.extras["near_ties"]}
    assert ("candidate", 1) in kinds
    assert all(t["gap"] <= 1e-10 * res.loss * 10 for t in res.extras["near_ties"])


def test_edge_cases():
    X, D = blobs(60), matrix("blobs", 60, "euclidean")
    # k = 1: the point with the smallest sum, one iteration, as the reference
    _same(tiled.pam(X, [5], **SMALL), ref.pam(D, [5]))
    # k = n: nothing to swap in; max_iter = 0: the start, assigned
    _same(tiled.pam(X, 60, init="first", **SMALL), ref.pam(D, 60, init="first"))
    _same(tiled.pam(X, [1, 2, 3], max_iter=0, **SMALL), ref.pam(D, [1, 2, 3], max_iter=0))
    # max_iter reached before convergence
    _same(tiled.pam(X, [0, 1, 2, 3], max_iter=1, **SMALL), ref.pam(D, [0, 1, 2, 3], max_iter=1))
    labels, loss = tiled.assign(X, [0, 1, 2], device=DEVICE)
    assert loss == pytest.approx(_loss(D, [0, 1, 2]), rel=1e-12)
    np.testing.assert_array_equal(labels, D[[0, 1, 2]].argmin(0))


# ----------------------------------------------------------------------------- float32


def test_float32_checked_against_float64():
    X = mnist(500)
    r64 = tiled.pam(X, 10, **SMALL)
    r32 = tiled.pam(X, 10, dtype="float32", **SMALL)
    assert r32.extras["dtype"] == "float32"
    # the float32 medoids, evaluated exactly, are as good as the float64 ones to 1e-5
    D = matrix("mnist", 500, "euclidean")
    assert _loss(D, r32.medoids) == pytest.approx(r64.loss, rel=1e-5)
    assert r32.loss == pytest.approx(_loss(D, r32.medoids), rel=1e-5)


# ----------------------------------------------------------------------------- FasterPAM


def test_fasterpam_block_one_is_fasterpam():
    X, D = mnist(400), matrix("mnist", 400, "euclidean")
    exp = ref.fasterpam(D, 8, random_state=3)
    res = tiled.fasterpam(X, 8, random_state=3, block_size=1, device=DEVICE, tile_cols=150)
    _same(res, exp)


def test_fasterpam_blocks_reach_a_swap_local_optimum():
    X, D = mnist(400), matrix("mnist", 400, "euclidean")
    res = tiled.fasterpam(X, 8, random_state=3, block_size=64, device=DEVICE, tile_cols=150)
    assert res.n_swap > 0 and res.converged
    assert ref.pam(D, res.medoids).n_swap == 0          # no improving swap is left


# ----------------------------------------------------------------------------- silhouettes


@pytest.mark.parametrize("metric", METRICS)
def test_silhouettes_same_as_reference(metric):
    X, D = blobs(300), matrix("blobs", 300, metric)
    med = ref.pam(D, 5).medoids
    labels = D[med].argmin(0)
    labels[3] = 7                                        # a singleton cluster, label gaps
    got, s = tiled.silhouette(X, labels, metric, samples=True, **SMALL)
    exp, es = ref_sil(D, labels, samples=True)
    assert got == pytest.approx(exp, rel=1e-12)
    np.testing.assert_allclose(s, es, rtol=1e-10, atol=1e-12)
    got = tiled.medoid_silhouette(X, med, metric, device=DEVICE, tile_cols=77)
    assert got == pytest.approx(ref_msil(D, med), rel=1e-12)
    assert tiled.silhouette(X, np.zeros(300, dtype=np.int64), metric, device=DEVICE) == 0.0
    assert tiled.medoid_silhouette(X, [4], metric, device=DEVICE) == 1.0


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("prune,fused", [(False, False), (True, False), (True, True)])
def test_cpu_scatter_sums_same_as_the_gpu_product(monkeypatch, dtype, prune, fused):
    """The CPU's per-cluster sums (index_add_) and the GPU's (the one-hot product; k above
    the fused kernels' masked sums), both run here: the same swaps and silhouette, and the
    product's path stays tested on the CPU."""
    X = points("blobs", 450)
    out = {}
    for scatter in (True, False):
        monkeypatch.setattr(tiles, "CPU_SCATTER", scatter)
        r = tiled.pam(X, 20, init="random", random_state=2, dtype=dtype, prune=prune, fused=fused, **SMALL)
        out[scatter] = r, tiled.silhouette(X, r.labels, dtype=dtype, **SMALL)
    (a, sa), (b, sb) = out[True], out[False]
    assert list(a.medoids) == list(b.medoids) and (a.n_iter, a.n_swap) == (b.n_iter, b.n_swap)
    assert a.loss == pytest.approx(b.loss, rel=1e-12) and sa == pytest.approx(sb, rel=1e-6)


# ----------------------------------------------------------------------------- registry


def test_registry_entries_run_from_points():
    X, D = mnist(300), matrix("mnist", 300, "euclidean")
    for alg in ("build", "pam", "fastpam1", "fasterpam", "silhouette", "medoid_silhouette"):
        e = registry.get(f"{alg}/torch-tiled")
        assert e.input == "points" and e.requires == ("torch",) and e.available
    opts = {"device": DEVICE, "tile_rows": 50, "tile_cols": 70}
    t = registry.Task(k=6, X=X, metric="euclidean", seed=4, options=opts)
    res = registry.get("fastpam1/torch-tiled")(t)
    exp = registry.get("fastpam1/reference")(registry.Task(k=6, diss=D, seed=4))
    _same(res, exp)
    assert res.extras["device"] == ("cpu" if DEVICE == "cpu" else torch.cuda.get_device_name())
    res = registry.get("pam/torch-tiled")(registry.Task(k=6, X=X, options=dict(opts)))
    _same(res, ref.pam(D, 6))
    b = registry.get("build/torch-tiled")(registry.Task(k=6, X=X, options=dict(opts)))
    assert list(b.medoids) == list(ref.build(D, 6).medoids)
    t = registry.Task(k=6, X=X, medoids=res.medoids, options=dict(opts))
    assert registry.get("silhouette/torch-tiled")(t).loss == pytest.approx(
        ref_sil(D, D[res.medoids].argmin(0)), rel=1e-12)
    assert registry.get("medoid_silhouette/torch-tiled")(t).loss == pytest.approx(
        ref_msil(D, res.medoids), rel=1e-12)
    with pytest.raises(ValueError, match="needs the points"):
        registry.get("pam/torch-tiled")(registry.Task(k=3, diss=D))
    # the pruned entries: the same results, prune on unless the task says otherwise
    Xb = blobs(400, d=2, k=8, seed=2)
    Db = dissimilarity(Xb, "euclidean")
    for alg, exp in (("pam", ref.pam(Db, 7)), ("fastpam1", ref.fastpam1(Db, 7, random_state=4))):
        res = registry.get(f"{alg}/torch-tiled-pruned")(registry.Task(k=7, X=Xb, seed=4, options=dict(opts)))
        _same(res, exp)
        assert res.extras["prune"] and res.extras["pruned_fraction_swap"] > 0


def test_registry_entries_compile_fused_kernels_outside_the_timed_region(monkeypatch):
    # with options["fused"], an untimed run on the first points compiles the kernels; the timed
    # region holds only the call on all the points (recorded: which call ran inside it)
    import contextlib

    from bench_core.gpu import entries
    from bench_core.result import ClusteringResult
    calls = []

    def fake(X, start, **kw):
        calls.append((len(X), start if np.isscalar(start) else list(start), kw.get("init"),
                      kw.get("max_iter"), kw["fused"], inside[0]))
        return ClusteringResult(loss=1.0, labels=np.zeros(len(X), int), medoids=np.arange(3), extras={})

    inside = [False]

    @contextlib.contextmanager
    def timed():
        inside[0] = True
        yield
        inside[0] = False

    monkeypatch.setattr(entries, "WARMUP_ROWS", 40)
    for name in ("pam", "fasterpam", "build"):
        monkeypatch.setattr(tiled, name, fake)
    X = mnist(100)
    for entry, medoids, opts, want in (
            ("pam/torch-tiled", None, {"fused": True},
             [(40, 3, "build", 2, True, False), (100, 3, "build", 100, True, True)]),
            ("fasterpam/torch-tiled", [5, 50, 90], {"fused": True},     # given medoids: random in the head
             [(40, 3, "random", 2, True, False), (100, [5, 50, 90], "random", 100, True, True)]),
            ("build/torch-tiled", None, {"fused": True},
             [(40, 3, None, None, True, False), (100, 3, None, None, True, True)]),
            ("pam/torch-tiled", None, {"fused": False}, [(100, 3, "build", 100, False, True)])):
        calls.clear()
        t = registry.Task(k=3, X=X, medoids=medoids, max_iter=None if entry.startswith("build") else 100,
                          options=dict(opts, device="cpu"))
        t.timed = timed
        res = registry.get(entry)(t)
        assert calls == want, entry
        assert ("compile_s" in res.extras) == opts["fused"]


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("call,match", [
    (lambda X: tiled.pam(np.full((5, 2), np.nan), 2), "NaN"),
    (lambda X: tiled.pam(X[:, 0], 2), "2-D"),
    (lambda X: tiled.pam(X, 2, metric="chebyshev"), "metric"),
    (lambda X: tiled.pam(X, 0), "out of range"),
    (lambda X: tiled.pam(X, 200), "out of range"),
    (lambda X: tiled.pam(X, [1, 1, 2]), "distinct|duplicate"),
    (lambda X: tiled.pam(X, [1, 2, 500]), "range"),
    (lambda X: tiled.pam(X, 3, init="k-means++"), "init"),
    (lambda X: tiled.pam(X, 3, tile_rows=0), "tile_rows"),
    (lambda X: tiled.pam(X, 3, tile_cols=2.5), "tile_cols"),
    (lambda X: tiled.pam(X, 3, memory_budget=0), "memory_budget"),
    (lambda X: tiled.pam(X, 3, dtype="float16"), "float32 or float64"),
    (lambda X: tiled.pam(X, 3, tol=-1.0), "tol"),
    (lambda X: tiled.pam(X, 3, max_iter=-1), "max_iter"),
    (lambda X: tiled.pam(X, 3.0), "medoids must be k"),
    (lambda X: tiled.fasterpam(X, 3, block_size=0), "block_size"),
    (lambda X: tiled.pam(X, 3, prune=True, prune_leaf=0), "prune_leaf"),
    (lambda X: tiled.build(X, 3, prune=True, prune_leaf=2.5), "prune_leaf"),
    (lambda X: tiled.fasterpam(X, 3, prune=True), "not available for fasterpam"),
    (lambda X: tiled.pam(np.vstack([X, np.zeros((1, X.shape[1]))]), 3, metric="cosine"),
     "all-zero rows"),
    (lambda X: tiled.silhouette(X, np.zeros(5, dtype=np.int64)), "length"),
    (lambda X: tiled.pam(X, 3, device="tpu"), r"device must be 'cpu' or 'cuda\[:i\]', got 'tpu'"),
    (lambda X: tiled.pam(X, 3, device="mps"), r"device must be 'cpu' or 'cuda\[:i\]', got 'mps'"),
    (lambda X: tiled.pam(X, 3, device="cuda:64"), "CUDA device"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call(blobs(100))


def test_reproduce_helpers_run_on_the_cpu(monkeypatch):
    from bench_core.gpu import perf_tiled
    r = perf_tiled.run_tiled(blobs(200), 4, device=DEVICE, peak=1.0, tile_rows=64)
    ref_res = ref.pam(matrix("blobs", 200, "euclidean"), 4)
    assert r["medoids"] == [int(m) for m in ref_res.medoids]
    assert r["iteration_gflop"] == pytest.approx(200 * 200 * (2 * 5 + 2 * 4) / 1e9)
    assert 0 < r["floor_percent"] and r["tile_rows"] == 64
    assert perf_tiled.peak_tflops("NVIDIA H200") == 67.0 and perf_tiled.peak_tflops("cpu") is None
    md = perf_tiled.markdown({"sections": {"x": {"runs": [r]}}})
    assert "| x | 200 | 5 | 4 | float64 | False | no |" in md
    # the warm-up compiles every kernel the timed runs use: each dtype, pruned and not
    calls = []
    monkeypatch.setattr(perf_tiled, "run_tiled",
                        lambda X, k, **kw: calls.append((len(X), kw["dtype"], kw["prune"], kw["max_iter"])))
    perf_tiled.warm_up(blobs(300), 6, dict(device=DEVICE, fused=True, prune=True), rows=100,
                       unpruned=True, dtypes=("float64", "float32"))
    assert calls == [(100, "float64", True, 2), (100, "float64", False, 2),
                     (100, "float32", True, 2), (100, "float32", False, 2)]
    monkeypatch.undo()
    # cpu-small: MNIST against pam/reference on one thread, the warm-up before the timed run
    seen = []
    real = perf_tiled.warm_up
    monkeypatch.setattr(perf_tiled, "warm_up", lambda *a, **kw: seen.append(a[2]) or real(*a, **kw))
    c = perf_tiled.cpu_small(120, 3, dict(device=DEVICE, peak=None, max_iter=100))
    assert seen == [dict(device="cpu", peak=None, max_iter=100)] and c["warmup_s"] == 0.0
    assert c["same_medoids"] and c["same_swaps"] and c["tiled"]["n"] == 120
    monkeypatch.undo()
    # --prune --also-unpruned: each pruned run followed by the same run without pruning
    entry: dict = {"runs": []}
    perf_tiled.series(entry, blobs(300, d=2, k=8, seed=1), 6, ["float64"],
                      dict(device=DEVICE, prune=True, tile_rows=64), lambda: None, unpruned=True)
    pruned, full = entry["runs"]
    assert pruned["prune"] and not full["prune"] and pruned["pruned_fraction_swap"] > 0
    assert pruned["same_medoids_as_unpruned"] and pruned["same_swaps_as_unpruned"]
    md = perf_tiled.markdown({"sections": {"y": entry}})
    assert f"| y | 300 | 2 | 6 | float64 | False | {100 * pruned['pruned_fraction_swap']:.1f} % |" in md
    assert "same medoids: True, same n_iter/n_swap: True" in md
    # --compare: a run stopped early against the full one, by replaying the full one's swaps
    short = perf_tiled.run_tiled(blobs(300, d=2, k=8, seed=1), 6, device=DEVICE, max_iter=2)
    assert not short["converged"] and len(short["swaps"]) == 2
    c = perf_tiled.compare_runs(full, short, blobs(300, d=2, k=8, seed=1), DEVICE)
    assert c["iterations"] == 2 and c["same_medoids"] and c["loss_rel_diff"] < 1e-12
    c = perf_tiled.compare_runs(pruned, full, blobs(300, d=2, k=8, seed=1), DEVICE)
    assert c["same_medoids"] and c["same_n_iter"]
    bad = dict(short, medoids=short["medoids"][::-1])
    assert not perf_tiled.compare_runs(full, bad, blobs(300, d=2, k=8, seed=1), DEVICE)["same_medoids"]
    # runs of another problem (a --quick run against a full file) are not compared, and say why
    other = dict(full, n=100_000, k=100)
    c = perf_tiled.compare_runs(full, other, blobs(300, d=2, k=8, seed=1), DEVICE)
    assert c["error"] == "not comparable: n = 300 here, 100000 there; k = 6 here, 100 there"
    assert "same_medoids" not in c
    # a --compare file that is missing or not JSON: a clear error, exit 2, nothing run
    assert perf_tiled.main(["--quick", "--device", "cpu", "--sections", "birch1",
                            "--compare", "/nonexistent/perf.json", "--out", "/nonexistent/out"]) == 2


def test_perf_script_refuses_a_device_it_cannot_use(capsys, tmp_path):
    from bench_core.gpu import perf_tiled
    assert perf_tiled.main(["--device", "tpu", "--sections", "birch1", "--out", str(tmp_path / "out")]) == 2
    assert "--device: device must be 'cpu' or 'cuda[:i]', got 'tpu'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
