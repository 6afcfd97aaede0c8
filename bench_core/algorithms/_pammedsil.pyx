# cython: language_level=3
"""PAMMEDSIL (Van der Laan, Pollard & Bryan 2003): best medoid-silhouette swap per pass, O(k n^2).

Each (medoid, candidate) pair is evaluated separately in O(n) from the records
of ``_msc_common.pxd`` (three nearest medoids per point).

Threads: the candidates of a pass are split between threads, each change is
kept, and the best is picked in candidate order: the same swap as one thread.
"""

import numpy as np

from cython.parallel cimport prange

from ._common cimport dissim_t
from ._msc_common cimport Reco, Work, _do_swap, _initial, _r, _work_alloc, _work_free


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
                  int max_iter,
                  int n_threads=1):
    """PAMMEDSIL SWAP. Returns (sum r, n_iter, n_swap)."""
    cdef Py_ssize_t n = diss.shape[0], j, best_j
    cdef int k = med.shape[0], it = 0, n_swap = 0, best_b = 0
    cdef double loss, change, best_change, newloss
    cdef Work w
    cdef Reco* rec
    cdef double[::1] cch = np.empty(n, dtype=np.float64)    # change of each candidate
    cdef int[::1] cm = np.empty(n, dtype=np.intc)            # ... and its medoid
    if not _work_alloc(&w, n, k):
        _work_free(&w)
        raise MemoryError()
    rec = w.rec
    with nogil:
        loss = _initial(diss, &med[0], k, rec, &w.s)
        while it < max_iter:
            it += 1
            for j in prange(n, schedule="dynamic", chunksize=4, num_threads=n_threads):
                if j == med[rec[j].mn]:
                    cch[j] = 0.0
                else:
                    cch[j] = _pammedsil_change(diss, rec, j, k, &cm[j])
            best_change = 0.0
            best_j = -1
            for j in range(n):
                change = cch[j]
                if change <= best_change:
                    continue
                best_change = change
                best_b = cm[j]
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

