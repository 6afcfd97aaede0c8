# cython: language_level=3
"""Medoid-silhouette clustering kernels: PAMSIL, PAMMEDSIL, FastMSC, FasterMSC, DynMSC.

The medoid silhouette of a point is 1 - a/b with a, b the distances to its
nearest and second nearest medoid; the algorithms minimise the sum over points
of r = a/b (0 when a or b is 0), i.e. maximise the average medoid silhouette
1 - sum(r)/n.

Every point keeps a record of its three nearest medoids (position in ``med``
and distance).  With them the change of sum(r) caused by replacing medoid m by
a candidate j is known from the distance of each point to j alone:

* FastMSC / FasterMSC (Lenssen & Schubert 2022): one pass over the candidate's
  distances gives the change for all k medoids at once.  A shared term ``acc``
  covers what happens to every point regardless of which medoid leaves (j
  becomes its nearest or second nearest), the per-medoid terms ``ploss[m]``
  start from the removal loss (what removing m alone costs) and are corrected
  where the point's nearest or second medoid is the one leaving.  O(n) per
  candidate instead of PAMMEDSIL's O(nk) (Van der Laan, Pollard & Bryan 2003).
* FasterMSC swaps as soon as a candidate improves (eager), FastMSC and
  PAMMEDSIL take the best swap of a full pass.
* DynMSC (Lenssen & Schubert 2024) runs FasterMSC from k_max down to k_min,
  each time dropping the medoid whose removal costs least.

Tie-breaking, iteration counting and floating-point operation order follow the
``kmedoids`` package (Rust) so that results are identical from the same start.
The candidate j's distances are read as the row ``diss[j, :]`` (row = medoid,
contiguous); on symmetric input this equals kmedoids' column read.

The FastMSC/FasterMSC candidate pass (``_best_swap``) keeps kmedoids'
operations and their order but not its loop: (1) a branch-free C loop over
struct-of-arrays copies of the records computes every point's three terms
(two divisions per point, operands picked by the case), which the compiler
vectorises (an AVX2 clone is picked at run time on x86-64 Linux with GCC);
(2) each ploss[m] is summed over its own precomputed list of points, in point
order, two lists side by side (``_schedule``), instead of a scatter whose
store-to-load dependencies stall; (3) acc, a chain of n dependent additions,
is summed in point order only when a fast sum in another order, with a
rigorous error bound, cannot already show that the candidate is no
improvement. Zero terms (points the candidate does not affect) are added as
+0.0, which changes no sum.

k = 2 has no third medoid; FastMSC and FasterMSC then keep the two distances
per point by medoid position (as kmedoids does), PAMMEDSIL keeps the records
with an empty third slot (index -1).
"""

from libc.math cimport INFINITY, fabs
from libc.stdlib cimport free, malloc

from ._common cimport dissim_t



cdef struct Reco:
    double dn      # distance to the nearest medoid
    double ds      # ... to the second nearest
    double dt      # ... to the third nearest
    double r_ns    # cached r(dn, ds), r(ds, dt), r(dn, dt): they do not depend on
    double r_st    # the candidate, and the same division gives the same bits
    double r_nt
    int mn         # positions in med of the three; -1 = none (k < 3)
    int ms
    int mt


cdef struct Soa:
    # The records again as separate contiguous arrays, for the candidate pass.
    double* dn
    double* ds
    double* dt
    double* rns    # r(dn, ds)
    double* rst    # r(ds, dt)
    double* rnt    # r(dn, dt)
    int* mn
    int* ms


cdef extern from *:
    """
    #define MSC_LANES 2
    """
    # per-medoid sums added side by side in the candidate pass; of 1, 2, 3, 4 and 8
    # lanes, 2 was fastest for k = 3 to 100 on MNIST n = 10,000 (AMD EPYC)
    enum: LANES "MSC_LANES"


cdef inline double _r(double a, double b) noexcept nogil:
    """a/b, the medoid-silhouette deficit of a point; 0 when a or b is 0."""
    if a == 0 or b == 0:
        return 0.0
    return a / b


cdef inline double _cache(Reco* r, Soa* s, Py_ssize_t o) noexcept nogil:
    """Refresh the cached ratios of record o and its copy in ``s``; returns r(dn, ds)."""
    r.r_ns = _r(r.dn, r.ds)
    r.r_st = _r(r.ds, r.dt)
    r.r_nt = _r(r.dn, r.dt)
    s.dn[o] = r.dn
    s.ds[o] = r.ds
    s.dt[o] = r.dt
    s.rns[o] = r.r_ns
    s.rst[o] = r.r_st
    s.rnt[o] = r.r_nt
    s.mn[o] = r.mn
    s.ms[o] = r.ms
    return r.r_ns


# ----------------------------------------------------------------------------- records

