"""The registry: naming, availability, lookups, and that every provider loads."""

from __future__ import annotations

import numpy as np
import pytest

from bench_core import registry
from bench_core.result import ClusteringResult


@pytest.fixture
def isolated(monkeypatch):
    registry.load()
    monkeypatch.setattr(registry, "_ENTRIES", dict(registry._ENTRIES))
    monkeypatch.setattr(registry, "_MODULE_CACHE", dict(registry._MODULE_CACHE))
    return registry


def _first(task: registry.Task) -> ClusteringResult:
    med = np.arange(task.k)
    return ClusteringResult(loss=0.0, labels=np.zeros(task.n, dtype=np.int64), medoids=med)


def test_every_provider_loads():
    assert registry.provider_errors() == {}


def test_register_and_run(isolated):
    e = isolated.register("toy/python", _first, family="kmedoids", description="first k points")
    assert e.algorithm == "toy" and e.implementation == "python" and e.available
    assert isolated.get("toy/python") is e
    assert "toy/python" in isolated.names(family="kmedoids")
    assert "toy" in isolated.algorithms()
    res = isolated.run("toy/python", registry.Task(k=2, diss=np.zeros((4, 4))))
    assert res.medoids.tolist() == [0, 1]


def test_bad_names_and_duplicates(isolated):
    for bad in ("toy", "toy/a/b", "/x", "x/"):
        with pytest.raises(ValueError, match="algorithm/implementation"):
            isolated.register(bad, _first, family="kmedoids")
    isolated.register("toy/a", _first, family="kmedoids")
    with pytest.raises(ValueError, match="already registered"):
        isolated.register("toy/a", lambda t: None, family="kmedoids")


def test_unavailable_entry_is_listed_with_reason(isolated):
    e = isolated.register("toy/missing", _first, family="kmedoids", requires=("no_such_module_kmbench",))
    ok, why = e.availability()
    assert not ok and "no_such_module_kmbench" in why and "ModuleNotFoundError" in why
    assert "toy/missing" in isolated.names(available=False)
    assert "toy/missing" not in isolated.names(available=True)
    with pytest.raises(registry.UnavailableError, match="no_such_module_kmbench"):
        e(registry.Task(k=1, diss=np.zeros((2, 2))))


def test_broken_library_is_unavailable_not_a_crash(isolated, tmp_path, monkeypatch):
    (tmp_path / "kmbench_broken_lib.py").write_text("raise RuntimeError('numpy.dtype size changed')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    e = isolated.register("toy/broken", _first, family="kmedoids", requires=("kmbench_broken_lib",))
    ok, why = e.availability()
    assert not ok and "numpy.dtype size changed" in why


def test_unknown_name_suggests_implementations(isolated):
    isolated.register("toy/a", _first, family="kmedoids")
    with pytest.raises(KeyError, match="toy/a"):
        isolated.get("toy/zzz")


def test_task_n():
    assert registry.Task(k=1, X=np.zeros((7, 2))).n == 7
    with pytest.raises(ValueError, match="neither"):
        _ = registry.Task(k=1).n


def test_failing_provider_is_recorded(monkeypatch, tmp_path):
    (tmp_path / "kmbench_bad_provider.py").write_text("import numpy\nraise ImportError('half-installed')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "PROVIDERS", ("kmbench_bad_provider", "kmbench_not_written_yet"))
    monkeypatch.setattr(registry, "_LOADED", False)
    monkeypatch.setattr(registry, "_PROVIDER_ERRORS", {})
    monkeypatch.setattr(registry, "_ENTRIES", {})
    errors = registry.provider_errors()
    assert sorted(errors) == ["kmbench_bad_provider", "kmbench_not_written_yet"]
    assert "half-installed" in errors["kmbench_bad_provider"]
    assert "No module named 'kmbench_not_written_yet'" in errors["kmbench_not_written_yet"]
