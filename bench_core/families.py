"""The families of algorithms, as objects: input, start, objective, tolerance.

A family says what every implementation in it needs (a dissimilarity matrix or
points), how it is started (from medoids, from centres, or from nothing but the
seed), what it minimises (the loss that the harness recomputes and the
invariants check), and how close two results must be to count as identical.
Per-algorithm facts (default start, options, size limits of the grids) live on
the registry entry. This is the only module that tells families or
algorithms apart by name.

Families: ``kmedoids`` (PAM family, total deviation), ``msc`` (medoid
silhouette clustering: ``1 - medoid silhouette``, PAMSIL ``1 - silhouette``),
``sampling`` (CLARA/CLARANS from points, total deviation), ``kmeans`` (sum of
squared Euclidean distances to centres), ``kmedian`` (sum of L1 distances to
centres), ``silhouette`` (evaluations of a given clustering, not clusterings).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .result import ClusteringResult


@dataclass(frozen=True)
class Family:
    """One family of algorithms.

    Attributes
    ----------
    name : str
        The registry's ``family=`` value.
    title : str
        Heading in reports.
    input : {"diss", "points"}
        What its reference implementations need.
    start : {"medoids", "centers", "none"}
        What the harness hands every implementation of the family as the start.
    clustering : bool
        Whether it produces clusterings (run by ``--algorithms all``) or
        evaluates given ones.
    total_deviation : bool
        Whether the loss is the sum of dissimilarities to the medoids (the
        JOSS table's "average loss").
    objective : str
        What the loss is, in words.
    rtol, rtol_float32 : float
        Relative loss tolerance for "identical" results from float64 and from
        float32 data.
    """

    name: str
    title: str
    input: str
    start: str
    clustering: bool
    total_deviation: bool
    objective: str
    rtol: float = 1e-12
    rtol_float32: float = 1e-12
    center_metric: str = "sqeuclidean"
    _loss: Callable[..., float] | None = None

    def loss(self, rows: np.ndarray, labels: np.ndarray, *, algorithm: str = "", diss=None) -> float:
        """The objective of ``labels`` given the (k, n) dissimilarities of the medoids/centres.

        ``diss`` (the full matrix) is needed only by silhouette objectives.
        """
        assigned = rows[labels, np.arange(rows.shape[1])]
        if self._loss is None:
            return float(assigned.sum(dtype=np.float64))
        return float(self._loss(rows, labels, assigned, algorithm, diss))

    def k_range(self, k: int, algorithm: str, options: dict) -> tuple[int, int]:
        """How many medoids a result may have for ``k`` (DynMSC chooses between ``minimum_k`` and k)."""
        if algorithm == "dynmsc":
            return int(options.get("minimum_k", 2)), k
        return k, k

    def tolerance(self, dtype: str) -> float:
        """Relative tolerance of "identical" losses for data of ``dtype``."""
        return self.rtol_float32 if str(dtype) == "float32" else self.rtol

    def task_inputs(self, *, diss, X, start: np.ndarray | None) -> dict:
        """The :class:`~bench_core.registry.Task` fields of this family for a start (row indices)."""
        if self.start == "centers":
            return {"X": X, "centers": None if start is None else np.asarray(X[start], dtype=np.float64)}
        if self.input == "points":
            return {"X": X}
        return {"diss": diss, "medoids": start}


def _msc_loss(rows, labels, assigned, algorithm, diss) -> float:
    from .invariants import medoid_silhouette_oracle, silhouette_oracle

    if algorithm == "pamsil":
        return 1.0 - silhouette_oracle(diss, labels)
    return 1.0 - medoid_silhouette_oracle(rows)


def _silhouette_loss(rows, labels, assigned, algorithm, diss) -> float:
    from .invariants import medoid_silhouette_oracle, silhouette_oracle

    if algorithm == "silhouette":
        return silhouette_oracle(diss, labels)
    return medoid_silhouette_oracle(rows)


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("kmedoids", "k-medoids: the PAM family", "diss", "medoids", True, True,
           "sum of dissimilarities to the nearest medoid"),
    Family("msc", "Medoid silhouette clustering", "diss", "medoids", True, False,
           "1 - medoid silhouette (PAMSIL: 1 - silhouette)", _loss=_msc_loss),
    Family("sampling", "Sampling: CLARA and CLARANS", "points", "none", True, True,
           "sum of dissimilarities to the nearest medoid, over all points"),
    Family("kmeans", "k-means", "points", "centers", True, False,
           "sum of squared Euclidean distances to the nearest centre", rtol_float32=1e-6),
    Family("kmedian", "k-median", "points", "centers", True, False,
           "sum of L1 distances to the nearest centre", rtol_float32=1e-6, center_metric="manhattan"),
    Family("silhouette", "Silhouette evaluation", "diss", "medoids", False, False,
           "the silhouette (or medoid silhouette) of the given medoids' clustering",
           rtol_float32=1e-6, _loss=_silhouette_loss),
)}


def family(name: str) -> Family:
    """The family called ``name``; a clear error for an unknown one."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown family {name!r}; expected one of {', '.join(FAMILIES)}") from None


