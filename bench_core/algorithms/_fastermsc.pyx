# cython: language_level=3
"""FasterMSC (Lenssen & Schubert 2022): eager medoid-silhouette swaps, O(n^2) per pass.

Candidates are visited in index order and swapped in as soon as one improves
(``_fastermsc_loop`` of ``_msc_common.pxd``, shared with DynMSC).
"""

from ._common cimport dissim_t
from ._msc_common cimport Work, _fastermsc_loop, _initial, _msc_k2, _work_alloc, _work_free


def fastermsc_run(const dissim_t[:, ::1] diss,   # IN    (n, n)
                  long long[::1] med,            # INOUT (k,) k >= 2
                  long long[::1] labels,         # OUT   (n,)
                  int max_iter):
    """FasterMSC (eager swaps). Returns (sum r, n_iter, n_swap)."""
    cdef Py_ssize_t n = diss.shape[0], j
    cdef int k = med.shape[0], it = 0, n_swap = 0
    cdef double loss = 0.0
    cdef Work w
    if k == 2:
        with nogil:
            it = _msc_k2(diss, &med[0], &labels[0], max_iter, True, &loss, &n_swap)
        if it < 0:
            raise MemoryError()
        return loss, it, n_swap
    if not _work_alloc(&w, n, k):
        _work_free(&w)
        raise MemoryError()
    with nogil:
        loss = _initial(diss, &med[0], k, w.rec, &w.s)
        it = _fastermsc_loop(diss, &med[0], k, &w, max_iter, &loss, &n_swap)
        for j in range(n):
            labels[j] = w.rec[j].mn
    _work_free(&w)
    return loss, it, n_swap
