"""Wall and CPU time of one instruction profile (all six families), as asv's ``setup_cache`` runs it.

Usage (from the repository root, extensions built)::

    KMBENCH_ASV_PROFILE=quick PYTHONPATH=. python docs/guide/instruction_cost.py
"""

from __future__ import annotations

import os
import time

import suites.bench_instructions as bi

FAMILIES = ("PAMInstructions", "MSCInstructions", "SilhouetteInstructions", "SamplingInstructions",
            "KMeansInstructions", "KMedianInstructions")


def _cpu() -> float:
    t = os.times()
    return t.children_user + t.children_system


def main() -> None:
    t0, c0, n = time.time(), _cpu(), 0
    for name in FAMILIES:
        t1, c1 = time.time(), _cpu()
        counted = len(getattr(bi, name)().setup_cache().get("counts", {}))
        n += counted
        print(f"{name:24s} {counted:3d} counted  {time.time() - t1:6.0f} s wall  {_cpu() - c1:6.0f} s CPU (valgrind)",
              flush=True)
    print(f"total {n} counted, {time.time() - t0:.0f} s wall, {_cpu() - c0:.0f} s CPU of valgrind")


if __name__ == "__main__":
    main()
