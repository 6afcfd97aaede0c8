"""The PyTorch backend (bench_core.gpu) against brute force, kmedoids and the references.

Runs on the CPU build of torch in CI; ``KMBENCH_TORCH_DEVICE=cuda`` runs the same
tests on a GPU.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import mnist_diss, random_diss

torch = pytest.importorskip("torch")
kmedoids = pytest.importorskip("kmedoids")

from bench_core.dissimilarity import InsufficientMemoryError  # noqa: E402
from bench_core.dissimilarity import dissimilarity as cpu_dissimilarity  # noqa: E402
from bench_core.gpu import pam as tp  # noqa: E402
from bench_core.gpu.distances import dissimilarity as gpu_dissimilarity  # noqa: E402
from bench_core.gpu.kmeans import kmeans as tkmeans  # noqa: E402
from bench_core.gpu.kmedian import kmedian as tkmedian  # noqa: E402
from bench_core.gpu.silhouette import medoid_silhouette, silhouette  # noqa: E402

DEVICE = os.environ.get("KMBENCH_TORCH_DEVICE", "cpu")


def _ref(name: str):
    """A reference function if that module has landed, else skip."""
    mod, func = name.rsplit(".", 1)
    try:
        return getattr(__import__(f"bench_core.algorithms.{mod}", fromlist=[func]), func)
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"reference {name} not available: {exc}")


def _same(res, ref, *, iters=True, rel=1e-9):
    assert list(res.medoids) == [int(m) for m in ref.medoids]
    assert res.loss == pytest.approx(float(ref.loss), rel=rel)
    if iters:
        assert res.n_swap == ref.n_swap and res.n_iter == ref.n_iter


# ----------------------------------------------------------------------------- brute force


def _loss(D, med):
    return float(D[list(med)].min(0).sum())


def _brute_pam(D, med, max_iter=100):
    """PAM by full recomputation of the loss of every swap; kmedoids' tie-breaking:
    candidates in index order, per candidate the first best medoid, strict improvement."""
    med = list(med)
    trace = []
    for _ in range(max_iter):
        cur = _loss(D, med)
        best = (0.0, None, None)
        for c in range(len(D)):
            if c in med:
                continue
            deltas = [_loss(D, med[:i] + [c] + med[i + 1:]) - cur for i in range(len(med))]
            i = int(np.argmin(deltas))
            if deltas[i] < best[0]:
                best = (deltas[i], c, i)
        if best[1] is None:
            break
        med[best[2]] = best[1]
        trace.append((best[1], best[2]))
    return med, trace


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", [False, True])
def test_pam_brute_force_swaps(seed, ties):
    n, k = 12, 3
    D = random_diss(n, seed, ties=ties)
    start = np.random.default_rng(seed).choice(n, k, replace=False)
    med, trace = _brute_pam(D, start)
    res = tp.pam(D, start, device=DEVICE, record_swaps=True)
    assert [(c, i) for c, i, _ in res.extras["swaps"]] == trace
    assert list(res.medoids) == med
    assert res.loss == pytest.approx(_loss(D, med), rel=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_build_brute_force(seed):
    D = random_diss(10, seed, ties=True)   # small integers: sums exact, ties real
    res = tp.build(D, 4, device=DEVICE)
    # greedy: every step adds the point that lowers the loss most (lowest index on ties)
    med = [int(np.argmin(D.sum(1)))]
    for _ in range(3):
        gains = [(_loss(D, med + [c]), c) for c in range(10) if c not in med]
        med.append(min(gains)[1])
    assert list(res.medoids) == med
    assert res.loss == pytest.approx(_loss(D, med))


def test_silhouette_brute_force():
    D = random_diss(9, 1)
    lab = np.array([0, 0, 1, 1, 1, 2, 2, 0, 2])
    s = np.empty(9)
    for i in range(9):
        own = [j for j in range(9) if lab[j] == lab[i] and j != i]
        a = D[i, own].mean()
        b = min(D[i, lab == c].mean() for c in set(lab) - {lab[i]})
        s[i] = (b - a) / max(a, b)
    value, per = silhouette(D, lab, samples=True, device=DEVICE)
    np.testing.assert_allclose(per, s, rtol=1e-12)
    assert value == pytest.approx(s.mean())
    med = np.array([0, 4, 6])
    d = np.sort(D[med], axis=0)
    assert medoid_silhouette(D, med, device=DEVICE) == pytest.approx(1 - np.mean(d[0] / d[1]))


# ----------------------------------------------------------------------------- kmedoids


@pytest.mark.parametrize("n,seed,ties", [(40, 0, False), (50, 1, True), (60, 2, True)])
@pytest.mark.parametrize("k", [1, 2, 5])
def test_against_kmedoids_tiny(n, seed, ties, k):
    D = random_diss(n, seed, ties=ties)
    start = np.random.default_rng(seed + k).choice(n, k, replace=False)
    _same(tp.pam(D, start.copy(), device=DEVICE), kmedoids.pam(D, start.copy(), 100))
    _same(tp.fastpam1(D, start.copy(), device=DEVICE), kmedoids.fastpam1(D, start.copy(), 100))
    _same(tp.fasterpam(D, start.copy(), block_size=1, device=DEVICE),
          kmedoids.fasterpam(D, start.copy(), 100, n_cpu=1))
    alt = tp.alternating(D, start.copy(), device=DEVICE)
    ref = kmedoids.alternating(D, start.copy(), 100)
    _same(alt, ref, iters=False)
    assert alt.n_iter == ref.n_iter
    np.testing.assert_array_equal(alt.labels, ref.labels)
    b = tp.build(D, k, device=DEVICE)
    _same(b, kmedoids.pam_build(D, k), iters=False)


@pytest.mark.parametrize("n,k", [(300, 5), (500, 10)])
def test_against_kmedoids_mnist(n, k):
    D = mnist_diss(n)
    res = tp.pam(D, k, device=DEVICE)                       # BUILD + SWAP on the device
    _same(res, kmedoids.pam(D, k, init="build"))
    start = np.random.default_rng(k).choice(n, k, replace=False)
    _same(tp.fastpam1(D, start.copy(), device=DEVICE), kmedoids.fastpam1(D, start.copy(), 100))
    _same(tp.fasterpam(D, start.copy(), block_size=1, device=DEVICE),
          kmedoids.fasterpam(D, start.copy(), 100, n_cpu=1))


def test_fasterpam_blocks_reach_a_swap_optimum():
    D = mnist_diss(500)
    start = np.random.default_rng(7).choice(500, 10, replace=False)
    res = tp.fasterpam(D, start.copy(), block_size=64, device=DEVICE)
    # no single swap improves any more: exact PAM from there makes none
    assert tp.pam(D, res.medoids, device=DEVICE).n_swap == 0
    ref = kmedoids.fasterpam(D, start.copy(), 100, n_cpu=1)
    assert res.loss <= 1.02 * ref.loss


def test_silhouettes_against_kmedoids():
    for D in (mnist_diss(400), mnist_diss(400, "float32"), random_diss(50, 4, ties=True)):
        rng = np.random.default_rng(0)
        med = rng.choice(len(D), 6, replace=False)
        lab = kmedoids.pam(D, med.copy(), 0).labels.astype(np.int64)
        v, s = kmedoids.silhouette(D, lab, True)
        w, t = silhouette(D, lab, samples=True, device=DEVICE)
        assert w == pytest.approx(v, abs=1e-12)
        np.testing.assert_allclose(t, s, atol=1e-12)
        v, s = kmedoids.medoid_silhouette(D, med, True)
        w, t = medoid_silhouette(D, med, samples=True, device=DEVICE)
        assert w == pytest.approx(v, abs=1e-12)
        np.testing.assert_allclose(t, s, atol=1e-12)


# ----------------------------------------------------------------------------- references


def test_against_reference_pam_family():
    pam, fastpam1, build, alternating = (_ref(f"pam.{f}") for f in
                                         ("pam", "fastpam1", "build", "alternating"))
    D = mnist_diss(400)
    _same(tp.build(D, 8, device=DEVICE), build(D, 8), iters=False)
    _same(tp.pam(D, 8, device=DEVICE), pam(D, 8))
    start = np.random.default_rng(3).choice(400, 8, replace=False)
    _same(tp.fastpam1(D, start.copy(), device=DEVICE), fastpam1(D, start.copy()))
    alt, ref = tp.alternating(D, start.copy(), device=DEVICE), alternating(D, start.copy())
    _same(alt, ref, iters=False)


def test_against_reference_silhouette():
    sil, msil = _ref("silhouette.silhouette"), _ref("silhouette.medoid_silhouette")
    D = mnist_diss(300)
    med = np.arange(0, 300, 50)
    lab = tp.assign(D, med, device=DEVICE)[0]
    assert silhouette(D, lab, device=DEVICE) == pytest.approx(sil(D, lab), abs=1e-12)
    assert medoid_silhouette(D, med, device=DEVICE) == pytest.approx(msil(D, med), abs=1e-12)


def test_kmeans_against_reference_and_sklearn():
    from sklearn.cluster import KMeans

    ref_kmeans = _ref("kmeans.kmeans")
    X = mnist_x(1000)
    C0 = X[np.random.default_rng(1).choice(1000, 8, replace=False)]
    res = tkmeans(X, 8, init=C0, device=DEVICE)
    ref = ref_kmeans(X, 8, init=C0)
    np.testing.assert_array_equal(res.labels, ref.labels)
    assert res.n_iter == ref.n_iter and res.loss == pytest.approx(ref.loss, rel=1e-12)
    np.testing.assert_allclose(res.centers, ref.centers, rtol=0, atol=1e-9)
    atomics = tkmeans(X, 8, init=C0, device=DEVICE, sums="index_add")
    np.testing.assert_array_equal(atomics.labels, ref.labels)
    assert atomics.loss == pytest.approx(ref.loss, rel=1e-12)
    sk = KMeans(8, init=C0, n_init=1, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(res.labels, sk.labels_)
    assert res.loss == pytest.approx(sk.inertia_, rel=1e-9)


def test_kmeans_fixed_iterations_and_empty_clusters():
    Y = np.repeat(np.arange(10.0)[:, None], 5, 0) @ np.ones((1, 2))
    C0 = np.array([[0.0, 0.0], [0.1, 0.1], [100.0, 100.0], [9.0, 9.0]])
    res = tkmeans(Y, 4, init=C0, device=DEVICE)
    assert res.extras["n_relocated"] >= 1 and res.converged
    assert len(np.unique(res.labels)) == 4
    ref_kmeans = _ref("kmeans.kmeans")
    ref = ref_kmeans(Y, 4, init=C0)
    np.testing.assert_array_equal(res.labels, ref.labels)
    fixed = tkmeans(mnist_x(300), 5, init="random", random_state=0, max_iter=7, tol=None,
                    device=DEVICE)
    assert fixed.n_iter == 7
    # several clusters empty at once, with tied distances among the farthest points:
    # the relocation order (farthest first, ties to the lower index) must be the reference's
    C0 = np.array([[0.0, 0.0], [50.0, 50.0], [-40.0, 3.0], [70.0, -9.0], [4.5, 4.5], [200.0, 0.0]])
    res = tkmeans(Y, 6, init=C0, device=DEVICE)
    ref = ref_kmeans(Y, 6, init=C0)
    assert res.extras["n_relocated"] >= 3
    np.testing.assert_array_equal(res.labels, ref.labels)
    np.testing.assert_allclose(res.centers, ref.centers, rtol=0, atol=1e-12)


def test_kmedian_against_reference():
    ref_kmedian = _ref("kmedian.kmedian")
    X = mnist_x(300)
    for k, seed in ((4, 0), (7, 1)):
        res = tkmedian(X, k, random_state=seed, device=DEVICE)
        ref = ref_kmedian(X, k, random_state=seed)
        np.testing.assert_array_equal(res.labels, ref.labels)
        np.testing.assert_array_equal(res.centers, ref.centers)
        assert res.n_iter == ref.n_iter and res.loss == pytest.approx(ref.loss, rel=1e-12)


def mnist_x(n):
    from bench_core.datasets import load_mnist
    return load_mnist(n)[0]


# ----------------------------------------------------------------------------- precision


def test_float32_checked_against_float64():
    """float32 either makes the float64 swaps or parts at a near-tie that float32 cannot resolve."""
    D64 = mnist_diss(500)
    D32 = mnist_diss(500, "float32")
    a = tp.pam(D64, 10, device=DEVICE, record_swaps=True)
    b = tp.pam(D32, 10, device=DEVICE, record_swaps=True)
    sa, sb = a.extras["swaps"], b.extras["swaps"]
    for (c1, i1, d1), (c2, i2, d2) in zip(sa, sb, strict=False):
        if (c1, i1) != (c2, i2):
            # the float64 delta of float32's choice is within float32 rounding of the best
            bound = 500 * np.finfo(np.float32).eps * float(D64.max()) * 500
            assert abs(d2 - d1) <= bound
            break
        assert d2 == pytest.approx(d1, rel=1e-4)
    else:
        assert len(sa) == len(sb)
        assert list(a.medoids) == list(b.medoids)
        assert b.loss == pytest.approx(a.loss, rel=1e-6)
    # float64 arithmetic on the float32 matrix: the swaps of kmedoids on that matrix
    c = tp.pam(D32, 10, device=DEVICE, compute_dtype="float64")
    _same(c, kmedoids.pam(D32, 10, init="build"), rel=1e-6)


# ----------------------------------------------------------------------------- memory


def test_streamed_blocks_give_the_same_result():
    D = mnist_diss(300)
    whole = tp.pam(D, 6, device=DEVICE)
    n = len(D)
    budget = 3 * 40 * n * 8 + 1000   # the matrix does not fit, blocks of ~40 rows do
    part = tp.pam(D, 6, device=DEVICE, max_device_bytes=budget, block_rows=37)
    assert not part.extras["resident"] and part.extras["block_rows"] == 37
    _same(part, whole, rel=1e-12)
    alt = tp.alternating(D, whole.medoids, device=DEVICE, max_device_bytes=budget)
    assert list(alt.medoids) == list(tp.alternating(D, whole.medoids, device=DEVICE).medoids)


def test_clear_error_when_no_block_fits():
    D = mnist_diss(300)
    with pytest.raises(InsufficientMemoryError, match="not even a block of one row"):
        tp.pam(D, 3, device=DEVICE, max_device_bytes=1000)


# ----------------------------------------------------------------------------- distances


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "manhattan", "cosine"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_distance_matrix(metric, dtype):
    X = mnist_x(257)
    G = gpu_dissimilarity(X, metric, dtype, device=DEVICE, block_rows=100).cpu().numpy()
    C = cpu_dissimilarity(X, metric, dtype)
    assert G.dtype == dtype
    assert (G == G.T).all() and (np.diag(G) == 0).all()
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(G, C, rtol=rtol, atol=rtol * C.max())


# ----------------------------------------------------------------------------- registry & input


def test_registry_entries_run():
    from bench_core import registry
    from bench_core.registry import Task

    names = set(registry.names(implementation="torch"))
    assert {"pam/torch", "fastpam1/torch", "fasterpam/torch", "build/torch", "alternating/torch",
            "silhouette/torch", "medoid_silhouette/torch", "kmeans/torch",
            "kmedian/torch"} <= names
    D = mnist_diss(200)
    opts = {"device": DEVICE}
    res = registry.run("pam/torch", Task(k=4, diss=D, options=opts))
    _same(res, kmedoids.pam(D, 4, init="build"))
    assert res.extras["device"]
    sil = registry.run("silhouette/torch", Task(k=4, diss=D, medoids=res.medoids, options=opts))
    assert sil.loss == pytest.approx(kmedoids.silhouette(D, res.labels)[0], abs=1e-12)
    km = registry.run("kmeans/torch", Task(k=3, X=mnist_x(200), seed=0, options=opts))
    assert km.centers.shape == (3, 784)


def test_unavailable_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from bench_core import registry\n"
            "e = registry.get('pam/torch'); ok, why = e.availability()\n"
            "assert not ok and why.startswith('torch:'), why\n"
            "assert 'bench_core.gpu.entries' not in registry.provider_errors()\n"
            "print(why)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_input_errors():
    D = random_diss(10, 0)
    with pytest.raises(ValueError, match="repeated"):
        tp.pam(D, np.array([1, 1]), device=DEVICE)
    with pytest.raises(ValueError, match="out of range"):
        tp.pam(D, 11, device=DEVICE)
    bad = D.copy()
    bad[0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tp.pam(bad, 2, device=DEVICE)
    with pytest.raises(ValueError, match="init"):
        tp.pam(D, 2, init="nope", device=DEVICE)


def test_input_is_not_copied_on_cpu():
    if DEVICE != "cpu":
        pytest.skip("zero-copy applies to the CPU device")
    D = mnist_diss(100)                                     # read-only
    M = tp.prepare(D, device="cpu")
    assert M.data.data_ptr() == D.__array_interface__["data"][0]


def test_all_small_starts_agree():
    """Every start on a tiny tie-heavy matrix: exact PAM = kmedoids.pam."""
    D = random_diss(8, 5, ties=True)
    for start in itertools.combinations(range(8), 2):
        s = np.array(start)
        _same(tp.pam(D, s.copy(), device=DEVICE), kmedoids.pam(D, s.copy(), 100))
