"""kmbench: benchmarks and reference implementations of k-medoids, k-means and k-median."""

from importlib.metadata import PackageNotFoundError, version

from .result import ClusteringResult

try:
    __version__ = version("kmbench")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["ClusteringResult", "KMedoids", "__version__"]


def __getattr__(name: str):
    """Lazy exports: ``bench_core.KMedoids`` imports scikit-learn only when used."""
    if name == "KMedoids":
        from .algorithms.estimator import KMedoids

        return KMedoids
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
