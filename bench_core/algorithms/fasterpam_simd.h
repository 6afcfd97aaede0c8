/* FasterPAM: vector listings of the points a candidate can affect (see _fasterpam.pyx).
 *
 * kmb_hits_below_simd(row, bound, n, hits) writes, in increasing order, every o
 * with row[o] < bound[o] into hits and returns their number. The bound is float32,
 * each entry rounded up from the exact double bound (kmb_round_up_f32), so the
 * list holds every point of the exact list (row[o] < exact <= bound[o]) and, very
 * rarely, a point with exact <= row[o] < bound[o], which the caller drops with an
 * exact comparison. A float32 bound is half the bytes of a double one: the bound
 * is read from L2 for every candidate, and with doubles that second stream, not
 * the matrix row, set the pace (1.5 reads of the matrix instead of 1.15, measured).
 * Two paths, picked at run time:
 *   2: AVX-512 (F + VL): 8 points per compare, their indices packed with a
 *      register compress (vpcompressd ymm; never the compress-to-memory form,
 *      which is microcoded and slow on AMD Zen 4);
 *   1: AVX2: 4 points per compare, packed with a 16-entry table of positions.
 * Both write whole vectors at hits + c with c <= o, so every store stays below n.
 *
 * With bad != NULL the listings also OR into *bad a 1 if a row holds a NaN, an
 * infinity or a negative entry (-0.0 is not), with two compares of each vector they
 * load anyway: the first pass of a kernel reads every row this way, so the input
 * check needs no pass of its own (the listing waits on memory; the compares ride
 * along); the tails, shorter than a vector, go through the scan's kmb_scan_double.
 * The lists are the same either way; each body is compiled twice, with and without
 * the compares (always_inline with a constant `check`).
 */
#ifndef KMB_FASTERPAM_SIMD_H
#define KMB_FASTERPAM_SIMD_H

#include <stddef.h>
#include <string.h>

#include "cpu_level.h"
#include "matrix_scan.h"

/* bound32[o] = the smallest float32 >= bound[o] (+inf for +inf or beyond the range),
 * for bound[o] >= 0 (distances; NaN is rejected before). The next float32 above a
 * non-negative f is the one whose bits are one more (FLT_MAX + 1 ulp is +inf), so
 * this is nextafterf without a call or a branch, and the compiler vectorises it.
 * It runs after every swap: with nextafterf, a FasterPAM pass with swaps cost about
 * 0.1 to 0.2 reads of the matrix more than one without (n = 10,000, k = 10). */
static void kmb_round_up_f32(const double *bound, Py_ssize_t n, float *bound32) {
    for (Py_ssize_t o = 0; o < n; o++) {
        union { float f; unsigned int u; } v;
        v.f = (float)bound[o];
        v.u += (unsigned int)((double)v.f < bound[o]);
        bound32[o] = v.f;
    }
}


/* The loss changes of four candidates' best swaps from their listed points, each
 * exactly as _common.swap_change_of_hits computes it for one (the same additions in
 * the same order). The four candidates' sums are independent chains, interleaved
 * while all four have points left, so the core overlaps them instead of waiting
 * on one chain (acc and ploss[m] of one candidate: a dependent addition per point).
 * ploss: scratch of 4 k doubles. Rows may repeat (their results are then equal). */
#define KMB_HIT_STEP(r, q)                                                               \
    {                                                                                    \
        int o_ = hits[r][q];                                                             \
        double d_ = rows[r][o_], sd_ = seco_d[o_];                                       \
        if (d_ < sd_) {                                                                  \
            double nd_ = near_d[o_];                                                     \
            acc[r] += (d_ < nd_ ? d_ : nd_) - nd_;                                       \
            pl[r][near_i[o_]] += (d_ > nd_ ? d_ : nd_) - sd_;                            \
        }                                                                                \
    }
