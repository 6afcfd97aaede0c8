/* Experiment (not kept): FasterPAM's four-row listing of the next group interleaved with
 * the sums of the current one in one loop, against the kernel's two phases (listing,
 * then sums), over a synthetic 10,000 x 10,000 float64 matrix (uniform entries, a bound
 * that lists ~10.5 % of the points as at k = 10 on MNIST), with the same results.
 *
 * Build and run from the repository root (x86-64 with AVX-512):
 *   gcc -O3 -fwrapv -fPIC -I$(python -c "import sysconfig; print(sysconfig.get_paths()['include'])") \
 *       -Ibench_core/algorithms docs/guide/fasterpam_fused.c -o /tmp/fused && /tmp/fused 10 0.11 64
 * (arguments: k, the share of listed points, the prefetch distance in entries). It prints the
 * core's work a group from the caches, then per pass over the matrix: the listing alone, the
 * listing then the sums (as the kernel does), the fused loop with its speed-up over the two
 * phases (above 1: the fused loop is faster), and one read of the matrix. Measured in
 * docs/guide/threads.md ("FasterPAM at k = 10 on Zen 4").
 */
#include <Python.h>  /* Py_ssize_t */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "fasterpam_simd.h"
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* One listed point of row r in the sums: as KMB_HIT_STEP in fasterpam_simd.h. */
#define HIT_STEP(r, q)                                                                   \
    {                                                                                    \
        int o_ = hits[r][q];                                                             \
        double d_ = rows[r][o_], sd_ = seco_d[o_];                                       \
        if (d_ < sd_) {                                                                  \
            double nd_ = near_d[o_];                                                     \
            acc[r] += (d_ < nd_ ? d_ : nd_) - nd_;                                       \
            pl[r][near_i[o_]] += (d_ > nd_ ? d_ : nd_) - sd_;                            \
        }                                                                                \
    }

/* One row's eight points at o in the listing of the next group: as in
 * kmb_hits_below4_avx512_impl (fasterpam_simd.h), without the input check. */
#define LIST_ROW(r, d, cr)                                                               \
    {                                                                                    \
        __mmask8 m_ = _mm512_cmp_pd_mask((d), b, _CMP_LT_OQ);                            \
        _mm256_storeu_si256((__m256i *)(nhits[r] + (cr)), _mm256_maskz_compress_epi32(m_, idx)); \
        (cr) += __builtin_popcount((unsigned)m_);                                        \
    }
#define LIST_STEP(o)                                                                     \
    {                                                                                    \
        if (ahead)                                                                       \
            for (int r_ = 0; r_ < 4; r_++)                                               \
                KMB_PREFETCH(nrows[r_] + (o), ahead);                                    \
        __m512d b = _mm512_cvtps_pd(_mm256_loadu_ps(bound + (o)));                       \
        __m512d d0 = _mm512_loadu_pd(nrows[0] + (o)), d1 = _mm512_loadu_pd(nrows[1] + (o)); \
        __m512d d2 = _mm512_loadu_pd(nrows[2] + (o)), d3 = _mm512_loadu_pd(nrows[3] + (o)); \
        LIST_ROW(0, d0, c0)                                                              \
        LIST_ROW(1, d1, c1)                                                              \
        LIST_ROW(2, d2, c2)                                                              \
        LIST_ROW(3, d3, c3)                                                              \
        idx = _mm256_add_epi32(idx, eight);                                              \
    }

/* The sums of the group `rows` (its lists `hits`, `c`; none if c is NULL), with the
 * listing of the group `nrows` (into nhits, nc; none if nrows is NULL) in the same loop,
 * a step of each, while both have work. */
