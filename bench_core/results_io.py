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
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text
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


def expected_columns() -> tuple[str, ...]:
    """The header of a new results file: :data:`COLUMNS` and every registered metric."""
    from .metrics import metrics

    return COLUMNS + tuple(m for m in metrics() if m not in COLUMNS)

#: Statuses. ``ok`` and ``timeout`` count as finished for ``--resume``; ``error``,
#: ``skipped`` (restart budget spent) and ``unavailable`` are tried again.
FINISHED = ("ok", "timeout")


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
        self._columns: tuple[str, ...] | None = None

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
        if overwrite:
            self.path.unlink(missing_ok=True)
            self.meta_path.unlink(missing_ok=True)
        columns = expected_columns()
        header = _format_row(dict(zip(columns, columns, strict=True)), columns)
        self._columns = columns
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, header)
            os.fsync(fd)
        finally:
            os.close(fd)

    def header(self) -> tuple[str, ...] | None:
        """The file's column names (None for an empty file)."""
        with open(self.path, newline="") as fh:
            header = next(csv.reader(fh), None)
        return None if header is None else tuple(header)

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns rows are written with: the file's header, else a new file's."""
        if getattr(self, "_columns", None) is None:
            self._columns = (self.header() if self.exists() else None) or expected_columns()
        return self._columns

    def check_header(self) -> None:
        """Check an existing file before appending; extend an older header with new columns.

        A file written before a column existed (a newer kmbench, or a metric from a
        plug-in) is rewritten once, atomically, with the columns added at the end and
        empty values in its old rows. A file with columns the harness does not know
        (a plug-in's metric not loaded now) keeps them; its rows get empty values.
        """
        header = self.header()
        if header is None:  # an empty file: a crash between create and the header write
            self.path.unlink()
            self.create()
            return
        core = set(COLUMNS) - set(LATER_COLUMNS)
        if not core <= set(header):
            raise ValueError(
                f"{self.path} lacks the columns {sorted(core - set(header))}; it is not a kmbench "
                "results file (write to a new --name)")
        missing = [c for c in expected_columns() if c not in header]
        if missing:
            self._extend_header(header, missing)
        self._columns = None

    def _extend_header(self, header: tuple[str, ...], missing: list[str]) -> None:
        from .atomic import atomic_write

        raw = self.path.read_bytes()
        if raw and not raw.endswith(b"\n"):
            raw = raw[:raw.rfind(b"\n") + 1]
        lines = raw.splitlines(keepends=True)
        new_header = header + tuple(missing)
        head = _format_row(dict(zip(new_header, new_header, strict=True)), new_header)
        pad = b"," * len(missing)

        def write(fh) -> None:
            fh.write(head)
            for line in lines[1:]:
                fh.write(line[:-1] + pad + b"\n")
        atomic_write(self.path, write)

    def append(self, row: dict[str, Any]) -> None:
        """Append one row: a single O_APPEND write of the whole line, then fsync."""
        columns = self.columns
        unknown = set(row) - set(columns)
        if unknown:
            raise ValueError(f"unknown result columns {sorted(unknown)} (the file has {len(columns)} "
                             f"columns; run with --resume to extend an older file)")
        line = _format_row(row, columns)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        try:
            self._drop_torn_tail(fd)
            written = os.write(fd, line)
            if written != len(line):  # regular files write everything or raise
                raise OSError(f"short write to {self.path}: {written} of {len(line)} bytes")
            os.fsync(fd)
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

        A torn last line is dropped with a warning. With ``latest`` (default),
        only the last row of each ``run_id`` is kept (a retried error replaces
        the failed attempt).
        """
        import pandas as pd

        raw = self.path.read_bytes()
        if raw and not raw.endswith(b"\n"):
            cut = raw.rfind(b"\n") + 1
            warnings.warn(f"{self.path}: dropping a torn last line ({len(raw) - cut} bytes) "
                          "left by an interrupted write", RuntimeWarning, stacklevel=2)
            raw = raw[:cut]
        df = pd.read_csv(io.BytesIO(raw), dtype={"run_id": str, "dataset_checksum": str, "env_id": str,
                                                 "error": str, "medoids": str, "silhouette_note": str,
                                                 "impl_version": str, "extras": str, "start": str})
        missing = set(COLUMNS) - set(LATER_COLUMNS) - set(df.columns)
        if missing:
            raise ValueError(f"{self.path} lacks columns {sorted(missing)}; not a kmbench results file")
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