cdef double _initial(const dissim_t[:, ::1] diss,    # IN  (n, n)
                     const long long* med, int k,      # IN  medoids
                     Reco* rec,                        # OUT (n,)
                     Soa* s) noexcept nogil:           # OUT (n,) copy of rec
    """Three nearest medoids of every point; returns sum(r)."""
    cdef Py_ssize_t n = diss.shape[0], i
    cdef int m
    cdef double d, total = 0.0
    for i in range(n):
        rec[i].mn = 0
        rec[i].dn = <double> diss[med[0], i]
        rec[i].ms = -1
        rec[i].ds = 0.0
        rec[i].mt = -1
        rec[i].dt = 0.0
        for m in range(1, k):
            d = <double> diss[med[m], i]
            if d < rec[i].dn or i == med[m]:  # a medoid is its own nearest
                rec[i].mt = rec[i].ms
                rec[i].dt = rec[i].ds
                rec[i].ms = rec[i].mn
                rec[i].ds = rec[i].dn
                rec[i].mn = m
                rec[i].dn = d
            elif rec[i].ms == -1 or d < rec[i].ds:
                rec[i].mt = rec[i].ms
                rec[i].dt = rec[i].ds
                rec[i].ms = m
                rec[i].ds = d
            elif rec[i].mt == -1 or d < rec[i].dt:
                rec[i].mt = m
                rec[i].dt = d
        total += _cache(&rec[i], s, i)
    return total


cdef void _removal_loss(const Reco* rec, Py_ssize_t n, double* rl, int k) noexcept nogil:
    """rl[m] = increase of sum(r) if medoid m were removed and nothing added."""
    cdef Py_ssize_t o
    cdef int m
    for m in range(k):
        rl[m] = 0.0
    for o in range(n):
        # nearest leaves: (dn, ds) -> (ds, dt); second leaves: (dn, ds) -> (dn, dt)
        rl[rec[o].mn] += rec[o].r_ns - rec[o].r_st
        rl[rec[o].ms] += rec[o].r_ns - rec[o].r_nt


cdef inline double _sum_d(dissim_t a, dissim_t b) noexcept nogil:
    """a + b in the matrix's own type (kmedoids adds before converting)."""
    cdef dissim_t s = a + b
    return <double> s


# The per-point terms of a candidate (see _best_swap) are computed in C: GCC only
# vectorises the loop with -fno-trapping-math (under the default it may not
# if-convert floating-point comparisons), set here for these functions alone.
# The option changes no result: no operation is reordered, contracted or
# rewritten, only computed where the case does not need it and then not used.
cdef extern from *:
    """
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
    """
    void msc_lanes(const double* terms, const int* lpos, Py_ssize_t i0, Py_ssize_t e,
                   double* a) noexcept nogil
    void msc_sum_any(const double* x, Py_ssize_t n, double* sum, double* asum) noexcept nogil
    void msc_terms_f(const float* row, const double* dn, const double* ds, const double* dt,
                     const double* rns, const double* rst, const double* rnt, Py_ssize_t nb,
                     double* cn, double* cs, double* ca) noexcept nogil
    void msc_terms_d(const double* row, const double* dn, const double* ds, const double* dt,
                     const double* rns, const double* rst, const double* rnt, Py_ssize_t nb,
                     double* cn, double* cs, double* ca) noexcept nogil
    void msc_terms_i(const int* row, const double* dn, const double* ds, const double* dt,
                     const double* rns, const double* rst, const double* rnt, Py_ssize_t nb,
                     double* cn, double* cs, double* ca) noexcept nogil
    void msc_terms_ll(const long long* row, const double* dn, const double* ds,
                      const double* dt, const double* rns, const double* rst,
                      const double* rnt, Py_ssize_t nb,
                      double* cn, double* cs, double* ca) noexcept nogil


cdef inline void _terms(const dissim_t* row,           # IN  (nb,) d(j, o) for the block
                        const Soa* s, Py_ssize_t o,       # IN  records, first point of the block
                        Py_ssize_t nb,
                        double* cn,                       # OUT (nb,) term of ploss[mn]
                        double* cs,                       # OUT (nb,) term of ploss[ms]
                        double* ca) noexcept nogil:       # OUT (nb,) term of acc
    """Per-point terms of one candidate j for a block of points, branch-free.

    Cases, with d = d(j, o) and the point's (dn, ds, dt):

    * d < ds (inner): j becomes the nearest (pair (d, dn)) or the second (dn, d),
      a gain q shared by every medoid choice (acc += r(dn, ds) - q). If the old
      nearest leaves instead, the pair is (d, ds): the removal loss counted
      (dn, ds) -> (ds, dt), so add back r(ds, dt) and q and take off r(d, ds) +
      r(dn, ds), computed as one division r(dn + d, ds) (the sum in the matrix's
      type). If the second leaves, the shared pair is right: undo the removal's
      (dn, dt).
    * ds <= d < dt: j is third; it replaces dt when the nearest or second leaves:
      r(ds, d) and r(dn, d).
    * d >= dt: nothing changes; the terms are 0 (adding +0.0 changes no sum).

    Each case needs exactly two divisions, n1/d1 and n2/d2, whose operands are
    picked by the case, so all lanes divide alike; the terms are kmedoids'
    operations per case, hence the same bits.
    """
    if dissim_t is float:
        msc_terms_f(row, s.dn + o, s.ds + o, s.dt + o, s.rns + o, s.rst + o, s.rnt + o, nb,
                    cn, cs, ca)
    elif dissim_t is double:
        msc_terms_d(row, s.dn + o, s.ds + o, s.dt + o, s.rns + o, s.rst + o, s.rnt + o, nb,
                    cn, cs, ca)
    elif dissim_t is int:
        msc_terms_i(row, s.dn + o, s.ds + o, s.dt + o, s.rns + o, s.rst + o, s.rnt + o, nb,
                    cn, cs, ca)
    else:
        msc_terms_ll(row, s.dn + o, s.ds + o, s.dt + o, s.rns + o, s.rst + o, s.rnt + o, nb,
                     cn, cs, ca)


