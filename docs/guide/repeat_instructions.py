"""N runs of the instruction profile's reference implementations on one commit: do the counts repeat?

Usage (from the repository root, extensions built)::

    KMBENCH_ASV_PROFILE=quick PYTHONPATH=. python docs/guide/repeat_instructions.py [RUNS] [CLASS ...]

Each run counts every reference implementation of the given suite classes of
``suites/bench_instructions.py`` (default ``PAMInstructions``) in a fresh Valgrind
process, exactly as the class's ``setup_cache`` does; the last lines give, per
combination, the smallest count and the relative spread over the runs.
"""

from __future__ import annotations

import os
import sys
import time

import suites.bench_instructions as bi


def main(argv: list[str]) -> int:
    runs = int(argv[0]) if argv else 10
    classes = [getattr(bi, c) for c in (argv[1:] or ["PAMInstructions"])]
    seen: dict[tuple, list] = {}
    t0, c0 = time.time(), os.times()
    for i in range(runs):
        for cls in classes:
            names = [n for n in cls.params[0] if bi.is_reference(n)]
            problem = {a: bi.PROFILE[cls.family][a] for a in cls.axes}
            for key, c in bi.count_family(cls.template, names, problem)["counts"].items():
                seen.setdefault((cls.__name__, *key), []).append(c["instructions"] if isinstance(c, dict) else c)
        c1 = os.times()
        cpu = c1.children_user + c1.children_system - c0.children_user - c0.children_system
        print(f"run {i + 1}: {time.time() - t0:.0f} s wall, {cpu:.0f} s CPU of valgrind", flush=True)
    worst = 0.0
    for key, v in sorted(seen.items()):
        spread = (max(v) - min(v)) / min(v)
        worst = max(worst, spread)
        print(f"{'/'.join(map(str, key)):50s} {min(v):>14,} {'identical' if spread == 0 else f'spread {spread:.2e}'}")
    print(f"{len(seen)} combinations, {runs} runs each; largest relative spread {worst:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
