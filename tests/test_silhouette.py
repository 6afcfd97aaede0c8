"""Silhouette and medoid silhouette: brute-force oracles, scikit-learn and kmedoids."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import blobs_diss, mnist_diss, random_diss

from bench_core import registry
from bench_core.algorithms.silhouette import medoid_silhouette, silhouette

kmedoids = pytest.importorskip("kmedoids")


def silhouette_oracle(D, labels):
    """Rousseeuw's definition, written out point by point."""
    D = np.asarray(D, dtype=np.float64)
    n = len(labels)
    s = np.zeros(n)
    clusters = np.unique(labels)
    for i in range(n):
        own = labels == labels[i]
        if own.sum() == 1:
            continue
        a = D[i, own & (np.arange(n) != i)].mean()
        b = min(D[i, labels == c].mean() for c in clusters if c != labels[i])
        s[i] = 0.0 if max(a, b) == 0 else (b - a) / max(a, b)
    return s.mean(), s


def medoid_silhouette_oracle(D, medoids):
    sub = np.sort(np.asarray(D, dtype=np.float64)[medoids, :], axis=0)
    a, b = sub[0], sub[1]
    s = np.where(a == 0, 1.0, 1.0 - np.divide(a, b, out=np.zeros_like(a), where=b > 0))
    return s.mean(), s


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.int64])
@pytest.mark.parametrize("ties", [False, True])
def test_silhouette_matches_oracle(dtype, ties):
    for seed in range(6):
        D = random_diss(11, seed, ties=ties)
        if np.dtype(dtype).kind == "i":
            D = np.round(D * 10)
        D = D.astype(dtype)
        labels = np.random.default_rng(seed).integers(0, 3, 11)
        labels[:3] = [0, 1, 2]
        value, samples = silhouette(D, labels, samples=True)
        ref, ref_samples = silhouette_oracle(D, labels)
        assert value == pytest.approx(ref, rel=1e-12, abs=1e-15)
        np.testing.assert_allclose(samples, ref_samples, rtol=1e-12, atol=1e-15)
        assert silhouette(D, labels) == value


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32])
def test_medoid_silhouette_matches_oracle(dtype):
    for seed in range(6):
        D = random_diss(12, seed, ties=seed % 2 == 1)
        if np.dtype(dtype).kind == "i":
            D = np.round(D * 10)
        D = D.astype(dtype)
        med = np.random.default_rng(seed).choice(12, 4, replace=False)
        value, samples = medoid_silhouette(D, med, samples=True)
        ref, ref_samples = medoid_silhouette_oracle(D, med)
        assert value == pytest.approx(ref, rel=1e-12)
        np.testing.assert_allclose(samples, ref_samples, rtol=1e-12)


def test_silhouette_skips_the_diagonal_and_keeps_singletons_at_zero():
    D = random_diss(8, 3)
    D[np.diag_indices(8)] = 5.0  # a non-zero diagonal must not enter a(i)
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 2])
    value, samples = silhouette(D, labels, samples=True)
    assert samples[7] == 0.0
    assert value == pytest.approx(silhouette_oracle(D, labels)[0], rel=1e-12)


def test_labels_are_renumbered():
    D = random_diss(10, 1)
    labels = np.array([7, 7, 3, 3, 3, 9, 9, 9, 9, 7])
    assert silhouette(D, labels) == silhouette(D, np.unique(labels, return_inverse=True)[1])


def test_degenerate_cases():
    D = random_diss(6, 2)
    assert silhouette(D, np.zeros(6, dtype=int)) == 0.0  # one cluster, as in kmedoids
    assert silhouette(D, np.arange(6)) == 0.0  # only singletons
    assert medoid_silhouette(D, [4]) == 1.0  # one medoid, as in kmedoids
    value, samples = medoid_silhouette(D, np.arange(6), samples=True)
    assert value == 1.0 and np.all(samples == 1.0)


