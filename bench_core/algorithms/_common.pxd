# Shared nogil helpers of the k-medoids kernels (cimport from here; stable API).
#
# Convention: diss[m, o] is the cost of point o under medoid m (row = medoid).
# Per-point state is kept as structure-of-arrays:
#   near_i[o], near_d[o]  position (0..k-1) of and distance to the nearest medoid
#   seco_i[o], seco_d[o]  the same for the second-nearest medoid (k >= 2)
# Distances are stored as double whatever the matrix type (exact for float32,
# float64, int32, and int64 up to 2**53), and losses are accumulated in double.

from cython.parallel cimport prange
from libc.math cimport INFINITY
from libc.string cimport memcpy

# dissim_t: the element types a dissimilarity matrix may have.
ctypedef fused dissim_t:
    float
    double
    int
    long long


cdef inline Py_ssize_t thread_stride(Py_ssize_t m) noexcept nogil:
    """Elements between two threads' scratch arrays of m elements (8 bytes or less each).

    m rounded up to a multiple of 16, plus 16: at least 128 bytes of gap, so no two
    threads ever write to one cache line (or to an adjacent-line prefetch pair);
    without it a thread's running sums share a line with its neighbour's ("false
    sharing") and two threads run little faster than one.
    """
    return ((m + 15) // 16 + 1) * 16


cdef inline void _nearest_two_range(const dissim_t[:, ::1] diss, const long long[::1] medoids,
                                    Py_ssize_t lo, Py_ssize_t hi, int[::1] near_i,
                                    double[::1] near_d, int[::1] seco_i,
                                    double[::1] seco_d) noexcept nogil:
    """:c:func:`nearest_two` for the points lo <= o < hi (one stream per medoid row)."""
    cdef Py_ssize_t k = medoids.shape[0], o, i
    cdef double d
    cdef const dissim_t* row = &diss[medoids[0], 0]
    for o in range(lo, hi):
        near_i[o] = 0
        near_d[o] = <double> row[o]
        seco_i[o] = -1
        seco_d[o] = INFINITY
    for i in range(1, k):
        row = &diss[medoids[i], 0]
        for o in range(lo, hi):
            d = <double> row[o]
            if d < near_d[o] or o == medoids[i]:
                seco_i[o] = near_i[o]
                seco_d[o] = near_d[o]
                near_i[o] = <int> i
                near_d[o] = d
            elif d < seco_d[o]:
                seco_i[o] = <int> i
                seco_d[o] = d


cdef inline double nearest_two(const dissim_t[:, ::1] diss,     # IN  (n, n)
                               const long long[::1] medoids,    # IN  (k,)
                               int[::1] near_i,                 # OUT (n,)
                               double[::1] near_d,              # OUT (n,)
                               int[::1] seco_i,                 # OUT (n,) -1 when k == 1
                               double[::1] seco_d,              # OUT (n,) +inf when k == 1
                               int n_threads) noexcept nogil:
    """Nearest and second-nearest medoid of every point; returns the loss.

    Ties go to the medoid listed first, except that a medoid is always its own
    nearest (as in kmedoids): the previous nearest then becomes the second.
    Reads the k medoid rows sequentially; ``n_threads`` threads take one contiguous
    range of points each, and the loss is added up afterwards in point order, so
    the result is the same bits for any number of threads.
    """
    cdef Py_ssize_t n = diss.shape[0], o, t, nt = max(n_threads, 1)
    cdef double total = 0.0
    if nt > 1 and n >= 64 * nt:
        for t in prange(nt, schedule="static", chunksize=1, num_threads=nt):
            _nearest_two_range(diss, medoids, n * t // nt, n * (t + 1) // nt,
                               near_i, near_d, seco_i, seco_d)
    else:
        _nearest_two_range(diss, medoids, 0, n, near_i, near_d, seco_i, seco_d)
    for o in range(n):
        total += near_d[o]
    return total


cdef inline void removal_loss(const int[::1] near_i,      # IN  (n,)
                              const double[::1] near_d,   # IN  (n,)
                              const double[::1] seco_d,   # IN  (n,)
                              double[::1] rloss) noexcept nogil:  # OUT (k,)
    """rloss[m] = sum over the cluster of m of (second - nearest): the cost of removing m."""
    cdef Py_ssize_t o
    rloss[:] = 0.0
    for o in range(near_i.shape[0]):
        rloss[near_i[o]] += seco_d[o] - near_d[o]


cdef inline Py_ssize_t hits_below(const dissim_t* row,    # IN  (n,)
                                  const double* bound,    # IN  (n,)
                                  Py_ssize_t n,
                                  int* hits) noexcept nogil:  # OUT (n,) the first c entries
    """List, in increasing order, the points o with row[o] < bound[o]; returns their number c.

    Branch-free stream compaction: every index is written, and kept by advancing c.
    """
    cdef Py_ssize_t o, c = 0
    for o in range(n):
        hits[c] = <int> o
        c += <double> row[o] < bound[o]
    return c


cdef inline double swap_change_of_hits(const dissim_t* row,   # IN  (n,) diss[j, :]
                                       const int* hits,       # IN  (c,) points with d(j, o) < seco_d[o]
                                                              #     (and maybe a few others: skipped)
                                       Py_ssize_t c,
                                       const int* near_i,     # IN  (n,)
                                       const double* near_d,  # IN  (n,)
                                       const double* seco_d,  # IN  (n,)
                                       const double* rloss,   # IN  (k,)
                                       double* ploss,         # SCRATCH (k,)
                                       Py_ssize_t k,
                                       Py_ssize_t* best_m) noexcept nogil:
    """Change of the loss of the best swap (medoid m, candidate j), FastPAM1, from the
    listed points (``hits_below`` or a vector listing of FasterPAM), in point order.

    The loss change of replacing medoid m by j splits into a part shared by all m
    (points that move to j because it is nearer than their nearest medoid) and a
    per-m part: the removal loss of m, corrected for points of m that go to j
    rather than to their second-nearest medoid (Schubert & Rousseeuw 2021, Alg. 2).
    Only points with d(j, o) < second-nearest contribute (a few percent near
    convergence), hence the listing first. Ties go to the first medoid.
    """
    cdef Py_ssize_t o, m, b, q
    cdef double d, nd, acc = 0.0, best
    memcpy(ploss, rloss, k * sizeof(double))
    for q in range(c):
        o = hits[q]
        d = <double> row[o]
        if not d < seco_d[o]:   # listed against a rounded-up bound: not affected
            continue
        nd = near_d[o]
        # o moves to j: d - nd when d < nd, else an exact 0.0 (min, not a branch:
        # the sign is unpredictable, and gcc turns `t if t < 0 else 0` into a jump)
        acc += (d if d < nd else nd) - nd
        # o goes to j, not to its second (or, if j is nearer, is not lost with its medoid)
        ploss[near_i[o]] += (d if d > nd else nd) - seco_d[o]
    b = 0
    best = ploss[0]
    for m in range(1, k):
        if ploss[m] < best:
            best = ploss[m]
            b = m
    best_m[0] = b
    return best + acc


cdef inline double do_swap(const dissim_t[:, ::1] diss,    # IN  (n, n)
                           long long[::1] medoids,         # INOUT (k,)
                           int[::1] near_i,                # INOUT (n,)
                           double[::1] near_d,             # INOUT (n,)
                           int[::1] seco_i,                # INOUT (n,)
                           double[::1] seco_d,             # INOUT (n,)
                           Py_ssize_t b, Py_ssize_t j) noexcept nogil:
    """Replace medoid b by point j and update nearest/second-nearest; returns the new loss.

    Points whose nearest or second-nearest was b and cannot be resolved from
    d(j, o) alone get their second-nearest recomputed over all medoids.
    """
    cdef Py_ssize_t n = diss.shape[0], k = medoids.shape[0], o, i
    cdef const dissim_t* row = &diss[j, 0]
    cdef double d, total = 0.0, sd
    cdef int ib = <int> b, si, ni
    medoids[b] = j
    for o in range(n):
        if o == j:
            if near_i[o] != ib:
                seco_i[o] = near_i[o]
                seco_d[o] = near_d[o]
            near_i[o] = ib
            near_d[o] = 0.0
            continue
        d = <double> row[o]
        if near_i[o] == ib:                # its nearest medoid is replaced
            if d < seco_d[o]:
                near_d[o] = d
                total += d
                continue
            near_i[o] = seco_i[o]
            near_d[o] = seco_d[o]
        elif d < near_d[o]:
            seco_i[o] = near_i[o]
            seco_d[o] = near_d[o]
            near_i[o] = ib
            near_d[o] = d
            total += d
            continue
        elif d < seco_d[o]:
            seco_i[o] = ib
            seco_d[o] = d
            total += near_d[o]
            continue
        elif seco_i[o] != ib:
            total += near_d[o]
            continue
        # second nearest is unknown: b (at distance d) or the best other medoid
        ni = near_i[o]
        si = ib
        sd = d
        for i in range(k):
            if i != ni and i != ib:
                d = <double> diss[medoids[i], o]
                if d < sd:
                    sd = d
                    si = <int> i
        seco_i[o] = si
        seco_d[o] = sd
        total += near_d[o]
    return total


cdef inline Py_ssize_t medoid_of_members(const dissim_t[:, ::1] diss,   # IN  (n, n)
                                         const long long* members,     # IN  (c,) ascending
                                         Py_ssize_t c,
                                         Py_ssize_t current,           # IN  the current medoid
                                         double* cost) noexcept nogil:  # OUT its total distance
    """Best medoid of one cluster: the member j minimising sum_{i != j} d(j, i).

    The current medoid is kept unless another member is strictly better; the
    first (lowest index) of equally good members wins. A sum is abandoned as
    soon as it reaches the best so far (all terms are >= 0, so the decision is
    exactly that of the full sum). O(c^2) reads of rows of the matrix.
    """
    cdef Py_ssize_t a, t, j, best = current
    cdef double s, sb = 0.0
    cdef const dissim_t* row = &diss[current, 0]
    for t in range(c):
        if members[t] != current:
            sb += <double> row[members[t]]
    for a in range(c):
        j = members[a]
        if j == current:
            continue
        row = &diss[j, 0]
        s = 0.0
        for t in range(c):
            if t != a:
                s += <double> row[members[t]]
                if s >= sb:
                    break
        if s < sb:
            sb = s
            best = j
    cost[0] = sb
    return best
