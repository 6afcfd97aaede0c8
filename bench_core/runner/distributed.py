"""``kmbench run --dask``: a grid on Dask workers (this machine, SSH hosts, SLURM/PBS/... jobs).

The engine is Dask distributed (Rocklin 2015, "Dask: parallel computation with
blocked algorithms and task scheduling", SciPy); batch systems come through
dask-jobqueue. kmbench adds no transport, queue or retry logic of its own: it
decides *which* run to hand to *which* worker next, and Dask moves the
call, returns the row and re-queues work lost with a worker.

Same measurement as the local runner
    Each Dask task is one run, executed by :func:`~bench_core.runner.loop.run_one`
    on the worker, so it runs in its own forked child with the hard time limit,
    the peak RSS reading and the pinned threads. Every task asks for one unit of
    the worker resource ``kmbench`` (:data:`RESOURCE`) and every worker kmbench
    starts declares exactly one, so a worker never runs two timed runs at once;
    a worker started by hand joins with ``dask worker ADDRESS --nthreads 1
    --resources kmbench=1``.

Data locality
    A worker keeps the data set and distance matrix of the last data group it
    ran (:class:`~bench_core.runner.loop.DataGroup`; the matrix comes from the
    worker's own on-disk cache, :mod:`bench_core.dissimilarity`). The client
    hands a free worker a run of the group it holds, else a group nobody holds,
    else helps with the next run in plan order. Only the run's description goes
    through the scheduler; matrices never do.

Budgets and timeouts
    Restarts of one cell share a restart budget and a timeout skips the larger n
    of the same implementation (:func:`~bench_core.runner.loop.skip_reason`). A
    run is therefore handed out only once every earlier run of its
    implementation, k, dtype and metric at a smaller n has finished, and, when a
    restart budget is set, every earlier restart of its cell: skip decisions are
    the local runner's. Without a budget, restarts of one cell run in parallel;
    if one times out, the restarts not yet started are skipped (as locally)
    while those already running finish and keep their measurement.

Faults
    A worker lost while running a task (killed, out of memory, node gone) makes
    the scheduler re-queue the task on another worker, at most ``retries``
    times (the scheduler's ``allowed-failures``, set where kmbench starts the
    scheduler); after that the run is written as status ``lost`` naming the
    last worker. Dask also counts the loss against a task that was only queued
    on that worker; each worker reports the runs it starts (an event), and a
    run that had not started as often as it was lost is handed out again. Ctrl-C keeps every finished row (each is appended as it
    arrives); ``--resume`` runs the rest. A scheduler that cannot be reached
    within ``connect_timeout`` seconds is a :class:`DaskUnavailable` error.

Machines
    Each row's ``env_id`` names the environment record (host, CPU model, cores,
    memory, library versions: :func:`bench_core.environment.record`) of the
    worker that ran it; the records are stored in the results' ``meta.json``.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .. import registry
from ..environment import usable_cpus
from ..results_io import ResultsFile
from .grid import GridSpec, Run
from .loop import DataGroup, RunSummary, base_row, open_grid, run_one, skip_reason
from .progress import Progress

#: The worker resource one timed run takes; each kmbench worker has one unit.
RESOURCE = "kmbench"
#: Runs handed to one worker at a time: the one it runs and the next, queued on the
#: worker, so that no round trip to the client separates two runs.
DEPTH = 2
#: The event a worker logs when it starts a run.
START_TOPIC = "kmbench-start"
#: Cluster kinds of ``--dask-config``: dask-jobqueue class names.
JOBQUEUE = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster",
            "htcondor": "HTCondorCluster", "oar": "OARCluster", "moab": "MoabCluster"}
JOBQUEUE_KEYS = ("cores", "memory", "walltime", "queue", "account", "processes", "job_extra_directives",
                 "job_script_prologue", "worker_extra_args", "python", "interface", "local_directory",
                 "log_directory", "scheduler_options", "options")
COMMON_KEYS = ("cluster", "retries", "connect_timeout", "wait_for_workers", "security")
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "local": ("workers",),
    "address": ("address",),
    "ssh": ("hosts", "workers_per_host", "connect_options", "remote_python", "worker_options",
            "scheduler_options"),
    **{kind: ("jobs", *JOBQUEUE_KEYS) for kind in JOBQUEUE},
}


class DaskUnavailable(ConnectionError):
    """The Dask scheduler or its workers cannot be reached; the message says which and how long we waited."""


@dataclass
class DaskSettings:
    """Where the runs go and how faults are handled (from ``--dask`` or ``--dask-config``)."""

    kind: str  # local | address | ssh | slurm | pbs | ...
    workers: int | None = None
    address: str | None = None
    retries: int = 1
    connect_timeout: float = 10.0
    wait_for_workers: float | None = 120.0
    security: dict[str, Any] | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        if self.kind == "local":
            return f"a local Dask cluster of {self.workers} single-threaded worker processes (loopback only)"
        if self.kind == "address":
            return f"the Dask scheduler at {self.address}"
        if self.kind == "ssh":
            return f"an SSH Dask cluster on {', '.join(self.config.get('hosts', []))}"
        return f"a dask-jobqueue {JOBQUEUE[self.kind]} of {self.config.get('jobs', 1)} jobs"


# --------------------------------------------------------------------------- settings

def parse_target(text: str) -> DaskSettings:
    """``--dask local:N`` | ``local`` (one worker per CPU this process may use) | ``tcp://HOST:PORT`` | ``tls://HOST:PORT``."""
    text = text.strip()
    if text == "local" or text.startswith("local:"):
        count = text.partition(":")[2] or str(usable_cpus())
        try:
            n = int(count)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"--dask {text!r}: expected local:N with N >= 1 worker processes, e.g. local:2")
        return DaskSettings("local", workers=n)
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme not in ("tcp", "tls", "ucx", "ws", "wss") or ":" not in rest:
            raise ValueError(f"--dask {text!r}: expected a scheduler address like tcp://HOST:8786")
        return DaskSettings("address", address=text)
    raise ValueError(f"--dask {text!r}: expected local:N (N worker processes on this machine) or a "
                     "scheduler address tcp://HOST:PORT; clusters on SSH hosts or a batch system "
                     "(SLURM, PBS, ...) come from --dask-config FILE.yaml")


