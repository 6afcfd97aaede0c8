"""Robustness to outliers, shown with numbers: k-means vs k-median vs k-medoids (FasterPAM).

* :func:`outlier_table`: blobs with 0 %, 5 % and 20 % far outliers
  (:func:`bench_core.datasets.make_blobs_outliers`, outliers uniform in a box ten times
  larger than the one holding the centres). Each method is run with the true k (best loss
  of ``n_init`` seeded runs); its centres (medoids for FasterPAM) are matched one-to-one to
  the true centres (Hungarian method on Euclidean distances) and the mean and maximum
  matched distance are reported, with the number of true centres found within 1 (the
  clusters' standard deviation). ``kmedian-outliers`` is k-median with ``n_outliers`` set
  to the true number of outliers.
* :func:`one_d_example`: the points {1, 2, 3, 4, 100} with k = 1: the k-means centre is
  the mean, 22; the k-median centre and the k-medoids medoid are the median, 3.

``python -m bench_core.experiments.robustness`` prints both as Markdown.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..algorithms.kselect import cluster
from ..datasets import make_blobs_outliers

METHODS = ("kmeans", "kmedian", "fasterpam", "kmedian-outliers")


def _centres(method: str, X: np.ndarray, k: int, seed: int, n_init: int, z: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    best = None
    D = None  # FasterPAM's distance matrix, computed once for all its restarts
    for s in rng.integers(0, 2**31 - 1, size=n_init):
        if method == "kmeans":
            from ..algorithms.kmeans import kmeans

            r = kmeans(X, k, random_state=int(s))
            cur = (r.loss, r.centers)
        elif method in ("kmedian", "kmedian-outliers"):
            from ..algorithms.kmedian import kmedian

            r = kmedian(X, k, random_state=int(s), n_outliers=z if method == "kmedian-outliers" else 0)
            cur = (r.loss, r.centers)
        else:
            if D is None:
                from ..dissimilarity import dissimilarity

                D = dissimilarity(X, "euclidean", np.float64)
            loss, labels = cluster("kmedoids", k, diss=D, seed=int(s))
            medoids = _medoids_of(D, labels, k)
            cur = (loss, X[medoids])
        if best is None or cur[0] < best[0]:
            best = cur
    return np.asarray(best[1], dtype=np.float64)


def _medoids_of(D: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """The medoid of each cluster (the member with the smallest distance sum)."""
    med = np.empty(k, dtype=np.int64)
    for j in range(k):
        idx = np.flatnonzero(labels == j)
        med[j] = idx[np.argmin(D[np.ix_(idx, idx)].sum(axis=0))]
    return med


def centre_error(found: np.ndarray, true: np.ndarray, radius: float = 1.0) -> tuple[float, float, int]:
    """(mean, max) Euclidean distance between true centres and their matched found ones,
    and how many true centres have a matched found centre within ``radius``."""
    cost = np.sqrt(((true[:, None, :] - found[None, :, :]) ** 2).sum(axis=2))
    r, c = linear_sum_assignment(cost)
    return float(cost[r, c].mean()), float(cost[r, c].max()), int((cost[r, c] <= radius).sum())


def outlier_table(fractions=(0.0, 0.05, 0.2), *, n: int = 1000, k: int = 5, d: int = 2,
                  seed: int = 0, n_init: int = 5, methods=METHODS) -> list[dict]:
    """One row per (outlier fraction, method): distance of found to true centres, and how
    many true centres were found within one standard deviation. ``kmedian-outliers`` is
    k-median told the number of outliers (``n_outliers``)."""
    rows = []
    for frac in fractions:
        X, y, true = make_blobs_outliers(n, d, k, outlier_fraction=frac, seed=seed, return_centers=True)
        z = int((y < 0).sum())
        for m in methods:
            mean, worst, found = centre_error(_centres(m, X, k, seed, n_init, z), true)
            rows.append({"outliers": frac, "method": m, "mean_error": mean, "max_error": worst,
                         "found": found, "k": k})
    return rows


def one_d_example(points=(1.0, 2.0, 3.0, 4.0, 100.0)) -> dict[str, float]:
    """Centre of the single cluster of ``points`` by each method (mean 22, median 3)."""
    from ..algorithms.kmeans import kmeans
    from ..algorithms.kmedian import kmedian

    X = np.asarray(points, dtype=np.float64).reshape(-1, 1)
    D = np.abs(X - X.T)
    loss, labels = cluster("kmedoids", 1, diss=D, seed=0)
    return {"mean": float(X.mean()), "median": float(np.median(X)),
            "kmeans": float(kmeans(X, 1, init="random", random_state=0).centers[0, 0]),
            "kmedian": float(kmedian(X, 1, init="random", random_state=0).centers[0, 0]),
            "fasterpam": float(X[_medoids_of(D, labels, 1)[0], 0])}


def markdown(rows: list[dict], example: dict[str, float]) -> str:
    fr = sorted({r["outliers"] for r in rows})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    out = ["| method | " + " | ".join(f"{f:.0%} outliers: mean / max / found" for f in fr) + " |",
           "|---|" + "---|" * len(fr)]
    for m in methods:
        cells = [next(f"{r['mean_error']:.2f} / {r['max_error']:.2f} / {r['found']} of {r['k']}" for r in rows
                      if r["method"] == m and r["outliers"] == f) for f in fr]
        out.append(f"| {m} | " + " | ".join(cells) + " |")
    out += ["", "| {1, 2, 3, 4, 100}, k = 1 | mean | median | k-means | k-median | FasterPAM |",
            "|---|---|---|---|---|---|",
            "| centre | " + " | ".join(f"{example[c]:g}" for c in
                                       ("mean", "median", "kmeans", "kmedian", "fasterpam")) + " |"]
    return "\n".join(out)


def main() -> None:  # pragma: no cover - a report script
    print("Distance of found centres/medoids to the true centres (blobs n=1000, k=5, d=2, "
          "centres in [-10, 10]^2, std 1, outliers uniform in [-100, 100]^2; best of 5 seeds; "
          "found = true centres with a matched centre within 1)\n")
    print(markdown(outlier_table(), one_d_example()))


if __name__ == "__main__":  # pragma: no cover
    main()
