"""Importable only when ``Rscript`` and R's ``cluster`` package work (see :mod:`._runtime`)."""

from ._runtime import r_cluster_status

_ok, _why = r_cluster_status()
if not _ok:
    raise ImportError(_why)
