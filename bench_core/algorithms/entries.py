"""Registry entries of the reference implementations, one module per family.

Imported by :mod:`bench_core.registry`; each ``entries_*`` module calls
``register("<algorithm>/reference", ...)`` for the algorithms of its family.
"""

from . import (  # noqa: F401 - imported for their register() calls
    entries_kmeans,
    entries_kmedian,
    entries_msc,
    entries_onebatchpam,
    entries_pam,
    entries_sampling,
    entries_silhouette,
)
