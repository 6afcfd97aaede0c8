"""OneBatchPAM kernels (de Mathelin, Vincent, Chesneau, Gourru, Mougeot; AAAI 2025).

OneBatchPAM evaluates every candidate swap on *one* random batch of ``B``
points instead of all ``n``: the n x B matrix ``Dist[i, j] = d(x_i, x_batch[j])``
is computed once (n B distance evaluations, no n x n matrix), and FasterPAM's
eager swap search (Schubert & Rousseeuw 2021) runs with the batch columns as
the points to be served: candidate ``i`` is scored by the change of
``sum_j min_m Dist[m, j]`` if it replaced the best medoid to remove.

The arithmetic is single precision like the authors' ``onebatch`` package
(whose float32 kernel this reproduces, so that both reach the same medoids from
the same seed): gains are accumulated in ``float`` in the same order, and the
batch distances are rounded to float32 the way ``sklearn.metrics.
pairwise_distances`` rounds them (float64 data: the distance in double, then
rounded; float32 data: the squared distance rounded to float32, then a float32
square root).
"""

from cython cimport floating
from libc.math cimport fabs, sqrt, sqrtf

import numpy as np

# Metrics of batch_distances.
cdef enum:
    EUCLIDEAN = 0
    SQEUCLIDEAN = 1
    MANHATTAN = 2
METRIC_CODES = {"euclidean": EUCLIDEAN, "sqeuclidean": SQEUCLIDEAN, "manhattan": MANHATTAN}

# Larger than any normalised, weighted batch distance: the "no medoid yet" value.
cdef float FAR = 10000000.0


def batch_distances(const floating[:, ::1] X,   # IN  (n, d) points
                    const Py_ssize_t[::1] batch,  # IN  (B,) row indices of the batch
                    int metric,                 # IN  METRIC_CODES value
                    float[:, ::1] out):         # OUT (n, B) float32 distances
    """Fill ``out[i, j] = d(X[i], X[batch[j]])`` from the differences; returns n B.

    The driver uses it for manhattan; Euclidean goes through BLAS there (faster,
    and the same float32 numbers on integer data, which the tests check).
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], B = batch.shape[0]
    cdef Py_ssize_t i, j, t
    cdef Py_ssize_t b
    cdef double acc, diff
    with nogil:
        for i in range(n):
            for j in range(B):
                b = batch[j]
                acc = 0.0
                if metric == MANHATTAN:
                    for t in range(d):
                        acc = acc + fabs(<double>X[i, t] - <double>X[b, t])
                    out[i, j] = <float>acc
                    continue
                for t in range(d):
                    diff = <double>X[i, t] - <double>X[b, t]
                    acc = acc + diff * diff
                if metric == SQEUCLIDEAN:
                    out[i, j] = <float>acc
                elif floating is float:
                    out[i, j] = sqrtf(<float>acc)
                else:
                    out[i, j] = <float>sqrt(acc)
    return int(n * B)


cdef inline void _nearest_two(const float[:, ::1] Dist, const int[::1] medoids, Py_ssize_t j, int K,
                              float[::1] first_d, float[::1] second_d, int[::1] nearest,
                              int[::1] second) noexcept nogil:
    """Nearest and second nearest medoid of batch column ``j`` (ties: the later medoid becomes nearest)."""
    cdef int k, i1 = 0, i2 = 0
    cdef float f = FAR, s = FAR, v
    for k in range(K):
        v = Dist[medoids[k], j]
        if v < s:
            if v <= f:
                i2 = i1
                i1 = k
                s = f
                f = v
            else:
                i2 = k
                s = v
    first_d[j] = f
    second_d[j] = s
    nearest[j] = i1
    second[j] = i2


def swap_eager(const float[:, ::1] Dist,   # IN    (n, B) normalised, weighted batch distances
               int[::1] medoids,            # INOUT (K,) start medoids, final medoids
               int max_iter,                # IN    passes over the candidates
               float tol_rel):              # IN    a swap must gain more than tol_rel * loss
    """FasterPAM's eager swaps scored on the batch columns; returns (batch loss, passes, swaps)."""
    cdef Py_ssize_t n = Dist.shape[0], B = Dist.shape[1]
    cdef int K = medoids.shape[0]
    cdef float[::1] first_d = np.empty(B, dtype=np.float32)
    cdef float[::1] second_d = np.empty(B, dtype=np.float32)
    cdef int[::1] nearest = np.empty(B, dtype=np.intc)
    cdef int[::1] second = np.empty(B, dtype=np.intc)
    # removal_gain[m]: change of the batch loss if medoid m were removed (<= 0), kept up to date
    cdef float[::1] removal_gain = np.zeros(K, dtype=np.float32)
    cdef float[::1] gain_k = np.empty(K, dtype=np.float32)
    cdef float loss = 0, tol, gain, v
    cdef Py_ssize_t i, j
    cdef int k, best, s = 0, last_change = -1, n_swaps = 0
    cdef bint finish = 0, is_medoid
    with nogil:
        for j in range(B):
            _nearest_two(Dist, medoids, j, K, first_d, second_d, nearest, second)
        for j in range(B):
            removal_gain[nearest[j]] += first_d[j] - second_d[j]
            loss += first_d[j]
        tol = tol_rel * loss
        for s in range(max_iter):
            for i in range(n):
                if i == last_change:       # a full pass without a swap: converged
                    finish = 1
                    break
                is_medoid = 0
                for k in range(K):
                    if i == medoids[k]:
                        is_medoid = 1
                if is_medoid:
                    continue
                # gain of adding i (shared part) plus, per medoid, the loss of removing it
                gain = 0
                gain_k[:] = removal_gain
                for j in range(B):
                    k = nearest[j]
                    v = Dist[i, j]
                    if v < first_d[j]:
                        gain_k[k] += second_d[j] - first_d[j]
                        gain += first_d[j] - v
                    elif v < second_d[j]:
                        gain_k[k] += second_d[j] - v
                best = 0
                for k in range(K):
                    if gain_k[k] > gain_k[best]:
                        best = k
                gain += gain_k[best]
                if gain > tol:
                    medoids[best] = <int>i
                    last_change = <int>i
                    n_swaps += 1
                    removal_gain[best] = 0
                    loss -= gain
                    tol = tol_rel * loss
                    for j in range(B):
                        if nearest[j] == best or second[j] == best or Dist[i, j] <= second_d[j]:
                            k = nearest[j]
                            if k != best:
                                removal_gain[k] += second_d[j] - first_d[j]
                            _nearest_two(Dist, medoids, j, K, first_d, second_d, nearest, second)
                            removal_gain[nearest[j]] += first_d[j] - second_d[j]
            if finish or last_change == -1:
                break
    return float(loss), int(s), int(n_swaps)
