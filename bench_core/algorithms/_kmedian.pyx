# cython: language_level=3
"""Kernels of Lloyd-style k-median: L1 assignment and coordinate-wise (weighted) medians.

For a fixed partition the L1 objective ``sum_i w_i ||x_i - c||_1`` separates into one
1-D problem per coordinate, minimised by a (weighted) median of that coordinate's
values (Jain & Dubes 1988; Bradley, Mangasarian & Street 1997). Medians are found by
selection (three-way-partition quickselect, expected linear time, robust to the many
repeated values of pixel data), never by sorting.

Median rules (both minimise the objective; the choice only fixes ties):
* unweighted, even count: the midpoint of the two middle values (as ``numpy.median``
  and pyclustering's ``kmedians``);
* weighted: the *lower weighted median*, the smallest value ``v`` whose cumulative
  weight ``W(<= v)`` reaches half the total; a cluster of total weight 0 takes its
  smallest value.

The assignment computes L1 distances with early abandoning: a centre is dropped as
soon as its partial sum exceeds the best full distance so far (starting from the
point's previous centre); ties go to the lowest centre index. The sums are vectorised
(SSE2/NEON through GCC/Clang vector extensions) in a fixed order, several centres at a
time, so every distance is bitwise the one of a plain four-accumulator loop.

The median update takes one coordinate (one row of X^T, in cache) at a time and skips
selection when it can: constant coordinates, middle order statistics equal to the
minimum or maximum (mostly blank pixels), values lo + small integers (counting sort).
All routes give the value selection gives, the sign of a zero included.
"""

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY, fabs
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset

from ._common cimport thread_stride

cdef enum:
    HIST_BINS = 1024  # counting-sort medians for values lo + {0, ..., HIST_BINS - 1}


cdef extern from "kmedian_l1.h":
    void kmb_gather_float(const float* row, const Py_ssize_t* idx, Py_ssize_t m, double* a,
                          double* lo, double* hi) nogil
    void kmb_gather_double(const double* row, const Py_ssize_t* idx, Py_ssize_t m, double* a,
                           double* lo, double* hi) nogil
    void kmb_count2(const double* a, Py_ssize_t m, double lo, double hi, Py_ssize_t* nlo,
                    Py_ssize_t* nhi) nogil
    Py_ssize_t kmb_count_zeros(const double* a, Py_ssize_t m, Py_ssize_t* nzero) nogil
    double kmb_l1_float(const float* x, const double* c, Py_ssize_t d, double bound) nogil
    double kmb_l1_double(const double* x, const double* c, Py_ssize_t d, double bound) nogil
    void kmb_l1_2pts_float(const float* x, const double* c, const float* y, const double* e,
                           Py_ssize_t d, double* out) nogil
    void kmb_l1_2pts_double(const double* x, const double* c, const double* y,
                            const double* e, Py_ssize_t d, double* out) nogil
    void kmb_l1x4_float(const float* x, const double** c, Py_ssize_t d, double bound,
                        double* out) nogil
    void kmb_l1x4_double(const double* x, const double** c, Py_ssize_t d, double bound,
                         double* out) nogil


cdef inline double _l1(const floating* x, const double* c, Py_ssize_t d,
                       double bound) noexcept nogil:
    """L1 distance, or any value > bound once a partial sum exceeds bound."""
    if floating is float:
        return kmb_l1_float(x, c, d, bound)
    else:
        return kmb_l1_double(x, c, d, bound)


cdef inline void _l1x4(const floating* x, const double** c, Py_ssize_t d, double bound,
                       double* out) noexcept nogil:
    """out[g] = _l1(x, c[g], d, bound) for g < 4, computed together."""
    if floating is float:
        kmb_l1x4_float(x, c, d, bound, out)
    else:
        kmb_l1x4_double(x, c, d, bound, out)


cdef inline void _l1_2pts(const floating* x, const double* c, const floating* y,
                          const double* e, Py_ssize_t d, double* out) noexcept nogil:
    """out = (_l1(x, c, d, inf), _l1(y, e, d, inf)), computed together."""
    if floating is float:
        kmb_l1_2pts_float(x, c, y, e, d, out)
    else:
        kmb_l1_2pts_double(x, c, y, e, d, out)


