# cython: language_level=3
"""Shared kernels: nearest-medoid assignment and the k-medoids loss.

Every kernel reads ``diss[m, o]`` as the cost of point ``o`` under medoid ``m``
(row = medoid), so asymmetric matrices have one documented meaning. Losses are
accumulated in double whatever the matrix type.

Threads (``n_threads``, OpenMP): points are split between threads; a sum over
points is always added up afterwards in point order, so the result is the same
bits for any number of threads.
"""

from cython.parallel cimport prange


def assign_nearest(const dissim_t[:, ::1] diss,       # IN  (n, n)
                   const long long[::1] medoids,      # IN  (k,)
                   long long[::1] labels,             # OUT (n,)
                   double[::1] nearest,               # OUT (n,) distance to the nearest medoid
                   int n_threads=1):
    """Label each point with the position (0..k-1) of its nearest medoid.

    Ties go to the medoid listed first; each medoid is labelled with its own
    cluster even when another medoid is at distance zero. Returns the loss.
    """
    cdef Py_ssize_t n = diss.shape[0], k = medoids.shape[0]
    cdef Py_ssize_t o, i
    cdef double best, d, total = 0.0
    cdef long long lab
    with nogil:
        for o in prange(n, schedule="static", num_threads=n_threads):
            lab = 0
            best = <double> diss[medoids[0], o]
            for i in range(1, k):
                d = <double> diss[medoids[i], o]
                if d < best:
                    best = d
                    lab = i
            labels[o] = lab
            nearest[o] = best
        for i in range(k):
            labels[medoids[i]] = i
            nearest[medoids[i]] = <double> diss[medoids[i], medoids[i]]
        for o in range(n):
            total += nearest[o]
    return total


def nearest_and_second(const dissim_t[:, ::1] diss,      # IN  (n, n)
                       const long long[::1] medoids,     # IN  (k,)
                       int[::1] near_i,                  # OUT (n,)
                       double[::1] near_d,               # OUT (n,)
                       int[::1] seco_i,                  # OUT (n,)
                       double[::1] seco_d,               # OUT (n,)
                       int n_threads=1):
    """Python entry to :c:func:`nearest_two`: nearest and second-nearest medoids; returns the loss."""
    with nogil:
        total = nearest_two(diss, medoids, near_i, near_d, seco_i, seco_d, n_threads)
    return total
