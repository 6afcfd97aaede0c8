"""Measuring one run: the timed call, peak memory and pinned threads, in a forked child.

Each run executes in a forked worker process (the matrix is shared
copy-on-write, never copied or pickled). The parent waits at most
``time_limit`` seconds, then kills the worker and records ``timeout``.

What is timed
    ``fit_time`` is the call a user of the implementation makes: the region a
    runnable marks with ``with task.timed():`` (an adapter marks the library's
    public call; converting inputs and normalising the answer stay outside), or
    the whole runnable where it marks none (our reference functions, whose
    public call is the runnable). ``wall_time`` is the whole runnable with the
    harness's normalisation of its answer.

Threads
    With ``n_threads`` > 1 the worker starts OpenMP's thread pool before the
    fit (:func:`_warm_threads`), as a running program has it after its first call.

Memory
    In the worker the peak resident set is reset right before the fit
    (``/proc/self/clear_refs``) and read after it (``VmHWM``): ``peak_rss_mb``
    is the high-water mark during the fit (it includes the mapped matrix),
    ``extra_rss_mb`` the growth over the resident set just before the fit.
    BLAS/OpenMP pools are pinned to ``n_threads`` with threadpoolctl (in the
    parent, before the fork: :func:`pin_pools`) and ``OMP_NUM_THREADS`` & co.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
import traceback
import warnings
from typing import Any

import numpy as np

from .. import registry
from ..families import normalise

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "RAYON_NUM_THREADS")

def _proc_status() -> dict[str, int]:
    out = {}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, val = line.split(":", 1)
                    out[key] = int(val.split()[0]) * 1024
    except OSError:
        pass
    return out


def _reset_peak() -> bool:
    """Reset this process's peak RSS (Linux >= 4.0); False where not permitted."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_bytes() -> int | None:
    st = _proc_status()
    if "VmHWM" in st:
        return st["VmHWM"]
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    except Exception:
        return None


def pin_thread_env(n_threads: int) -> None:
    """Set the thread-count variables read by BLAS/OpenMP/Rayon when they load."""
    for var in THREAD_VARS:
        os.environ[var] = str(n_threads)


