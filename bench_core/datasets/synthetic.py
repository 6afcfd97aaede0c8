"""Seeded synthetic data sets.

Definitions are only ever appended to (as in NumPy's benchmarks), so stored
results stay comparable across versions: a given (name, parameters, seed)
always produces the same array.
"""

from __future__ import annotations

import numpy as np


def make_blobs(n: int = 1000, d: int = 2, k: int = 5, *, spread: float = 1.0, box: float = 10.0,
               seed: int = 0, return_centers: bool = False):
    """Isotropic Gaussian blobs: k centres uniform in [-box, box]^d, std ``spread``.

    Points are assigned round-robin to clusters, so sizes differ by at most one.
    Returns ``(X, y)`` or ``(X, y, centers)``.
    """
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-box, box, size=(k, d))
    y = np.arange(n) % k
    rng.shuffle(y)
    X = centers[y] + spread * rng.standard_normal((n, d))
    return (X, y, centers) if return_centers else (X, y)


def make_blobs_outliers(n: int = 1000, d: int = 2, k: int = 5, *, outlier_fraction: float = 0.05,
                        spread: float = 1.0, box: float = 10.0, outlier_scale: float = 10.0,
                        seed: int = 0, return_centers: bool = False):
    """Blobs where a fraction of points are far outliers (label -1).

    Outliers are uniform in a box ``outlier_scale`` times larger than the one
    holding the centres.
    """
    if not 0 <= outlier_fraction < 1:
        raise ValueError(f"outlier_fraction must be in [0, 1), got {outlier_fraction}")
    n_out = int(round(outlier_fraction * n))
    X, y, centers = make_blobs(n - n_out, d, k, spread=spread, box=box, seed=seed, return_centers=True)
    rng = np.random.default_rng([seed, 1])
    far = rng.uniform(-box * outlier_scale, box * outlier_scale, size=(n_out, d))
    X = np.vstack([X, far])
    y = np.concatenate([y, -np.ones(n_out, dtype=y.dtype)])
    perm = rng.permutation(n)
    X, y = X[perm], y[perm]
    return (X, y, centers) if return_centers else (X, y)


def make_student_t(n: int = 1000, d: int = 2, k: int = 5, *, df: float = 2.0, spread: float = 1.0,
                   box: float = 10.0, seed: int = 0, return_centers: bool = False):
    """Heavy-tailed clusters: centres as in :func:`make_blobs`, Student-t noise with ``df`` dof."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-box, box, size=(k, d))
    y = np.arange(n) % k
    rng.shuffle(y)
    X = centers[y] + spread * rng.standard_t(df, size=(n, d))
    return (X, y, centers) if return_centers else (X, y)


TUTORIAL3_CENTERS = np.array([[0.0, 0.0], [4.0, 0.0], [2.0, 4.0]])
ELBOW4_CENTERS = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0], [6.0, 6.0]])


def make_tutorial3(n: int = 300, *, spread: float = 0.6, seed: int = 0, return_centers: bool = False):
    """The 3-cluster 2-D example of k-means tutorials: centres (0,0), (4,0), (2,4)."""
    return _around(TUTORIAL3_CENTERS, n, spread, seed, return_centers)


def make_elbow4(n: int = 400, *, spread: float = 0.7, seed: int = 0, return_centers: bool = False):
    """The 4-cluster 2-D elbow example: centres at the corners of a 6 x 6 square."""
    return _around(ELBOW4_CENTERS, n, spread, seed, return_centers)


def _around(centers: np.ndarray, n: int, spread: float, seed: int, return_centers: bool):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(centers)
    X = centers[y] + spread * rng.standard_normal((n, centers.shape[1]))
    return (X, y, centers.copy()) if return_centers else (X, y)
