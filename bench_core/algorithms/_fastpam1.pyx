# cython: language_level=3
"""FastPAM1 (Schubert & Rousseeuw 2019/2021): the swaps of PAM, found in O(n^2) per iteration.

Each iteration evaluates every (medoid, non-medoid) pair through the FastPAM1
decomposition (a shared term plus a per-medoid removal loss, one O(n) pass per
candidate) and performs the single best swap, exactly like PAM SWAP.

Threads: the candidates are split between threads (each with its own scratch
arrays), and the best swap is picked in candidate order afterwards, so the
choice is that of one thread.
"""

import numpy as np

from cython.parallel cimport prange, threadid

from ._common cimport dissim_t, best_swap_for, do_swap, nearest_two, removal_loss


def fastpam1_kernel(const dissim_t[:, ::1] diss,     # IN  (n, n)
                    long long[::1] medoids,          # INOUT (k,) k >= 2
                    Py_ssize_t max_iter,
                    double rel_tol,                  # swap only if change < -rel_tol * loss
                    int[::1] near_i,                 # OUT (n,) label of each point
                    int n_threads=1):
    """Run FastPAM1 from ``medoids``; returns (loss, n_iter, n_swap, converged)."""
    cdef Py_ssize_t n = diss.shape[0], k = medoids.shape[0]
    cdef double[::1] near_d = np.empty(n, dtype=np.float64)
    cdef double[::1] seco_d = np.empty(n, dtype=np.float64)
    cdef int[::1] seco_i = np.empty(n, dtype=np.intc)
    cdef double[::1] rloss = np.empty(k, dtype=np.float64)
    cdef Py_ssize_t nt = max(n_threads, 1)
    cdef double[::1] ploss = np.empty(nt * k, dtype=np.float64)   # per thread
    cdef int[::1] hits = np.empty(nt * n, dtype=np.intc)          # per thread
    cdef double[::1] cbest = np.empty(n, dtype=np.float64)        # change of each candidate
    cdef Py_ssize_t[::1] cm = np.empty(n, dtype=np.intp)          # ... and its medoid
    cdef Py_ssize_t it = 0, n_swap = 0, j, b, best_b, best_j, t
    cdef double loss, best, newloss
    cdef bint converged = False
    with nogil:
        loss = nearest_two(diss, medoids, near_i, near_d, seco_i, seco_d)
        while it < max_iter:
            it += 1
            removal_loss(near_i, near_d, seco_d, rloss)
            for j in prange(n, schedule="dynamic", chunksize=16, num_threads=n_threads):
                if medoids[near_i[j]] == j:     # already a medoid
                    cbest[j] = 0.0
                else:
                    t = threadid()
                    cbest[j] = best_swap_for(&diss[j, 0], n, &near_i[0], &near_d[0],
                                             &seco_d[0], &rloss[0], &ploss[t * k],
                                             &hits[t * n], k, &cm[j])
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
