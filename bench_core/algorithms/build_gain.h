/* PAM BUILD: the gains of four candidates, g = sum over o in [lo, hi) of
 * max(near[o] - row[o], 0), with SSE2 (baseline on x86-64) or AVX2 (picked at run
 * time) and exactly the additions of _build._gain: four partial sums, s_l taking
 * o = lo + 4m + l in increasing order, the tail (fewer than four) added to s_0, and
 * (s_0 + s_1) + (s_2 + s_3) at the end. The four sums of a row are the lanes of two
 * SSE2 registers or of one AVX2 register, so the result is the same bits. One row's
 * additions form dependent chains (one add per four entries each): _build._gain, one
 * row at a time, ran at about 2.5 reads of its rows, bound by their latency. Four rows
 * give independent chains and read near once; AVX2 takes half the instructions of
 * SSE2 (BUILD's lazy steps were bound by them on one thread).
 * maxpd(t, 0) is t > 0 ? t : +0, as `t if t > 0.0 else 0.0`. */
#ifndef KMB_BUILD_GAIN_H
#define KMB_BUILD_GAIN_H

#include <stddef.h>

#include "cpu_level.h"
#include "matrix_scan.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <emmintrin.h>
#define KMB_HAVE_GAIN_SSE2 1

/* g[r] = the gain of rows[r], r < 4 (rows may repeat). */
#define KMB_GAIN4_BODY(LOAD2LO, LOAD2HI, SCALAR)                                         \
    const __m128d zero = _mm_setzero_pd();                                               \
    __m128d a[4][2];                                                                     \
    double s[4];                                                                         \
    Py_ssize_t o = lo;                                                                   \
    for (int r = 0; r < 4; r++)                                                          \
        a[r][0] = a[r][1] = zero;                                                        \
    for (; o + 4 <= hi; o += 4) {                                                        \
        __m128d n01 = _mm_loadu_pd(near + o), n23 = _mm_loadu_pd(near + o + 2);          \
        for (int r = 0; r < 4; r++) {                                                    \
            a[r][0] = _mm_add_pd(a[r][0], _mm_max_pd(_mm_sub_pd(n01, LOAD2LO), zero));   \
            a[r][1] = _mm_add_pd(a[r][1], _mm_max_pd(_mm_sub_pd(n23, LOAD2HI), zero));   \
        }                                                                                \
    }                                                                                    \
    for (int r = 0; r < 4; r++) {                                                        \
        double t;                                                                        \
        _mm_storeu_pd(s, a[r][0]);                                                       \
        _mm_storeu_pd(s + 2, a[r][1]);                                                   \
        for (Py_ssize_t p = o; p < hi; p++) {                                            \
            t = near[p] - SCALAR;                                                        \
            s[0] += t > 0.0 ? t : 0.0;                                                   \
        }                                                                                \
        g[r] = (s[0] + s[1]) + (s[2] + s[3]);                                            \
    }

static inline void kmb_gain4_f64(const double *const *rows, const double *near,
                                 Py_ssize_t lo, Py_ssize_t hi, double *g) {
    KMB_GAIN4_BODY(_mm_loadu_pd(rows[r] + o), _mm_loadu_pd(rows[r] + o + 2), rows[r][p])
}

static inline void kmb_gain4_f32(const float *const *rows, const double *near,
                                 Py_ssize_t lo, Py_ssize_t hi, double *g) {
    KMB_GAIN4_BODY(_mm_cvtps_pd(_mm_loadl_pi(_mm_setzero_ps(), (const __m64 *)(rows[r] + o))),
                   _mm_cvtps_pd(_mm_loadl_pi(_mm_setzero_ps(), (const __m64 *)(rows[r] + o + 2))),
                   (double)rows[r][p])
}
#undef KMB_GAIN4_BODY

#include <immintrin.h>

/* The same with one AVX2 register per row: lane l is s_l. With a prefetch distance
 * (cpu_level.h; hi - lo = n, the rows are whole) the rows' lines that far ahead are
 * prefetched, one per row every two steps of four (the same additions in the same order). */
#define KMB_GAIN4_AVX2_STEP(LOAD4, OFF)                                                  \
    {                                                                                    \
        const Py_ssize_t q = o + (OFF);                                                  \
        __m256d n4 = _mm256_loadu_pd(near + q);                                          \
        for (int r = 0; r < 4; r++)                                                      \
            a[r] = _mm256_add_pd(a[r], _mm256_max_pd(_mm256_sub_pd(n4, LOAD4), zero));   \
    }
