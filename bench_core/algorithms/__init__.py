"""Reference implementations (Cython kernels, Python drivers)."""

from .assignment import assign, loss

__all__ = ["assign", "loss"]
