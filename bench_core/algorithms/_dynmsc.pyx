# cython: language_level=3
"""DynMSC (Lenssen & Schubert 2024): FasterMSC from k_max down to k_min.

Each time the medoid whose removal costs least is dropped and FasterMSC
re-optimises; the k with the best medoid silhouette is kept.
"""

from libc.stdlib cimport free, malloc

from ._common cimport dissim_t
from ._msc_common cimport (Reco, Soa, Work, _cache, _fastermsc_loop, _initial, _msc_k2,
                           _work_alloc, _work_free)


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

