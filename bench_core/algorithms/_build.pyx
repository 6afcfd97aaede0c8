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
fresh gain are re-evaluated. The bounds are kept in a binary heap ordered by
(bound, lower index first), and stale candidates are taken from its top in
batches of ``BATCH`` (the same batches for any thread count, so the number of
evaluations does not depend on it either), which threads evaluate together.
A step ends when the top of the heap is fresh: its gain is at least every
other bound, hence every other gain. This returns exactly the medoids of plain
BUILD (the floating-point sum of one candidate is always taken in the same
order, so it is monotone too); ties go to the lowest index.
"""

import numpy as np

from cython.parallel cimport prange

from ._common cimport dissim_t
from ._scan cimport scan_entries

cdef extern from "build_gain.h":
    enum: KMB_HAVE_GAIN_SSE2
    void kmb_gain4_f64(const double** rows, const double* near,
                       Py_ssize_t lo, Py_ssize_t hi, double* g) noexcept nogil
    void kmb_gain4_f32(const float** rows, const double* near,
                       Py_ssize_t lo, Py_ssize_t hi, double* g) noexcept nogil
    void kmb_gain4_f64_avx2(const double** rows, const double* near,
                            Py_ssize_t lo, Py_ssize_t hi, double* g) noexcept nogil
    void kmb_gain4_f32_avx2(const float** rows, const double* near,
                            Py_ssize_t lo, Py_ssize_t hi, double* g) noexcept nogil
    int kmb_gain_level() noexcept nogil
    void kmb_gain_limit(int level) noexcept nogil
    void kmb_set_prefetch(Py_ssize_t entries, double min_bytes) noexcept nogil
    Py_ssize_t kmb_default_prefetch() noexcept nogil
    const double KMB_PREFETCH_MIN_BYTES
    double kmb_sum_check_f64(const double* x, Py_ssize_t lo, Py_ssize_t hi,
                             int* flags) noexcept nogil
    double kmb_sum_check_f64_avx2(const double* x, Py_ssize_t lo, Py_ssize_t hi,
                                  int* flags) noexcept nogil


cdef enum:
    # stale candidates re-evaluated together in a lazy step: 8 groups of four rows, so
    # up to 8 threads share a batch; 8 candidates fed two threads at most, and one
    # parallel region per 8 took 15 % longer on two threads (Zen 5) for 0.15 % fewer
    # evaluations (docs/guide/threads.md, run I)
    BATCH = 32


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


cdef inline double _first_step_row(const dissim_t* row, Py_ssize_t i, Py_ssize_t n,
                                   bint check, int* flags) noexcept nogil:
    """The sum of row i without its diagonal entry, and with ``check`` the flags of the
    whole row: in the same loop for float64 (build_gain.h in SSE2 or AVX2 at the gains'
    level, the same additions as ``_row_sum``), else by ``scan_entries`` in a second
    pass while the row is in cache."""
    cdef double s
    if dissim_t is double:
        if KMB_HAVE_GAIN_SSE2 and check:
            if kmb_gain_level():
                s = (kmb_sum_check_f64_avx2(row, 0, i, flags)
                     + kmb_sum_check_f64_avx2(row, i + 1, n, flags))
            else:
                s = kmb_sum_check_f64(row, 0, i, flags) + kmb_sum_check_f64(row, i + 1, n, flags)
            flags[0] |= scan_entries(row + i, 1)
            return s
    s = _row_sum(row, 0, i) + _row_sum(row, i + 1, n)
    if check:
        flags[0] |= scan_entries(row, n)
    return s


cdef inline double _gain(const dissim_t* row, const double* near,
                         Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """sum of max(near[o] - row[o], 0) over o in [lo, hi), four partial sums.

    The definition: float64 and float32 rows take the same additions, four rows at a
    time, in SSE2 or AVX2 registers (``_gains``, build_gain.h) where the compiler targets
    x86-64.
    """
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


cdef inline void _gains(const dissim_t[:, ::1] diss, const Py_ssize_t* idx, Py_ssize_t m,
                        const double* near, double* bound) noexcept nogil:
    """bound[idx[q]] = the gain of row idx[q], for q < m <= 4 (four rows share one pass)."""
    cdef const dissim_t* rows[4]
    cdef double g[4]
    cdef Py_ssize_t q, n = diss.shape[1]
    if KMB_HAVE_GAIN_SSE2 and (dissim_t is double or dissim_t is float):
        for q in range(4):
            rows[q] = &diss[idx[q if q < m else 0], 0]
        if dissim_t is double:
            if kmb_gain_level():
                kmb_gain4_f64_avx2(rows, near, 0, n, g)
            else:
                kmb_gain4_f64(rows, near, 0, n, g)
        elif dissim_t is float:
            if kmb_gain_level():
                kmb_gain4_f32_avx2(rows, near, 0, n, g)
            else:
                kmb_gain4_f32(rows, near, 0, n, g)
    else:
        for q in range(m):
            g[q] = _gain(&diss[idx[q], 0], near, 0, n)
    for q in range(m):
        bound[idx[q]] = g[q]


def _limit_gain_level(int level):
    """Testing/benchmark switch: the highest vector level of the gains and of the checked
    first step (0 SSE2, 1 AVX2)."""
    kmb_gain_limit(level)


def _set_prefetch(Py_ssize_t entries=-1, double min_bytes=KMB_PREFETCH_MIN_BYTES):
    """Benchmark and test switch: how far ahead the AVX2 gains prefetch their rows, in
    entries (0: none), for matrices over ``min_bytes``. The gains are the same bits
    either way. No arguments (or a negative distance): the defaults, with the distance
    chosen for this CPU (:func:`_prefetch_default`)."""
    kmb_set_prefetch(entries, min_bytes)


def _prefetch_default():
    """The prefetch distance, in entries, chosen for this CPU (256 on AMD family 26
    and on Intel with AVX512-FP16, 64 elsewhere; see ``cpu_level.h``)."""
    return kmb_default_prefetch()


kmb_set_prefetch(-1, KMB_PREFETCH_MIN_BYTES)  # this CPU's distance, from import on


def gain_level():
    """The vector level of BUILD's gains on this CPU: "scalar", "sse2" or "avx2"."""
    if not KMB_HAVE_GAIN_SSE2:
        return "scalar"
    return ("sse2", "avx2")[kmb_gain_level()]


