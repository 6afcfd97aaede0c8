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
 */
#ifndef KMB_FASTERPAM_SIMD_H
#define KMB_FASTERPAM_SIMD_H

#include <math.h>
#include <stddef.h>

/* bound32[o] = the smallest float32 >= bound[o] (+inf for +inf or beyond the range). */
static void kmb_round_up_f32(const double *bound, Py_ssize_t n, float *bound32) {
    for (Py_ssize_t o = 0; o < n; o++) {
        float f = (float)bound[o];
        if ((double)f < bound[o])
            f = nextafterf(f, INFINITY);
        bound32[o] = f;
    }
}

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
#define KMB_HAVE_SIMD_PATH 1
static const int kmb_compress4[16][4] = {
    {0,0,0,0},{0,0,0,0},{1,0,0,0},{0,1,0,0},{2,0,0,0},{0,2,0,0},{1,2,0,0},{0,1,2,0},
    {3,0,0,0},{0,3,0,0},{1,3,0,0},{0,1,3,0},{2,3,0,0},{0,2,3,0},{1,2,3,0},{0,1,2,3}};

__attribute__((target("avx2")))
static Py_ssize_t kmb_hits_below_avx2(const double *row, const float *bound,
                                      Py_ssize_t n, int *hits) {
    Py_ssize_t o = 0, c = 0;
    for (; o + 4 <= n; o += 4) {
        int m = _mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(row + o),
                                                 _mm256_cvtps_pd(_mm_loadu_ps(bound + o)),
                                                 _CMP_LT_OQ));
        _mm_storeu_si128((__m128i *)(hits + c),
                         _mm_add_epi32(_mm_set1_epi32((int)o),
                                       _mm_loadu_si128((const __m128i *)kmb_compress4[m])));
        c += __builtin_popcount((unsigned)m);
    }
    for (; o < n; o++) {
        hits[c] = (int)o;
        c += row[o] < bound[o];
    }
    return c;
}

__attribute__((target("avx512f,avx512vl")))
static Py_ssize_t kmb_hits_below_avx512(const double *row, const float *bound,
                                        Py_ssize_t n, int *hits) {
    Py_ssize_t o = 0, c = 0;
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i eight = _mm256_set1_epi32(8);
    for (; o + 16 <= n; o += 16) {           /* two independent compares per step */
        __mmask8 m0 = _mm512_cmp_pd_mask(_mm512_loadu_pd(row + o),
                                         _mm512_cvtps_pd(_mm256_loadu_ps(bound + o)), _CMP_LT_OQ);
        __mmask8 m1 = _mm512_cmp_pd_mask(_mm512_loadu_pd(row + o + 8),
                                         _mm512_cvtps_pd(_mm256_loadu_ps(bound + o + 8)),
                                         _CMP_LT_OQ);
        _mm256_storeu_si256((__m256i *)(hits + c), _mm256_maskz_compress_epi32(m0, idx));
        c += __builtin_popcount((unsigned)m0);
        idx = _mm256_add_epi32(idx, eight);
        _mm256_storeu_si256((__m256i *)(hits + c), _mm256_maskz_compress_epi32(m1, idx));
        c += __builtin_popcount((unsigned)m1);
        idx = _mm256_add_epi32(idx, eight);
    }
    for (; o < n; o++) {
        hits[c] = (int)o;
        c += row[o] < bound[o];
    }
    return c;
}

/* -1: not decided yet; otherwise the level in use (0 scalar, 1 AVX2, 2 AVX-512). */
static int kmb_simd = -1;
static int kmb_simd_cap = 2;             /* the highest level allowed (tests lower it) */
static int kmb_simd_level(void) {
    if (kmb_simd < 0) {
        __builtin_cpu_init();
        kmb_simd = (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) ? 2
                   : __builtin_cpu_supports("avx2") ? 1 : 0;
        if (kmb_simd > kmb_simd_cap)
            kmb_simd = kmb_simd_cap;
    }
    return kmb_simd;
}
/* Tests and benchmarks: use at most `level` from now on (each extension has its own copy). */
static void kmb_simd_limit(int level) {
    kmb_simd_cap = level;
    kmb_simd = -1;
}
static Py_ssize_t kmb_hits_below_simd(int level, const double *row, const float *bound,
                                      Py_ssize_t n, int *hits) {
    return level >= 2 ? kmb_hits_below_avx512(row, bound, n, hits)
                      : kmb_hits_below_avx2(row, bound, n, hits);
}
#else
#define KMB_HAVE_SIMD_PATH 0
static int kmb_simd = 0;
static int kmb_simd_cap = 0;
static int kmb_simd_level(void) { return 0; }
static void kmb_simd_limit(int level) { (void)level; }
static Py_ssize_t kmb_hits_below_simd(int level, const double *row, const float *bound,
                                      Py_ssize_t n, int *hits) { return -1; }
#endif

#endif  /* KMB_FASTERPAM_SIMD_H */
