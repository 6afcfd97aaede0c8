"""Reference implementations (Cython kernels, Python drivers)."""

from .assignment import assign, loss
from .init import initial_medoids
from .pam import alternating, build, fasterpam, fastpam1, pam

__all__ = ["alternating", "assign", "build", "fasterpam", "fastpam1", "initial_medoids", "loss",
           "pam", "KMedoids"]


def __getattr__(name: str):
    if name == "KMedoids":  # lazy: scikit-learn is imported only when the estimator is used
        from .estimator import KMedoids

        return KMedoids
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
