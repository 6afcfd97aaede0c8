# cython: language_level=3
"""PAM SWAP (Kaufman & Rousseeuw 1987/1990): best swap per iteration, O(k (n-k)^2).

For every non-medoid j and every medoid m the loss change of the swap is
summed over all points o separately (the original algorithm, not the FastPAM1
decomposition), but the k sums of one candidate are accumulated together in one
pass over the row d(j, .): for each point the per-medoid term is either the
"o's medoid is removed" term (when m is o's nearest) or the "j is nearer" term
(otherwise). gcc 12 compiles that loop over m to scalar code for the x86-64 baseline
(seen in the disassembly), the k sums loaded and stored for every point.

Threads: the candidates of one iteration are split between threads, each keeps
the best medoid of every candidate, and the best swap is then picked in
candidate order: the first (candidate, medoid) pair of the smallest change, as
one thread picks it. The swap itself is sequential.

Where the CPU has AVX2, a candidate's k sums are kept in registers, 16 per pass over
its row (pam_candidate.h); they take the additions of ``_pam_candidate`` in the same
order, so the changes are the same bits.
"""

import numpy as np

from cython.parallel cimport prange, threadid

from ._common cimport dissim_t, do_swap, nearest_two, thread_stride

cdef extern from "pam_candidate.h":
    void kmb_pam_candidate(const void* row, int kind, Py_ssize_t n, Py_ssize_t j,
                           const int* near_i, const double* near_d, const double* seco_d,
                           double* acc, Py_ssize_t k) noexcept nogil
    int kmb_pam_level() noexcept nogil
    void kmb_pam_limit(int level) noexcept nogil


def _limit_pam_level(int level):
    """Testing/benchmark switch: 0 the scalar candidate loop, 1 AVX2 where the CPU has it."""
    kmb_pam_limit(level)


def pam_level():
    """The candidates' sums on this CPU: "scalar" or "avx2"."""
    return ("scalar", "avx2")[kmb_pam_level()]


cdef inline void _pam_candidate(const dissim_t* row, Py_ssize_t n, Py_ssize_t j,
                                const int* near_i, const double* near_d,
                                const double* seco_d, double* acc,
                                Py_ssize_t k) noexcept nogil:
    """acc[m] = loss change of swapping medoid m with candidate j (all m at once): the
    definition, and the path where the CPU lacks AVX2."""
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


cdef inline void _candidate(const dissim_t* row, Py_ssize_t n, Py_ssize_t j,
                            const int* near_i, const double* near_d, const double* seco_d,
                            double* acc, Py_ssize_t k, int level) noexcept nogil:
    """:c:func:`_pam_candidate` at ``level`` (0 the scalar loop, 1 AVX2, pam_candidate.h)."""
    if not level:
        _pam_candidate(row, n, j, near_i, near_d, seco_d, acc, k)
    else:   # kind: 0 double, 1 float, 2 int, 3 long long (pam_candidate.h)
        kmb_pam_candidate(row, 0 if dissim_t is double else 1 if dissim_t is float
                          else 2 if dissim_t is int else 3,
                          n, j, near_i, near_d, seco_d, acc, k)


def _candidate_sums(const dissim_t[:, ::1] diss, const long long[::1] medoids):
    """Testing: the loss change of every swap (candidate j, medoid m) from ``medoids``, as
    the kernel's first iteration sums it at the current level; (n, k), rows of medoids NaN."""
    cdef Py_ssize_t n = diss.shape[0], k = medoids.shape[0], j
    cdef int[::1] near_i = np.empty(n, dtype=np.intc), seco_i = np.empty(n, dtype=np.intc)
    cdef double[::1] near_d = np.empty(n), seco_d = np.empty(n)
    out = np.full((n, k), np.nan)
    cdef double[::1] acc = np.empty(thread_stride(k))
    cdef int level = kmb_pam_level()
    nearest_two(diss, medoids, near_i, near_d, seco_i, seco_d, 1)
    for j in range(n):
        if medoids[near_i[j]] == j:
            continue
        _candidate(&diss[j, 0], n, j, &near_i[0], &near_d[0], &seco_d[0], &acc[0], k, level)
        out[j] = np.asarray(acc[:k])
    return out


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
    cdef int level = kmb_pam_level()
    with nogil:
        loss = nearest_two(diss, medoids, near_i, near_d, seco_i, seco_d, n_threads)
        while it < max_iter:
            it += 1
            for j in prange(n, schedule="dynamic", chunksize=4, num_threads=n_threads):
                if medoids[near_i[j]] == j:     # already a medoid
                    cbest[j] = 0.0
                else:
                    a = &acc[threadid() * ts]
                    _candidate(&diss[j, 0], n, j, &near_i[0], &near_d[0], &seco_d[0], a, k,
                               level)
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
