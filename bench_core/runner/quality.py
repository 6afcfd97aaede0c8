"""Quality scores of a run beside its loss: the silhouette and the medoid silhouette.

Computed in the parent, outside the timed region, from the group's distance
matrix with the reference kernels (skipped above ``max_n``: O(n^2) work).
Registered metrics (:mod:`bench_core.metrics`) are evaluated in the worker.
"""

from __future__ import annotations

import hashlib

import numpy as np

_SIL_CACHE: dict[tuple, tuple[float | None, float | None, str]] = {}


def quality(D: np.ndarray | None, labels: np.ndarray | None, medoids: np.ndarray | None,
            max_n: int) -> tuple[float | None, float | None, str]:
    """(silhouette, medoid silhouette, note) of a clustering; skipped above ``max_n`` (O(n^2))."""
    from ..algorithms.silhouette import medoid_silhouette, silhouette

    if D is None or labels is None:
        return None, None, "no distance matrix" if D is None else "no labels"
    n = D.shape[0]
    key = (id(D), n, max_n, hashlib.sha1(labels.tobytes()).hexdigest(),
           None if medoids is None else medoids.tobytes())
    if key in _SIL_CACHE:
        return _SIL_CACHE[key]
    notes = []
    sil = msil = None
    n_labels = len(np.unique(labels))
    if n > max_n:
        notes.append(f"silhouette skipped: n={n} > {max_n}")
    elif not 2 <= n_labels <= n - 1:
        notes.append(f"silhouette undefined for {n_labels} clusters")
    else:
        try:
            sil = float(silhouette(D, labels))
        except Exception as exc:
            notes.append(f"silhouette failed: {type(exc).__name__}: {exc}")
    if medoids is None:
        notes.append("no medoids (centres): medoid silhouette undefined")
    else:
        try:
            msil = float(medoid_silhouette(D, medoids))
        except Exception as exc:
            notes.append(f"medoid silhouette failed: {type(exc).__name__}: {exc}")
    out = (sil, msil, "; ".join(notes))
    if len(_SIL_CACHE) > 10000:
        _SIL_CACHE.clear()
    _SIL_CACHE[key] = out
    return out
