"""Invariants every clustering result must satisfy, whoever computed it.

:func:`check` recomputes everything from the task's data with plain NumPy (an
oracle independent of the Cython kernels and of the libraries):

* medoids: ``k`` distinct row indices in range (DynMSC: between ``minimum_k`` and
  ``k``); centres: ``k`` finite rows of the data's dimension;
* labels: ``n`` integers in ``0..k-1``; each medoid labelled with its own cluster
  (unless it is at dissimilarity 0 from the medoid it is given to);
* each label is a nearest medoid/centre, ties aside (centres: under
  ``extras["assign_metric"]`` when the library assigns with another metric than
  the objective's);
* the reported loss equals the recomputed objective (relative 1e-9; 1e-6 for
  centres and silhouette values computed from float32 input);
* the number of non-empty clusters (reported; for medoids it must be k).

Objectives: ``kmedoids``/``sampling`` sum of dissimilarities to the medoid;
``msc`` ``1 - medoid silhouette`` (PAMSIL: ``1 - silhouette``); ``silhouette``
family: the value itself; ``kmeans`` sum of squared Euclidean distances;
``kmedian`` sum of L1 distances (or ``extras["objective"]``).

A violation is reported with the implementation's name; :func:`assert_valid`
raises :class:`InvariantViolation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import families
from .registry import Task
from .result import ClusteringResult

MAX_LISTED = 5


class InvariantViolation(AssertionError):
    """A result breaks an invariant; the message names the implementation."""


@dataclass
class InvariantReport:
    name: str
    violations: list[str] = field(default_factory=list)
    n_nonempty: int | None = None
    recomputed_loss: float | None = None

    @property
    def ok(self) -> bool:
        return not self.violations

    def __str__(self) -> str:
        if self.ok:
            return f"{self.name}: all invariants hold"
        return f"{self.name}: " + "; ".join(self.violations)


# ------------------------------------------------------------------ oracles

def _metric_rows(X: np.ndarray, C: np.ndarray, metric: str) -> np.ndarray:
    """(k, n) distances of the rows of C to the points X, from the differences, in float64."""
    Xd = np.asarray(X, dtype=np.float64)
    out = np.empty((len(C), len(Xd)))
    for j, c in enumerate(np.asarray(C, dtype=np.float64)):
        diff = Xd - c
        if metric == "manhattan":
            out[j] = np.abs(diff).sum(axis=1)
        elif metric in ("sqeuclidean", "euclidean"):
            out[j] = np.einsum("ij,ij->i", diff, diff)
            if metric == "euclidean":
                np.sqrt(out[j], out=out[j])
        elif metric == "cosine":
            out[j] = np.maximum(1.0 - (Xd @ c) / (np.linalg.norm(Xd, axis=1) * np.linalg.norm(c)), 0.0)
        else:
            raise ValueError(f"unknown metric {metric!r}")
    return out


def silhouette_oracle(diss: np.ndarray, labels: np.ndarray) -> float:
    """Average silhouette (Rousseeuw 1987) from the definition; singletons score 0, one cluster 0."""
    D = np.asarray(diss, dtype=np.float64)
    n = D.shape[0]
    ids, lab, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if len(ids) < 2:
        return 0.0
    sums = np.stack([D[:, lab == c].sum(axis=1) for c in range(len(ids))], axis=1)  # (n, kc)
    own = counts[lab]
    a = np.where(own > 1, sums[np.arange(n), lab] / np.maximum(own - 1, 1), 0.0)
    mean = sums / counts[None, :]
    mean[np.arange(n), lab] = np.inf
    b = mean.min(axis=1)
    denom = np.maximum(a, b)
    s = np.where((own > 1) & (denom > 0), (b - a) / np.where(denom > 0, denom, 1.0), 0.0)
    return float(s.mean())


def medoid_silhouette_oracle(rows: np.ndarray) -> float:
    """Average of 1 - a/b from the (k, n) medoid rows (a = 0 scores 1; one medoid gives 1)."""
    R = np.asarray(rows, dtype=np.float64)
    if R.shape[0] < 2:
        return 1.0
    two = np.partition(R, 1, axis=0)[:2]
    a, b = two[0], two[1]
    s = np.where(a == 0, 1.0, 1.0 - a / np.where(b > 0, b, 1.0))
    return float(s.mean())


def _close(x: float, y: float, rtol: float) -> bool:
    return bool(np.isfinite(x) and np.isfinite(y) and abs(x - y) <= rtol * max(abs(x), abs(y)) + 1e-12)


# ------------------------------------------------------------------- checks

def _entry_info(name: str | None, family: str | None, algorithm: str | None) -> tuple[str, str, str]:
    if name and (family is None or algorithm is None):
        from . import registry

        try:
            e = registry.get(name)
            family = family or e.family
            algorithm = algorithm or e.algorithm
        except KeyError:
            pass
    if algorithm is None and name and "/" in name:
        algorithm = name.split("/", 1)[0]
    return name or "result", family or "kmedoids", algorithm or ""


def check(result: ClusteringResult, task: Task, name: str | None = None, *,
          family: str | None = None, algorithm: str | None = None) -> InvariantReport:
    """Check ``result`` of ``name`` (a registry name; family/algorithm looked up there) on ``task``."""
    name, family, algorithm = _entry_info(name, family, algorithm)
    rep = InvariantReport(name)
    try:
        if result.medoids is not None:
            _check_medoids(result, task, family, algorithm, rep)
        elif result.centers is not None:
            _check_centers(result, task, family, algorithm, rep)
        else:
            rep.violations.append("result has neither medoids nor centres")
    except Exception as exc:  # a malformed result must be reported, not crash the checker
        rep.violations.append(f"could not be checked: {type(exc).__name__}: {exc}")
    return rep


def assert_valid(result: ClusteringResult, task: Task, name: str | None = None, **kw: Any) -> InvariantReport:
    rep = check(result, task, name, **kw)
    if not rep.ok:
        raise InvariantViolation(str(rep))
    return rep


def _check_labels(labels, n: int, k: int, rep: InvariantReport) -> np.ndarray | None:
    lab = np.asarray(labels)
    if lab.ndim != 1 or len(lab) != n:
        rep.violations.append(f"labels have shape {lab.shape}, expected ({n},)")
        return None
    if lab.dtype.kind not in "iu":
        rep.violations.append(f"labels have dtype {lab.dtype}, expected integers")
        return None
    bad = np.flatnonzero((lab < 0) | (lab >= k))
    if len(bad):
        rep.violations.append(f"{len(bad)} labels outside 0..{k - 1} (points {bad[:MAX_LISTED].tolist()})")
        return None
    return lab.astype(np.int64)


def _check_medoids(res: ClusteringResult, task: Task, family: str, algorithm: str, rep: InvariantReport) -> None:
    n = task.n
    med = np.asarray(res.medoids)
    if med.ndim != 1 or med.dtype.kind not in "iu":
        rep.violations.append(f"medoids must be a 1-D integer array, got {med.dtype} {med.shape}")
        return
    med = med.astype(np.int64)
    k = len(med)
    fam = families.family(family)
    lo, hi = fam.k_range(task.k, algorithm, task.options)
    if not lo <= k <= hi:
        rep.violations.append(f"{k} medoids for k = {task.k}" if lo == hi else
                              f"{k} medoids, expected between {lo} and k={hi}")
    out = med[(med < 0) | (med >= n)]
    if len(out):
        rep.violations.append(f"medoids out of range 0..{n - 1}: {out[:MAX_LISTED].tolist()}")
        return
    if len(np.unique(med)) != k:
        u, c = np.unique(med, return_counts=True)
        rep.violations.append(f"repeated medoids {u[c > 1][:MAX_LISTED].tolist()}")
    lab = _check_labels(res.labels, n, k, rep)
    if task.diss is not None:
        rows = np.asarray(task.diss[med], dtype=np.float64)
    elif task.X is not None:
        rows = _metric_rows(task.X, np.asarray(task.X)[med], task.metric)
    else:
        rep.violations.append("task has neither diss nor X")
        return
    if lab is None:
        return
    cols = np.arange(n)
    assigned = rows[lab, cols]
    # each medoid in its own cluster (ties: the medoid is at 0 from the one it is given to)
    wrong = np.flatnonzero((lab[med] != np.arange(k)) & (assigned[med] > rows[np.arange(k), med]))
    if len(wrong):
        rep.violations.append(f"{len(wrong)} medoids not labelled with their own cluster "
                              f"(medoid positions {wrong[:MAX_LISTED].tolist()})")
    best = rows.min(axis=0)
    far = np.flatnonzero(assigned > best + 1e-12 * np.maximum(best, 1.0))
    if len(far):
        rep.violations.append(f"{len(far)} points not labelled with a nearest medoid "
                              f"(points {far[:MAX_LISTED].tolist()}, worst excess {float((assigned - best).max()):.6g})")
    rep.n_nonempty = int(len(np.unique(lab)))
    if rep.n_nonempty != k:
        rep.violations.append(f"{k - rep.n_nonempty} empty clusters")
    # the objective
    value = fam.loss(rows, lab, algorithm=algorithm, diss=task.diss)
    rep.recomputed_loss = value
    f32 = task.diss is not None and np.asarray(task.diss).dtype == np.float32
    if not _close(float(res.loss), value, max(1e-9, fam.tolerance("float32" if f32 else "float64"))):
        rep.violations.append(f"reported loss {res.loss!r} != recomputed {value!r}")


def _check_centers(res: ClusteringResult, task: Task, family: str, algorithm: str, rep: InvariantReport) -> None:
    if task.X is None:
        rep.violations.append("a result with centres needs task.X to be checked")
        return
    X = np.asarray(task.X)
    n, d = X.shape
    C = np.asarray(res.centers, dtype=np.float64)
    if C.ndim != 2 or C.shape[1] != d:
        rep.violations.append(f"centres have shape {C.shape}, expected (k, {d})")
        return
    if not np.isfinite(C).all():
        rep.violations.append("centres contain NaN or infinite values")
        return
    k = len(C)
    if k != task.k:
        rep.violations.append(f"{k} centres for k = {task.k}")
    lab = _check_labels(res.labels, n, k, rep)
    if lab is None:
        return
    objective = res.extras.get("objective") or families.family(family).center_metric
    assign = res.extras.get("assign_metric", objective)
    f32 = X.dtype == np.float32
    rtol = 1e-5 if f32 else 1e-9
    rows = _metric_rows(X, C, assign)
    assigned = rows[lab, np.arange(n)]
    best = rows.min(axis=0)
    far = np.flatnonzero(assigned > best + rtol * np.maximum(best, 1e-300) + 1e-12)
    if len(far):
        rep.violations.append(f"{len(far)} points not labelled with a nearest centre under {assign} "
                              f"(points {far[:MAX_LISTED].tolist()})")
    rep.n_nonempty = int(len(np.unique(lab)))
    obj_rows = rows if assign == objective else _metric_rows(X, C, objective)
    value = float(obj_rows[lab, np.arange(n)].sum())
    rep.recomputed_loss = value
    if not _close(float(res.loss), value, 1e-6 if f32 else 1e-9):
        rep.violations.append(f"reported loss {res.loss!r} != recomputed {value!r}")
