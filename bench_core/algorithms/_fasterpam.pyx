# cython: language_level=3
"""FasterPAM (Schubert & Rousseeuw 2021, Information Systems 101, Alg. 3).

Eager swaps: candidates j are visited in a fixed order (0..n-1, or a seeded
permutation), the best medoid to replace by j is found in O(n) with the
FastPAM1 decomposition, and the swap is done at once if it improves the loss.
The scan wraps around and stops when it reaches the last candidate swapped in
without having swapped since (one pass = one iteration).
"""

import numpy as np

from ._common cimport dissim_t, best_swap_for, do_swap, nearest_two, removal_loss


def fasterpam_kernel(const dissim_t[:, ::1] diss,     # IN  (n, n)
                     long long[::1] medoids,          # INOUT (k,) k >= 2
                     const long long[::1] order,      # IN  (n,) candidate order
                     Py_ssize_t max_iter,
                     double rel_tol,                  # swap only if change < -rel_tol * loss
                     int[::1] near_i):                # OUT (n,) label of each point
    """Run FasterPAM from ``medoids``; returns (loss, n_iter, n_swap, converged)."""
    cdef Py_ssize_t n = diss.shape[0], k = medoids.shape[0]
    cdef double[::1] near_d = np.empty(n, dtype=np.float64)
    cdef double[::1] seco_d = np.empty(n, dtype=np.float64)
    cdef int[::1] seco_i = np.empty(n, dtype=np.intc)
    cdef double[::1] rloss = np.empty(k, dtype=np.float64)
    cdef double[::1] ploss = np.empty(k, dtype=np.float64)
    cdef int[::1] hits = np.empty(n, dtype=np.intc)
    cdef Py_ssize_t it = 0, n_swap = 0, before, t, j, b, last = -1
    cdef double loss, change, lastloss
    cdef bint converged = False
    with nogil:
        loss = nearest_two(diss, medoids, near_i, near_d, seco_i, seco_d)
        removal_loss(near_i, near_d, seco_d, rloss)
        while it < max_iter:
            it += 1
            before = n_swap
            lastloss = loss
            for t in range(n):
                j = order[t]
                if j == last:
                    break
                if medoids[near_i[j]] == j:
                    continue                    # already a medoid
                change = best_swap_for(&diss[j, 0], n, &near_i[0], &near_d[0], &seco_d[0],
                                       &rloss[0], &ploss[0], &hits[0], k, &b)
                if not change < -rel_tol * loss:
                    continue
                n_swap += 1
                last = j
                loss = do_swap(diss, medoids, near_i, near_d, seco_i, seco_d, b, j)
                removal_loss(near_i, near_d, seco_d, rloss)
            if n_swap == before:
                converged = True
                break
            if loss >= lastloss:                # a pass without real progress (rounding noise)
                break
    return loss, it, n_swap, bool(converged)
