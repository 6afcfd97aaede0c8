"""Named data sets, each with a checksum of its array recorded with every result."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import synthetic
from .mnist import load_mnist


def array_checksum(a: np.ndarray) -> str:
    """sha256 (first 16 hex digits) of dtype, shape and the bytes of ``a``."""
    a = np.ascontiguousarray(a)
    h = hashlib.sha256()
    h.update(f"{a.dtype.str}{a.shape}".encode())
    h.update(memoryview(a).cast("B"))
    return h.hexdigest()[:16]


@dataclass
class Dataset:
    """Points ``X`` (or a precomputed ``diss``), optional labels ``y`` and provenance."""

    name: str
    X: np.ndarray | None
    y: np.ndarray | None = None
    diss: np.ndarray | None = None
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    _checksum: str | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return int((self.X if self.X is not None else self.diss).shape[0])

    @property
    def checksum(self) -> str:
        if self._checksum is None:
            self._checksum = array_checksum(self.X if self.X is not None else self.diss)
        return self._checksum

    def info(self) -> dict[str, Any]:
        shape = (self.X if self.X is not None else self.diss).shape
        return {"name": self.name, "n": self.n, "shape": list(shape), "kind": "points" if self.X is not None else "dissimilarity",
                "dtype": str((self.X if self.X is not None else self.diss).dtype),
                "n_classes": int(len(np.unique(self.y[self.y >= 0]))) if self.y is not None else None,
                "checksum": self.checksum, "params": self.params, "description": self.description}


def _sklearn(loader_name: str) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    def load(**_: Any):
        import sklearn.datasets as skd

        bunch = getattr(skd, loader_name)()
        return bunch.data.astype(np.float64), bunch.target.astype(np.int64)
    return load


# name -> (loader(**params) -> (X, y), description, default params)
_CATALOG: dict[str, tuple[Callable[..., Any], str, dict[str, Any]]] = {
    "mnist": (lambda n=None, source=None, **_: load_mnist(n, source=source),
              "MNIST test set bundled in datasets/mnist (10,000 x 784, pixel values 0..255)", {}),
    "blobs": (synthetic.make_blobs, "Gaussian blobs (seeded)", {"n": 1000, "d": 2, "k": 5, "spread": 1.0}),
    "blobs-outliers": (synthetic.make_blobs_outliers, "Gaussian blobs plus far uniform outliers (label -1)",
                       {"n": 1000, "d": 2, "k": 5, "outlier_fraction": 0.05}),
    "student-t": (synthetic.make_student_t, "heavy-tailed Student-t clusters", {"n": 1000, "d": 2, "k": 5, "df": 2.0}),
    "tutorial3": (synthetic.make_tutorial3, "3 clusters at (0,0), (4,0), (2,4)", {"n": 300}),
    "elbow4": (synthetic.make_elbow4, "4 clusters at the corners of a 6x6 square (elbow example)", {"n": 400}),
    "digits": (_sklearn("load_digits"), "scikit-learn digits (1,797 x 64)", {}),
    "iris": (_sklearn("load_iris"), "scikit-learn iris (150 x 4)", {}),
    "wine": (_sklearn("load_wine"), "scikit-learn wine (178 x 13)", {}),
}

SEEDED = {"blobs", "blobs-outliers", "student-t", "tutorial3", "elbow4"}


def list_datasets() -> dict[str, str]:
    return {name: desc for name, (_, desc, _) in _CATALOG.items()} | {
        "file:PATH": "points from a .npy or .csv file (rows are points)",
        "diss:PATH": "a precomputed dissimilarity matrix from a .npy file",
    }


def load_points_file(path: str | Path) -> np.ndarray:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data file {path} does not exist")
    if path.suffix == ".npy":
        X = np.load(path, allow_pickle=False)
    elif path.suffix in (".csv", ".txt"):
        X = np.loadtxt(path, delimiter="," if path.suffix == ".csv" else None, ndmin=2)
    else:
        raise ValueError(f"unsupported data file {path.name}: expected .npy or .csv")
    if X.ndim != 2:
        raise ValueError(f"{path} holds an array of shape {X.shape}; expected (n_samples, n_features)")
    return X


def get_dataset(name: str, n: int | None = None, *, seed: int = 0, dtype=np.float64, **params: Any) -> Dataset:
    """Load a data set by name (see :func:`list_datasets`), first ``n`` rows.

    Synthetic sets are generated with ``n`` rows and ``seed``; real sets are
    truncated to their first ``n`` rows.
    """
    if name.startswith("file:"):
        X = load_points_file(name[5:])
        if n is not None:
            X = X[:n]
        return Dataset(name, np.ascontiguousarray(X, dtype=dtype), None, description=f"points from {name[5:]}")
    if name.startswith("diss:"):
        D = np.load(name[5:], mmap_mode="r", allow_pickle=False)
        if D.ndim != 2 or D.shape[0] != D.shape[1]:
            raise ValueError(f"{name[5:]} holds shape {D.shape}; expected a square dissimilarity matrix")
        if n is not None:
            D = np.ascontiguousarray(D[:n, :n])
        return Dataset(name, None, None, diss=D, description=f"dissimilarity matrix from {name[5:]}")
    if name not in _CATALOG:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(list_datasets())}")
    loader, desc, defaults = _CATALOG[name]
    kw = dict(defaults) | params
    if name in SEEDED:
        if n is not None:
            kw["n"] = n
        X, y = loader(seed=seed, **kw)
    elif name == "mnist":
        X, y = loader(n=n, **kw)
    else:
        X, y = loader(**kw)
        if n is not None:
            if n > len(X):
                raise ValueError(f"n={n} is out of range; {name} has {len(X)} rows")
            X, y = X[:n], y[:n]
    if name in SEEDED:
        kw["seed"] = seed
    return Dataset(name, np.ascontiguousarray(X, dtype=dtype), np.asarray(y), description=desc, params=kw)
