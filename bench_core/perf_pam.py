"""Side-by-side timings of the reference PAM family against ``kmedoids`` (one process, one thread).

    python -m bench_core.perf_pam [--n 10000] [--repeats 3] [--quick]

MNIST test set, euclidean, float64 (PAM SWAP and FastPAM1 on the first --n-pam points). Each row runs ours and ``kmedoids`` (``n_cpu=1``)
from the same initial medoids, alternately, ``--repeats`` times, and prints the
medians, their ratio (ours / kmedoids) and whether the medoids match. The last
rows give the memory-bandwidth floor: one streaming pass over the n x n matrix
(NumPy sum), next to FasterPAM's time per pass (time / n_iter).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from .algorithms import pam as P
from .datasets import load_mnist
from .dissimilarity import dissimilarity


def _time(f, repeats):
    out, ts = None, []
    for _ in range(repeats):
        t = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), out


def main(argv=None) -> int:
    import kmedoids

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--n-pam", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="skip PAM SWAP and kmedoids' slow BUILD")
    args = ap.parse_args(argv)

    with threadpool_limits(1):
        X, _ = load_mnist(args.n)
        D = dissimilarity(X, "euclidean", np.float64)
        Dp = np.ascontiguousarray(D[: args.n_pam, : args.n_pam])
    rows = []

    def row(name, n, k, ours, theirs, repeats=args.repeats):
        to, ro = _time(ours, repeats)
        tt, rt = _time(theirs, repeats)
        same = np.array_equal(np.asarray(ro.medoids, np.int64), np.asarray(rt.medoids, np.int64))
        if not same and abs(ro.loss - rt.loss) <= 1e-12 * rt.loss:
            same = "same loss"  # kmedoids took a swap whose gain is rounding noise
        rows.append((name, n, k, to, tt, to / tt, same, ro.n_iter))
        print(f"  {name} n={n} k={k}: ours {to:.3f}s kmedoids {tt:.3f}s ratio {to / tt:.2f} "
              f"same={same}", flush=True)
        return to, ro

    n = args.n
    for k in (10, 100):
        start = np.random.default_rng(k).choice(n, k, replace=False)
        row("fasterpam", n, k, lambda s=start: P.fasterpam(D, s),
            lambda s=start: kmedoids.fasterpam(D, s.copy(), 100, n_cpu=1))
        row("alternating", n, k, lambda s=start: P.alternating(D, s),
            lambda s=start: kmedoids.alternating(D, s.copy(), 100))
    for k in (10, 100):
        start = np.random.default_rng(k).choice(args.n_pam, k, replace=False)
        row("fastpam1", args.n_pam, k, lambda s=start: P.fastpam1(Dp, s),
            lambda s=start: kmedoids.fastpam1(Dp, s.copy(), 100))
    if args.quick:
        row("build", n, 10, lambda: P.build(D, 10), lambda: kmedoids.pam_build(D, 10), repeats=1)
    else:
        row("build", n, 100, lambda: P.build(D, 100), lambda: kmedoids.pam_build(D, 100), repeats=1)
        for k in (10, 100):
            start = P.build(Dp, k).medoids
            row("pam (swap)", args.n_pam, k, lambda s=start: P.pam(Dp, s),
                lambda s=start: kmedoids.pam(Dp, s.copy(), 100), repeats=1)

    floor, _ = _time(lambda: D.sum(), max(args.repeats, 3))
    print()
    print("| algorithm | n | k | ours (s) | kmedoids (s) | ratio | same medoids |")
    print("|---|---:|---:|---:|---:|---:|:---:|")
    for name, n_, k, to, tt, ratio, same, _ in rows:
        print(f"| {name} | {n_} | {k} | {to:.3f} | {tt:.3f} | {ratio:.2f} | {same if isinstance(same, str) else 'yes' if same else 'NO'} |")
    print()
    print(f"Streaming read of the {n} x {n} float64 matrix (numpy sum): {floor * 1000:.1f} ms")
    for name, _, k, to, _, _, _, iters in rows:
        if name == "fasterpam":
            print(f"FasterPAM k={k}: {iters} passes, {to / iters * 1000:.1f} ms per pass "
                  f"= {to / iters / floor:.1f}x the streaming read")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
