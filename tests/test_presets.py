"""The presets that replaced the perf scripts: their quick grids end in a side-by-side report."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench_core.environment import ROOT
from bench_core.experiments.presets import PRESETS


@pytest.mark.parametrize("name", ["perf-pam", "perf-msc", "perf-kmeans", "perf-gpu"])
def test_perf_preset_quick(name, tmp_path):
    env = dict(os.environ, KMBENCH_RESULTS=str(tmp_path / "runs"), KMBENCH_REPORTS=str(tmp_path / "reports"))
    proc = subprocess.run([sys.executable, "-m", "bench_core.cli", "reproduce", name, "--quick", "--no-progress"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = tmp_path / "reports" / f"{name}-quick" / "index.md"
    text = report.read_text()
    if name != "perf-gpu" or "torch" in text:
        assert "against each peer, side by side" in text, text[:2000]
    assert str(ROOT) not in text  # paths relative to the project
    assert PRESETS[name].quick_grids
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
