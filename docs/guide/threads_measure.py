"""Measure the threaded reference kernels: 2 threads vs 1, against kmedoids, and FasterPAM
and the input check against one streaming read of the matrix (MNIST test set, float64).

Run: ``PYTHONPATH=. python docs/guide/threads_measure.py [--repeat 5] [--quick]``.
Each configuration is timed ``--repeat`` times, the 1- and 2-thread (and kmedoids) runs
interleaved so that the noise of a shared machine falls on all of them alike; medians are
printed, and every threaded result is checked to be identical to the 1-thread one.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from bench_core.algorithms._fasterpam import compaction_level, fasterpam_kernel
from bench_core.algorithms._scan import scan_matrix
from threadpoolctl import threadpool_limits

from bench_core.algorithms import msc, pam, silhouette
from bench_core.datasets import get_dataset
from bench_core.dissimilarity import dissimilarity
from bench_core.environment import record, summary_line
from bench_core.input_checks import check_diss


def _time(f, cpu=None):
    """Wall time of f() (and, into the list ``cpu``, the CPU time of this process)."""
    c = time.process_time()
    t = time.perf_counter()
    out = f()
    t = time.perf_counter() - t
    if cpu is not None:
        cpu.append(time.process_time() - c)
    return t, out


def _key(res):
    if isinstance(res, float):
        return res
    return (res.loss, res.medoids.tobytes(), np.asarray(res.labels).tobytes(), res.n_iter, res.n_swap)


def compare(name, calls, repeat):
    """calls: {label: zero-argument callable}; the first is the 1-thread reference."""
    times = {label: [] for label in calls}
    cpus = {label: [] for label in calls}
    keys = {}
    for _ in range(repeat):
        for label, f in calls.items():
            t, out = _time(f, cpus[label])
            times[label].append(t)
            if label.startswith("ours"):
                keys[label] = _key(out)
    med = {label: statistics.median(v) for label, v in times.items()}
    base = med["ours 1"]
    same = all(k == keys["ours 1"] for k in keys.values())
    cols = "  ".join(f"{label} {m * 1e3:8.2f}ms ({m / base:4.2f}x)" for label, m in med.items())
    ratio = base / med["ours 2"] if "ours 2" in med else float("nan")
    cpu = statistics.median(cpus["ours 2"]) / statistics.median(cpus["ours 1"])
    print(f"{name:38s} {cols}  speed-up 2 vs 1: {ratio:4.2f}x (CPU time 2/1: {cpu:4.2f})  "
          f"identical: {same}", flush=True)
    return med


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="smaller n (a smoke run)")
    ap.add_argument("--only", choices=("threads", "reads"),
                    help="only the 2-vs-1 kernels, or only the reads (ceiling, FasterPAM, check)")
    a = ap.parse_args()
    print(summary_line(record()), flush=True)
    q = 4 if a.quick else 1
    try:
        import kmedoids
    except ImportError:  # pragma: no cover
        kmedoids = None
    X = get_dataset("mnist", 10000 // q).X
    D10 = dissimilarity(X, "euclidean", np.float64)
    rng = np.random.default_rng(0)  # the starts, drawn in this order whatever --only says
    n2, n5 = 2000 // q, 5000 // q
    starts = {"pam": np.sort(rng.choice(n2, 20, replace=False)),
              "fastpam1": np.sort(rng.choice(n5, 100, replace=False)),
              "fastmsc": np.sort(rng.choice(n5, 10, replace=False)),
              "fasterpam10": np.sort(rng.choice(len(D10), 10, replace=False)),
              "fasterpam100": np.sort(rng.choice(len(D10), 100, replace=False))}
    with threadpool_limits(limits=1):
        if a.only != "reads":
            threads(D10, starts, q, kmedoids, a.repeat)
        if a.only != "threads":
            reads_per_pass(D10, starts, a.repeat)


def threads(D10, starts, q, kmedoids, repeat):
    """2 threads against 1 (and kmedoids) for the threaded kernels."""
    # PAM SWAP n = 2000, k = 20: two iterations from a fixed random start
    D = np.ascontiguousarray(D10[:2000 // q, :2000 // q])
    start = starts["pam"]
    calls = {f"ours {t}": (lambda t=t: pam.pam(D, start, max_iter=2, n_threads=t)) for t in (1, 2)}
    if kmedoids:
        calls["kmedoids"] = lambda: kmedoids.pam(D, start, max_iter=2)  # no n_cpu in 0.5
    compare(f"PAM SWAP n={len(D)} k=20 (2 iter)", calls, repeat)

    D = np.ascontiguousarray(D10[:5000 // q, :5000 // q])
    start = starts["fastpam1"]
    calls = {f"ours {t}": (lambda t=t: pam.fastpam1(D, start, max_iter=2, n_threads=t)) for t in (1, 2)}
    if kmedoids:
        calls["kmedoids"] = lambda: kmedoids.fastpam1(D, start, max_iter=2)
    compare(f"FastPAM1 n={len(D)} k=100 (2 iter)", calls, repeat)
    calls = {f"ours {t}": (lambda t=t: pam.build(D, 100, n_threads=t)) for t in (1, 2)}
    compare(f"BUILD n={len(D)} k=100", calls, repeat)

    labels = pam.fasterpam(D10, 10, random_state=0).labels
    med = pam.fasterpam(D10, 10, random_state=0).medoids
    calls = {f"ours {t}": (lambda t=t: silhouette.silhouette(D10, labels, n_threads=t)) for t in (1, 2)}
    if kmedoids:  # kmedoids 0.5 takes n_cpu here and in fasterpam only
        lab = labels.astype(np.uintp)
        calls |= {f"kmedoids n_cpu={c}": (lambda c=c: float(kmedoids.silhouette(D10, lab, n_cpu=c)[0]))
                  for c in (1, 2)}
    compare(f"silhouette n={len(D10)} k=10", calls, repeat)
    calls = {f"ours {t}": (lambda t=t: silhouette.medoid_silhouette(D10, med, n_threads=t))
             for t in (1, 2)}
    if kmedoids:
        calls["kmedoids"] = lambda: float(kmedoids.medoid_silhouette(D10, med)[0])
    compare(f"medoid silhouette n={len(D10)} k=10", calls, repeat)

    D = np.ascontiguousarray(D10[:5000 // q, :5000 // q])
    start = starts["fastmsc"]
    calls = {f"ours {t}": (lambda t=t: msc.fastmsc(D, start, max_iter=2, n_threads=t)) for t in (1, 2)}
    compare(f"FastMSC n={len(D)} k=10 (2 iter)", calls, repeat)


class _Reads:
    """One streaming read of D, timed two ways beside the kernels: ``np.add.reduce`` and the
    input check's scan on one thread. The faster median is the read (which one is faster
    depends on the CPU: on Zen 4 they took the same time, on Zen 5 the sum is compute-bound
    at about half the scan's rate), so a slow reference cannot flatter a ratio."""

    def __init__(self, D):
        self.D, self.sums, self.scans = D, [], []

    def time(self):
        self.sums.append(_time(lambda: float(np.add.reduce(self.D, axis=None)))[0])
        self.scans.append(_time(lambda: scan_matrix(self.D, 1))[0])

    def one(self):
        return min(statistics.median(self.sums), statistics.median(self.scans))

    def __str__(self):
        return (f"np.add.reduce {statistics.median(self.sums):.4f}s, "
                f"scan {statistics.median(self.scans):.4f}s")


