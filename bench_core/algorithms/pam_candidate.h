/* PAM SWAP: the loss changes of one candidate j for all k medoids at once, in AVX2
 * registers (picked at run time; _pam._pam_candidate is the definition and the path
 * elsewhere). For every point o != j, in increasing o:
 *     x = d < nd ? d - nd : 0            (m is not o's medoid: o moves to j if nearer)
 *     y = min(d, sd) - nd                (m is o's medoid: o goes to j or its second)
 *     acc[m] += (m == near_i[o]) ? y : x
 * with d = row[o], nd = near_d[o], sd = seco_d[o]. Each acc[m] takes the same additions
 * in the same order as the scalar loop, so the changes are the same bits.
 *
 * The scalar loop keeps acc in memory: every point loads and stores all k sums, and
 * each sum waits for its own store of the previous point: 11 to 15 ns per point and
 * candidate at k = 20 on Zen 5 (MNIST n = 2,000), depending on the loop's code alignment,
 * against 3.7 ns for this form (docs/guide/threads.md, run J). Here a pass
 * keeps up to 16 sums in four registers for the whole row, and the select is a compare
 * of the lane's medoid number (as a double) with near_i[o]: a pass per 16 medoids, the
 * row read again from cache. Lanes beyond k add x and are not stored. */
#ifndef KMB_PAM_CANDIDATE_H
#define KMB_PAM_CANDIDATE_H

#include <stddef.h>

#include "cpu_level.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define KMB_HAVE_PAM_AVX2 1

/* a[0 .. NV) over the points o != j in increasing o, for the medoids m0 .. m0 + 4 NV. */
#define KMB_PAM_PASS(T, NV)                                                              \
    __attribute__((target("avx2"), always_inline))                                      \
    static inline void kmb_pam_pass##NV##_##T(const T *row, Py_ssize_t n, Py_ssize_t j,  \
            const int *near_i, const double *near_d, const double *seco_d,               \
            __m256d *a, Py_ssize_t m0) {                                                 \
        __m256d idx[NV];                                                                 \
        for (int r = 0; r < NV; r++)                                                     \
            idx[r] = _mm256_setr_pd((double)(m0 + 4 * r), (double)(m0 + 4 * r + 1),      \
                                    (double)(m0 + 4 * r + 2), (double)(m0 + 4 * r + 3)); \
        /* the points before j, then those after it: no test of o == j in the loop */    \
        for (int h = 0; h < 2; h++)                                                      \
        for (Py_ssize_t o = h ? j + 1 : 0; o < (h ? n : j); o++) {                       \
            double d = (double)row[o], nd = near_d[o], sd = seco_d[o];                   \
            double x = d < nd ? d - nd : 0.0;                                            \
            double y = (d < sd ? d : sd) - nd;                                           \
            __m256d xv = _mm256_set1_pd(x), yv = _mm256_set1_pd(y);                      \
            __m256d nv = _mm256_set1_pd((double)near_i[o]);                              \
            for (int r = 0; r < NV; r++)                                                 \
                a[r] = _mm256_add_pd(a[r], _mm256_blendv_pd(                             \
                    xv, yv, _mm256_cmp_pd(idx[r], nv, _CMP_EQ_OQ)));                     \
        }                                                                                \
    }

/* acc[m] for m < k; acc must have room for k rounded up to a multiple of 4. */
#define KMB_PAM_CANDIDATE(T)                                                             \
    KMB_PAM_PASS(T, 1)                                                                   \
    KMB_PAM_PASS(T, 2)                                                                   \
    KMB_PAM_PASS(T, 3)                                                                   \
    KMB_PAM_PASS(T, 4)                                                                   \
    __attribute__((target("avx2")))                                                      \
    static void kmb_pam_candidate_##T(const T *row, Py_ssize_t n, Py_ssize_t j,          \
            const int *near_i, const double *near_d, const double *seco_d,               \
            double *acc, Py_ssize_t k) {                                                 \
        for (Py_ssize_t m0 = 0; m0 < k; m0 += 16) {                                      \
            int nv = k - m0 >= 16 ? 4 : (int)((k - m0 + 3) / 4);                         \
            __m256d a[4];                                                                \
            for (int r = 0; r < nv; r++)                                                 \
                a[r] = _mm256_set1_pd(-near_d[j]);   /* j itself becomes a medoid */     \
            switch (nv) {                                                                \
            case 1: kmb_pam_pass1_##T(row, n, j, near_i, near_d, seco_d, a, m0); break;  \
            case 2: kmb_pam_pass2_##T(row, n, j, near_i, near_d, seco_d, a, m0); break;  \
            case 3: kmb_pam_pass3_##T(row, n, j, near_i, near_d, seco_d, a, m0); break;  \
            default: kmb_pam_pass4_##T(row, n, j, near_i, near_d, seco_d, a, m0);        \
            }                                                                            \
            for (int r = 0; r < nv; r++) {                                               \
                double s[4];                                                             \
                _mm256_storeu_pd(s, a[r]);                                               \
                for (int l = 0; l < 4 && m0 + 4 * r + l < k; l++)                        \
                    acc[m0 + 4 * r + l] = s[l];                                          \
            }                                                                            \
        }                                                                                \
    }

typedef long long kmb_llong;
KMB_PAM_CANDIDATE(double)
KMB_PAM_CANDIDATE(float)
KMB_PAM_CANDIDATE(int)
KMB_PAM_CANDIDATE(kmb_llong)
#undef KMB_PAM_CANDIDATE
#undef KMB_PAM_PASS

/* The entry for every matrix type: `kind` 0 double, 1 float, 2 int, 3 long long. */
static void kmb_pam_candidate(const void *row, int kind, Py_ssize_t n, Py_ssize_t j,
                              const int *near_i, const double *near_d, const double *seco_d,
                              double *acc, Py_ssize_t k) {
    switch (kind) {
    case 0: kmb_pam_candidate_double((const double *)row, n, j, near_i, near_d, seco_d, acc, k); break;
    case 1: kmb_pam_candidate_float((const float *)row, n, j, near_i, near_d, seco_d, acc, k); break;
    case 2: kmb_pam_candidate_int((const int *)row, n, j, near_i, near_d, seco_d, acc, k); break;
    default: kmb_pam_candidate_kmb_llong((const kmb_llong *)row, n, j, near_i, near_d, seco_d, acc, k);
    }
}

#else
#define KMB_HAVE_PAM_AVX2 0
static void kmb_pam_candidate(const void *row, int kind, Py_ssize_t n, Py_ssize_t j,
                              const int *near_i, const double *near_d, const double *seco_d,
                              double *acc, Py_ssize_t k) {
    (void)row; (void)kind; (void)n; (void)j; (void)near_i; (void)near_d; (void)seco_d;
    (void)acc; (void)k;   /* never called: kmb_pam_level() is 0 */
}
#endif

/* The level of the candidates' sums: 0 the scalar loop, 1 AVX2 (where the CPU has it and
 * the cap allows it; tests lower the cap to compare the two). */
static int kmb_pam_level_cap = 1;
static int kmb_pam_level(void) {
    return KMB_HAVE_PAM_AVX2 && kmb_cpu_level() >= 1 && kmb_pam_level_cap >= 1;
}
static void kmb_pam_limit(int level) {
    kmb_pam_level_cap = level;
}

#endif  /* KMB_PAM_CANDIDATE_H */
