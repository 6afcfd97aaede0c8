"""Dissimilarity matrices: kmbench's blocked BLAS computation against SciPy and scikit-learn.

``track_max_abs_error`` is the largest deviation from SciPy's direct float64
``cdist`` (which does not use the norm expansion), i.e. what the BLAS form costs in
accuracy after kmbench's cancellation repair.
"""

from __future__ import annotations

import numpy as np

from .common import Benchmark, grid, load_points, pinned_threads, skip

SECTION = "dissimilarity"
IMPLEMENTATIONS = ["kmbench", "scipy", "sklearn"]
_SCIPY = {"euclidean": "euclidean", "sqeuclidean": "sqeuclidean", "manhattan": "cityblock",
          "cosine": "cosine"}


def _matrix(implementation: str, X: np.ndarray, metric: str, dtype: str) -> np.ndarray:
    if implementation == "kmbench":
        from bench_core.dissimilarity import dissimilarity

        return dissimilarity(X, metric, np.dtype(dtype))
    if implementation == "scipy":
        from scipy.spatial.distance import pdist, squareform

        return squareform(pdist(X, _SCIPY[metric])).astype(dtype, copy=False)
    from sklearn.metrics import pairwise_distances

    if metric == "sqeuclidean":
        D = pairwise_distances(X, metric="euclidean", n_jobs=1)
        D *= D
    else:
        D = pairwise_distances(X, metric=metric, n_jobs=1)
    return D.astype(dtype, copy=False)


class DissimilarityMatrix(Benchmark):
    """The n x n matrix of the first n points of a data set, one thread."""

    axes = ("dataset", "n", "metric", "dtype")
    param_names = ["implementation", *axes]
    params = [IMPLEMENTATIONS] + [list(grid(SECTION)[a]) for a in axes]

    def setup(self, implementation, dataset, n, metric, dtype):
        if implementation == "sklearn":
            try:
                import sklearn.metrics  # noqa: F401  (imported here, not in the timed call)
            except ImportError as exc:
                skip(f"scikit-learn is unavailable: {exc}")
        self.X = load_points(dataset, int(n))
        self._threads = pinned_threads(1)

    def teardown(self, *params):
        self._threads.restore()

    def time_matrix(self, implementation, dataset, n, metric, dtype):
        _matrix(implementation, self.X, metric, dtype)

    def peakmem_matrix(self, implementation, dataset, n, metric, dtype):
        _matrix(implementation, self.X, metric, dtype)

    def track_max_abs_error(self, implementation, dataset, n, metric, dtype):
        from scipy.spatial.distance import cdist

        exact = cdist(self.X, self.X, _SCIPY[metric])
        np.fill_diagonal(exact, 0.0)
        return float(np.abs(_matrix(implementation, self.X, metric, dtype) - exact).max())

    track_max_abs_error.unit = "distance"
