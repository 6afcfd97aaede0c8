"""clustbench:BATTERY/NAME data sets: the suite's format, checksums, true k, listing.

The format tests write a tiny suite of their own (several labellings, noise points);
the tests against the real suite read ../shared/datasets/clustbench (set
KMBENCH_TEST_CLUSTBENCH to use another copy) and skip where it is absent.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest

from bench_core.datasets import ChecksumError, clustbench, get_dataset, list_datasets, true_k

SUITE = Path(os.environ.get("KMBENCH_TEST_CLUSTBENCH",
                            Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "clustbench"))
needs_suite = pytest.mark.skipif(
    not (SUITE / "fcps" / "hepta.data.gz").exists(),
    reason=f"the clustering benchmark suite is not at {SUITE} (set KMBENCH_TEST_CLUSTBENCH to its folder)")


def _write(path: Path, lines: list[str]) -> None:
    with gzip.open(path, "wt") as f:
        f.write("\n".join(lines) + "\n")


@pytest.fixture
def tiny_suite(tmp_path, monkeypatch):
    """A suite folder with toy/two: 6 points, labels0 with a noise point (0), labels1 with 3 clusters."""
    root = tmp_path / "suite"
    (root / "toy").mkdir(parents=True)
    X = [[0.0, 0.0], [0.1, 0.0], [0.0, 0.2], [5.0, 5.0], [5.1, 5.0], [9.0, -3.0]]
    _write(root / "toy" / "two.data.gz", [" ".join(map(str, r)) for r in X])
    _write(root / "toy" / "two.labels0.gz", ["1", "1", "1", "2", "2", "0"])
    _write(root / "toy" / "two.labels1.gz", ["1", "1", "2", "3", "3", "3"])
    (root / "toy" / "two.txt").write_text("A toy data set.\nSecond line.\n")
    monkeypatch.setenv(clustbench.ENV_VAR, str(root))
    clustbench.set_data_dir(None)
    return root


def test_loader_reads_all_labellings_and_noise(tiny_suite):
    ds = get_dataset("clustbench:toy/two")
    assert ds.name == "clustbench:toy/two"
    assert ds.X.shape == (6, 2) and ds.X.dtype == np.float64
    assert len(ds.labelings) == 2
    np.testing.assert_array_equal(ds.labelings[0], [1, 1, 1, 2, 2, 0])
    np.testing.assert_array_equal(ds.labelings[1], [1, 1, 2, 3, 3, 3])
    np.testing.assert_array_equal(ds.y, ds.labelings[0])
    assert ds.noise_label == 0
    assert ds.params["n_clusters"] == [2, 3]
    assert ds.params["verified"] is False  # not in the v1.1.0 manifest
    assert ds.description == "A toy data set."
    # the suite's own preprocessing (centred, scaled, jitter seeded by the data seed)
    import clustbench as cb

    raw = get_dataset("clustbench:toy/two", preprocess=False).X
    np.testing.assert_array_equal(raw[5], [9.0, -3.0])
    np.testing.assert_allclose(ds.X, cb.preprocess_data(raw.copy(), random_state=0))
    assert np.allclose(ds.X.mean(axis=0), 0.0, atol=1e-5)


def test_checksum_is_reproducible_and_depends_on_the_seed(tiny_suite):
    a, b = get_dataset("clustbench:toy/two"), get_dataset("clustbench:toy/two")
    c = get_dataset("clustbench:toy/two", seed=1)
    assert a.checksum == b.checksum
    assert a.checksum != c.checksum  # the jitter is seeded


def test_subsample_is_seeded_and_keeps_the_labels_aligned(tiny_suite):
    full = get_dataset("clustbench:toy/two", preprocess=False)
    sub = get_dataset("clustbench:toy/two", 4, seed=2, preprocess=False)
    again = get_dataset("clustbench:toy/two", 4, seed=2, preprocess=False)
    assert sub.n == 4 and sub.params["subsample"] == {"n": 4, "of": 6, "seed": 2}
    np.testing.assert_array_equal(sub.X, again.X)
    for i, x in enumerate(sub.X):
        j = int(np.flatnonzero((full.X == x).all(axis=1))[0])
        assert [lab[i] for lab in sub.labelings] == [lab[j] for lab in full.labelings]


def test_true_k(tiny_suite):
    assert true_k(get_dataset("clustbench:toy/two")) == 2  # labels0: 1..2, noise excluded
    assert true_k("clustbench:toy/two") == 2
    assert true_k(get_dataset("iris")) == 3
    assert true_k(get_dataset("blobs-outliers", k=4)) == 4  # label -1 (outliers) is not a cluster
    with pytest.raises(ValueError, match="no reference labels"):
        true_k(get_dataset("file:" + str(_points_file(tiny_suite))))


def _points_file(root: Path) -> Path:
    p = root / "pts.npy"
    np.save(p, np.zeros((3, 2)))
    return p


def test_bad_names_and_missing_files(tiny_suite):
    with pytest.raises(ValueError, match="BATTERY/NAME"):
        get_dataset("clustbench:hepta")
    with pytest.raises(FileNotFoundError, match="KMBENCH_CLUSTBENCH_DIR"):
        get_dataset("clustbench:toy/nope")


def test_manifest_mismatch_is_an_error(tiny_suite, monkeypatch):
    clustbench.manifest.cache_clear()
    real = clustbench.manifest()
    fake = json.loads(json.dumps(real))
    fake["datasets"]["toy/two"] = {"n": 6, "d": 2, "n_clusters": [2, 3], "files": {
        "two.data.gz": {"md5": "0" * 32}, "two.labels0.gz": {"md5": "0" * 32}, "two.labels1.gz": {"md5": "0" * 32}}}
    monkeypatch.setattr(clustbench, "manifest", lambda: fake)
    with pytest.raises(ChecksumError, match="md5"):
        get_dataset("clustbench:toy/two")


def test_data_dir_order(tmp_path, monkeypatch):
    monkeypatch.delenv(clustbench.ENV_VAR, raising=False)
    clustbench.set_data_dir(None)
    assert clustbench.data_dir() == clustbench.DEFAULT_DIR
    monkeypatch.setenv(clustbench.ENV_VAR, str(tmp_path / "env"))
    assert clustbench.data_dir() == tmp_path / "env"
    clustbench.set_data_dir(tmp_path / "flag")
    try:
        assert clustbench.data_dir() == tmp_path / "flag"
    finally:
        clustbench.set_data_dir(None)


def test_family_is_listed():
    assert any(name.startswith("clustbench:") for name in list_datasets())


def test_listing_of_a_found_suite(tiny_suite, capsys):
    from bench_core.cli import main

    assert main(["datasets", "list", "--data-dir", str(tiny_suite)]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if "clustbench:toy/two" in ln)
    assert line.split()[1:4] == ["6", "2", "2,"]  # n, d, reference k of labels0, labels1
    assert "(1 noise)" in line and "SoftwareX" in out
    clustbench.set_data_dir(None)


# ----------------------------------------------------------------- the real suite (v1.1.0)

@needs_suite
def test_real_suite_matches_the_manifest(monkeypatch):
    monkeypatch.setenv(clustbench.ENV_VAR, str(SUITE))
    clustbench.set_data_dir(None)
    found = clustbench.available()
    assert len(found) >= 70
    stored = clustbench.manifest()["datasets"]
    assert set(found) <= set(stored)
    for key in ("fcps/hepta", "graves/ring_noisy", "wut/x2", "fcps/target"):
        assert clustbench.verify(*key.split("/"))


@needs_suite
def test_real_suite_several_labellings_and_noise(monkeypatch):
    import clustbench as cb

    monkeypatch.setenv(clustbench.ENV_VAR, str(SUITE))
    clustbench.set_data_dir(None)
    ds = get_dataset("clustbench:fcps/target")
    ref = cb.load_dataset("fcps", "target", path=str(SUITE), preprocess=False)
    assert ds.n == ref.data.shape[0] and len(ds.labelings) == len(ref.labels) == 2
    for ours, theirs in zip(ds.labelings, ref.labels, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert true_k(ds) == int(ref.n_clusters[0])
    noisy = get_dataset("clustbench:graves/ring_noisy")
    assert (noisy.labelings[0] == 0).sum() == clustbench.manifest()["datasets"]["graves/ring_noisy"]["noise"] > 0


def test_battery_grids_follow_the_size_rules(tiny_suite):
    from bench_core.experiments.presets import BATTERY_ALGORITHMS, battery

    (grid,) = battery(batteries=["toy"], max_n=10)
    assert grid.datasets == ["clustbench:toy/two"] and grid.ks == [2] and grid.ns == [6]
    assert grid.algorithms == BATTERY_ALGORITHMS and grid.seeds == [0, 1, 2] and grid.time_limit == 60.0
    (points_only,) = battery(batteries=["toy"], max_n=5, points_max_n=10)
    assert set(points_only.algorithms) == {"clara", "fastclara", "fasterclara", "clarans", "fastclarans",
                                           "kmeans", "kmedian"}
    (large,) = battery(batteries=["toy"], max_n=4, points_max_n=5)
    assert large.algorithms == ["clara", "fastclara", "fasterclara"]
    (full,) = battery(batteries=["toy"], max_n=4, points_max_n=5, full=True, full_diss_max_n=5)
    assert "kmeans" in full.algorithms and "fasterpam" not in full.algorithms
    with pytest.raises(ValueError, match="not in"):
        battery(datasets=["toy/none"])


def test_battery_without_the_suite_says_where_to_put_it(tmp_path, monkeypatch):
    from bench_core.experiments.presets import battery

    monkeypatch.setenv(clustbench.ENV_VAR, str(tmp_path / "empty"))
    clustbench.set_data_dir(None)
    with pytest.raises(ValueError, match="KMBENCH_CLUSTBENCH_DIR"):
        battery()


def test_reports_cite_the_suite_and_each_data_sets_sources(tmp_path, monkeypatch):
    """A report with clustbench rows lists each data set's NAME.txt (description and references,
    without the suite's own citation) and cites the suite in the note, as its licence asks."""
    import pandas as pd

    from bench_core.report.sources import sources_tables

    root = tmp_path / "suite"
    (root / "toy").mkdir(parents=True)
    (root / "toy" / "two.txt").write_text(
        "Source: A. Author, A paper,\nA journal, 2001.\n\n`0` denotes noise.\n\n\n"
        "Gagolewski M., A framework for benchmarking clustering algorithms,\nSoftwareX 20:101270, 2022.\n")
    monkeypatch.setenv(clustbench.ENV_VAR, str(root))
    df = pd.DataFrame({"dataset": ["clustbench:toy/two", "mnist", "clustbench:toy/gone", "clustbench:toy/two"]})
    (table,) = sources_tables(df, "caption")
    assert table.rows == [["clustbench:toy/gone", "toy/gone.txt not found here (see the suite's copy)"],
                          ["clustbench:toy/two", "Source: A. Author, A paper, A journal, 2001. `0` denotes noise."]]
    assert table.notes == [f"The clustering benchmark suite: cite {clustbench.CITATION}."]
    assert sources_tables(df[df["dataset"] == "mnist"], "caption") == []
