# cython: language_level=3
"""Alternating k-medoids (k-means style; Park & Jun 2009, the "Alternate" heuristic).

Assign every point to its nearest medoid, then make each cluster's medoid the
member with the smallest sum of dissimilarities to the other members; repeat
until no medoid changes. Members are gathered per cluster (counting sort, so in
ascending index order), making the medoid update O(sum of squared cluster sizes)
instead of O(n^2).

Threads: points are assigned, and clusters re-centred, side by side; the loss is
summed in point order afterwards, so results do not depend on the thread count.
"""

import numpy as np

from cython.parallel cimport prange

from ._common cimport dissim_t, medoid_of_members


cdef inline double _assign(const dissim_t[:, ::1] diss, const long long[::1] medoids,
                           long long[::1] labels, double[::1] near,
                           int n_threads) noexcept nogil:
    """Nearest medoid (ties to the first, a medoid to itself); returns the loss."""
    cdef Py_ssize_t n = diss.shape[0], k = medoids.shape[0], o, i, lab
    cdef double best, d, total = 0.0
    for o in prange(n, schedule="static", num_threads=n_threads):
        lab = 0
        best = <double> diss[medoids[0], o]
        for i in range(1, k):
            d = <double> diss[medoids[i], o]
            if d < best or o == medoids[i]:
                best = d
                lab = i
        labels[o] = lab
        near[o] = best
    for o in range(n):
        total += near[o]
    return total


cdef inline bint _update(const dissim_t[:, ::1] diss, long long[::1] medoids,
                         const long long[::1] labels, long long[::1] start,
                         long long[::1] members, long long[::1] new,
                         double[::1] cost, int n_threads) noexcept nogil:
    """Best medoid of every cluster (labels fixed); returns whether one changed."""
    cdef Py_ssize_t n = diss.shape[0], k = medoids.shape[0], o, m
    cdef bint changed = False
    start[:] = 0
    for o in range(n):
        start[labels[o] + 1] += 1
    for m in range(k):
        start[m + 1] += start[m]
    for o in range(n):                          # counting sort: ascending within a cluster
        members[start[labels[o]]] = o
        start[labels[o]] += 1
    for m in range(k - 1, -1, -1):              # restore the cluster starts
        start[m + 1] = start[m]
    start[0] = 0
    for m in prange(k, schedule="dynamic", chunksize=1, num_threads=n_threads):
        new[m] = medoid_of_members(diss, &members[start[m]], start[m + 1] - start[m],
                                   medoids[m], &cost[m])
    for m in range(k):
        if new[m] != medoids[m]:
            medoids[m] = new[m]
            changed = True
    return changed


def alternating_kernel(const dissim_t[:, ::1] diss,     # IN  (n, n)
                       long long[::1] medoids,          # INOUT (k,)
                       Py_ssize_t max_iter,
                       long long[::1] labels,           # OUT (n,)
                       int n_threads=1):
    """Run the alternating algorithm; returns (loss, n_iter, n_changes, converged)."""
    cdef Py_ssize_t n = diss.shape[0], k = medoids.shape[0], it = 0, m, n_changes = 0
    cdef long long[::1] start = np.zeros(k + 1, dtype=np.int64)
    cdef long long[::1] members = np.empty(n, dtype=np.int64)
    cdef long long[::1] before = np.empty(k, dtype=np.int64)
    cdef long long[::1] new = np.empty(k, dtype=np.int64)
    cdef double[::1] cost = np.empty(k, dtype=np.float64)
    cdef double[::1] near = np.empty(n, dtype=np.float64)
    cdef double loss
    cdef bint converged = False
    with nogil:
        loss = _assign(diss, medoids, labels, near, n_threads)
        while it < max_iter:
            it += 1
            before[:] = medoids
            if not _update(diss, medoids, labels, start, members, new, cost, n_threads):
                converged = True
                break
            for m in range(k):
                n_changes += before[m] != medoids[m]
            loss = _assign(diss, medoids, labels, near, n_threads)
    return loss, it, n_changes, bool(converged)


def single_medoid(const dissim_t[:, ::1] diss,    # IN  (n, n)
                  Py_ssize_t current):            # IN  the starting medoid
    """k = 1: the point with the smallest total dissimilarity, keeping ``current`` on ties."""
    cdef Py_ssize_t n = diss.shape[0], best
    cdef long long[::1] members = np.arange(n, dtype=np.int64)
    cdef double cost
    with nogil:
        best = medoid_of_members(diss, &members[0], n, current, &cost)
    return best, cost
