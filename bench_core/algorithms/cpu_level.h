/* The vector level of this CPU, for the kernels that pick a listing at run time
 * (fasterpam_simd.h, build_gain.h): 0 none, 1 AVX2, 2 AVX-512 (F and VL). Decided once
 * per extension; each header caps it with its own limit, which tests lower. */
#ifndef KMB_CPU_LEVEL_H
#define KMB_CPU_LEVEL_H

#include <stdint.h>
#include <string.h>

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
 * (build_gain.h) prefetch their matrix rows, in entries. Those loops read several
 * streams side by side (four rows in BUILD and FastPAM1, a row beside its bound and its
 * list in FasterPAM), and the hardware prefetcher keeps too few lines in flight for them.
 * The best distance depends on the core (docs/guide/threads.md, "Prefetching the row
 * streams"; MNIST n = 5,000, k = 100 and n = 10,000, prefetch_ab.py, interleaved):
 *   AMD family 26 (Zen 5): 256 entries (2 KiB) was the fastest of 64 to 1,024: a FastPAM1
 *     iteration 6.7 ms on one thread instead of 8.7, FasterPAM 0.25-0.3 reads less a pass;
 *   AMD family 25 (Zen 4): in the median over the runs 256 cost 0-10 %, 64 entries
 *     (512 bytes) gained 3-17 % (FastPAM1, BUILD, FasterPAM), 32 and 128 less;
 *   an Intel Xeon with AVX512-FP16 (Sapphire Rapids or later; KVM reports family 6
 *     model 167): 256 entries 3-7 % faster than 64 in each of three runs (FastPAM1,
 *     BUILD on one and two threads, FasterPAM at k = 10 and 100), 64 gaining 0-7 % over
 *     none. The feature stands for the generation measured, not for a reason.
 * Other CPUs, not measured, get the shorter 64. Only for a matrix larger than
 * kmb_prefetch_min bytes (16 MiB): a smaller one mostly stays in the last-level cache,
 * where the prefetches cost up to 6 % (Zen 5; n = 500 to 1,500 in float64; n = 2,000,
 * 31 MiB, gained 17-30 %). A prefetch past the end of the matrix is harmless (it cannot
 * fault; the address is computed as an integer, so no pointer leaves its array). Each
 * extension has its own copy of both, set when it is imported and by its _set_prefetch. */
#define KMB_PREFETCH(p, ahead) \
    _mm_prefetch((const char *)((uintptr_t)(p) + (uintptr_t)(ahead) * sizeof(*(p))), _MM_HINT_T0)
#if defined(__GNUC__) || defined(__clang__)
#define KMB_MAYBE_UNUSED __attribute__((unused))
#else
#define KMB_MAYBE_UNUSED
#endif
#define KMB_PREFETCH_LONG 256                        /* the distances above */
#define KMB_PREFETCH_OTHER 64
#define KMB_PREFETCH_MIN_BYTES (16.0 * 1024 * 1024)

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <cpuid.h>
/* Whether CPUID names this vendor (leaf 0: the 12 bytes in EBX, EDX, ECX order). */
KMB_MAYBE_UNUSED static int kmb_cpu_vendor_is(const char *vendor) {
    unsigned int a, r[3];
    return __get_cpuid(0, &a, &r[0], &r[2], &r[1]) && memcmp(r, vendor, 12) == 0;
}
/* The AMD family of this CPU (CPUID leaf 1: base family, plus the extended family when
 * the base is 15), or 0 for another vendor. */
KMB_MAYBE_UNUSED static int kmb_amd_family(void) {
    unsigned int a, b, c, d;
    if (!kmb_cpu_vendor_is("AuthenticAMD") || !__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    unsigned int base = (a >> 8) & 0xFu;
    return (int)(base == 0xFu ? base + ((a >> 20) & 0xFFu) : base);
}
/* Whether this CPU is an Intel one with AVX512-FP16 (CPUID leaf 7, EDX bit 23). */
KMB_MAYBE_UNUSED static int kmb_intel_fp16(void) {
    unsigned int a, b, c, d;
    if (!kmb_cpu_vendor_is("GenuineIntel") || __get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (int)((d >> 23) & 1u);
}
#else
KMB_MAYBE_UNUSED static int kmb_amd_family(void) { return 0; }
KMB_MAYBE_UNUSED static int kmb_intel_fp16(void) { return 0; }
#endif

/* The default distance on this CPU, in entries. */
KMB_MAYBE_UNUSED static Py_ssize_t kmb_default_prefetch(void) {
    return kmb_amd_family() >= 26 || kmb_intel_fp16() ? KMB_PREFETCH_LONG : KMB_PREFETCH_OTHER;
}
KMB_MAYBE_UNUSED static Py_ssize_t kmb_prefetch_ahead = KMB_PREFETCH_OTHER;
KMB_MAYBE_UNUSED static double kmb_prefetch_min = KMB_PREFETCH_MIN_BYTES;
/* entries < 0: this CPU's default. */
KMB_MAYBE_UNUSED static void kmb_set_prefetch(Py_ssize_t entries, double min_bytes) {
    kmb_prefetch_ahead = entries < 0 ? kmb_default_prefetch() : entries;
    kmb_prefetch_min = min_bytes;
}
/* The distance for rows of n entries of `size` bytes in an n x n matrix (0: none). */
KMB_MAYBE_UNUSED static inline Py_ssize_t kmb_prefetch_for(Py_ssize_t n, size_t size) {
    return (double)n * (double)n * (double)size > kmb_prefetch_min ? kmb_prefetch_ahead : 0;
}

#endif  /* KMB_CPU_LEVEL_H */