def _gain_rows(const dissim_t[:, ::1] diss, const Py_ssize_t[::1] rows, const double[::1] near):
    """Testing: the gains of ``rows`` as BUILD computes them (four rows per pass)."""
    cdef Py_ssize_t q, m = rows.shape[0]
    out = np.full(diss.shape[0], np.nan)
    cdef double[::1] bound = out
    for q in range(0, m, 4):
        _gains(diss, &rows[q], min(4, m - q), &near[0], &bound[0])
    return out[np.asarray(rows)]


def _first_step(const dissim_t[:, ::1] diss, bint check):
    """Testing: BUILD's first step, the row sums without the diagonal, and the OR of the flags."""
    cdef Py_ssize_t i, n = diss.shape[0]
    cdef int flags = 0
    out = np.empty(n)
    cdef double[::1] sums = out
    for i in range(n):
        sums[i] = _first_step_row(&diss[i, 0], i, n, check, &flags)
    return out, flags


def build_kernel(const dissim_t[:, ::1] diss,     # IN  (n, n)
                 long long[::1] medoids,          # OUT (k,)
                 double[::1] near,                # OUT (n,) distance to the nearest medoid
                 int n_threads=1, bint check=False, Py_ssize_t batch_size=BATCH):
    """PAM BUILD; returns the number of gain evaluations (rows read after the first step).

    ``check``: the first step, which reads every row whole for the row sums, also
    checks its entries (in the same loop for float64, else ``scan_entries`` while the
    row is in cache) and returns None before any choice if one is NaN, infinite or
    negative; the caller then scans the matrix for the message. So a driver reads the
    matrix once less.

    ``batch_size``: stale candidates re-evaluated together in a lazy step (for
    measurements; the medoids do not depend on it, the number of evaluations does).

    Threads split the row sums of the first step and the gains of the second
    (2 n^2 reads) and each batch of stale candidates of the lazy steps; every
    sum keeps its order, so the medoids and the number of gain evaluations do
    not depend on the thread count.
    """
    cdef Py_ssize_t n = diss.shape[0], k = medoids.shape[0]
    cdef double[::1] bound = np.empty(n, dtype=np.float64)
    cdef long long[::1] stamp = np.zeros(n, dtype=np.int64)     # step of bound[i]; -1: medoid
    cdef Py_ssize_t[::1] heap = np.empty(n, dtype=np.intp)      # candidates, best bound on top
    cdef Py_ssize_t[::1] every = np.arange(n, dtype=np.intp)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    cdef Py_ssize_t[::1] batch = np.empty(batch_size, dtype=np.intp)
    cdef Py_ssize_t i, o, l, c, q, nb, h = 0, evals = 0
    cdef double best
    cdef const dissim_t* row
    cdef int flags = 0
    cdef int[::1] rowflags = np.zeros(n if check else 1, dtype=np.intc)
    with nogil:
        # first medoid: smallest total dissimilarity (ties: lowest index)
        for i in prange(n, schedule="static", num_threads=n_threads):
            bound[i] = _first_step_row(&diss[i, 0], i, n, check, &rowflags[i])
        if check:
            for i in range(n):
                flags |= rowflags[i]
    if flags:
        return None
    with nogil:
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
        if k > 1:                               # no bounds yet: evaluate everybody
            for q in prange((n + 3) // 4, schedule="static", num_threads=n_threads):
                _gains(diss, &every[4 * q], min(4, n - 4 * q), &near[0], &bound[0])
            for i in range(n):
                if stamp[i] >= 0:
                    stamp[i] = 1
                    heap[h] = i
                    h += 1
            evals = h
            for i in range(h // 2 - 1, -1, -1):
                _sift_down(&heap[0], h, i, &bound[0])
        for l in range(1, k):
            while stamp[heap[0]] != l:
                # take the stale candidates from the top, re-evaluate them, put them back
                nb = 0
                while nb < batch_size and h > 0 and stamp[heap[0]] != l:
                    batch[nb] = heap[0]
                    nb += 1
                    h -= 1
                    heap[0] = heap[h]
                    _sift_down(&heap[0], h, 0, &bound[0])
                if n_threads > 1 and nb > 4:
                    for q in prange((nb + 3) // 4, schedule="static", chunksize=1,
                                    num_threads=n_threads):
                        _gains(diss, &batch[4 * q], min(4, nb - 4 * q), &near[0], &bound[0])
                else:
                    for q in range(0, nb, 4):
                        _gains(diss, &batch[q], min(4, nb - q), &near[0], &bound[0])
                for q in range(nb):
                    stamp[batch[q]] = l
                    heap[h] = batch[q]
                    h += 1
                    _sift_up(&heap[0], h - 1, &bound[0])
                evals += nb
            c = heap[0]                          # fresh and on top: the winner
            h -= 1
            heap[0] = heap[h]
            _sift_down(&heap[0], h, 0, &bound[0])
            medoids[l] = c
            stamp[c] = -1
            row = &diss[c, 0]
            for o in range(n):
                if <double> row[o] < near[o]:
                    near[o] = <double> row[o]
            near[c] = 0.0
    return evals


cdef inline bint _before(Py_ssize_t a, Py_ssize_t b, const double* bound) noexcept nogil:
    """Heap order: the larger bound first, the lower index among equal bounds."""
    return bound[a] > bound[b] or (bound[a] == bound[b] and a < b)


cdef inline void _sift_down(Py_ssize_t* heap, Py_ssize_t h, Py_ssize_t i,
                            const double* bound) noexcept nogil:
    cdef Py_ssize_t c, x = heap[i]
    while True:
        c = 2 * i + 1
        if c >= h:
            break
        if c + 1 < h and _before(heap[c + 1], heap[c], bound):
            c += 1
        if not _before(heap[c], x, bound):
            break
        heap[i] = heap[c]
        i = c
    heap[i] = x


cdef inline void _sift_up(Py_ssize_t* heap, Py_ssize_t i, const double* bound) noexcept nogil:
    cdef Py_ssize_t p, x = heap[i]
    while i > 0:
        p = (i - 1) // 2
        if not _before(x, heap[p], bound):
            break
        heap[i] = heap[p]
        i = p
    heap[i] = x
