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
from libc.math cimport fabs
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset

cdef enum:
    HIST_BINS = 1024  # counting-sort medians for values lo + {0, ..., HIST_BINS - 1}


cdef extern from *:
    """
    /* L1 distances of one point x to 1, 2 or 4 centres at a time, with early abandoning.

       Summation order (the same for every centre and every grouping, so distances are
       bitwise the same whichever kernel computes them): four partial sums s0..s3, s_r
       takes the coordinates t = r (mod 4) in increasing order, s0 also the last d mod 4;
       the total is (s0 + s1) + (s2 + s3). The four sums are the lanes of one 4-double
       vector (GCC/Clang vector extensions, as two 2-double SSE2/NEON vectors), so the
       adds are vectorised without reassociation; grouping centres gives independent
       dependency chains and reads x once per group. After every KMB_BLOCK coordinates a
       centre whose partial sum exceeds `bound` is abandoned (its returned value is that
       partial sum, > bound); once one centre of a group is, the others go on alone. */
    #include <math.h>
    #include <stddef.h>
    #include <string.h>
    #define KMB_BLOCK 32
    /* the number of -0.0 in a[0:m]; *nzero = the number of zeros (either sign) */
    static inline ptrdiff_t kmb_count_zeros(const double *a, ptrdiff_t m, ptrdiff_t *nzero) {
        ptrdiff_t z = 0, neg = 0;
        for (ptrdiff_t q = 0; q < m; q++) {
            unsigned long long u; memcpy(&u, a + q, sizeof u);
            z += (u << 1) == 0;
            neg += u == 0x8000000000000000ULL;
        }
        *nzero = z;
        return neg;
    }
    #if defined(__GNUC__) || defined(__clang__)
    /* a 4-double accumulator as two 2-double vectors (s0, s1) and (s2, s3): SSE2 / NEON */
    typedef double kmb_v2d __attribute__((vector_size(16)));
    typedef long long kmb_v2i __attribute__((vector_size(16)));
    typedef float kmb_v2f __attribute__((vector_size(8)));
    typedef struct { kmb_v2d lo, hi; } kmb_acc;
    static inline kmb_v2d kmb_ld_double(const double *p) { kmb_v2d v; memcpy(&v, p, sizeof v); return v; }
    static inline kmb_v2d kmb_ld_float(const float *p) {
        kmb_v2f v; memcpy(&v, p, sizeof v); return __builtin_convertvector(v, kmb_v2d);
    }
    static inline kmb_v2d kmb_abs(kmb_v2d v) {  /* fabs: clear the sign bits */
        const kmb_v2i m = {0x7fffffffffffffffLL, 0x7fffffffffffffffLL};
        return (kmb_v2d)((kmb_v2i)v & m);
    }
    #define KMB_ZERO(a) kmb_acc a = {{0.0, 0.0}, {0.0, 0.0}}
    /* s_r += |x_t - c_t| for the four coordinates t..t+3 (x already loaded) */
    #define KMB_ADDV(a, xl, xh, c, t) do {                                            \\
        (a).lo += kmb_abs((xl) - kmb_ld_double((c) + (t)));                           \\
        (a).hi += kmb_abs((xh) - kmb_ld_double((c) + (t) + 2)); } while (0)
    #define KMB_XV(T, x, t) kmb_v2d xl = kmb_ld_##T((x) + (t)), xh = kmb_ld_##T((x) + (t) + 2)
    /* s0 += v (s1 + 0.0 is s1: the sums are >= +0) */
    #define KMB_ADD0(a, v) do { kmb_v2d v_ = {(v), 0.0}; (a).lo += v_; } while (0)
    #define KMB_SUM(a) (((a).lo[0] + (a).lo[1]) + ((a).hi[0] + (a).hi[1]))
    #else  /* portable fallback: the same four sums as scalars */
    typedef struct { double s[4]; } kmb_acc;
    #define KMB_ZERO(a) kmb_acc a = {{0.0, 0.0, 0.0, 0.0}}
    #define KMB_XV(T, x, t) const T *xv_ = (x) + (t)
    #define KMB_ADDV(a, xl, xh, c, t) do { for (int r_ = 0; r_ < 4; r_++)             \\
        (a).s[r_] += fabs((double)xv_[r_] - (c)[(t) + r_]); } while (0)
    #define KMB_ADD0(a, v) ((a).s[0] += (v))
    #define KMB_SUM(a) (((a).s[0] + (a).s[1]) + ((a).s[2] + (a).s[3]))
    #endif
    /* a[q] = row[idx[q]] for q < m (m >= 1); *lo, *hi = min and max (of either zero sign
       when zeros of both signs are present: callers compare with ==, or mind the sign) */
    #define KMB_GATHER(T)                                                                  \
    static inline void kmb_gather_##T(const T *row, const ptrdiff_t *idx, ptrdiff_t m,     \
                                      double *a, double *lo, double *hi) {                 \
        double l0 = (double)row[idx[0]], l1 = l0, h0 = l0, h1 = l0, v, w;                  \
        ptrdiff_t q = 0;                                                                   \
        for (; q + 2 <= m; q += 2) {      /* two chains: min/max latency, not a chain */   \
            v = (double)row[idx[q]];                                                       \
            w = (double)row[idx[q + 1]];                                                   \
            a[q] = v; a[q + 1] = w;                                                        \
            l0 = v < l0 ? v : l0; h0 = v > h0 ? v : h0;                                    \
            l1 = w < l1 ? w : l1; h1 = w > h1 ? w : h1;                                    \
        }                                                                                  \
        if (q < m) {                                                                       \
            v = (double)row[idx[q]];                                                       \
            a[q] = v;                                                                      \
            l0 = v < l0 ? v : l0; h0 = v > h0 ? v : h0;                                    \
        }                                                                                  \
        *lo = l1 < l0 ? l1 : l0;                                                           \
        *hi = h1 > h0 ? h1 : h0;                                                           \
    }
    KMB_GATHER(float)
    KMB_GATHER(double)

    /* *nlo, *nhi = how many of a[0:m] equal lo, hi */
    static inline void kmb_count2(const double *a, ptrdiff_t m, double lo, double hi,
                                  ptrdiff_t *nlo, ptrdiff_t *nhi) {
        ptrdiff_t q = 0, cl = 0, ch = 0;
    #if defined(__GNUC__) || defined(__clang__)
        const kmb_v2d lv = {lo, lo}, hv = {hi, hi};
        kmb_v2i vl = {0, 0}, vh = {0, 0};
        for (; q + 2 <= m; q += 2) {
            kmb_v2d x = kmb_ld_double(a + q);
            vl -= (kmb_v2i)(x == lv);    /* a true lane is -1 */
            vh -= (kmb_v2i)(x == hv);
        }
        cl = (ptrdiff_t)(vl[0] + vl[1]);
        ch = (ptrdiff_t)(vh[0] + vh[1]);
    #endif
        for (; q < m; q++) { cl += a[q] == lo; ch += a[q] == hi; }
        *nlo = cl;
        *nhi = ch;
    }

    #define KMB_STOP(t, d) ((t) + KMB_BLOCK < (d) ? (t) + KMB_BLOCK : (d))
    #define KMB_STOP4(t, stop) ((t) + (((stop) - (t)) & ~(ptrdiff_t)3))

    #define KMB_DEFINE(T)                                                                  \\
    /* one centre, continuing the partial sums *acc from coordinate t (a block start) */   \\
    static double kmb_l1_from_##T(const T *x, const double *c, ptrdiff_t d, ptrdiff_t t,   \\
                                  const kmb_acc *acc, double bound) {                      \\
        kmb_acc a = *acc;                                                                  \\
        while (t < d) {                                                                    \\
            ptrdiff_t stop = KMB_STOP(t, d), stop4 = KMB_STOP4(t, stop);                   \\
            for (; t < stop4; t += 4) { KMB_XV(T, x, t); KMB_ADDV(a, xl, xh, c, t); }      \\
            for (; t < stop; t++) KMB_ADD0(a, fabs((double)x[t] - c[t]));                  \\
            if (KMB_SUM(a) > bound) break;                                                 \\
        }                                                                                  \\
        return KMB_SUM(a);                                                                 \\
    }                                                                                      \\
    static double kmb_l1_##T(const T *x, const double *c, ptrdiff_t d, double bound) {     \\
        KMB_ZERO(a);                                                                       \\
        return kmb_l1_from_##T(x, c, d, 0, &a, bound);                                     \\
    }                                                                                      \\
    /* four centres c[0..3]: out[g] as kmb_l1(x, c[g], d, bound) */                        \\
    static void kmb_l1x4_##T(const T *x, const double *const *c, ptrdiff_t d,              \\
                             double bound, double *out) {                                  \\
        const double *c0 = c[0], *c1 = c[1], *c2 = c[2], *c3 = c[3];                       \\
        KMB_ZERO(a0); KMB_ZERO(a1); KMB_ZERO(a2); KMB_ZERO(a3);                            \\
        ptrdiff_t t = 0;                                                                   \\
        while (t < d) {                                                                    \\
            ptrdiff_t stop = KMB_STOP(t, d), stop4 = KMB_STOP4(t, stop);                   \\
            for (; t < stop4; t += 4) {                                                    \\
                KMB_XV(T, x, t);                                                           \\
                KMB_ADDV(a0, xl, xh, c0, t); KMB_ADDV(a1, xl, xh, c1, t);                  \\
                KMB_ADDV(a2, xl, xh, c2, t); KMB_ADDV(a3, xl, xh, c3, t);                  \\
            }                                                                              \\
            for (; t < stop; t++) {                                                        \\
                double xs = (double)x[t];                                                  \\
                KMB_ADD0(a0, fabs(xs - c0[t])); KMB_ADD0(a1, fabs(xs - c1[t]));            \\
                KMB_ADD0(a2, fabs(xs - c2[t])); KMB_ADD0(a3, fabs(xs - c3[t]));            \\
            }                                                                              \\
            double s0 = KMB_SUM(a0), s1 = KMB_SUM(a1), s2 = KMB_SUM(a2), s3 = KMB_SUM(a3);  \\
            if (s0 > bound || s1 > bound || s2 > bound || s3 > bound) {                    \\
                out[0] = s0 > bound ? s0 : kmb_l1_from_##T(x, c0, d, t, &a0, bound);       \\
                out[1] = s1 > bound ? s1 : kmb_l1_from_##T(x, c1, d, t, &a1, bound);       \\
                out[2] = s2 > bound ? s2 : kmb_l1_from_##T(x, c2, d, t, &a2, bound);       \\
                out[3] = s3 > bound ? s3 : kmb_l1_from_##T(x, c3, d, t, &a3, bound);       \\
                return;                                                                    \\
            }                                                                              \\
        }                                                                                  \\
        out[0] = KMB_SUM(a0); out[1] = KMB_SUM(a1);                                        \\
        out[2] = KMB_SUM(a2); out[3] = KMB_SUM(a3);                                        \\
    }                                                                                      \\
    /* two points, each to its own centre, in full (no bound): out = (|x - c|_1,           \\
       |y - e|_1); blocks only place the abandon checks, so the sums are kmb_l1's */       \\
    static void kmb_l1_2pts_##T(const T *x, const double *c, const T *y, const double *e,  \\
                                ptrdiff_t d, double *out) {                                \\
        KMB_ZERO(a0); KMB_ZERO(a1);                                                        \\
        ptrdiff_t t = 0, d4 = d & ~(ptrdiff_t)3;                                           \\
        for (; t < d4; t += 4) {                                                           \\
            { KMB_XV(T, x, t); KMB_ADDV(a0, xl, xh, c, t); }                               \\
            { KMB_XV(T, y, t); KMB_ADDV(a1, xl, xh, e, t); }                               \\
        }                                                                                  \\
        for (; t < d; t++) {                                                               \\
            KMB_ADD0(a0, fabs((double)x[t] - c[t]));                                       \\
            KMB_ADD0(a1, fabs((double)y[t] - e[t]));                                       \\
        }                                                                                  \\
        out[0] = KMB_SUM(a0); out[1] = KMB_SUM(a1);                                        \\
    }
    KMB_DEFINE(float)
    KMB_DEFINE(double)
    """
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


