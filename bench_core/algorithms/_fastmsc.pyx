# cython: language_level=3
"""FastMSC (Lenssen & Schubert 2022): the best medoid-silhouette swap of each pass, O(n^2).

PAMMEDSIL's swaps (Van der Laan, Pollard & Bryan 2003), each candidate evaluated
for all k medoids at once in one O(n) pass over its row (``_best_swap`` of
``_msc_common.pxd``); the best swap of a full pass is taken.

Threads: the candidates are cut into blocks of CHUNK (whatever the number of
threads); a thread keeps the first best candidate of each block, with the
block's best so far as the pruning threshold of ``_best_swap`` (it only leaves
out candidates certainly below a value some candidate reaches, and returns exact
changes otherwise), and the blocks' winners are compared in block order. The
swap is the first best one in candidate order, as one thread finds it.
"""

from cython.parallel cimport prange, threadid
from libc.stdlib cimport free, malloc

from ._common cimport dissim_t
from ._msc_common cimport (Work, _best_swap, _do_swap, _initial, _msc_k2, _prepare,
                           _work_alloc, _work_free)

cdef enum:
    CHUNK = 256  # candidates per block of the threaded pass


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


cdef int _fastmsc_loop_threads(const dissim_t[:, ::1] diss, long long* med, int k, Work* w,
                               Work* tw,             # SCRATCH (nt,) per-thread copies of w
                               double* scratch,      # SCRATCH (nt * (3n + 1 + k),)
                               double* cbest,        # SCRATCH (nchunk,) best change per block
                               Py_ssize_t* cj,       # SCRATCH (nchunk,) its candidate (-1: none)
                               int* cb,              # SCRATCH (nchunk,) its medoid
                               int nt, int max_iter, double* loss,
                               int* n_swap) noexcept nogil:
    """_fastmsc_loop with the candidates of a pass split between nt threads; the same swaps."""
    cdef Py_ssize_t n = diss.shape[0], j, best_j, c, lo, hi, bj
    cdef Py_ssize_t nchunk = (n + CHUNK - 1) // CHUNK
    cdef Py_ssize_t per = 3 * n + 1 + k
    cdef int it = 0, b, bb, best_b = 0, t
    cdef double change, best_change, newloss, lbest
    cdef Work* mine
    while it < max_iter:
        it += 1
        _prepare(w, n, k)
        for t in range(nt):     # shared records and schedule, own scratch
            tw[t] = w[0]
            tw[t].terms = scratch + t * per
            tw[t].ca = tw[t].terms + 2 * n + 1
            tw[t].ploss = tw[t].ca + n
        for c in prange(nchunk, schedule="dynamic", num_threads=nt):
            mine = &tw[threadid()]
            lo = c * CHUNK
            hi = lo + CHUNK if lo + CHUNK < n else n
            lbest = 0.0
            bj = -1
            bb = 0
            for j in range(lo, hi):
                if j == med[mine.rec[j].mn]:
                    continue
                b = 0                   # assigned here, so private to the thread
                change = _best_swap(diss, mine, j, k, lbest, &b)
                if change > lbest:
                    lbest = change
                    bb = b
                    bj = j
            cbest[c] = lbest
            cj[c] = bj
            cb[c] = bb
        best_change = 0.0
        best_j = -1
        for c in range(nchunk):
            if cj[c] >= 0 and cbest[c] > best_change:
                best_change = cbest[c]
                best_b = cb[c]
                best_j = cj[c]
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
                int max_iter,
                int n_threads=1):
    """FastMSC (best swap per pass). Returns (sum r, n_iter, n_swap).

    k = 2 (two distances per point, no records) runs on one thread.
    """
    cdef Py_ssize_t n = diss.shape[0], j
    cdef Py_ssize_t nchunk = (n + CHUNK - 1) // CHUNK
    cdef int k = med.shape[0], it = 0, n_swap = 0, nt = max(n_threads, 1)
    cdef double loss = 0.0
    cdef Work w
    cdef Work* tw = NULL
    cdef double* scratch = NULL
    cdef double* cbest = NULL
    cdef Py_ssize_t* cj = NULL
    cdef int* cb = NULL
    if k == 2:
        with nogil:
            it = _msc_k2(diss, &med[0], &labels[0], max_iter, False, &loss, &n_swap)
        if it < 0:
            raise MemoryError()
        return loss, it, n_swap
    ok = _work_alloc(&w, n, k)
    if nt > 1:
        tw = <Work*> malloc(nt * sizeof(Work))
        scratch = <double*> malloc(nt * (3 * n + 1 + k) * sizeof(double))
        cbest = <double*> malloc(nchunk * sizeof(double))
        cj = <Py_ssize_t*> malloc(nchunk * sizeof(Py_ssize_t))
        cb = <int*> malloc(nchunk * sizeof(int))
        ok = ok and tw != NULL and scratch != NULL and cbest != NULL and cj != NULL and cb != NULL
    if not ok:
        _work_free(&w)
        free(tw)
        free(scratch)
        free(cbest)
        free(cj)
        free(cb)
        raise MemoryError()
    with nogil:
        loss = _initial(diss, &med[0], k, w.rec, &w.s)
        if nt > 1:
            it = _fastmsc_loop_threads(diss, &med[0], k, &w, tw, scratch, cbest, cj, cb, nt,
                                       max_iter, &loss, &n_swap)
        else:
            it = _fastmsc_loop(diss, &med[0], k, &w, max_iter, &loss, &n_swap)
        for j in range(n):
            labels[j] = w.rec[j].mn
    _work_free(&w)
    free(tw)
    free(scratch)
    free(cbest)
    free(cj)
    free(cb)
    return loss, it, n_swap
