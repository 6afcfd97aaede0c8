"""Results files: damaged records, one writer at a time, write errors, dynamic metric columns."""

from __future__ import annotations

import csv
import errno
import os
import subprocess
import sys
import textwrap

import pytest

from bench_core import metrics as metrics_mod
from bench_core import results_io
from bench_core.results_io import (
    COLUMNS,
    DamagedResultsWarning,
    ResultsFile,
    ResultsLockedError,
    ResultsWriteError,
)


def _row(i: int, status: str = "ok", **extra) -> dict:
    return {"run_id": f"{i:016x}", "status": status, "entry": "pam/reference", "n": 10, "k": 2,
            "loss": 1.5 + i, "error": "line one\nline two" if status == "error" else None} | extra


@pytest.fixture
def no_metrics(monkeypatch):
    monkeypatch.setattr(metrics_mod, "_METRICS", {})
    monkeypatch.setattr(metrics_mod, "metrics", lambda: {})


def _file(tmp_path, rows=5) -> ResultsFile:
    rf = ResultsFile(tmp_path / "r.csv")
    rf.create()
    for i in range(rows):
        rf.append(_row(i, "error" if i == 1 else "ok"))
    return rf


def _lines(rf: ResultsFile) -> list[bytes]:
    return rf.path.read_bytes().splitlines(keepends=True)


@pytest.mark.parametrize("damage", ["garbage", "fields"])
def test_damaged_record_in_the_middle_is_named_and_skipped(tmp_path, no_metrics, damage):
    rf = _file(tmp_path)
    lines = _lines(rf)
    # line 1 header, 2 row 0, 3-4 row 1 (a two-line error message), 5 row 2, 6 row 3, 7 row 4
    assert len(lines) == 7
    lines[4] = b"\x00\xff\xfe garbage \x89PNG\x1a\n" if damage == "garbage" else b"0000000000000002,ok,,x\n"
    rf.path.write_bytes(b"".join(lines))
    with pytest.warns(DamagedResultsWarning, match=r"line 5: .*skipped") as rec:
        df = rf.load()
    msg = str(rec[0].message)
    assert ("binary garbage" in msg) if damage == "garbage" else (f"4 fields, expected {len(COLUMNS)}" in msg)
    assert "kept 4 row(s), skipped 1" in msg
    assert sorted(df["run_id"]) == [f"{i:016x}" for i in (0, 1, 3, 4)]
    assert df.loc[df["run_id"] == f"{1:016x}", "error"].item() == "line one\nline two"


def test_resume_removes_damaged_records_and_keeps_them_aside(tmp_path, no_metrics):
    rf = _file(tmp_path)
    lines = _lines(rf)
    lines[5] = b"not,a,row\n"
    rf.path.write_bytes(b"".join(lines))
    with pytest.warns(DamagedResultsWarning, match=r"line 6: 3 fields.*Kept 4 row.*saved to r\.csv\.damaged"):
        rf.check_header()
    assert (tmp_path / "r.csv.damaged").read_bytes() == b"not,a,row\n"
    rf.append(_row(9))
    df = rf.load()  # no warning any more: the file is clean
    assert sorted(df["run_id"]) == [f"{i:016x}" for i in (0, 1, 2, 4, 9)]
    assert rf.finished_ids() == {f"{i:016x}" for i in (0, 2, 4, 9)}


def test_unterminated_quote_skips_the_rest_and_names_lines(tmp_path, no_metrics):
    rf = _file(tmp_path)
    lines = _lines(rf)
    lines[4] = b'"unterminated,ok\n'
    rf.path.write_bytes(b"".join(lines))
    with pytest.warns(DamagedResultsWarning, match="line"):
        df = rf.load()
    assert set(df["run_id"]) >= {f"{i:016x}" for i in (0, 1)}
    assert f"{4:016x}" not in set(df["run_id"])  # swallowed by the open quote: reported, not invented