#define KMB_GAIN4_AVX2_BODY(LOAD4, SCALAR)                                               \
    const __m256d zero = _mm256_setzero_pd();                                            \
    const Py_ssize_t ahead = kmb_prefetch_for(hi - lo, sizeof(*rows[0]));                \
    __m256d a[4];                                                                        \
    double s[4];                                                                         \
    Py_ssize_t o = lo;                                                                   \
    for (int r = 0; r < 4; r++)                                                          \
        a[r] = zero;                                                                     \
    if (ahead) {                                                                         \
        for (; o + 8 <= hi; o += 8) {                                                    \
            for (int r = 0; r < 4; r++)                                                  \
                KMB_PREFETCH(rows[r] + o, ahead);                                        \
            KMB_GAIN4_AVX2_STEP(LOAD4, 0)                                                \
            KMB_GAIN4_AVX2_STEP(LOAD4, 4)                                                \
        }                                                                                \
        for (; o + 4 <= hi; o += 4)                                                      \
            KMB_GAIN4_AVX2_STEP(LOAD4, 0)                                                \
    } else { /* its own loop: sharing the one above cost 2 instructions a step */        \
        for (; o + 4 <= hi; o += 4)                                                      \
            KMB_GAIN4_AVX2_STEP(LOAD4, 0)                                                \
    }                                                                                    \
    for (int r = 0; r < 4; r++) {                                                        \
        double t;                                                                        \
        _mm256_storeu_pd(s, a[r]);                                                       \
        for (Py_ssize_t p = o; p < hi; p++) {                                            \
            t = near[p] - SCALAR;                                                        \
            s[0] += t > 0.0 ? t : 0.0;                                                   \
        }                                                                                \
        g[r] = (s[0] + s[1]) + (s[2] + s[3]);                                            \
    }

__attribute__((target("avx2")))
static void kmb_gain4_f64_avx2(const double *const *rows, const double *near,
                               Py_ssize_t lo, Py_ssize_t hi, double *g) {
    KMB_GAIN4_AVX2_BODY(_mm256_loadu_pd(rows[r] + q), rows[r][p])
}

__attribute__((target("avx2")))
static void kmb_gain4_f32_avx2(const float *const *rows, const double *near,
                               Py_ssize_t lo, Py_ssize_t hi, double *g) {
    KMB_GAIN4_AVX2_BODY(_mm256_cvtps_pd(_mm_loadu_ps(rows[r] + q)), (double)rows[r][p])
}
#undef KMB_GAIN4_AVX2_BODY
#undef KMB_GAIN4_AVX2_STEP

/* The level of the gains: 0 SSE2, 1 AVX2 (where the CPU has it and the cap allows it). */
static int kmb_gain_level_cap = 1;   /* the highest level allowed (tests lower it) */
static int kmb_gain_level(void) {
    return kmb_cpu_level() >= 1 && kmb_gain_level_cap >= 1;
}
static void kmb_gain_limit(int level) {
    kmb_gain_level_cap = level;
}

/* BUILD's first step: the sum of x[lo:hi) in the order of _build._row_sum (four partial
 * sums, the tail to s_0, (s_0 + s_1) + (s_2 + s_3)), and the input check of the same
 * entries on the way, with the bit tests of matrix_scan.h (bit 0 of *flags: a NaN or an
 * infinity, bit 1: a negative entry; OR-ed in). One row's sum is a chain of dependent
 * adds, so the integer tests fill otherwise idle slots: the check costs no second pass
 * where the slots suffice. With SSE2 they do on Zen 4 (a checked first step 7.7 ms
 * against 6.7 unchecked, MNIST n = 5,000) but not on Zen 5 (13.9 against 6.4 ms); the
 * AVX2 form below (the same lanes, half the instructions) is used where the CPU has it. */
/* The end of both forms: the flags of the vector part (b, m: the ORs of the lanes' bit
 * tests), those of the tail by the scan, the tail added to s_0, and the defined sum. */
