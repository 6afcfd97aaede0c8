/* FasterPAM: the AVX2 listing of the points a candidate can affect (see _fasterpam.pyx). */
#ifndef KMB_FASTERPAM_AVX2_H
#define KMB_FASTERPAM_AVX2_H

#include <stddef.h>
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
#define KMB_HAVE_AVX2_PATH 1
static const int kmb_compress4[16][4] = {
    {0,0,0,0},{0,0,0,0},{1,0,0,0},{0,1,0,0},{2,0,0,0},{0,2,0,0},{1,2,0,0},{0,1,2,0},
    {3,0,0,0},{0,3,0,0},{1,3,0,0},{0,1,3,0},{2,3,0,0},{0,2,3,0},{1,2,3,0},{0,1,2,3}};
__attribute__((target("avx2")))
static Py_ssize_t kmb_hits_below_avx2(const double *row, const double *bound,
                                      Py_ssize_t n, int *hits) {
    Py_ssize_t o = 0, c = 0;
    for (; o + 4 <= n; o += 4) {
        int m = _mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(row + o),
                                                 _mm256_loadu_pd(bound + o), _CMP_LT_OQ));
        /* c <= o, so the 4 ints written at hits[c] stay below n */
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
static int kmb_avx2 = -1;
static int kmb_use_avx2(void) {
    if (kmb_avx2 < 0) {
        __builtin_cpu_init();
        kmb_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return kmb_avx2;
}
#else
#define KMB_HAVE_AVX2_PATH 0
static Py_ssize_t kmb_hits_below_avx2(const double *row, const double *bound,
                                      Py_ssize_t n, int *hits) { return -1; }
static int kmb_use_avx2(void) { return 0; }
#endif

#endif  /* KMB_FASTERPAM_AVX2_H */