def test_append_write_error_leaves_no_partial_row(tmp_path, no_metrics, monkeypatch):
    rf = _file(tmp_path, rows=3)
    before = rf.path.read_bytes()
    real_write = os.write

    def half_then_enospc(fd, data):  # a disk that fills up in the middle of the row
        if fd > 2 and len(data) > 20 and os.fstat(fd).st_size == len(before):
            real_write(fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(results_io.os, "write", half_then_enospc)
    with pytest.raises(ResultsWriteError, match="No space left on device.*no partial row.*intact.*--resume"):
        rf.append(_row(7))
    assert rf.path.read_bytes() == before
    monkeypatch.setattr(results_io.os, "write", real_write)
    rf.append(_row(8))
    assert len(rf.load()) == 4


def test_short_write_is_undone(tmp_path, no_metrics, monkeypatch):
    rf = _file(tmp_path, rows=2)
    before = rf.path.read_bytes()
    real_write = os.write
    monkeypatch.setattr(results_io.os, "write", lambda fd, data: real_write(fd, data[:10]))
    with pytest.raises(ResultsWriteError, match="short write"):
        rf.append(_row(5))
    assert rf.path.read_bytes() == before


def test_second_process_is_refused_by_the_lock(tmp_path, no_metrics):
    rf = _file(tmp_path, rows=1)
    rf.unlock()  # this process wrote the file; now another one takes the lock
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from bench_core.results_io import ResultsFile
            ResultsFile({str(rf.path)!r}).lock()
            print("locked", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True, env=os.environ | {"PYTHONPATH": os.getcwd()})
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = rf.path.read_bytes()
        other = ResultsFile(rf.path)
        with pytest.raises(ResultsLockedError, match=rf"being written by kmbench pid {holder.pid}.*another --name"):
            other.append(_row(3))
        with pytest.raises(ResultsLockedError):
            other.check_header()
        assert rf.path.read_bytes() == before
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    other.append(_row(3))  # the kernel released the lock with the dead process
    assert len(other.load()) == 2
    other.unlock()


def test_older_header_is_extended_on_resume(tmp_path, monkeypatch):
    # a file written before the metric 'ari' existed
    monkeypatch.setattr(metrics_mod, "_METRICS", {})
    monkeypatch.setattr(metrics_mod, "metrics", lambda: dict(metrics_mod._METRICS))
    rf = ResultsFile(tmp_path / "old.csv")
    rf.create()
    rf.append(_row(0))
    assert rf.header() == list(COLUMNS)
    metrics_mod.register_metric("ari", lambda task, res: 1.0)
    with pytest.warns(RuntimeWarning, match="header extended with the column"):
        rf.check_header()
    assert rf.header() == [*COLUMNS, "ari"]
    rf.append(_row(1, ari=0.25))
    df = rf.load()
    assert df["ari"].isna().tolist() == [True, False] and df["ari"].iloc[1] == 0.25
    with open(rf.path, newline="") as fh:
        assert {len(r) for r in csv.reader(fh)} == {len(COLUMNS) + 1}
    with pytest.raises(ValueError, match="unknown result columns"):
        rf.append(_row(2, not_a_metric=1))


def test_append_adds_a_new_metric_column_itself(tmp_path, monkeypatch):
    monkeypatch.setattr(metrics_mod, "_METRICS", {})
    monkeypatch.setattr(metrics_mod, "metrics", lambda: dict(metrics_mod._METRICS))
    rf = ResultsFile(tmp_path / "grow.csv")
    rf.create()
    rf.append(_row(0))
    metrics_mod.register_metric("nmi", lambda task, res: 1.0)
    with pytest.warns(RuntimeWarning, match="nmi"):
        rf.append(_row(1, nmi=0.5))
    assert rf.load()["nmi"].tolist()[1] == 0.5


def test_not_a_results_file_is_refused(tmp_path, no_metrics):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a kmbench results file"):
        ResultsFile(p).check_header()
    assert p.read_text() == "a,b\n1,2\n"