__attribute__((target("avx512f,avx512vl")))
static void fused(const double *const *rows, int *const *hits, const Py_ssize_t *c,
                  const int *near_i, const double *near_d, const double *seco_d,
                  const double *rloss, Py_ssize_t k, double *ploss, double *change,
                  Py_ssize_t *best_m, const double *const *nrows, const float *bound,
                  Py_ssize_t n, int *const *nhits, Py_ssize_t *nc) {
    double *pl[4], acc[4] = {0.0, 0.0, 0.0, 0.0};
    Py_ssize_t q = 0, m = c ? c[0] : 0, o = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i eight = _mm256_set1_epi32(8);
    const Py_ssize_t ahead = kmb_prefetch_for(n, sizeof(double));
    if (c)
        for (int r = 0; r < 4; r++) {
            pl[r] = ploss + r * k;
            memcpy(pl[r], rloss, (size_t)k * sizeof(double));
            if (c[r] < m)
                m = c[r];
        }
    if (nrows) {
        for (; q < m && o + 8 <= n; q++, o += 8) {
            LIST_STEP(o)
            HIT_STEP(0, q)
            HIT_STEP(1, q)
            HIT_STEP(2, q)
            HIT_STEP(3, q)
        }
        for (; o + 8 <= n; o += 8)
            LIST_STEP(o)
        for (; o < n; o++) {
            nhits[0][c0] = nhits[1][c1] = nhits[2][c2] = nhits[3][c3] = (int)o;
            c0 += nrows[0][o] < bound[o];
            c1 += nrows[1][o] < bound[o];
            c2 += nrows[2][o] < bound[o];
            c3 += nrows[3][o] < bound[o];
        }
        nc[0] = c0;
        nc[1] = c1;
        nc[2] = c2;
        nc[3] = c3;
    }
    if (!c)
        return;
    for (; q < m; q++) {
        HIT_STEP(0, q)
        HIT_STEP(1, q)
        HIT_STEP(2, q)
        HIT_STEP(3, q)
    }
    for (int r = 0; r < 4; r++) {
        for (Py_ssize_t p = m; p < c[r]; p++)
            HIT_STEP(r, p)
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

/* One streaming read of the n x n matrix (four AVX-512 sums, bound by the memory). */
__attribute__((target("avx512f")))
static double read_all(const double *D, size_t len) {
    __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 32 <= len; i += 32) {
        a0 = _mm512_add_pd(a0, _mm512_loadu_pd(D + i));
        a1 = _mm512_add_pd(a1, _mm512_loadu_pd(D + i + 8));
        a2 = _mm512_add_pd(a2, _mm512_loadu_pd(D + i + 16));
        a3 = _mm512_add_pd(a3, _mm512_loadu_pd(D + i + 24));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3)));
}

