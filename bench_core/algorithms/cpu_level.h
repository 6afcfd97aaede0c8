/* The vector level of this CPU, for the kernels that pick a listing at run time
 * (fasterpam_simd.h, build_gain.h): 0 none, 1 AVX2, 2 AVX-512 (F and VL). Decided once
 * per extension; each header caps it with its own limit, which tests lower. */
#ifndef KMB_CPU_LEVEL_H
#define KMB_CPU_LEVEL_H

#include <stdint.h>

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
static int kmb_cpu_level(void) {
    static int level = -1;   /* not decided yet (deciding twice gives the same answer) */
    if (level < 0) {
        __builtin_cpu_init();
        level = (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) ? 2
                : __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return level;
}
#else
static int kmb_cpu_level(void) { return 0; }
#endif

/* How far ahead of its loads a vector listing (fasterpam_simd.h) or BUILD's AVX2 gains
 * (build_gain.h) prefetch their matrix rows, in entries: 256 doubles = 2 KiB, 32 lines;
 * 0: no prefetch (benchmarks compare). Those loops read several streams side by side
 * (four rows in BUILD and FastPAM1, a row beside its bound and its list in FasterPAM),
 * and the hardware prefetcher kept too few lines in flight for them: with the prefetch,
 * a FastPAM1 iteration (n = 5,000, k = 100) took 6.6 ms on one thread instead of 8.7,
 * FasterPAM per pass 0.25-0.3 reads of the matrix less (docs/guide/threads.md,
 * "Prefetching"). A prefetch past the end of the matrix is harmless (it cannot fault;
 * the address is computed as an integer, so no pointer leaves its array). Each
 * extension has its own copy, set by its own _set_prefetch. */
#define KMB_PREFETCH(p, ahead) \
    _mm_prefetch((const char *)((uintptr_t)(p) + (uintptr_t)(ahead) * sizeof(*(p))), _MM_HINT_T0)
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static Py_ssize_t kmb_prefetch_ahead = 256;
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static void kmb_set_prefetch(Py_ssize_t entries) { kmb_prefetch_ahead = entries; }

#endif  /* KMB_CPU_LEVEL_H */