cdef inline void _assign_pair(const floating[:, ::1] X, const double[:, ::1] C,
                              long long[::1] labels, double[::1] dist, Py_ssize_t i0,
                              Py_ssize_t* others) noexcept nogil:
    """assign_l1 for points i0 and i0 + 1 (if any); ``others``: k scratch entries."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k = C.shape[0]
    cdef Py_ssize_t i, j, j0, j1, lab, r, g, size, nothers
    cdef double best, s
    cdef double inf = INFINITY
    cdef double out[4]
    cdef double first[2]
    cdef const double* cs[4]
    for i in range(i0, min(i0 + 2, n)):
        j0 = labels[i]
        if j0 < 0 or j0 >= k:
            j0 = 0
        if i == i0:  # the previous centres of points i and i + 1 together
            if i + 1 < n:
                j1 = labels[i + 1]
                if j1 < 0 or j1 >= k:
                    j1 = 0
                _l1_2pts(&X[i, 0], &C[j0, 0], &X[i + 1, 0], &C[j1, 0], d, first)
            else:
                first[0] = _l1(&X[i, 0], &C[j0, 0], d, inf)
        best = first[i - i0]
        lab = j0
        nothers = 0
        for j in range(k):
            if j != j0:
                others[nothers] = j
                nothers += 1
        r = 0
        while r < nothers:
            if r + 4 <= nothers:
                for g in range(4):
                    cs[g] = &C[others[r + g], 0]
                _l1x4(&X[i, 0], cs, d, best, out)
                size = 4
            else:
                out[0] = _l1(&X[i, 0], &C[others[r], 0], d, best)
                size = 1
            for g in range(size):
                j = others[r + g]
                s = out[g]
                if s < best or (s == best and j < lab):
                    best = s
                    lab = j
            r += size
        labels[i] = lab
        dist[i] = best


def assign_l1(const floating[:, ::1] X,     # IN    (n, d)
              const double[:, ::1] C,       # IN    (k, d) centres
              long long[::1] labels,        # INOUT (n,)  previous labels (or -1), then nearest centre
              double[::1] dist,             # OUT   (n,)  L1 distance to the nearest centre
              int n_threads=1):
    """Nearest centre in L1 for every point (ties to the lowest index).

    The previous centre first (its distance bounds the others), then the other centres
    four at a time against the best distance so far, their results taken in index order:
    a centre abandoned above an older bound is above the current best too, so labels and
    distances are those of testing one centre at a time. Threads take pairs of points
    (each point's result depends on nothing else).
    """
    cdef Py_ssize_t n = X.shape[0], k = C.shape[0], p
    cdef Py_ssize_t nt = max(n_threads, 1)
    cdef Py_ssize_t* others = <Py_ssize_t*> malloc(thread_stride(max(k, 1)) * nt * sizeof(Py_ssize_t))
    if others == NULL:
        raise MemoryError()
    with nogil:
        for p in prange((n + 1) // 2, schedule="dynamic", chunksize=32, num_threads=n_threads):
            _assign_pair(X, C, labels, dist, 2 * p, others + thread_stride(max(k, 1)) * threadid())
    free(others)


def l1_to_row(const floating[:, ::1] X,    # IN    (n, d)
              Py_ssize_t p,                # IN    row index of the new centre
              double[::1] closest):        # INOUT (n,) distance to the nearest centre so far
    """closest[i] = min(closest[i], ||x_i - x_p||_1) (k-medians++ seeding)."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], i, t
    cdef double s, b
    with nogil:
        for i in range(n):
            b = closest[i]
            s = 0.0
            t = 0
            while t < d:
                s += abs(<double> X[i, t] - <double> X[p, t])
                t += 1
                if (t & 31) == 0 and s >= b:
                    break
            if s < b:
                closest[i] = s


cdef inline void _swap(double* a, Py_ssize_t i, Py_ssize_t j) noexcept nogil:
    cdef double t = a[i]
    a[i] = a[j]
    a[j] = t


cdef inline double _pivot(const double* a, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """Median of a[lo], a[mid], a[hi]."""
    cdef double x = a[lo], y = a[lo + (hi - lo) // 2], z = a[hi]
    if x > y:
        x, y = y, x
    if y > z:
        y = z
    return x if x > y else y


cdef double select_kth(double* a, Py_ssize_t m, Py_ssize_t kth) noexcept nogil:
    """The kth smallest (0-based) of a[0:m]; reorders ``a`` so that a[kth+1:] >= a[kth].

    Quickselect with a three-way (Dutch flag) partition: equal values are settled in
    one pass, so columns of repeated values (zeros of MNIST) cost linear time.
    """
    cdef Py_ssize_t lo = 0, hi = m - 1, lt, i, gt
    cdef double p
    while lo < hi:
        p = _pivot(a, lo, hi)
        lt = lo
        i = lo
        gt = hi
        while i <= gt:
            if a[i] < p:
                _swap(a, lt, i)
                lt += 1
                i += 1
            elif a[i] > p:
                _swap(a, i, gt)
                gt -= 1
            else:
                i += 1
        if kth < lt:
            hi = lt - 1
        elif kth > gt:
            lo = gt + 1
        else:
            return p
    return a[kth]


cdef double median(double* a, Py_ssize_t m) noexcept nogil:
    """Median of a[0:m] (m >= 1); midpoint of the two middle values when m is even."""
    cdef Py_ssize_t h = (m - 1) // 2, i
    cdef double lo = select_kth(a, m, h), hi
    if m % 2 == 1:
        return lo
    hi = a[h + 1]
    for i in range(h + 2, m):
        if a[i] < hi:
            hi = a[i]
    return 0.5 * (lo + hi)


cdef inline double _median_unweighted(double* a, Py_ssize_t m, double lo, double hi,
                                      Py_ssize_t* hist) noexcept nogil:
    """median(a, m) given lo = min(a) < hi = max(a), by the cheapest exact route.

    * When the middle order statistics (h and, for even m, h + 1) all equal the minimum,
      or all the maximum, that value (columns mostly blank in a cluster): one counting pass.
    * When every value is lo + an integer below HIST_BINS (checked value by value, so exact
      for any floats; small-integer data such as pixels), counting sort: the order
      statistics are read off the cumulative counts, no data moved.
    * Otherwise selection (:func:`median`).
    The value is that of :func:`median`: the same order statistics, the same midpoint.
    """
    cdef Py_ssize_t h = (m - 1) // 2, top = h + 1 - (m & 1), q, b, nb, acc, nzero
    cdef Py_ssize_t nlo, nhi, nneg
    cdef double v, v1, v2, r
    kmb_count2(a, m, lo, hi, &nlo, &nhi)
    if nlo > top:          # order statistics h and top are both lo
        r = lo if m & 1 else 0.5 * (lo + lo)
    elif m - nhi <= h:     # order statistics h .. m - 1 are all hi
        r = hi if m & 1 else 0.5 * (hi + hi)
    elif hi - lo >= <double> HIST_BINS or hi - lo > 4.0 * m:
        return median(a, m)
    else:
        nb = <Py_ssize_t> (hi - lo) + 1
        for q in range(m):
            v = a[q]
            b = <Py_ssize_t> (v - lo)      # 0 <= v - lo <= hi - lo < HIST_BINS
            if <double> b + lo != v:       # not lo + an integer: select instead
                memset(hist, 0, nb * sizeof(Py_ssize_t))
                return median(a, m)
            hist[b] += 1
        # b -> lo + b is strictly increasing on the values present (equal images mean
        # equal values, which have the same b), so bin order is value order.
        acc = 0
        b = 0
        while acc + hist[b] <= h:          # the bin of order statistic h
            acc += hist[b]
            b += 1
        v1 = <double> b + lo
        if m & 1:
            r = v1
        else:
            if acc + hist[b] <= h + 1:     # order statistic h + 1 is in a later bin
                b += 1
                while hist[b] == 0:
                    b += 1
            v2 = <double> b + lo
            r = 0.5 * (v1 + v2)
            if r == 0.0 and v1 != 0.0:     # v2 = -v1: +0, as median() computes it
                r = 0.0
        memset(hist, 0, nb * sizeof(Py_ssize_t))
    if r == 0.0:
        # The middle order statistics are zeros: -0.0 and +0.0 are equal values, and
        # selection returns the sign of whichever copy it settles on; when the signs
        # are mixed, select (the same bits as before), else that sign.
        nneg = kmb_count_zeros(a, m, &nzero)
        if 0 < nneg < nzero:
            return median(a, m)
        return -0.0 if nneg else 0.0
    return r


cdef double weighted_median(double* a, double* w, Py_ssize_t m) noexcept nogil:
    """Lower weighted median of a[0:m] with weights w >= 0: the smallest value v with
    W(<= v) >= W / 2. Weighted quickselect: keep the side that holds the half-weight point.
    """
    cdef Py_ssize_t lo = 0, hi = m - 1, lt, i, gt
    cdef double total = 0.0, acc = 0.0, target, p, wl, we, t
    for i in range(m):
        total += w[i]
    if total <= 0.0:
        p = a[0]
        for i in range(1, m):
            if a[i] < p:
                p = a[i]
        return p
    target = 0.5 * total
    while lo < hi:
        p = _pivot(a, lo, hi)
        lt = lo
        i = lo
        gt = hi
        while i <= gt:
            if a[i] < p:
                _swap(a, lt, i)
                _swap(w, lt, i)
                lt += 1
                i += 1
            elif a[i] > p:
                _swap(a, i, gt)
                _swap(w, i, gt)
                gt -= 1
            else:
                i += 1
        wl = 0.0
        for i in range(lo, lt):
            wl += w[i]
        we = 0.0
        for i in range(lt, gt + 1):
            we += w[i]
        if acc + wl >= target:
            hi = lt - 1          # the answer is below the pivot (lt > lo: acc < target)
        elif acc + wl + we >= target or gt >= hi:
            return p
        else:
            acc += wl + we
            lo = gt + 1
    return a[lo]


def update_medians(const floating[:, ::1] XT,      # IN  (d, n) the points, transposed
                   const long long[::1] labels,    # IN  (n,)
                   const unsigned char[::1] use,   # IN  (n,)  1 = takes part (inlier), 0 = ignored
                   const double[::1] weights,      # IN  (n,)  or empty for unweighted
                   double[:, ::1] C,               # INOUT (k, d) centres; empty clusters kept
                   long long[::1] counts):         # OUT (k,) members taking part
    """Move every non-empty centre to the coordinate-wise (weighted) median of its members."""
    cdef Py_ssize_t d = XT.shape[0], n = XT.shape[1], k = C.shape[0]
    cdef Py_ssize_t i, j, t, q, m, s
    cdef bint weighted = weights.shape[0] > 0
    cdef double lo, hi, v
    cdef long long* start = <long long*> malloc((k + 1) * sizeof(long long))
    cdef Py_ssize_t* order = <Py_ssize_t*> malloc(max(n, 1) * sizeof(Py_ssize_t))
    cdef double* buf = <double*> malloc(max(n, 1) * sizeof(double))
    cdef double* wbuf = <double*> malloc(max(n, 1) * sizeof(double))
    cdef double* wperm = <double*> malloc(max(n, 1) * sizeof(double))
    cdef Py_ssize_t* hist = <Py_ssize_t*> calloc(HIST_BINS, sizeof(Py_ssize_t))
    cdef const floating* row
    cdef double* a
    if (start == NULL or order == NULL or buf == NULL or wbuf == NULL or wperm == NULL
            or hist == NULL):
        free(hist)
        free(start)
        free(order)
        free(buf)
        free(wbuf)
        free(wperm)
        raise MemoryError()
    with nogil:
        # Counting sort of the participating points by cluster (indices ascending
        # within a cluster, so the gathers below walk each row of XT forwards).
        for j in range(k):
            counts[j] = 0
        for i in range(n):
            if use[i]:
                counts[labels[i]] += 1
        start[0] = 0
        for j in range(k):
            start[j + 1] = start[j] + counts[j]
        for j in range(k):
            counts[j] = 0
        for i in range(n):
            if use[i]:
                j = labels[i]
                order[start[j] + counts[j]] = i
                counts[j] += 1
        if weighted:  # the weights in cluster order, copied per coordinate (reordered by selection)
            for q in range(start[k]):
                wperm[q] = weights[order[q]]
        # One row of XT (one coordinate, all points: in cache) at a time, every cluster's
        # values gathered into its own segment of buf, members in increasing index.
        for t in range(d):
            row = &XT[t, 0]
            for j in range(k):
                m = counts[j]
                if m == 0:
                    continue
                s = start[j]
                a = buf + s
                if floating is float:
                    kmb_gather_float(row, order + s, m, a, &lo, &hi)
                else:
                    kmb_gather_double(row, order + s, m, a, &lo, &hi)
                if lo == hi:  # a constant coordinate (pixels blank in the whole cluster)
                    C[j, t] = a[0]
                elif weighted:
                    memcpy(wbuf, wperm + s, m * sizeof(double))
                    C[j, t] = weighted_median(a, wbuf, m)
                else:
                    C[j, t] = _median_unweighted(a, m, lo, hi, hist)
    free(start)
    free(order)
    free(buf)
    free(wbuf)
    free(wperm)
    free(hist)


def median_1d(double[::1] a):  # INOUT (reordered)
    """Median of ``a`` by selection (test hook)."""
    if a.shape[0] == 0:
        raise ValueError("median of an empty array")
    return median(&a[0], a.shape[0])


def weighted_median_1d(double[::1] a, double[::1] w):  # INOUT (reordered together)
    """Lower weighted median of ``a`` with weights ``w`` by selection (test hook)."""
    if a.shape[0] == 0 or a.shape[0] != w.shape[0]:
        raise ValueError("values and weights must be non-empty and of the same length")
    return weighted_median(&a[0], &w[0], a.shape[0])
