"""``kmbench merge`` and reports over two machines (timings grouped by machine, losses compared)."""

from __future__ import annotations

import json

import pytest

from bench_core.cli import main
from bench_core.merge import merge_results
from bench_core.report.tables import (
    MACHINE,
    add_machines,
    joss_tables,
    loss_table,
    runtime_table,
    speedup_table,
)
from bench_core.results_io import ResultsFile, load_many


def machine(host: str, cpu: str, cores: int) -> dict:
    return {"hostname": host, "cpu_model": cpu, "cpu_count": cores, "affinity": cores, "memory_gb": 64.0,
            "machine": "x86_64", "python": "3.11.7", "packages": {"numpy": "2.0"}, "git": {"commit": "abc"}}


FAST = machine("fast-node", "Fast CPU 9000", 64)
SLOW = machine("laptop", "Slow CPU 1", 4)


def row(run_id: str, entry: str, seed: int, fit_time: float, loss: float, env_id: str, **kw) -> dict:
    algo, _, impl = entry.partition("/")
    return {"run_id": run_id, "status": "ok", "entry": entry, "algorithm": algo, "implementation": impl,
            "family": "kmedoids", "language": "Cython", "dataset": "blobs", "n": 100, "k": 3,
            "dtype": "float64", "metric": "euclidean", "seed": seed, "init": "build", "fit_time": fit_time,
            "loss": loss, "env_id": env_id, "medoids": "1 2 3"} | kw


def results(path, env: dict, rows: list[dict]) -> ResultsFile:
    rf = ResultsFile(path)
    rf.create()
    eid = rf.add_environment(env)
    rf.add_command(f"kmbench run --name {path.stem}", env_id=eid)
    for r in rows:
        rf.append(r | {"env_id": eid})
    return rf


def two_machines(tmp_path):
    """The same grid (PAM and FasterPAM, 2 seeds) on a fast and a slow machine: same run ids."""
    def grid(scale: float) -> list[dict]:
        return [row(f"pam{s}", "pam/reference", s, 1.0 * scale, 100.0, "") for s in (0, 1)] + \
               [row(f"fp{s}", "fasterpam/reference", s, 0.1 * scale, 100.0 + s, "") for s in (0, 1)]
    a = results(tmp_path / "fast.csv", FAST, grid(1.0))
    b = results(tmp_path / "slow.csv", SLOW, [r | {"fit_time": r["fit_time"] * 20, "loss": r["loss"] + 1} if
                                               r["entry"] == "fasterpam/reference" else r | {"fit_time": 50.0}
                                               for r in grid(1.0)])
    return a, b


def test_merge_disjoint_and_identical_rows(tmp_path):
    a = results(tmp_path / "a.csv", FAST, [row("r1", "pam/reference", 0, 1.0, 10.0, ""),
                                           row("r2", "pam/reference", 1, 1.5, 11.0, "")])
    b = results(tmp_path / "b.csv", SLOW, [row("r3", "fasterpam/reference", 0, 2.0, 12.0, "")])
    # r1 copied verbatim into b (e.g. b was resumed from a copy of a): the same measurement, kept once
    with open(b.path, "a") as fh, open(a.path) as src:
        fh.write(src.read().splitlines(keepends=True)[1])
    out = tmp_path / "merged.csv"
    s = merge_results([a.path, b.path], out)
    df = ResultsFile(out).load(latest=False)
    assert sorted(df["run_id"]) == ["r1", "r2", "r3"] and s.identical == 1 and not s.conflicts
    meta = json.loads(ResultsFile(out).meta_path.read_text())
    assert len(meta["environments"]) == 2 and len(meta["commands"]) == 2
    assert meta["merged"][-1]["inputs"] == [str(a.path), str(b.path)]
    # values are copied as text: the fit times round-trip exactly
    assert df.set_index("run_id").loc["r2", "fit_time"] == 1.5


def test_merge_conflicts_are_reported_and_resolved_explicitly(tmp_path, capsys):
    a, b = two_machines(tmp_path)
    out = tmp_path / "m.csv"
    with pytest.raises(ValueError, match="4 run id\\(s\\) have different rows") as err:
        merge_results([a.path, b.path], out)
    assert "fp0" in str(err.value) and "--keep first or --keep last" in str(err.value)
    assert not out.exists()
    assert main(["merge", str(a.path), str(b.path), "-o", str(out)]) == 2
    assert "different rows in several inputs" in capsys.readouterr().err

    first = merge_results([a.path, b.path], out, keep="first")
    df = ResultsFile(out).load(latest=False)
    assert df["run_id"].is_unique and len(df) == 4 and len(first.conflicts) == 4
    assert set(df["fit_time"]) == {1.0, 0.1}  # the fast machine's rows
    assert main(["merge", str(a.path), str(b.path), "-o", str(out), "--keep", "last"]) == 2  # exists
    assert main(["merge", str(a.path), str(b.path), "-o", str(out), "--keep", "last", "--overwrite"]) == 0
    df = ResultsFile(out).load(latest=False)
    assert df["run_id"].is_unique and set(df["fit_time"]) == {50.0, 2.0}
    with pytest.raises(ValueError, match="one of the inputs"):
        merge_results([a.path, b.path], a.path, keep="first", overwrite=True)


def test_reports_group_timings_by_machine(tmp_path):
    a, b = two_machines(tmp_path)
    df, meta = load_many([a.path, b.path])
    df = add_machines(df, meta["environments"])
    assert df[MACHINE].nunique() == 2
    labels = sorted(df[MACHINE].unique())
    assert any("Fast CPU 9000" in m and "fast-node" in m for m in labels)

    speed = speedup_table(df, "caption")
    assert len(speed) == 2
    by_machine = {("Fast" if "Fast CPU" in t.title else "Slow"): t for t in speed}
    fast = sorted(r[2] for r in by_machine["Fast"].rows)
    slow = sorted(r[2] for r in by_machine["Slow"].rows)
    # each machine's FasterPAM against its own PAM: 1.0 / 0.1 and 50 / 2; never 50 / 0.1 or 1.0 / 2
    assert fast == ["1.0×", "10.0×"] and slow == ["1.0×", "25.0×"]

    for tables in (runtime_table(df, "c"), joss_tables(df, "c")):
        assert len(tables) == 2 and len({t.id for t in tables}) == 2
        for t in tables:
            assert ("Fast CPU" in t.title) != ("Slow CPU" in t.title)
            assert t.notes[0].startswith("Timings on ")
    joss = {("Fast" if "Fast CPU" in t.title else "Slow"): t for t in joss_tables(df, "c")}
    ns = [float(r[3].replace(",", "")) for r in joss["Fast"].rows]
    assert ns == sorted(ns) and max(ns) == pytest.approx(1.0 / 100**2 * 1e9)  # only the fast machine's times

    # losses may be compared across machines: one table with both machines' restarts
    (loss,) = loss_table(df, "c")
    assert len(loss.rows) == 2 and all(r[5] == "4" for r in loss.rows)  # 2 seeds x 2 machines per entry


def test_one_machine_keeps_table_ids(tmp_path):
    a, _ = two_machines(tmp_path)
    df, meta = load_many([a.path])
    plain = [t.id for t in runtime_table(df, "c")]
    grouped = [t.id for t in runtime_table(add_machines(df, meta["environments"]), "c")]
    assert plain == grouped and not any("machine" in i for i in grouped)
