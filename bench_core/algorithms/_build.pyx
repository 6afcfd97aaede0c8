# cython: language_level=3
"""PAM BUILD (Kaufman & Rousseeuw 1987/1990): greedy choice of k initial medoids.

The first medoid minimises the sum of dissimilarities to all other points; each
next one maximises the gain  g(i) = sum_o max(D(o) - d(i, o), 0)  (the decrease of
the loss when i is added, its own D(i) included, as kmedoids 0.5.5 does), where
D(o) is the distance of o to its nearest medoid chosen so far (kept in one
running array, so one candidate costs one contiguous, vectorisable row pass).

Gains never increase when a medoid is added (D only decreases), so a gain
computed at an earlier step is an upper bound of the current one ("lazy greedy",
Minoux 1978): at each step only candidates whose stale bound beats the best
fresh gain are re-evaluated. This returns exactly the medoids of plain BUILD
(the floating-point sum of one candidate is always taken in the same order, so
it is monotone too); ties go to the lowest index.
"""

import numpy as np

from cython.parallel cimport prange

from ._common cimport dissim_t


cdef inline double _row_sum(const dissim_t* row, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """sum of row[lo:hi] in double, four partial sums (vectorisable, fixed order)."""
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef Py_ssize_t o = lo
    while o + 4 <= hi:
        s0 += <double> row[o]
        s1 += <double> row[o + 1]
        s2 += <double> row[o + 2]
        s3 += <double> row[o + 3]
        o += 4
    while o < hi:
        s0 += <double> row[o]
        o += 1
    return (s0 + s1) + (s2 + s3)


cdef inline double _gain(const dissim_t* row, const double* near,
                         Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """sum of max(near[o] - row[o], 0) over o in [lo, hi), four partial sums."""
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, t0, t1, t2, t3
    cdef Py_ssize_t o = lo
    while o + 4 <= hi:
        t0 = near[o] - <double> row[o]
        t1 = near[o + 1] - <double> row[o + 1]
        t2 = near[o + 2] - <double> row[o + 2]
        t3 = near[o + 3] - <double> row[o + 3]
        s0 += t0 if t0 > 0.0 else 0.0
        s1 += t1 if t1 > 0.0 else 0.0
        s2 += t2 if t2 > 0.0 else 0.0
        s3 += t3 if t3 > 0.0 else 0.0
        o += 4
    while o < hi:
        t0 = near[o] - <double> row[o]
        s0 += t0 if t0 > 0.0 else 0.0
        o += 1
    return (s0 + s1) + (s2 + s3)


def build_kernel(const dissim_t[:, ::1] diss,     # IN  (n, n)
                 long long[::1] medoids,          # OUT (k,)
                 double[::1] near,                # OUT (n,) distance to the nearest medoid
                 int n_threads=1):
    """PAM BUILD; returns the number of gain evaluations (rows read after the first step).

    Threads: the row sums of the first step and the gains of the second (2 n^2
    reads, nearly all the work: the lazy steps re-evaluate one or two candidates
    each on MNIST) are split between threads; each sum keeps its order, so the
    medoids and the number of gain evaluations do not depend on the thread count.
    The lazy steps stay sequential: batches of a few O(n) evaluations cost more
    in thread synchronisation than they save.
    """
    cdef Py_ssize_t n = diss.shape[0], k = medoids.shape[0]
    cdef double[::1] bound = np.empty(n, dtype=np.float64)
    cdef long long[::1] stamp = np.zeros(n, dtype=np.int64)     # step of bound[i]; -1: medoid
    cdef Py_ssize_t i, o, l, c, evals = 0
    cdef double s, best
    cdef const dissim_t* row
    with nogil:
        # first medoid: smallest total dissimilarity (ties: lowest index)
        for i in prange(n, schedule="static", num_threads=n_threads):
            bound[i] = (_row_sum(&diss[i, 0], 0, i)
                        + _row_sum(&diss[i, 0], i + 1, n))
        c = 0
        best = 0.0
        for i in range(n):
            if i == 0 or bound[i] < best:
                best = bound[i]
                c = i
        medoids[0] = c
        stamp[c] = -1
        row = &diss[c, 0]
        for o in range(n):
            near[o] = <double> row[o]
        near[c] = 0.0
        for l in range(1, k):
            if l == 1:                          # no bounds yet: evaluate everybody
                for i in prange(n, schedule="static", num_threads=n_threads):
                    if stamp[i] >= 0:
                        bound[i] = _gain(&diss[i, 0], &near[0], 0, n)
                        stamp[i] = 1
                for i in range(n):
                    evals += stamp[i] >= 0
            while True:
                # candidate with the largest bound (lowest index among equals)
                c = _largest(&bound[0], &stamp[0], n)
                if stamp[c] == l:
                    break                       # its bound is its current gain: the winner
                bound[c] = _gain(&diss[c, 0], &near[0], 0, n)
                stamp[c] = l
                evals += 1
            medoids[l] = c
            stamp[c] = -1
            row = &diss[c, 0]
            for o in range(n):
                if <double> row[o] < near[o]:
                    near[o] = <double> row[o]
            near[c] = 0.0
    return evals


cdef inline Py_ssize_t _largest(const double* bound, const long long* stamp,
                                Py_ssize_t n) noexcept nogil:
    """The non-medoid with the largest bound (lowest index among equals); -1 if none."""
    cdef Py_ssize_t i, c = -1
    cdef double best = -1.0
    for i in range(n):
        if stamp[i] >= 0 and bound[i] > best:
            best = bound[i]
            c = i
    return c