cdef double _best_swap(const dissim_t[:, ::1] diss,   # IN  (n, n)
                       Work* w,                        # IN  records, removal loss, schedule
                       Py_ssize_t j, int k,
                       double threshold,
                       int* best_m) noexcept nogil:
    """Largest decrease of sum(r) from swapping candidate j with some medoid (FastMSC).

    Returns the decrease and stores the medoid position in best_m (w.ploss is
    left with the change per medoid), or -inf when the decrease is certainly
    below ``threshold`` (the caller only wants candidates above it).

    A vectorised pass computes every point's terms (``_terms``); then, lane by
    lane (``_schedule``), each ploss[m] = rl[m] + its terms is summed in point
    order, and so is acc: kmedoids' sums, operation for operation. acc is one
    chain of n dependent additions, the longest part; it is first summed in
    any order (vector partial sums: fast, but other bits), with a bound on the
    difference between
    any two summation orders (Higham, Accuracy and Stability of Numerical
    Algorithms, 2002, sect. 4.2: |error| <= gamma_(n-1) sum|x_i|, gamma_m =
    m u / (1 - m u)). Only when that cannot rule the candidate out is acc summed
    in point order, so the value returned, and every decision made on it, is
    the one of the exact order.
    """
    cdef Py_ssize_t n = diss.shape[0], o, i0 = 0, e
    cdef int m, l, bl, c
    cdef int nc[LANES]
    cdef double acc = 0.0, t, margin, asum
    cdef double a[LANES]
    cdef const double* ca = w.ca
    cdef double* ploss = w.ploss
    cdef const double* rl = w.rl
    w.terms[2 * n] = 0.0
    _terms(&diss[j, 0], &w.s, 0, n, w.terms, w.terms + n, w.ca)
    for l in range(LANES):
        nc[l] = 0
        a[l] = rl[w.lane_m[l * k]] if w.lane_nc[l] > 0 else 0.0
    while True:
        # the lane whose current chain ends first
        bl = -1
        e = 0
        for l in range(LANES):
            if nc[l] < w.lane_nc[l] and (bl < 0 or w.lane_end[l * k + nc[l]] < e):
                bl = l
                e = w.lane_end[l * k + nc[l]]
        if bl < 0:
            break
        msc_lanes(w.terms, w.lpos, i0, e, a)
        i0 = e
        c = nc[bl]
        ploss[w.lane_m[bl * k + c]] = a[bl]
        nc[bl] = c + 1
        a[bl] = rl[w.lane_m[bl * k + c + 1]] if c + 1 < w.lane_nc[bl] else 0.0
    best_m[0] = 0
    for m in range(1, k):
        if ploss[m] > ploss[best_m[0]]:
            best_m[0] = m
    msc_sum_any(ca, n, &t, &asum)  # acc in another order, and sum |ca|
    t = ploss[best_m[0]] + t
    # Both orders are within gamma_(n+16) sum|ca| of the exact sum, so they differ
    # by at most 2.1 (n + 16) u sum|ca| (u = 2^-53, n u < 0.01), and rounding t
    # costs u |t|: the margin doubles both. If t + margin < threshold, the exact
    # order's ploss + acc is below threshold too (rounding is monotone).
    margin = 4.4e-16 * ((<double> n + 16.0) * asum + fabs(t))
    if t + margin < threshold:
        return -INFINITY
    for o in range(n):
        acc += ca[o]
    return ploss[best_m[0]] + acc


cdef void _new_third(const dissim_t[:, ::1] diss, const long long* med, int k,
                     Reco* r, int b, Py_ssize_t o, double d) noexcept nogil:
    """Third nearest medoid of point o after medoid b (at distance d) moved in."""
    cdef int i
    cdef double dd
    r.mt = b
    r.dt = d
    for i in range(k):
        if i == r.mn or i == b or i == r.ms:
            continue
        dd = <double> diss[med[i], o]
        if dd < r.dt:
            r.mt = i
            r.dt = dd


cdef double _do_swap(const dissim_t[:, ::1] diss, long long* med, int k,
                     Reco* rec, Soa* s, int b, Py_ssize_t j) noexcept nogil:
    """Replace medoid b by point j, update the records; returns the new sum(r)."""
    cdef Py_ssize_t n = diss.shape[0], o
    cdef double d, total = 0.0
    cdef Reco* r
    med[b] = j
    for o in range(n):
        r = &rec[o]
        if o == j:
            if r.mn != b:
                if r.ms != b:
                    r.mt = r.ms
                    r.dt = r.ds
                r.ms = r.mn
                r.ds = r.dn
            r.mn = b
            r.dn = 0.0
            _cache(r, s, o)  # r(0, ds) = 0
            continue
        d = <double> diss[j, o]
        if r.mn == b:  # the nearest medoid was replaced
            if d < r.ds:
                r.dn = d
            elif r.mt == -1 or d < r.dt:
                r.mn = r.ms
                r.dn = r.ds
                r.ms = b
                r.ds = d
            else:
                r.mn = r.ms
                r.dn = r.ds
                r.ms = r.mt
                r.ds = r.dt
                _new_third(diss, med, k, r, b, o, d)
        elif r.ms == b:  # the second nearest was replaced
            if d < r.dn:
                r.ms = r.mn
                r.ds = r.dn
                r.mn = b
                r.dn = d
            elif r.mt == -1 or d < r.dt:
                r.ds = d
            else:
                r.ms = r.mt
                r.ds = r.dt
                _new_third(diss, med, k, r, b, o, d)
        else:
            if d < r.dn:
                r.mt = r.ms
                r.dt = r.ds
                r.ms = r.mn
                r.ds = r.dn
                r.mn = b
                r.dn = d
            elif d < r.ds:
                r.mt = r.ms
                r.dt = r.ds
                r.ms = b
                r.ds = d
            elif r.mt == -1 or d < r.dt:
                r.mt = b
                r.dt = d
            elif r.mt == b:
                _new_third(diss, med, k, r, b, o, d)
        total += _cache(r, s, o)
    return total


