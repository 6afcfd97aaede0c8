"""The command line: grids checked before the first run, exit codes, no tracebacks, contained crashes."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from bench_core import registry
from bench_core.algorithms.assignment import assign
from bench_core.cli import main
from bench_core.result import ClusteringResult
from bench_core.results_io import ResultsFile
from bench_core.runner import GridSpec, run_grid

ROOT = Path(__file__).resolve().parent.parent


def _ok(task):
    medoids = np.asarray(task.medoids, dtype=np.int64)
    labels, loss = assign(task.diss, medoids)
    return ClusteringResult(loss=loss, labels=labels, medoids=medoids, n_iter=1, converged=True)


def _raises(task):
    raise RuntimeError("deliberate failure in the implementation")


def _abort(task):  # a C library calling abort()
    os.abort()


def _segfault(task):  # a C library dereferencing NULL
    ctypes.string_at(0)


def _hang(task):  # a C library stuck in a loop
    time.sleep(3600)


def _points_only(task):
    return _ok(task)


@pytest.fixture
def fake_registry(monkeypatch):
    monkeypatch.setattr(registry, "_ENTRIES", {})
    monkeypatch.setattr(registry, "_LOADED", True)
    for name, func in (("fakepam/ok", _ok), ("fakepam/raises", _raises), ("fakepam/abort", _abort),
                       ("fakepam/segfault", _segfault), ("fakepam/hang", _hang)):
        registry.register(name, func, family="kmedoids", language="Python", version=lambda: "1.0")
    registry.register("fakekmeans/points", _points_only, family="kmeans", input="points")
    return registry


def _files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def _run(capsys, *argv) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


BASE = ("run", "--algorithms", "fakepam", "--impl", "ok", "--dataset", "blobs:k=3,d=2", "--n", "30", "--k", "3",
        "--no-progress", "--no-cache", "--no-silhouette")


def _bad_files(d: Path) -> dict[str, str]:
    d.mkdir()
    (d / "text.csv").write_text("1,2\n3,abc\n5,6\n")
    (d / "nan.csv").write_text("1,2\n3,nan\n")
    np.save(d / "rect.npy", np.zeros((4, 5)))
    np.save(d / "neg.npy", -np.ones((4, 4)))
    (d / "corrupt.npy").write_bytes(b"\x93NUMPY garbage")
    np.save(d / "points.npy", np.arange(20.0).reshape(10, 2))
    return {p.name: str(p) for p in d.iterdir()}


# (extra arguments, expected message): each is an invalid grid
INVALID = [
    (["--k", "0"], r"--k 0: expected a whole number >= 1"),
    (["--k", "31"], r"--k 31 with --dataset blobs:k=3,d=2 at n=30: k must be <= n = 30"),
    (["--n", "0"], r"--n 0: expected a whole number >= 1"),
    (["--n=-5"], r"--n -5: expected a whole number >= 1"),
    (["--dataset", "nosuch"], r"unknown dataset 'nosuch'; known: .*mnist"),
    (["--dataset", "blobs:zz=1"], r"unknown parameter\(s\) zz of blobs; known: .*spread"),
    (["--dataset", "blobs:d=0"], r"blobs:d=0 is empty \(shape \(30, 0\)\)"),
    (["--dataset", "blobs:k=0"], r"invalid parameters for blobs"),
    (["--dataset", "blobs:k=abc"], r"parameter k='abc' of blobs must be a whole number \(default 5\)"),
    (["--dataset", "blobs:k=2.5"], r"parameter k=2.5 of blobs must be a whole number"),
    (["--dataset", "blobs:spread=inf"], r"parameter spread=inf of blobs must be a finite number"),
    (["--dataset", "iris", "--n", "200"], r"iris has 150 rows; --n 200 is larger"),
    (["--dataset", "iris", "--n", "all", "--k", "151"], r"k must be <= n = 150"),
    (["--metric", "hamming"], r"--metric 'hamming': expected one of euclidean"),
    (["--dtype", "int8"], r"--dtype 'int8': expected one of float64, float32"),
    (["--time-limit=-1"], r"--time-limit -1.0: expected a number of seconds > 0"),
    (["--restart-budget", "0"], r"--restart-budget 0.0: expected a number of seconds > 0"),
    (["--threads", "0"], r"--threads 0: expected a whole number >= 1"),
    (["--init", "magic"], r"--init 'magic': expected auto or one of"),
    (["--max-iter=-2"], r"--max-iter -2: expected a whole number >= 0"),
    (["--seeds", "0,0"], r"--seeds lists 0 more than once"),
    (["--seeds=-1,2"], r"--seeds -1: expected whole numbers >= 0"),
    (["--impl", "nosuchimpl"], r"--impl 'nosuchimpl' matches no registered implementation"),
    (["--algorithms", "nosuchalgo"], r"--algorithms 'nosuchalgo' matches no registered algorithm"),
    (["--dataset", "file:{missing}"], r"does not exist"),
    (["--dataset", "file:{text.csv}"], r"cannot read text.csv: .*'abc'.*expected rows of numbers"),
    (["--dataset", "file:{nan.csv}"], r"NaN or infinite value \(row 2, column 2\)"),
    (["--dataset", "file:{corrupt.npy}"], r"cannot read corrupt.npy: .*expected a .npy array"),
    (["--dataset", "diss:{rect.npy}", "--n", "all"], r"shape \(4, 5\); expected a square n x n matrix"),
    (["--dataset", "diss:{neg.npy}", "--n", "all"], r"negative entries"),
    (["--dataset", "diss:{points.npy}", "--n", "all"], r"expected a square"),
    (["--dataset", "file:{points.npy}", "--n", "all", "--k", "11"], r"k must be <= n = 10"),
    (["--dataset", "file:{points.npy}", "--n", "20"], r"has 10 rows; --n 20 is larger"),
    (["--option", "noequals"], r"--option 'noequals' must look like KEY=VALUE"),
    (["--resume", "--overwrite"], r"--resume and --overwrite contradict"),
]


@pytest.mark.parametrize("extra,message", INVALID, ids=[" ".join(a) for a, _ in INVALID])
def test_invalid_grid_is_rejected_before_anything_is_created(fake_registry, tmp_path, capsys, extra, message):
    files = _bad_files(tmp_path / "in")
    files["missing"] = str(tmp_path / "missing.csv")
    for key, path in files.items():
        extra = [a.replace("{" + key + "}", path) for a in extra]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    rc, out, err = _run(capsys, *BASE, *extra, "--name", str(out_dir / "r.csv"))
    assert rc == 2, err
    assert __import__("re").search(message, err), err
    assert "Traceback" not in out + err
    assert _files(out_dir) == {}  # no results file, no lock, no meta


def test_every_problem_is_listed_one_line_each(fake_registry, tmp_path, capsys):
    rc, _, err = _run(capsys, *BASE, "--k", "0,99", "--metric", "nope", "--dtype", "int8", "--time-limit=-3",
                      "--name", str(tmp_path / "r.csv"))
    assert rc == 2
    lines = [ln for ln in err.splitlines() if ln.startswith("kmbench run: invalid:")]
    assert len(lines) == 5, err  # k=0, metric, dtype, time limit, k=99 > n=30
    assert "5 problem(s) in the grid" in err and not (tmp_path / "r.csv").exists()


def test_dry_run_prints_the_validated_plan_and_creates_nothing(fake_registry, tmp_path, capsys):
    rc, out, err = _run(capsys, *BASE, "--seeds", "2", "--dry-run", "--name", str(tmp_path / "r.csv"))
    assert rc == 0, err
    assert out.count("fakepam/ok") == 2 and "2 runs, grid checked" in out
    assert _files(tmp_path) == {}


def test_more_threads_than_cpus_is_a_warning_not_an_error(fake_registry, tmp_path, capsys, monkeypatch):
    from bench_core import environment

    monkeypatch.setattr(environment, "usable_cpus", lambda: 2)
    rc, out, err = _run(capsys, *BASE, "--threads", "3", "--dry-run", "--name", str(tmp_path / "r.csv"))
    assert rc == 0 and "1 runs, grid checked" in out
    assert "warning: runs with 3 threads on the 2 CPU(s)" in err
    rc, out, err = _run(capsys, *BASE, "--threads", "2", "--dry-run", "--name", str(tmp_path / "r.csv"))
    assert rc == 0 and "warning" not in err


def test_exit_0_when_all_runs_end_as_planned(fake_registry, tmp_path, capsys):
    rc, out, err = _run(capsys, *BASE, "--seeds", "2", "--name", str(tmp_path / "r.csv"))
    assert rc == 0, err
    assert "2 ok" in out
    assert len(ResultsFile(tmp_path / "r.csv").load()) == 2


def test_exit_1_with_a_summary_by_cause_when_a_run_errs(fake_registry, tmp_path, capsys):
    rc, out, err = _run(capsys, *BASE, "--impl", "ok,raises", "--seeds", "2", "--name", str(tmp_path / "r.csv"))
    assert rc == 1
    assert "2 run(s) ended in error, by cause:" in err
    assert "2 x RuntimeError: deliberate failure in the implementation  [fakepam/raises]" in err
    df = ResultsFile(tmp_path / "r.csv").load()
    assert sorted(df["status"]) == ["error", "error", "ok", "ok"]


def test_existing_results_without_resume_or_overwrite_is_a_usage_error(fake_registry, tmp_path, capsys):
    assert _run(capsys, *BASE, "--name", str(tmp_path / "r.csv"))[0] == 0
    before = _files(tmp_path)
    rc, out, err = _run(capsys, *BASE, "--name", str(tmp_path / "r.csv"))
    assert rc == 2 and "already exist; pass --resume" in err and "Traceback" not in err
    assert _files(tmp_path) == before
    assert _run(capsys, *BASE, "--name", str(tmp_path / "r.csv"), "--resume")[0] == 0


def test_second_run_on_the_same_name_is_refused(fake_registry, tmp_path, capsys):
    path = tmp_path / "r.csv"
    assert _run(capsys, *BASE, "--name", str(path))[0] == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from bench_core.results_io import ResultsFile
            ResultsFile({str(path)!r}).lock()
            print("locked", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True, env=os.environ | {"PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = path.read_bytes()
        rc, out, err = _run(capsys, *BASE, "--name", str(path), "--resume", "--seeds", "3")
        assert rc == 2
        assert f"is being written by kmbench pid {holder.pid}" in err and "Traceback" not in err
        assert path.read_bytes() == before
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_crashing_and_hanging_implementations_stay_rows_and_the_grid_goes_on(fake_registry, tmp_path):
    spec = GridSpec(algorithms=["fakepam"], implementations=["abort", "segfault", "hang", "raises", "ok"],
                    datasets=["blobs:k=3,d=2"], ns=[30], ks=[3], seeds=[0, 1], time_limit=2.0, silhouette=False)
    rf = ResultsFile(tmp_path / "crash.csv")
    summary = run_grid([spec], rf, progress=False, use_cache=False)
    df = rf.load()
    status = dict(zip(df["entry"] + "#" + df["seed"].astype(str), df["status"], strict=True))
    errors = dict(zip(df["entry"] + "#" + df["seed"].astype(str), df["error"].fillna(""), strict=True))
    assert status["fakepam/ok#0"] == status["fakepam/ok#1"] == "ok"  # ran after the crashes
    assert status["fakepam/abort#0"] == "error" and "signal 6" in errors["fakepam/abort#0"]
    assert status["fakepam/segfault#0"] == "error" and "signal 11" in errors["fakepam/segfault#0"]
    assert status["fakepam/hang#0"] == "timeout" and "time limit of 2 s" in errors["fakepam/hang#0"]
    assert status["fakepam/hang#1"] == "skipped"  # not waited for twice
    assert status["fakepam/raises#1"] == "error"
    assert summary.counts == {"ok": 2, "error": 6, "timeout": 1, "skipped": 1}


def test_points_only_implementation_on_a_matrix_is_rejected(fake_registry, tmp_path, capsys):
    np.save(tmp_path / "d.npy", np.ones((5, 5)) - np.eye(5))
    rc, _, err = _run(capsys, "run", "--algorithms", "fakekmeans", "--dataset", f"diss:{tmp_path / 'd.npy'}",
                      "--n", "all", "--k", "2", "--name", str(tmp_path / "r.csv"))
    assert rc == 2 and "need(s) points" in err and not (tmp_path / "r.csv").exists()


def test_help_documents_the_exit_codes(capsys):
    rc, out, _ = _run(capsys, "run", "--help")
    assert rc == 0
    for code in ("0 ", "1 ", "2 ", "130"):
        assert f"\n  {code}" in out
    assert "usage error" in out and "interrupted" in out


def test_internal_errors_keep_their_traceback(monkeypatch, capsys):
    from bench_core.cli import env

    def boom(args):
        raise RuntimeError("an internal bug")

    monkeypatch.setattr(env, "run", boom)
    rc, out, err = _run(capsys, "env")
    assert rc == 1
    assert "Traceback" in err and "RuntimeError: an internal bug" in err and "please report it" in err


def test_interrupt_is_130(monkeypatch, capsys):
    from bench_core.cli import env

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(env, "run", interrupted)
    assert _run(capsys, "env")[0] == 130


# every subcommand, in a fresh process, with bad arguments: a clear message, status 2, no traceback
SUBCOMMAND_ERRORS = [
    (["run", "--k", "0", "--dataset", "blobs", "--n", "10"], "--k 0: expected a whole number >= 1"),
    (["run", "--dtype", "int8", "--n", "10", "--dataset", "blobs"], "--dtype 'int8'"),
    (["run", "--k", "many"], "'many' is not a whole number"),
    (["run", "--no-such-option"], "unrecognized arguments"),
    (["validate", "--algorithm", "nosuch", "--no-write"], "--algorithm 'nosuch': not registered"),
    (["report", "/nonexistent/r.csv"], "does not exist"),
    (["reproduce", "nosuch"], "invalid choice"),
    (["regress", "--results", "/nonexistent/a.json", "/nonexistent/b.json"], "no asv result file"),
    (["regress", "a", "b", "c"], "expected BASE and HEAD"),
    (["datasets", "info", "nosuch"], "unknown dataset 'nosuch'"),
    (["datasets", "info", "iris", "--n", "0"], "--n 0: expected a whole number >= 1"),
    (["datasets", "info"], "needs a data set name"),
    (["list", "--family", "nosuch"], "--family 'nosuch' is not a family"),
    (["env", "--bogus"], "unrecognized arguments"),
    (["nosuchcommand"], "invalid choice"),
]


@pytest.mark.parametrize("argv,message", SUBCOMMAND_ERRORS, ids=[" ".join(a) for a, _ in SUBCOMMAND_ERRORS])
def test_every_subcommand_answers_bad_arguments_without_a_traceback(tmp_path, argv, message):
    env = os.environ | {"PYTHONPATH": str(ROOT), "KMBENCH_RESULTS": str(tmp_path / "runs"),
                        "KMBENCH_CACHE": str(tmp_path / "cache")}
    p = subprocess.run([sys.executable, "-m", "bench_core.cli", *argv], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=300)
    assert p.returncode == 2, p.stderr
    assert message in p.stderr, p.stderr
    assert "Traceback" not in p.stdout + p.stderr
    assert not (tmp_path / "runs").exists()


def test_resume_and_report_name_the_damaged_line(fake_registry, tmp_path, capsys):
    path = tmp_path / "r.csv"
    assert _run(capsys, *BASE, "--seeds", "3", "--name", str(path))[0] == 0
    lines = path.read_bytes().splitlines(keepends=True)
    assert len(lines) == 4
    lines[2] = b"\x00\x01\xfe\xff" * 8 + b"\n"  # the second row (seed 1) overwritten by garbage
    path.write_bytes(b"".join(lines))
    rc, out, err = _run(capsys, "report", str(path), "--out", str(tmp_path / "rep"), "--no-latex-compile")
    assert rc == 0, err
    assert "kmbench: warning:" in err and "line 3: binary garbage" in err and "kept 2 row(s)" in err
    rc, out, err = _run(capsys, *BASE, "--seeds", "3", "--name", str(path), "--resume")
    assert rc == 0, err
    assert "line 3: binary garbage" in err and "saved to r.csv.damaged" in err
    assert "1 ok, 2 already finished" in out  # only the damaged run was done again
    assert (tmp_path / "r.csv.damaged").read_bytes() == b"\x00\x01\xfe\xff" * 8 + b"\n"
    df = ResultsFile(path).load()
    assert sorted(df["seed"]) == [0, 1, 2] and (df["status"] == "ok").all()
