"""``kmbench run --dask``: a loopback LocalCluster of 2 workers runs tiny grids (blobs, n <= 200).

Same rows as the local runner, a worker killed mid-run (re-queued, then ``lost``
when it happens again), Ctrl-C and ``--resume``, an unreachable scheduler, the
SLURM job script of a config file (nothing submitted).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")
pytest.importorskip("dask_jobqueue")
pytest.importorskip("yaml")

from bench_core import plugins, registry  # noqa: E402
from bench_core.cli import main  # noqa: E402
from bench_core.results_io import ResultsFile  # noqa: E402
from bench_core.runner import GridSpec, expand, run_grid, run_id  # noqa: E402
from bench_core.runner.distributed import (  # noqa: E402
    RESOURCE,
    DaskSettings,
    jobqueue_cluster,
    load_config,
    local_cluster,
    parse_target,
    run_grid_dask,
    ssh_arguments,
)

# A plug-in whose run of seed 0 sleeps until the test kills its worker: attempt i (counted
# by marker files) sleeps while i <= options["kills"], after writing "<worker pid> <child pid>".
SLEEPY = '''
import os, time
from pathlib import Path
import numpy as np
from bench_core import registry
from bench_core.algorithms.assignment import assign
from bench_core.result import ClusteringResult

def _sleepy(task):
    if task.seed == 0:
        folder = Path(task.options["marks"])
        attempt = len(list(folder.glob("attempt-*"))) + 1
        (folder / f"attempt-{attempt}").write_text(f"{os.getppid()} {os.getpid()}")
        if attempt <= int(task.options["kills"]):
            time.sleep(60)
    medoids = np.asarray(task.medoids, dtype=np.int64)
    labels, loss = assign(task.diss, medoids)
    return ClusteringResult(loss=loss, labels=labels, medoids=medoids, n_iter=1, converged=True)

registry.register("sleepy/test", _sleepy, family="kmedoids", language="Python")
'''


def tiny_grid(**kw) -> GridSpec:
    base = dict(algorithms=["fasterpam", "alternating"], implementations=["reference"], datasets=["blobs"],
                ns=[100, 200], ks=[3], seeds=[0, 1], time_limit=60.0, silhouette=True)
    return GridSpec(**(base | kw))


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("diss-cache")
    old = os.environ.get("KMBENCH_CACHE")
    os.environ["KMBENCH_CACHE"] = str(path)  # read by workers when they import bench_core
    yield path
    if old is None:
        os.environ.pop("KMBENCH_CACHE", None)
    else:
        os.environ["KMBENCH_CACHE"] = old


@pytest.fixture(scope="module")
def client(cache_dir):
    with local_cluster(2, retries=1) as cluster, distributed.Client(cluster, timeout=60) as c:
        c.wait_for_workers(2, timeout=120)
        yield c


def _rows(path: Path):
    return ResultsFile(path).load(latest=False)


def test_local_cluster_is_loopback_only(client):
    import psutil

    info = client.scheduler_info()
    assert info["address"].startswith("tcp://127.0.0.1:")
    assert all(a.startswith("tcp://127.0.0.1:") for a in info["workers"])
    assert all((w.get("resources") or {}).get(RESOURCE) == 1 and w["nthreads"] == 1
               for w in info["workers"].values())
    pids = [os.getpid(), *client.run(os.getpid).values()]
    procs = [psutil.Process(p) for p in pids]
    listening = [c.laddr for p in procs for c in getattr(p, "net_connections", p.connections)(kind="inet")
                 if c.status == psutil.CONN_LISTEN]
    assert listening and all(addr.ip == "127.0.0.1" for addr in listening), listening


def test_same_rows_as_local_runner(client, tmp_path):
    spec = tiny_grid()
    local = ResultsFile(tmp_path / "local.csv")
    run_grid([spec], local, progress=False)
    dask = ResultsFile(tmp_path / "dask.csv")
    summary = run_grid_dask([spec], dask, client, progress=False, retries=1)
    a, b = _rows(local.path), _rows(dask.path)
    assert summary.counts == {"ok": len(a)} and len(a) == len(expand([spec])) == 8
    assert b["run_id"].is_unique and set(a["run_id"]) == set(b["run_id"])
    m = a.merge(b, on="run_id", suffixes=("_local", "_dask"))
    for col in ("status", "loss", "medoids", "silhouette", "n_iter"):
        assert (m[f"{col}_local"] == m[f"{col}_dask"]).all(), col
    workers = {str(e).split('"dask_worker":"')[1].split('"')[0] for e in b["extras"]}
    assert workers <= {"0", "1"}
    meta = dask.read_meta()
    assert set(b["env_id"]) <= set(meta["environments"])
    rec = meta["environments"][b["env_id"].iloc[0]]
    assert rec["hostname"] and rec["cpu_model"] and rec["memory_gb"] and rec["packages"]["distributed"]


@pytest.fixture(scope="module")
def sleepy_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("plugin") / "sleepy_plugin.py"
    path.write_text(SLEEPY)
    return path


@pytest.fixture
def sleepy(sleepy_file, tmp_path, monkeypatch):
    """The sleepy plug-in, loaded here and (through the task) on the workers; registry restored after."""
    registry.load()
    monkeypatch.setattr(registry, "_ENTRIES", dict(registry._ENTRIES))
    monkeypatch.setattr(plugins, "_LOADED", dict(plugins._LOADED))
    plugins.load_plugin(sleepy_file)
    marks = tmp_path / "marks"
    marks.mkdir()
    return marks


def _gone(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _killer(marks: Path, kills: int, stop: threading.Event, orphans: list[int]) -> threading.Thread:
    """Kill the worker process of each of the first ``kills`` attempts; note its run's child."""
    def loop():
        done = 0
        while done < kills and not stop.is_set():
            mark = marks / f"attempt-{done + 1}"
            if mark.exists() and mark.read_text():
                worker, child = map(int, mark.read_text().split())
                os.kill(worker, signal.SIGKILL)
                orphans.append(child)
                done += 1
            time.sleep(0.05)
    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return t


