# cython: language_level=3
"""FastMSC (Lenssen & Schubert 2022): the best medoid-silhouette swap of each pass, O(n^2).

PAMMEDSIL's swaps (Van der Laan, Pollard & Bryan 2003), each candidate evaluated
for all k medoids at once in one O(n) pass over its row (``_best_swap`` of
``_msc_common.pxd``); the best swap of a full pass is taken.
"""

from ._common cimport dissim_t
from ._msc_common cimport (Work, _best_swap, _do_swap, _initial, _msc_k2, _prepare,
                           _work_alloc, _work_free)


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
                int max_iter):
    """FastMSC (best swap per pass). Returns (sum r, n_iter, n_swap)."""
    cdef Py_ssize_t n = diss.shape[0], j
    cdef int k = med.shape[0], it = 0, n_swap = 0
    cdef double loss = 0.0
    cdef Work w
    if k == 2:
        with nogil:
            it = _msc_k2(diss, &med[0], &labels[0], max_iter, False, &loss, &n_swap)
        if it < 0:
            raise MemoryError()
        return loss, it, n_swap
    if not _work_alloc(&w, n, k):
        _work_free(&w)
        raise MemoryError()
    with nogil:
        loss = _initial(diss, &med[0], k, w.rec, &w.s)
        it = _fastmsc_loop(diss, &med[0], k, &w, max_iter, &loss, &n_swap)
        for j in range(n):
            labels[j] = w.rec[j].mn
    _work_free(&w)
    return loss, it, n_swap
