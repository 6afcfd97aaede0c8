"""Plug-ins: the examples end to end (run, validate, report, an asv suite), and broken plug-ins.

Everything here goes through the command line or public functions with plug-in files
outside the package: no file of ``bench_core`` names the examples.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench_core import metrics, plugins, registry
from bench_core.datasets import catalog
from bench_core.environment import ROOT
from bench_core.results_io import ResultsFile

EXAMPLES = ROOT / "examples" / "plugins"
ALT = EXAMPLES / "alternating_numpy.py"
KM2 = EXAMPLES / "kmeans2_scipy.py"
RINGS = EXAMPLES / "rings_dataset.py"
BALANCE = EXAMPLES / "balance_metric.py"


def kmbench(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600):
    return subprocess.run([sys.executable, "-m", "bench_core.cli", *args], cwd=cwd or ROOT,
                          env=env or dict(os.environ), capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def clean_registry(monkeypatch):
    """Plug-ins loaded in-process are forgotten after the test."""
    registry.load()
    monkeypatch.setattr(registry, "_ENTRIES", dict(registry._ENTRIES))
    monkeypatch.setattr(catalog, "_CATALOG", dict(catalog._CATALOG))
    monkeypatch.setattr(catalog, "_PREFIXED", dict(catalog._PREFIXED))
    monkeypatch.setattr(catalog, "SEEDED", set(catalog.SEEDED))
    monkeypatch.setattr(metrics, "_METRICS", dict(metrics._METRICS))
    monkeypatch.setattr(plugins, "_LOADED", {})
    return registry


def test_examples_run_validate_report(tmp_path):
    env = dict(os.environ, KMBENCH_RESULTS=str(tmp_path / "runs"))
    common = ["--plugin", str(ALT), "--plugin", str(KM2), "--plugin", str(RINGS), "--plugin", str(BALANCE)]
    proc = kmbench("run", *common, "--algorithms", "alternating,kmeans",
                   "--impl", "reference,numpy-plugin,scipy-plugin", "--dataset", "rings",
                   "--n", "150", "--k", "3", "--seeds", "0,1", "--name", "plug", "--no-progress", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    df = ResultsFile(tmp_path / "runs" / "plug.csv").load()
    assert set(df["entry"]) == {"alternating/reference", "alternating/numpy-plugin", "kmeans/reference",
                                "kmeans/scipy-plugin"}
    assert (df["status"] == "ok").all(), df[["entry", "status", "error"]]
    assert df["balance"].between(0, 1).all()            # the metric plug-in's column
    # the same start and the same result as the reference, seed by seed
    alt = df[df["algorithm"] == "alternating"].pivot(index="seed", columns="implementation",
                                                      values=["medoids", "loss", "start"])
    assert (alt["start"]["numpy-plugin"] == alt["start"]["reference"]).all()
    assert (alt["medoids"]["numpy-plugin"] == alt["medoids"]["reference"]).all()
    np.testing.assert_allclose(alt["loss"]["numpy-plugin"].astype(float), alt["loss"]["reference"].astype(float),
                               rtol=1e-12)
    assert (df["fit_time"] <= df["wall_time"]).all()

    proc = kmbench("validate", "--quick", "--no-write", *common, "-i", "numpy-plugin", "-i", "scipy-plugin")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "alternating/numpy-plugin" in proc.stdout and "identical 4" in proc.stdout
    assert "kmeans/scipy-plugin" in proc.stdout

    proc = kmbench("report", str(tmp_path / "runs" / "plug.csv"), "--out", str(tmp_path / "report"),
                   *common, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (tmp_path / "report" / "index.md").read_text()
    assert "numpy-plugin" in text and "scipy-plugin" in text


def test_example_in_an_asv_suite(clean_registry, tmp_path, monkeypatch):
    """The asv suites see plug-ins from $KMBENCH_PLUGINS: discovery lists them, a fit runs."""
    monkeypatch.setenv("KMBENCH_PLUGINS", os.pathsep.join([str(ALT), str(KM2)]))
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from suites import common; "
            "print(common.implementations(family='kmedoids')); print(common.implementations(family='kmeans'))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env=dict(os.environ), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "alternating/numpy-plugin" in proc.stdout and "kmeans/scipy-plugin" in proc.stdout

    plugins.load_configured()
    sys.path.insert(0, str(ROOT))
    from suites.bench_pam import PAMFamily

    monkeypatch.chdir(tmp_path)
    bench = PAMFamily()
    cache = bench.prepare()
    from suites import common

    g = common.grid("kmedoids")
    values = [g["dataset"][0], min(g["n"]), min(g["k"]), g["dtype"][0]]
    for name in ("alternating/numpy-plugin", "alternating/reference"):
        bench.setup(cache, name, *values)
        try:
            bench.time_fit(cache, name, *values)
            loss = bench.track_loss(cache, name, *values)
        finally:
            bench.teardown(cache, name, *values)
        if name.endswith("plugin"):
            plugin_loss = loss
    assert plugin_loss == pytest.approx(loss, rel=1e-12)


def test_plain_arrays_are_normalised_outside_the_timer(clean_registry):
    """A runnable returning plain arrays: the harness recomputes the loss; fit_time is the call only."""
    import time

    from bench_core.runner import execute

    D = np.abs(np.subtract.outer(np.arange(8.0), np.arange(8.0)))

    def arrays(task):
        return {"labels": np.array([0, 0, 0, 0, 1, 1, 1, 1]), "medoids": np.array([1, 5]), "loss": 123.0}

    entry = registry.register("toy/arrays", arrays, family="kmedoids")
    task = registry.Task(k=2, diss=D)
    out = execute(entry, task, keep_result=True)
    assert out["loss"] == 2 * (1 + 0 + 1 + 2)  # recomputed; the plug-in's 123 is kept aside
    assert out["result"].extras["library_loss"] == 123.0
    assert out["medoids"].tolist() == [1, 5]

    def slow_adapter(task):
        with task.timed():
            res = arrays(task)
        time.sleep(0.3)  # a deliberately slow conversion: not part of fit_time
        return res

    entry = registry.register("toy/slowconv", slow_adapter, family="kmedoids")
    out = execute(entry, registry.Task(k=2, diss=D))
    assert out["fit_time"] < 0.1 <= 0.3 <= out["wall_time"]


@pytest.mark.parametrize("body, message", [
    ("import no_such_module_for_kmbench\n", "ModuleNotFoundError"),
    ("x = 1\n", "registers nothing"),
    ("from bench_core.registry import register\nregister('broken', lambda t: None, family='kmedoids')\n",
     "must look like 'algorithm/implementation'"),
    ("from bench_core.registry import register\nregister('a/b', lambda t: None, family='nope')\n",
     "unknown family 'nope'"),
    ("from bench_core.registry import register\nregister('a/b', lambda t: None, family='kmedoids', colour=1)\n",
     "unknown registry fields"),
    ("from bench_core.datasets import register_dataset\nregister_dataset('bad:name', lambda: 1)\n",
     "must be non-empty without"),
    ("from bench_core.metrics import register_metric\nregister_metric('loss', lambda t, r: 1)\n",
     "not a built-in column"),
    ("raise RuntimeError('boom')\n", "line 1"),
])
def test_broken_plugin_files_are_named(clean_registry, tmp_path, body, message):
    path = tmp_path / "broken_plugin.py"
    path.write_text(body)
    with pytest.raises(plugins.PluginError) as err:
        plugins.load_plugin(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_broken_plugin_on_the_command_line(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import no_such_module_for_kmbench\n")
    for args in (["list"], ["run", "--algorithms", "pam", "--dry-run"], ["validate", "--quick"]):
        proc = kmbench(*args, "--plugin", str(bad))
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert "bad.py" in proc.stderr and "no_such_module_for_kmbench" in proc.stderr
        assert "Traceback" not in proc.stderr
    proc = kmbench("list", "--plugin", str(tmp_path / "missing.py"))
    assert proc.returncode == 2 and "no such file" in proc.stderr


@pytest.mark.parametrize("kind", ["raises", "wrong-shape", "not-a-result", "bad-dataset", "bad-metric"])
def test_a_broken_run_is_an_error_row_and_the_grid_goes_on(tmp_path, kind):
    plugin = tmp_path / "p.py"
    plugin.write_text(f"""
