"""Side-by-side timings of the medoid-silhouette and sampling reference implementations.

Run ``python -m bench_core.perf_msc`` (``--quick`` for smaller sizes). Every
comparison runs in one process, single-threaded (BLAS pinned to one thread),
from the same initial medoids; times are medians of ``--repeat`` runs, both
wall-clock and CPU (``time.process_time``, less disturbed by other load on a
shared machine). Prints Markdown tables.

1. FastMSC vs PAMMEDSIL on MNIST n = 2,000, k = 5, 10, 20 (same swaps).
2. FasterMSC vs ``kmedoids.fastermsc`` on MNIST n = 10,000, k = 10.
3. FasterCLARA vs full FasterPAM on MNIST n = 10,000, k = 10 and 100
   (FasterPAM's time includes computing the distance matrix).
4. FasterCLARA on 70,000 x 784 (the MNIST test set tiled 7 times with small
   noise), time and peak memory, in a fresh subprocess.
5. silhouette vs ``kmedoids.silhouette(n_cpu=1)`` on MNIST n = 10,000.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np


def _timed(fn, repeat: int):
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        cpus.append(time.process_time() - c)
        walls.append(time.perf_counter() - w)
    return out, statistics.median(walls), statistics.median(cpus)


def _mnist_diss(n: int):
    from .datasets import load_mnist
    from .dissimilarity import dissimilarity

    X, _ = load_mnist(n)
    return X, dissimilarity(X)


def fastmsc_vs_pammedsil(n: int, ks, repeat: int) -> list[dict]:
    from .algorithms.msc import fastmsc, pammedsil

    _, D = _mnist_diss(n)
    rows = []
    for k in ks:
        start = np.random.default_rng(k).choice(n, k, replace=False)
        a, wa, ca = _timed(lambda s=start: fastmsc(D, s), repeat)
        b, wb, cb = _timed(lambda s=start: pammedsil(D, s), 1)
        rows.append(dict(n=n, k=k, fastmsc_s=wa, pammedsil_s=wb, fastmsc_cpu=ca, pammedsil_cpu=cb,
                         speedup=cb / ca, same_medoids=a.medoids.tolist() == b.medoids.tolist(),
                         n_iter=a.n_iter))
    return rows


def fastermsc_vs_kmedoids(n: int, k: int, repeat: int) -> dict:
    import kmedoids

    from .algorithms.msc import fastermsc

    _, D = _mnist_diss(n)
    start = np.random.default_rng(0).choice(n, k, replace=False)
    a, wa, ca = _timed(lambda: fastermsc(D, start), repeat)
    b, wb, cb = _timed(lambda: kmedoids.fastermsc(D, start.astype(np.uintp)), repeat)
    return dict(n=n, k=k, ours_s=wa, kmedoids_s=wb, ours_cpu=ca, kmedoids_cpu=cb,
                ratio_cpu=ca / cb, ratio_wall=wa / wb,
                identical=a.medoids.tolist() == b.medoids.astype(np.int64).tolist()
                and a.extras["medoid_silhouette"] == b.loss)


def fasterclara_vs_fasterpam(n: int, ks, repeat: int) -> list[dict]:
    from .algorithms.pam import fasterpam
    from .algorithms.sampling import fasterclara
    from .datasets import load_mnist
    from .dissimilarity import dissimilarity

    X, _ = load_mnist(n)
    D, wd, cd = _timed(lambda: dissimilarity(X), 1)
    rows = []
    for k in ks:
        full, wf, cf = _timed(lambda k=k: fasterpam(D, k, random_state=0), repeat)
        runs = []
        for seed in range(repeat):
            r, w, c = _timed(lambda k=k, s=seed: fasterclara(X, k, random_state=s), 1)
            runs.append((r.loss, w, c, r.extras["distance_computations"]))
        loss = statistics.median(r[0] for r in runs)
        w = statistics.median(r[1] for r in runs)
        c = statistics.median(r[2] for r in runs)
        rows.append(dict(n=n, k=k, matrix_s=wd, fasterpam_s=wf, fasterclara_s=w,
                         loss_gap=loss / full.loss - 1, time_ratio_wall=w / (wd + wf),
                         time_ratio_cpu=c / (cd + cf), distances=runs[0][3],
                         distances_full=n * (n - 1) // 2))
    return rows


_BIG = """
import json, resource, time, numpy as np
from threadpoolctl import threadpool_limits
from bench_core.datasets import load_mnist
from bench_core.algorithms.sampling import fasterclara
X0, _ = load_mnist(10000, dtype=np.float32)
rng = np.random.default_rng(0)
X = np.concatenate([X0 + rng.normal(0, 1.0, X0.shape).astype(np.float32) for _ in range(7)])
del X0
with threadpool_limits(1):
    t = time.perf_counter()
    r = fasterclara(X, {k}, random_state=0)
    s = time.perf_counter() - t
