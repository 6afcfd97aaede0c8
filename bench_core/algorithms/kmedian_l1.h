/* k-median: vectorised L1 distances with early abandoning, gathers and counts (see _kmedian.pyx). */
#ifndef KMB_KMEDIAN_L1_H
#define KMB_KMEDIAN_L1_H

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
#define KMB_ADDV(a, xl, xh, c, t) do {                                            \
    (a).lo += kmb_abs((xl) - kmb_ld_double((c) + (t)));                           \
    (a).hi += kmb_abs((xh) - kmb_ld_double((c) + (t) + 2)); } while (0)
#define KMB_XV(T, x, t) kmb_v2d xl = kmb_ld_##T((x) + (t)), xh = kmb_ld_##T((x) + (t) + 2)
/* s0 += v (s1 + 0.0 is s1: the sums are >= +0) */
#define KMB_ADD0(a, v) do { kmb_v2d v_ = {(v), 0.0}; (a).lo += v_; } while (0)
#define KMB_SUM(a) (((a).lo[0] + (a).lo[1]) + ((a).hi[0] + (a).hi[1]))
#else  /* portable fallback: the same four sums as scalars */
typedef struct { double s[4]; } kmb_acc;
#define KMB_ZERO(a) kmb_acc a = {{0.0, 0.0, 0.0, 0.0}}
#define KMB_XV(T, x, t) const T *xv_ = (x) + (t)
#define KMB_ADDV(a, xl, xh, c, t) do { for (int r_ = 0; r_ < 4; r_++)             \
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

#define KMB_DEFINE(T)                                                                  \
/* one centre, continuing the partial sums *acc from coordinate t (a block start) */   \
static double kmb_l1_from_##T(const T *x, const double *c, ptrdiff_t d, ptrdiff_t t,   \
                              const kmb_acc *acc, double bound) {                      \
    kmb_acc a = *acc;                                                                  \
    while (t < d) {                                                                    \
        ptrdiff_t stop = KMB_STOP(t, d), stop4 = KMB_STOP4(t, stop);                   \
        for (; t < stop4; t += 4) { KMB_XV(T, x, t); KMB_ADDV(a, xl, xh, c, t); }      \
        for (; t < stop; t++) KMB_ADD0(a, fabs((double)x[t] - c[t]));                  \
        if (KMB_SUM(a) > bound) break;                                                 \
    }                                                                                  \
    return KMB_SUM(a);                                                                 \
}                                                                                      \
static double kmb_l1_##T(const T *x, const double *c, ptrdiff_t d, double bound) {     \
    KMB_ZERO(a);                                                                       \
    return kmb_l1_from_##T(x, c, d, 0, &a, bound);                                     \
}                                                                                      \
/* four centres c[0..3]: out[g] as kmb_l1(x, c[g], d, bound) */                        \
static void kmb_l1x4_##T(const T *x, const double *const *c, ptrdiff_t d,              \
                         double bound, double *out) {                                  \
    const double *c0 = c[0], *c1 = c[1], *c2 = c[2], *c3 = c[3];                       \
    KMB_ZERO(a0); KMB_ZERO(a1); KMB_ZERO(a2); KMB_ZERO(a3);                            \
    ptrdiff_t t = 0;                                                                   \
    while (t < d) {                                                                    \
        ptrdiff_t stop = KMB_STOP(t, d), stop4 = KMB_STOP4(t, stop);                   \
        for (; t < stop4; t += 4) {                                                    \
            KMB_XV(T, x, t);                                                           \
            KMB_ADDV(a0, xl, xh, c0, t); KMB_ADDV(a1, xl, xh, c1, t);                  \
            KMB_ADDV(a2, xl, xh, c2, t); KMB_ADDV(a3, xl, xh, c3, t);                  \
        }                                                                              \
        for (; t < stop; t++) {                                                        \
            double xs = (double)x[t];                                                  \
            KMB_ADD0(a0, fabs(xs - c0[t])); KMB_ADD0(a1, fabs(xs - c1[t]));            \
            KMB_ADD0(a2, fabs(xs - c2[t])); KMB_ADD0(a3, fabs(xs - c3[t]));            \
        }                                                                              \
        double s0 = KMB_SUM(a0), s1 = KMB_SUM(a1), s2 = KMB_SUM(a2), s3 = KMB_SUM(a3);  \
        if (s0 > bound || s1 > bound || s2 > bound || s3 > bound) {                    \
            out[0] = s0 > bound ? s0 : kmb_l1_from_##T(x, c0, d, t, &a0, bound);       \
            out[1] = s1 > bound ? s1 : kmb_l1_from_##T(x, c1, d, t, &a1, bound);       \
            out[2] = s2 > bound ? s2 : kmb_l1_from_##T(x, c2, d, t, &a2, bound);       \
            out[3] = s3 > bound ? s3 : kmb_l1_from_##T(x, c3, d, t, &a3, bound);       \
            return;                                                                    \
        }                                                                              \
    }                                                                                  \
    out[0] = KMB_SUM(a0); out[1] = KMB_SUM(a1);                                        \
    out[2] = KMB_SUM(a2); out[3] = KMB_SUM(a3);                                        \
}                                                                                      \
/* two points, each to its own centre, in full (no bound): out = (|x - c|_1,           \
   |y - e|_1); blocks only place the abandon checks, so the sums are kmb_l1's */       \
static void kmb_l1_2pts_##T(const T *x, const double *c, const T *y, const double *e,  \
                            ptrdiff_t d, double *out) {                                \
    KMB_ZERO(a0); KMB_ZERO(a1);                                                        \
    ptrdiff_t t = 0, d4 = d & ~(ptrdiff_t)3;                                           \
    for (; t < d4; t += 4) {                                                           \
        { KMB_XV(T, x, t); KMB_ADDV(a0, xl, xh, c, t); }                               \
        { KMB_XV(T, y, t); KMB_ADDV(a1, xl, xh, e, t); }                               \
    }                                                                                  \
    for (; t < d; t++) {                                                               \
        KMB_ADD0(a0, fabs((double)x[t] - c[t]));                                       \
        KMB_ADD0(a1, fabs((double)y[t] - e[t]));                                       \
    }                                                                                  \
    out[0] = KMB_SUM(a0); out[1] = KMB_SUM(a1);                                        \
}
KMB_DEFINE(float)
KMB_DEFINE(double)

#endif  /* KMB_KMEDIAN_L1_H */
