"""The presets that replaced the perf scripts: their quick grids end in a side-by-side report."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench_core.environment import ROOT
from bench_core.experiments.presets import PRESETS, SWAP_MAX_ITER

CLUSTBENCH = ROOT.parent / "shared" / "datasets" / "clustbench"


@pytest.mark.parametrize("name", ["perf-pam", "perf-msc", "perf-kmeans", "perf-gpu", "perf-tiled"])
def test_perf_preset_quick(name, tmp_path):
    env = dict(os.environ, KMBENCH_RESULTS=str(tmp_path / "runs"), KMBENCH_REPORTS=str(tmp_path / "reports"))
    if name == "perf-tiled":
        pytest.importorskip("torch")
        env.setdefault("KMBENCH_CLUSTBENCH_DIR", str(CLUSTBENCH))
    proc = subprocess.run([sys.executable, "-m", "bench_core.cli", "reproduce", name, "--quick", "--no-progress"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = tmp_path / "reports" / f"{name}-quick" / "index.md"
    text = report.read_text()
    if name == "perf-tiled":  # every tiled run in the times table, and the runs against pam/torch
        assert "8 runs planned: 8 ok" in proc.stdout or not (CLUSTBENCH / "sipu").is_dir(), proc.stdout
        times = text.split("### Exact PAM from the points: time, iterations and the device floor")[1]
        assert times.count("| pam/torch-tiled") + times.count("| pam/torch-tiled-pruned") >= 4
        assert "### From the points against the matrix-based pam/torch" in text
        assert "| blobs(d=784, k=100) | 1,000 | 10 | pam/torch-tiled |" in text
    elif name != "perf-gpu" or "torch" in text:
        assert "against each peer, side by side" in text, text[:2000]
    assert str(ROOT) not in text  # paths relative to the project
    assert PRESETS[name].quick_grids or PRESETS[name].build
    if name == "perf-kmeans":  # the README's headline block is written from these stored results
        readme = tmp_path / "README.md"
        readme.write_text("intro\n<!-- headline:start -->\nold\n<!-- headline:end -->\ntail\n")
        proc = subprocess.run([sys.executable, "-m", "bench_core.cli", "headline",
                               str(tmp_path / "runs" / f"{name}-quick.csv"), "--write", str(readme)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        body = readme.read_text()
        assert body.startswith("intro\n<!-- headline:start -->\n| algorithm | peer |") and "old" not in body
        assert "| k-means | scikit-learn |" in body and body.endswith("<!-- headline:end -->\ntail\n")


def test_quick_preset_has_a_section_per_family():
    from bench_core.experiments.presets import _quick

    algos = {a for g in _quick() for a in g.algorithms}
    from bench_core import registry

    families = {e.family for a in algos for e in registry.entries(algorithm=a)}
    assert families >= {"kmedoids", "msc", "sampling", "kmeans", "kmedian"}


def test_unknown_quick_grid_is_a_clear_error():
    proc = subprocess.run([sys.executable, "-m", "bench_core.cli", "reproduce", "kselect", "--quick"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "has no --quick grid" in proc.stderr and "Traceback" not in proc.stderr


def test_tiled_tables_floor_and_targets():
    """The perf-tiled tables: % of the device floor from the iteration's flops and the data-sheet
    peak, a target met only by a converged run within it, and the time ratio to pam/torch."""
    import json

    import pandas as pd

    from bench_core.experiments.presets import TILED_TARGETS
    from bench_core.gpu.perf_tiled import iteration_flops, peak_tflops
    from bench_core.report.tiled import tiled_tables

    def row(entry, dataset, n, d, k, fit, converged=True, medoids="1 2", loss=10.0, **ex):
        algo, _, impl = entry.partition("/")
        return dict(status="ok", entry=entry, algorithm=algo, implementation=impl, dataset=dataset,
                    dataset_params="{}", n=n, d=d, k=k, dtype="float64", metric="euclidean", seed=0,
                    fit_time=fit, loss=loss, converged=converged, n_iter=5, medoids=medoids, silhouette=None,
                    medoid_silhouette=None, extra_rss_mb=None, peak_rss_mb=None, diss_time=None,
                    extras=json.dumps(ex))
    gpu = dict(device="NVIDIA H200", iteration_s_median=0.2, init_s=1.0, total_s=20.0, compile_s=6.0)
    df = pd.DataFrame([
        row("pam/torch-tiled", "clustbench:sipu/birch1", 100_000, 2, 100, 21.0, **gpu),
        row("pam/torch-tiled-pruned", "clustbench:sipu/birch1", 100_000, 2, 100, 31.0, **gpu),
        row("pam/torch-tiled", "blobs", 100_000, 784, 100, 50.0, converged=False, **gpu),
        row("pam/torch-tiled", "blobs", 10_000, 784, 100, 3.0, **gpu),
        row("pam/torch", "blobs", 10_000, 784, 100, 2.0, loss=10.5),
    ])
    times, vs = tiled_tables(df, "caption", TILED_TARGETS)
    floor = iteration_flops(100_000, 2, 100) / (peak_tflops("NVIDIA H200") * 1e12)
    birch = [r for r in times.rows if r[1] == "clustbench:sipu/birch1"]
    assert birch[0][-1] == "≤ 30 s: met" and birch[1][-1] == "≤ 30 s: not met"
    assert birch[0][-2] == f"{100 * floor / 0.2:.3g}" and birch[0][8] == "6" and birch[0][10] == "19"
    blobs = [r for r in times.rows if r[2] == "100,000" and r[1] == "blobs"][0]
    assert blobs[-1] == "≤ 120 s: not met" and blobs[11] == "5 (not converged)"
    assert vs.rows == [["blobs", "10,000", "100", "pam/torch-tiled", "2", "3", "1.50", "yes", "4.8e-02"]]


def test_perf_tiled_grids_need_a_gpu_unless_quick(monkeypatch, tmp_path, capsys):
    """Without --quick the preset measures a GPU: refused with a clear error where torch sees none;
    with one, the issue's sizes, birch1 where the suite is found (said once where it is not)."""
    from bench_core import environment
    from bench_core.cli import main

    monkeypatch.delenv("KMBENCH_TORCH_DEVICE", raising=False)
    monkeypatch.setattr(environment, "gpu_info", lambda: None)
    monkeypatch.setenv("KMBENCH_RESULTS", str(tmp_path / "runs"))
    assert main(["reproduce", "perf-tiled", "--no-progress"]) == 2
    assert "perf-tiled measures a GPU and torch sees none here; --quick" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()

    monkeypatch.setattr(environment, "gpu_info", lambda: {"available": True, "name": "NVIDIA H200"})
    monkeypatch.setenv("KMBENCH_CLUSTBENCH_DIR", str(tmp_path / "no-suite"))
    grids = PRESETS["perf-tiled"].grids_for()
    assert capsys.readouterr().err.count("sipu/birch1 left out") == 1
    assert [(g.datasets, g.ns, g.ks, g.implementations) for g in grids] == [
        (["blobs:k=100,d=784"], [100_000], [100], ["torch-tiled"]),
        (["blobs:k=100,d=784"], [10_000, 30_000], [100], ["torch-tiled"]),
        (["blobs:k=100,d=784"], [10_000, 30_000], [100], ["torch"])]
    assert all(g.options == {"fused": True} for g in grids[:2]) and not grids[2].options
    full = PRESETS["perf-tiled"].grids_for(full=True)
    assert (full[-1].datasets, full[-1].ns, full[-1].ks) == (["blobs:k=10,d=2"], [1_000_000], [10])
    assert {g.max_iter for g in grids + full} == {SWAP_MAX_ITER}   # to convergence, all alike
    if (CLUSTBENCH / "sipu" / "birch1.data.gz").exists():
        monkeypatch.setenv("KMBENCH_CLUSTBENCH_DIR", str(CLUSTBENCH))
        birch = PRESETS["perf-tiled"].grids_for()[1]
        assert (birch.datasets, birch.ns, birch.implementations) == (
            ["clustbench:sipu/birch1"], [100_000], ["torch-tiled", "torch-tiled-pruned"])
