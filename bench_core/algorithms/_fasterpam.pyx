# cython: language_level=3
"""FasterPAM (Schubert & Rousseeuw 2021, Information Systems 101, Alg. 3).

Eager swaps: candidates j are visited in a fixed order (0..n-1, or a seeded
permutation), the best medoid to replace by j is found in O(n) with the
FastPAM1 decomposition, and the swap is done at once if it improves the loss.
The scan wraps around and stops when it reaches the last candidate swapped in
without having swapped since (one pass = one iteration).

The first pass reads every row that is not a medoid at the time (a medoid of the
start, or one swapped in earlier in that pass, whose row was listed then), so with
``check_rows`` its listings also check the rows: the driver checks only the start's
medoid rows, and no separate scan of the matrix is needed.
"""

import numpy as np

from ._common cimport dissim_t, do_swap, nearest_two, removal_loss


# The listing of the points a candidate can affect (d(j, o) < second-nearest) is
# most of the work at small k. For float64 matrices on x86-64 it compares 8 points
# at once with AVX-512 or 4 with AVX2 (the best the CPU has, checked at run time;
# fasterpam_simd.h) against the second-nearest distances rounded up to float32 (a
# superset of the points, the few extra ones dropped exactly by
# swap_change_of_hits); elsewhere the scalar loop of _common.hits_below. All take
# the same swaps.
from ._simd cimport (candidate_change, kmb_change_of_hits4, kmb_hits_below4_avx512,
                    kmb_hits_below_simd, kmb_round_up_f32, kmb_simd_level, kmb_simd_limit,
                    kmb_set_prefetch, kmb_default_prefetch, KMB_PREFETCH_MIN_BYTES)


def _limit_compaction(int level):
    """Testing/benchmark switch: the highest vector level used (0 scalar, 1 AVX2, 2 AVX-512)."""
    kmb_simd_limit(level)


def _set_prefetch(Py_ssize_t entries=-1, double min_bytes=KMB_PREFETCH_MIN_BYTES):
    """Benchmark and test switch: how far ahead the vector listings prefetch their rows,
    in entries (0: none), for matrices over ``min_bytes``. The listings are the same
    either way. No arguments (or a negative distance): the defaults, with the distance
    chosen for this CPU (:func:`_prefetch_default`)."""
    kmb_set_prefetch(entries, min_bytes)


def _prefetch_default():
    """The prefetch distance, in entries, chosen for this CPU (256 on AMD family 26
    and on Intel with AVX512-FP16, 64 elsewhere; see ``cpu_level.h``)."""
    return kmb_default_prefetch()


kmb_set_prefetch(-1, KMB_PREFETCH_MIN_BYTES)  # this CPU's distance, from import on


def fused_check(diss):
    """Whether the kernel can check the rows it reads itself (``check_rows=True``):
    a float64 matrix and a vector listing (AVX2 or AVX-512) on this CPU."""
    return diss.dtype == np.float64 and kmb_simd_level() > 0


def _round_up_f32(const double[::1] bound):
    """Testing: the float32 bounds the vector listings compare with (kmb_round_up_f32)."""
    out = np.empty(bound.shape[0], dtype=np.float32)
    cdef float[::1] o = out
    if bound.shape[0]:
        kmb_round_up_f32(&bound[0], bound.shape[0], &o[0])
    return out