import numpy as np
from bench_core.registry import register
from bench_core.datasets import register_dataset
from bench_core.metrics import register_metric

def algo(task):
    kind = {kind!r}
    if kind == "raises":
        raise RuntimeError("the plug-in failed")
    if kind == "wrong-shape":
        return {{"labels": np.zeros(3, dtype=int), "medoids": np.arange(task.k)}}
    if kind == "not-a-result":
        return 42
    return {{"labels": np.argmin(task.diss[np.arange(task.k)], axis=0), "medoids": np.arange(task.k)}}

register("toy/broken", algo, family="kmedoids")
if {kind!r} == "bad-dataset":
    register_dataset("toyset", lambda n=None, seed=0: np.ones((5, 5, 5)))
if {kind!r} == "bad-metric":
    register_metric("toymetric", lambda task, result: 1 / 0)
""")
    env = dict(os.environ, KMBENCH_RESULTS=str(tmp_path / "runs"))
    datasets = "toyset,blobs" if kind == "bad-dataset" else "blobs"
    proc = kmbench("run", "--plugin", str(plugin), "--algorithms", "toy", "--entries", "fasterpam/reference",
                   "--dataset", datasets, "--n", "60", "--k", "3", "--name", "t", "--no-progress", env=env)
    assert "Traceback" not in proc.stderr
    if kind == "bad-dataset":  # a data set that cannot be loaded is refused before the first run
        assert proc.returncode == 2 and "toyset" in proc.stderr and "2-d numeric array" in proc.stderr
        assert not (tmp_path / "runs" / "t.csv").exists()
        return
    df = ResultsFile(tmp_path / "runs" / "t.csv").load()
    if kind == "bad-metric":  # the run is fine; the metric's failure is recorded with it
        assert proc.returncode == 0, proc.stderr
        assert (df["status"] == "ok").all() and df["toymetric"].isna().all()
        assert "ZeroDivisionError" in " ".join(df["extras"].astype(str))
        return
    assert proc.returncode == 1, proc.stdout + proc.stderr
    bad = df[df["dataset"] == "toyset"] if kind == "bad-dataset" else df[df["entry"] == "toy/broken"]
    assert (bad["status"] == "error").all() and len(bad)
    good = df[(df["entry"] == "fasterpam/reference") & (df["dataset"] == "blobs")]
    assert (good["status"] == "ok").all() and len(good) == 1
    expected = {"raises": "the plug-in failed", "wrong-shape": "labels have shape",
                "not-a-result": "must return a ClusteringResult", "bad-dataset": "2-d numeric array"}[kind]
    assert expected in " ".join(bad["error"].astype(str))


def test_old_results_file_resumes_after_a_new_metric_column(tmp_path):
    env = dict(os.environ, KMBENCH_RESULTS=str(tmp_path / "runs"))
    args = ["run", "--algorithms", "fasterpam", "--impl", "reference", "--dataset", "blobs",
            "--n", "80", "--k", "3", "--name", "grow", "--no-progress"]
    proc = kmbench(*args, "--seeds", "1", env=env)  # seed 0
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "runs" / "grow.csv"
    before = ResultsFile(path).load()
    assert "balance" not in before.columns
    proc = kmbench(*args, "--seeds", "2", "--resume", "--plugin", str(BALANCE), env=env)  # seeds 0, 1
    assert proc.returncode == 0, proc.stderr
    after = ResultsFile(path).load()
    assert len(after) == 2 and "balance" in after.columns
    old = after[after["seed"] == 0].iloc[0]
    assert old["run_id"] == before.iloc[0]["run_id"] and pd.isna(old["balance"])
    assert 0 < after[after["seed"] == 1].iloc[0]["balance"] <= 1
    # the file still reads without the plug-in (an unknown column is kept)
    proc = kmbench("report", str(path), "--out", str(tmp_path / "rep"), env=env)
    assert proc.returncode == 0, proc.stderr


def test_entry_point_plugins(clean_registry, tmp_path, monkeypatch):
    """Installed packages register through the ``kmbench.plugins`` entry-point group."""
    pkg = tmp_path / "site"
    (pkg / "kmbench_toyplugin").mkdir(parents=True)
    (pkg / "kmbench_toyplugin" / "__init__.py").write_text(ALT.read_text().replace(
        "alternating/numpy-plugin", "alternating/entry-point-plugin"))
    dist = pkg / "kmbench_toyplugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kmbench-toyplugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[kmbench.plugins]\ntoy = kmbench_toyplugin\n")
    monkeypatch.syspath_prepend(str(pkg))
    plugins.load_configured()
    assert registry.get("alternating/entry-point-plugin").reference == "alternating/reference"
    json.dumps(registry.get("alternating/entry-point-plugin").source)


def test_metric_prepare_runs_once_in_the_parent(tmp_path):
    """A metric's ``prepare`` runs in the process that forks the runs, before them."""
    from bench_core import metrics
    from bench_core.metrics import _METRICS, register_metric

    calls = []
    register_metric("prep_probe", lambda task, result: 1.0, prepare=lambda: calls.append(1))
    try:
        assert metrics.prepare_all() == {}
        assert calls == [1]
        with pytest.raises(TypeError, match="prepare must be callable"):
            register_metric("prep_probe2", lambda task, result: 1.0, prepare=3)
    finally:
        _METRICS.pop("prep_probe", None)


def test_external_scores_do_not_import_in_the_worker():
    """genieclust (which imports matplotlib's pyplot) is imported by prepare_all, so a
    forked run evaluating ARI/AMI/NCA imports nothing new."""
    import sys

    from bench_core.metrics import prepare_all

    prepare_all()
    assert "genieclust.compare_partitions" in sys.modules
