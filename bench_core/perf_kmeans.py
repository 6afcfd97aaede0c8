"""Side-by-side timings of the reference k-means and k-median against their peers.

One process, one thread (BLAS and OpenMP pinned with threadpoolctl), the same initial
centres for both sides, runs alternated and the median kept. Times are CPU seconds of
the process (``time.process_time``): with one thread each that is the running time,
unaffected by other processes sharing the machine.

* k-means vs scikit-learn ``KMeans(algorithm="lloyd", n_init=1, init=centres)`` on the
  first n MNIST images, k = 10 and 100, a fixed number of iterations (``tol=0``,
  ``max_iter``); goal: ours <= 1.5x scikit-learn's time.
* k-median vs pyclustering ``kmedians`` (C++ core, Manhattan metric, ``tolerance=0``,
  ``itermax``) on 1,000 MNIST images, k = 10, the same number of iterations; goal: ours
  >= 100x faster. pyclustering's C++ core takes the "median" of each coordinate from
  the points sorted *lexicographically* (pyclustering issue #708), so its centres and
  loss differ from the coordinate-wise median; the loss of both is printed.

``python -m bench_core.perf_kmeans`` prints Markdown tables.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from .algorithms.kmeans import kmeans
from .algorithms.kmedian import kmedian
from .datasets import load_mnist


def _timed(fn):
    """(CPU seconds of this process, result). Both sides run single-threaded, so CPU time
    is their running time without the share other processes on a loaded machine take;
    the wall time is kept in ``_timed.wall``."""
    w, t = time.perf_counter(), time.process_time()
    out = fn()
    _timed.wall.append(time.perf_counter() - w)
    return time.process_time() - t, out


_timed.wall = []


def kmeans_rows(n: int = 10_000, ks=(10, 100), max_iter: int = 20, repeats: int = 5,
                seed: int = 0) -> list[dict]:
    from sklearn.cluster import KMeans

    X, _ = load_mnist(n)
    rows = []
    for k in ks:
        C0 = X[np.random.default_rng(seed + k).choice(n, k, replace=False)]
        ours_t, ref_t = [], []
        for _ in range(repeats):  # alternate, so drifts in machine load hit both sides
            t, ours = _timed(lambda: kmeans(X, k, init=C0, max_iter=max_iter, tol=0.0))  # noqa: B023
            ours_t.append(t)
            t, ref = _timed(lambda: KMeans(k, init=C0, n_init=1, algorithm="lloyd", tol=0.0,  # noqa: B023
                                           max_iter=max_iter).fit(X))
            ref_t.append(t)
        a, b = statistics.median(ours_t), statistics.median(ref_t)
        rows.append({"n": n, "k": k, "iters": f"{ours.n_iter} / {ref.n_iter_}", "ours": a, "peer": b,
                     "ratio": a / b, "same_labels": bool(np.array_equal(ours.labels, ref.labels_)),
                     "rel_loss": abs(ours.loss - ref.inertia_) / ref.inertia_})
    return rows


def kmedian_rows(n: int = 1000, k: int = 10, iters: int = 10, repeats: int = 5,
                 peer_repeats: int = 1, seed: int = 0) -> list[dict]:
    """Two rows: both sides run ``iters`` iterations; then both run to their own stopping
    rule with default settings (ours: labels stable; pyclustering: tolerance 0.001)."""
    from pyclustering.cluster.kmedians import kmedians
    from pyclustering.utils.metric import distance_metric, type_metric

    X, _ = load_mnist(n)
    C0 = X[np.random.default_rng(seed + k).choice(n, k, replace=False)]
    data, start = X.tolist(), C0.tolist()
    rows = []
    for fixed in (True, False):
        kw = {"max_iter": iters} if fixed else {}
        pkw = {"tolerance": 0.0, "itermax": iters} if fixed else {}
        ours_t = []
        for _ in range(repeats):
            t, ours = _timed(lambda: kmedian(X, k, init=C0, **kw))  # noqa: B023
            ours_t.append(t)
        peer_t = []
        for _ in range(peer_repeats):
            def run_peer():
                km = kmedians(data, start, ccore=True, metric=distance_metric(type_metric.MANHATTAN),
                              **pkw)  # noqa: B023
                km.process()
                return km
            t, km = _timed(run_peer)
            peer_t.append(t)
        med = np.asarray(km.get_medians())
        lab = np.empty(n, dtype=np.int64)
        for j, members in enumerate(km.get_clusters()):
            lab[members] = j
        a, b = statistics.median(ours_t), statistics.median(peer_t)
        rows.append({"n": n, "k": k, "iters": f"{ours.n_iter} / {iters}" if fixed else f"{ours.n_iter} / default",
                     "ours": a, "peer": b, "speedup": b / a, "loss_ours": ours.loss,
                     "loss_peer": float(np.abs(X - med[lab]).sum())})
    return rows


def markdown_kmeans(rows: list[dict]) -> str:
    out = ["| n | k | iterations (ours / sklearn) | ours (CPU s) | scikit-learn (CPU s) | ratio "
           "| same labels "
           "| rel. inertia diff |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['n']:,} | {r['k']} | {r['iters']} | {r['ours']:.3f} | {r['peer']:.3f} "
                   f"| {r['ratio']:.2f}x | {r['same_labels']} | {r['rel_loss']:.1e} |")
    return "\n".join(out)


def markdown_kmedian(rows: list[dict]) -> str:
    out = ["| n | k | iterations (ours / pyclustering) | ours (CPU s) | pyclustering (CPU s) | speed-up "
           "| L1 loss ours | L1 loss pyclustering |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['n']:,} | {r['k']} | {r['iters']} | {r['ours']:.4f} | {r['peer']:.2f} "
                   f"| {r['speedup']:.0f}x | {r['loss_ours']:.6g} | {r['loss_peer']:.6g} |")
    return "\n".join(out)


def main(argv=None) -> int:  # pragma: no cover - a benchmark script
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=10_000, help="MNIST rows for k-means")
    p.add_argument("--max-iter", type=int, default=20)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--kmedian-n", type=int, default=1000)
    p.add_argument("--kmedian-iters", type=int, default=10)
    p.add_argument("--skip-kmedian", action="store_true")
    args = p.parse_args(argv)
    from .environment import summary_line

    with threadpool_limits(limits=1):
        print(f"Single thread. {summary_line()}\n")
        print(markdown_kmeans(kmeans_rows(args.n, max_iter=args.max_iter, repeats=args.repeats)))
        if not args.skip_kmedian:
            print()
            print(markdown_kmedian(kmedian_rows(args.kmedian_n, iters=args.kmedian_iters,
                                                repeats=args.repeats)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