def _listing_flags(const double[:, ::1] rows, const float[::1] bound, bint four):
    """Testing: the input-check flag of each row's listing at the current level (vector
    levels only), one row at a time or (``four``, AVX-512) in the group of four rows
    that holds it (rows.shape[0] a multiple of 4)."""
    cdef Py_ssize_t r, n = rows.shape[1], m = rows.shape[0]
    cdef int level = kmb_simd_level()
    cdef int bad
    cdef Py_ssize_t cnt[GROUP]
    cdef const double* grp[GROUP]
    cdef int* hit[GROUP]
    if level == 0 or (four and level < 2) or (four and m % GROUP):
        raise ValueError("no such listing here")
    hits = np.empty(GROUP * n + 8, dtype=np.intc)
    cdef int[::1] h = hits
    flags = np.zeros(m, dtype=bool)
    for r in range(m):
        bad = 0
        if four:
            for q in range(GROUP):
                grp[q] = &rows[r // GROUP * GROUP + q, 0]
                hit[q] = &h[q * n]
            kmb_hits_below4_avx512(grp, &bound[0], n, hit, cnt, &bad)
        else:
            kmb_hits_below_simd(level, &rows[r, 0], &bound[0], n, &h[0], &bad)
        flags[r] = bad != 0
    return flags


def compaction_level():
    """The listing of affected points used here for float64: 'avx512', 'avx2' or 'scalar'."""
    return ("scalar", "avx2", "avx512")[kmb_simd_level()]


cdef enum:
    GROUP = 4  # candidates evaluated together (AVX-512 path)


def fasterpam_kernel(const dissim_t[:, ::1] diss,     # IN  (n, n)
                     long long[::1] medoids,          # INOUT (k,) k >= 2
                     const long long[::1] order,      # IN  (n,) candidate order
                     Py_ssize_t max_iter,
                     double rel_tol,                  # swap only if change < -rel_tol * loss
                     int[::1] near_i,                 # OUT (n,) label of each point
                     bint check_rows=False):
    """Run FasterPAM from ``medoids``; returns (loss, n_iter, n_swap, converged).

    ``check_rows`` (float64 with a vector listing only, see ``fused_check``): the first
    pass checks every row it lists for NaN, infinite and negative entries, and the
    kernel returns None at the first bad row, before a swap uses it. The rows of
    the starting medoids must have been checked by the caller.
    """
    cdef Py_ssize_t n = diss.shape[0], k = medoids.shape[0]
    cdef double[::1] near_d = np.empty(n, dtype=np.float64)
    cdef double[::1] seco_d = np.empty(n, dtype=np.float64)
    cdef float[::1] seco_f = np.empty(n, dtype=np.float32)      # seco_d rounded up
    cdef int[::1] seco_i = np.empty(n, dtype=np.intc)
    cdef double[::1] rloss = np.empty(k, dtype=np.float64)
    cdef double[::1] ploss = np.empty(GROUP * k, dtype=np.float64)
    cdef int[::1] hits = np.empty(GROUP * n, dtype=np.intc)
    cdef Py_ssize_t it = 0, n_swap = 0, before, t, u, j, q, g, last = -1
    cdef double loss, lastloss
    cdef bint converged = False, at_last, swapped
    cdef int level = kmb_simd_level() if dissim_t is double else 0
    cdef Py_ssize_t group = GROUP if level == 2 else 1
    cdef int bad = 0
    cdef int* checking = &bad if check_rows else NULL     # NULL after the first pass
    if check_rows and not level:
        raise ValueError("check_rows needs float64 and a vector listing (see fused_check)")
    cdef Py_ssize_t cand[GROUP]
    cdef Py_ssize_t pos[GROUP]
    cdef Py_ssize_t cnt[GROUP]
    cdef Py_ssize_t bsel[GROUP]
    cdef double change[GROUP]
    cdef const double* rows[GROUP]
    cdef int* hit[GROUP]
    for q in range(GROUP):
        hit[q] = &hits[q * n]
    with nogil:
        loss = nearest_two(diss, medoids, near_i, near_d, seco_i, seco_d, 1)
        removal_loss(near_i, near_d, seco_d, rloss)
        if level:
            kmb_round_up_f32(&seco_d[0], n, &seco_f[0])
        while it < max_iter:
            it += 1
            before = n_swap
            lastloss = loss
            t = 0
            while True:
                # the next `group` candidates in scan order (medoids skipped), up to the
                # last one swapped in; all are evaluated against the current medoids,
                # and those after a candidate that swaps are dropped and taken again
                g = 0
                u = t
                at_last = False
                while g < group and u < n:
                    j = order[u]
                    if j == last:
                        at_last = True
                        break
                    if medoids[near_i[j]] != j:
                        cand[g] = j
                        pos[g] = u
                        g += 1
                    u += 1
                if g == 0:
                    break
                if group > 1 and g > 1:
                    if dissim_t is double:
                        for q in range(GROUP):
                            rows[q] = &diss[cand[q if q < g else 0], 0]
                        kmb_hits_below4_avx512(rows, &seco_f[0], n, hit, cnt, checking)
                        kmb_change_of_hits4(rows, hit, cnt, &near_i[0], &near_d[0], &seco_d[0],
                                            &rloss[0], k, &ploss[0], change, bsel)
                else:
                    for q in range(g):
                        change[q] = candidate_change(diss, cand[q], level, &seco_f[0], &hits[0],
                                                     &near_i[0], &near_d[0], &seco_d[0], &rloss[0],
                                                     &ploss[0], k, &bsel[q], checking)
                if bad:                         # a bad row was listed: no swap may use it
                    break
                swapped = False
                for q in range(g):
                    if change[q] < -rel_tol * loss:
                        n_swap += 1
                        last = cand[q]
                        loss = do_swap(diss, medoids, near_i, near_d, seco_i, seco_d, bsel[q], cand[q])
                        removal_loss(near_i, near_d, seco_d, rloss)
                        if level:
                            kmb_round_up_f32(&seco_d[0], n, &seco_f[0])
                        t = pos[q] + 1
                        swapped = True
                        break
                if not swapped:
                    if at_last:
                        break
                    t = u
            if bad:
                break
            checking = NULL                     # every row has been read once
            if n_swap == before:
                converged = True
                break
            if loss >= lastloss:                # a pass without real progress (rounding noise)
                break
    if bad:
        return None
    return loss, it, n_swap, bool(converged)