# ----------------------------------------------------------------------------- k = 2

cdef double _initial_k2(const dissim_t[:, ::1] diss, const long long* med,
                        double* d0, double* d1, long long* lab) noexcept nogil:
    """Distances to medoid 0 and 1 kept by position; returns sum(r)."""
    cdef Py_ssize_t n = diss.shape[0], i
    cdef double total = 0.0
    for i in range(n):
        d0[i] = <double> diss[med[0], i]
        d1[i] = <double> diss[med[1], i]
        if d0[i] < d1[i]:
            lab[i] = 0
            total += _r(d0[i], d1[i])
        else:
            lab[i] = 1
            total += _r(d1[i], d0[i])
    return total


cdef double _best_swap_k2(const dissim_t[:, ::1] diss, const double* d0, const double* d1,
                          Py_ssize_t j, int* best_m) noexcept nogil:
    """New sum(r) for the better of: j replaces medoid 0, j replaces medoid 1."""
    cdef Py_ssize_t n = diss.shape[0], o
    cdef double d, p0 = 0.0, p1 = 0.0
    for o in range(n):
        d = <double> diss[j, o]
        p0 += _r(d, d1[o]) if d < d1[o] else _r(d1[o], d)
        p1 += _r(d, d0[o]) if d < d0[o] else _r(d0[o], d)
    if p1 < p0:
        best_m[0] = 1
        return p1
    best_m[0] = 0
    return p0


cdef double _do_swap_k2(const dissim_t[:, ::1] diss, long long* med, double* d0, double* d1,
                        long long* lab, int b, Py_ssize_t j) noexcept nogil:
    cdef Py_ssize_t n = diss.shape[0], o
    cdef double d, total = 0.0
    cdef double* mine = d0 if b == 0 else d1
    cdef double* other = d1 if b == 0 else d0
    med[b] = j
    for o in range(n):
        if o == j:
            lab[o] = b
            mine[o] = 0.0
            continue
        d = <double> diss[j, o]
        mine[o] = d
        if d < other[o] or (d == other[o] and lab[o] == b):  # ties keep the label
            lab[o] = b
            total += _r(d, other[o])
        else:
            lab[o] = 1 - b
            total += _r(other[o], d)
    return total


cdef int _msc_k2(const dissim_t[:, ::1] diss, long long* med, long long* lab,
                 int max_iter, bint eager, double* loss, int* n_swap) noexcept nogil:
    """FastMSC (eager=0) or FasterMSC (eager=1) for k = 2; returns n_iter."""
    cdef Py_ssize_t n = diss.shape[0], j, best_j, lastswap = n
    cdef int it = 0, b, best_b = 0, swaps_before
    cdef double newloss, best_loss, lastloss
    cdef double* d0 = <double*> malloc(n * sizeof(double))
    cdef double* d1 = <double*> malloc(n * sizeof(double))
    n_swap[0] = 0
    if d0 == NULL or d1 == NULL:
        free(d0)
        free(d1)
        return -1
    loss[0] = _initial_k2(diss, med, d0, d1, lab)
    while it < max_iter:
        it += 1
        if eager:
            swaps_before = n_swap[0]
            lastloss = loss[0]
            for j in range(n):
                if j == lastswap:
                    break
                if j == med[lab[j]]:
                    continue
                newloss = _best_swap_k2(diss, d0, d1, j, &b)
                if newloss >= loss[0]:
                    continue
                n_swap[0] += 1
                lastswap = j
                loss[0] = _do_swap_k2(diss, med, d0, d1, lab, b, j)
            if n_swap[0] == swaps_before or loss[0] >= lastloss:
                break
        else:
            best_j = -1
            best_loss = 0.0
            for j in range(n):
                if j == med[lab[j]]:
                    continue
                newloss = _best_swap_k2(diss, d0, d1, j, &b)
                if best_j == -1 or newloss < best_loss:
                    best_loss = newloss
                    best_b = b
                    best_j = j
            if best_j == -1 or not (best_loss < loss[0]):
                break
            n_swap[0] += 1
            newloss = _do_swap_k2(diss, med, d0, d1, lab, best_b, best_j)
            if not (newloss < loss[0]):
                break  # numerically unstable
            loss[0] = newloss
    free(d0)
    free(d1)
    return it


# ----------------------------------------------------------------------------- drivers

