"""Results files of ``kmbench run``: one tidy CSV row per run, appended atomically.

A results file ``results/runs/<name>.csv`` has a fixed header (:data:`COLUMNS`)
and grows one line at a time: each row is formatted in memory and handed to a
single ``write`` on a descriptor opened with ``O_APPEND``, then ``fsync``-ed, so
an interrupted or crashed run leaves every finished row intact. A torn last
line (a crash inside ``write``) has no trailing newline; :func:`load` drops it
and says so.

Next to it, ``<name>.meta.json`` holds what is the same for many rows: the
environment records (machine, versions, threads; stored once, referenced by
``env_id`` in each row) and the command lines that wrote the file. It is
rewritten atomically (temporary file + rename).

Robustness
    * **Columns**: the header is :data:`COLUMNS` followed by one column per
      registered quality metric (:func:`bench_core.metrics.metrics`). A file
      written with an older header is rewritten atomically with the extended
      one when resumed (:meth:`ResultsFile.check_header`); old rows get empty
      values in the new columns.
    * **Damage**: :meth:`ResultsFile.load` parses the file record by record; a
      record with the wrong number of fields, binary garbage or an impossible
      status is skipped and reported with its line numbers (a
      :class:`DamagedResultsWarning`), the rows before and after it are kept.
      ``--resume`` (:meth:`ResultsFile.check_header`) rewrites the file without
      the damaged records, which are saved to ``<name>.csv.damaged``.
    * **One writer**: the first write takes an exclusive ``fcntl.flock`` on
      ``<name>.csv.lock`` for the life of the process (the kernel releases it
      on exit or crash); a second process gets :class:`ResultsLockedError`.
    * **Write errors**: a failed or short ``write`` (a full disk) is undone with
      ``ftruncate`` to the previous size before :class:`ResultsWriteError` is
      raised, so no partial row is left and the finished rows are intact.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import sys
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .atomic import atomic_write, atomic_write_text
from .environment import ROOT

RUNS_DIR = Path(os.environ.get("KMBENCH_RESULTS", ROOT / "results" / "runs"))

#: The columns of a results file, in order. Times are seconds, memory MiB.
COLUMNS: tuple[str, ...] = (
    "run_id", "status", "error",
    "entry", "algorithm", "implementation", "family", "language", "impl_version",
    "dataset", "dataset_params", "dataset_checksum", "n", "d", "k", "dtype", "metric",
    "seed", "init", "init_source", "max_iter", "n_threads", "time_limit",
    "diss_time", "diss_cached", "init_time", "fit_time",
    "loss", "silhouette", "medoid_silhouette", "silhouette_note",
    "n_iter", "n_swap", "converged", "peak_rss_mb", "extra_rss_mb",
    "medoids", "env_id", "started", "extras",
    # added later: files without them are read with empty values and extended on --resume
    "wall_time", "start",
)
#: Columns that older results files may lack.
LATER_COLUMNS: tuple[str, ...] = ("wall_time", "start")

#: Statuses. ``ok`` and ``timeout`` count as finished for ``--resume``; ``error``,
#: ``skipped`` (restart budget spent), ``unavailable`` and ``lost`` (its Dask worker died) are tried again.
FINISHED = ("ok", "timeout")
#: Every status a row may have.
STATUSES = ("ok", "timeout", "error", "skipped", "unavailable", "lost")


class ResultsFileError(ValueError):
    """A results file cannot be used as asked (a user error: the message says what to do)."""


class ResultsLockedError(ResultsFileError):
    """Another process is writing the same results file."""


class ResultsWriteError(OSError):
    """Appending a row failed (disk full, I/O error); the partial row was removed."""


class DamagedResultsWarning(RuntimeWarning):
    """Records of a results file were skipped because they are damaged."""


def columns() -> tuple[str, ...]:
    """The header of a new results file: :data:`COLUMNS` and every registered metric's column."""
    try:
        from .metrics import metrics

        extra = tuple(name for name in metrics() if name not in COLUMNS)
    except ImportError:  # pragma: no cover - metrics is part of the package
        extra = ()
    return COLUMNS + extra


def _registered_metrics() -> set[str]:
    try:
        from .metrics import metrics

        return set(metrics())
    except ImportError:  # pragma: no cover
        return set()


# Locks held by this process, by resolved path (a process may reopen its own file).
_HELD_LOCKS: dict[str, int] = {}


