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
# most of the work at small k. For float64 matrices on x86-64 it compares 8 points
# at once with AVX-512 or 4 with AVX2 (the best the CPU has, checked at run time;
# fasterpam_simd.h) against the second-nearest distances rounded up to float32 (a
# superset of the points, the few extra ones dropped exactly by
# swap_change_of_hits); elsewhere the scalar loop of _common.hits_below. All take
# the same swaps.
from ._simd cimport kmb_hits_below_simd, kmb_round_up_f32, kmb_simd_level, kmb_simd_limit


def _limit_compaction(int level):
    """Testing/benchmark switch: the highest vector level used (0 scalar, 1 AVX2, 2 AVX-512)."""
    kmb_simd_limit(level)


def compaction_level():
    """The listing of affected points used here for float64: 'avx512', 'avx2' or 'scalar'."""
    return ("scalar", "avx2", "avx512")[kmb_simd_level()]


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
    cdef float[::1] seco_f = np.empty(n, dtype=np.float32)      # seco_d rounded up
    cdef int[::1] seco_i = np.empty(n, dtype=np.intc)
    cdef double[::1] rloss = np.empty(k, dtype=np.float64)
    cdef double[::1] ploss = np.empty(k, dtype=np.float64)
    cdef int[::1] hits = np.empty(n, dtype=np.intc)
    cdef Py_ssize_t it = 0, n_swap = 0, before, t, j, b, last = -1
    cdef double loss, change, lastloss
    cdef bint converged = False
    cdef int level = kmb_simd_level() if dissim_t is double else 0
    cdef Py_ssize_t c
    with nogil:
        loss = nearest_two(diss, medoids, near_i, near_d, seco_i, seco_d)
        removal_loss(near_i, near_d, seco_d, rloss)
        if level:
            kmb_round_up_f32(&seco_d[0], n, &seco_f[0])
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
                    if level:
                        c = kmb_hits_below_simd(level, &diss[j, 0], &seco_f[0], n, &hits[0])
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
                if level:
                    kmb_round_up_f32(&seco_d[0], n, &seco_f[0])
            if n_swap == before:
                converged = True
                break
            if loss >= lastloss:                # a pass without real progress (rounding noise)
                break
    return loss, it, n_swap, bool(converged)