cdef struct Work:
    Reco* rec       # (n,) three nearest medoids per point
    Soa s           # (n,) the same, array by array
    double* rl      # (k,) removal loss
    double* ploss   # (k,) per-medoid change for one candidate
    # candidate pass (_best_swap)
    double* terms   # (2n + 1,) term of ploss[mn[o]] at o, of ploss[ms[o]] at n + o, 0 at 2n
    double* ca      # (n,) term of acc
    # which terms make up ploss[m], in point order (_schedule): chain m, positions in terms
    int* cstart     # (k + 1,)
    int* cpos       # (2n,)
    # the chains laid end to end in LANES lanes, interleaved: lpos[i * LANES + l] is the
    # i-th position of lane l; lanes padded with 2n (a zero term) to nlen
    int* lpos       # (LANES * 2n,)
    int* lane_m     # (LANES, k) chains of each lane, in order
    int* lane_end   # (LANES, k) where each ends in its lane
    int lane_nc[LANES]  # number of chains per lane
    Py_ssize_t nlen


cdef int _work_alloc(Work* w, Py_ssize_t n, int k) noexcept nogil:
    w.rec = <Reco*> malloc(n * sizeof(Reco))
    w.s.dn = <double*> malloc(6 * n * sizeof(double))
    w.s.ds = w.s.dn + n if w.s.dn != NULL else NULL
    w.s.dt = w.s.ds + n if w.s.dn != NULL else NULL
    w.s.rns = w.s.dt + n if w.s.dn != NULL else NULL
    w.s.rst = w.s.rns + n if w.s.dn != NULL else NULL
    w.s.rnt = w.s.rst + n if w.s.dn != NULL else NULL
    w.s.mn = <int*> malloc(2 * n * sizeof(int))
    w.s.ms = w.s.mn + n if w.s.mn != NULL else NULL
    w.rl = <double*> malloc(2 * k * sizeof(double))
    w.ploss = w.rl + k if w.rl != NULL else NULL
    w.terms = <double*> malloc((3 * n + 1) * sizeof(double))
    w.ca = w.terms + 2 * n + 1 if w.terms != NULL else NULL
    w.cstart = <int*> malloc((k + 1 + 2 * n + LANES * 2 * n + 2 * LANES * k) * sizeof(int))
    w.cpos = w.cstart + k + 1 if w.cstart != NULL else NULL
    w.lpos = w.cpos + 2 * n if w.cstart != NULL else NULL
    w.lane_m = w.lpos + LANES * 2 * n if w.cstart != NULL else NULL
    w.lane_end = w.lane_m + LANES * k if w.cstart != NULL else NULL
    return (w.rec != NULL and w.s.dn != NULL and w.s.mn != NULL and w.rl != NULL
            and w.terms != NULL and w.cstart != NULL)


cdef void _work_free(Work* w) noexcept nogil:
    free(w.rec)
    free(w.s.dn)
    free(w.s.mn)
    free(w.rl)
    free(w.terms)
    free(w.cstart)


cdef void _schedule(Work* w, Py_ssize_t n, int k) noexcept nogil:
    """Chains and lanes of the candidate pass for the current records.

    ploss[m] gets the term of every point whose nearest or second nearest is m,
    in point order (kmedoids' order). Each chain m lists those positions in
    ``terms``; the chains go, whole and in order, to the least filled of LANES
    lanes, so that _best_swap adds LANES independent sums side by side.
    """
    cdef Py_ssize_t o, i, p, lmax = 0
    cdef Py_ssize_t fill[LANES]
    cdef int m, l, bl, c
    cdef int* cur = w.lane_end  # scratch until the lanes are laid out
    for m in range(k + 1):
        w.cstart[m] = 0
    for o in range(n):
        w.cstart[w.s.mn[o] + 1] += 1
        w.cstart[w.s.ms[o] + 1] += 1
    for m in range(k):
        w.cstart[m + 1] += w.cstart[m]
    for m in range(k):
        cur[m] = w.cstart[m]
    for o in range(n):
        w.cpos[cur[w.s.mn[o]]] = <int> o
        cur[w.s.mn[o]] += 1
        w.cpos[cur[w.s.ms[o]]] = <int> (n + o)
        cur[w.s.ms[o]] += 1
    for l in range(LANES):
        fill[l] = 0
        w.lane_nc[l] = 0
    for m in range(k):
        bl = 0
        for l in range(1, LANES):
            if fill[l] < fill[bl]:
                bl = l
        c = w.lane_nc[bl]
        w.lane_m[bl * k + c] = m
        for p in range(w.cstart[m], w.cstart[m + 1]):
            w.lpos[fill[bl] * LANES + bl] = w.cpos[p]
            fill[bl] += 1
        w.lane_end[bl * k + c] = <int> fill[bl]
        w.lane_nc[bl] = c + 1
    for l in range(LANES):
        if fill[l] > lmax:
            lmax = fill[l]
    for l in range(LANES):
        for i in range(fill[l], lmax):
            w.lpos[i * LANES + l] = <int> (2 * n)
    w.nlen = lmax


cdef void _prepare(Work* w, Py_ssize_t n, int k) noexcept nogil:
    """Removal loss and candidate-pass schedule after the records changed."""
    _removal_loss(w.rec, n, w.rl, k)
    _schedule(w, n, k)


