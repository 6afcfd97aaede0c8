# cython: language_level=3
"""PAMSIL (Van der Laan, Pollard & Bryan 2003): best swap per pass for the full silhouette.

Every (medoid, non-medoid) swap is evaluated by recomputing the silhouette,
O(k n^3) per pass, in kmedoids' order of operations.
"""

from libc.stdlib cimport free, malloc

from ._common cimport dissim_t


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

