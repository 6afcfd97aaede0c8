# The vector listing of the points a FasterPAM/FastPAM1 candidate can affect
# (fasterpam_simd.h; cimport from here). The header's state is static: every
# extension that cimports this has its own copy, set by its own kmb_simd_limit.

cdef extern from "fasterpam_simd.h":
    Py_ssize_t kmb_hits_below_simd(int level, const double* row, const float* bound,
                                   Py_ssize_t n, int* hits, int* bad) noexcept nogil
    void kmb_round_up_f32(const double* bound, Py_ssize_t n, float* bound32) noexcept nogil
    void kmb_hits_below4_avx512(const double** rows, const float* bound, Py_ssize_t n,
                                int** hits, Py_ssize_t* c, int* bad) noexcept nogil
    void kmb_change_of_hits4(const double** rows, int** hits, const Py_ssize_t* c,
                             const int* near_i, const double* near_d, const double* seco_d,
                             const double* rloss, Py_ssize_t k, double* ploss,
                             double* change, Py_ssize_t* best_m) noexcept nogil
    int kmb_simd_level() noexcept nogil
    void kmb_simd_limit(int level) noexcept nogil
    void kmb_set_prefetch(Py_ssize_t entries, double min_bytes) noexcept nogil
    Py_ssize_t kmb_default_prefetch() noexcept nogil
    const double KMB_PREFETCH_MIN_BYTES


from ._common cimport dissim_t, hits_below, swap_change_of_hits


cdef inline double candidate_change(const dissim_t[:, ::1] diss, Py_ssize_t j, int level,
                                    const float* seco_f, int* hits, const int* near_i,
                                    const double* near_d, const double* seco_d,
                                    const double* rloss, double* ploss, Py_ssize_t k,
                                    Py_ssize_t* b, int* bad) noexcept nogil:
    """The loss change of candidate j's best swap (its medoid into b), one candidate alone:
    the listing of ``level`` (float64; the scalar loop otherwise), then the sums.

    ``bad`` (vector listings only; NULL: no check): set to 1 if row j holds a NaN, an
    infinity or a negative entry, and then nothing is summed (the change is 0)."""
    cdef Py_ssize_t c, n = diss.shape[0]
    if dissim_t is double:
        if level:
            c = kmb_hits_below_simd(level, &diss[j, 0], seco_f, n, hits, bad)
            if bad != NULL and bad[0]:
                return 0.0
        else:
            c = hits_below(&diss[j, 0], seco_d, n, hits)
    else:
        c = hits_below(&diss[j, 0], seco_d, n, hits)
    return swap_change_of_hits(&diss[j, 0], hits, c, near_i, near_d, seco_d, rloss, ploss, k, b)
