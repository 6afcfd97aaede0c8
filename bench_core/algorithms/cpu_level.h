/* The vector level of this CPU, for the kernels that pick a listing at run time
 * (fasterpam_simd.h, build_gain.h): 0 none, 1 AVX2, 2 AVX-512 (F and VL). Decided once
 * per extension; each header caps it with its own limit, which tests lower. */
#ifndef KMB_CPU_LEVEL_H
#define KMB_CPU_LEVEL_H

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

#endif  /* KMB_CPU_LEVEL_H */
