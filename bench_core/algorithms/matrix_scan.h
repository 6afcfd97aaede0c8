/* One streaming pass over a dissimilarity matrix for the input checks (see _scan.pyx).
 *
 * Returns flags: bit 0 = a NaN or an infinity, bit 1 = a negative entry (-0.0 is not).
 * Floating-point entries are tested on their bits with integer adds, ANDs and ORs,
 * which compilers vectorise with baseline SSE2 (a floating-point comparison reduced
 * into flags is not vectorised by GCC 12):
 *   a = |x| as bits; x is NaN or infinite  <=>  a >= exponent mask
 *                                          <=>  bit 63 (31) of a + (2^63 - mask) is set;
 *   x < 0  <=>  sign bit set and a != 0    <=>  bit 63 of u & (a + 2^63 - 1) is set.
 * Integer entries: the OR of all of them is negative iff one is.
 * On x86-64 Linux with GCC an AVX2 clone is picked at run time (twice the lanes: the
 * scan keeps up with memory; the flags are the same bits either way).
 */
#ifndef KMB_MATRIX_SCAN_H
#define KMB_MATRIX_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
#define KMB_SCAN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define KMB_SCAN_CLONES
#endif
/* Each includer uses the scans of its own dtypes only. */
#if defined(__GNUC__)
#define KMB_SCAN_UNUSED __attribute__((unused))
#else
#define KMB_SCAN_UNUSED
#endif

static KMB_SCAN_CLONES KMB_SCAN_UNUSED int kmb_scan_double(const double *x, ptrdiff_t n) {
    const uint64_t sign = 0x8000000000000000ULL, abs = ~sign;
    const uint64_t to_sign = sign - 0x7ff0000000000000ULL;  /* a + this >= 2^63 iff a >= mask */
    uint64_t bad = 0, neg = 0;
    for (ptrdiff_t i = 0; i < n; i++) {
        uint64_t u, a;
        memcpy(&u, x + i, sizeof u);
        a = u & abs;
        bad |= a + to_sign;
        neg |= u & (a + abs);
    }
    return (int)((bad & sign) != 0) | ((int)((neg & sign) != 0) << 1);
}

static KMB_SCAN_CLONES KMB_SCAN_UNUSED int kmb_scan_float(const float *x, ptrdiff_t n) {
    const uint32_t sign = 0x80000000U, abs = ~sign;
    const uint32_t to_sign = sign - 0x7f800000U;
    uint32_t bad = 0, neg = 0;
    for (ptrdiff_t i = 0; i < n; i++) {
        uint32_t u, a;
        memcpy(&u, x + i, sizeof u);
        a = u & abs;
        bad |= a + to_sign;
        neg |= u & (a + abs);
    }
    return (int)((bad & sign) != 0) | ((int)((neg & sign) != 0) << 1);
}

static KMB_SCAN_CLONES KMB_SCAN_UNUSED int kmb_scan_int(const int *x, ptrdiff_t n) {
    int acc = 0;
    for (ptrdiff_t i = 0; i < n; i++) acc |= x[i];
    return (acc < 0) << 1;
}

static KMB_SCAN_CLONES KMB_SCAN_UNUSED int kmb_scan_longlong(const long long *x, ptrdiff_t n) {
    long long acc = 0;
    for (ptrdiff_t i = 0; i < n; i++) acc |= x[i];
    return (acc < 0) << 1;
}

#endif  /* KMB_MATRIX_SCAN_H */
