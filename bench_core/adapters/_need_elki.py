"""Importable only when Java and the ELKI jar work (see :mod:`._runtime`)."""

from ._runtime import elki_status

_ok, _why = elki_status()
if not _ok:
    raise ImportError(_why)
