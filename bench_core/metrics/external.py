"""External validity of a clustering against reference partitions: ARI, AMI and NCA.

The scores follow the rules of the clustering benchmark suite (Gagolewski, 2022,
SoftwareX 20:101270, "Methodology"):

- points marked as noise in the reference (label ``Dataset.noise_label``, 0 in the suite;
  negative labels in kmbench's own generators) are left out of the comparison;
- a data set may have several reference partitions; a k-partition is compared with the
  references that have k clusters, and the best score over them is kept. When no
  reference has k clusters (a run at another k), ARI and AMI are the best over all
  references and NCA, which is defined for k = K only, is None.

Scores are computed with :mod:`genieclust.compare_partitions` from the confusion matrix
(reference clusters in rows, the run's k clusters in columns, empty ones included):

- ``ari``: adjusted Rand index (Hubert & Arabie, 1985, J. Classif. 2:193-218);
- ``ami``: adjusted mutual information, AMI_sum (Vinh, Epps & Bailey, 2010, JMLR 11:2837-2854);
- ``nca``: normalised clustering accuracy (Gagolewski, 2025, J. Classif., "Normalised
  clustering accuracy: an asymmetric external cluster validity measure").

Each is registered as a metric (a column of every results row); runs on data without
labels get None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import register_metric

SCORES = ("ari", "ami", "nca")


def confusion(reference: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Counts ``C[i, j]`` of points in reference cluster ``i`` (sorted labels) and cluster ``j < k``."""
    reference = np.asarray(reference)
    labels = np.asarray(labels, dtype=np.int64)
    if reference.shape != labels.shape:
        raise ValueError(f"reference labels have shape {reference.shape}, the clustering {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"cluster labels must lie in 0..{k - 1}; got {labels.min()}..{labels.max()}")
    values, rows = np.unique(reference, return_inverse=True)
    C = np.zeros((len(values), k), dtype=np.int64)
    np.add.at(C, (rows, labels), 1)
    return C


def _square(C: np.ndarray) -> np.ndarray:
    """``C`` padded with empty rows or columns to a square matrix (ARI and AMI do not change)."""
    m = max(C.shape)
    out = np.zeros((m, m), dtype=C.dtype)
    out[:C.shape[0], :C.shape[1]] = C
    return out


def scores_one(reference: np.ndarray, labels: np.ndarray, k: int, *, noise_label: int | None = None
               ) -> dict[str, float | None]:
    """ARI, AMI and NCA of ``labels`` (``0..k-1``) against one reference partition.

    Points whose reference label is negative or ``noise_label`` are left out. NCA is None
    unless the reference has exactly ``k`` clusters.
    """
    from genieclust.compare_partitions import compare_partitions

    reference = np.asarray(reference)
    keep = reference >= 0
    if noise_label is not None:
        keep &= reference != noise_label
    if not keep.any():
        return dict.fromkeys(SCORES)
    C = confusion(reference[keep], np.asarray(labels)[keep], k)
    K = C.shape[0]
    if K == 1 and k == 1:  # both trivial: identical partitions
        return {"ari": 1.0, "ami": 1.0, "nca": 1.0}
    s = compare_partitions(_square(C))
    nca = None
    if K == k:
        nca = float(s["nca"])
    return {"ari": float(s["ar"]), "ami": float(s["ami"]), "nca": nca}


def scores(labels: np.ndarray, labelings: Sequence[np.ndarray], k: int, *, noise_label: int | None = None
           ) -> dict[str, float | None]:
    """The suite's scores of one k-partition: best over the references with k clusters.

    Falls back to all references for ARI and AMI when none has k clusters (NCA is then None).
    """
    if not labelings:
        return dict.fromkeys(SCORES)

    def n_clusters(ref: np.ndarray) -> int:
        ref = np.asarray(ref)
        keep = ref >= 0 if noise_label is None else (ref >= 0) & (ref != noise_label)
        return int(len(np.unique(ref[keep])))

    same_k = [ref for ref in labelings if n_clusters(ref) == k]
    per_ref = [scores_one(ref, labels, k, noise_label=noise_label) for ref in (same_k or labelings)]
    out: dict[str, float | None] = {}
    for name in SCORES:
        vals = [s[name] for s in per_ref if s[name] is not None]
        out[name] = max(vals) if vals else None
    return out


_CACHE: dict[str, Any] = {"key": None, "value": None}


def _cached(task: Any, result: Any, data: Any) -> dict[str, float | None] | None:
    """The three scores of one run, computed once for the three metric columns."""
    if data is None or result is None or getattr(result, "labels", None) is None:
        return None
    labelings = list(getattr(data, "labelings", None) or [])
    if not labelings:
        return None
    labels = np.asarray(result.labels)
    if len(labelings[0]) != len(labels):
        raise ValueError(f"the run labelled {len(labels)} points but the data set has {len(labelings[0])} reference labels")
    key = (id(result), id(labels), id(data), getattr(task, "k", None))
    if _CACHE["key"] != key:
        k = int(getattr(task, "k", None) or result.k)
        _CACHE["value"] = scores(labels, labelings, k, noise_label=getattr(data, "noise_label", None))
        _CACHE["key"] = key
    return _CACHE["value"]


def ari(task: Any, result: Any, data: Any = None) -> float | None:
    """Adjusted Rand index against the reference partitions (best over them; noise excluded)."""
    s = _cached(task, result, data)
    return None if s is None else s["ari"]


def ami(task: Any, result: Any, data: Any = None) -> float | None:
    """Adjusted mutual information (AMI_sum) against the reference partitions."""
    s = _cached(task, result, data)
    return None if s is None else s["ami"]


def nca(task: Any, result: Any, data: Any = None) -> float | None:
    """Normalised clustering accuracy against the references with k clusters."""
    s = _cached(task, result, data)
    return None if s is None else s["nca"]


def _import_genieclust() -> None:
    """Import genieclust once, before the runs fork: its package imports matplotlib's
    pyplot, 0.4 s that each run's worker would otherwise repeat (measured: half the
    time of ``kmbench reproduce quick``)."""
    import genieclust.compare_partitions  # noqa: F401


register_metric("ari", ari, description="adjusted Rand index vs the reference labels (clustbench rules)",
                prepare=_import_genieclust)
register_metric("ami", ami, description="adjusted mutual information vs the reference labels (clustbench rules)",
                prepare=_import_genieclust)
register_metric("nca", nca, description="normalised clustering accuracy vs the reference labels (clustbench rules)",
                prepare=_import_genieclust)
