"""The asv suites: profiles, the shared benchmark machinery, asv's discovery, and the web view.

Implementations come from the registry and change as providers land, so these tests
register their own throw-away entries instead of naming real ones.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench_core import registry
from bench_core.algorithms.assignment import assign
from bench_core.environment import ROOT
from bench_core.regress import read_asv_config
from bench_core.result import ClusteringResult

sys.path.insert(0, str(ROOT))
from suites import common  # noqa: E402

FAMILY_FILES = ("bench_pam", "bench_msc", "bench_sampling", "bench_kmeans", "bench_kmedian",
                "bench_silhouette", "bench_dissimilarity")


# ----------------------------------------------------------------------------- profiles

def test_profiles():
    cfg = common.load_config()
    assert set(cfg["profiles"]) >= {"quick", "paper"}
    quick, paper = cfg["profiles"]["quick"], cfg["profiles"]["paper"]
    for section in ("kmedoids", "threads", "msc", "silhouette", "sampling", "kmeans", "kmedian",
                    "dissimilarity"):
        assert max(quick[section]["n"]) <= 2000, section
        assert section in paper
    assert paper["kmedoids"]["k"] == [10, 20, 50, 100, 200]
    assert max(paper["kmedoids"]["n"]) >= 10000
    assert max(quick["threads"]["n_threads"]) >= 2


def test_profile_from_environment(monkeypatch):
    cfg = common.load_config()
    monkeypatch.setenv(common.PROFILE_ENV, "paper")
    assert common.profile_name(cfg) == "paper"
    monkeypatch.delenv(common.PROFILE_ENV)
    assert common.profile_name(cfg) == cfg["default_profile"]
    monkeypatch.setenv(common.PROFILE_ENV, "nope")
    with pytest.raises(ValueError, match="not a profile"):
        common.profile_name(cfg)


def test_limits():
    limits = {"*/*python*": 200, "pam/*": 5000, "pam/pyclustering*": 1000}
    assert common.limit_for("pam/pyclustering-python", limits) == 200
    assert common.limit_for("pam/pyclustering", limits) == 1000
    assert common.limit_for("pam/reference", limits) == 5000
    assert common.limit_for("fasterpam/reference", limits) is None


def test_initial_medoids_fixed_and_distinct():
    a = common.initial_medoids(1000, 10)
    assert a.dtype == np.int64 and len(np.unique(a)) == 10 and a.max() < 1000
    assert np.array_equal(a, common.initial_medoids(1000, 10))
    assert not np.array_equal(a, common.initial_medoids(1000, 10, seed=1))


# ----------------------------------------------------------------------------- fake entries

class _Fake:
    """A registered runnable that records its calls: the nearest-medoid assignment of its start."""

    def __init__(self):
        self.calls = 0
        self.tasks = []

    def __call__(self, task: registry.Task) -> ClusteringResult:
        self.calls += 1
        self.tasks.append(task)
        if task.centers is not None:
            d = ((task.X[:, None, :] - task.centers[None, :, :]) ** 2).sum(-1)
            labels = d.argmin(1)
            return ClusteringResult(float(d.min(1).sum()), labels, centers=task.centers, n_iter=2)
        medoids = task.medoids if task.medoids is not None else np.arange(task.k, dtype=np.int64)
        labels, loss = assign(np.asarray(task.diss), medoids)
        return ClusteringResult(loss, labels, medoids=medoids, n_iter=1, n_swap=3)


@pytest.fixture
def fake_entries():
    """Register test-only entries, removed again afterwards."""
    made: dict[str, _Fake] = {}

    def make(name: str, family: str, **kw) -> _Fake:
        f = _Fake()
        registry.register(name, f, family=family, **kw)
        made[name] = f
        return f

    yield make
    for name in made:
        registry._ENTRIES.pop(name, None)


def test_implementations_placeholder_and_parallel(fake_entries):
    assert common.implementations(family="no-such-family") == [common.NONE]
    fake_entries("fasterpam/zz-test", "kmedoids")
    fake_entries("fasterpam/zz-test-parallel", "kmedoids")
    single = common.implementations(family="kmedoids")
    assert "fasterpam/zz-test" in single and "fasterpam/zz-test-parallel" not in single
    assert "fasterpam/zz-test-parallel" in common.implementations(family="kmedoids", parallel=True)


def test_skips_with_reasons(fake_entries):
    with pytest.raises(NotImplementedError, match="no implementation"):
        common.entry_or_skip(common.NONE, 100)
    with pytest.raises(NotImplementedError, match="no implementation named"):
        common.entry_or_skip("pam/zz-test-never-registered", 100)
    fake_entries("pam/zz-test-missing", "kmedoids", requires=("kmbench_no_such_module",))
    with pytest.raises(NotImplementedError, match="unavailable: kmbench_no_such_module"):
        common.entry_or_skip("pam/zz-test-missing", 100)
    fake_entries("pam/zz-test-python", "kmedoids")
    cap = common.limit_for("pam/zz-test-python")
    assert cap is not None
    with pytest.raises(NotImplementedError, match=f"only up to n={cap}"):
        common.entry_or_skip("pam/zz-test-python", cap + 1)
    with pytest.raises(NotImplementedError, match="dataset mnist at n=20000"):
        common.load_points("mnist", 20000)


def _combo(section: str, with_dtype: bool = True) -> dict:
    g = common.grid(section)
    p = {"dataset": g["dataset"][0], "n": g["n"][0], "k": g["k"][0]}
    if with_dtype:
        p["dtype"] = g["dtype"][0]
    return p


def test_pam_benchmark_lifecycle(fake_entries, tmp_path, monkeypatch):
    from suites.bench_pam import PAMFamily

    monkeypatch.chdir(tmp_path)  # asv runs setup_cache in a fresh directory: the memo lives there
    fake = fake_entries("fasterpam/zz-test", "kmedoids")
    bench = PAMFamily()
    cache = bench.prepare()
    p = _combo("kmedoids")
    values = [p[a] for a in PAMFamily.axes]
    bench.setup(cache, "fasterpam/zz-test", *values)
    try:
        task = bench.task
        assert np.array_equal(task.medoids, common.initial_medoids(p["n"], p["k"]))
        assert task.diss.shape == (p["n"], p["n"]) and not task.diss.flags.writeable  # the cached mmap
        assert task.n_threads == 1 and task.seed == common.SEED
        bench.time_fit(cache, "fasterpam/zz-test", *values)
        assert fake.calls == 1
        loss = bench.track_loss(cache, "fasterpam/zz-test", *values)
        assert bench.track_n_iter(cache, "fasterpam/zz-test", *values) == 1
        assert bench.track_n_swap(cache, "fasterpam/zz-test", *values) == 3
        assert fake.calls == 2  # the three tracks share one memoised fit
        assert loss == pytest.approx(assign(np.asarray(task.diss), task.medoids)[1])
    finally:
        bench.teardown(cache, "fasterpam/zz-test", *values)
    # BUILD chooses its own medoids (its entry says so): no start is handed over.
    fake_entries("build/zz-test", "kmedoids", supports_init=False)
    bench.setup(cache, "build/zz-test", *values)
    assert bench.task.medoids is None
    bench.teardown(cache, "build/zz-test", *values)
    # k >= n is impossible and skipped.
    with pytest.raises(NotImplementedError, match="smaller than n"):
        bench.setup(cache, "build/zz-test", p["dataset"], 10, 10, p["dtype"])


def test_points_benchmark_gets_shared_centres(fake_entries, tmp_path, monkeypatch):
    from suites.bench_kmeans import KMeans

    monkeypatch.chdir(tmp_path)
    fake = fake_entries("kmeans/zz-test", "kmeans", input="points")
    bench = KMeans()
    cache = bench.prepare()
    p = _combo("kmeans", with_dtype=False)
    values = [p[a] for a in KMeans.axes]
    bench.setup(cache, "kmeans/zz-test", *values)
    try:
        X = common.load_points(p["dataset"], p["n"])
        assert np.array_equal(bench.task.centers, X[common.initial_medoids(p["n"], p["k"])])
        assert bench.task.diss is None
        assert bench.track_n_iter(cache, "kmeans/zz-test", *values) == 2
        assert fake.calls == 1
    finally:
        bench.teardown(cache, "kmeans/zz-test", *values)


# ----------------------------------------------------------------------------- asv itself

def _asv_env(home: Path) -> dict:
    env = dict(os.environ, HOME=str(home), KMBENCH_ASV_PROFILE="quick")
    env.pop("KMBENCH_ASV_PRELOAD", None)
    return env


@pytest.fixture(scope="module")
def asv_project(tmp_path_factory):
    """A copy of asv.conf.json whose results and html go to a temporary folder."""
    tmp = tmp_path_factory.mktemp("asv")
    conf = read_asv_config(ROOT / "asv.conf.json")
    conf.update(repo=str(ROOT), benchmark_dir=str(ROOT / "suites"), results_dir=str(tmp / "results"),
                html_dir=str(tmp / "html"), env_dir=str(tmp / "env"))
    (tmp / "asv.conf.json").write_text(json.dumps(conf))
    home = tmp / "home"
    home.mkdir()
    subprocess.run([sys.executable, "-m", "asv", "machine", "--yes", "--machine", "kmbench-test"],
                   cwd=tmp, env=_asv_env(home), check=True, capture_output=True)
    return tmp


def _asv(project: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "asv", *args, "--config", str(project / "asv.conf.json")],
                          cwd=ROOT, env=_asv_env(project / "home"), capture_output=True, text=True,
                          timeout=timeout)


def test_asv_check_and_discovery(asv_project):
    py = f"existing:{sys.executable}"
    proc = _asv(asv_project, "check", "-E", py)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = _asv(asv_project, "run", "-E", py, "--machine", "kmbench-test", "--bench", "just-discover")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = json.loads((asv_project / "results" / "benchmarks.json").read_text())
    names = [n for n in found if n != "version"]
    for module in FAMILY_FILES:
        assert any(n.startswith(module + ".") for n in names), f"asv found nothing in suites/{module}.py"
    methods = {n.rsplit(".", 1)[1] for n in names}
    assert {"time_fit", "peakmem_fit", "track_loss", "track_silhouette", "track_n_iter",
            "track_n_swap"} <= methods
    pam = found["bench_pam.PAMFamily.time_fit"]
    assert pam["param_names"] == ["implementation", "dataset", "n", "k", "dtype"]
    assert [ast.literal_eval(v) for v in pam["params"][0]] == common.implementations(family="kmedoids")
    assert found["bench_pam.PAMFamily.track_loss"]["unit"] == "objective"
    assert not any(n.startswith("common.") for n in names)  # the abstract bases are not benchmarks


def test_asv_run_publish_and_screenshot(asv_project, tmp_path):
    """A real quick run of one family, asv publish, and the graph page in headless Chromium."""
    from bench_core import asv_html
    from bench_core.browser import find_chromium, screenshot

    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip(f"not a git checkout: {head.stderr.strip()}")
    proc = _asv(asv_project, "run", "-E", f"existing:{sys.executable}", "--quick", "--machine",
                "kmbench-test", "--set-commit-hash", head.stdout.strip(), "--bench", "bench_dissimilarity")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = [p for p in (asv_project / "results" / "kmbench-test").glob("*.json") if p.name != "machine.json"]
    assert len(results) == 1
    data = json.loads(results[0].read_text())
    row = dict(zip(data["result_columns"], data["results"]["bench_dissimilarity.DissimilarityMatrix.time_matrix"],
                   strict=False))
    assert all(v is not None and v > 0 for v in row["result"])

    proc = _asv(asv_project, "publish")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = asv_project / "html"
    assert (html / "index.html").exists() and (html / "graphs").is_dir()
    if find_chromium() is None:
        pytest.skip("Chromium is not installed (make browser, or apt-get install chromium)")
    try:
        remote = asv_html.localize(html, asv_html.fetch_vendor())
    except asv_html.VendorError as exc:
        pytest.skip(f"asv's JavaScript could not be vendored, the page cannot render offline: {exc}")
    assert remote == []
    bench = "bench_dissimilarity.DissimilarityMatrix.time_matrix"
    with asv_html.serve(html) as base:
        url = asv_html.graph_url(base, bench)
        dom = asv_html.dump_dom(url)
        png = screenshot(url, tmp_path / "graph.png", wait_ms=8000)
    assert "continental origin of swallow" not in dom  # asv's "scripts failed to load" page
    assert "flot-base" in dom and bench in dom          # a flot canvas for that benchmark
    content = asv_html.page_content(png)
    assert content["ink"] > 0.05 and content["colours"] > 50, content
