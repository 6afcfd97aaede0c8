"""The regression gate on real asv result files.

A tiny project (a git repository with a trivial setup.py, a library module and an
asv suite) is benchmarked at four commits through :func:`bench_core.regress.benchmark_commit`,
exactly the way ``kmbench regress BASE HEAD`` benchmarks this project: identical
code, a 2x slower function with a worse loss, and a commit where one benchmark
fails and one combination is skipped. The slowdown is a sleep, so the 2x ratio
holds on a noisy machine.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench_core import regress as r
from bench_core.cli import main

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

LIB = """\
import time
DELAY = {delay}
LOSS = {loss}
SILHOUETTE = {sil}
SKIP = {skip!r}
FAIL = {fail}

def work():
    if FAIL:
        raise RuntimeError("injected failure")
    time.sleep(DELAY)
"""

SUITE = """\
import timeit

import tinylib


class Tiny:
    params = [["a", "b"]]
    param_names = ["implementation"]
    timer = timeit.default_timer
    number = 1
    repeat = (3, 3, 20.0)
    warmup_time = 0
    rounds = 1

    def setup(self, implementation):
        if implementation in tinylib.SKIP:
            raise NotImplementedError(f"{implementation} is unavailable")

    def time_work(self, implementation):
        tinylib.work() if not tinylib.FAIL else __import__("time").sleep(tinylib.DELAY)

    def track_loss(self, implementation):
        return tinylib.LOSS

    def track_silhouette(self, implementation):
        return tinylib.SILHOUETTE

    def track_n_iter(self, implementation):
        return 3


def time_plain():
    tinylib.work()
"""

CONF = {
    "version": 1, "project": "tiny", "repo": ".", "branches": ["HEAD"], "dvcs": "git",
    "environment_type": "virtualenv", "benchmark_dir": "tinybench", "results_dir": "results/asv",
    "html_dir": "html", "launch_method": "spawn", "hash_length": 8,
}

MACHINE = "kmbench-test"


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def _commit(root: Path, msg: str, **lib) -> str:
    (root / "tinylib.py").write_text(LIB.format(**lib))
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", msg)
    return _git(root, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Four commits of the tiny project, each benchmarked once; returns {label: result file}."""
    root = tmp_path_factory.mktemp("tiny")
    home = tmp_path_factory.mktemp("home")  # asv keeps its machine file in ~/.asv-machine.json
    mp = pytest.MonkeyPatch()
    mp.setenv("HOME", str(home))
    mp.setenv("GIT_AUTHOR_NAME", "t")
    mp.setenv("GIT_AUTHOR_EMAIL", "t@example.org")
    mp.setenv("GIT_COMMITTER_NAME", "t")
    mp.setenv("GIT_COMMITTER_EMAIL", "t@example.org")
    _git(root, "init", "-q")
    (root / "asv.conf.json").write_text(json.dumps(CONF))
    (root / "setup.py").write_text("from setuptools import setup\nsetup(name='tiny', py_modules=['tinylib'])\n")
    (root / "tinybench").mkdir()
    (root / "tinybench" / "__init__.py").write_text("")
    (root / "tinybench" / "bench_tiny.py").write_text(SUITE)
    (root / ".gitignore").write_text("results/\nbuild/\n")
    normal = dict(delay=0.03, loss=1.0, sil=0.5, skip=(), fail=False)
    shas = {
        "base": _commit(root, "base", **normal),
        "same": None,
        "slow": None,
        "broken": None,
    }
    (root / "README").write_text("identical code\n")
    shas["same"] = _commit(root, "same code", **normal)
    shas["slow"] = _commit(root, "2x slower, worse loss", **dict(normal, delay=0.06, loss=1.5, sil=0.4))
    shas["broken"] = _commit(root, "failure and skip", **dict(normal, skip=("b",), fail=True))
    files = {}
    try:
        for label, sha in shas.items():
            run = r.benchmark_commit(sha, root=root, machine=MACHINE, python=sys.executable, echo=False)
            assert run.result is not None, run.log[-3000:]
            files[label] = run.result
    finally:
        mp.undo()
    return {"root": root, "files": files, "shas": shas}


