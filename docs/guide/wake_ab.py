"""What a short kernel pays to start its threads after serial work, and the medoid
silhouette's fused check (MNIST-sized random matrix, n = 10,000, k = 10, float64).

Run: ``PYTHONPATH=. python docs/guide/wake_ab.py [--repeat 15]``; prefix it with
``OMP_WAIT_POLICY=passive`` or ``GOMP_SPINCOUNT=1000`` to see libgomp's other
waiting modes (they are read once, when the process starts).

1. An empty parallel region (``scan_matrix`` of a 128 x 8 matrix) after the program
   slept for 0 to 100 ms: on one thread the call's own cost, on two the time to
   wake the second thread as well.
2. The medoid silhouette after the same pauses, 1 and 2 threads.
3. The medoid silhouette's kernel with its input check in its own pass (one parallel
   region) against a separate ``scan_rows`` of the k medoid rows followed by the
   kernel (two regions, two reads), interleaved, fresh random medoids each time.

Medians (10th and 90th percentiles beside them) in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from bench_core.algorithms._scan import scan_matrix, scan_rows
from bench_core.algorithms._silhouette import medoid_silhouette_sum

from bench_core.algorithms.silhouette import medoid_silhouette


def _pct(times: list[float]) -> str:
    p10, p50, p90 = np.percentile(times, [10, 50, 90]) * 1e3
    return f"{p50:6.3f} ({p10:.3f}-{p90:.3f})"


def _after_pause(call, pause: float, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        time.sleep(pause)
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    policy = {v: os.environ[v] for v in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT") if v in os.environ}
    print(f"libgomp waiting: {policy or 'default'}")
    rng = np.random.default_rng(0)
    n, k = 10_000, 10
    D = rng.random((n, n))
    med = np.sort(rng.choice(n, k, replace=False)).astype(np.int64)
    tiny = np.zeros((128, 8))
    scan_matrix(tiny, 2)  # the pool exists before the first measurement
    print("pause ms | empty region 1T | empty region 2T | medoid silhouette 1T | 2T")
    for pause in (0.0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1):
        cells = [_pct(_after_pause(lambda nt=nt: scan_matrix(tiny, nt), pause, args.repeat))
                 for nt in (1, 2)]
        cells += [_pct(_after_pause(lambda nt=nt: medoid_silhouette(D, med, n_threads=nt), pause,
                                    args.repeat)) for nt in (1, 2)]
        print(f"{pause * 1e3:8.0f} | " + " | ".join(cells))

    out = np.empty(0)
    print("\nmedoid silhouette kernel, fresh medoids each call: fused check | scan_rows + kernel")
    for nt in (1, 2):
        fused: list[float] = []
        apart: list[float] = []
        for rep in range(20 * args.repeat):
            m = rng.choice(n, k, replace=False).astype(np.int64)
            for separate in ((False, True) if rep % 2 else (True, False)):
                t0 = time.perf_counter()
                if separate:
                    scan_rows(D, m, nt)
                total, flags = medoid_silhouette_sum(D, m, out, nt)
                (apart if separate else fused).append(time.perf_counter() - t0)
                assert flags == 0
        print(f"{nt} thread(s): {_pct(fused)} | {_pct(apart)}  "
              f"(x{np.median(apart) / np.median(fused):.2f})")


if __name__ == "__main__":
    main()