def _sleepy_grid(marks: Path, kills: int) -> GridSpec:
    return tiny_grid(algorithms=[], entries=["sleepy/test"], ns=[100], seeds=[0, 1, 2],
                     options={"marks": str(marks), "kills": kills})


def test_worker_killed_mid_run_is_requeued(client, tmp_path, sleepy):
    spec = _sleepy_grid(sleepy, kills=1)
    stop, orphans = threading.Event(), []
    killer = _killer(sleepy, 1, stop, orphans)
    out = ResultsFile(tmp_path / "killed.csv")
    try:
        summary = run_grid_dask([spec], out, client, progress=False, retries=1)
    finally:
        stop.set()
        killer.join()
        for pid in orphans:  # the run's child dies with its worker (PR_SET_PDEATHSIG), no 60 s orphan
            deadline = time.monotonic() + 10
            while not _gone(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            gone = _gone(pid)
            if not gone:
                os.kill(pid, signal.SIGKILL)
            assert gone, "the killed worker's run child outlived it"
    rows = _rows(out.path)
    assert rows["run_id"].is_unique and len(rows) == len(expand([spec])) == 3
    assert summary.counts == {"ok": 3}, rows["error"].tolist()
    # killed with its worker on the first attempt, finished on the second (re-queued) one
    assert sorted(p.name for p in sleepy.glob("attempt-*")) == ["attempt-1", "attempt-2"]

    client.wait_for_workers(2, timeout=120)


def test_worker_lost_again_is_recorded_as_lost(client, tmp_path, sleepy):
    spec = _sleepy_grid(sleepy, kills=1)
    client.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", 0))
    stop, orphans = threading.Event(), []
    killer = _killer(sleepy, 1, stop, orphans)
    out = ResultsFile(tmp_path / "lost.csv")
    try:
        summary = run_grid_dask([spec], out, client, progress=False, retries=0)
    finally:
        stop.set()
        killer.join()
        client.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", 1))
        for pid in orphans:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)
    rows = _rows(out.path)
    assert rows["run_id"].is_unique and len(rows) == 3
    assert summary.counts == {"lost": 1, "ok": 2}, rows["error"].tolist()
    lost = rows[rows["seed"] == 0].iloc[0]
    assert lost["status"] == "lost"
    assert "lost on each of its 1 attempt(s); last worker" in lost["error"] and "(tcp://127.0.0.1:" in lost["error"]
    assert lost["run_id"] not in out.finished_ids()  # --resume runs it again
    client.wait_for_workers(2, timeout=120)


def test_interrupt_then_resume(client, tmp_path):
    spec = tiny_grid()
    out = ResultsFile(tmp_path / "interrupted.csv")
    seen = []

    def interrupt(row):
        seen.append(row["run_id"])
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_grid_dask([spec], out, client, progress=False, on_row=interrupt)
    assert len(_rows(out.path)) == 3
    summary = run_grid_dask([spec], out, client, progress=False, resume=True)
    rows = _rows(out.path)
    planned = {run_id(r, spec) for r in expand([spec])}
    assert summary.resumed == 3 and sum(summary.counts.values()) == 5
    assert rows["run_id"].is_unique and set(rows["run_id"]) == planned


def test_unreachable_scheduler_fails_fast(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KMBENCH_RESULTS", str(tmp_path))
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    rc = main(["run", "--algorithms", "fasterpam", "--impl", "reference", "--dataset", "blobs", "--n", "50",
               "--k", "2", "--name", str(tmp_path / "x.csv"), "--no-progress",
               "--dask", f"tcp://127.0.0.1:{port}", "--dask-timeout", "2"])
    elapsed = time.monotonic() - t0
    err = capsys.readouterr().err
    assert rc == 2
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port} within 2 s" in err
    assert elapsed < 30


