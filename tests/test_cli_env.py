"""CLI smoke tests, the environment record, the result type, input checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench_core import input_checks as v
from bench_core.cli import main
from bench_core.environment import (
    cpu_id,
    cpu_model,
    machine_key,
    machine_label,
    record,
    summary_line,
)
from bench_core.result import ClusteringResult


def test_datasets_list_info_checksum(capsys):
    assert main(["datasets", "list"]) == 0
    assert "mnist" in capsys.readouterr().out
    assert main(["datasets", "info", "blobs", "--n", "50", "--seed", "2"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n"] == 50 and info["params"]["seed"] == 2
    assert main(["datasets", "checksum", "mnist", "--n", "10"]) == 0
    assert len(capsys.readouterr().out.strip()) == 16


def test_cli_errors_are_messages_not_tracebacks(capsys):
    assert main(["datasets", "info", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset 'nope'" in err and "Traceback" not in err
    assert main(["datasets", "info"]) == 2


def test_env_record(capsys):
    assert main(["env"]) == 0
    rec = json.loads(capsys.readouterr().out)
    for key in ("python", "cpu_model", "cpu_count", "packages", "git", "threads", "platform"):
        assert key in rec
    assert rec["packages"]["numpy"].startswith("2.")
    assert any(t["user_api"] == "blas" for t in rec["threads"])
    assert "numpy 2." in summary_line(record())


ZEN4 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
stepping\t: 1

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 99
model\t\t: 99
model name\t: AMD EPYC
stepping\t: 9
"""


def test_cpu_id_tells_cpus_with_one_model_name_apart():
    assert cpu_id(ZEN4) == "family 25 model 17 stepping 1"  # the first processor's block
    assert cpu_id(ZEN4.replace("cpu family\t: 25", "cpu family\t: 26")) == "family 26 model 17 stepping 1"
    assert cpu_id("processor : 0\nmodel name : ARMv8\n") is None  # no x86 fields: not guessed
    assert cpu_id("cpu family : 6\nmodel : 1a\nstepping : 2\n") is None
    assert cpu_model(ZEN4) == "AMD EPYC" and cpu_model("processor : 0\nmodel name : ARMv8\n") == "ARMv8"
    base = {"cpu_model": "AMD EPYC", "cpu_count": 2, "affinity": 2, "memory_gb": 23.5, "machine": "x86_64",
            "hostname": "vm"}
    zen4, zen5 = ({**base, "cpu_id": f"family {f} model 2 stepping 1"} for f in (25, 26))
    assert len({machine_key(r) for r in (base, zen4, zen5, dict(zen5))}) == 3
    assert machine_label(zen5).startswith("AMD EPYC (family 26 model 2 stepping 1), 2 cores")
    assert machine_label(base).startswith("AMD EPYC, 2 cores")
    here = record()
    assert here["cpu_id"] == cpu_id() and (here["cpu_id"] or "") in summary_line(here)


def test_console_script_runs():
    script = Path(sys.executable).with_name("kmbench")
    for cmd in ([str(script), "--help"], [sys.executable, "-m", "bench_core.cli", "list"]):
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "failed to load" not in out.stdout


def test_result_repr_is_short():
    r = ClusteringResult(loss=1.5, labels=np.zeros(10**5, dtype=np.int64), medoids=np.array([3, 1]))
    assert len(repr(r)) < 200 and "medoids=[3, 1]" in repr(r) and r.k == 2
    assert ClusteringResult(loss=0, labels=np.array([0, 2, 1])).k == 3


def test_validation_helpers():
    assert v.check_k(3, 5) == 3
    for bad in (0, 6, 2.5, True, "3"):
        with pytest.raises(ValueError):
            v.check_k(bad, 5)
    assert v.check_medoids(np.array([2.0, 0.0]), 3).dtype == np.int64
    with pytest.raises(ValueError, match="length n = 4"):
        v.check_labels([0, 1], 4)
    with pytest.raises(ValueError, match="unknown init 'x'"):
        v.check_choice("x", ("a", "b"), name="init")
    with pytest.raises(ValueError, match=">= 1"):
        v.check_positive_int(0, name="numlocal")
    g = v.check_random_state(3)
    assert isinstance(g, np.random.Generator)
    assert v.check_random_state(np.random.RandomState(1)).integers(100) == v.check_random_state(np.random.RandomState(1)).integers(100)
    with pytest.raises(ValueError, match="random_state"):
        v.check_random_state("seed")
    D = np.zeros((3, 3), dtype=np.float32)
    assert v.check_diss(D) is D  # no copy
    assert v.check_diss(np.zeros((3, 3), dtype=np.uint8)).dtype == np.int64
    with pytest.raises(ValueError, match="integer dtype"):
        v.check_diss(np.zeros((3, 3), dtype=np.int32), allow_int=False)
    X = v.check_points([[1, 2], [3, 4]])
    assert X.dtype == np.float64
    with pytest.raises(ValueError, match="reshape"):
        v.check_points([1, 2, 3])


def test_gpu_info_creates_no_cuda_context(monkeypatch):
    """The runner records the environment before it forks its workers: the GPU's name and driver
    come from nvidia-smi and its availability through NVML, never from a CUDA context (a forked
    worker cannot use CUDA once the parent initialised it)."""
    torch = pytest.importorskip("torch")
    from bench_core import environment

    def poisons(*a, **kw):
        raise AssertionError("creates a CUDA context in the parent")

    seen = {}

    def available():
        seen["nvml"] = environment.os.environ.get("PYTORCH_NVML_BASED_CUDA_CHECK")
        return True

    monkeypatch.setenv("PYTORCH_NVML_BASED_CUDA_CHECK", "0")   # restored after the test, whatever it was
    monkeypatch.delenv("PYTORCH_NVML_BASED_CUDA_CHECK")
    monkeypatch.setattr(torch.cuda, "is_available", available)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    for name in ("get_device_name", "get_device_properties", "init", "current_device"):
        monkeypatch.setattr(torch.cuda, name, poisons)
    monkeypatch.setattr(environment.subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(
        cmd, 0, stdout="NVIDIA H200, 570.86.15\nNVIDIA H200, 570.86.15\n", stderr=""))
    info = environment.gpu_info()
    assert seen["nvml"] == "1"
    assert info["available"] and info["count"] == 2
    assert info["name"] == "NVIDIA H200" and info["driver"] == "570.86.15"
    # and the captions name it
    rec = dict(record(), gpu=info)
    assert ", GPU NVIDIA H200 (driver 570.86.15, torch " in summary_line(rec)
    assert "GPU" not in summary_line(dict(rec, gpu=None))
