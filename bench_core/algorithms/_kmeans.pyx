# cython: language_level=3
"""Kernels of Lloyd's k-means (Lloyd 1982): one assignment/accumulation pass and the inertia.

Assignment uses the expansion ``||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2`` with the
``x.c`` products of a block of rows computed by one BLAS ``gemm``; ``||x||^2`` is the
same for every centre and is left out of the comparison. The expansion loses digits
to cancellation when ``x`` is close to a centre, so for every point whose runner-up
is within twice the rounding-error bound of the best centre, the candidates are
re-ranked with the exact sum of squared differences: the label is then the true
nearest centre (ties to the lowest index), not an artefact of rounding.

Error bound (Higham, *Accuracy and Stability of Numerical Algorithms*, 3.1): a
dot product of length d in unit roundoff u is off by at most ``gamma_d |x|.|c|
<= gamma_d ||x|| ||c||`` and ``||c||^2`` by ``gamma_d ||c||^2``, so the computed
``||c||^2 - 2 x.c`` is within ``(d + 2) u (||x|| + ||c||)^2`` of its true value.
If the computed winner ``a`` is not the true winner ``j*``, then
``D[j*] <= D[a] + 2 * bound``; every centre within that margin is a candidate.

Cluster sums and weights are accumulated in double whatever the input type.
"""

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.float cimport DBL_EPSILON, FLT_EPSILON
from libc.math cimport sqrt
from libc.stdlib cimport free, malloc
from scipy.linalg.cython_blas cimport dgemm, sgemm

from ._common cimport thread_stride

# Rows per gemm block (as scikit-learn's CHUNK_SIZE): the block of products
# (CHUNK x k) stays in cache while it is scanned.
cdef enum:
    CHUNK = 256


cdef inline void _gemm_neg2_xct(const floating* X, const floating* C, floating* D,
                                int m, int k, int d) noexcept nogil:
    """D (m x k, row-major) += -2 X C^T with X (m x d) and C (k x d) row-major.

    BLAS is column-major: a row-major (m x k) array is a column-major (k x m)
    one, so we ask for D^T = C X^T, i.e. gemm('T', 'N') on the same buffers.
    """
    cdef char ta = b'T'
    cdef char tb = b'N'
    cdef floating alpha = -2.0
    cdef floating beta = 1.0
    if floating is double:
        dgemm(&ta, &tb, &k, &m, &d, &alpha, <double*> C, &d, <double*> X, &d, &beta, D, &k)
    else:
        sgemm(&ta, &tb, &k, &m, &d, &alpha, <float*> C, &d, <float*> X, &d, &beta, D, &k)


cdef inline double _sqdist(const floating* x, const floating* c, Py_ssize_t d) noexcept nogil:
    """Exact (no cancellation) squared Euclidean distance, accumulated in double."""
    cdef double s = 0.0, t
    cdef Py_ssize_t i
    for i in range(d):
        t = <double> x[i] - <double> c[i]
        s += t * t
    return s


cdef inline long long _assign_block(const floating[:, ::1] X, const double[::1] x_norms,
                                    const floating[:, ::1] centers, const floating* cn2,
                                    double cmax, double gamma, long long[::1] labels,
                                    floating* D,          # SCRATCH (CHUNK * k,)
                                    Py_ssize_t start, Py_ssize_t m) noexcept nogil:
    """Labels of rows start .. start + m - 1; returns how many needed exact re-ranking."""
    cdef Py_ssize_t d = X.shape[1], k = centers.shape[0], i, j, lab, row
    cdef double err, margin, best, dj
    cdef long long n_exact = 0
    cdef int ncand
    for i in range(m):
        for j in range(k):
            D[i * k + j] = cn2[j]
    _gemm_neg2_xct(&X[start, 0], &centers[0, 0], D, <int> m, <int> k, <int> d)
    for i in range(m):
        row = start + i
        lab = 0
        best = D[i * k]
        for j in range(1, k):
            if D[i * k + j] < best:
                best = D[i * k + j]
                lab = j
        # Candidates within the rounding margin of the winner?
        err = gamma * (x_norms[row] + cmax) * (x_norms[row] + cmax)
        margin = best + 2.0 * err
        ncand = 0
        for j in range(k):
            if D[i * k + j] <= margin:
                ncand += 1
        if ncand > 1:
            n_exact += 1
            best = -1.0
            for j in range(k):
                if D[i * k + j] <= margin:
                    dj = _sqdist(&X[row, 0], &centers[j, 0], d)
                    if best < 0.0 or dj < best:
                        best = dj
                        lab = j
        labels[row] = lab
    return n_exact