def test_targets_and_config_errors(tmp_path, capsys):
    assert parse_target("local:3").workers == 3
    assert parse_target("tcp://head:8786").address == "tcp://head:8786"
    for bad in ("local:0", "local:x", "head:8786", "http://head:8786"):
        with pytest.raises(ValueError, match="--dask"):
            parse_target(bad)
    with pytest.raises(ValueError, match="unknown settings \\['corez'\\]"):
        load_config({"cluster": "slurm", "cores": 4, "memory": "8GB", "corez": 3})
    with pytest.raises(ValueError, match="'cluster' must be one of"):
        load_config({"cluster": "kubernetes"})
    with pytest.raises(ValueError, match="needs 'memory'"):
        load_config({"cluster": "slurm", "cores": 4})
    rc = main(["run", "--dask", "local:1", "--in-process", "--name", str(tmp_path / "y.csv")])
    assert rc == 2 and "--in-process cannot be combined with --dask" in capsys.readouterr().err


SLURM_YAML = """
cluster: slurm
jobs: 3
cores: 4
memory: 16GB
walltime: "02:00:00"
queue: short
account: myproject
job_script_prologue: ["source /opt/kmbench/.venv/bin/activate"]
retries: 2
scheduler_options: {host: 127.0.0.1, dashboard_address: "127.0.0.1:0"}
"""


def test_slurm_job_script_from_config(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr("subprocess.Popen", lambda *a, **k: calls.append(a) or pytest.fail("submitted a job"))
    cfg = tmp_path / "slurm.yaml"
    cfg.write_text(SLURM_YAML)
    settings = load_config(cfg)
    assert settings.kind == "slurm" and settings.retries == 2 and settings.wait_for_workers is None
    with jobqueue_cluster(settings) as cluster:
        script = cluster.job_script()
        assert not cluster.workers and not calls
        assert cluster.scheduler.allowed_failures == 2
    for line in ("#SBATCH -p short", "#SBATCH -A myproject", "#SBATCH -n 1", "#SBATCH --cpus-per-task=4",
                 "#SBATCH -t 02:00:00", "source /opt/kmbench/.venv/bin/activate"):
        assert line in script, (line, script)
    assert "--nworkers 4" in script and "--nthreads 1" in script
    assert f"--resources {RESOURCE}=1" in script
    assert "tcp://127.0.0.1:" in script


def test_ssh_arguments():
    s = load_config({"cluster": "ssh", "hosts": ["head", "node1", "node2"], "workers_per_host": 8,
                     "remote_python": "/opt/venv/bin/python", "retries": 3})
    kw = ssh_arguments(s)
    assert kw["hosts"] == ["head", "node1", "node2"] and kw["remote_python"] == "/opt/venv/bin/python"
    assert kw["worker_options"] == {"n_workers": 8, "nthreads": 1, "resources": {RESOURCE: 1}}
    assert kw["scheduler_options"]["allowed_failures"] == 3
    assert isinstance(s, DaskSettings) and "node1" in s.describe()


def test_data_dir_reaches_the_workers(client, tmp_path):
    """--data-dir is set on the client only; the workers (started before the folder
    existed, without $KMBENCH_CLUSTBENCH_DIR pointing at it) load the suite from it."""
    import gzip

    from bench_core.datasets import clustbench

    root = tmp_path / "suite"
    (root / "toy").mkdir(parents=True)
    pts = [[0.0, 0.0], [0.1, 0.0], [0.0, 0.2], [5.0, 5.0], [5.1, 5.0], [5.0, 5.2]]
    with gzip.open(root / "toy" / "six.data.gz", "wt") as fh:
        fh.write("\n".join(" ".join(map(str, p)) for p in pts) + "\n")
    with gzip.open(root / "toy" / "six.labels0.gz", "wt") as fh:
        fh.write("1\n1\n1\n2\n2\n2\n")
    (root / "toy" / "six.txt").write_text("Two groups of three points.\n")
    clustbench.set_data_dir(root)
    try:
        spec = GridSpec(algorithms=["fasterpam"], implementations=["reference"], datasets=["clustbench:toy/six"],
                        ns=[6], ks=[2], seeds=[0, 1, 2, 3], time_limit=60.0)
        out = ResultsFile(tmp_path / "suite.csv")
        summary = run_grid_dask([spec], out, client, progress=False, retries=1)
        rows = _rows(out.path)
        assert summary.counts == {"ok": 4}, rows["error"].tolist()
        assert (rows["ari"] == 1.0).all()
    finally:
        clustbench.set_data_dir(None)
