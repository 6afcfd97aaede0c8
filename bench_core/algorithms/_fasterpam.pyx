# cython: language_level=3
"""FasterPAM (Schubert & Rousseeuw 2021, Information Systems 101, Alg. 3).

Eager swaps: candidates j are visited in a fixed order (0..n-1, or a seeded
permutation), the best medoid to replace by j is found in O(n) with the
FastPAM1 decomposition, and the swap is done at once if it improves the loss.
The scan wraps around and stops when it reaches the last candidate swapped in
without having swapped since (one pass = one iteration).
"""

import numpy as np

from ._common cimport (dissim_t, do_swap, hits_below, nearest_two, removal_loss,
                       swap_change_of_hits)


# The listing of the points a candidate can affect (d(j, o) < second-nearest) is
# most of the work at small k. For float64 matrices on x86-64 with AVX2 (checked
# at run time) it compares 4 points at once and writes their indices with a
# 16-entry table of positions (a compress step); elsewhere the scalar loop of
# _common.hits_below. Both list the same points in the same order.
cdef extern from "fasterpam_avx2.h":
    Py_ssize_t kmb_hits_below_avx2(const double* row, const double* bound,
                                   Py_ssize_t n, int* hits) noexcept nogil
    int kmb_use_avx2() noexcept nogil
    int kmb_avx2


def _force_scalar_compaction(bint scalar):
    """Testing/benchmark switch: list affected points with the scalar loop everywhere."""
    global kmb_avx2
    kmb_avx2 = 0 if scalar else -1


def avx2_compaction():
    """Whether the AVX2 listing of affected points is used on this machine (float64 only)."""
    return bool(kmb_use_avx2())


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
    cdef bint vec = dissim_t is double and kmb_use_avx2()
    cdef Py_ssize_t c
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
                if dissim_t is double:
                    if vec:
                        c = kmb_hits_below_avx2(&diss[j, 0], &seco_d[0], n, &hits[0])
                    else:
                        c = hits_below(&diss[j, 0], &seco_d[0], n, &hits[0])
                else:
                    c = hits_below(&diss[j, 0], &seco_d[0], n, &hits[0])
                change = swap_change_of_hits(&diss[j, 0], &hits[0], c, &near_i[0], &near_d[0],
                                             &seco_d[0], &rloss[0], &ploss[0], k, &b)
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
