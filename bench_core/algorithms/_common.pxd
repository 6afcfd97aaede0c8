# Shared nogil helpers of the k-medoids kernels.
# dissim_t: the element types a dissimilarity matrix may have.
ctypedef fused dissim_t:
    float
    double
    int
    long long
