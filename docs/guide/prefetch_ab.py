"""The row streams with and without software prefetch (interleaved in one process;
MNIST test set, float64): FastPAM1 and BUILD at n = 5,000, k = 100 on 1 and 2 threads,
FasterPAM at n = 10,000, k = 10 and 100, each beside one streaming read of its matrix.

Run: ``PYTHONPATH=. python docs/guide/prefetch_ab.py [--repeat 7] [--ahead 64,256]``
(each distance against off, the settings in rotated order each round).
FastPAM1's iteration is the call with six iterations less the call with one, over five.
Medians are printed, and each configuration is checked to give the same result with
and without the prefetch (it only moves loads earlier).

``--sweep``: the threshold instead. One thread, MNIST slices of n = 300 to 4,000,
FasterPAM (k = 10), FastPAM1 (k = 50, three iterations) and BUILD (k = 50) without the
prefetch, with the defaults (only over 16 MiB) and forced at every size.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from bench_core.algorithms._scan import scan_matrix
from threadpoolctl import threadpool_limits

from bench_core.algorithms import _build, _fasterpam, _fastpam1, pam
from bench_core.datasets import get_dataset
from bench_core.dissimilarity import dissimilarity


def _set(ahead: int | None) -> None:
    """Prefetch ``ahead`` entries on these matrices (all over the threshold); None: the
    defaults."""
    for module in (_build, _fasterpam, _fastpam1):
        if ahead is None:
            module._set_prefetch()
        else:
            module._set_prefetch(ahead)


def _key(res) -> tuple:
    return (res.loss, res.medoids.tobytes(), np.asarray(res.labels).tobytes(), res.n_iter, res.n_swap)


def sweep(repeat: int, ahead: int) -> None:
    """Off, the defaults and forced, at sizes below and above the threshold."""
    X = get_dataset("mnist", 4000).X
    D4 = dissimilarity(X, "euclidean", np.float64)
    settings = {"off": lambda: _set(0), "default": lambda: _set(None), "forced": lambda: _force(ahead)}
    print(f"one thread, medians of {repeat} or more (ms): off | default | forced (speed-up over off)")
    with threadpool_limits(limits=1):
        for n in (300, 500, 1000, 1500, 2000, 3000, 4000):
            D = np.ascontiguousarray(D4[:n, :n])
            rng = np.random.default_rng(1)
            s10, s50 = np.sort(rng.choice(n, 10, replace=False)), np.sort(rng.choice(n, 50, replace=False))
            calls = {"fasterpam k=10": lambda D=D, s=s10: pam.fasterpam(D, s),
                     "fastpam1 k=50": lambda D=D, s=s50: pam.fastpam1(D, s, max_iter=3),
                     "build k=50": lambda D=D: pam.build(D, 50)}
            times: dict = {}
            keys: dict = {}
            for _ in range(max(repeat, int(1e7 / n / n))):
                for setting, apply in settings.items():
                    apply()
                    for name, f in calls.items():
                        t = time.perf_counter()
                        out = f()
                        times.setdefault((setting, name), []).append(time.perf_counter() - t)
                        keys.setdefault(name, set()).add(_key(out))
            _set(None)
            m = {key: statistics.median(v) * 1e3 for key, v in times.items()}
            cols = " | ".join(
                f"{name} {m['off', name]:.2f} | {m['default', name]:.2f} ({m['off', name] / m['default', name]:.2f}x)"
                f" | {m['forced', name]:.2f} ({m['off', name] / m['forced', name]:.2f}x)" for name in calls)
            same = all(len(v) == 1 for v in keys.values())
            print(f"n={n} ({D.nbytes / 2**20:.0f} MiB): {cols}; same results: {same}", flush=True)


def _force(ahead: int) -> None:
    for module in (_build, _fasterpam, _fastpam1):
        module._set_prefetch(ahead, 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--ahead", type=lambda v: [int(x) for x in v.split(",")], default=[256],
                    help="prefetch distances in entries, comma-separated (each against off)")
    ap.add_argument("--sweep", action="store_true", help="the threshold: n = 300 to 4,000")
    a = ap.parse_args()
    if a.sweep:
        sweep(a.repeat, a.ahead[0])
        return
    D10 = dissimilarity(get_dataset("mnist", 10000).X, "euclidean", np.float64)
    D5 = np.ascontiguousarray(D10[:5000, :5000])
    rng = np.random.default_rng(0)
    s5 = np.sort(rng.choice(5000, 100, replace=False))
    s10 = {k: np.sort(rng.choice(10000, k, replace=False)) for k in (10, 100)}
    calls = {("fastpam1", nt, it): (lambda nt=nt, it=it: pam.fastpam1(D5, s5, max_iter=it, n_threads=nt))
             for nt in (1, 2) for it in (1, 6)}
    calls |= {("build", nt): (lambda nt=nt: pam.build(D5, 100, n_threads=nt)) for nt in (1, 2)}
    calls |= {("fasterpam", k): (lambda k=k: pam.fasterpam(D10, s10[k])) for k in (10, 100)}
    reads = {("read", name, nt): (lambda D=D, nt=nt: scan_matrix(D, nt))
             for name, D in (("5000", D5), ("10000", D10)) for nt in (1, 2)}
    aheads = [0, *a.ahead]
    times: dict = {}
    keys: dict = {}
    with threadpool_limits(limits=1):
        for rep in range(a.repeat):
            for ahead in aheads[rep % len(aheads):] + aheads[:rep % len(aheads)]:  # rotated
                _set(ahead)
                for name, f in calls.items():
                    t = time.perf_counter()
                    out = f()
                    times.setdefault((ahead, name), []).append(time.perf_counter() - t)
                    keys.setdefault(name, set()).add(_key(out))
            for name, f in reads.items():
                t = time.perf_counter()
                f()
                times.setdefault(name, []).append(time.perf_counter() - t)
    _set(None)
    m = {key: statistics.median(v) * 1e3 for key, v in times.items()}
    same = all(len(v) == 1 for v in keys.values())
    print(f"medians of {a.repeat} (ms), prefetch off | " + " | ".join(f"{x} entries ahead" for x in a.ahead)
          + f" (speed-up over off); same results with and without: {same}")

    def row(values: dict) -> str:
        return f"{values[0]:6.2f} | " + " | ".join(f"{values[x]:6.2f} ({values[0] / values[x]:.2f}x)"
                                                   for x in a.ahead)

    it = {nt: {x: (m[x, ("fastpam1", nt, 6)] - m[x, ("fastpam1", nt, 1)]) / 5 for x in aheads} for nt in (1, 2)}
    for nt in (1, 2):
        print(f"{nt} thread(s): read n=5000 {m['read', '5000', nt]:6.2f} | FastPAM1 iteration "
              f"{row(it[nt])} | BUILD {row({x: m[x, ('build', nt)] for x in aheads})}")
    for x in aheads:
        print(f"2 vs 1, prefetch {x}: FastPAM1 iteration {it[1][x] / it[2][x]:.2f}x, BUILD "
              f"{m[x, ('build', 1)] / m[x, ('build', 2)]:.2f}x; read "
              f"{m['read', '5000', 1] / m['read', '5000', 2]:.2f}x")
    r = m["read", "10000", 1]
    for k in (10, 100):
        res = pam.fasterpam(D10, s10[k])
        per = {x: m[x, ("fasterpam", k)] / res.n_iter / r for x in aheads}
        print(f"FasterPAM n=10000 k={k} ({res.n_iter} passes), reads per pass (one read {r:.1f} ms): "
              f"{row(per)}")

if __name__ == "__main__":
    main()
