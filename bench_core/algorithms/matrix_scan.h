/* One streaming pass over a dissimilarity matrix for the input checks (see _scan.pyx).
 *
 * Returns flags: bit 0 = a NaN or an infinity, bit 1 = a negative entry. The
 * flags are OR-ed, so the loop vectorises without reassociating anything;
 * -fno-trapping-math only lets GCC if-convert the comparisons (no value changes).
 */
#ifndef KMB_MATRIX_SCAN_H
#define KMB_MATRIX_SCAN_H

#include <float.h>
#include <math.h>
#include <stddef.h>

#if defined(__GNUC__) && !defined(__clang__)
#define KMB_SCAN_ATTR __attribute__((optimize("no-trapping-math")))
#else
#define KMB_SCAN_ATTR
#endif

static KMB_SCAN_ATTR int kmb_scan_double(const double *x, ptrdiff_t n) {
    int bad = 0, neg = 0;
    for (ptrdiff_t i = 0; i < n; i++) {
        bad |= !(fabs(x[i]) <= DBL_MAX);
        neg |= x[i] < 0.0;
    }
    return bad | (neg << 1);
}

static KMB_SCAN_ATTR int kmb_scan_float(const float *x, ptrdiff_t n) {
    int bad = 0, neg = 0;
    for (ptrdiff_t i = 0; i < n; i++) {
        bad |= !(fabsf(x[i]) <= FLT_MAX);
        neg |= x[i] < 0.0f;
    }
    return bad | (neg << 1);
}

static int kmb_scan_int(const int *x, ptrdiff_t n) {
    int neg = 0;
    for (ptrdiff_t i = 0; i < n; i++) neg |= x[i] < 0;
    return neg << 1;
}

static int kmb_scan_longlong(const long long *x, ptrdiff_t n) {
    int neg = 0;
    for (ptrdiff_t i = 0; i < n; i++) neg |= x[i] < 0;
    return neg << 1;
}

#endif  /* KMB_MATRIX_SCAN_H */
