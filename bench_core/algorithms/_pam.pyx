# cython: language_level=3
"""PAM SWAP (Kaufman & Rousseeuw 1987/1990): best swap per iteration, O(k (n-k)^2).

For every non-medoid j and every medoid m the loss change of the swap is
summed over all points o separately (the original algorithm, not the FastPAM1
decomposition), but the k sums of one candidate are accumulated together in one
pass over the row d(j, .): for each point the per-medoid term is either the
"o's medoid is removed" term (when m is o's nearest) or the "j is nearer" term
(otherwise), which the compiler turns into a vectorised select over m.

Threads: the candidates of one iteration are split between threads, each keeps
the best medoid of every candidate, and the best swap is then picked in
candidate order: the first (candidate, medoid) pair of the smallest change, as
one thread picks it. The swap itself is sequential.
"""

import numpy as np

from cython.parallel cimport prange, threadid

from ._common cimport dissim_t, do_swap, nearest_two, thread_stride


cdef inline void _pam_candidate(const dissim_t* row, Py_ssize_t n, Py_ssize_t j,
                                const int* near_i, const double* near_d,
                                const double* seco_d, double* acc,
                                Py_ssize_t k) noexcept nogil:
    """acc[m] = loss change of swapping medoid m with candidate j (all m at once)."""
    cdef Py_ssize_t o, m
    cdef int ni
    cdef double d, nd, x, y, start = -near_d[j]         # j itself becomes a medoid
    for m in range(k):
        acc[m] = start
    for o in range(n):
        if o == j:
            continue
        d = <double> row[o]
        nd = near_d[o]
        x = d - nd if d < nd else 0.0                    # m is not o's medoid
        y = (d if d < seco_d[o] else seco_d[o]) - nd     # m is o's medoid
        ni = near_i[o]
        for m in range(k):
            acc[m] += y if m == ni else x


def pam_kernel(const dissim_t[:, ::1] diss,     # IN  (n, n)
               long long[::1] medoids,          # INOUT (k,) k >= 2
               Py_ssize_t max_iter,
               double rel_tol,                  # swap only if change < -rel_tol * loss
               int[::1] near_i,                 # OUT (n,) label of each point
               int n_threads=1):
    """Run PAM SWAP from ``medoids``; returns (loss, n_iter, n_swap, converged)."""
    cdef Py_ssize_t n = diss.shape[0], k = medoids.shape[0]
    cdef double[::1] near_d = np.empty(n, dtype=np.float64)
    cdef double[::1] seco_d = np.empty(n, dtype=np.float64)
    cdef int[::1] seco_i = np.empty(n, dtype=np.intc)
    cdef Py_ssize_t ts = thread_stride(k)
    cdef double[::1] acc = np.empty(max(n_threads, 1) * ts, dtype=np.float64)
    cdef double[::1] cbest = np.empty(n, dtype=np.float64)   # best change of each candidate
    cdef int[::1] cm = np.empty(n, dtype=np.intc)            # ... and its medoid
    cdef Py_ssize_t it = 0, n_swap = 0, j, m, bm, best_b, best_j
    cdef double loss, best, newloss, bv
    cdef double* a
    cdef bint converged = False
    with nogil:
        loss = nearest_two(diss, medoids, near_i, near_d, seco_i, seco_d, n_threads)
        while it < max_iter:
            it += 1
            for j in prange(n, schedule="dynamic", chunksize=4, num_threads=n_threads):
                if medoids[near_i[j]] == j:     # already a medoid
                    cbest[j] = 0.0
                else:
                    a = &acc[threadid() * ts]
                    _pam_candidate(&diss[j, 0], n, j, &near_i[0], &near_d[0], &seco_d[0], a, k)
                    bm = 0
                    bv = a[0]
                    for m in range(1, k):
                        if a[m] < bv:           # first medoid wins ties
                            bv = a[m]
                            bm = m
                    cbest[j] = bv
                    cm[j] = <int> bm
            best = 0.0
            best_b = best_j = -1
            for j in range(n):
                if cbest[j] < best:             # first best swap wins ties
                    best = cbest[j]
                    best_b = cm[j]
                    best_j = j
            if not best < -rel_tol * loss:
                converged = True
                break
            n_swap += 1
            newloss = do_swap(diss, medoids, near_i, near_d, seco_i, seco_d, best_b, best_j)
            if newloss >= loss:                 # no real progress (rounding noise): stop
                break
            loss = newloss
    return loss, it, n_swap, bool(converged)