def _touch(a: np.ndarray | None) -> None:
    """Fault in every page of a (memory-mapped) matrix so it counts before the fit, not in it."""
    if a is not None and a.size:
        flat = a.reshape(-1) if a.flags.c_contiguous else None
        if flat is not None:
            step = max(1, 4096 // a.itemsize)
            float(flat[::step].sum())


_POOLS: dict[str, Any] = {"n": None, "limiter": None}


def pin_pools(n_threads: int) -> None:
    """Limit this process's BLAS/OpenMP pools to ``n_threads`` (kept until changed).

    Called in the process that forks the workers, before forking: a worker then
    inherits the limits. Setting them inside a forked worker instead (OpenBLAS's
    ``openblas_set_num_threads`` after a fork) made the fits that followed up to
    twice as slow (FasterPAM, MNIST n = 2,000: 24-37 ms against 11-15 ms, measured
    with threadpoolctl 3 and scipy-openblas on the 2-core development VM), though
    no BLAS call was timed.
    """
    if _POOLS["n"] != n_threads:
        from threadpoolctl import threadpool_limits

        _POOLS["limiter"] = threadpool_limits(limits=n_threads)
        _POOLS["n"] = n_threads


def _warm_threads(n_threads: int) -> None:
    """Start OpenMP's thread pool before the fit (a forked worker has none yet).

    The first parallel region of a new process creates its threads and waits
    for the scheduler to place them: 0.3 to 40 ms measured in a forked worker on
    the 2-core development VM, once per process, every region after it costs
    microseconds. A user calling an implementation in a running program pays
    that once, not per call, so it is kept out of the timed region, as the page
    faults of the matrix are (:func:`_touch`).
    """
    if n_threads > 1:
        from ..algorithms._scan import scan_matrix

        scan_matrix(np.zeros((64 * n_threads, 8)), n_threads)


# --------------------------------------------------------------------------- one run

def execute(entry: registry.Entry, task: registry.Task, data: Any = None, *,
            keep_result: bool = False) -> dict[str, Any]:
    """Run ``entry`` on ``task`` in this process: time, peak memory, the result fields, the metrics.

    The registered metrics (:mod:`bench_core.metrics`) are evaluated after the
    timed region and the memory reading, with ``data`` (the
    :class:`~bench_core.datasets.Dataset`) for those that need reference labels.
    With ``keep_result`` the normalised result is returned too (key ``"result"``).
    """
    import contextlib

    from threadpoolctl import threadpool_limits

    from ..metrics import evaluate

    _touch(task.diss)
    _warm_threads(task.n_threads)
    before = _proc_status().get("VmRSS")
    reset = _reset_peak()
    task.timed_seconds = None
    pools = (contextlib.nullcontext() if _POOLS["n"] == task.n_threads  # set before the fork
             else threadpool_limits(limits=task.n_threads))
    with pools, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        raw = entry.raw(task)
        whole = time.perf_counter() - t0
        res = normalise(raw, family_name=entry.family, algorithm=entry.algorithm, diss=task.diss, X=task.X,
                        metric=task.metric)
        wall_time = time.perf_counter() - t0
    fit_time = whole if task.timed_seconds is None else task.timed_seconds
    peak = _peak_bytes()
    extras: dict[str, Any] = {}
    seen = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    if seen:  # kept with the row rather than printed over the progress bar
        extras["warnings"] = " | ".join(seen)[:500]
    for key, val in (res.extras or {}).items():
        if isinstance(val, (int, float, str, bool)) or val is None:
            extras[key] = val
        elif isinstance(val, np.generic):
            extras[key] = val.item()
    out = {
        "fit_time": fit_time, "wall_time": wall_time, "loss": float(res.loss),
        "labels": None if res.labels is None else np.asarray(res.labels, dtype=np.int64),
        "medoids": None if res.medoids is None else np.asarray(res.medoids, dtype=np.int64),
        "has_centers": res.centers is not None,
        "n_iter": int(res.n_iter), "n_swap": int(res.n_swap), "converged": res.converged,
        "extras": extras,
        "peak_rss_mb": None if peak is None else peak / 2**20,
        "extra_rss_mb": None if (peak is None or before is None or not reset) else max(0, peak - before) / 2**20,
    }
    out["metrics"], out["metric_errors"] = evaluate(task, res, data)
    if keep_result:
        out["result"] = res
    return out


def _child(entry, task, data, conn) -> None:  # pragma: no cover - runs in the forked worker
    try:
        msg = ("ok", execute(entry, task, data))
    except BaseException as exc:
        msg = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}")
    try:
        conn.send(msg)
        conn.close()
    finally:
        os._exit(0)


def execute_isolated(entry: registry.Entry, task: registry.Task, time_limit: float | None,
                     data: Any = None) -> tuple[str, dict[str, Any] | str]:
    """Run in a forked worker; returns ("ok", fields) | ("error", message) | ("timeout", message)."""
    pin_pools(task.n_threads)
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(entry, task, data, send), daemon=True)
    proc.start()
    send.close()
    try:
        if not recv.poll(time_limit):
            proc.kill()
            proc.join()
            return "timeout", f"killed after the time limit of {time_limit:g} s"
        try:
            status, payload = recv.recv()
        except EOFError:
            proc.join()
            code = proc.exitcode
            why = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            return "error", f"worker died without a result ({why}); a crash in the implementation?"
        proc.join(timeout=30)
        return status, payload
    except BaseException:  # Ctrl-C: take the worker down with us
        if proc.is_alive():
            proc.kill()
        proc.join()
        raise
    finally:
        recv.close()


