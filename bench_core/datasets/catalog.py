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
    #: Every reference partition (``y`` is the first); label 0 may mean noise where
    #: ``noise_label`` says so (the clustering benchmark suite's convention).
    labelings: list[np.ndarray] = field(default_factory=list)
    noise_label: int | None = None
    _checksum: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.y is not None and not self.labelings:
            self.labelings = [np.asarray(self.y)]
        elif self.y is None and self.labelings:
            self.y = self.labelings[0]

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

#: Data sets named ``PREFIX:REST`` (``REST`` is handed to the loader as ``path``),
#: registered with ``register_dataset(..., prefix=True)``.
_PREFIXED: dict[str, tuple[Callable[..., Any], str]] = {}


def register_dataset(name: str, loader: Callable[..., Any], *, description: str = "",
                     defaults: dict[str, Any] | None = None, seeded: bool = False,
                     prefix: bool = False) -> None:
    """Add a data set (in-tree or from a plug-in file).

    Parameters
    ----------
    name : str
        The name users pass to ``--datasets``. With ``prefix=True`` the data set is a
        family named ``name:REST`` (e.g. ``clustbench:fcps/hepta``) and the loader
        receives ``path=REST``.
    loader : callable
        ``loader(n=None, seed=0, **params)`` returning ``(X, y)``, ``X`` alone, a
        :class:`Dataset`, or a dict with ``X`` and/or ``diss`` and optionally ``y``
        (or ``labelings``, a list of reference partitions). It receives ``n`` and
        ``seed`` only when it declares them; otherwise the first ``n`` rows are kept.
    description : str
        One line for ``kmbench datasets``.
    defaults : dict, optional
        Default parameters (``blobs:k=5,d=10`` overrides them).
    seeded : bool
        Whether the loader generates data from ``seed`` (recorded with the rows).
    """
    if not name or any(c in name for c in ":,="):
        raise ValueError(f"data set name {name!r} must be non-empty without ':', ',' or '='")
    if not callable(loader):
        raise TypeError(f"the loader of data set {name!r} must be callable, got {type(loader).__name__}")
    if prefix:
        _PREFIXED[name] = (loader, description)
        return
    if name in _CATALOG and _CATALOG[name][0] is not loader:
        raise ValueError(f"data set {name!r} is already registered")
    _CATALOG[name] = (loader, description, dict(defaults or {}))
    if seeded:
        SEEDED.add(name)


def prefixed_names() -> tuple[str, ...]:
    """The ``PREFIX`` of every data set family named ``PREFIX:REST`` (besides file: and diss:)."""
    return tuple(_PREFIXED)


def list_datasets() -> dict[str, str]:
    return {name: desc for name, (_, desc, _) in _CATALOG.items()} | {
        "file:PATH": "points from a .npy or .csv file (rows are points)",
        "diss:PATH": "a precomputed dissimilarity matrix from a .npy file",
    } | {f"{p}:NAME": desc for p, (_, desc) in _PREFIXED.items()}


def _wants(func: Callable[..., Any], param: str) -> bool:
    import inspect

    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return False
    return param in sig.parameters or any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())


def _as_dataset(name: str, out: Any, n: int | None, dtype, description: str,
                params: dict[str, Any]) -> Dataset:
    """A loader's answer as a :class:`Dataset`, cut to ``n`` rows, with clear errors."""
    if isinstance(out, Dataset):
        ds = out
    else:
        X = y = D = None
        labelings: list[np.ndarray] = []
        if isinstance(out, dict):
            X, D, y = out.get("X"), out.get("diss"), out.get("y")
            labelings = [np.asarray(lab) for lab in out.get("labelings", [])]
        elif isinstance(out, tuple) and len(out) == 2:
            X, y = out
        else:
            X = out
        if X is None and D is None:
            raise ValueError(f"data set {name!r}: the loader returned neither points nor a matrix")
        if X is not None:
            X = np.asarray(X)
            if X.ndim != 2 or not np.issubdtype(X.dtype, np.number):
                raise ValueError(f"data set {name!r}: points must be a 2-d numeric array, got "
                                 f"shape {X.shape} of {X.dtype}")
        if D is not None:
            D = np.asarray(D)
            if D.ndim != 2 or D.shape[0] != D.shape[1]:
                raise ValueError(f"data set {name!r}: the matrix must be square, got shape {D.shape}")
        ds = Dataset(name, X, None if y is None else np.asarray(y), diss=D, description=description,
                     params=params, labelings=labelings)
    total = ds.n
    if n is not None and n != total:
        if n > total:
            raise ValueError(f"n={n} is out of range; {name} has {total} rows")
        ds = Dataset(ds.name, None if ds.X is None else ds.X[:n], None if ds.y is None else ds.y[:n],
                     diss=None if ds.diss is None else np.ascontiguousarray(ds.diss[:n, :n]),
                     description=ds.description, params=ds.params,
                     labelings=[lab[:n] for lab in ds.labelings], noise_label=ds.noise_label)
    if ds.X is not None:
        ds.X = np.ascontiguousarray(ds.X, dtype=dtype)
    return ds


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
    prefix, colon, rest = name.partition(":")
    if colon and prefix in _PREFIXED:
        loader, desc = _PREFIXED[prefix]
        kw = {"path": rest} | params
        if _wants(loader, "seed"):
            kw["seed"] = seed
        if _wants(loader, "n"):
            kw["n"] = n
        return _as_dataset(name, loader(**kw), n, dtype, desc, params)
    if name not in _CATALOG:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(list_datasets())}")
    loader, desc, defaults = _CATALOG[name]
    kw = dict(defaults) | params
    if name in SEEDED:  # generated with n rows from seed
        if n is not None:
            kw["n"] = n
        out = loader(seed=seed, **kw)
        kw["seed"] = seed
    else:
        out = loader(n=n, **kw) if _wants(loader, "n") else loader(**kw)
    return _as_dataset(name, out, n, dtype, desc, kw)
