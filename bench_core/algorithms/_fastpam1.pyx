# cython: language_level=3
"""FastPAM1 (Schubert & Rousseeuw 2019/2021): the swaps of PAM, found in O(n^2) per iteration.

Each iteration evaluates every (medoid, non-medoid) pair through the FastPAM1
decomposition (a shared term plus a per-medoid removal loss, one O(n) pass per
candidate) and performs the single best swap, exactly like PAM SWAP.

Threads: the candidates are split between threads (each with its own scratch
arrays), and the best swap is picked in candidate order afterwards, so the
choice is that of one thread.

For float64 matrices on x86-64 the points a candidate can affect are listed with
the vector compares of FasterPAM (``fasterpam_simd.h``: AVX-512 or AVX2 against
the second-nearest distances rounded up to float32; the few extra points are
dropped exactly), elsewhere with the scalar loop; the swaps are the same. With
``check_rows`` the first iteration's listings, which read every non-medoid row, also
check them for NaN, infinite and negative entries (no separate scan of the matrix).
"""

import numpy as np

from cython.parallel cimport prange, threadid

from ._common cimport dissim_t, do_swap, nearest_two, removal_loss, thread_stride

# the listings of affected points (fasterpam_simd.h, as in _fasterpam.pyx)
from ._simd cimport (candidate_change, kmb_change_of_hits4, kmb_hits_below4_avx512,
                    kmb_round_up_f32, kmb_simd_level, kmb_simd_limit,
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


cdef enum:
    GROUP = 4  # candidates listed and summed together (AVX-512 path)


cdef inline void _group(const double[:, ::1] diss, Py_ssize_t j0, const float* seco_f,
                        int* hits, Py_ssize_t tn, const int* near_i, const double* near_d,
                        const double* seco_d, const double* rloss, Py_ssize_t k,
                        double* ploss, double* cbest, Py_ssize_t* cm, int* bad) noexcept nogil:
    """cbest/cm of candidates j0 .. j0+3 (those < n), four rows sharing one pass over
    the bound and interleaving their sums (fasterpam_simd.h); the same values as one
    candidate at a time. ``bad`` (NULL: no check): set if a row is NaN/inf/negative."""
    cdef const double* rows[GROUP]
    cdef int* hit[GROUP]
    cdef Py_ssize_t cnt[GROUP]
    cdef Py_ssize_t bsel[GROUP]
    cdef double change[GROUP]
    cdef Py_ssize_t q, n = diss.shape[0]
    for q in range(GROUP):
        rows[q] = &diss[j0 + q if j0 + q < n else j0, 0]
        hit[q] = hits + q * tn
    kmb_hits_below4_avx512(rows, seco_f, n, hit, cnt, bad)
    if bad != NULL and bad[0]:
        return
    kmb_change_of_hits4(rows, hit, cnt, near_i, near_d, seco_d, rloss, k, ploss, change, bsel)
    for q in range(GROUP):
        if j0 + q < n:
            cbest[j0 + q] = change[q]
            cm[j0 + q] = bsel[q]


def fastpam1_kernel(const dissim_t[:, ::1] diss,     # IN  (n, n)
                    long long[::1] medoids,          # INOUT (k,) k >= 2
                    Py_ssize_t max_iter,
                    double rel_tol,                  # swap only if change < -rel_tol * loss
                    int[::1] near_i,                 # OUT (n,) label of each point
                    int n_threads=1,
                    bint check_rows=False):
    """Run FastPAM1 from ``medoids``; returns (loss, n_iter, n_swap, converged).

    ``check_rows`` (float64 with a vector listing only, see ``fused_check``): the first
    iteration checks every row it lists for NaN, infinite and negative entries, and
    the kernel returns None if one is bad, before any swap. The rows of the starting
    medoids must have been checked by the caller.
    """
    cdef Py_ssize_t n = diss.shape[0], k = medoids.shape[0]
    cdef double[::1] near_d = np.empty(n, dtype=np.float64)
    cdef double[::1] seco_d = np.empty(n, dtype=np.float64)
    cdef float[::1] seco_f = np.empty(n, dtype=np.float32)       # seco_d rounded up
    cdef int[::1] seco_i = np.empty(n, dtype=np.intc)
    cdef double[::1] rloss = np.empty(k, dtype=np.float64)
    cdef Py_ssize_t nt = max(n_threads, 1)
    cdef int level = kmb_simd_level() if dissim_t is double else 0
    cdef Py_ssize_t group = GROUP if level == 2 else 1
    cdef Py_ssize_t tk = thread_stride(group * k), tn = thread_stride(n)
    cdef double[::1] ploss = np.empty(nt * tk, dtype=np.float64)  # per thread
    cdef int[::1] hits = np.empty(nt * group * tn, dtype=np.intc) # per thread
    cdef double[::1] cbest = np.empty(n, dtype=np.float64)        # change of each candidate
    cdef Py_ssize_t[::1] cm = np.empty(n, dtype=np.intp)          # ... and its medoid
    cdef Py_ssize_t it = 0, n_swap = 0, j, b, best_b, best_j, t
    cdef double loss, best, newloss
    cdef bint converged = False
    cdef Py_ssize_t g
    cdef Py_ssize_t tb = thread_stride(1)
    cdef int[::1] bad = np.zeros(nt * tb, dtype=np.intc)          # per thread
    cdef bint checking = check_rows, found = False
    if check_rows and not level:
        raise ValueError("check_rows needs float64 and a vector listing (see fused_check)")
    with nogil:
        loss = nearest_two(diss, medoids, near_i, near_d, seco_i, seco_d, n_threads)
        while it < max_iter:
            it += 1
            removal_loss(near_i, near_d, seco_d, rloss)
            if level:
                kmb_round_up_f32(&seco_d[0], n, &seco_f[0])
            if group > 1:
                if dissim_t is double:
                    for g in prange((n + GROUP - 1) // GROUP, schedule="dynamic", chunksize=4,
                                    num_threads=n_threads):
                        t = threadid()
                        _group(diss, g * GROUP, &seco_f[0], &hits[t * GROUP * tn], tn, &near_i[0],
                               &near_d[0], &seco_d[0], &rloss[0], k, &ploss[t * tk], &cbest[0],
                               &cm[0], &bad[t * tb] if checking else NULL)
                    for b in range(k):
                        j = medoids[b]
                        if medoids[near_i[j]] == j:  # already a medoid (as below)
                            cbest[j] = 0.0
            else:
                for j in prange(n, schedule="dynamic", chunksize=16, num_threads=n_threads):
                    if medoids[near_i[j]] == j:     # already a medoid
                        cbest[j] = 0.0
                    else:
                        t = threadid()
                        cbest[j] = candidate_change(diss, j, level, &seco_f[0], &hits[t * tn],
                                                    &near_i[0], &near_d[0], &seco_d[0], &rloss[0],
                                                    &ploss[t * tk], k, &cm[j],
                                                    &bad[t * tb] if checking else NULL)
            if checking:
                checking = False                # every row has been read once
                for t in range(nt):
                    found |= bad[t * tb]
                if found:                       # a bad row: stop before any swap
                    break
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
    if found:
        return None
    return loss, it, n_swap, bool(converged)
