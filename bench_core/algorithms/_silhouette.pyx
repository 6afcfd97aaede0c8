# cython: language_level=3
"""Silhouette (Rousseeuw 1987) and medoid silhouette (Van der Laan et al. 2003) kernels.

Silhouette of point i in cluster A:  a(i) = mean dissimilarity to the other
members of A, b(i) = smallest mean dissimilarity to the members of another
cluster, s(i) = (b - a) / max(a, b), and s(i) = 0 for singletons (and for
a = b = 0).  Row i of the matrix holds the dissimilarities *from* i (as in
scikit-learn and kmedoids), so each row is read once, contiguously.

Medoid silhouette: with a(i), b(i) the distances to the nearest and the second
nearest medoid, s(i) = 1 - a/b (and 1 when a = 0).  The matrix is read as
diss[m, o] = dissimilarity of point o to medoid m (row = medoid), the
convention of every kernel in this package.
"""

from cython.parallel cimport prange, threadid
from libc.float cimport DBL_MAX
from libc.math cimport INFINITY, isfinite
from libc.stdlib cimport calloc, free, malloc

from ._common cimport dissim_t, thread_stride


cdef inline double _scatter(const dissim_t[:, ::1] diss, const int[::1] lab,
                            Py_ssize_t i, Py_ssize_t lo, Py_ssize_t hi,
                            double* acc, Py_ssize_t k) noexcept nogil:
    """acc[r*k + lab[j]] += diss[i, j] for j in [lo, hi), r = j mod 4 (four sets of sums
    so that consecutive points of one cluster do not wait on each other's store).

    Returns the smallest entry seen (+inf for none): the input check of the
    silhouette rides on this pass (NaN and infinities show in the sums).
    """
    cdef Py_ssize_t j = lo
    cdef double x0, x1, x2, x3, m0 = INFINITY, m1 = INFINITY
    while j + 4 <= hi:
        x0 = <double> diss[i, j]
        x1 = <double> diss[i, j + 1]
        x2 = <double> diss[i, j + 2]
        x3 = <double> diss[i, j + 3]
        acc[lab[j]] += x0
        acc[k + lab[j + 1]] += x1
        acc[2 * k + lab[j + 2]] += x2
        acc[3 * k + lab[j + 3]] += x3
        m0 = x0 if x0 < m0 else m0
        m1 = x1 if x1 < m1 else m1
        m0 = x2 if x2 < m0 else m0
        m1 = x3 if x3 < m1 else m1
        j += 4
    while j < hi:
        x0 = <double> diss[i, j]
        acc[lab[j]] += x0
        m0 = x0 if x0 < m0 else m0
        j += 1
    return m0 if m0 < m1 else m1


def silhouette_sum(const dissim_t[:, ::1] diss,   # IN  (n, n)
                   const int[::1] lab,            # IN  (n,) cluster 0..k-1
                   const long long[::1] size,     # IN  (k,) cluster sizes
                   double[::1] samples,           # OUT (n,) or (0,) when not wanted
                   int n_threads=1):
    """(sum over points of s(i), input flags); s(i) is stored in ``samples`` when it has length n.

    Row i is read once, contiguously; its entries are added to per-cluster sums
    (four interleaved sets, combined at the end). Point i itself is skipped, so
    a non-zero diagonal does not count. Threads take rows (each with its own
    sums, padded apart); s(i) is summed in point order afterwards, the same bits
    for any number of threads.

    The input check rides on the same pass: flag 1 when a row's sums are not
    finite (a NaN or an infinity, or sums beyond the float64 range), 2 when an
    off-diagonal entry is negative. The sum is meaningless when a flag is set.
    """
    cdef Py_ssize_t n = diss.shape[0], k = size.shape[0], i
    cdef Py_ssize_t nt = max(n_threads, 1)
    cdef Py_ssize_t ts = thread_stride(4 * k)
    cdef bint keep = samples.shape[0] == n
    cdef double total = 0.0
    cdef int flags = 0
    cdef double* acc = <double*> calloc(ts * nt, sizeof(double))
    cdef double* s = &samples[0] if keep else <double*> malloc(n * sizeof(double))
    cdef unsigned char* bad = <unsigned char*> calloc(n, 1)
    if acc == NULL or s == NULL or bad == NULL:
        free(acc)
        free(bad)
        if not keep:
            free(s)
        raise MemoryError()
    try:
        with nogil:
            for i in prange(n, schedule="dynamic", chunksize=16, num_threads=n_threads):
                s[i] = _silhouette_of(diss, lab, size, i, acc + ts * threadid(), k, &bad[i])
            for i in range(n):
                total += s[i]
                flags = flags | bad[i]
    finally:
        free(acc)
        free(bad)
        if not keep:
            free(s)
    return total, flags