static inline double kmb_sum_check_end(const double *x, Py_ssize_t o, Py_ssize_t hi, double *s,
                                       unsigned long long b, unsigned long long m, int *flags) {
    *flags |= (int)(b >> 63) | ((int)(m >> 63) << 1) | kmb_scan_double(x + o, hi - o);
    for (; o < hi; o++)
        s[0] += x[o];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

static inline double kmb_sum_check_f64(const double *x, Py_ssize_t lo, Py_ssize_t hi,
                                       int *flags) {
    /* the constants of kmb_scan_double: |x| as bits, and |x| + to_sign >= 2^63 iff x is
     * NaN or infinite; x < 0 iff the sign bit of u & (|x| + abs) is set */
    const __m128i abs = _mm_set1_epi64x(0x7fffffffffffffffLL);
    const __m128i to_sign = _mm_set1_epi64x((long long)(0x8000000000000000ULL - 0x7ff0000000000000ULL));
    __m128d s01 = _mm_setzero_pd(), s23 = _mm_setzero_pd();
    __m128i bad = _mm_setzero_si128(), neg = _mm_setzero_si128();
    double s[4];
    unsigned long long b[2], m[2];
    Py_ssize_t o = lo;
    for (; o + 4 <= hi; o += 4) {
        __m128d v01 = _mm_loadu_pd(x + o), v23 = _mm_loadu_pd(x + o + 2);
        __m128i u01 = _mm_castpd_si128(v01), u23 = _mm_castpd_si128(v23);
        __m128i a01 = _mm_and_si128(u01, abs), a23 = _mm_and_si128(u23, abs);
        s01 = _mm_add_pd(s01, v01);
        s23 = _mm_add_pd(s23, v23);
        bad = _mm_or_si128(bad, _mm_or_si128(_mm_add_epi64(a01, to_sign), _mm_add_epi64(a23, to_sign)));
        neg = _mm_or_si128(neg, _mm_or_si128(_mm_and_si128(u01, _mm_add_epi64(a01, abs)),
                                             _mm_and_si128(u23, _mm_add_epi64(a23, abs))));
    }
    _mm_storeu_pd(s, s01);
    _mm_storeu_pd(s + 2, s23);
    _mm_storeu_si128((__m128i *)b, bad);
    _mm_storeu_si128((__m128i *)m, neg);
    return kmb_sum_check_end(x, o, hi, s, b[0] | b[1], m[0] | m[1], flags);
}

/* The same with one AVX2 register: lane l is s_l, and the same bit tests on four entries. */
__attribute__((target("avx2")))
static double kmb_sum_check_f64_avx2(const double *x, Py_ssize_t lo, Py_ssize_t hi,
                                     int *flags) {
    const __m256i abs = _mm256_set1_epi64x(0x7fffffffffffffffLL);
    const __m256i to_sign = _mm256_set1_epi64x((long long)(0x8000000000000000ULL - 0x7ff0000000000000ULL));
    __m256d s4 = _mm256_setzero_pd();
    __m256i bad = _mm256_setzero_si256(), neg = _mm256_setzero_si256();
    double s[4];
    unsigned long long b[4], m[4];
    Py_ssize_t o = lo;
    for (; o + 4 <= hi; o += 4) {
        __m256d v = _mm256_loadu_pd(x + o);
        __m256i u = _mm256_castpd_si256(v), a = _mm256_and_si256(u, abs);
        s4 = _mm256_add_pd(s4, v);
        bad = _mm256_or_si256(bad, _mm256_add_epi64(a, to_sign));
        neg = _mm256_or_si256(neg, _mm256_and_si256(u, _mm256_add_epi64(a, abs)));
    }
    _mm256_storeu_pd(s, s4);
    _mm256_storeu_si256((__m256i *)b, bad);
    _mm256_storeu_si256((__m256i *)m, neg);
    return kmb_sum_check_end(x, o, hi, s, b[0] | b[1] | b[2] | b[3], m[0] | m[1] | m[2] | m[3], flags);
}
#else
#define KMB_HAVE_GAIN_SSE2 0
static inline void kmb_gain4_f64(const double *const *rows, const double *near,
                                 Py_ssize_t lo, Py_ssize_t hi, double *g) {}
static inline void kmb_gain4_f32(const float *const *rows, const double *near,
                                 Py_ssize_t lo, Py_ssize_t hi, double *g) {}
static inline double kmb_sum_check_f64(const double *x, Py_ssize_t lo, Py_ssize_t hi,
                                       int *flags) { return 0.0; }
static double kmb_sum_check_f64_avx2(const double *x, Py_ssize_t lo, Py_ssize_t hi,
                                     int *flags) { return 0.0; }
static void kmb_gain4_f64_avx2(const double *const *rows, const double *near,
                               Py_ssize_t lo, Py_ssize_t hi, double *g) {}
static void kmb_gain4_f32_avx2(const float *const *rows, const double *near,
                               Py_ssize_t lo, Py_ssize_t hi, double *g) {}
static int kmb_gain_level(void) { return 0; }
static void kmb_gain_limit(int level) { (void)level; }
#endif

#endif  /* KMB_BUILD_GAIN_H */