def _statuses(cmp: r.Comparison) -> dict[tuple[str, tuple], str]:
    return {(row.benchmark, row.params): row.status for row in cmp.rows}


def test_result_file_is_asv_format(tiny):
    data = json.loads(Path(tiny["files"]["base"]).read_text())
    assert data["version"] == 2 and data["result_columns"][:2] == ["result", "params"]
    rs = r.load_results(tiny["files"]["base"])
    assert rs.commit == tiny["shas"]["base"]
    assert ("bench_tiny.Tiny.time_work", ("'a'",)) in rs.values
    assert ("bench_tiny.time_plain", ()) in rs.values
    assert rs.param_names["bench_tiny.Tiny.time_work"] == ["implementation"]
    assert all(v is not None and not math.isnan(v) for v in rs.values.values())


def test_identical_code_passes(tiny):
    cmp = r.compare_files(tiny["files"]["base"], tiny["files"]["same"])
    assert cmp.exit_code() == r.EXIT_PASS, cmp.format(show_ok=True)
    assert set(_statuses(cmp).values()) <= {"ok", "faster"}


def test_flags_2x_slowdown_and_worse_loss(tiny):
    cmp = r.compare_files(tiny["files"]["base"], tiny["files"]["slow"])
    st = _statuses(cmp)
    for impl in ("'a'", "'b'"):
        assert st[("bench_tiny.Tiny.time_work", (impl,))] == "slower"
        assert st[("bench_tiny.Tiny.track_loss", (impl,))] == "worse-loss"
        assert st[("bench_tiny.Tiny.track_silhouette", (impl,))] == "worse-loss"  # higher is better
        assert st[("bench_tiny.Tiny.track_n_iter", (impl,))] == "ok"
    assert st[("bench_tiny.time_plain", ())] == "slower"
    ratios = [row.ratio for row in cmp.by_status("slower")]
    assert all(1.6 < x < 2.6 for x in ratios), ratios
    assert cmp.exit_code() == r.EXIT_REGRESSION
    # The reverse direction is an improvement, not a regression.
    back = r.compare_files(tiny["files"]["slow"], tiny["files"]["base"])
    assert back.exit_code() == r.EXIT_PASS
    assert {"faster", "better-loss"} <= set(_statuses(back).values())


def test_factor_is_configurable(tiny):
    cmp = r.compare_files(tiny["files"]["base"], tiny["files"]["slow"], factor=3.0, loss_rtol=1.0)
    assert cmp.exit_code() == r.EXIT_PASS, cmp.format()


def test_failed_and_skipped_are_not_a_pass(tiny):
    cmp = r.compare_files(tiny["files"]["base"], tiny["files"]["broken"])
    st = _statuses(cmp)
    assert st[("bench_tiny.time_plain", ())] == "failed"
    assert st[("bench_tiny.Tiny.time_work", ("'b'",))] == "skipped"
    assert st[("bench_tiny.Tiny.time_work", ("'a'",))] == "ok"
    assert cmp.exit_code() == r.EXIT_INCOMPLETE
    text = cmp.format()
    assert "FAILED (1)" in text and "SKIPPED (4)" in text and "INCOMPLETE" in text
    # Failed in both sets is still no pass; skipped in both is neutral unless --strict.
    both = r.compare_files(tiny["files"]["broken"], tiny["files"]["broken"])
    assert _statuses(both)[("bench_tiny.time_plain", ())] == "failed-both"
    assert both.exit_code() == r.EXIT_INCOMPLETE


def test_skipped_in_both_and_strict(tiny, tmp_path):
    data = json.loads(Path(tiny["files"]["base"]).read_text())
    cols = data["result_columns"]
    row = data["results"]["bench_tiny.Tiny.time_work"]
    row[cols.index("result")] = [row[cols.index("result")][0], float("nan")]
    p = tmp_path / "m" / "x.json"
    p.parent.mkdir()
    p.write_text(json.dumps(data))
    assert r.compare_files(p, p).exit_code() == r.EXIT_PASS
    assert r.compare_files(p, p, strict=True).exit_code() == r.EXIT_INCOMPLETE