def load_config(source: str | os.PathLike | dict[str, Any]) -> DaskSettings:
    """Read a ``--dask-config`` YAML file (or its parsed dict) into :class:`DaskSettings`.

    Unknown keys, a missing ``cluster`` kind or wrong types are errors naming the key.
    """
    if isinstance(source, dict):
        cfg, where = dict(source), "the Dask configuration"
    else:
        import yaml

        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"--dask-config {path}: no such file")
        cfg = yaml.safe_load(path.read_text()) or {}
        where = f"--dask-config {path}"
        if not isinstance(cfg, dict):
            raise ValueError(f"{where}: expected a mapping of settings (cluster: slurm, jobs: 4, ...)")
    kind = str(cfg.get("cluster", "")).lower()
    if kind not in KIND_KEYS:
        raise ValueError(f"{where}: 'cluster' must be one of {', '.join(KIND_KEYS)}; got {cfg.get('cluster')!r}")
    allowed = set(COMMON_KEYS) | set(KIND_KEYS[kind])
    unknown = sorted(set(cfg) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown settings {unknown} for cluster: {kind}; allowed: {sorted(allowed)}")

    def number(key: str, default, conv=float, minimum=0):
        val = cfg.get(key, default)
        if val is None:
            return None
        try:
            val = conv(val)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: {key} must be a number, got {cfg[key]!r}") from None
        if val < minimum:
            raise ValueError(f"{where}: {key} must be at least {minimum}, got {val}")
        return val

    security = cfg.get("security")
    if security is not None and not isinstance(security, dict):
        raise ValueError(f"{where}: security must be a mapping of distributed.Security settings "
                         "(tls_ca_file, tls_client_cert, tls_client_key, require_encryption, ...)")
    settings = DaskSettings(kind, retries=number("retries", 1, int), connect_timeout=number("connect_timeout", 10.0),
                            wait_for_workers=number("wait_for_workers", 120.0 if kind in ("local", "address")
                                                    else None),
                            security=security, config=cfg)
    if kind == "local":
        settings.workers = number("workers", usable_cpus(), int, 1)
    elif kind == "address":
        if not cfg.get("address"):
            raise ValueError(f"{where}: cluster: address needs 'address: tls://HOST:PORT'")
        settings.address = str(cfg["address"])
    elif kind == "ssh":
        hosts = cfg.get("hosts")
        if not isinstance(hosts, list) or len(hosts) < 2:
            raise ValueError(f"{where}: cluster: ssh needs 'hosts': a list, the scheduler's host first, "
                             "then the worker hosts")
    else:
        for key in ("cores", "memory"):
            if key not in cfg:
                raise ValueError(f"{where}: cluster: {kind} needs '{key}' (per job)")
        number("jobs", 1, int, 1)
    return settings


def _security(settings: DaskSettings):
    if not settings.security:
        return None
    from distributed import Security

    try:
        return Security(**settings.security)
    except TypeError as exc:
        raise ValueError(f"Dask security settings: {exc}") from None


def jobqueue_cluster(settings: DaskSettings):
    """The dask-jobqueue cluster of ``settings`` (no job is submitted until it is scaled).

    Each job runs ``processes`` worker processes (default: one per core), each
    with one thread and one unit of the ``kmbench`` resource.
    """
    import dask_jobqueue

    cfg = settings.config
    cores = int(cfg["cores"])
    processes = int(cfg.get("processes", cores))
    kwargs: dict[str, Any] = {"cores": cores, "processes": processes, "memory": str(cfg["memory"])}
    for key in ("walltime", "queue", "account", "job_extra_directives", "job_script_prologue", "python",
                "interface", "local_directory", "log_directory"):
        if cfg.get(key) is not None:
            kwargs[key] = cfg[key]
    kwargs["worker_extra_args"] = [*cfg.get("worker_extra_args", []), "--resources", f"{RESOURCE}=1"]
    kwargs["scheduler_options"] = {"allowed_failures": settings.retries, **(cfg.get("scheduler_options") or {})}
    if (sec := _security(settings)) is not None:
        kwargs["security"] = sec
    kwargs |= cfg.get("options") or {}
    return getattr(dask_jobqueue, JOBQUEUE[settings.kind])(**kwargs)


def ssh_arguments(settings: DaskSettings) -> dict[str, Any]:
    """Keyword arguments of :func:`distributed.SSHCluster` for an ``ssh`` configuration."""
    cfg = settings.config
    kwargs: dict[str, Any] = {
        "hosts": list(cfg["hosts"]),
        "connect_options": cfg.get("connect_options") or {},
        "worker_options": {"n_workers": int(cfg.get("workers_per_host", 1)), "nthreads": 1,
                           "resources": {RESOURCE: 1}, **(cfg.get("worker_options") or {})},
        "scheduler_options": {"allowed_failures": settings.retries, "port": 0,
                              **(cfg.get("scheduler_options") or {})},
    }
    if cfg.get("remote_python"):
        kwargs["remote_python"] = cfg["remote_python"]
    if (sec := _security(settings)) is not None:
        kwargs["security"] = sec
    return kwargs


def local_cluster(n_workers: int, retries: int = 1):
    """``n_workers`` single-threaded worker processes; scheduler, workers and dashboard on 127.0.0.1 only."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.work-stealing": False}):
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                            dashboard_address="127.0.0.1:0", resources={RESOURCE: 1},
                            scheduler_kwargs={"allowed_failures": retries}, silence_logs=40)


@contextlib.contextmanager
def dask_client(settings: DaskSettings, log: Callable[[str], None] = print) -> Iterator[Any]:
    """A connected :class:`distributed.Client` for ``settings``; closes what it started on exit.

    Raises :class:`DaskUnavailable` when the scheduler cannot be reached within
    ``settings.connect_timeout`` seconds.
    """
    import dask
    from distributed import Client

    cluster = None
    with contextlib.ExitStack() as stack:
        if settings.kind == "local":
            cluster = stack.enter_context(local_cluster(settings.workers or 1, settings.retries))
            address, security = cluster, None
        elif settings.kind == "address":
            address, security = settings.address, _security(settings)
        elif settings.kind == "ssh":
            from distributed import SSHCluster

            with dask.config.set({"distributed.scheduler.work-stealing": False}):
                cluster = stack.enter_context(SSHCluster(**ssh_arguments(settings)))
            address, security = cluster, cluster.security if hasattr(cluster, "security") else None
        else:
            with dask.config.set({"distributed.scheduler.work-stealing": False}):
                cluster = stack.enter_context(jobqueue_cluster(settings))
            jobs = int(settings.config.get("jobs", 1))
            cluster.scale(jobs=jobs)
            log(f"kmbench: submitted {jobs} {settings.kind} jobs; workers join as the jobs start")
            address, security = cluster, None
        try:
            kwargs = {"timeout": settings.connect_timeout}
            if security is not None:
                kwargs["security"] = security
            client = stack.enter_context(Client(address, **kwargs))
        except (OSError, TimeoutError) as exc:
            raise DaskUnavailable(
                f"cannot reach the Dask scheduler at {settings.address or settings.kind} within "
                f"{settings.connect_timeout:g} s ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
                "is 'dask scheduler' running there, and reachable from here?") from None
        if settings.kind == "address":
            try:
                allowed = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)
                if allowed != settings.retries:
                    log(f"kmbench: the scheduler at {settings.address} re-queues a run lost with its worker "
                        f"{allowed} time(s) (its distributed.scheduler.allowed-failures), not {settings.retries}")
            except Exception:
                pass
        yield client


# --------------------------------------------------------------------------- the worker side

_WORKER: dict[str, Any] = {"group": None, "env": {}, "plugins": set(), "forking": None}


def _note_parent() -> None:
    _WORKER["forking"] = os.getpid()


def _die_with_worker() -> None:  # pragma: no cover - runs in the forked child
    """In a run's child: be killed when the worker process dies (Linux ``PR_SET_PDEATHSIG``).

    A worker killed mid-run would otherwise leave its child running to the time
    limit, competing for a core with the run's re-queued attempt.
    """
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except Exception:
        return
    if os.getppid() != _WORKER["forking"]:  # the worker died before prctl took effect
        os._exit(1)


def _reap_children_with_worker() -> None:
    if _WORKER.get("reaper"):
        return
    if hasattr(os, "register_at_fork") and os.path.exists("/proc/self"):
        os.register_at_fork(before=_note_parent, after_in_child=_die_with_worker)
    _WORKER["reaper"] = True


def _worker_name() -> tuple[str, str]:
    try:
        from distributed import get_worker

        w = get_worker()
        return str(w.name), str(w.address)
    except Exception:  # not inside a Dask worker (called directly in tests)
        return f"pid {os.getpid()}", ""


@contextlib.contextmanager
def _children_allowed() -> Iterator[None]:
    """Let this worker process fork the run's child.

    A Dask nanny starts its worker as a daemonic ``multiprocessing`` process,
    and ``multiprocessing`` refuses children to daemonic processes (they would be
    orphaned when it exits). The run's child is always joined or killed by
    :func:`~bench_core.runner.measure.execute_isolated` before the task returns,
    so the flag is lifted for the call (what ``distributed.worker.daemon: False``
    does for a whole worker).
    """
    import multiprocessing as mp

    config = mp.current_process()._config  # type: ignore[attr-defined]
    was = config.get("daemon")
    config["daemon"] = False
    try:
        yield
    finally:
        config["daemon"] = was


def remote_run(run: Run, rid: str, spec: GridSpec, use_cache: bool, plugins: tuple[str, ...],
               session: str = "", data_dirs: dict[str, str] | None = None) -> dict[str, Any]:
    """One run on a Dask worker (one thread, one ``kmbench`` resource): its row, the machine record, the worker.

    The worker keeps its :class:`DataGroup` between tasks, so the runs of a group
    that land here load their matrix once. ``data_dirs`` carries the client's
    ``--data-dir`` (``{"clustbench": path}``); a worker that has that folder uses it.
    """
    from ..environment import record
    from ..plugins import load_plugins
    from ..results_io import env_id
    from .measure import pin_thread_env

    _reap_children_with_worker()
    if data_dirs and data_dirs.get("clustbench") and os.path.isdir(data_dirs["clustbench"]):
        from ..datasets import clustbench

        if clustbench.explicit_data_dir() != Path(data_dirs["clustbench"]):
            clustbench.set_data_dir(data_dirs["clustbench"])
            _WORKER["group"] = None  # a data set of that name may now load from elsewhere
    new = [p for p in plugins if p not in _WORKER["plugins"]]
    if new:
        load_plugins(new)
        _WORKER["plugins"].update(new)
    pin_thread_env(spec.n_threads)
    gpu = "torch" in run.entry
    if gpu not in _WORKER["env"]:
        rec = record(gpu=gpu)
        _WORKER["env"][gpu] = (env_id(rec), rec)
    eid, rec = _WORKER["env"][gpu]
    name, address = _worker_name()
    with contextlib.suppress(Exception):  # tells the client that this run started (see run_grid_dask)
        from distributed import get_worker

        get_worker().log_event(START_TOPIC, {"rid": rid, "session": session, "worker": name})
    if _WORKER["group"] is None or new:
        from ..metrics import prepare_all

        prepare_all()  # heavy imports once per worker process, not in every forked run
    if _WORKER["group"] is None:
        _WORKER["group"] = DataGroup()
    try:
        entry = registry.get(run.entry)
    except KeyError as exc:
        row = {"run_id": rid, "status": "error", "env_id": eid,
               "error": f"{exc.args[0]} on Dask worker {name} (is its plug-in loaded there?)"}
    else:
        with _children_allowed():
            row = run_one(run, rid, spec, entry, _WORKER["group"], {}, {}, True, use_cache, eid)
    row["extras"] = dict(row.get("extras") or {}) | {"dask_worker": name}
    return {"row": row, "env": rec, "worker": name, "address": address}


# --------------------------------------------------------------------------- the client side

def _group_key(run: Run, spec: GridSpec) -> tuple:
    return (run.dataset, run.params, run.n, run.dtype, run.metric, spec.data_seed)


def _lineage(run: Run) -> tuple:
    """The cell without n: skip decisions depend on earlier runs of the same lineage."""
    c = run.cell
    return c[:3] + c[4:]


def _before(a: Run, b: Run) -> bool:
    """Whether ``a`` (an earlier run of ``b``'s lineage) decides anything about ``b``: smaller n."""
    if a.n is None:
        return False
    return b.n is None or a.n < b.n


class _DaskProgress(Progress):
    """The local runner's progress bar; the ETA divides the remaining work by the workers."""

    workers = 1

    def eta(self) -> float:
        return super().eta() / max(1, self.workers)

    def _bar(self) -> str:
        return f"{super()._bar()} on {self.workers} worker{'s' if self.workers != 1 else ''}"


def _plugin_paths() -> tuple[str, ...]:
    from .. import plugins

    return tuple(k for k in plugins._LOADED if k.endswith(".py") and Path(k).exists())


def run_grid_dask(specs: list[GridSpec], results: ResultsFile, client, *, resume: bool = False,
                  overwrite: bool = False, progress: bool = True, use_cache: bool = True,
                  command: str | None = None, stream: TextIO | None = None,
                  on_row: Callable[[dict], None] | None = None, retries: int | None = None,
                  wait_for_workers: float | None = 120.0, depth: int = DEPTH) -> RunSummary:
    """:func:`~bench_core.runner.loop.run_grid` on the workers of ``client``.

    Rows are appended to ``results`` on this machine as they arrive. Raises
    ``FileExistsError`` like the local runner; :class:`DaskUnavailable` when no
    worker with the ``kmbench`` resource is there for ``wait_for_workers``
    seconds (None: wait for ever); ``KeyboardInterrupt`` after cancelling what
    is queued (finished rows are on disk).
    """
    from distributed import wait
    from distributed.core import CommClosedError

    from ..environment import record

    # the client's machine: skipped rows and the command
    state = open_grid(specs, results, resume=resume, overwrite=overwrite, command=command,
                      environment=record(), dask=True)
    plan, ids, eid, summary = state.plan, state.ids, state.eid, state.summary
    todo = [(pos, r, i) for pos, (r, i) in enumerate(zip(plan, ids, strict=True)) if i not in state.done]
    spent, timed_out = state.spent, state.timed_out
    entries = {e.name: e for e in registry.entries()}
    plugin_paths = _plugin_paths()
    from ..datasets import clustbench

    suite_dir = clustbench.explicit_data_dir()
    data_dirs = {"clustbench": str(suite_dir)} if suite_dir is not None else {}
    session = uuid.uuid4().hex[:8]
    known_envs: dict[str, str] = {}
    starts: dict[str, int] = {}

    def on_start(event) -> None:
        msg = event[1] if isinstance(event, tuple) else event
        if isinstance(msg, dict) and msg.get("session") == session:
            starts[msg["rid"]] = starts.get(msg["rid"], 0) + 1

    prog = _DaskProgress(len(todo), stream=stream, enabled=progress)
    pending: list[tuple[int, Run, str]] = list(todo)  # plan order
    unfinished: dict[tuple, list[tuple[int, Run]]] = {}
    for pos, r, _ in todo:
        unfinished.setdefault(_lineage(r), []).append((pos, r))
    inflight: dict[Any, tuple[int, Run, str, str]] = {}  # future -> (pos, run, rid, worker address)
    submitted: dict[str, int] = {}  # run id -> tasks submitted for it
    holds: dict[str, tuple] = {}  # worker address -> group key it holds
    workers: list[str] = []
    seen_workers = 0.0
    no_worker_since: float | None = None

    def refresh_workers() -> None:
        nonlocal workers, seen_workers
        info = client.scheduler_info()
        workers = sorted(a for a, w in info.get("workers", {}).items()
                         if (w.get("resources") or {}).get(RESOURCE, 0) >= 1)
        for gone in set(holds) - set(workers):
            holds.pop(gone)
        seen_workers = time.monotonic()
        prog.workers = len(workers) or 1

    def ready(pos: int, run: Run) -> bool:
        budget = specs[run.spec_index].restart_budget is not None
        for q, other in unfinished[_lineage(run)]:
            if q >= pos:
                break
            if _before(other, run) or (budget and other.n == run.n):
                return False
        return True

    def finish(pos: int, run: Run, row: dict) -> None:
        lst = unfinished[_lineage(run)]
        lst.remove((pos, run))
        status = row["status"]
        if status == "ok" and row.get("fit_time") is not None:
            spent[run.cell] = spent.get(run.cell, 0.0) + float(row["fit_time"])
        elif status == "timeout":
            timed_out[run.cell] = run.n
        results.append(row)
        summary.counts[status] = summary.counts.get(status, 0) + 1
        if on_row is not None:
            on_row(row)
        prog.remaining = [r for _, r, _ in pending] + [v[1] for v in inflight.values()]
        prog.finish(run, status, row.get("fit_time") or 0.0, row.get("loss"))

    def choose(address: str) -> int | None:
        """Index in ``pending`` of the run to give ``address``: its group, a free group, any group."""
        held = holds.get(address)
        taken = set(holds.values())
        first_free = first_any = None
        for i, (pos, run, _) in enumerate(pending):
            if not ready(pos, run):
                continue
            key = _group_key(run, specs[run.spec_index])
            if key == held:
                return i
            if first_free is None and key not in taken:
                first_free = i
            if first_any is None:
                first_any = i
        return first_free if first_free is not None else first_any

    def submit(address: str) -> str | None:
        """Hand ``address`` its next run: "submitted", "skipped" (written here), or None (nothing ready)."""
        i = choose(address)
        if i is None:
            return None
        pos, run, rid = pending.pop(i)
        spec = specs[run.spec_index]
        why = skip_reason(run, spec, spent, timed_out)
        if why is not None:  # decided here, with everything earlier in its lineage finished
            finish(pos, run, base_row(run, rid, spec, entries[run.entry], eid) | {"status": "skipped", "error": why})
            return "skipped"
        send(pos, run, rid, address)
        holds[address] = _group_key(run, spec)
        return "submitted"

    def send(pos: int, run: Run, rid: str, address: str | None) -> None:
        attempt = submitted[rid] = submitted.get(rid, 0) + 1
        fut = client.submit(remote_run, run, rid, specs[run.spec_index], use_cache, plugin_paths, session,
                            data_dirs, key=f"kmbench-{rid}-{session}-{attempt}", resources={RESOURCE: 1},
                            workers=None if address is None else [address],
                            allow_other_workers=None if address is None else True, pure=False)
        inflight[fut] = (pos, run, rid, address or "")

    def fill() -> None:
        nonlocal no_worker_since
        if time.monotonic() - seen_workers > 1.0:
            refresh_workers()
        if not workers:
            no_worker_since = no_worker_since or time.monotonic()
            waited = time.monotonic() - no_worker_since
            if wait_for_workers is not None and waited > wait_for_workers and not inflight:
                raise DaskUnavailable(
                    f"no Dask worker with the '{RESOURCE}' resource joined within {wait_for_workers:g} s; "
                    f"start workers with 'dask worker ADDRESS --nthreads 1 --resources {RESOURCE}=1'")
            return
        no_worker_since = None
        busy: dict[str, int] = {}
        for *_, a in inflight.values():
            busy[a] = busy.get(a, 0) + 1
        progress_made = True
        while pending and progress_made:
            progress_made = False
            for a in workers:  # one run per worker per pass: spread the queue evenly
                if busy.get(a, 0) < depth and (what := submit(a)):
                    busy[a] = busy.get(a, 0) + (what == "submitted")
                    progress_made = True

    def collect(fut) -> None:
        from distributed import KilledWorker

        pos, run, rid, _ = inflight.pop(fut)
        spec = specs[run.spec_index]
        try:
            out = fut.result()
        except KilledWorker as exc:
            refresh_workers()
            time.sleep(0.1)  # let start events sent before the loss arrive
            started = starts.get(rid, 0)
            if started <= (retries if retries is not None else 1):  # lost while queued, not (only) running
                send(pos, run, rid, None)
                return
            last = getattr(exc, "last_worker", None)
            who = f"{getattr(last, 'name', '?')} ({getattr(last, 'address', '?')})" if last is not None else "?"
            row = base_row(run, rid, spec, entries[run.entry], eid) | {
                "status": "lost", "env_id": None,
                "error": f"the Dask worker running it was lost on each of its {started} attempt(s); "
                         f"last worker {who}"}
        except (CommClosedError, OSError) as exc:
            raise DaskUnavailable(f"lost the connection to the Dask scheduler: {exc}") from None
        except Exception as exc:  # the task itself failed (not the run: run_one catches those)
            row = base_row(run, rid, spec, entries[run.entry], eid) | {
                "status": "error", "error": f"Dask task failed: {type(exc).__name__}: {exc}"[:2000]}
        else:
            row = out["row"]
            env_key = row.get("env_id")
            if env_key not in known_envs:
                known_envs[env_key] = results.add_environment(out["env"])
            row["env_id"] = known_envs[env_key]
            if out["address"]:
                holds[out["address"]] = _group_key(run, spec)
        finish(pos, run, row)

    client.subscribe_topic(START_TOPIC, on_start)
    try:
        refresh_workers()
        while pending or inflight:
            fill()
            if not inflight:
                if pending and not workers:
                    time.sleep(0.2)
                    continue
                if pending:  # all ready runs were skipped in fill(); go round again
                    continue
                break
            try:
                done, _ = wait(list(inflight), timeout=1.0, return_when="FIRST_COMPLETED")
            except TimeoutError:
                continue
            for fut in sorted(done, key=lambda f: inflight[f][0]):
                collect(fut)
    except KeyboardInterrupt:
        summary.interrupted = True
        with contextlib.suppress(Exception):
            client.cancel(list(inflight), force=True)
        prog.close()
        raise
    finally:
        with contextlib.suppress(Exception):
            client.unsubscribe_topic(START_TOPIC)
    prog.close()
    return summary


def run_on_dask(specs: list[GridSpec], results: ResultsFile, settings: DaskSettings, *,
                log: Callable[[str], None] = print, **kwargs: Any) -> RunSummary:
    """Start or reach the cluster of ``settings``, run the grid on it (:func:`run_grid_dask`), close what was started."""
    log(f"kmbench: running on {settings.describe()}")
    with dask_client(settings, log=log) as client:
        return run_grid_dask(specs, results, client, retries=settings.retries,
                             wait_for_workers=settings.wait_for_workers, **kwargs)


def settings_from_args(target: str | None, config: str | None, *, retries: int | None = None,
                       connect_timeout: float | None = None) -> DaskSettings | None:
    """:class:`DaskSettings` from ``--dask``/``--dask-config`` (None when neither is given)."""
    if target and config:
        raise ValueError("give either --dask or --dask-config, not both")
    if not (target or config):
        if retries is not None or connect_timeout is not None:
            raise ValueError("--dask-retries and --dask-timeout need --dask or --dask-config")
        return None
    try:
        import distributed  # noqa: F401
        import yaml  # noqa: F401
    except ImportError as exc:
        raise ValueError(f"--dask needs Dask ({exc}); install it with pip install 'kmbench[dask]' "
                         "(dask, distributed, dask-jobqueue, pyyaml)") from None
    settings = parse_target(target) if target else load_config(config)
    if retries is not None:
        if retries < 0:
            raise ValueError(f"--dask-retries must be 0 or more, got {retries}")
        settings.retries = retries
    if connect_timeout is not None:
        if connect_timeout <= 0:
            raise ValueError(f"--dask-timeout must be positive, got {connect_timeout}")
        settings.connect_timeout = connect_timeout
    return settings
