"""k-medoids for data too large for an n x n matrix: CLARA and CLARANS and their fast variants.

They take the points ``X`` and a metric and compute only the distances they
need, counted in ``extras["distance_computations"]``. Medoids are row indices
of ``X`` and the loss is the sum over *all* n points of the distance to the
nearest medoid.

* :func:`clara` -- Kaufman & Rousseeuw, "Clustering large data sets" (1986) and
  "Finding Groups in Data" ch. 3 (1990): ``samples`` random samples of size
  40 + 2k, PAM (BUILD + SWAP) on each sample's own dissimilarity matrix, every
  point assigned to the sample's medoids, the best total loss kept. Each sample
  after the first contains the best medoids found so far.
* :func:`fastclara` -- Schubert & Rousseeuw, "Faster k-medoids clustering:
  improving the PAM, CLARA, and CLARANS algorithms" (SISAP 2019): the same with
  FastPAM1 on the samples and twice the sample size, 80 + 4k (their
  recommendation, ELKI's default).
* :func:`fasterclara` -- Schubert & Rousseeuw, "Fast and eager k-medoids
  clustering" (Inf. Syst. 101, 2021): FasterPAM (random start) on the samples.
  The paper's point is that FasterPAM makes much larger samples affordable than
  CLARA's 40 + 2k or FastCLARA's 80 + 4k; our default, samples of 400 + 30k
  points, as many as fit a budget of 2 million sampled pairs (at least 1, at
  most 5: 4 samples at k = 10, 1 at k = 100), float32 sample matrices, is our
  own choice, measured on MNIST (README): within 2% of full FasterPAM's loss
  at k = 10 and 100 in under 10% of its time.
* :func:`clarans` -- Ng & Han, "Efficient and effective clustering methods for
  spatial data mining" (VLDB 1994) and TKDE 14(5) 2002: ``numlocal`` random
  restarts; from each, random (medoid, non-medoid) swaps are tried and taken when
  they improve, until ``maxneighbor`` trials in a row fail. Default
  maxneighbor = max(250, 1.25% of k(n - k)).
* :func:`fastclarans` -- Schubert & Rousseeuw (2019): a random non-medoid is
  evaluated against every medoid at once (O(n) for all k swaps, FastPAM1's
  decomposition), the best of the k swaps is taken if it improves. Default
  maxneighbor = max(250, 2.5% of n - k) candidates, twice CLARANS' rate.

Distances between a block of points and a few others are computed with BLAS
(euclidean, squared euclidean, cosine; cancellation repaired as in
:func:`bench_core.dissimilarity.dissimilarity`) or SciPy (manhattan), in float64.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..dissimilarity import METRICS, dissimilarity, finish_block, prepare_rows, squared_block
from ..input_checks import (
    check_choice,
    check_k,
    check_points,
    check_positive_int,
    check_random_state,
)
from ..result import ClusteringResult

_BLOCK_BYTES = 32 << 20


class PointDistances:
    """Distances between rows of ``X`` on demand, counted.

    ``count`` is the number of point-to-point distances computed so far.
    """

    def __init__(self, X: np.ndarray, metric: str):
        self.metric = check_choice(metric, METRICS, name="metric")
        self.count = 0
        self.X, self.norms = prepare_rows(X, metric)

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    def _block(self, rows: slice | np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Distances (len(rows), len(cols)) in float64."""
        A = np.asarray(self.X[rows], dtype=np.float64)
        B = np.asarray(self.X[cols], dtype=np.float64)
        if self.metric == "manhattan":
            from scipy.spatial.distance import cdist

            return cdist(A, B, "cityblock")
        return finish_block(squared_block(A, B, self.norms[rows], self.norms[cols]), self.metric)

    def to(self, cols: np.ndarray) -> np.ndarray:
        """Distances of every point to the points ``cols``: (n, len(cols)), in row blocks."""
        cols = np.asarray(cols, dtype=np.int64)
        n, m = self.n, len(cols)
        out = np.empty((n, m), dtype=np.float64)
        if m == 0:
            return out
        b = max(1, min(n, _BLOCK_BYTES // (8 * (self.X.shape[1] + 2 * m))))
        for i0 in range(0, n, b):
            out[i0:i0 + b] = self._block(slice(i0, i0 + b), cols)
        out[cols, np.arange(m)] = 0.0  # exact zero for the point itself
        self.count += n * m
        return out

    def matrix(self, idx: np.ndarray, dtype=np.float64) -> np.ndarray:
        """The dissimilarity matrix of the points ``idx`` (counted as s(s-1)/2 distances).

        One symmetric BLAS product in ``dtype`` (float32 halves the time), entries
        that lost their digits to cancellation recomputed from the differences
        in float64; exactly symmetric with a zero diagonal.
        """
        idx = np.asarray(idx, dtype=np.int64)
        s = len(idx)
        self.count += s * (s - 1) // 2
        if self.metric == "manhattan":
            return dissimilarity(self.X[idx], "manhattan", dtype)
        rows = self.X[idx]
        A = np.ascontiguousarray(rows, dtype=dtype)
        nrm = self.norms[idx]
        G = finish_block(squared_block(A, A, nrm, nrm, exact=(rows, rows)), self.metric)
        np.fill_diagonal(G, 0)
        return G


def _prepare(X, k, metric) -> tuple[PointDistances, int]:
    check_choice(metric, METRICS, name="metric")
    X = check_points(X)
    k = check_k(k, X.shape[0])
    return PointDistances(X, metric), k


def _nearest(Dk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels (first minimum) and distance to the nearest of the columns of ``Dk``."""
    labels = np.argmin(Dk, axis=1)
    return labels.astype(np.int64), Dk[np.arange(Dk.shape[0]), labels]


def _full_result(dist: PointDistances, medoids: np.ndarray, Dk: np.ndarray, **kw) -> ClusteringResult:
    labels, near = _nearest(Dk)
    labels[medoids] = np.arange(len(medoids))  # a medoid is in its own cluster
    near[medoids] = 0.0
    res = ClusteringResult(loss=float(near.sum()), labels=labels,
                           medoids=np.asarray(medoids, dtype=np.int64), **kw)
    res.extras["distance_computations"] = int(dist.count)
    return res


# ----------------------------------------------------------------------------- CLARA

def _clara(X, k, metric, samples, sample_size, max_iter, init, random_state, keep_medoids,
           method: str, default_size, sample_dtype=np.float64, default_samples=None) -> ClusteringResult:
    from .pam import fasterpam, fastpam1, pam  # the PAM family's drivers

    dist, k = _prepare(X, k, metric)
    n = dist.n
    max_iter = check_positive_int(max_iter, name="max_iter", minimum=0)
    if sample_size is None:
        sample_size = min(n, default_size(k))
    if isinstance(sample_size, bool) or not isinstance(sample_size, numbers.Integral):
        raise ValueError(f"sample_size must be an integer, got {sample_size!r}")
    if sample_size < k + 1:
        raise ValueError(f"sample_size={sample_size} is too small for k={k}; "
                         f"expected at least k + 1 = {k + 1} points per sample")
    if sample_size > n:
        raise ValueError(f"sample_size={sample_size} is larger than n = {n}")
    if samples is None:
        samples = default_samples(sample_size)
    samples = check_positive_int(samples, name="samples")
    run_pam = {"pam": pam, "fastpam1": fastpam1, "fasterpam": fasterpam}[method]
    rng = check_random_state(random_state)
    columns: dict[int, np.ndarray] = {}  # distances of all points to a medoid, reused

    best = None
    best_loss = math.inf
    sample_losses = []
    n_swap = 0
    for _ in range(samples):
        if keep_medoids and best is not None:
            others = np.setdiff1d(np.arange(n), best, assume_unique=False)
            extra = rng.choice(others, sample_size - k, replace=False)
            idx = np.sort(np.concatenate([best, extra]))
        else:
            idx = np.sort(rng.choice(n, sample_size, replace=False))
        D = dist.matrix(idx, sample_dtype)
        res = run_pam(D, k, max_iter=max_iter, init=init, random_state=rng)
        n_swap += res.n_swap
        med = idx[res.medoids]
        new = [m for m in med.tolist() if m not in columns]
        if new:
            Dn = dist.to(np.array(new))
            for j, m in enumerate(new):
                columns[m] = Dn[:, j]
        near = np.min(np.column_stack([columns[m] for m in med.tolist()]), axis=1)
        loss = float(near.sum())
        sample_losses.append(loss)
        if loss < best_loss:
            best, best_loss = med, loss
    Dk = np.column_stack([columns[m] for m in best.tolist()])
    out = _full_result(dist, best, Dk, n_iter=samples, n_swap=n_swap, converged=None)
    out.extras.update(algorithm=f"clara[{method}]", sample_size=int(sample_size),
                      samples=int(samples), sample_losses=sample_losses,
                      best_sample=int(np.argmin(sample_losses)))
    return out


def clara(X, k: int, metric: str = "euclidean", *, samples: int = 5, sample_size: int | None = None,
          max_iter: int = 100, init: str = "build", random_state=None,
          keep_medoids: bool = True) -> ClusteringResult:
    """CLARA (Kaufman & Rousseeuw 1990): PAM on ``samples`` samples of 40 + 2k points."""
    return _clara(X, k, metric, samples, sample_size, max_iter, init, random_state, keep_medoids,
                  "pam", lambda k: 40 + 2 * k)


def fastclara(X, k: int, metric: str = "euclidean", *, samples: int = 5,
              sample_size: int | None = None, max_iter: int = 100, init: str = "build",
              random_state=None, keep_medoids: bool = True) -> ClusteringResult:
    """FastCLARA (Schubert & Rousseeuw 2019): FastPAM1 on samples of 80 + 4k points."""
    return _clara(X, k, metric, samples, sample_size, max_iter, init, random_state, keep_medoids,
                  "fastpam1", lambda k: 80 + 4 * k)


def fasterclara_samples(sample_size: int, budget: int = 2_000_000) -> int:
    """FasterCLARA's default number of samples: as many of ``sample_size`` points as
    fit ``budget`` sampled pairs, at least 1 and at most 5."""
    return int(min(5, max(1, budget // sample_size**2)))


def fasterclara(X, k: int, metric: str = "euclidean", *, samples: int | None = None,
                sample_size: int | None = None, max_iter: int = 100, init: str = "random",
                random_state=None, keep_medoids: bool = True) -> ClusteringResult:
    """FasterCLARA (Schubert & Rousseeuw 2021): FasterPAM on samples of 400 + 30k points.

    ``samples=None`` takes :func:`fasterclara_samples` of the sample size (4 at
    k = 10, 1 from k = 50 on). The sample matrices are computed in float32 (the
    full-data loss in float64).
    """
    return _clara(X, k, metric, samples, sample_size, max_iter, init, random_state, keep_medoids,
                  "fasterpam", lambda k: 400 + 30 * k, sample_dtype=np.float32,
                  default_samples=fasterclara_samples)


# ----------------------------------------------------------------------------- CLARANS

def _two_nearest(Dk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest medoid position, its distance, and the second-nearest distance."""
    n, k = Dk.shape
    if k == 1:
        return np.zeros(n, dtype=np.int64), Dk[:, 0].copy(), np.full(n, np.inf)
    part = np.argpartition(Dk, 1, axis=1)[:, :2]
    rows = np.arange(n)
    d_a, d_b = Dk[rows, part[:, 0]], Dk[rows, part[:, 1]]
    swap = d_b < d_a
    n1 = np.where(swap, part[:, 1], part[:, 0])
    return n1.astype(np.int64), np.minimum(d_a, d_b), np.maximum(d_a, d_b)


def _clarans(X, k, metric, numlocal, maxneighbor, random_state, fast: bool) -> ClusteringResult:
    dist, k = _prepare(X, k, metric)
    n = dist.n
    numlocal = check_positive_int(numlocal, name="numlocal")
    if maxneighbor is None:
        rate = 0.025 * (n - k) if fast else 0.0125 * k * (n - k)
        maxneighbor = max(1, min(250, k * (n - k)), math.ceil(rate))
    maxneighbor = check_positive_int(maxneighbor, name="maxneighbor")
    rng = check_random_state(random_state)

    best_med, best_Dk, best_loss = None, None, math.inf
    n_swap = trials = 0
    for _ in range(numlocal):
        med = rng.choice(n, k, replace=False).astype(np.int64)
        Dk = dist.to(med)
        is_med = np.zeros(n, dtype=bool)
        is_med[med] = True
        n1, d1, d2 = _two_nearest(Dk)
        loss = float(d1.sum())
        fails = 0
        while fails < maxneighbor and k < n:
            trials += 1
            x = int(rng.integers(n - k))
            x = int(np.flatnonzero(~is_med)[x])  # a uniformly drawn non-medoid
            dx = dist.to(np.array([x]))[:, 0]
            if fast:
                # FastPAM1's decomposition: shared gain where x becomes nearest,
                # per-medoid terms for removing each medoid.
                closer = dx < d1
                shared = float(np.sum((dx - d1)[closer]))
                per = np.bincount(n1, weights=np.where(closer, 0.0, np.minimum(dx, d2) - d1),
                                  minlength=k)
                m = int(np.argmin(per))
                delta = shared + float(per[m])
            else:
                m = int(rng.integers(k))
                own = n1 == m
                new = np.where(own, np.minimum(dx, d2), np.minimum(dx, d1))
                delta = float(np.sum(new - d1))
            if delta < -1e-12 * max(loss, 1e-300):
                is_med[med[m]] = False
                med[m] = x
                is_med[x] = True
                Dk[:, m] = dx
                n1, d1, d2 = _two_nearest(Dk)
                loss = float(d1.sum())
                n_swap += 1
                fails = 0
            else:
                fails += 1
        if loss < best_loss:
            best_med, best_Dk, best_loss = med.copy(), Dk.copy(), loss
    out = _full_result(dist, best_med, best_Dk, n_iter=numlocal, n_swap=n_swap, converged=None)
    out.extras.update(algorithm="fastclarans" if fast else "clarans", trials=int(trials),
                      maxneighbor=int(maxneighbor), numlocal=int(numlocal))
    return out


def clarans(X, k: int, metric: str = "euclidean", *, numlocal: int = 2,
            maxneighbor: int | None = None, random_state=None) -> ClusteringResult:
    """CLARANS (Ng & Han 1994/2002): randomized swap search with ``numlocal`` restarts."""
    return _clarans(X, k, metric, numlocal, maxneighbor, random_state, fast=False)


def fastclarans(X, k: int, metric: str = "euclidean", *, numlocal: int = 2,
                maxneighbor: int | None = None, random_state=None) -> ClusteringResult:
    """FastCLARANS (Schubert & Rousseeuw 2019): each random candidate tried against all medoids."""
    return _clarans(X, k, metric, numlocal, maxneighbor, random_state, fast=True)


__all__ = ["PointDistances", "clara", "clarans", "fastclara", "fastclarans", "fasterclara"]
