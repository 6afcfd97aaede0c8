"""Plug-ins: an algorithm, a library, a data set or a metric in one file outside the package.

A plug-in is a Python file (or an installed module) that registers what it
brings when imported, with the same calls as the in-tree providers:

* :func:`bench_core.registry.register` for an implementation;
* :func:`bench_core.datasets.register_dataset` for a data set;
* :func:`bench_core.metrics.register_metric` for a metric (a results column).

They are loaded from ``--plugin PATH.py`` (``kmbench run|validate|report|list``,
repeatable), from ``$KMBENCH_PLUGINS`` (paths separated by ``os.pathsep``; the
asv suites read it) and from the entry-point group ``kmbench.plugins`` of
installed packages. A plug-in that fails to import, or registers nothing, is
reported with its file and the reason (:class:`PluginError`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType

ENV = "KMBENCH_PLUGINS"
ENTRY_POINT_GROUP = "kmbench.plugins"

_LOADED: dict[str, ModuleType] = {}


class PluginError(ValueError):
    """A plug-in could not be loaded; the message names the file and what is wrong."""


def _counts() -> tuple[int, int, int]:
    from . import metrics, registry
    from .datasets import catalog

    return (len(registry._ENTRIES), len(catalog._CATALOG) + len(catalog._PREFIXED), len(metrics._METRICS))


def load_plugin(path: str | os.PathLike) -> ModuleType:
    """Import the plug-in file ``path`` once; its ``register*`` calls run on import."""
    from . import registry

    p = Path(path).expanduser()
    key = str(p.resolve()) if p.exists() else str(p)
    if key in _LOADED:
        return _LOADED[key]
    if not p.exists():
        raise PluginError(f"plug-in {p}: no such file")
    if p.is_dir() or p.suffix != ".py":
        raise PluginError(f"plug-in {p}: expected a Python file (.py)")
    registry.load()
    name = "kmbench_plugin_" + p.stem.replace("-", "_") + "_" + hashlib.sha1(key.encode()).hexdigest()[:8]
    spec = importlib.util.spec_from_file_location(name, p)
    if spec is None or spec.loader is None:
        raise PluginError(f"plug-in {p}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    before = _counts()
    sys.modules[name] = module
    try:
        with registry.registering_from(str(p)):
            spec.loader.exec_module(module)
    except PluginError:
        sys.modules.pop(name, None)
        raise
    except Exception as exc:
        sys.modules.pop(name, None)
        where = traceback.extract_tb(exc.__traceback__)
        line = next((f" (line {f.lineno})" for f in reversed(where) if f.filename == str(p)), "")
        raise PluginError(f"plug-in {p}{line}: {type(exc).__name__}: {exc}") from exc
    if _counts() == before:
        raise PluginError(f"plug-in {p}: registers nothing; call bench_core.registry.register, "
                          "bench_core.datasets.register_dataset or bench_core.metrics.register_metric")
    _LOADED[key] = module
    return module


def load_plugins(paths: list[str] | tuple[str, ...]) -> list[ModuleType]:
    """Load several plug-in files (in order)."""
    return [load_plugin(p) for p in paths]


def env_paths() -> list[str]:
    """The plug-in files named by ``$KMBENCH_PLUGINS``."""
    return [p for p in os.environ.get(ENV, "").split(os.pathsep) if p.strip()]


def load_configured() -> None:
    """Load the plug-ins of ``$KMBENCH_PLUGINS`` and of the ``kmbench.plugins`` entry points."""
    load_plugins(env_paths())
    from importlib.metadata import entry_points

    from . import registry

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.value in _LOADED:
            continue
        try:
            with registry.registering_from(f"entry point {ep.name} ({ep.value})"):
                obj = ep.load()
                if callable(obj) and not isinstance(obj, ModuleType):
                    obj()
        except Exception as exc:
            raise PluginError(f"plug-in entry point {ep.name} ({ep.value}): {type(exc).__name__}: {exc}") from exc
        _LOADED[ep.value] = importlib.import_module(ep.module)
