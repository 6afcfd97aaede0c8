# cython: language_level=3
"""PAMSIL (Van der Laan, Pollard & Bryan 2003): best swap per pass for the full silhouette.

Every (medoid, non-medoid) swap is evaluated by recomputing the silhouette,
O(k n^3) per pass, in kmedoids' order of operations. Threads evaluate the
candidates of one medoid side by side (see ``pamsil_run``).
"""

from cython.parallel cimport prange, threadid
from libc.stdlib cimport free, malloc

from ._common cimport dissim_t, thread_stride


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
               int max_iter,
               int n_threads=1):
    """PAMSIL SWAP: every (medoid, non-medoid) swap evaluated by recomputing the full
    silhouette, O(k n^3) per pass. Returns (silhouette, n_iter, n_swap).

    kmedoids skips candidate j when ``j == med[labels[j]]`` with the labels of the
    last candidate evaluated; before the first evaluation for medoid m those are
    the labels of the previous medoid's last candidate, afterwards j is skipped
    exactly when it is one of the current medoids. The candidates of medoid m are
    listed that way first, then evaluated by the threads (each with its own
    medoids, labels and sums), and the best is picked in the order of kmedoids,
    so the swaps do not depend on the number of threads.
    """
    cdef Py_ssize_t n = diss.shape[0], j, i, best_j, q, nc
    cdef int k = med.shape[0], it = 0, n_swap = 0, m, best_m, t
    cdef int nt = max(n_threads, 1)
    cdef long long medm
    cdef double sil, best
    cdef bint first
    cdef Py_ssize_t tk = thread_stride(k), tn = thread_stride(n)   # per-thread strides
    cdef long long* tmed = <long long*> malloc(nt * tk * sizeof(long long))
    cdef long long* tlab = <long long*> malloc(nt * tn * sizeof(long long))
    cdef double* sums = <double*> malloc(nt * tk * sizeof(double))
    cdef long long* counts = <long long*> malloc(nt * tk * sizeof(long long))
    cdef Py_ssize_t* cand = <Py_ssize_t*> malloc(n * sizeof(Py_ssize_t))
    cdef double* sc = <double*> malloc(n * sizeof(double))
    cdef unsigned char* is_med = <unsigned char*> malloc(n)
    if (tmed == NULL or tlab == NULL or sums == NULL or counts == NULL or cand == NULL
            or sc == NULL or is_med == NULL):
        free(tmed)
        free(tlab)
        free(sums)
        free(counts)
        free(cand)
        free(sc)
        free(is_med)
        raise MemoryError()
    with nogil:
        _assign(diss, &med[0], k, &labels[0])
        sil = _silhouette_seq(diss, &labels[0], k, sums, counts)
        while it < max_iter:
            it += 1
            best = 0.0
            best_m = -1
            best_j = -1
            for j in range(n):
                is_med[j] = 0
            for m in range(k):
                is_med[med[m]] = 1
            for m in range(k):
                medm = med[m]
                nc = 0
                first = True
                for j in range(n):
                    if j == medm:
                        continue
                    if first:           # labels of the last candidate evaluated before
                        if j == med[labels[j]]:
                            continue
                        first = False
                    elif is_med[j]:
                        continue
                    cand[nc] = j
                    nc += 1
                for q in prange(nc, schedule="dynamic", chunksize=1, num_threads=nt):
                    t = threadid()
                    for i in range(k):
                        tmed[t * tk + i] = med[i]
                    tmed[t * tk + m] = cand[q]
                    _assign(diss, &tmed[t * tk], k, &tlab[t * tn])
                    sc[q] = _silhouette_seq(diss, &tlab[t * tn], k, &sums[t * tk],
                                            &counts[t * tk])
                for q in range(nc):
                    if sc[q] <= best:
                        continue
                    best = sc[q]
                    best_m = m
                    best_j = cand[q]
                if nc > 0:              # the labels kmedoids is left with
                    med[m] = cand[nc - 1]
                    _assign(diss, &med[0], k, &labels[0])
                    med[m] = medm
            if best_m < 0 or best <= sil:
                break
            n_swap += 1
            med[best_m] = best_j
            sil = best
        _assign(diss, &med[0], k, &labels[0])
    free(tmed)
    free(tlab)
    free(sums)
    free(counts)
    free(cand)
    free(sc)
    free(is_med)
    return sil, it, n_swap