cdef int _fastermsc_loop(const dissim_t[:, ::1] diss, long long* med, int k, Work* w,
                         int max_iter, double* loss, int* n_swap) noexcept nogil:
    """FasterMSC passes (k >= 3): swap whenever a candidate improves; returns n_iter."""
    cdef Py_ssize_t n = diss.shape[0], j, lastswap = n
    cdef int it = 0, b, swaps_before
    cdef double lastloss
    _prepare(w, n, k)
    while it < max_iter:
        it += 1
        swaps_before = n_swap[0]
        lastloss = loss[0]
        for j in range(n):
            if j == lastswap:
                break  # a full round without a swap since then
            if j == med[w.rec[j].mn]:
                continue  # already a medoid
            if _best_swap(diss, w, j, k, 0.0, &b) <= 0:
                continue
            n_swap[0] += 1
            lastswap = j
            loss[0] = _do_swap(diss, med, k, w.rec, &w.s, b, j)
            _prepare(w, n, k)
        if n_swap[0] == swaps_before or loss[0] >= lastloss:
            break
    return it


cdef int _fastmsc_loop(const dissim_t[:, ::1] diss, long long* med, int k, Work* w,
                       int max_iter, double* loss, int* n_swap) noexcept nogil:
    """FastMSC passes (k >= 3): the best swap of each full pass; returns n_iter."""
    cdef Py_ssize_t n = diss.shape[0], j, best_j
    cdef int it = 0, b, best_b = 0
    cdef double change, best_change, newloss
    while it < max_iter:
        it += 1
        best_change = 0.0
        best_j = -1
        _prepare(w, n, k)
        for j in range(n):
            if j == med[w.rec[j].mn]:
                continue
            change = _best_swap(diss, w, j, k, best_change, &b)
            if change <= best_change:
                continue
            best_change = change
            best_b = b
            best_j = j
        if not best_change > 0:
            break
        n_swap[0] += 1
        newloss = _do_swap(diss, med, k, w.rec, &w.s, best_b, best_j)
        if newloss >= loss[0]:
            break  # numerically unstable (the swap stays, as in kmedoids)
        loss[0] = newloss
    return it


def fastmsc_run(const dissim_t[:, ::1] diss,   # IN    (n, n)
                long long[::1] med,            # INOUT (k,) k >= 2
                long long[::1] labels,         # OUT   (n,)
                int max_iter, bint eager):
    """FastMSC (best swap per pass) or FasterMSC (eager). Returns (sum r, n_iter, n_swap)."""
    cdef Py_ssize_t n = diss.shape[0], j
    cdef int k = med.shape[0], it = 0, n_swap = 0
    cdef double loss = 0.0
    cdef Work w
    if k == 2:
        with nogil:
            it = _msc_k2(diss, &med[0], &labels[0], max_iter, eager, &loss, &n_swap)
        if it < 0:
            raise MemoryError()
        return loss, it, n_swap
    if not _work_alloc(&w, n, k):
        _work_free(&w)
        raise MemoryError()
    with nogil:
        loss = _initial(diss, &med[0], k, w.rec, &w.s)
        if eager:
            it = _fastermsc_loop(diss, &med[0], k, &w, max_iter, &loss, &n_swap)
        else:
            it = _fastmsc_loop(diss, &med[0], k, &w, max_iter, &loss, &n_swap)
        for j in range(n):
            labels[j] = w.rec[j].mn
    _work_free(&w)
    return loss, it, n_swap


# ----------------------------------------------------------------------------- PAMMEDSIL

cdef double _pammedsil_change(const dissim_t[:, ::1] diss, const Reco* rec,
                              Py_ssize_t j, int k, int* best_m) noexcept nogil:
    """Decrease of sum(r) for the best medoid to swap with j, trying each of the k
    medoids in turn (O(nk), the original PAMMEDSIL)."""
    cdef Py_ssize_t n = diss.shape[0], o
    cdef int m
    cdef double d, acc, best = 0.0
    cdef const Reco* r
    best_m[0] = -1
    for m in range(k):
        acc = _r(rec[j].dn, rec[j].ds)  # j becomes a medoid: its own r drops to 0
        for o in range(n):
            if o == j:
                continue
            r = &rec[o]
            d = <double> diss[j, o]
            if r.mn == m:  # nearest leaves: new pair from (d, ds, dt)
                if d < r.ds:
                    acc += _r(r.dn, r.ds) - _r(d, r.ds)
                elif r.mt == -1 or d < r.dt:
                    acc += _r(r.dn, r.ds) - _r(r.ds, d)
                else:
                    acc += _r(r.dn, r.ds) - _r(r.ds, r.dt)
            elif r.ms == m:  # second leaves: new pair from (dn, d, dt)
                if d < r.dn:
                    acc += _r(r.dn, r.ds) - _r(d, r.dn)
                elif r.mt == -1 or d < r.dt:
                    acc += _r(r.dn, r.ds) - _r(r.dn, d)
                else:
                    acc += _r(r.dn, r.ds) - _r(r.dn, r.dt)
            elif d < r.dn:
                acc += _r(r.dn, r.ds) - _r(d, r.dn)
            elif d < r.ds:
                acc += _r(r.dn, r.ds) - _r(r.dn, d)
        if acc > best:
            best = acc
            best_m[0] = m
    return best


