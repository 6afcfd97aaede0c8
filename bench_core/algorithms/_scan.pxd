# The input check of one run of matrix entries (matrix_scan.h), for the kernels that
# check the rows they read anyway (BUILD's first step) and for _scan.pyx.

from ._common cimport dissim_t


cdef extern from "matrix_scan.h":
    int kmb_scan_double(const double* x, Py_ssize_t n) noexcept nogil
    int kmb_scan_float(const float* x, Py_ssize_t n) noexcept nogil
    int kmb_scan_int(const int* x, Py_ssize_t n) noexcept nogil
    int kmb_scan_longlong(const long long* x, Py_ssize_t n) noexcept nogil


cdef inline int scan_entries(const dissim_t* x, Py_ssize_t n) noexcept nogil:
    """Flags of x[0:n]: 1 = a NaN or an infinity, 2 = a negative entry (-0.0 is not)."""
    if dissim_t is double:
        return kmb_scan_double(x, n)
    elif dissim_t is float:
        return kmb_scan_float(x, n)
    elif dissim_t is int:
        return kmb_scan_int(x, n)
    else:
        return kmb_scan_longlong(x, n)
