"""Reference implementations (Cython kernels, Python drivers)."""

from .assignment import assign, loss
from .init import initial_medoids

# The PAM family lives in the submodule ``pam`` (``from bench_core.algorithms import pam``);
# its functions are not re-exported here, where ``pam`` would shadow the module.
__all__ = ["assign", "initial_medoids", "loss", "KMedoids"]


def __getattr__(name: str):
    if name == "KMedoids":  # lazy: scikit-learn is imported only when the estimator is used
        from .estimator import KMedoids

        return KMedoids
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
