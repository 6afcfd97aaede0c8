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
point's previous centre); ties go to the lowest centre index.
"""

from cython cimport floating
from libc.math cimport fabs
from libc.stdlib cimport free, malloc

cdef enum:
    ABANDON_BLOCK = 32  # coordinates summed between two early-abandon checks


cdef inline double _l1_bounded(const floating* x, const double* c, Py_ssize_t d,
                               double bound) noexcept nogil:
    """L1 distance, or any value > bound as soon as a partial sum exceeds bound.

    Four accumulators (independent dependency chains, so the adds pipeline); the
    summation order depends only on d, so every centre is summed the same way.
    """
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef Py_ssize_t t = 0, stop, stop4
    while t < d:
        stop = min(t + <Py_ssize_t> ABANDON_BLOCK, d)
        stop4 = t + ((stop - t) & ~(<Py_ssize_t> 3))
        while t < stop4:
            s0 += fabs(<double> x[t] - c[t])
            s1 += fabs(<double> x[t + 1] - c[t + 1])
            s2 += fabs(<double> x[t + 2] - c[t + 2])
            s3 += fabs(<double> x[t + 3] - c[t + 3])
            t += 4
        while t < stop:
            s0 += fabs(<double> x[t] - c[t])
            t += 1
        if (s0 + s1) + (s2 + s3) > bound:
            break
    return (s0 + s1) + (s2 + s3)


def assign_l1(const floating[:, ::1] X,     # IN    (n, d)
              const double[:, ::1] C,       # IN    (k, d) centres
              long long[::1] labels,        # INOUT (n,)  previous labels (or -1), then nearest centre
              double[::1] dist):            # OUT   (n,)  L1 distance to the nearest centre
    """Nearest centre in L1 for every point (ties to the lowest index)."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k = C.shape[0]
    cdef Py_ssize_t i, j, j0, lab
    cdef double best, s
    cdef double inf = float("inf")
    with nogil:
        for i in range(n):
            j0 = labels[i]
            if j0 < 0 or j0 >= k:
                j0 = 0
            best = _l1_bounded(&X[i, 0], &C[j0, 0], d, inf)
            lab = j0
            for j in range(k):
                if j == j0:
                    continue
                s = _l1_bounded(&X[i, 0], &C[j, 0], d, best)
                if s < best or (s == best and j < lab):
                    best = s
                    lab = j
            labels[i] = lab
            dist[i] = best


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
    if start == NULL or order == NULL or buf == NULL or wbuf == NULL:
        free(start)
        free(order)
        free(buf)
        free(wbuf)
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
        for j in range(k):
            m = counts[j]
            if m == 0:
                continue
            s = start[j]
            for t in range(d):
                lo = hi = <double> XT[t, order[s]]
                for q in range(m):
                    v = <double> XT[t, order[s + q]]
                    buf[q] = v
                    if v < lo:
                        lo = v
                    elif v > hi:
                        hi = v
                if lo == hi:  # a constant coordinate (pixels blank in the whole cluster)
                    C[j, t] = lo
                elif weighted:
                    for q in range(m):
                        wbuf[q] = weights[order[s + q]]
                    C[j, t] = weighted_median(buf, wbuf, m)
                else:
                    C[j, t] = median(buf, m)
    free(start)
    free(order)
    free(buf)
    free(wbuf)


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
