"""Reproducibility record: what machine, software and threads produced a result."""

from __future__ import annotations

import datetime as _dt
import functools
import importlib.metadata as md
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

PACKAGES = (
    "kmbench", "numpy", "scipy", "Cython", "scikit-learn", "scikit-learn-extra", "kmedoids",
    "pyclustering", "pandas", "matplotlib", "asv", "threadpoolctl", "torch", "banditpam",
    "dask", "distributed",
)

ROOT = Path(__file__).resolve().parent.parent


def _cpu_fields(cpuinfo: str | None = None) -> dict[str, str]:
    """The fields of the first processor's block of ``/proc/cpuinfo`` ({} where unreadable)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return {}
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            if fields:
                break  # the first processor's block only
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's model name (``/proc/cpuinfo``; the platform's name for it elsewhere)."""
    return _cpu_fields(cpuinfo).get("model name") or platform.processor() or platform.machine()


def cpu_id(cpuinfo: str | None = None) -> str | None:
    """``"family 26 model 2 stepping 1"``: the x86 CPU's identification from ``/proc/cpuinfo``.

    A VM's model name can be generic ("AMD EPYC" for both Zen 4 and Zen 5 hosts), so
    the record keeps this too, and machines differ when it does. None elsewhere.
    """
    fields = _cpu_fields(cpuinfo)
    parts = [(name, fields.get(key)) for name, key in
             (("family", "cpu family"), ("model", "model"), ("stepping", "stepping"))]
    if not all(v and v.isdigit() for _, v in parts):
        return None
    return " ".join(f"{name} {v}" for name, v in parts)


def cpu_name(rec: dict[str, Any]) -> str:
    """The CPU of a record for captions: its model name and, if recorded, its identification."""
    model = rec.get("cpu_model") or "unknown CPU"
    return f"{model} ({rec['cpu_id']})" if rec.get("cpu_id") else model


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(root: Path = ROOT) -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except Exception:
        return {"commit": None, "dirty": None}


def thread_info() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keep = ("user_api", "internal_api", "prefix", "version", "num_threads", "threading_layer", "architecture")
    return [{k: d.get(k) for k in keep} for d in threadpool_info()]


def gpu_info() -> dict[str, Any] | None:
    """GPU name, driver, torch and CUDA versions when torch sees a device.

    Without creating a CUDA context in this process: availability and count through NVML
    (``PYTORCH_NVML_BASED_CUDA_CHECK``), name and driver from ``nvidia-smi``. The runner records
    the environment before it forks its workers, and a process forked after CUDA was initialised
    cannot use CUDA ("Cannot re-initialize CUDA in forked subprocess").
    """
    if "torch" not in sys.modules:
        try:
            md.version("torch")
        except md.PackageNotFoundError:
            return None
    try:
        import torch
    except Exception:
        return None
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    info: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda,
                            "available": bool(torch.cuda.is_available())}
    if info["available"]:
        info["count"] = torch.cuda.device_count()
        info["name"] = info["driver"] = None
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                name, _, driver = out.stdout.strip().splitlines()[0].rpartition(",")
                info["name"], info["driver"] = name.strip() or None, driver.strip() or None
        except Exception:
            pass
    return info


def _affinity() -> int | None:
    """The number of CPUs in this process's affinity mask (None where the OS has none)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity mask, else the logical cores."""
    return _affinity() or os.cpu_count() or 1


@functools.lru_cache(maxsize=1)
def _static_record() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "hostname": platform.node(),
        "cpu_model": cpu_model(),
        "cpu_id": cpu_id(),
        "cpu_count": os.cpu_count(),
        "affinity": _affinity(),
        "memory_gb": round(_mem_total() / 2**30, 1) if _mem_total() else None,
        "packages": package_versions(),
        "git": git_commit(),
    }


def _mem_total() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def record(*, gpu: bool = False) -> dict[str, Any]:
    """The environment record stored with every result."""
    rec = dict(_static_record())
    rec["threads"] = thread_info()
    rec["env"] = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "CI")
                  if k in os.environ}
    rec["time"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    if gpu:
        rec["gpu"] = gpu_info()
    return rec


def machine_key(rec: dict[str, Any]) -> tuple:
    """The hardware a record was taken on: CPU model and identification, logical cores, cores
    usable, memory, architecture.

    Timings are compared only between rows whose records share this key
    (:func:`bench_core.report.tables.add_machines`): identical nodes of a cluster
    count as one machine, anything else as another (a record without the CPU's
    identification, from before it was kept, differs from one with it). Software
    versions are not part of it (they are listed with each report).
    """
    return (rec.get("cpu_model"), rec.get("cpu_id"), rec.get("cpu_count"), rec.get("affinity"),
            rec.get("memory_gb"), rec.get("machine"))


def machine_label(rec: dict[str, Any], hosts: list[str] | None = None) -> str:
    """``"AMD EPYC (family 26 model 2 stepping 1), 2 cores, 23.5 GB (host vm)"``: the machine
    of a record, for table titles."""
    hosts = sorted(set(hosts or [rec.get("hostname") or "?"]))
    cores = rec.get("cpu_count")
    usable = rec.get("affinity")
    core_txt = f"{cores} cores" + (f" ({usable} usable)" if usable and usable != cores else "")
    shown = ", ".join(hosts[:3]) + (f" and {len(hosts) - 3} more" if len(hosts) > 3 else "")
    return (f"{cpu_name(rec)}, {core_txt}, {rec.get('memory_gb')} GB "
            f"(host{'s' if len(hosts) > 1 else ''} {shown})")


def summary_line(rec: dict[str, Any] | None = None) -> str:
    """One line naming machine and versions, for table captions."""
    rec = rec or record()
    p = rec["packages"]
    commit = (rec["git"].get("commit") or "unknown")[:10]
    gpu = rec.get("gpu") or {}
    named = (f", GPU {gpu['name']} (driver {gpu.get('driver')}, torch {gpu.get('torch')}, CUDA {gpu.get('cuda')})"
             if gpu.get("available") and gpu.get("name") else "")
    return (f"{cpu_name(rec)}, {rec['cpu_count']} cores{named}, Python {rec['python']}, numpy {p.get('numpy')}, "
            f"kmedoids {p.get('kmedoids')}, scikit-learn {p.get('scikit-learn')}, kmbench {commit}")
