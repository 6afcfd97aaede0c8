# cython: language_level=3
"""The input check of a dissimilarity matrix in one streaming pass.

NaN/infinity and negative entries are detected together (``matrix_scan.h``),
row blocks split between threads; the flags are OR-ed, so the answer does not
depend on the thread count. What exactly is wrong (the minimum, for the error
message) is only looked up when a flag is set.
"""

from cython.parallel cimport prange

# scan_entries and dissim_t: _scan.pxd


cdef enum:
    ROWS = 64  # rows per block of the threaded scan


def scan_matrix(const dissim_t[:, ::1] diss,   # IN (n, m)
                int n_threads=1):
    """Flags of the whole matrix: 1 = a NaN or an infinity, 2 = a negative entry."""
    cdef Py_ssize_t n = diss.shape[0], m = diss.shape[1], b, hi
    cdef Py_ssize_t nblk = (n + ROWS - 1) // ROWS
    cdef int flags = 0
    if n == 0 or m == 0:
        return 0
    with nogil:
        for b in prange(nblk, schedule="static", num_threads=n_threads):
            hi = (b + 1) * ROWS if (b + 1) * ROWS < n else n
            flags |= scan_entries(&diss[b * ROWS, 0], (hi - b * ROWS) * m)
    return flags


def scan_rows(const dissim_t[:, ::1] diss,    # IN (n, m)
              const long long[::1] rows,      # IN (r,) the rows to check
              int n_threads=1):
    """Flags of the listed rows only (as scan_matrix): for kernels that read no others."""
    cdef Py_ssize_t r = rows.shape[0], m = diss.shape[1], q
    cdef int flags = 0
    if r == 0 or m == 0:
        return 0
    with nogil:
        for q in prange(r, schedule="static", num_threads=n_threads):
            flags |= scan_entries(&diss[rows[q], 0], m)
    return flags
