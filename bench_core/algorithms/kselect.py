"""Choosing k for k-means, k-median and k-medoids: elbow, silhouette sweep, gap statistic.

Every function clusters the data for each k in ``ks`` with ``method`` (``"kmeans"``,
``"kmedian"`` or ``"kmedoids"``, the last by FasterPAM on a dissimilarity matrix), keeps
the best of ``n_init`` seeded runs, and returns a :class:`KSelection`: the per-k table
and the suggested k. Everything random is drawn from ``random_state``.

* :func:`elbow`: the loss for each k and its knee, the point of the loss curve farthest
  from the chord joining its ends once both axes are scaled to [0, 1] (the "Kneedle"
  idea of Satopaa et al. 2011 for a decreasing convex curve).
* :func:`silhouette_sweep`: the average silhouette (Rousseeuw 1987) for each k >= 2 in
  the method's own metric (Euclidean for k-means, L1 for k-median, the given
  dissimilarity for k-medoids); the suggestion is the maximum.
* :func:`gap_statistic` (Tibshirani, Walther & Hastie 2001): ``Gap(k) = E*[log W*_k] -
  log W_k`` with ``W_k`` the loss (within-cluster sum of squares for k-means, of
  distances for k-median and k-medoids) and ``E*`` the mean over ``B`` reference sets
  drawn uniformly in the bounding box of the data; the suggestion is the smallest k with
  ``Gap(k) >= Gap(k+1) - s_{k+1}``, ``s = sd * sqrt(1 + 1/B)`` (the largest gap if none);
  taking the *first* such k, it may stop at the coarser level of nested structure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..input_checks import check_choice, check_diss, check_points, check_positive_int

METHODS = ("kmeans", "kmedian", "kmedoids")
METRIC = {"kmeans": "euclidean", "kmedian": "manhattan"}


@dataclass
class KSelection:
    """Outcome of a k-selection rule: ``table`` has one row (a dict) per k."""

    criterion: str
    method: str
    k: int
    table: list[dict] = field(default_factory=list)

    def column(self, name: str) -> np.ndarray:
        return np.array([row[name] for row in self.table])


def _ks(ks: Iterable[int], n: int, minimum: int) -> list[int]:
    ks = sorted({check_positive_int(int(k), name="k", minimum=minimum) for k in ks})
    if not ks:
        raise ValueError("ks is empty; expected at least one number of clusters")
    if ks[-1] > n:
        raise ValueError(f"k={ks[-1]} is out of range; expected k <= n = {n}")
    return ks


def _inputs(X, diss, method: str, metric: str | None):
    check_choice(method, METHODS, name="method")
    if X is None and diss is None:
        raise ValueError("give the points X or (for k-medoids) a dissimilarity matrix diss")
    if method != "kmedoids" and X is None:
        raise ValueError(f"method {method!r} needs the points X")
    X = None if X is None else check_points(X)
    if diss is not None:
        diss = check_diss(diss)
    metric = metric or METRIC.get(method, "euclidean")
    return X, diss, metric


def _fasterpam(diss: np.ndarray, k: int, seed: int):
    """(loss, labels) of FasterPAM from random medoids: ours, else the kmedoids package."""
    try:
        from .pam import fasterpam
    except ImportError:
        import kmedoids

        r = kmedoids.fasterpam(diss, k, init="random", random_state=seed)
        return float(r.loss), np.asarray(r.labels, dtype=np.int64)
    r = fasterpam(diss, k, init="random", random_state=seed)
    return float(r.loss), np.asarray(r.labels, dtype=np.int64)


def cluster(method: str, k: int, *, X=None, diss=None, seed: int = 0, n_init: int = 1):
    """(loss, labels) of the best of ``n_init`` seeded runs of ``method`` with k clusters."""
    rng = np.random.default_rng(seed)
    best = None
    for s in rng.integers(0, 2**31 - 1, size=n_init):
        if method == "kmeans":
            from .kmeans import kmeans

            r = kmeans(X, k, random_state=int(s))
            cur = (r.loss, r.labels)
        elif method == "kmedian":
            from .kmedian import kmedian

            r = kmedian(X, k, random_state=int(s))
            cur = (r.loss, r.labels)
        else:
            cur = _fasterpam(diss, k, int(s))
        if best is None or cur[0] < best[0]:
            best = cur
    return best


def _diss_of(X, diss, metric):
    if diss is not None:
        return diss
    from ..dissimilarity import dissimilarity

    return dissimilarity(X, metric, np.float64)


def knee(ks, losses) -> int:
    """The k of the point farthest below the chord of the scaled (k, loss) curve."""
    ks = np.asarray(ks, dtype=float)
    y = np.asarray(losses, dtype=float)
    if len(ks) < 3:
        return int(ks[0])
    xs = (ks - ks[0]) / (ks[-1] - ks[0])
    span = y[0] - y[-1]
    ys = (y - y[-1]) / span if span > 0 else np.zeros_like(y)
    # chord from (0, 1) to (1, 0): y = 1 - x; distance below it is (1 - x) - y
    return int(ks[int(np.argmax((1.0 - xs) - ys))])


def elbow(X=None, ks: Iterable[int] = range(1, 11), *, method: str = "kmeans", diss=None,
          metric: str | None = None, random_state: int = 0, n_init: int = 3) -> KSelection:
    """Loss for each k and the knee of the curve."""
    X, diss, metric = _inputs(X, diss, method, metric)
    n = (X if X is not None else diss).shape[0]
    ks = _ks(ks, n, 1)
    if method == "kmedoids":
        diss = _diss_of(X, diss, metric)
    table = []
    for k in ks:
        loss, _ = cluster(method, k, X=X, diss=diss, seed=random_state + k, n_init=n_init)
        table.append({"k": k, "loss": loss})
    best = knee(ks, [r["loss"] for r in table])
    return KSelection("elbow", method, best, table)


def silhouette_of(diss: np.ndarray, labels: np.ndarray) -> float:
    """Average silhouette: bench_core's kernel, else scikit-learn's."""
    try:
        from .silhouette import silhouette
    except ImportError:
        from sklearn.metrics import silhouette_score

        return float(silhouette_score(diss, labels, metric="precomputed"))
    return float(silhouette(diss, labels))


def silhouette_sweep(X=None, ks: Iterable[int] = range(2, 11), *, method: str = "kmeans",
                     diss=None, metric: str | None = None, random_state: int = 0,
                     n_init: int = 3) -> KSelection:
    """Average silhouette for each k >= 2; the suggestion is the maximum."""
    X, diss, metric = _inputs(X, diss, method, metric)
    n = (X if X is not None else diss).shape[0]
    ks = _ks(ks, n, 2)
    D = _diss_of(X, diss, metric)
    table = []
    for k in ks:
        loss, labels = cluster(method, k, X=X, diss=D, seed=random_state + k, n_init=n_init)
        table.append({"k": k, "loss": loss, "silhouette": silhouette_of(D, labels)})
    best = max(table, key=lambda r: r["silhouette"])["k"]
    return KSelection("silhouette", method, int(best), table)


def gap_statistic(X, ks: Iterable[int] = range(1, 11), *, method: str = "kmeans", B: int = 10,
                  metric: str | None = None, random_state: int = 0, n_init: int = 3) -> KSelection:
    """Gap statistic with ``B`` seeded uniform reference sets (needs the points X)."""
    if X is None:
        raise ValueError("the gap statistic needs the points X to draw reference data")
    X, _, metric = _inputs(X, None, method, metric)
    B = check_positive_int(B, name="B")
    ks = _ks(ks, X.shape[0], 1)
    lo, hi = X.min(axis=0), X.max(axis=0)
    rng = np.random.default_rng(random_state)
    refs = [rng.uniform(lo, hi, size=X.shape) for _ in range(B)]
    ref_diss = [None] * B
    diss = None
    if method == "kmedoids":
        diss = _diss_of(X, None, metric)
        ref_diss = [_diss_of(R, None, metric) for R in refs]
    table = []
    for k in ks:
        loss, _ = cluster(method, k, X=X, diss=diss, seed=random_state + k, n_init=n_init)
        logw = np.log(loss) if loss > 0 else -np.inf
        ref = np.array([np.log(cluster(method, k, X=R, diss=Rd, seed=random_state + 7919 * (b + 1) + k,
                                       n_init=n_init)[0])
                        for b, (R, Rd) in enumerate(zip(refs, ref_diss, strict=True))])
        gap = float(ref.mean() - logw)
        sk = float(ref.std() * np.sqrt(1.0 + 1.0 / B))
        table.append({"k": k, "loss": loss, "log_w": float(logw), "ref_log_w": float(ref.mean()),
                      "gap": gap, "s": sk})
    best = None
    for a, b in zip(table, table[1:], strict=False):
        if a["gap"] >= b["gap"] - b["s"]:
            best = a["k"]
            break
    if best is None:  # no k satisfies the rule within the range: the largest gap
        best = max(table, key=lambda r: r["gap"])["k"]
    return KSelection("gap", method, int(best), table)