cdef inline void _accumulate(const floating[:, ::1] X, const double[::1] weights,
                             const long long[::1] labels, double[:, ::1] sums,
                             double[::1] wsum, Py_ssize_t start, Py_ssize_t m) noexcept nogil:
    """Add rows start .. start + m - 1, weighted, to their clusters' sums, in row order."""
    cdef Py_ssize_t row, t, d = X.shape[1]
    cdef long long lab
    cdef double w
    for row in range(start, start + m):
        lab = labels[row]
        w = weights[row]
        wsum[lab] += w
        for t in range(d):
            sums[lab, t] += <double> X[row, t] * w


def lloyd_pass(const floating[:, ::1] X,         # IN  (n, d) points
               const double[::1] x_norms,        # IN  (n,)   ||x|| (Euclidean norms)
               const double[::1] weights,        # IN  (n,)   sample weights
               const floating[:, ::1] centers,   # IN  (k, d) current centres
               double[:, ::1] sums,              # OUT (k, d) weighted sum of each cluster's points
               double[::1] wsum,                 # OUT (k,)   weight of each cluster
               long long[::1] labels,            # OUT (n,)   nearest centre
               bint update=True,
               int n_threads=1):
    """Assign every point to its nearest centre; with ``update`` also accumulate the
    weighted cluster sums (the M-step numerators), in point order.

    Threads take blocks of rows (each with its own block of products; call with
    BLAS limited to one thread); the label of a point does not depend on its
    block, and the sums are accumulated afterwards in point order, so results do
    not depend on the thread count.

    Returns the number of points whose label was decided by exact recomputation.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k = centers.shape[0]
    cdef Py_ssize_t nt = max(n_threads, 1), nblk = (n + CHUNK - 1) // CHUNK
    cdef Py_ssize_t blk, start, j, t
    cdef double u = (DBL_EPSILON if floating is double else FLT_EPSILON) / 2.0
    cdef double gamma = (d + 4) * u, cmax = 0.0, s
    cdef long long n_exact = 0
    cdef floating* D
    cdef floating* cn2 = <floating*> malloc(k * sizeof(floating))
    cdef double* cnorm = <double*> malloc(k * sizeof(double))
    cdef long long* bex = <long long*> malloc(max(nblk, 1) * sizeof(long long))
    if cn2 == NULL or cnorm == NULL or bex == NULL:
        free(cn2)
        free(cnorm)
        free(bex)
        raise MemoryError()
    D = <floating*> malloc(nt * thread_stride(CHUNK * k) * sizeof(floating))
    if D == NULL:
        free(cn2)
        free(cnorm)
        free(bex)
        raise MemoryError()
    with nogil:
        for j in range(k):
            s = 0.0
            for t in range(d):
                s += <double> centers[j, t] * <double> centers[j, t]
            cn2[j] = <floating> s
            cnorm[j] = sqrt(s)
            if cnorm[j] > cmax:
                cmax = cnorm[j]
        if update:
            for j in range(k):
                wsum[j] = 0.0
                for t in range(d):
                    sums[j, t] = 0.0
        if nt == 1:
            # one thread: each block's rows are added to the sums right after they are
            # labelled, while they are still in cache (the same additions in the same
            # point order as the pass below, which reads X a second time)
            for blk in range(nblk):
                start = blk * CHUNK
                bex[blk] = _assign_block(X, x_norms, centers, cn2, cmax, gamma, labels, D,
                                         start, min(<Py_ssize_t> CHUNK, n - start))
                if update:
                    _accumulate(X, weights, labels, sums, wsum, start,
                                min(<Py_ssize_t> CHUNK, n - start))
        else:
            for blk in prange(nblk, schedule="dynamic", num_threads=n_threads):
                start = blk * CHUNK
                bex[blk] = _assign_block(X, x_norms, centers, cn2, cmax, gamma, labels,
                                         D + threadid() * thread_stride(CHUNK * k), start,
                                         min(<Py_ssize_t> CHUNK, n - start))
            if update:
                _accumulate(X, weights, labels, sums, wsum, 0, n)
        for blk in range(nblk):
            n_exact += bex[blk]
    free(D)
    free(cn2)
    free(cnorm)
    free(bex)
    return n_exact


def inertia(const floating[:, ::1] X,        # IN (n, d)
            const double[::1] weights,       # IN (n,)
            const floating[:, ::1] centers,  # IN (k, d)
            const long long[::1] labels,     # IN (n,)
            double[::1] dist,                # OUT (n,) squared distance to the own centre
            int n_threads=1):
    """Sum of weighted squared distances to the assigned centres, computed exactly
    (the distances by the threads, their sum in point order)."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], i
    cdef double total = 0.0
    with nogil:
        for i in prange(n, schedule="static", num_threads=n_threads):
            dist[i] = _sqdist(&X[i, 0], &centers[labels[i], 0], d)
        for i in range(n):
            total += weights[i] * dist[i]
    return total