def pammedsil_run(const dissim_t[:, ::1] diss,   # IN    (n, n)
                  long long[::1] med,            # INOUT (k,) k >= 2
                  long long[::1] labels,         # OUT   (n,)
                  int max_iter):
    """PAMMEDSIL SWAP. Returns (sum r, n_iter, n_swap)."""
    cdef Py_ssize_t n = diss.shape[0], j, best_j
    cdef int k = med.shape[0], it = 0, n_swap = 0, b, best_b = 0
    cdef double loss, change, best_change, newloss
    cdef Work w
    cdef Reco* rec
    if not _work_alloc(&w, n, k):
        _work_free(&w)
        raise MemoryError()
    rec = w.rec
    with nogil:
        loss = _initial(diss, &med[0], k, rec, &w.s)
        while it < max_iter:
            it += 1
            best_change = 0.0
            best_j = -1
            for j in range(n):
                if j == med[rec[j].mn]:
                    continue
                change = _pammedsil_change(diss, rec, j, k, &b)
                if change <= best_change:
                    continue
                best_change = change
                best_b = b
                best_j = j
            if best_change > 0:
                n_swap += 1
                newloss = _do_swap(diss, &med[0], k, rec, &w.s, best_b, best_j)
                if newloss >= loss:
                    break
                loss = newloss
            else:
                break
        for j in range(n):
            labels[j] = rec[j].mn
    _work_free(&w)
    return loss, it, n_swap


# ----------------------------------------------------------------------------- DynMSC

cdef void _third_after_removal(const dissim_t[:, ::1] diss, const long long* med, int l,
                               Reco* r, int b, Py_ssize_t o) noexcept nogil:
    """Third nearest among the l remaining medoids, skipping the nearest and second.

    Scans like kmedoids: the slot starts as (b, 0) and is taken by the first
    candidate, and by any candidate while it holds position b.
    """
    cdef int i
    cdef double d
    r.mt = b
    r.dt = 0.0
    for i in range(l):
        if i == r.mn or i == r.ms:
            continue
        d = <double> diss[med[i], o]
        if r.mt == b or d < r.dt:
            r.mt = i
            r.dt = d


cdef double _remove_medoid(const dissim_t[:, ::1] diss, long long* med, int k,
                           Reco* rec, Soa* s, int b) noexcept nogil:
    """Drop medoid b (the last one moves into its slot); returns the new sum(r)."""
    cdef Py_ssize_t n = diss.shape[0], o
    cdef int l = k - 1
    cdef double total = 0.0
    cdef Reco* r
    med[b] = med[l]
    for o in range(n):
        r = &rec[o]
        if r.mn == b:
            if r.ms == l:
                r.ms = b
            if r.mt == l:
                r.mt = b
            r.mn = r.ms
            r.dn = r.ds
            r.ms = r.mt
            r.ds = r.dt
            _third_after_removal(diss, med, l, r, b, o)
        elif r.ms == b:
            if r.mn == l:
                r.mn = b
            if r.mt == l:
                r.mt = b
            r.ms = r.mt
            r.ds = r.dt
            _third_after_removal(diss, med, l, r, b, o)
        elif r.mt == b:
            if r.mn == l:
                r.mn = b
            if r.ms == l:
                r.ms = b
            _third_after_removal(diss, med, l, r, b, o)
        else:
            if r.mn == l:
                r.mn = b
            if r.ms == l:
                r.ms = b
            if r.mt == l:
                r.mt = b
        total += _cache(r, s, o)
    return total


def dynmsc_run(const dissim_t[:, ::1] diss,   # IN    (n, n)
               long long[::1] med,            # INOUT (k_max,) k_max >= 2; first 2 on exit
               int min_k, int max_iter,
               double[::1] ms_by_k,           # OUT   (k_max - min_k + 1,) medoid silhouette per k
               long long[::1] best_med,       # OUT   (k_max,) best medoids, first best_k used
               long long[::1] best_labels):   # OUT   (n,)
    """DynMSC. Returns (best medoid silhouette, best k, n_iter, n_swap); best k = 0 when
    no k had a positive medoid silhouette (kmedoids then keeps its initial medoids)."""
    cdef Py_ssize_t n = diss.shape[0], j
    cdef int k = med.shape[0], kk = k, it, n_swap, b, total_it = 0, total_swap = 0, best_k = 0
    cdef double loss, ms, best_ms = 0.0
    cdef Work w
    cdef long long* lab2
    if not _work_alloc(&w, n, k):
        _work_free(&w)
        raise MemoryError()
    with nogil:
        loss = _initial(diss, &med[0], k, w.rec, &w.s)
        while kk >= 3 and kk >= min_k:
            n_swap = 0
            it = _fastermsc_loop(diss, &med[0], kk, &w, max_iter, &loss, &n_swap)
            # the medoid whose removal costs least goes next (first minimum)
            b = 0
            for j in range(1, kk):
                if w.rl[j] < w.rl[b]:
                    b = j
            ms = 1.0 - loss / n
            ms_by_k[kk - min_k] = ms
            if ms > best_ms:
                best_ms = ms
                best_k = kk
                for j in range(kk):
                    best_med[j] = med[j]
                for j in range(n):
                    best_labels[j] = w.rec[j].mn
            total_swap += n_swap
            total_it += it
            loss = _remove_medoid(diss, &med[0], kk, w.rec, &w.s, b)
            kk -= 1
    _work_free(&w)
    if min_k <= 2:
        lab2 = <long long*> malloc(n * sizeof(long long))
        if lab2 == NULL:
            raise MemoryError()
        with nogil:
            it = _msc_k2(diss, &med[0], lab2, max_iter, True, &loss, &n_swap)
            ms = 1.0 - loss / n
            ms_by_k[2 - min_k] = ms
            if ms > best_ms:
                best_ms = ms
                best_k = 2
                best_med[0] = med[0]
                best_med[1] = med[1]
                for j in range(n):
                    best_labels[j] = lab2[j]
            total_swap += n_swap
            total_it += it
        free(lab2)
        if it < 0:
            raise MemoryError()
        if min_k <= 1:
            ms_by_k[0] = 0.0
    return best_ms, best_k, total_it, total_swap


