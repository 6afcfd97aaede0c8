"""Registry entries of the reference implementations, one module per family.

Imported by :mod:`bench_core.registry`; each ``entries_*`` module calls
``register("<algorithm>/reference", ...)`` for the algorithms of its family.
"""

import importlib

FAMILIES = ("entries_pam", "entries_silhouette", "entries_msc", "entries_sampling",
            "entries_kmeans", "entries_kmedian")

for _mod in FAMILIES:
    try:
        importlib.import_module(f"{__package__}.{_mod}")
    except ModuleNotFoundError as _exc:  # that family has not landed yet
        if _exc.name != f"{__package__}.{_mod}":
            raise
