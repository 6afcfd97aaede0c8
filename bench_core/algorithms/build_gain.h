/* PAM BUILD: the gains of four candidates, g = sum over o in [lo, hi) of
 * max(near[o] - row[o], 0), with SSE2 (baseline on x86-64) and exactly the additions
 * of _build._gain: four partial sums, s_l taking o = lo + 4m + l in increasing order,
 * the tail (fewer than four) added to s_0, and (s_0 + s_1) + (s_2 + s_3) at the end.
 * The four sums of a row are the lanes of two registers, so the result is the same
 * bits. One row's additions form two dependent chains (one add per four entries
 * each): _build._gain, one row at a time, ran at about 2.5 reads of its rows, bound
 * by their latency. Four rows give eight independent chains and read near once.
 * maxpd(t, 0) is t > 0 ? t : +0, as `t if t > 0.0 else 0.0`. */
#ifndef KMB_BUILD_GAIN_H
#define KMB_BUILD_GAIN_H

#include <stddef.h>

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
#else
#define KMB_HAVE_GAIN_SSE2 0
static inline void kmb_gain4_f64(const double *const *rows, const double *near,
                                 Py_ssize_t lo, Py_ssize_t hi, double *g) {}
static inline void kmb_gain4_f32(const float *const *rows, const double *near,
                                 Py_ssize_t lo, Py_ssize_t hi, double *g) {}
#endif

#endif  /* KMB_BUILD_GAIN_H */