def reads_per_pass(D10, starts, repeat):
    """The memory ceiling, FasterPAM per pass and the input check, in streaming reads."""

    # the memory ceiling: one streaming read of the matrix on 1 and on 2 threads
    # (the input check's scan is exactly that read); kernels that stream the
    # matrix cannot gain more from a second thread than this ratio
    reads = {1: [], 2: []}
    for _ in range(repeat):
        for t in (1, 2):
            reads[t].append(_time(lambda t=t: scan_matrix(D10, t))[0])
    r1, r2 = statistics.median(reads[1]), statistics.median(reads[2])
    print(f"one streaming read n={len(D10)} ({D10.nbytes / 1e6:.0f} MB): 1 thread {r1:.4f}s "
          f"({D10.nbytes / r1 / 1e9:.1f} GB/s), 2 threads {r2:.4f}s ({D10.nbytes / r2 / 1e9:.1f} GB/s): "
          f"memory ceiling of a 2-thread speed-up {r1 / r2:.2f}x", flush=True)

    # FasterPAM per pass vs one streaming read of the same matrix, measured beside it:
    # the whole call per pass (its input check rides on the first pass: the listings
    # of that pass check the rows they read, see pam._start), and a pass that swaps
    # nothing (started from the converged medoids)
    for k in (10, 100):
        start = starts[f"fasterpam{k}"]
        reads, passes, still = _Reads(D10), [], []
        for _ in range(repeat):
            reads.time()
            t_fp, res = _time(lambda s=start: pam.fasterpam(D10, s))
            passes.append(t_fp)
            t_conv, conv = _time(lambda m=res.medoids: pam.fasterpam(D10, m))
            assert conv.n_swap == 0 and conv.n_iter == 1
            still.append(t_conv)
        r = reads.one()
        p = statistics.median(passes) / res.n_iter
        q = statistics.median(still)
        print(f"FasterPAM n={len(D10)} k={k}: {p:.3f}s per pass ({res.n_iter} passes, "
              f"{res.n_swap} swaps; the input check included), one read {r:.3f}s "
              f"({reads}): {p / r:.2f} reads per pass; a pass without swaps {q:.3f}s: "
              f"{q / r:.2f} reads", flush=True)

    # the input check: inside FasterPAM's first pass (that pass from the converged
    # medoids with and without checking its rows, interleaved), and the separate scan
    # that float32 and integer matrices, or a CPU without AVX2, still take
    conv = pam.fasterpam(D10, starts["fasterpam10"]).medoids
    order = np.arange(len(D10), dtype=np.int64)

    def one_pass(check):
        labels = np.empty(len(D10), dtype=np.intc)
        return fasterpam_kernel(D10, conv.copy(), order, 1, pam.TOL, labels, check_rows=check)

    reads, fused, plain, checks = _Reads(D10), [], [], []
    for _ in range(repeat):
        reads.time()
        fused.append(_time(lambda: one_pass(True))[0])
        plain.append(_time(lambda: one_pass(False))[0])
        checks.append(_time(lambda: check_diss(D10))[0])
    r, c = reads.one(), statistics.median(checks)
    f = statistics.median(fused) - statistics.median(plain)
    print(f"input check n={len(D10)}: in FasterPAM's first pass {f:.4f}s ({f / r:.2f} reads; "
          f"listings {compaction_level()}), as a separate scan {c:.3f}s ({c / r:.2f} reads); "
          f"one read {r:.3f}s", flush=True)


if __name__ == "__main__":
    main()