cdef inline double _silhouette_of(const dissim_t[:, ::1] diss, const int[::1] lab,
                                  const long long[::1] size, Py_ssize_t i,
                                  double* acc, Py_ssize_t k,
                                  unsigned char* bad) noexcept nogil:
    """s(i) from row i (``acc``: 4k scratch sums); the row's input flags into ``bad``."""
    cdef Py_ssize_t c, own
    cdef double s = 0.0, a, b, mean, lo, lo2, tot = 0.0
    for c in range(4 * k):
        acc[c] = 0.0
    lo = _scatter(diss, lab, i, 0, i, acc, k)
    lo2 = _scatter(diss, lab, i, i + 1, diss.shape[0], acc, k)
    for c in range(4 * k):
        tot += acc[c]
    bad[0] = (0 if isfinite(tot) else 1) | (2 if (lo < 0 or lo2 < 0) else 0)
    own = lab[i]
    if size[own] > 1:
        a = ((acc[own] + acc[k + own]) + (acc[2 * k + own] + acc[3 * k + own])) / (size[own] - 1)
        b = -1.0
        for c in range(k):
            if c == own:
                continue
            mean = ((acc[c] + acc[k + c]) + (acc[2 * k + c] + acc[3 * k + c])) / size[c]
            if b < 0 or mean < b:
                b = mean
        if a > b:
            s = (b - a) / a
        elif b > 0:
            s = (b - a) / b
    return s


cdef inline int _entry_flag(double x) noexcept nogil:
    """0 for a finite, non-negative entry; else 1 for NaN or an infinity, | 2 when negative."""
    if x >= 0 and x <= DBL_MAX:
        return 0
    return (0 if -DBL_MAX <= x <= DBL_MAX else 1) | (2 if x < 0 else 0)


def medoid_silhouette_sum(const dissim_t[:, ::1] diss,      # IN  (n, n)
                          const long long[::1] medoids,     # IN  (k,) k >= 2
                          double[::1] samples,              # OUT (n,) or (0,) when not wanted
                          int n_threads=1):
    """(sum over points of a(i)/b(i) (0 when a = 0), input flags); the value is 1 - sum/n.

    Summed in point order in double, as the ``kmedoids`` package does, so the
    result is bit-identical to it on symmetric input (and for any number of
    threads: threads compute the ratios, one sum adds them in order).

    The input check of the k medoid rows rides on the same pass (one parallel
    region, one read of each row): flag 1 for a NaN or an infinity, 2 for a
    negative entry (an OR of per-entry flags, so the same for any number of
    threads). The sum is meaningless when a flag is set.
    """
    cdef Py_ssize_t n = diss.shape[0], k = medoids.shape[0], o, m
    cdef bint keep = samples.shape[0] == n
    cdef double total = 0.0
    cdef double* r = <double*> malloc(n * sizeof(double))
    cdef dissim_t d, d1, d2
    cdef int flags = 0, f
    if r == NULL:
        raise MemoryError()
    with nogil:
        for o in prange(n, schedule="static", num_threads=n_threads):
            d1 = diss[medoids[0], o]
            d2 = diss[medoids[1], o]
            f = _entry_flag(<double> d1) | _entry_flag(<double> d2)
            if d2 < d1:
                d = d1
                d1 = d2
                d2 = d
            for m in range(2, k):
                d = diss[medoids[m], o]
                f = f | _entry_flag(<double> d)
                if d < d1:
                    d2 = d1
                    d1 = d
                elif d < d2:
                    d2 = d
            flags |= f
            r[o] = 0.0
            if d1 != 0:
                r[o] = <double> d1 / <double> d2
        for o in range(n):
            if keep:
                samples[o] = 1.0 - r[o]
            total += r[o]
    free(r)
    return total, flags
