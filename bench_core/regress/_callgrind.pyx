"""Callgrind client requests around one Python call (see ``_callgrind.h``)."""

cdef extern from "_callgrind.h":
    int kmb_have_callgrind() nogil
    int kmb_running_on_valgrind() nogil
    void kmb_region_start() nogil
    void kmb_region_stop(const char *label) nogil


def have_client_requests() -> bool:
    """Whether this build has Callgrind's client requests (Valgrind's header was found)."""
    return kmb_have_callgrind() == 1


def running_on_valgrind() -> bool:
    """Whether this process runs under Valgrind."""
    return kmb_running_on_valgrind() == 1


def measured_call(func, str label):
    """``func()`` with Callgrind collecting only during the call; its counts are dumped as ``label``."""
    cdef bytes lab = label.encode()
    kmb_region_start()
    try:
        return func()
    finally:
        kmb_region_stop(lab)