def _parse_records(raw: bytes, path: Path) -> tuple[list[str] | None, list[list[str]], list[str], list[bytes]]:
    """(header, good records, problems, damaged bytes) of a results file's bytes.

    Records are parsed with the csv module (an ``error`` field may span lines);
    each must have as many fields as the header, printable text, a run id and a
    known status. Line numbers in the problems are those of the file (1 = header).
    """
    text = raw.decode("utf-8", errors="replace")
    # The physical lines csv counts (\n, \r, \r\n), as bytes: the damaged ones are saved unchanged
    # (decoding with "replace" never creates or removes a line break).
    lines = raw.splitlines(keepends=True)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return None, [], [], []
    width = len(header)
    i_id = header.index("run_id") if "run_id" in header else 0
    i_st = header.index("status") if "status" in header else 1
    good: list[list[str]] = []
    problems: list[str] = []
    damaged: list[bytes] = []
    last = reader.line_num
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # unparseable from here on: skip the rest
            first, end = last + 1, len(lines)
            problems.append(f"lines {first}-{end}: unparseable CSV ({exc}); skipped them")
            damaged.append(b"".join(lines[first - 1:end]))
            break
        first, end = last + 1, reader.line_num
        last = end
        why = None
        joined = "".join(rec)
        if not rec or (len(rec) == 1 and not rec[0]):
            continue  # a blank line
        if "\ufffd" in joined or "\x00" in joined:
            why = "binary garbage (bytes that are not text)"
        elif len(rec) != width:
            why = f"{len(rec)} fields, expected {width}"
        elif rec[i_st] not in STATUSES or not rec[i_id].strip():
            why = f"no run id or an unknown status {rec[i_st][:20]!r}"
        if why is None:
            good.append(rec)
        else:
            where = f"line {first}" if first == end else f"lines {first}-{end}"
            problems.append(f"{where}: {why}; skipped that record")
            damaged.append(b"".join(lines[first - 1:end]))
    return header, good, problems, damaged