# ----------------------------------------------------------------------------- PAMSIL

cdef void _assign(const dissim_t[:, ::1] diss, const long long* med, int k,
                  long long* lab) noexcept nogil:
    """Nearest medoid, ties to the first listed; a medoid takes its own cluster."""
    cdef Py_ssize_t n = diss.shape[0], i
    cdef int m
    cdef dissim_t best, d
    for i in range(n):
        lab[i] = 0
        best = diss[med[0], i]
        for m in range(1, k):
            d = diss[med[m], i]
            if d < best or i == med[m]:
                lab[i] = m
                best = d


cdef double _silhouette_seq(const dissim_t[:, ::1] diss, const long long* lab, int k,
                            double* sums, long long* counts) noexcept nogil:
    """Average silhouette with labels as given, summed in point order like kmedoids
    (an empty cluster counts with mean 0; one non-empty label range gives 0)."""
    cdef Py_ssize_t n = diss.shape[0], i, j
    cdef int c, nc = 0, own
    cdef double total = 0.0, a, b, mean, s
    for i in range(n):
        if lab[i] + 1 > nc:
            nc = <int> lab[i] + 1
    if nc == 1:
        return 0.0
    for i in range(n):
        for c in range(nc):
            sums[c] = 0.0
            counts[c] = 0
        for j in range(n):
            if j != i:
                counts[lab[j]] += 1
                sums[lab[j]] += <double> diss[i, j]
        own = <int> lab[i]
        s = 0.0
        if counts[own] > 0:
            a = sums[own] / counts[own]
            b = 0.0
            c = 0 if own != 0 else 1
            b = sums[c] / counts[c] if counts[c] > 0 else 0.0
            for c in range(c + 1, nc):
                if c == own:
                    continue
                mean = sums[c] / counts[c] if counts[c] > 0 else 0.0
                if mean < b:
                    b = mean
            if a > b:
                s = (b - a) / a if a > 0 else 0.0
            else:
                s = (b - a) / b if b > 0 else 0.0
        total += s
    return total / n


def pamsil_run(const dissim_t[:, ::1] diss,   # IN    (n, n)
               long long[::1] med,            # INOUT (k,) k >= 2
               long long[::1] labels,         # OUT   (n,)
               int max_iter):
    """PAMSIL SWAP: every (medoid, non-medoid) swap evaluated by recomputing the full
    silhouette, O(k n^3) per pass. Returns (silhouette, n_iter, n_swap)."""
    cdef Py_ssize_t n = diss.shape[0], j, best_j
    cdef int k = med.shape[0], it = 0, n_swap = 0, m, best_m
    cdef long long medm
    cdef double sil, s, best
    cdef double* sums = <double*> malloc(k * sizeof(double))
    cdef long long* counts = <long long*> malloc(k * sizeof(long long))
    if sums == NULL or counts == NULL:
        free(sums)
        free(counts)
        raise MemoryError()
    with nogil:
        _assign(diss, &med[0], k, &labels[0])
        sil = _silhouette_seq(diss, &labels[0], k, sums, counts)
        while it < max_iter:
            it += 1
            best = 0.0
            best_m = -1
            best_j = -1
            for m in range(k):
                medm = med[m]
                for j in range(n):
                    # labels are those of the last candidate evaluated (as in kmedoids)
                    if j == medm or j == med[labels[j]]:
                        continue
                    med[m] = j
                    _assign(diss, &med[0], k, &labels[0])
                    s = _silhouette_seq(diss, &labels[0], k, sums, counts)
                    if s <= best:
                        continue
                    best = s
                    best_m = m
                    best_j = j
                med[m] = medm
            if best_m < 0 or best <= sil:
                break
            n_swap += 1
            med[best_m] = best_j
            sil = best
        _assign(diss, &med[0], k, &labels[0])
    free(sums)
    free(counts)
    return sil, it, n_swap


def one_medoid(const dissim_t[:, ::1] diss, Py_ssize_t first):
    """The point with the smallest sum of dissimilarities to all others (row sums),
    starting from ``first`` and replacing only on a strict improvement. Returns
    (medoid, its sum)."""
    cdef Py_ssize_t n = diss.shape[0], i, j, best = first
    cdef double sumb = 0.0, sumj
    with nogil:
        for i in range(n):
            if i != first:
                sumb += <double> diss[first, i]
        for j in range(n):
            if j == first:
                continue
            sumj = 0.0
            for i in range(n):
                if i != j:
                    sumj += <double> diss[j, i]
            if sumj < sumb:
                best = j
                sumb = sumj
    return best, sumb