def clustering_families() -> tuple[str, ...]:
    """Families that produce clusterings (what ``--algorithms all`` runs)."""
    return tuple(f.name for f in FAMILIES.values() if f.clustering)


def normalise(result, *, family_name: str, algorithm: str, diss=None, X=None, metric: str = "euclidean"
              ) -> ClusteringResult:
    """A plug-in's answer as a :class:`~bench_core.result.ClusteringResult`, loss recomputed.

    ``result`` may be a ClusteringResult (kept, loss recomputed when missing), or
    plain arrays: a dict with ``labels`` and ``medoids`` or ``centers`` (and
    optionally ``loss``, ``n_iter``, ``n_swap``), or a tuple ``(labels, medoids)``.
    The plug-in's own loss is kept in ``extras["library_loss"]``.
    """
    from .adapters._common import center_result, medoid_result, medoid_result_points

    fam = family(family_name)
    if isinstance(result, ClusteringResult):
        return result
    if isinstance(result, tuple) and len(result) == 2:
        key = "centers" if fam.start == "centers" else "medoids"
        result = {"labels": result[0], key: result[1]}
    if not isinstance(result, dict):
        raise TypeError(f"a runnable must return a ClusteringResult, a dict or a (labels, medoids) tuple; "
                        f"got {type(result).__name__}")
    unknown = set(result) - {"labels", "medoids", "centers", "loss", "n_iter", "n_swap", "converged", "extras"}
    if unknown:
        raise ValueError(f"unknown result fields {sorted(unknown)}; expected labels, medoids or centers, "
                         "loss, n_iter, n_swap, converged, extras")
    common = {"library_loss": result.get("loss"), "n_iter": result.get("n_iter", 0),
              "converged": result.get("converged"), "extras": result.get("extras")}
    labels = result.get("labels")
    if labels is not None:
        labels = np.asarray(labels)
        n = (diss if diss is not None else X).shape[0]
        if labels.ndim != 1 or len(labels) != n:
            raise ValueError(f"labels have shape {labels.shape}; expected ({n},)")
    if result.get("medoids") is not None:
        med = np.asarray(result["medoids"])
        if med.ndim != 1 or med.dtype.kind not in "iu":
            raise ValueError(f"medoids must be a 1-d array of row indices, got {med.dtype} {med.shape}")
        n = (diss if diss is not None else X).shape[0]
        if len(med) and (med.min() < 0 or med.max() >= n):
            raise ValueError(f"medoids must be row indices in 0..{n - 1}")
        if diss is not None:
            res = medoid_result(diss, med, labels, n_swap=result.get("n_swap", 0), **common)
        else:
            res = medoid_result_points(X, metric, med, labels, n_swap=result.get("n_swap", 0), **common)
        if fam._loss is not None:  # silhouette objectives: recompute from the rows
            rows = np.asarray(diss[res.medoids], dtype=np.float64) if diss is not None else None
            if rows is not None:
                res.loss = fam.loss(rows, res.labels, algorithm=algorithm, diss=diss)
        return res
    if result.get("centers") is not None:
        if X is None:
            raise ValueError("a result with centres needs the points")
        objective = fam.center_metric
        C = np.asarray(result["centers"], dtype=np.float64)
        if C.ndim != 2 or C.shape[1] != X.shape[1]:
            raise ValueError(f"centers have shape {C.shape}; expected (k, {X.shape[1]})")
        return center_result(X, C, labels, objective=objective, **common)
    raise ValueError("a result needs medoids or centers (and labels)")
