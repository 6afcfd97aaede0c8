# cython: language_level=3
"""Medoid-silhouette kernels: what every algorithm shares (see ``_msc_common.pxd``).

The records (three nearest medoids per point), the FastMSC candidate pass, the
swap update, k = 2 and the eager FasterMSC loop are inline functions of the
``.pxd``; this module holds the k = 1 case.
"""

from ._common cimport dissim_t


def one_medoid(const dissim_t[:, ::1] diss, Py_ssize_t first):
    """The point with the smallest sum of dissimilarities to all others (row sums),
    starting from ``first`` and replacing only on a strict improvement. Returns
    (medoid, its sum)."""
    cdef Py_ssize_t n = diss.shape[0], i, j, best = first
    cdef double sumb = 0.0, sumj
    with nogil:
        for i in range(n):
            if i != first:
                sumb += <double> diss[first, i]
        for j in range(n):
            if j == first:
                continue
            sumj = 0.0
            for i in range(n):
                if i != j:
                    sumj += <double> diss[j, i]
            if sumj < sumb:
                best = j
                sumb = sumj
    return best, sumb