#define GROUP_ROWS(g) {D + (g) * n, D + ((g) + 1) * n, D + ((g) + 2) * n, D + ((g) + 3) * n}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s K SHARE_LISTED PREFETCH_ENTRIES\n", argv[0]);
        return 2;
    }
    const Py_ssize_t n = 10000;
    const int k = atoi(argv[1]);
    const double share = atof(argv[2]);
    kmb_set_prefetch(atoi(argv[3]), 16.0 * 1024 * 1024);
    double *D = aligned_alloc(64, (size_t)n * n * sizeof(double));
    unsigned s = 1;   /* a linear congruential generator: the same matrix every run */
    for (size_t i = 0; i < (size_t)n * n; i++) {
        s = s * 1664525u + 1013904223u;
        D[i] = (s >> 8) / 16777216.0;
    }
    int *near_i = malloc(n * sizeof(int));
    double *near_d = malloc(n * sizeof(double)), *seco_d = malloc(n * sizeof(double));
    for (Py_ssize_t o = 0; o < n; o++) {
        s = s * 1664525u + 1013904223u;
        near_i[o] = (int)((s >> 8) % (unsigned)k);
        near_d[o] = share * 0.3;
        seco_d[o] = share;
    }
    float *bound = aligned_alloc(64, n * sizeof(float));
    kmb_round_up_f32(seco_d, n, bound);
    int *hb = aligned_alloc(64, (8 * n + 16) * sizeof(int));
    int *hA[4] = {hb, hb + n, hb + 2 * n, hb + 3 * n};
    int *hB[4] = {hb + 4 * n, hb + 5 * n, hb + 6 * n, hb + 7 * n};
    double *rloss = calloc(k, sizeof(double)), *ploss = malloc(4 * k * sizeof(double)), change[4];
    Py_ssize_t c[4], cB[4], bm[4];
    double sink = 0.0;

    /* the core's own work: the first group listed (with and without the input check)
     * and summed 2,500 times over, its rows and lists in the caches */
    for (int round = 0; round < 3; round++) {
        const double *rows[4] = GROUP_ROWS(0);
        int bad = 0;
        double t = now();
        for (int r = 0; r < 2500; r++)
            kmb_hits_below4_avx512(rows, bound, n, hA, c, NULL);
        double tl = (now() - t) / 2500;
        t = now();
        for (int r = 0; r < 2500; r++)
            kmb_hits_below4_avx512(rows, bound, n, hA, c, &bad);
        double tc = (now() - t) / 2500;
        t = now();
        for (int r = 0; r < 2500; r++) {
            kmb_change_of_hits4(rows, hA, c, near_i, near_d, seco_d, rloss, k, ploss, change, bm);
            sink += change[0];
        }
        double ts = (now() - t) / 2500;
        printf("from the caches, a group of four rows: listing %.2f us (%.2f us with the input "
               "check), sums %.2f us (%.2f ns a listed point)\n", tl * 1e6, tc * 1e6, ts * 1e6,
               ts * 1e9 / (double)(c[0] + c[1] + c[2] + c[3]));
    }

    /* per pass over the matrix: the listing alone, listing then sums (the kernel's two
     * phases), the fused loop (listing group g + 1 during the sums of group g) */
    for (int round = 0; round < 4; round++) {
        double two = 0.0, one = 0.0, t = now();
        for (Py_ssize_t g = 0; g + 4 <= n; g += 4) {
            const double *rows[4] = GROUP_ROWS(g);
            kmb_hits_below4_avx512(rows, bound, n, hA, c, NULL);
        }
        double t_list = now() - t;
        t = now();
        for (Py_ssize_t g = 0; g + 4 <= n; g += 4) {
            const double *rows[4] = GROUP_ROWS(g);
            kmb_hits_below4_avx512(rows, bound, n, hA, c, NULL);
            kmb_change_of_hits4(rows, hA, c, near_i, near_d, seco_d, rloss, k, ploss, change, bm);
            two += change[0] + change[3];
        }
        double t_two = now() - t;
        t = now();
        const double *first[4] = GROUP_ROWS(0);
        fused(first, NULL, NULL, near_i, near_d, seco_d, rloss, k, ploss, change, bm, first,
              bound, n, hA, c);                                   /* the first listing alone */
        int **cur = hA, **nxt = hB;
        Py_ssize_t *cc = c, *cn = cB;
        for (Py_ssize_t g = 0; g + 4 <= n; g += 4) {
            const double *rows[4] = GROUP_ROWS(g), *next[4] = GROUP_ROWS(g + 4);
            fused(rows, cur, cc, near_i, near_d, seco_d, rloss, k, ploss, change, bm,
                  g + 8 <= n ? next : NULL, bound, n, nxt, cn);
            one += change[0] + change[3];
            int **tp = cur;
            cur = nxt;
            nxt = tp;
            Py_ssize_t *tc = cc;
            cc = cn;
            cn = tc;
        }
        double t_fused = now() - t;
        t = now();
        sink += read_all(D, (size_t)n * n);
        double t_read = now() - t;
        printf("k=%d, %.3f listed: per pass listing alone %.1f ms, listing then sums %.1f ms, fused "
               "%.1f ms (%.2fx); one read %.1f ms; same sums %d\n", k, (double)c[0] / n,
               t_list * 1e3, t_two * 1e3, t_fused * 1e3, t_two / t_fused, t_read * 1e3, two == one);
    }
    return sink == 1.5;
}
