"""Benchmark of the PyTorch backend on a GPU against the CPU implementations, in one run.

    python -m bench_core.perf_gpu --out results/gpu            # full run (needs CUDA)
    python -m bench_core.perf_gpu --quick --device cpu --out /tmp/x   # smoke test

GPU timings: the matrix already on the device, one warm-up run, then the median
of ``--repeats`` runs, each between two ``torch.cuda.synchronize()``. CPU
oracles (``kmedoids`` 0.5.5 and the reference Cython kernels) run in worker
processes on the same matrices (copied from the device), one thread each,
while the GPU is timed. Written: ``<out>/perf_gpu.json`` (everything, with the
environment record and GPU name) and ``<out>/perf_gpu.md`` (the tables for the
README), rewritten after every section so that a run cut short keeps what it
measured.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

# --------------------------------------------------------------------------- CPU jobs (workers)


def _cpu_job(kind: str, path: str, k: int, start: list[int] | None) -> dict[str, Any]:
    """One CPU computation on a saved matrix; runs in a worker process."""
    D = np.load(path, mmap_mode="r")
    D = np.ascontiguousarray(D)   # kmedoids wants an in-memory array
    out: dict[str, Any] = {"kind": kind, "k": k}
    t0 = time.perf_counter()
    if kind == "kmedoids-pam":          # BUILD, then FastPAM1 (= the swaps of kmedoids.pam)
        import kmedoids
        b = kmedoids.pam_build(D, k)
        out["build_s"] = time.perf_counter() - t0
        out["build_medoids"] = [int(m) for m in b.medoids]
        r = kmedoids.fastpam1(D, np.asarray(b.medoids, dtype=np.uint64), 100)
    elif kind == "reference-pam":       # reference BUILD, then reference FastPAM1
        from bench_core.algorithms.pam import build, fastpam1
        b = build(D, k)
        out["build_s"] = time.perf_counter() - t0
        out["build_medoids"] = [int(m) for m in b.medoids]
        r = fastpam1(D, b.medoids)
    elif kind == "kmedoids-fasterpam":
        import kmedoids
        r = kmedoids.fasterpam(D, np.asarray(start, dtype=np.uint64), 100, n_cpu=1)
    else:
        raise ValueError(kind)
    out["seconds"] = time.perf_counter() - t0
    out.update(medoids=[int(m) for m in r.medoids], loss=float(r.loss),
               n_iter=int(r.n_iter), n_swap=int(getattr(r, "n_swap", 0) or 0))
    return out


# --------------------------------------------------------------------------- helpers


class Report:
    def __init__(self, out: Path):
        self.out = out
        self.data: dict[str, Any] = {"sections": {}, "notes": []}
        out.mkdir(parents=True, exist_ok=True)

    def save(self) -> None:
        (self.out / "perf_gpu.json").write_text(json.dumps(self.data, indent=1, default=_jsonable))
        (self.out / "perf_gpu.md").write_text(markdown(self.data))


def _jsonable(o):
    if isinstance(o, np.integer | np.floating):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def timed(fn, sync, repeats: int) -> tuple[float, list[float], Any]:
    """(median seconds, all times, last result) after one warm-up run."""
    res = fn()
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        res = fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, res


def summary(res) -> dict[str, Any]:
    return {"loss": float(res.loss), "medoids": [int(m) for m in res.medoids],
            "n_iter": int(res.n_iter), "n_swap": int(res.n_swap)}


def compare(a: dict, b: dict) -> dict[str, Any]:
    """Agreement of two k-medoids results (same start)."""
    same = a["medoids"] == b["medoids"]
    return {"same_medoids": same, "same_swaps": same and a.get("n_swap") == b.get("n_swap"),
            "loss_rel_diff": abs(a["loss"] - b["loss"]) / max(abs(b["loss"]), 1e-300)}


def _loss_of(D, medoids) -> float:
    import torch
    idx = torch.as_tensor(medoids, device=D.device)
    return float(D.index_select(0, idx).min(0).values.sum(dtype=torch.float64))


# --------------------------------------------------------------------------- markdown


def _f(x, nd=3):
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{nd}f}" if abs(x) >= 10 ** -nd else f"{x:.2e}"
    return str(x)


def markdown(d: dict) -> str:
    env = d.get("env", {})
    gpu = env.get("gpu") or {}
    lines = [f"GPU: {gpu.get('name', 'none')} (driver {gpu.get('driver')}, torch {gpu.get('torch')}, "
             f"CUDA {gpu.get('cuda')}); CPU: {env.get('cpu_model')} ({env.get('cpu_count')} cores), "
             f"kmedoids {env.get('packages', {}).get('kmedoids')}; {env.get('time')}", ""]
    s = d["sections"]
    if "pam" in s:
        lines += ["Exact PAM (BUILD then best-swap SWAP) on MNIST, matrix on the device; GPU time is the "
                  "median of the repeats; CPU oracle = kmedoids.pam_build + kmedoids.fastpam1 "
                  "(the swaps of kmedoids.pam), one thread, same matrix.", "",
                  "| n | k | matrix | arithmetic | GPU BUILD+SWAP s | GPU SWAP s | iterations | swaps "
                  "| loss | CPU kmedoids s | same medoids & swaps as kmedoids | as reference | float32 vs float64 |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in s["pam"]:
            cpu = r.get("kmedoids") or {}
            lines.append(
                f"| {r['n']} | {r['k']} | {r['dtype']} | {r['compute_dtype']} | {_f(r['total_s'])} | "
                f"{_f(r['swap_s'])} | {r['result']['n_iter']} | {r['result']['n_swap']} | "
                f"{r['result']['loss']:.6g} | {_f(cpu.get('seconds'), 1)} | "
                f"{_agree(r.get('vs_kmedoids'))} | {_agree(r.get('vs_reference'))} | "
                f"{r.get('vs_float64', {}).get('text', '')} |")
        lines.append("")
    if "transfer" in s:
        t = s["transfer"]
        lines += [f"Host to device copy of the {t['n']} x {t['n']} {t['dtype']} matrix: "
                  f"{_f(t['seconds'])} s; distance matrix built on the GPU: {_f(t['build_s'])} s.", ""]
    if "fasterpam" in s:
        lines += ["FasterPAM-quality swaps: fasterpam/torch (eager, best swap of each block of "
                  "candidates) vs kmedoids.fasterpam (one CPU thread) from the same start.", "",
                  "| n | k | start | block | GPU s | GPU loss | passes | swaps | CPU s | CPU loss | "
                  "GPU loss / CPU loss |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in s["fasterpam"]:
            cpu = r.get("kmedoids") or {}
            ratio = r["result"]["loss"] / cpu["loss"] if cpu.get("loss") else None
            lines.append(f"| {r['n']} | {r['k']} | {r['start']} | {r['block_size']} | {_f(r['seconds'])} | "
                         f"{r['result']['loss']:.6g} | {r['result']['n_iter']} | {r['result']['n_swap']} | "
                         f"{_f(cpu.get('seconds'), 1)} | {_f(cpu.get('loss'))} | {_f(ratio, 5)} |")
        lines.append("")
    if "big" in s:
        b = s["big"]
        lines += [f"n = {b['n']} ({b['data']}), k = {b['k']}, float32 matrix "
                  f"({b['matrix_gib']:.1f} GiB) built on the GPU in {_f(b.get('dist_s'))} s.", "",
                  "| method | start | seconds | iterations | swaps | loss |", "|---|---|---|---|---|---|"]
        for r in b.get("runs", []):
            lines.append(f"| {r['method']} | {r['start']} | {_f(r.get('seconds'), 2)} | {r.get('n_iter', '')} | "
                         f"{r.get('n_swap', '')} | {_f(r.get('loss'))} |")
        lines.append("")
    if "kmeans" in s:
        lines += ["Lloyd k-means, 50 iterations without convergence test (GPU), centres from the same "
                  "k-means++ seeding; CPU = kmeans/reference (Cython + BLAS, one thread) run to its "
                  "stopping rule; the last column compares kmeans/torch with the same rule.", "",
                  "| n | d | k | dtype | iterations | GPU s | GPU s (index_add sums) | GPU s (CUDA graph) | "
                  "CPU s (reference, to convergence) | same labels and iterations as reference (tol=0) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in s["kmeans"]:
            lines.append(f"| {r['n']} | {r['d']} | {r['k']} | {r['dtype']} | {r['iterations']} | "
                         f"{_f(r['gpu_s'], 4)} | {_f(r.get('gpu_index_add_s'), 4)} | {_f(r.get('gpu_graph_s'), 4)} | "
                         f"{_f(r.get('cpu_s'), 2)} ({r.get('cpu_iterations')} it.) | {r.get('same_labels', 'n/a')} |")
        lines.append("")
    if "silhouette" in s:
        lines += ["| measure | n | k | GPU s | CPU kmedoids s | abs difference |", "|---|---|---|---|---|---|"]
        for r in s["silhouette"]:
            lines.append(f"| {r['measure']} | {r['n']} | {r['k']} | {_f(r['gpu_s'], 4)} | "
                         f"{_f(r['cpu_s'], 3)} | {_f(r['abs_diff'])} |")
        lines.append("")
    for note in d.get("notes", []):
        lines.append(f"- {note}")
    return "\n".join(lines) + "\n"


def _agree(c: dict | None) -> str:
    if not c:
        return "n/a"
    if "error" in c:
        return "failed"
    return "yes" if c["same_swaps"] else ("same medoids" if c["same_medoids"] else
                                         f"no (loss rel diff {c['loss_rel_diff']:.1e})")


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="results/gpu")
    ap.add_argument("--device", default=None)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--ks", default="10,100")
    ap.add_argument("--big-n", type=int, default=50_000)
    ap.add_argument("--big-k", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workers", type=int, default=min(12, os.cpu_count() or 1))
    ap.add_argument("--deadline", type=float, default=480.0, help="seconds; CPU jobs still running then are abandoned")
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--no-big", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.ks, args.big_n, args.big_k, args.repeats = 600, "5,10", 1500, 10, 2
    t_start = time.perf_counter()

    import torch

    from bench_core.datasets import load_mnist
    from bench_core.environment import record
    from bench_core.gpu import pam as tp
    from bench_core.gpu._device import as_matrix, resolve_device
    from bench_core.gpu.distances import dissimilarity
    from bench_core.gpu.kmeans import kmeans as tkmeans
    from bench_core.gpu.kmeans import lloyd_graph, lloyd_iterations
    from bench_core.gpu.silhouette import medoid_silhouette, silhouette

    dev = resolve_device(args.device)
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)
    rep = Report(Path(args.out))
    rep.data["env"] = record(gpu=True)
    rep.data["args"] = vars(args)
    rep.data["device"] = str(dev)
    rep.save()
    ks = [int(k) for k in args.ks.split(",")]
    n = args.n

    import shutil
    shm_ok = os.path.isdir("/dev/shm") and shutil.disk_usage("/dev/shm").free > 3 * 4 * args.big_n ** 2
    tmp = Path(tempfile.mkdtemp(dir="/dev/shm" if shm_ok else None))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"     # inherited by the (spawned) workers: one thread each
    import multiprocessing as mp
    pool = cf.ProcessPoolExecutor(max_workers=args.workers, mp_context=mp.get_context("spawn"))
    jobs: dict[str, cf.Future] = {}

    def submit(name, *a):
        jobs[name] = pool.submit(_cpu_job, *a)

    def result_of(name, timeout=None):
        fut = jobs.get(name)
        if fut is None:
            return None
        left = args.deadline - (time.perf_counter() - t_start)
        try:
            return fut.result(timeout=max(1.0, left) if timeout is None else timeout)
        except cf.TimeoutError:
            return {"error": f"not finished within the {args.deadline:.0f} s deadline"}
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            return {"error": f"{type(exc).__name__}: {exc}"}

    # ---- matrices (MNIST, built on the device), saved for the CPU workers
    X, _ = load_mnist(n)
    mats = {}
    for dt in ("float64", "float32"):
        sync()
        t0 = time.perf_counter()
        D = dissimilarity(X, "euclidean", dt, device=dev)
        sync()
        build_s = time.perf_counter() - t0
        mats[dt] = D
        host = D.cpu().numpy()
        np.save(tmp / f"D{dt}.npy", host)
        if dt == "float64":
            t0 = time.perf_counter()
            M = as_matrix(host, device=dev)
            sync()
            rep.data["sections"]["transfer"] = {"n": n, "dtype": dt, "seconds": time.perf_counter() - t0,
                                                "build_s": build_s, "resident": M.resident}
            del M
    rng = np.random.default_rng(0)
    random_start = sorted(int(i) for i in rng.choice(n, max(ks), replace=False))
    for k in ks:
        for dt in ("float64", "float32"):
            submit(f"kmedoids-pam-{dt}-{k}", "kmedoids-pam", str(tmp / f"D{dt}.npy"), k, None)
        submit(f"reference-pam-float64-{k}", "reference-pam", str(tmp / "Dfloat64.npy"), k, None)
        submit(f"kmedoids-fasterpam-random-{k}", "kmedoids-fasterpam", str(tmp / "Dfloat64.npy"), k,
               random_start[:k])
    rep.save()

    # ---- exact PAM on the GPU
    pam_rows = []
    rep.data["sections"]["pam"] = pam_rows
    f64_results = {}
    for k in ks:
        for dt, cdt in (("float64", None), ("float32", None), ("float32", "float64")):
            D = mats[dt]
            row: dict[str, Any] = {"n": n, "k": k, "dtype": dt, "compute_dtype": cdt or dt}
            try:
                med_build, _, _ = timed(lambda D=D, k=k, cdt=cdt: tp.build(D, k, compute_dtype=cdt), sync,
                                        args.repeats)
                total, times, res = timed(
                    lambda D=D, k=k, cdt=cdt: tp.pam(D, k, record_swaps=True, compute_dtype=cdt), sync,
                    args.repeats)
                start = tp.build(D, k, compute_dtype=cdt).medoids
                swap, _, _ = timed(lambda D=D, s=start, cdt=cdt: tp.pam(D, s.copy(), compute_dtype=cdt),
                                   sync, args.repeats)
                row.update(total_s=total, times=times, build_s=med_build, swap_s=swap,
                           result=summary(res), swaps=[(int(c), int(i), float(v)) for c, i, v in
                                                       res.extras["swaps"]])
                if dt == "float64":
                    f64_results[k] = row
                else:
                    ref = f64_results.get(k)
                    if ref:
                        diff = next((j for j, (a, b) in enumerate(zip(ref["swaps"], row["swaps"],
                                                                      strict=False))
                                     if a[:2] != b[:2]), None)
                        loss64 = _loss_of(mats["float64"], row["result"]["medoids"])
                        same = row["result"]["medoids"] == ref["result"]["medoids"]
                        row["vs_float64"] = {
                            "same_medoids": same, "first_different_swap": diff,
                            "loss_in_float64": loss64,
                            "loss_rel_diff": (loss64 - ref["result"]["loss"]) / ref["result"]["loss"],
                            "text": "same medoids" if same else
                                    f"differ from swap {diff}; float64 loss {(loss64 / ref['result']['loss'] - 1):+.1e} rel"}
            except Exception as exc:  # noqa: BLE001 - a failed measurement is reported
                row["error"] = f"{type(exc).__name__}: {exc}"
                row.setdefault("result", {"loss": float("nan"), "n_iter": 0, "n_swap": 0, "medoids": []})
                row.setdefault("total_s", None)
                row.setdefault("swap_s", None)
                traceback.print_exc()
            pam_rows.append(row)
            rep.save()
            print(f"pam n={n} k={k} {dt}/{cdt or dt}: {row.get('total_s')} s", flush=True)

    # ---- FasterPAM quality at n, k=max(ks)
    fp_rows = []
    rep.data["sections"]["fasterpam"] = fp_rows
    for k in ks:
        D = mats["float64"]
        for block in (256, 1024):
            start = np.asarray(random_start[:k])
            sec, _, res = timed(lambda D=D, s=start, b=block: tp.fasterpam(D, s.copy(), block_size=b),
                                sync, args.repeats)
            fp_rows.append({"n": n, "k": k, "start": "random", "block_size": block, "seconds": sec,
                            "result": summary(res), "job": f"kmedoids-fasterpam-random-{k}"})
            rep.save()

    # ---- k-means: 50 iterations
    km_rows = []
    rep.data["sections"]["kmeans"] = km_rows
    from bench_core.algorithms.kmeans import initial_centers
    from bench_core.algorithms.kmeans import kmeans as ref_kmeans
    kk = 100 if not args.quick else 10
    C0 = initial_centers(X, kk, "k-means++", np.random.default_rng(0))
    for dt in ("float32", "float64"):
        Xd = X.astype(dt)
        Xt = torch.as_tensor(Xd, device=dev)
        Xc = Xt - Xt.mean(0)
        Ct = torch.as_tensor(C0.astype(dt), device=dev) - Xt.mean(0)
        reps = max(args.repeats, 7)
        sec, _, _ = timed(lambda Xc=Xc, Ct=Ct: lloyd_iterations(Xc, Ct, 50), sync, reps)
        sec_ia, _, _ = timed(lambda Xc=Xc, Ct=Ct: lloyd_iterations(Xc, Ct, 50, sums="index_add"),
                             sync, reps)
        graph_s = capture_s = graph_same = None
        if dev.type == "cuda":
            try:
                t0 = time.perf_counter()
                g, Cs = lloyd_graph(Xc, Ct)
                sync()
                capture_s = time.perf_counter() - t0

                def replay(g=g, Cs=Cs, Ct=Ct):
                    Cs.copy_(Ct)
                    for _ in range(50):
                        g.replay()
                graph_s, _, _ = timed(replay, sync, reps)
                Cg = lloyd_iterations(Xc, Ct, 50)
                replay()
                sync()
                graph_same = bool(torch.equal(Cg, Cs))
            except Exception as exc:  # noqa: BLE001
                rep.data["notes"].append(f"CUDA graph k-means failed: {type(exc).__name__}: "
                                         f"{str(exc).splitlines()[0]}")
        full, _, res = timed(lambda Xd=Xd, dt=dt: tkmeans(Xd, kk, init=C0.astype(dt), max_iter=50, tol=None,
                                                          device=dev), sync, args.repeats)
        t0 = time.perf_counter()
        ref = ref_kmeans(Xd, kk, init=C0.astype(dt), max_iter=50, tol=0.0)
        cpu_s = time.perf_counter() - t0
        conv = tkmeans(Xd, kk, init=C0.astype(dt), max_iter=50, tol=0.0, device=dev)
        row = {"n": n, "d": X.shape[1], "k": kk, "dtype": dt, "iterations": 50, "gpu_s": sec,
               "gpu_index_add_s": sec_ia, "gpu_graph_s": graph_s, "graph_capture_s": capture_s,
               "graph_same_centres": graph_same, "gpu_call_s": full, "gpu_loss": res.loss,
               "cpu_s": cpu_s, "cpu_loss": ref.loss, "cpu_iterations": ref.n_iter,
               "stopping_rule": {"gpu_iterations": conv.n_iter, "cpu_iterations": ref.n_iter,
                                 "gpu_loss": conv.loss, "cpu_loss": ref.loss,
                                 "same_labels": bool(np.array_equal(conv.labels, ref.labels))},
               "same_labels": bool(np.array_equal(conv.labels, ref.labels)) and conv.n_iter == ref.n_iter}
        km_rows.append(row)
        rep.save()

    # ---- silhouettes of the float64 PAM result at k = min(ks)
    sil_rows = []
    rep.data["sections"]["silhouette"] = sil_rows
    try:
        import kmedoids
        k = min(ks)
        med = np.asarray(f64_results[k]["result"]["medoids"])
        D = mats["float64"]
        host = np.load(tmp / "Dfloat64.npy", mmap_mode="r")
        lab = tp.assign(D, med)[0]
        sec, _, val = timed(lambda: silhouette(D, lab), sync, args.repeats)
        t0 = time.perf_counter()
        cpu = kmedoids.silhouette(np.ascontiguousarray(host), lab, n_cpu=1)[0]
        sil_rows.append({"measure": "silhouette", "n": n, "k": k, "gpu_s": sec,
                         "cpu_s": time.perf_counter() - t0, "abs_diff": abs(val - cpu), "value": val})
        sec, _, val = timed(lambda: medoid_silhouette(D, med), sync, args.repeats)
        t0 = time.perf_counter()
        cpu = kmedoids.medoid_silhouette(np.ascontiguousarray(host), med)[0]
        sil_rows.append({"measure": "medoid silhouette", "n": n, "k": k, "gpu_s": sec,
                         "cpu_s": time.perf_counter() - t0, "abs_diff": abs(val - cpu), "value": val})
    except Exception as exc:  # noqa: BLE001
        rep.data["notes"].append(f"silhouette section failed: {type(exc).__name__}: {exc}")
    rep.save()

    # ---- large n: float32 matrix built on the GPU, BUILD, exact PAM, block-eager FasterPAM
    mats.clear()
    torch.cuda.empty_cache() if dev.type == "cuda" else None
    if not args.no_big:
        big: dict[str, Any] = {"n": args.big_n, "k": args.big_k, "runs": []}
        rep.data["sections"]["big"] = big
        try:
            Xm, _ = load_mnist(min(10_000, args.big_n))
            reps = -(-args.big_n // len(Xm))
            noise = np.random.default_rng(1).normal(0.0, 1.0, size=(reps * len(Xm), Xm.shape[1]))
            Xb = (np.tile(Xm, (reps, 1)) + noise)[: args.big_n]
            big["data"] = (f"bundled MNIST tiled {reps}x plus N(0, 1) noise, seed 1")
            big["matrix_gib"] = args.big_n ** 2 * 4 / 2 ** 30
            sync()
            t0 = time.perf_counter()
            Db = dissimilarity(Xb, "euclidean", "float32", device=dev)
            sync()
            big["dist_s"] = time.perf_counter() - t0
            big["matrix_on"] = str(Db.device)
            rep.save()
            t0 = time.perf_counter()
            b = tp.build(Db, args.big_k)
            sync()
            big["runs"].append({"method": "build/torch", "start": "-", "seconds": time.perf_counter() - t0,
                                "loss": b.loss})
            start = b.medoids
            # CPU FasterPAM from the same BUILD medoids, in a worker, if host memory allows
            try:
                from bench_core.dissimilarity import check_memory
                check_memory(args.big_n, np.float32, factor=2.2, what="matrix (host copy + worker)")
                try:
                    np.save(tmp / "Dbig.npy", Db.cpu().numpy())
                except BaseException:
                    (tmp / "Dbig.npy").unlink(missing_ok=True)
                    raise
                submit("big-fasterpam", "kmedoids-fasterpam", str(tmp / "Dbig.npy"), args.big_k,
                       [int(m) for m in start])
            except Exception as exc:  # noqa: BLE001
                big["cpu_skipped"] = f"{type(exc).__name__}: {exc}"
            rep.save()
            for label, fn in (
                    ("pam/torch (exact SWAP)", lambda: tp.pam(Db, start.copy())),
                    ("fasterpam/torch block 256", lambda: tp.fasterpam(Db, start.copy(), block_size=256)),
                    ("fasterpam/torch block 1024", lambda: tp.fasterpam(Db, start.copy(), block_size=1024))):
                sync()
                t0 = time.perf_counter()
                r = fn()
                sync()
                big["runs"].append({"method": label, "start": "BUILD", "seconds": time.perf_counter() - t0,
                                    **summary(r)})
                rep.save()
                print(f"big {label}: {big['runs'][-1]['seconds']:.2f} s", flush=True)
            big["pam_total_with_build_s"] = big["runs"][0]["seconds"] + big["runs"][1]["seconds"]
        except Exception as exc:  # noqa: BLE001
            big["error"] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        rep.save()

    # ---- collect the CPU oracles
    for row in pam_rows:
        if "result" not in row or row.get("error"):
            continue
        km = result_of(f"kmedoids-pam-{row['dtype']}-{row['k']}")
        row["kmedoids"] = km
        if km and "error" not in km:
            row["vs_kmedoids"] = compare(row["result"], km)
        if row["dtype"] == "float64":
            ref = result_of(f"reference-pam-float64-{row['k']}")
            row["reference"] = ref
            if ref and "error" not in ref:
                row["vs_reference"] = compare(row["result"], ref)
        rep.save()
    for row in fp_rows:
        row["kmedoids"] = result_of(row["job"])
    if "big" in rep.data["sections"] and "big-fasterpam" in jobs:
        r = result_of("big-fasterpam")
        big = rep.data["sections"]["big"]
        if r and "error" not in r:
            big["runs"].append({"method": "kmedoids.fasterpam (CPU, 1 thread)", "start": "BUILD",
                                "seconds": r["seconds"], "loss": r["loss"], "n_iter": r["n_iter"],
                                "n_swap": r["n_swap"]})
        else:
            big["runs"].append({"method": "kmedoids.fasterpam (CPU, 1 thread)", "start": "BUILD",
                                "seconds": None, "loss": None, "error": (r or {}).get("error")})
    rep.data["wall_s"] = time.perf_counter() - t_start
    rep.save()
    print(markdown(rep.data), flush=True)
    for f in tmp.glob("*.npy"):
        f.unlink()
    tmp.rmdir()
    sys.stdout.flush()
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in workers:  # our own worker processes, so that nothing holds stdout open
        proc.kill()
    os._exit(0)  # do not wait for abandoned CPU jobs


if __name__ == "__main__":
    raise SystemExit(main())