def _records_bytes(header: list[str] | tuple[str, ...], records: Iterable[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(header))
    w.writerows(records)
    return buf.getvalue().encode()


def _format_row(row: dict[str, Any], columns: Iterable[str]) -> bytes:
    buf = io.StringIO()
    out = []
    for c in columns:
        v = row.get(c)
        if v is None:
            out.append("")
        elif isinstance(v, float):
            out.append(repr(v))
        elif isinstance(v, dict | list | tuple):
            out.append(json.dumps(v, default=str, separators=(",", ":")))
        else:
            out.append(str(v))
    csv.writer(buf, lineterminator="\n").writerow(out)
    return buf.getvalue().encode()


def env_id(record: dict[str, Any]) -> str:
    """Content hash of an environment record, ignoring the time it was taken."""
    body = {k: v for k, v in record.items() if k != "time"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:12]


class ResultsFile:
    """An append-only results CSV and its ``.meta.json`` sidecar."""

    def __init__(self, path: str | os.PathLike):
        path = Path(path)
        if path.suffix != ".csv":
            path = path.with_suffix(".csv") if path.suffix == "" else Path(str(path) + ".csv")
        self.path = path
        self.meta_path = path.with_suffix(".meta.json")

    @classmethod
    def named(cls, name: str, directory: Path | None = None) -> ResultsFile:
        """``results/runs/<name>.csv`` (or ``name`` itself when it is a path)."""
        if "/" in name or name.endswith(".csv"):
            return cls(name)
        return cls(Path(directory or RUNS_DIR) / f"{name}.csv")

    def exists(self) -> bool:
        return self.path.exists()

    # ----------------------------------------------------------------- writing

    def create(self, *, overwrite: bool = False) -> None:
        """Write the header (refusing to clobber an existing file unless ``overwrite``)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock()
        if overwrite:
            self.path.unlink(missing_ok=True)
            self.meta_path.unlink(missing_ok=True)
        cols = columns()
        header = _format_row(dict(zip(cols, cols, strict=True)), cols)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, header)
            os.fsync(fd)
        finally:
            os.close(fd)

    # ----------------------------------------------------------------- the lock

    @property
    def lock_path(self) -> Path:
        return Path(str(self.path) + ".lock")

    def lock(self) -> None:
        """Take the exclusive write lock of this results file (kept until :meth:`unlock` or exit).

        Raises :class:`ResultsLockedError` when another process holds it.
        """
        import fcntl

        key = str(self.path.resolve())
        if key in _HELD_LOCKS:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise ResultsLockedError(
                f"{self.path} is being written by {holder}; wait for it to finish, or write to another "
                "--name") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"kmbench pid {os.getpid()} (since {time.strftime('%Y-%m-%d %H:%M:%S')})\n".encode(), 0)
        _HELD_LOCKS[key] = fd

    def unlock(self) -> None:
        """Release the write lock (closing its descriptor); a no-op when not held."""
        fd = _HELD_LOCKS.pop(str(self.path.resolve()), None)
        if fd is not None:
            os.ftruncate(fd, 0)
            os.close(fd)

    # ----------------------------------------------------------------- header and repair

    def header(self) -> list[str]:
        """The file's own header (its first record)."""
        with open(self.path, newline="", errors="replace") as fh:
            return next(csv.reader(fh), None) or []

    def check_header(self) -> None:
        """Make an existing file ready for appending (``--resume``).

        Takes the lock; an empty file gets its header; damaged records are moved to
        ``<name>.csv.damaged`` (reported); a file written with fewer columns (an
        older kmbench, fewer metrics) is rewritten atomically with the extended
        header, its rows keeping their values and empty new columns. A file that
        is not a kmbench results file is refused.
        """
        self.lock()
        raw = self.path.read_bytes()
        if not raw.strip():  # an empty file: a crash between create and the header write
            self.path.unlink()
            self.create()
            return
        if not raw.endswith(b"\n"):
            raw = raw[:raw.rfind(b"\n") + 1]  # a torn last line; the next append would cut it too
        header, good, problems, damaged = _parse_records(raw, self.path)
        if not header or "run_id" not in header or "status" not in header[:2]:
            raise ResultsFileError(
                f"{self.path} is not a kmbench results file (its first line is not a results header); "
                "write to a new --name")
        want = list(columns())
        new_header = want + [c for c in header if c not in want]
        if problems:
            with open(str(self.path) + ".damaged", "ab") as fh:
                fh.write(b"".join(damaged))
            warnings.warn(f"{self.path}: " + "; ".join(problems) + f". Kept {len(good)} row(s); removed "
                          f"{len(problems)} damaged record(s) before resuming (saved to {self.path.name}.damaged; "
                          "their runs are done again)", DamagedResultsWarning, stacklevel=2)
        if problems or new_header != header:
            pos = {c: i for i, c in enumerate(header)}
            rows = [[rec[pos[c]] if c in pos else "" for c in new_header] for rec in good]
            atomic_write(self.path, lambda fh: fh.write(_records_bytes(new_header, rows)))
            if new_header != header:
                added = [c for c in new_header if c not in header]
                warnings.warn(f"{self.path}: header extended with the column(s) {', '.join(added)} "
                              "(older rows have them empty)", RuntimeWarning, stacklevel=2)

    def append(self, row: dict[str, Any]) -> None:
        """Append one row: a single O_APPEND write of the whole line, then fsync.

        A row may hold the columns of the file's header; a registered metric's
        column that the header lacks is added first (:meth:`check_header`). A
        failed or short write is undone (:class:`ResultsWriteError`).
        """
        self.lock()
        header = self.header()
        unknown = set(row) - set(header)
        if unknown and unknown <= (set(columns()) | _registered_metrics()):
            self.check_header()
            header = self.header()
            unknown = set(row) - set(header)
        if unknown:
            raise ValueError(f"unknown result columns {sorted(unknown)}")
        line = _format_row(row, header)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        try:
            self._drop_torn_tail(fd)
            size = os.fstat(fd).st_size
            try:
                written = os.write(fd, line)
                if written != len(line):  # a full disk: the kernel wrote what fitted
                    raise OSError(errno.ENOSPC, f"short write ({written} of {len(line)} bytes)")
                os.fsync(fd)
            except OSError as exc:
                try:
                    os.ftruncate(fd, size)  # no partial row
                    state = "no partial row was left"
                except OSError:
                    state = "a partial last line may remain; it is dropped on the next read"
                raise ResultsWriteError(
                    exc.errno, f"could not append a row to {self.path}: {exc.strerror or exc}; {state}, the "
                    "finished rows are intact. Fix the cause (free disk space?) and continue with --resume"
                ) from exc
        finally:
            os.close(fd)

    def _drop_torn_tail(self, fd: int) -> None:
        """Cut a torn last line (no trailing newline, left by a crash inside write) before appending."""
        size = os.fstat(fd).st_size
        if not size or os.pread(fd, 1, size - 1) == b"\n":
            return
        pos = size
        while pos > 0:
            start = max(0, pos - 65536)
            chunk = os.pread(fd, pos - start, start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                pos = start + cut + 1
                break
            pos = start
        warnings.warn(f"{self.path}: removing a torn last line ({size - pos} bytes) left by an interrupted "
                      "write", RuntimeWarning, stacklevel=3)
        os.ftruncate(fd, pos)

    def read_meta(self) -> dict[str, Any]:
        if self.meta_path.exists():
            return json.loads(self.meta_path.read_text())
        return {"environments": {}, "commands": []}

    def add_environment(self, record: dict[str, Any]) -> str:
        """Store ``record`` once in the sidecar; return its id."""
        meta = self.read_meta()
        eid = env_id(record)
        if eid not in meta["environments"]:
            meta["environments"][eid] = record
            atomic_write_text(self.meta_path, json.dumps(meta, indent=1, default=str))
        return eid

    def add_command(self, command: str, **info: Any) -> None:
        meta = self.read_meta()
        meta["commands"].append({"command": command, **info})
        atomic_write_text(self.meta_path, json.dumps(meta, indent=1, default=str))

    # ----------------------------------------------------------------- reading

    def load(self, *, latest: bool = True):
        """The rows as a pandas DataFrame.

        A torn last line is dropped with a warning; damaged records in the middle
        (wrong number of fields, binary garbage) are skipped with a
        :class:`DamagedResultsWarning` naming their lines, the other rows are kept.
        With ``latest`` (default), only the last row of each ``run_id`` is kept (a
        retried error replaces the failed attempt).
        """
        import pandas as pd

        raw = self.path.read_bytes()
        if raw and not raw.endswith(b"\n"):
            cut = raw.rfind(b"\n") + 1
            warnings.warn(f"{self.path}: dropping a torn last line ({len(raw) - cut} bytes) "
                          "left by an interrupted write", RuntimeWarning, stacklevel=2)
            raw = raw[:cut]
        header, good, problems, _ = _parse_records(raw, self.path)
        if header is None:
            raise ResultsFileError(f"{self.path} is empty; not a kmbench results file")
        if problems:
            warnings.warn(f"{self.path}: kept {len(good)} row(s), skipped {len(problems)} damaged record(s): "
                          + "; ".join(problems), DamagedResultsWarning, stacklevel=2)
            raw = _records_bytes(header, good)
        df = pd.read_csv(io.BytesIO(raw), dtype={"run_id": str, "dataset_checksum": str, "env_id": str,
                                                 "error": str, "medoids": str, "silhouette_note": str,
                                                 "impl_version": str, "extras": str, "start": str})
        missing = set(COLUMNS) - set(LATER_COLUMNS) - set(df.columns)
        if missing:
            raise ResultsFileError(f"{self.path} lacks columns {sorted(missing)}; not a kmbench results file")
        for c in LATER_COLUMNS:
            if c not in df.columns:
                df[c] = None
        if latest and len(df):
            df = df.drop_duplicates("run_id", keep="last").reset_index(drop=True)
        return df

    def finished_ids(self) -> set[str]:
        if not self.exists():
            return set()
        df = self.load()
        return set(df.loc[df["status"].isin(FINISHED), "run_id"])


def load_many(paths: Iterable[str | os.PathLike]):
    """Concatenate results files; returns (DataFrame with a ``source`` column, merged meta)."""
    import pandas as pd

    frames, meta = [], {"environments": {}, "commands": [], "sources": []}
    for p in paths:
        rf = ResultsFile.named(str(p)) if not Path(p).exists() else ResultsFile(p)
        if not rf.exists():
            raise FileNotFoundError(f"results file {rf.path} does not exist")
        df = rf.load()
        df["source"] = rf.path.name
        frames.append(df)
        m = rf.read_meta()
        meta["environments"].update(m.get("environments", {}))
        meta["commands"].extend(m.get("commands", []))
        meta["sources"].append(str(rf.path))
    if not frames:
        raise ValueError("no results files given")
    return pd.concat(frames, ignore_index=True), meta


def command_line(argv: list[str] | None = None) -> str:
    """The command line as typed (program name shortened to ``kmbench``)."""
    import shlex

    argv = list(sys.argv if argv is None else argv)
    if argv and Path(argv[0]).name in ("kmbench", "__main__.py", "-c"):
        argv[0] = "kmbench"
    return shlex.join(argv)