static void kmb_change_of_hits4(const double *const *rows, int *const *hits, const Py_ssize_t *c,
                                const int *near_i, const double *near_d, const double *seco_d,
                                const double *rloss, Py_ssize_t k, double *ploss,
                                double *change, Py_ssize_t *best_m) {
    double *pl[4], acc[4] = {0.0, 0.0, 0.0, 0.0};
    Py_ssize_t q, m = c[0];
    for (int r = 0; r < 4; r++) {
        pl[r] = ploss + r * k;
        memcpy(pl[r], rloss, (size_t)k * sizeof(double));
        if (c[r] < m)
            m = c[r];
    }
    for (q = 0; q < m; q++) {
        KMB_HIT_STEP(0, q)
        KMB_HIT_STEP(1, q)
        KMB_HIT_STEP(2, q)
        KMB_HIT_STEP(3, q)
    }
    for (int r = 0; r < 4; r++) {
        for (Py_ssize_t p = m; p < c[r]; p++)
            KMB_HIT_STEP(r, p)
        Py_ssize_t b = 0;
        double best = pl[r][0];
        for (Py_ssize_t mm = 1; mm < k; mm++)
            if (pl[r][mm] < best) {
                best = pl[r][mm];
                b = mm;
            }
        best_m[r] = b;
        change[r] = best + acc[r];
    }
}
#undef KMB_HIT_STEP

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
#define KMB_HAVE_SIMD_PATH 1
static const int kmb_compress4[16][4] = {
    {0,0,0,0},{0,0,0,0},{1,0,0,0},{0,1,0,0},{2,0,0,0},{0,2,0,0},{1,2,0,0},{0,1,2,0},
    {3,0,0,0},{0,3,0,0},{1,3,0,0},{0,1,3,0},{2,3,0,0},{0,2,3,0},{1,2,3,0},{0,1,2,3}};

__attribute__((target("avx2"), always_inline))
static inline Py_ssize_t kmb_hits_below_avx2_impl(const double *row, const float *bound,
                                                  Py_ssize_t n, int *hits, const int check,
                                                  int *bad) {
    Py_ssize_t o = 0, c = 0;
    const __m256d zero = _mm256_setzero_pd(), inf = _mm256_set1_pd(__builtin_inf());
    __m256d flag = _mm256_setzero_pd();
    const Py_ssize_t ahead = kmb_prefetch_for(n, sizeof(double));
    for (; o + 4 <= n; o += 4) {
        __m256d d = _mm256_loadu_pd(row + o);
        if (ahead && !(o & 7))   /* a line every other step */
            KMB_PREFETCH(row + o, ahead);
        int m = _mm256_movemask_pd(_mm256_cmp_pd(d, _mm256_cvtps_pd(_mm_loadu_ps(bound + o)),
                                                 _CMP_LT_OQ));
        if (check)
            flag = _mm256_or_pd(flag, _mm256_or_pd(_mm256_cmp_pd(d, zero, _CMP_NGE_UQ),
                                                   _mm256_cmp_pd(d, inf, _CMP_EQ_OQ)));
        _mm_storeu_si128((__m128i *)(hits + c),
                         _mm_add_epi32(_mm_set1_epi32((int)o),
                                       _mm_loadu_si128((const __m128i *)kmb_compress4[m])));
        c += __builtin_popcount((unsigned)m);
    }
    if (check)   /* the tail: the input check's own scan */
        *bad |= (_mm256_movemask_pd(flag) != 0) | (kmb_scan_double(row + o, n - o) != 0);
    for (; o < n; o++) {
        hits[c] = (int)o;
        c += row[o] < bound[o];
    }
    return c;
}
/* NAME(row, bound, n, hits, bad): the listing of NAME_impl compiled for TARGET, checking
 * the row where bad != NULL. */
#define KMB_LISTING(target_, name_)                                                       \
    __attribute__((target(target_))) static Py_ssize_t name_(                           \
        const double *row, const float *bound, Py_ssize_t n, int *hits, int *bad) {     \
        return bad ? name_##_impl(row, bound, n, hits, 1, bad)                          \
                   : name_##_impl(row, bound, n, hits, 0, NULL);                        \
    }
