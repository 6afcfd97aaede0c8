"""ARI, AMI and NCA by the clustering benchmark suite's rules, on partitions small enough
to compute by hand."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from bench_core.datasets import Dataset
from bench_core.metrics import external, metrics
from bench_core.result import ClusteringResult


def _run(labels, k):
    labels = np.asarray(labels, dtype=np.int64)
    return SimpleNamespace(k=k), ClusteringResult(loss=0.0, labels=labels)


def test_hand_computed_ari_and_nca():
    # reference {0,1,2 | 3,4,5}, clustering {0,1 | 2,3,4,5}: C = [[2, 1], [0, 3]]
    ref = np.array([1, 1, 1, 2, 2, 2])
    s = external.scores_one(ref, np.array([0, 0, 1, 1, 1, 1]), 2)
    # ARI: index = C(2,2) + C(3,2) = 4; rows 2*C(3,2) = 6, cols C(2,2) + C(4,2) = 7, C(6,2) = 15
    # expected 6*7/15 = 2.8, max (6+7)/2 = 6.5 -> (4 - 2.8) / (6.5 - 2.8)
    assert s["ari"] == pytest.approx((4 - 2.8) / (6.5 - 2.8))
    # NCA: best matching 2/3 and 3/3 of the two reference clusters; each above 1/K = 1/2,
    # rescaled by 1 - 1/2: mean((2/3 - 1/2) / (1/2), (1 - 1/2) / (1/2)) = (1/3 + 1) / 2
    assert s["nca"] == pytest.approx(2 / 3)


def test_ami_against_the_definition():
    # AMI_sum = (MI - E[MI]) / ((H(U) + H(V)) / 2 - E[MI]), E[MI] from the hypergeometric model
    ref = np.array([1, 1, 1, 2, 2, 2])
    lab = np.array([0, 0, 1, 1, 1, 1])
    C = np.array([[2, 1], [0, 3]])
    n = C.sum()
    a, b = C.sum(axis=1), C.sum(axis=0)
    P = C / n
    mi = sum(P[i, j] * math.log(P[i, j] / (a[i] / n * b[j] / n)) for i in range(2) for j in range(2) if C[i, j])
    hu = -sum(x / n * math.log(x / n) for x in a)
    hv = -sum(x / n * math.log(x / n) for x in b)
    emi = 0.0
    for i in range(2):
        for j in range(2):
            for nij in range(max(1, a[i] + b[j] - n), min(a[i], b[j]) + 1):
                p = (math.comb(b[j], nij) * math.comb(n - b[j], a[i] - nij)) / math.comb(n, a[i])
                emi += nij / n * math.log(n * nij / (a[i] * b[j])) * p
    expected = (mi - emi) / ((hu + hv) / 2 - emi)
    assert external.scores_one(ref, lab, 2)["ami"] == pytest.approx(expected)


def test_identical_up_to_relabelling_scores_one():
    s = external.scores_one(np.array([3, 3, 1, 1, 2, 2]), np.array([1, 1, 2, 2, 0, 0]), 3)
    assert s == pytest.approx({"ari": 1.0, "ami": 1.0, "nca": 1.0})


def test_noise_points_are_excluded():
    # the two noise points (label 0) are misassigned; without them the partitions agree
    ref = np.array([1, 1, 2, 2, 0, 0])
    s = external.scores_one(ref, np.array([0, 0, 1, 1, 1, 0]), 2, noise_label=0)
    assert s == pytest.approx({"ari": 1.0, "ami": 1.0, "nca": 1.0})
    # without the noise rule, label 0 is a third reference cluster and the scores drop
    assert external.scores_one(ref, np.array([0, 0, 1, 1, 1, 0]), 2)["ari"] < 1.0


def test_best_over_references_with_k_clusters():
    lab = np.array([0, 0, 1, 1, 1, 1])
    ref_a = np.array([1, 1, 1, 2, 2, 2])          # 2 clusters: ARI 0.324..., NCA 2/3
    ref_b = np.array([1, 1, 2, 2, 2, 2])          # 2 clusters: identical
    ref_c = np.array([1, 1, 2, 2, 3, 3])          # 3 clusters: not compared with a 2-partition
    s = external.scores(lab, [ref_a, ref_c], 2)
    assert s["ari"] == pytest.approx((4 - 2.8) / (6.5 - 2.8)) and s["nca"] == pytest.approx(2 / 3)
    assert external.scores(lab, [ref_a, ref_b, ref_c], 2) == pytest.approx({"ari": 1.0, "ami": 1.0, "nca": 1.0})


def test_other_k_keeps_ari_ami_and_drops_nca():
    # a 2-partition against a 3-cluster reference only: C = [[2, 0], [0, 2], [0, 2]]
    ref = np.array([1, 1, 2, 2, 3, 3])
    s = external.scores(np.array([0, 0, 1, 1, 1, 1]), [ref], 2)
    assert s["nca"] is None
    # ARI: index C(2,2) + C(2,2) + C(2,2) = 3; rows 3; cols C(2,2) + C(4,2) = 7; C(6,2) = 15
    assert s["ari"] == pytest.approx((3 - 3 * 7 / 15) / (5 - 3 * 7 / 15))


def test_empty_cluster_among_non_noise_points_is_a_zero_column():
    # cluster 1 holds only a noise point: NCA is computed on a 2 x 2 table with an empty column
    ref = np.array([1, 1, 2, 2, 0])
    s = external.scores_one(ref, np.array([0, 0, 0, 0, 1]), 2, noise_label=0)
    assert s["nca"] == pytest.approx(0.0) and s["ari"] == pytest.approx(0.0)


def test_bad_labels_are_an_error():
    with pytest.raises(ValueError, match="0..1"):
        external.scores_one(np.array([1, 2]), np.array([0, 2]), 2)


def test_registered_metrics_use_the_dataset():
    assert {"ari", "ami", "nca"} <= set(metrics())
    ds = Dataset("toy", np.zeros((6, 1)), labelings=[np.array([1, 1, 2, 2, 0, 0])], noise_label=0)
    task, res = _run([0, 0, 1, 1, 1, 0], 2)
    values = {name: metrics()[name](task, res, ds) for name in ("ari", "ami", "nca")}
    assert values == pytest.approx({"ari": 1.0, "ami": 1.0, "nca": 1.0})
    unlabelled = Dataset("nolabels", np.zeros((6, 1)))
    assert metrics()["ari"](task, res, unlabelled) is None


def test_evaluate_on_a_real_run_matches_scikit_learn():
    """The whole path on a labelled data set: a run, metrics.evaluate, and an independent ARI."""
    from sklearn.metrics import adjusted_rand_score

    from bench_core.datasets import get_dataset
    from bench_core.metrics import evaluate

    ds = get_dataset("blobs", 300, seed=1, k=4, d=2)
    rng = np.random.default_rng(0)
    labels = np.where(rng.random(ds.n) < 0.2, rng.integers(0, 4, ds.n), ds.y)  # 20 % scrambled
    task, res = _run(labels, 4)
    values, errors = evaluate(task, res, ds)
    assert not {k: v for k, v in errors.items() if k in ("ari", "ami", "nca")}
    assert values["ari"] == pytest.approx(adjusted_rand_score(ds.y, labels))
    assert 0.0 < values["nca"] < 1.0


def test_scores_on_the_suite_match_scikit_learn_without_the_noise():
    """A k-medoids run on a suite data set with noise points: ARI and AMI equal scikit-learn's
    on the non-noise points (skips where the suite is absent)."""
    import os
    from pathlib import Path

    from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

    from bench_core import registry
    from bench_core.datasets import clustbench, get_dataset, true_k
    from bench_core.dissimilarity import dissimilarity
    from bench_core.metrics import evaluate

    suite = Path(os.environ.get("KMBENCH_TEST_CLUSTBENCH",
                                Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "clustbench"))
    if not (suite / "graves" / "ring_noisy.data.gz").exists():
        pytest.skip(f"the clustering benchmark suite is not at {suite}")
    clustbench.set_data_dir(suite)
    try:
        ds = get_dataset("clustbench:graves/ring_noisy")
    finally:
        clustbench.set_data_dir(None)
    k = true_k(ds)
    entry = registry.get("fasterpam/reference")
    if not entry.availability()[0]:
        pytest.skip("the Cython extensions are not built")
    task = registry.Task(k=k, diss=dissimilarity(ds.X, "euclidean", np.dtype("float64")), X=ds.X, seed=0)
    res = entry(task)
    values, _ = evaluate(task, res, ds)
    keep = ds.y != 0
    assert (~keep).sum() > 0
    assert values["ari"] == pytest.approx(adjusted_rand_score(ds.y[keep], res.labels[keep]))
    assert values["ami"] == pytest.approx(adjusted_mutual_info_score(ds.y[keep], res.labels[keep]), abs=1e-9)
