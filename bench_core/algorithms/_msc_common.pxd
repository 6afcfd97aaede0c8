# Shared records and swap machinery of the medoid-silhouette kernels (cimport from here).
#
# Medoid-silhouette clustering kernels: PAMSIL, PAMMEDSIL, FastMSC, FasterMSC, DynMSC.
#
# The medoid silhouette of a point is 1 - a/b with a, b the distances to its
# nearest and second nearest medoid; the algorithms minimise the sum over points
# of r = a/b (0 when a or b is 0), i.e. maximise the average medoid silhouette
# 1 - sum(r)/n.
#
# Every point keeps a record of its three nearest medoids (position in ``med``
# and distance).  With them the change of sum(r) caused by replacing medoid m by
# a candidate j is known from the distance of each point to j alone:
#
# * FastMSC / FasterMSC (Lenssen & Schubert 2022): one pass over the candidate's
#   distances gives the change for all k medoids at once.  A shared term ``acc``
#   covers what happens to every point regardless of which medoid leaves (j
#   becomes its nearest or second nearest), the per-medoid terms ``ploss[m]``
#   start from the removal loss (what removing m alone costs) and are corrected
#   where the point's nearest or second medoid is the one leaving.  O(n) per
#   candidate instead of PAMMEDSIL's O(nk) (Van der Laan, Pollard & Bryan 2003).
# * FasterMSC swaps as soon as a candidate improves (eager), FastMSC and
#   PAMMEDSIL take the best swap of a full pass.
# * DynMSC (Lenssen & Schubert 2024) runs FasterMSC from k_max down to k_min,
#   each time dropping the medoid whose removal costs least.
#
# Tie-breaking, iteration counting and floating-point operation order follow the
# ``kmedoids`` package (Rust) so that results are identical from the same start.
# The candidate j's distances are read as the row ``diss[j, :]`` (row = medoid,
# contiguous); on symmetric input this equals kmedoids' column read.
#
# The FastMSC/FasterMSC candidate pass (``_best_swap``) keeps kmedoids'
# operations and their order but not its loop: (1) a branch-free C loop over
# struct-of-arrays copies of the records computes every point's three terms
# (two divisions per point, operands picked by the case), which the compiler
# vectorises (an AVX2 clone is picked at run time on x86-64 Linux with GCC);
# (2) each ploss[m] is summed over its own precomputed list of points, in point
# order, two lists side by side (``_schedule``), instead of a scatter whose
# store-to-load dependencies stall; (3) acc, a chain of n dependent additions,
# is summed in point order only when a fast sum in another order, with a
# rigorous error bound, cannot already show that the candidate is no
# improvement. Zero terms (points the candidate does not affect) are added as
# +0.0, which changes no sum.
#
# k = 2 has no third medoid; FastMSC and FasterMSC then keep the two distances
# per point by medoid position (as kmedoids does), PAMMEDSIL keeps the records
# with an empty third slot (index -1).

from libc.math cimport INFINITY, fabs
from libc.stdlib cimport free, malloc

from ._common cimport dissim_t


cdef extern from "msc_kernels.h":
    # per-medoid sums added side by side in the candidate pass (see the header)
    enum: LANES "MSC_LANES"
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

cdef inline double _initial(const dissim_t[:, ::1] diss,    # IN  (n, n)
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


cdef inline void _removal_loss(const Reco* rec, Py_ssize_t n, double* rl, int k) noexcept nogil:
    """rl[m] = increase of sum(r) if medoid m were removed and nothing added."""
    cdef Py_ssize_t o
    cdef int m
    for m in range(k):
        rl[m] = 0.0
    for o in range(n):
        # nearest leaves: (dn, ds) -> (ds, dt); second leaves: (dn, ds) -> (dn, dt)
        rl[rec[o].mn] += rec[o].r_ns - rec[o].r_st
        rl[rec[o].ms] += rec[o].r_ns - rec[o].r_nt


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


cdef inline double _best_swap(const dissim_t[:, ::1] diss,   # IN  (n, n)
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


cdef inline void _new_third(const dissim_t[:, ::1] diss, const long long* med, int k,
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


cdef inline double _do_swap(const dissim_t[:, ::1] diss, long long* med, int k,
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

cdef inline double _initial_k2(const dissim_t[:, ::1] diss, const long long* med,
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


cdef inline double _best_swap_k2(const dissim_t[:, ::1] diss, const double* d0, const double* d1,
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


cdef inline double _do_swap_k2(const dissim_t[:, ::1] diss, long long* med, double* d0, double* d1,
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


cdef inline int _msc_k2(const dissim_t[:, ::1] diss, long long* med, long long* lab,
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


# ----------------------------------------------------------------------------- work space

cdef inline int _work_alloc(Work* w, Py_ssize_t n, int k) noexcept nogil:
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


cdef inline void _work_free(Work* w) noexcept nogil:
    free(w.rec)
    free(w.s.dn)
    free(w.s.mn)
    free(w.rl)
    free(w.terms)
    free(w.cstart)


cdef inline void _schedule(Work* w, Py_ssize_t n, int k) noexcept nogil:
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


cdef inline void _prepare(Work* w, Py_ssize_t n, int k) noexcept nogil:
    """Removal loss and candidate-pass schedule after the records changed."""
    _removal_loss(w.rec, n, w.rl, k)
    _schedule(w, n, k)


cdef inline int _fastermsc_loop(const dissim_t[:, ::1] diss, long long* med, int k, Work* w,
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

