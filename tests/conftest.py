"""Shared fixtures: small seeded problems and MNIST subsets (distance matrices cached per session)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from bench_core.datasets import get_dataset, load_mnist
from bench_core.dissimilarity import dissimilarity


@functools.lru_cache(maxsize=8)
def mnist_diss(n: int, dtype: str = "float64", metric: str = "euclidean") -> np.ndarray:
    """Euclidean distance matrix of the first n bundled MNIST images (read-only, cached)."""
    X, _ = load_mnist(n)
    D = dissimilarity(X, metric, np.dtype(dtype))
    D.setflags(write=False)
    return D


@functools.lru_cache(maxsize=8)
def blobs_diss(n: int, k: int = 5, d: int = 5, seed: int = 0, dtype: str = "float64") -> np.ndarray:
    ds = get_dataset("blobs", n, seed=seed, k=k, d=d)
    D = dissimilarity(ds.X, "euclidean", np.dtype(dtype))
    D.setflags(write=False)
    return D


def random_diss(n: int, seed: int = 0, *, ties: bool = False, dtype=np.float64) -> np.ndarray:
    """A random symmetric dissimilarity with zero diagonal; ``ties`` rounds to few values."""
    rng = np.random.default_rng(seed)
    A = rng.random((n, n))
    if ties:
        A = np.round(A * 4) + 1.0
    D = np.triu(A, 1)
    D = D + D.T
    return np.ascontiguousarray(D, dtype=dtype)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(params=[0, 1], ids=["sse2", "avx2"])
def gain_level(request):
    """BUILD's gains and checked first step limited to SSE2 or AVX2 for one test (skipped
    where the CPU lacks it)."""
    from bench_core.algorithms import _build

    if ("scalar", "sse2", "avx2").index(_build.gain_level()) < request.param + 1:
        pytest.skip(f"this CPU or build has no {request.node.callspec.id} gains")
    _build._limit_gain_level(request.param)
    yield request.param
    _build._limit_gain_level(1)