def test_no_environment(tiny, tmp_path):
    base = r.load_results(tiny["files"]["base"])
    assert r.compare(base, None).exit_code() == r.EXIT_NO_ENVIRONMENT
    # HEAD where asv could build nothing: every value NaN (asv's mark for a failed build).
    data = json.loads(Path(tiny["files"]["base"]).read_text())
    cols = data["result_columns"]
    for row in data["results"].values():
        res = row[cols.index("result")]
        row[cols.index("result")] = [float("nan")] * len(res)
    p = tmp_path / "m" / "nothing.json"
    p.parent.mkdir()
    p.write_text(json.dumps(data))
    cmp = r.compare(base, r.load_results(p))
    assert cmp.exit_code() == r.EXIT_NO_ENVIRONMENT
    assert "no-environment" in _statuses(cmp).values()


def test_missing_benchmark(tiny, tmp_path):
    data = json.loads(Path(tiny["files"]["base"]).read_text())
    del data["results"]["bench_tiny.time_plain"]
    p = tmp_path / "m" / "fewer.json"
    p.parent.mkdir()
    p.write_text(json.dumps(data))
    cmp = r.compare_files(tiny["files"]["base"], p)
    assert _statuses(cmp)[("bench_tiny.time_plain", ())] == "missing"
    assert cmp.exit_code() == r.EXIT_INCOMPLETE


def test_overlapping_sample_spread_is_noisy_not_slower():
    fast, slow = (0.010, 0.011), (0.010, 0.030)
    cls = r._classify
    assert cls("m.C.time_x", 0.010, 0.020, factor=1.5, loss_rtol=0, mem_factor=None, min_time=0,
               spreads=((0.0099, 0.0101), (0.019, 0.021)))[0] == "slower"
    assert cls("m.C.time_x", 0.010, 0.020, factor=1.5, loss_rtol=0, mem_factor=None, min_time=0,
               spreads=(fast, slow))[0] == "noisy"
    assert cls("m.C.time_x", 0.010, 0.020, factor=1.5, loss_rtol=0, mem_factor=None, min_time=0.05)[0] == "ok"


def test_rejects_files_not_from_asv(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"results": {}}')
    with pytest.raises(r.ResultsError, match="format version 2"):
        r.load_results(p)
    with pytest.raises(r.ResultsError, match="no asv result file"):
        r.load_results(tmp_path / "absent.json")
    with pytest.raises(ValueError, match="factor"):
        r.compare(None, None, factor=1.0)


def test_cli_exit_codes(tiny, capsys, tmp_path):
    files = tiny["files"]
    out_json = tmp_path / "cmp.json"
    assert main(["regress", "--results", str(files["base"]), str(files["slow"]), "--json", str(out_json)]) == 1
    out = capsys.readouterr().out
    assert "SLOWER" in out and "WORSE-LOSS" in out and "REGRESSION (exit 1)" in out
    report = json.loads(out_json.read_text())
    assert report["verdict"] == "REGRESSION" and report["counts"]["slower"] == 3
    assert main(["regress", "--results", str(files["base"]), str(files["same"])]) == 0
    assert main(["regress", "--results", str(files["base"]), str(files["broken"])]) == 3
    # Commit names resolve to stored result files on the machine.
    shas = tiny["shas"]
    assert main(["regress", "--root", str(tiny["root"]), "--machine", MACHINE,
                 "--results", shas["base"][:10], shas["slow"]]) == 1
    assert main(["regress", "--results", str(tmp_path / "absent.json"), str(files["base"])]) == 2


def test_cli_benchmarks_two_commits(tiny, monkeypatch, capsys, tmp_path):
    """``kmbench regress BASE HEAD`` end to end on the tiny project (two more asv runs)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    root, shas = tiny["root"], tiny["shas"]
    code = main(["regress", "--root", str(root), "--machine", MACHINE, "--bench", "time_plain",
                 shas["base"], shas["slow"]])
    out = capsys.readouterr().out
    assert code == r.EXIT_REGRESSION, out
    assert "confirming 1 slower combination" in out  # re-measured HEAD then BASE: still slower
    assert "SLOWER (1)" in out and "bench_tiny.time_plain" in out