KMB_LISTING("avx2", kmb_hits_below_avx2)

/* The two compares of the checks on one vector of 8: NaN or negative, and +inf. */
#define KMB_BAD8(d) (_mm512_cmp_pd_mask((d), zero, _CMP_NGE_UQ) | _mm512_cmp_pd_mask((d), inf, _CMP_EQ_OQ))

__attribute__((target("avx512f,avx512vl"), always_inline))
static inline Py_ssize_t kmb_hits_below_avx512_impl(const double *row, const float *bound,
                                                    Py_ssize_t n, int *hits, const int check,
                                                    int *bad) {
    Py_ssize_t o = 0, c = 0;
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i eight = _mm256_set1_epi32(8);
    const __m512d zero = _mm512_setzero_pd(), inf = _mm512_set1_pd(__builtin_inf());
    unsigned flag = 0;
    const Py_ssize_t ahead = kmb_prefetch_for(n, sizeof(double));
    for (; o + 16 <= n; o += 16) {           /* two independent compares per step */
        if (ahead) {
            KMB_PREFETCH(row + o, ahead);
            KMB_PREFETCH(row + o + 8, ahead);
        }
        __m512d d0 = _mm512_loadu_pd(row + o), d1 = _mm512_loadu_pd(row + o + 8);
        __mmask8 m0 = _mm512_cmp_pd_mask(d0, _mm512_cvtps_pd(_mm256_loadu_ps(bound + o)),
                                         _CMP_LT_OQ);
        __mmask8 m1 = _mm512_cmp_pd_mask(d1, _mm512_cvtps_pd(_mm256_loadu_ps(bound + o + 8)),
                                         _CMP_LT_OQ);
        if (check)
            flag |= KMB_BAD8(d0) | KMB_BAD8(d1);
        _mm256_storeu_si256((__m256i *)(hits + c), _mm256_maskz_compress_epi32(m0, idx));
        c += __builtin_popcount((unsigned)m0);
        idx = _mm256_add_epi32(idx, eight);
        _mm256_storeu_si256((__m256i *)(hits + c), _mm256_maskz_compress_epi32(m1, idx));
        c += __builtin_popcount((unsigned)m1);
        idx = _mm256_add_epi32(idx, eight);
    }
    if (check)   /* the tail: the input check's own scan */
        *bad |= (flag != 0) | (kmb_scan_double(row + o, n - o) != 0);
    for (; o < n; o++) {
        hits[c] = (int)o;
        c += row[o] < bound[o];
    }
    return c;
}
KMB_LISTING("avx512f,avx512vl", kmb_hits_below_avx512)
#undef KMB_LISTING

/* The listings of four rows against one bound (hits[r], c[r] for rows[r]): the
 * bound is converted once for the four, and the four row streams keep the memory
 * busy while the previous group's sums ran without it. */