@pytest.mark.parametrize("n,k", [(200, 2), (500, 5), (1000, 10), (1000, 50)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_agrees_with_sklearn_and_kmedoids_on_mnist(n, k, dtype):
    from sklearn.metrics import silhouette_score

    D = mnist_diss(n, dtype)
    res = kmedoids.fasterpam(D, k, random_state=k, n_cpu=1)
    labels = res.labels.astype(np.int64)
    ours = silhouette(D, labels)
    assert ours == pytest.approx(kmedoids.silhouette(D, labels, n_cpu=1)[0], abs=1e-9)
    # scikit-learn sums float32 input in float32 (about 1e-8 off); we sum in double,
    # so compare with its result on the same values in float64.
    D64 = np.asarray(D, dtype=np.float64)
    assert ours == pytest.approx(silhouette_score(D64, labels, metric="precomputed"), abs=1e-9)
    value, samples = silhouette(D, labels, samples=True)
    np.testing.assert_allclose(samples, kmedoids.silhouette(D, labels, samples=True, n_cpu=1)[1],
                               atol=1e-9)
    med = res.medoids.astype(np.int64)
    ms, ms_samples = medoid_silhouette(D, med, samples=True)
    ref, ref_samples = kmedoids.medoid_silhouette(D, med, samples=True)
    assert ms == ref  # same sum order: bit-identical
    np.testing.assert_array_equal(ms_samples, ref_samples)


def test_agrees_on_blobs():
    from sklearn.metrics import silhouette_score

    D = blobs_diss(600, k=6)
    labels = kmedoids.fasterpam(D, 6, random_state=0, n_cpu=1).labels
    assert silhouette(D, labels) == pytest.approx(
        silhouette_score(D, labels, metric="precomputed"), abs=1e-9)


def test_readonly_input_is_not_copied():
    D = mnist_diss(200)
    assert not D.flags.writeable
    assert -1 <= silhouette(D, np.arange(200) % 4) <= 1
    assert -1 <= medoid_silhouette(D, [0, 1, 2]) <= 1


@pytest.mark.parametrize("bad,match", [
    (lambda D: silhouette(D, np.zeros(5, dtype=int)), "length n"),
    (lambda D: silhouette(D, -np.ones(6, dtype=int)), ">= 0"),
    (lambda D: silhouette(D[:, :5], np.zeros(6, dtype=int)), "square"),
    (lambda D: medoid_silhouette(D, [0, 0]), "repeated"),
    (lambda D: medoid_silhouette(D, [0, 6]), "out of range"),
    (lambda D: silhouette(D * np.nan, np.zeros(6, dtype=int)), "NaN"),
])
def test_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        bad(random_diss(6, 0))


def test_registry_entries():
    import bench_core.algorithms.entries_silhouette  # noqa: F401 - registers even if another family fails

    D = mnist_diss(300)
    med = np.array([0, 5, 9])
    res = registry.run("silhouette/reference", registry.Task(k=3, diss=D, medoids=med))
    assert res.loss == res.extras["silhouette"] == silhouette(D, res.labels)
    assert res.medoids.tolist() == med.tolist()
    res = registry.run("medoid_silhouette/reference", registry.Task(k=3, diss=D, medoids=med))
    assert res.loss == medoid_silhouette(D, med) == res.extras["medoid_silhouette"]
    with pytest.raises(ValueError, match="medoids"):
        registry.run("medoid_silhouette/reference", registry.Task(k=3, diss=D))


def _with(D, i, j, value):
    D = D.copy()
    D[i, j] = value
    return D


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("where", [(3, 17), (40, 2), (5, 5)])  # off-diagonal both sides, diagonal
@pytest.mark.parametrize("value,match", [(np.nan, "NaN"), (np.inf, "infinite"), (-1.0, "negative")])
def test_silhouette_checks_every_entry_in_its_own_pass(n_threads, where, value, match):
    """The silhouette's input check rides on the kernel's pass (and the diagonal,
    which that pass skips, is checked apart): every bad entry is still found."""
    D = _with(random_diss(60, 1), *where, value)
    with pytest.raises(ValueError, match=match):
        silhouette(D, np.arange(60) % 3, n_threads=n_threads)
    with pytest.raises(ValueError, match=match):  # one cluster: no kernel pass, a plain scan
        silhouette(D, np.zeros(60, dtype=int), n_threads=n_threads)


def test_silhouette_sums_beyond_float64_range():
    D = random_diss(30, 2) * 1e308
    with pytest.raises(ValueError, match="float64 range"):
        silhouette(D, np.arange(30) % 2)


@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("row", [4, 20, 33])  # the kernel reads the first two medoids apart from the rest
def test_medoid_silhouette_checks_the_rows_it_reads(n_threads, row):
    """Only the medoid rows are read (diss[m, o]) and the check rides on that pass;
    a bad entry there is an error, a bad entry elsewhere cannot change the value
    and is not looked at (O(nk), as kmedoids)."""
    D = random_diss(50, 3)
    med = [4, 20, 33]
    for value, match in [(np.nan, "NaN"), (np.inf, "infinite"), (-np.inf, "infinite"),
                         (-2.0, "negative")]:
        for col in (0, 7, 49):
            with pytest.raises(ValueError, match=match):
                medoid_silhouette(_with(D, row, col, value), med, n_threads=n_threads)
        with pytest.raises(ValueError, match=match):  # k = 1 reads nothing but is checked too
            medoid_silhouette(_with(D, 4, 7, value), [4], n_threads=n_threads)
        assert (medoid_silhouette(_with(D, 7, 20, value), med, n_threads=n_threads)
                == medoid_silhouette(D, med))
    Di = (D * 100).astype(np.int64)
    Di[row, 9] = -1
    with pytest.raises(ValueError, match="negative"):
        medoid_silhouette(Di, med, n_threads=n_threads)
    # entries near the float64 limit are valid: nothing is summed, so nothing overflows
    assert medoid_silhouette(D * 1e307, med, n_threads=n_threads) == medoid_silhouette(D, med)
