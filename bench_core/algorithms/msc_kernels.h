/* C kernels of the medoid-silhouette candidate pass (FastMSC, FasterMSC, DynMSC).
 *
 * Per-medoid sums are added side by side in MSC_LANES lanes; of 1, 2, 3, 4 and 8
 * lanes, 2 was fastest for k = 3 to 100 on MNIST n = 10,000 (AMD EPYC).
 *
 * The per-point terms of a candidate (see _best_swap in _msc_common.pxd) are
 * computed here: GCC only vectorises the loop with -fno-trapping-math (under the
 * default it may not if-convert floating-point comparisons), set for these
 * functions alone. The option changes no result: no operation is reordered,
 * contracted or rewritten, only computed where the case does not need it and
 * then not used.
 */
#ifndef KMB_MSC_KERNELS_H
#define KMB_MSC_KERNELS_H

#define MSC_LANES 2

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) \
    && !defined(MSC_NO_DISPATCH)
#define MSC_NOTRAP __attribute__((optimize("no-trapping-math"), \
                                  target_clones("avx2", "default")))
#elif defined(__GNUC__) && !defined(__clang__)
#define MSC_NOTRAP __attribute__((optimize("no-trapping-math")))
#else
#define MSC_NOTRAP
#endif
#include <math.h>
#define MSC_R __restrict__
#define MSC_TERMS(NAME, T)                                                     \
static MSC_NOTRAP void NAME(const T *row, const double *dn_, const double *ds_, \
                            const double *dt_, const double *rns_,             \
                            const double *rst_, const double *rnt_,            \
                            Py_ssize_t nb, double *MSC_R cn, double *MSC_R cs,  \
                            double *MSC_R ca)                                  \
{                                                                              \
    for (Py_ssize_t t = 0; t < nb; t++) {                                      \
        double d = (double)row[t], dn = dn_[t], ds = ds_[t];                   \
        double rns = rns_[t], rst = rst_[t], rnt = rnt_[t];                    \
        T sum = (T)dn + row[t];                                                \
        double sn = (double)sum;                                               \
        int inner = d < ds, near = d < dn, aff = d < dt_[t];                   \
        double a1 = near ? d : dn, b1 = near ? dn : d;                         \
        double n1 = inner ? a1 : ds, d1 = inner ? b1 : d;                      \
        double n2 = inner ? sn : dn, d2 = inner ? ds : d;                      \
        double r1 = n1 / d1, r2 = n2 / d2;                                     \
        r1 = n1 == 0 ? 0.0 : r1;                                               \
        r1 = d1 == 0 ? 0.0 : r1;                                               \
        r2 = n2 == 0 ? 0.0 : r2;                                               \
        r2 = d2 == 0 ? 0.0 : r2;                                               \
        double x = (r1 + rst) - r2, y = rst - r1;                              \
        double c = inner ? x : y;                                              \
        cn[t] = aff ? c : 0.0;                                                 \
        x = rnt - rns;                                                         \
        y = rnt - r2;                                                          \
        c = inner ? x : y;                                                     \
        cs[t] = aff ? c : 0.0;                                                 \
        x = rns - r1;                                                          \
        ca[t] = inner ? x : 0.0;                                               \
    }                                                                          \
}
MSC_TERMS(msc_terms_f, float)
MSC_TERMS(msc_terms_d, double)
MSC_TERMS(msc_terms_i, int)
MSC_TERMS(msc_terms_ll, long long)

/* the lanes' sums over lane positions i0 <= i < e, accumulators in registers */
static void msc_lanes(const double *terms, const int *lpos, Py_ssize_t i0, Py_ssize_t e,
                      double *a)
{
    double s[MSC_LANES];
    for (int l = 0; l < MSC_LANES; l++) s[l] = a[l];
    for (Py_ssize_t i = i0; i < e; i++) {
        const int *p = lpos + MSC_LANES * i;
        for (int l = 0; l < MSC_LANES; l++) s[l] += terms[p[l]];
    }
    for (int l = 0; l < MSC_LANES; l++) a[l] = s[l];
}

/* sum(x) in any order (the compiler may reassociate: vector partial sums), and
   sum(|x|); only the error bound of _best_swap depends on it */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("associative-math", "no-signed-zeros", "no-trapping-math")))
#endif
static MSC_NOTRAP void msc_sum_any(const double *x, Py_ssize_t n, double *sum, double *asum)
{
    double s = 0.0, b = 0.0;
    for (Py_ssize_t o = 0; o < n; o++) {
        s += x[o];
        b += fabs(x[o]);
    }
    *sum = s;
    *asum = b;
}

#endif  /* KMB_MSC_KERNELS_H */