__attribute__((target("avx512f,avx512vl"), always_inline))
static inline void kmb_hits_below4_avx512_impl(const double *const *rows, const float *bound,
                                               Py_ssize_t n, int *const *hits, Py_ssize_t *c,
                                               const int check, int *bad) {
    Py_ssize_t o = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i eight = _mm256_set1_epi32(8);
    const __m512d zero = _mm512_setzero_pd(), inf = _mm512_set1_pd(__builtin_inf());
    unsigned flag = 0;
    const Py_ssize_t ahead = kmb_prefetch_for(n, sizeof(double));
    for (; o + 8 <= n; o += 8) {
        if (ahead)
            for (int r = 0; r < 4; r++)
                KMB_PREFETCH(rows[r] + o, ahead);
        __m512d b = _mm512_cvtps_pd(_mm256_loadu_ps(bound + o));
        __m512d d0 = _mm512_loadu_pd(rows[0] + o), d1 = _mm512_loadu_pd(rows[1] + o);
        __m512d d2 = _mm512_loadu_pd(rows[2] + o), d3 = _mm512_loadu_pd(rows[3] + o);
        __mmask8 m0 = _mm512_cmp_pd_mask(d0, b, _CMP_LT_OQ);
        __mmask8 m1 = _mm512_cmp_pd_mask(d1, b, _CMP_LT_OQ);
        __mmask8 m2 = _mm512_cmp_pd_mask(d2, b, _CMP_LT_OQ);
        __mmask8 m3 = _mm512_cmp_pd_mask(d3, b, _CMP_LT_OQ);
        if (check)
            flag |= KMB_BAD8(d0) | KMB_BAD8(d1) | KMB_BAD8(d2) | KMB_BAD8(d3);
        _mm256_storeu_si256((__m256i *)(hits[0] + c0), _mm256_maskz_compress_epi32(m0, idx));
        c0 += __builtin_popcount((unsigned)m0);
        _mm256_storeu_si256((__m256i *)(hits[1] + c1), _mm256_maskz_compress_epi32(m1, idx));
        c1 += __builtin_popcount((unsigned)m1);
        _mm256_storeu_si256((__m256i *)(hits[2] + c2), _mm256_maskz_compress_epi32(m2, idx));
        c2 += __builtin_popcount((unsigned)m2);
        _mm256_storeu_si256((__m256i *)(hits[3] + c3), _mm256_maskz_compress_epi32(m3, idx));
        c3 += __builtin_popcount((unsigned)m3);
        idx = _mm256_add_epi32(idx, eight);
    }
    if (check)   /* the tails: the input check's own scan */
        for (int r = 0; r < 4; r++)
            flag |= kmb_scan_double(rows[r] + o, n - o);
    for (; o < n; o++) {
        hits[0][c0] = hits[1][c1] = hits[2][c2] = hits[3][c3] = (int)o;
        c0 += rows[0][o] < bound[o];
        c1 += rows[1][o] < bound[o];
        c2 += rows[2][o] < bound[o];
        c3 += rows[3][o] < bound[o];
    }
    c[0] = c0;
    c[1] = c1;
    c[2] = c2;
    c[3] = c3;
    if (check)
        *bad |= flag != 0;
}
__attribute__((target("avx512f,avx512vl")))
static void kmb_hits_below4_avx512(const double *const *rows, const float *bound, Py_ssize_t n,
                                   int *const *hits, Py_ssize_t *c, int *bad) {
    if (bad)
        kmb_hits_below4_avx512_impl(rows, bound, n, hits, c, 1, bad);
    else
        kmb_hits_below4_avx512_impl(rows, bound, n, hits, c, 0, NULL);
}
#undef KMB_BAD8

/* The level in use (0 scalar, 1 AVX2, 2 AVX-512): the CPU's, at most the cap. */
static int kmb_simd_cap = 2;             /* the highest level allowed (tests lower it) */
static int kmb_simd_level(void) {
    int level = kmb_cpu_level();
    return level < kmb_simd_cap ? level : kmb_simd_cap;
}
/* Tests and benchmarks: use at most `level` from now on (each extension has its own copy). */
static void kmb_simd_limit(int level) {
    kmb_simd_cap = level;
}
static Py_ssize_t kmb_hits_below_simd(int level, const double *row, const float *bound,
                                      Py_ssize_t n, int *hits, int *bad) {
    return level >= 2 ? kmb_hits_below_avx512(row, bound, n, hits, bad)
                      : kmb_hits_below_avx2(row, bound, n, hits, bad);
}
#else
#define KMB_HAVE_SIMD_PATH 0
static int kmb_simd_level(void) { return 0; }
static void kmb_simd_limit(int level) { (void)level; }
static Py_ssize_t kmb_hits_below_simd(int level, const double *row, const float *bound,
                                      Py_ssize_t n, int *hits, int *bad) { return -1; }
static void kmb_hits_below4_avx512(const double *const *rows, const float *bound, Py_ssize_t n,
                                   int *const *hits, Py_ssize_t *c, int *bad) {}
#endif

#endif  /* KMB_FASTERPAM_SIMD_H */