print(json.dumps(dict(n=len(X), d=X.shape[1], k={k}, seconds=s, loss=r.loss,
                      distances=r.extras["distance_computations"],
                      peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""


def fasterclara_big(k: int) -> dict:
    out = subprocess.run([sys.executable, "-c", _BIG.format(k=k)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def silhouette_vs_kmedoids(n: int, ks, repeat: int) -> list[dict]:
    import kmedoids

    from .algorithms.silhouette import silhouette

    _, D = _mnist_diss(n)
    rows = []
    for k in ks:
        labels = kmedoids.fasterpam(D, k, random_state=0, n_cpu=1).labels.astype(np.int64)
        a, wa, ca = _timed(lambda y=labels: silhouette(D, y), repeat)
        b, wb, cb = _timed(lambda y=labels: kmedoids.silhouette(D, y, n_cpu=1)[0], repeat)
        rows.append(dict(n=n, k=k, ours_s=wa, kmedoids_s=wb, ratio_cpu=ca / cb, diff=abs(a - b)))
    return rows


def main(argv=None) -> int:
    from threadpoolctl import threadpool_limits

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller sizes (a smoke test)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json", help="also write the figures to this file")
    p.add_argument("--only", nargs="*", default=["msc", "fastermsc", "clara", "big", "silhouette"])
    a = p.parse_args(argv)
    n_small, n_big, ks = (500, 2000, (5, 10)) if a.quick else (2000, 10000, (5, 10, 20))
    res: dict = {}
    with threadpool_limits(1):
        if "msc" in a.only:
            res["fastmsc_vs_pammedsil"] = rows = fastmsc_vs_pammedsil(n_small, ks, a.repeat)
            print(f"\n### FastMSC vs PAMMEDSIL, MNIST n={n_small} (same start)\n")
            print("| k | FastMSC s | PAMMEDSIL s | speed-up (CPU) | same medoids |\n|---|---|---|---|---|")
            for r in rows:
                print(f"| {r['k']} | {r['fastmsc_s']:.3f} | {r['pammedsil_s']:.2f} | "
                      f"{r['speedup']:.1f}x | {r['same_medoids']} |")
        if "fastermsc" in a.only:
            r = res["fastermsc_vs_kmedoids"] = fastermsc_vs_kmedoids(n_big, 10, a.repeat)
            print(f"\n### FasterMSC vs kmedoids.fastermsc, MNIST n={n_big}, k=10 (same start)\n")
            print(f"ours {r['ours_s']:.2f} s (CPU {r['ours_cpu']:.2f}), kmedoids {r['kmedoids_s']:.2f} s "
                  f"(CPU {r['kmedoids_cpu']:.2f}): ratio {r['ratio_cpu']:.2f} (CPU), "
                  f"{r['ratio_wall']:.2f} (wall); identical: {r['identical']}")
        if "clara" in a.only:
            res["fasterclara_vs_fasterpam"] = rows = fasterclara_vs_fasterpam(
                n_big, (10, 100) if not a.quick else (10,), a.repeat)
            print(f"\n### FasterCLARA vs FasterPAM (+ distance matrix), MNIST n={n_big}\n")
            print("| k | matrix s | FasterPAM s | FasterCLARA s | loss gap | time ratio (CPU) | "
                  "distances |\n|---|---|---|---|---|---|---|")
            for r in rows:
                print(f"| {r['k']} | {r['matrix_s']:.2f} | {r['fasterpam_s']:.2f} | "
                      f"{r['fasterclara_s']:.3f} | {r['loss_gap']:+.2%} | {r['time_ratio_cpu']:.3f} | "
                      f"{r['distances']:.3g} of {r['distances_full']:.3g} |")
        if "big" in a.only and not a.quick:
            r = res["fasterclara_70000"] = fasterclara_big(10)
            print(f"\n### FasterCLARA on {r['n']} x {r['d']} (MNIST x7 + noise), k=10\n")
            print(f"{r['seconds']:.1f} s, peak RSS {r['peak_rss_mib']:.0f} MiB, "
                  f"{r['distances']:.3g} distances")
        if "silhouette" in a.only:
            res["silhouette"] = rows = silhouette_vs_kmedoids(n_big, (10, 100), a.repeat)
            print(f"\n### silhouette vs kmedoids.silhouette(n_cpu=1), MNIST n={n_big}\n")
            print("| k | ours s | kmedoids s | ratio (CPU) | difference |\n|---|---|---|---|---|")
            for r in rows:
                print(f"| {r['k']} | {r['ours_s']:.3f} | {r['kmedoids_s']:.3f} | "
                      f"{r['ratio_cpu']:.2f} | {r['diff']:.1e} |")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, indent=1, default=float)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