def assign_l1(const floating[:, ::1] X,     # IN    (n, d)
              const double[:, ::1] C,       # IN    (k, d) centres
              long long[::1] labels,        # INOUT (n,)  previous labels (or -1), then nearest centre
              double[::1] dist):            # OUT   (n,)  L1 distance to the nearest centre
    """Nearest centre in L1 for every point (ties to the lowest index).

    The previous centre first (its distance bounds the others), then the other centres
    four at a time against the best distance so far, their results taken in index order:
    a centre abandoned above an older bound is above the current best too, so labels and
    distances are those of testing one centre at a time.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k = C.shape[0]
    cdef Py_ssize_t i, j, j0, j1, lab, r, g, size, nothers
    cdef double best, s
    cdef double inf = float("inf")
    cdef double out[4]
    cdef double first[2]
    cdef const double* cs[4]
    cdef Py_ssize_t* others = <Py_ssize_t*> malloc(max(k, 1) * sizeof(Py_ssize_t))
    if others == NULL:
        raise MemoryError()
    with nogil:
        for i in range(n):
            j0 = labels[i]
            if j0 < 0 or j0 >= k:
                j0 = 0
            if i % 2 == 0:  # the previous centres of points i and i + 1 together
                if i + 1 < n:
                    j1 = labels[i + 1]
                    if j1 < 0 or j1 >= k:
                        j1 = 0
                    _l1_2pts(&X[i, 0], &C[j0, 0], &X[i + 1, 0], &C[j1, 0], d, first)
                else:
                    first[0] = _l1(&X[i, 0], &C[j0, 0], d, inf)
            best = first[i % 2]
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
