"""Robustness table: the 1-D example and the qualitative effect of far outliers."""

from __future__ import annotations

import numpy as np
import pytest

from bench_core.experiments.robustness import centre_error, markdown, one_d_example, outlier_table


def test_one_d_example_mean_22_median_3():
    ex = one_d_example()
    assert ex["mean"] == ex["kmeans"] == pytest.approx(22.0)
    assert ex["median"] == ex["kmedian"] == ex["fasterpam"] == 3.0


def test_centre_error_matches_up_to_permutation():
    true = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    found = true[[2, 0, 1]] + np.array([[0.0, 0.5], [0.0, 0.0], [2.0, 0.0]])
    mean, worst, hit = centre_error(found, true)
    assert mean == pytest.approx(2.5 / 3) and worst == 2.0 and hit == 2


@pytest.fixture(scope="module")
def table():
    return outlier_table(n=600, n_init=3)


def test_without_outliers_every_method_finds_the_centres(table):
    for row in table:
        if row["outliers"] == 0:
            assert row["found"] == row["k"], row
            assert row["max_error"] < 0.5, row


def test_far_outliers_pull_kmeans_more_than_the_medoids(table):
    err = {(r["outliers"], r["method"]): r["mean_error"] for r in table}
    for frac in (0.05, 0.2):
        assert err[frac, "kmeans"] > err[frac, "fasterpam"]
        assert err[frac, "kmeans"] > err[0.0, "kmeans"]


def test_markdown(table):
    md = markdown(table, one_d_example())
    assert "| kmeans |" in md and "20% outliers" in md and "| centre | 22 | 3 |" in md
