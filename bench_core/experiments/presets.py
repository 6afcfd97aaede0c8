"""``kmbench reproduce PRESET``: named experiments, each ending in a report.

- ``quick`` (the main job of ``make bench``): every family on the bundled MNIST images, one
  report with a section each: the PAM family at n = 500, 1,000 and 2,000, k = 10 (and
  k = 5, 20 at n = 1,000), 3 restarts, every registered implementation (pure-Python ones at
  n = 500 only); medoid silhouette clustering (PAMSil at n = 200); CLARA/CLARANS, k-means and
  k-median at n = 2,000; and k selection (elbow, silhouette, gap) on two synthetic sets
  with known k. About two minutes on 2 cores.
- ``joss-table``: Schubert & Lenssen (2022), JOSS 7(75):4183, Table 1: the first 10,000
  bundled MNIST images, k = 10, 25 restarts. PAM-type implementations that would take hours
  get a restart budget (later restarts are recorded as skipped and the table marks them †;
  PAM starts from the deterministic BUILD, so its restarts repeat one another anyway);
  pure-Python implementations run at n = 1,000 and are marked ‡. The report adds the paper's
  table beside ours as ratios to kmedoids FasterPAM of the same run. ``--quick`` (run in CI):
  the same at n = 2,000, 3 restarts, a 4 s restart budget per implementation, no
  silhouettes, without PyClustering's PAM (minutes per run).
- ``fasterpam-vs-pam``: MNIST n = 10,000, k = 100: FasterPAM (10 restarts) against PAM, which
  runs at n = 1,000, 2,000, 5,000, 10,000 until it exceeds the time limit; its time at
  larger n is extrapolated from the fitted slope and labelled so in the tables and figures.
- ``kselect``: elbow, silhouette sweep and gap statistic for k-means, k-median and k-medoids
  on synthetic sets with a known number of clusters.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..runner import GridSpec

PAM_FAMILY = ["fasterpam", "fastpam1", "pam", "alternating"]
PURE_PYTHON = ["*-python"]


@dataclass
class Preset:
    name: str
    description: str
    grids: list[GridSpec] = field(default_factory=list)
    title: str = ""
    custom: Callable[..., Path] | None = None
    #: A smaller grid of the same comparisons (``--quick``; run in CI).
    quick_grids: list[GridSpec] | None = None
    #: Grids built when the preset runs (``build(quick, full)``), for presets whose grid
    #: depends on what is installed (the benchmark suite's folder).
    build: Callable[[bool, bool], list[GridSpec]] | None = None
    #: The report writer (``report(paths, name, command=...)``) when not the plain report.
    report: Callable[..., Path] | None = None

    def grids_for(self, *, quick: bool = False, full: bool = False) -> list[GridSpec]:
        """The grids of one run of the preset."""
        if self.build is not None:
            return self.build(quick, full)
        if quick:
            if not self.quick_grids:
                raise ValueError(f"preset {self.name!r} has no --quick grid; presets with one: "
                                 f"{', '.join(p for p, v in PRESETS.items() if v.quick_grids or v.build)}")
            return self.quick_grids
        if full:
            raise ValueError(f"preset {self.name!r} has no --full grid")
        return self.grids


def _perf_pam(n: int, n_pam: int, seeds: list[int], threads: list[int] = (1,)) -> list[GridSpec]:
    """Ours against kmedoids, one process at a time, the same starts (the former perf_pam script)."""
    common = dict(datasets=["mnist"], seeds=seeds, time_limit=900.0, silhouette=False,
                  exclude=PURE_PYTHON + ["*-parallel", "*torch*"])
    grids = []
    for t in threads:
        grids += [
            GridSpec(algorithms=["fasterpam", "alternating"], implementations=["reference", "kmedoids"],
                     ns=[n], ks=[10, 100], n_threads=t, label=f"FasterPAM and Alternating, {t} thread(s)",
                     **common),
            GridSpec(algorithms=["fastpam1", "pam"], implementations=["reference", "kmedoids"], ns=[n_pam],
                     ks=[10, 100], n_threads=t, label=f"FastPAM1 and PAM SWAP, {t} thread(s)", **common),
            GridSpec(algorithms=["build"], implementations=["reference", "kmedoids"], ns=[n], ks=[100],
                     seeds=[0], n_threads=t, datasets=["mnist"], time_limit=900.0, silhouette=False,
                     label=f"BUILD, {t} thread(s)"),
            GridSpec(algorithms=["silhouette", "medoid_silhouette"], implementations=["reference", "kmedoids"],
                     ns=[n], ks=[10], n_threads=t, label=f"silhouettes, {t} thread(s)", **common),
        ]
    return grids


def _perf_msc(n: int, n_slow: int, seeds: list[int]) -> list[GridSpec]:
    """FastMSC/FasterMSC against PAMMEDSIL and kmedoids; FasterCLARA against FasterPAM."""
    common = dict(datasets=["mnist"], seeds=seeds, time_limit=900.0, silhouette=False,
                  exclude=PURE_PYTHON + ["*-parallel", "*torch*"])
    return [
        GridSpec(algorithms=["fastmsc", "pammedsil"], implementations=["reference"], ns=[n_slow],
                 ks=[5, 10, 20], label="FastMSC vs PAMMEDSIL", **common),
        GridSpec(algorithms=["fastermsc"], implementations=["reference", "kmedoids"], ns=[n], ks=[10],
                 label="FasterMSC vs kmedoids", **common),
        GridSpec(algorithms=["fasterclara", "fasterpam"], implementations=["reference"], ns=[n],
                 ks=[10, 100], label="FasterCLARA vs FasterPAM", **common),
    ]


def _perf_kmeans(n: int, n_median: int, seeds: list[int]) -> list[GridSpec]:
    """k-means against scikit-learn, k-median against pyclustering (fixed iterations)."""
    common = dict(datasets=["mnist"], seeds=seeds, time_limit=900.0, silhouette=False, exclude=["*torch*"])
    return [
        GridSpec(algorithms=["kmeans"], implementations=["reference", "sklearn"], ns=[n], ks=[10, 100],
                 max_iter=20, label="k-means, 20 Lloyd iterations", **common),
        GridSpec(algorithms=["kmedian"], implementations=["reference", "pyclustering"], ns=[n_median], ks=[10],
                 max_iter=10, label="k-median, 10 iterations", **common),
    ]


def _perf_gpu(ns: list[int], seeds: list[int]) -> list[GridSpec]:
    """The torch backend against the CPU (kmedoids and the reference), from the same starts."""
    common = dict(datasets=["mnist"], seeds=seeds, time_limit=1800.0, silhouette=False)
    return [
        GridSpec(algorithms=["pam", "fastpam1", "fasterpam"], implementations=["torch*", "reference", "kmedoids"],
                 ns=ns, ks=[10, 100], label="PAM family on the GPU", **common),
        GridSpec(algorithms=["kmeans"], implementations=["torch*", "reference"], ns=ns, ks=[100], max_iter=50,
                 label="k-means, 50 iterations", **common),
    ]


#: SWAP iterations at most in perf-tiled (in effect: to convergence).
SWAP_MAX_ITER = 1000
#: The figures of exact PAM from the points (issue 16) and their targets in seconds:
#: {(dataset, n, k): seconds} (a target is met by a converged run within it).
TILED_TARGETS = {("blobs", 100_000, 100): 120.0, ("clustbench:sipu/birch1", 100_000, 100): 30.0}


def _perf_tiled(quick: bool, full: bool = False) -> list[GridSpec]:
    """Exact PAM from the points in the harness: BUILD + SWAP of ``pam/torch-tiled`` with the fused
    kernels (compiled on an untimed run first) on blobs (n = 100,000, d = 784, k = 100) and
    ``sipu/birch1`` (also pruned), and against the matrix-based ``pam/torch`` at n = 10,000 and
    30,000; ``full``: also n = 1,000,000 points in the plane (k = 10; minutes on an H200).
    ``quick``: all of it at small n (any device)."""
    import os

    from ..datasets import clustbench
    from ..environment import gpu_info

    if not quick and not os.environ.get("KMBENCH_TORCH_DEVICE") and not (gpu_info() or {}).get("available"):
        raise ValueError("perf-tiled measures a GPU and torch sees none here; --quick runs the same "
                         "comparisons at small n on any device (KMBENCH_TORCH_DEVICE=cpu runs the full "
                         "sizes on the CPU: hours)")

    # SWAP to convergence: the targets are met only by converged runs, and PAM's default of 100
    # iterations stops birch1 early (about 140 on the raw file)
    run = dict(seeds=[0], silhouette=False, time_limit=300.0 if quick else 3600.0, max_iter=SWAP_MAX_ITER)
    tiled = dict(algorithms=["pam"], implementations=["torch-tiled"], options={"fused": True}, **run)
    n_784, n_birch, n_2d, vs = (([1000], [2000], [5000], [500, 1000]) if quick else
                                ([100_000], [100_000], [1_000_000], [10_000, 30_000]))
    k_784, k_vs = (20, 10) if quick else (100, 100)
    grids = [GridSpec(datasets=["blobs:k=100,d=784"], ns=n_784, ks=[k_784], label="blobs, d = 784", **tiled),
             GridSpec(datasets=["blobs:k=100,d=784"], ns=vs, ks=[k_vs], label="against the matrix", **tiled),
             GridSpec(algorithms=["pam"], implementations=["torch"], datasets=["blobs:k=100,d=784"], ns=vs,
                      ks=[k_vs], label="the matrix-based pam/torch", **run)]
    if "clustbench:sipu/birch1" not in {d["name"] for d in clustbench.describe()}:
        print("perf-tiled: sipu/birch1 left out: the clustering benchmark suite was not found "
              "(--data-dir DIR or $KMBENCH_CLUSTBENCH_DIR)", file=sys.stderr)
    else:
        grids.insert(1, GridSpec(datasets=["clustbench:sipu/birch1"], ns=n_birch, ks=[100], label="birch1",
                                 **(tiled | {"implementations": ["torch-tiled", "torch-tiled-pruned"]})))
    if quick or full:
        grids.append(GridSpec(datasets=["blobs:k=10,d=2"], ns=n_2d, ks=[10], label="blobs in the plane, k = 10",
                              **tiled))
    return grids


def _tiled_report(paths, name, command=None) -> Path:
    """The plain report plus the tiled runs' times against their targets and the device floor."""
    from ..report import write_report
    from ..report.tiled import tiled_tables

    def extra(df, caption):
        return [("Exact PAM from the points", tiled_tables(df, caption, TILED_TARGETS))]

    return write_report(paths, name, command=command, title=PRESETS["perf-tiled"].title, extra=extra)


MSC_FAMILY = ["fastmsc", "fastermsc", "pammedsil", "dynmsc"]
SAMPLING = ["clara", "fastclara", "fasterclara", "clarans", "fastclarans"]


#: Left out of the main job to keep it short: the torch backend (on a machine without a GPU it
#: repeats the reference on the CPU; ``perf-gpu`` compares it), R and ELKI (a child process and
#: its start-up per run; ``joss-table`` and ``kmbench validate`` run them), the original BanditPAM
#: and pyclustering's PAM and k-median, which take a minute or more per run at these sizes.
QUICK_EXCLUDE = [*PURE_PYTHON, "*/torch*", "*/r-cluster*", "*/elki", "pam/banditpam-orig", "pam/pyclustering",
                 "kmedian/pyclustering*"]


def _quick() -> list[GridSpec]:
    common = dict(algorithms=PAM_FAMILY, datasets=["mnist"], seeds=[0, 1, 2], time_limit=30.0,
                  restart_budget=15.0)
    rest = dict(datasets=["mnist"], time_limit=30.0, restart_budget=15.0, exclude=QUICK_EXCLUDE)
    return [
        GridSpec(ns=[500, 1000, 2000], ks=[10], exclude=QUICK_EXCLUDE, label="runtime vs n", **common),
        GridSpec(ns=[1000], ks=[5, 20], exclude=QUICK_EXCLUDE, label="runtime vs k", **common),
        GridSpec(algorithms=PAM_FAMILY, entries=[], implementations=["*-python"], datasets=["mnist"],
                 ns=[500], ks=[10], seeds=[0], time_limit=30.0, label="pure Python, n = 500 only"),
        GridSpec(algorithms=MSC_FAMILY, ns=[1000], ks=[10], seeds=[0, 1], label="medoid silhouette", **rest),
        GridSpec(algorithms=["pamsil"], ns=[200], ks=[5], seeds=[0], label="PAMSil, n = 200 only", **rest),
        # pyclustering's CLARANS (pure Python) needs more than 30 s at n = 2,000: 10 s shows it
        # without spending a quarter of the job on it
        GridSpec(algorithms=SAMPLING, ns=[2000], ks=[10], seeds=[0, 1, 2], label="sampling",
                 **(rest | {"time_limit": 10.0})),
        GridSpec(algorithms=["kmeans", "kmedian"], ns=[2000], ks=[10], seeds=[0, 1, 2],
                 label="k-means and k-median", **rest),
    ]


#: k selection in the quick preset: two synthetic sets, k = 1..8, 5 reference sets for the gap.
QUICK_KSELECT = dict(sets=(("elbow4", {}, 4), ("blobs", {"k": 5, "d": 2}, 5)), ks=range(1, 9), B=5)


#: The JOSS table's algorithms plus OneBatchPAM (same objective, sampled).
JOSS_ALGORITHMS = [*PAM_FAMILY, "onebatchpam"]
#: Left out of the quick JOSS table to keep it near a minute: PyClustering's PAM (minutes per run at
#: n = 2,000: 77,000 ns per N² in the paper), the original BanditPAM (tens of seconds) and R's "o_1"/"o_2"
#: PAM variants (the same swaps as "original", checked by kmbench validate).
JOSS_QUICK_EXCLUDE = [*PURE_PYTHON, "pam/pyclustering", "pam/banditpam-orig", "pam/r-cluster-o_*"]


def _joss_quick() -> list[GridSpec]:
    return [GridSpec(algorithms=JOSS_ALGORITHMS, datasets=["mnist"], ns=[2000], ks=[10], seeds=[0, 1, 2],
                     exclude=JOSS_QUICK_EXCLUDE, time_limit=60.0, restart_budget=4.0, silhouette=False,
                     label="JOSS Table 1, quick: n = 2,000, 3 restarts")]


def _joss_report(paths, name, command=None, out_dir=None, compile_latex=True) -> Path:
    """The report plus the paper's Table 1 beside ours, as ratios to kmedoids FasterPAM of the same run."""
    from ..report import write_report
    from ..report.tables import joss_paper_tables

    def paper(df, caption):
        return [("JOSS Table 1 (paper) beside ours, as ratios to kmedoids FasterPAM", joss_paper_tables(df, caption))]

    return write_report(paths, name, out_dir=out_dir, command=command, title=PRESETS["joss-table"].title,
                        extra=paper, compile_latex=compile_latex)


def reproduce_joss(name: str = "joss-table", *, resume: bool = False, progress: bool = True,
                   results_name: str | None = None, command: str | None = None, out_dir: Path | None = None,
                   results_dir: Path | None = None, log=print) -> Path:
    """Run ``joss-table`` (or its quick grid: ``joss-table-quick``) with the results and report
    folders redirected (tests); ``kmbench reproduce joss-table [--quick]`` is the same run."""
    from ..results_io import ResultsFile
    from ..runner import run_grid

    quick = name.endswith("-quick")
    preset = PRESETS["joss-table"]
    command = command or f"kmbench reproduce joss-table{' --quick' if quick else ''}"
    results = ResultsFile.named(results_name or name, results_dir)
    log(f"{command}: {preset.description}; results -> {results.path}")
    summary = run_grid(preset.grids_for(quick=quick), results, resume=resume, overwrite=not resume,
                       progress=progress, command=command)
    log(summary.line())
    return _joss_report([results.path], results.path.stem, command=command, out_dir=out_dir,
                        compile_latex=results_dir is None)


def _joss() -> list[GridSpec]:
    return [
        GridSpec(algorithms=JOSS_ALGORITHMS, datasets=["mnist"], ns=[10000], ks=[10], seeds=list(range(25)),
                 exclude=PURE_PYTHON, time_limit=1800.0, restart_budget=600.0, silhouette_max_n=10000,
                 label="JOSS Table 1"),
        GridSpec(algorithms=PAM_FAMILY, implementations=["*-python"], datasets=["mnist"], ns=[1000], ks=[10],
                 seeds=[0, 1, 2], time_limit=600.0, restart_budget=600.0, label="pure Python, n = 1,000 only"),
    ]


def _fvp() -> list[GridSpec]:
    return [
        GridSpec(algorithms=["fasterpam", "pam"], datasets=["mnist"], ns=[1000, 2000, 5000, 10000], ks=[100],
                 seeds=[0], exclude=PURE_PYTHON, time_limit=900.0, label="FasterPAM and PAM over n"),
        GridSpec(algorithms=["fasterpam"], datasets=["mnist"], ns=[10000], ks=[100], seeds=list(range(1, 10)),
                 time_limit=900.0, label="FasterPAM restarts"),
    ]


PRESETS: dict[str, Preset] = {
    "quick": Preset("quick", "every family on bundled MNIST n <= 2,000 (PAM family, medoid silhouette, "
                    "CLARA/CLARANS, k-means, k-median) and k selection: the main job of make bench", _quick(),
                    "Quick benchmark: every family on bundled MNIST"),
    "joss-table": Preset("joss-table", "JOSS Table 1: MNIST n = 10,000, k = 10, 25 restarts (--quick: n = 2,000, "
                         "3 restarts)", _joss(), "JOSS Table 1 reproduction: MNIST n = 10,000, k = 10",
                         quick_grids=_joss_quick(), report=_joss_report),
    "fasterpam-vs-pam": Preset("fasterpam-vs-pam", "FasterPAM vs PAM on MNIST n = 10,000, k = 100", _fvp(),
                               "FasterPAM vs PAM: MNIST n = 10,000, k = 100"),
    "kselect": Preset("kselect", "elbow, silhouette and gap statistic on synthetic sets with known k"),
    "perf-pam": Preset("perf-pam", "the PAM family and silhouettes against kmedoids, 1 and 2 threads, MNIST "
                       "n = 10,000 (PAM SWAP, FastPAM1 n = 2,000)", _perf_pam(10000, 2000, [0, 1, 2], [1, 2]),
                       "Reference PAM family against kmedoids, side by side",
                       quick_grids=_perf_pam(1000, 500, [0], [1])),
    "perf-msc": Preset("perf-msc", "FastMSC vs PAMMEDSIL (n = 2,000), FasterMSC vs kmedoids and FasterCLARA vs "
                       "FasterPAM (n = 10,000)", _perf_msc(10000, 2000, [0, 1, 2]),
                       "Medoid silhouette and sampling, side by side", quick_grids=_perf_msc(1000, 300, [0])),
    "perf-kmeans": Preset("perf-kmeans", "k-means against scikit-learn (n = 10,000), k-median against "
                          "pyclustering (n = 1,000)", _perf_kmeans(10000, 1000, [0, 1, 2, 3, 4]),
                          "k-means and k-median against their peers", quick_grids=_perf_kmeans(1000, 300, [0])),
    "battery": Preset("battery", "every clustering family on the clustering benchmark suite's recommended "
                      "batteries at the true k, 3 seeds, 60 s per run (--full: larger sets too; --quick: "
                      "five small sets, one seed)", title="Clustering benchmark suite: every family at the true k",
                      build=lambda quick, full: _battery_grids(quick, full),
                      report=lambda paths, name, command=None: battery_report(paths, name, command=command)),
    "perf-gpu": Preset("perf-gpu", "the torch backend (GPU when present) against the CPU, MNIST n = 10,000",
                       _perf_gpu([10000], [0, 1, 2]), "The torch backend against the CPU",
                       quick_grids=_perf_gpu([300], [0])),
    "perf-tiled": Preset("perf-tiled", "exact PAM from the points (pam/torch-tiled, fused): n = 100,000 blobs "
                         "(d = 784) and sipu/birch1 (k = 100), against pam/torch at n = 10,000 and 30,000 "
                         "(--full: also 1,000,000 points in the plane, k = 10; --quick: small n, any device)",
                         title="Exact PAM from the points (GPU when present)",
                         build=_perf_tiled, report=_tiled_report),
}


def reproduce(name: str, *, resume: bool = False, progress: bool = True, results_name: str | None = None,
              command: str | None = None, log=print, quick: bool = False, full: bool = False,
              dask=None, grids: list[GridSpec] | None = None) -> Path:
    """Run preset ``name`` and write its report; returns the report folder.

    ``quick`` runs the preset's smaller grid (the same comparisons; CI runs these), ``full``
    its larger one. ``dask`` (:class:`~bench_core.runner.distributed.DaskSettings`) runs the
    grid on Dask workers. ``grids``: those of ``grids_for(quick, full)`` already built (and
    checked) by the caller, so that they are built once.
    """
    from ..report import write_report
    from ..results_io import ResultsFile
    from ..runner import run_grid

    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    preset = PRESETS[name]
    command = command or f"kmbench reproduce {name}"
    if name == "kselect":
        return kselect_report(command=command, log=log)
    rname = results_name or (f"{name}-quick" if quick else f"{name}-full" if full else name)
    results = ResultsFile.named(rname)
    fresh = not resume
    grids = grids if grids is not None else preset.grids_for(quick=quick, full=full)
    log(f"kmbench reproduce {name}{' --quick' if quick else ''}: {preset.description}; results -> {results.path}")
    if dask is not None:
        from ..runner.distributed import run_on_dask

        summary = run_on_dask(grids, results, dask, resume=resume, overwrite=fresh, progress=progress,
                              command=command, log=log)
    else:
        summary = run_grid(grids, results, resume=resume, overwrite=fresh, progress=progress, command=command)
    log(summary.line())
    extra = None
    if name == "quick":  # the main job covers k selection too, in the same report
        ks_path = results.path.with_name(f"{rname}-kselect.csv")
        if fresh or not ks_path.exists():
            kselect_rows(**QUICK_KSELECT, log=log).to_csv(ks_path, index=False)

        def extra(df, caption):
            import pandas as pd

            return [("k selection", [kselect_table(pd.read_csv(ks_path), caption, QUICK_KSELECT["ks"],
                                                   QUICK_KSELECT["B"])])]
    if preset.report is not None:
        return preset.report([results.path], rname, command=command)
    return write_report([results.path], rname, command=command, title=preset.title, extra=extra)


# --------------------------------------------------------------------------- kselect

KSELECT_SETS = (("tutorial3", {}, 3), ("elbow4", {}, 4), ("blobs", {"k": 5, "d": 2}, 5),
                ("blobs", {"k": 3, "d": 10}, 3))
KSELECT_METHODS = ("kmeans", "kmedian", "kmedoids")


def kselect_report(*, command: str, ks=range(1, 11), B: int = 10, log=print, out_dir: Path | None = None) -> Path:
    """Run the three k-selection rules on the synthetic sets and write reports/kselect/."""
    from ..atomic import atomic_write_text
    from ..environment import record, summary_line
    from ..report import REPORTS_DIR, relative, write_document
    from ..report.figures import Figure, _new, _save
    from ..results_io import RUNS_DIR, ResultsFile

    rec = record()
    machine = summary_line(rec)
    caption = f"Machine: {machine}. Command: {command}."
    t_all = time.perf_counter()
    curves: dict = {}
    df = kselect_rows(KSELECT_SETS, ks, B, log=log, curves=curves)
    rows = df.to_dict("records")
    results = ResultsFile(Path(RUNS_DIR) / "kselect.csv")
    results.path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(results.path, df.to_csv(index=False))
    results.add_environment(rec)
    results.add_command(command)
    table = kselect_table(df, caption, ks, B)
    out = Path(out_dir) if out_dir else REPORTS_DIR / "kselect"
    out.mkdir(parents=True, exist_ok=True)
    figures: list[Figure] = []
    for label in dict.fromkeys(r["dataset"] for r in rows):
        fig, axes = _new()
        fig.clf()
        axs = fig.subplots(1, 3)
        for method in KSELECT_METHODS:
            el, sil, gap, true_k = curves[(label, method)]
            loss = el.column("loss")
            axs[0].plot(el.column("k"), loss / loss.max(), marker="o", ms=3, label=method)
            axs[1].plot(sil.column("k"), sil.column("silhouette"), marker="o", ms=3, label=method)
            axs[2].errorbar(gap.column("k"), gap.column("gap"), yerr=gap.column("s"), marker="o", ms=3,
                            capsize=2, label=method)
        for ax, what in zip(axs, ("loss / loss at k = 1", "average silhouette", "gap"), strict=True):
            ax.axvline(true_k, color="0.5", ls="--", lw=1)
            ax.set(xlabel="k", ylabel=what)
            ax.grid(True, alpha=0.3)
        axs[0].legend(fontsize=7)
        fid = "kselect-" + "".join(c if c.isalnum() else "-" for c in label).strip("-")
        figures.append(_save(fig, out / "figures", fid, f"k selection on {label} (dashed: true k = {true_k})",
                             caption))
    df.to_csv(out / "rows.csv", index=False)
    write_document(out, "k selection on synthetic data with known k", [("Suggested k", [table])], figures,
                   [machine], [command], [relative(results.path)], caption)
    log(f"kselect: {len(rows)} rows in {time.perf_counter() - t_all:.0f} s")
    return out


def kselect_rows(sets, ks, B: int, *, log=print, curves: dict | None = None):
    """The three k-selection rules for every method on ``sets`` ((name, params, true k), ...)."""
    import pandas as pd

    from ..algorithms import kselect
    from ..datasets import get_dataset

    rows = []
    ks = list(ks)
    for ds_name, params, true_k in sets:
        ds = get_dataset(ds_name, seed=0, **params)
        label = ds_name + ("" if not params else "(" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")")
        for method in KSELECT_METHODS:
            t0 = time.perf_counter()
            el = kselect.elbow(ds.X, ks, method=method, random_state=0)
            sil = kselect.silhouette_sweep(ds.X, [k for k in ks if k >= 2], method=method, random_state=0)
            gap = kselect.gap_statistic(ds.X, ks, method=method, B=B, random_state=0)
            secs = time.perf_counter() - t0
            log(f"kselect {label} {method}: elbow {el.k}, silhouette {sil.k}, gap {gap.k} "
                f"(true {true_k}; {secs:.1f} s)")
            rows.append({"dataset": label, "n": ds.n, "checksum": ds.checksum, "true_k": true_k, "method": method,
                         "elbow": el.k, "silhouette": sil.k, "gap": gap.k, "seconds": secs})
            if curves is not None:
                curves[(label, method)] = (el, sil, gap, true_k)
    return pd.DataFrame(rows)


def kselect_table(df, caption: str, ks, B: int):
    """The suggested k of each rule, marked where it misses the true k."""
    from ..report.tables import Table

    ks = list(ks)

    def mark(k, true_k):
        return f"{k}" if k == true_k else f"{k} ✗"

    return Table(id="kselect", title="Suggested k (✗: differs from the true k)",
                 columns=["data", "n", "true k", "method", "elbow", "silhouette", "gap"],
                 rows=[[r["dataset"], str(r["n"]), str(r["true_k"]), r["method"], mark(r["elbow"], r["true_k"]),
                        mark(r["silhouette"], r["true_k"]), mark(r["gap"], r["true_k"])]
                       for r in df.to_dict("records")],
                 notes=[f"elbow: knee of the loss curve; silhouette: maximum average silhouette; gap: Tibshirani "
                        f"et al. (2001) rule with B = {B} uniform reference sets; k = {min(ks)}..{max(ks)}, best "
                        "of 3 seeded runs per k (bench_core.algorithms.kselect)."],
                 caption=caption)
# --------------------------------------------------------------------------- battery

#: The battery's methods: every clustering family, one implementation each (kmbench's
#: reference kernels), plus any entry matching ``extra_entries`` (plug-ins). PAMSIL and
#: PAMMEDSIL (cubic per iteration), DynMSC (it chooses k) and BUILD alone are left out.
BATTERY_ALGORITHMS = ["fasterpam", "fastpam1", "pam", "alternating", "fastmsc", "fastermsc", "clara", "fastclara",
                      "fasterclara", "clarans", "fastclarans", "kmeans", "kmedian"]
#: Families that work from the points (no n x n matrix): they also run on the larger sets.
POINTS_FAMILIES = ("sampling", "kmeans", "kmedian")
#: What the default battery runs on the largest sets (CLARANS would spend its time limit).
LARGE_ALGORITHMS = ["clara", "fastclara", "fasterclara"]


def battery(*, full: bool = False, seeds=(0, 1, 2), time_limit: float = 60.0, max_n: int = 2500,
            points_max_n: int = 10000, full_diss_max_n: int = 20000, batteries=None, datasets=None,
            implementations=("reference",), extra_entries=(), root=None) -> list[GridSpec]:
    """The grids of ``kmbench reproduce battery``: every clustering family on the suite.

    One :class:`GridSpec` per data set of the clustering benchmark suite found in the
    suite's folder (see :mod:`bench_core.datasets.clustbench`), at the number of clusters
    of its first reference partition (``--k true``), with ``seeds`` restarts and
    ``time_limit`` seconds per run.

    Default (within an hour on 2 cores): data sets with n <= ``max_n`` get every method;
    those with n <= ``points_max_n`` only the methods that work from the points (sampling,
    k-means, k-median: no n x n matrix); larger ones (``sipu/birch1``: 100,000 points) only
    CLARA, FastCLARA and FasterCLARA (:data:`LARGE_ALGORITHMS`). ``full=True`` gives every
    method the sets up to ``full_diss_max_n`` (an n x n float64 matrix of 20,000 points is
    3.2 GB) and every point-based method every set.

    Parameters
    ----------
    batteries : list of str, optional
        Default: the suite's recommended batteries that are present
        (:data:`bench_core.datasets.clustbench.RECOMMENDED`).
    datasets : list of str, optional
        ``BATTERY/NAME`` to run instead of every set of ``batteries`` (size rules still apply).
    implementations : sequence of str
        fnmatch patterns on the implementation half of the registry names.
    extra_entries : sequence of str
        Full registry names (patterns) added to every grid, e.g. plug-ins.
    """
    from ..datasets import clustbench
    from ..registry import entries as registry_entries

    found = {d["name"].partition(":")[2]: d for d in clustbench.describe(root)}
    if not found:
        raise ValueError(f"no clustering benchmark suite in {clustbench.data_dir(root)}; point --data-dir or "
                         f"${clustbench.ENV_VAR} at it (a folder with batteries such as fcps/, wut/)")
    batteries = list(batteries or [b for b in clustbench.RECOMMENDED if any(k.startswith(b + "/") for k in found)])
    keys = [k for k in (datasets or sorted(found)) if k.split("/")[0] in batteries or datasets]
    missing = [k for k in keys if k not in found]
    if missing:
        raise ValueError(f"data sets not in {clustbench.data_dir(root)}: {', '.join(missing)}")
    fam = {e.algorithm: e.family for e in registry_entries()}
    points_algos = [a for a in BATTERY_ALGORITHMS if fam.get(a) in POINTS_FAMILIES]
    grids: list[GridSpec] = []
    for key in keys:
        d = found[key]
        n, k = int(d["n"]), int(d["n_clusters"][0])
        if k >= n:
            continue
        if n <= (full_diss_max_n if full else max_n):
            algos = list(BATTERY_ALGORITHMS)
        elif full or n <= points_max_n:
            algos = points_algos
        else:
            algos = [a for a in LARGE_ALGORITHMS if a in BATTERY_ALGORITHMS]
        # ns=[n], not None: every point, and the runner sees the size (silhouettes up to max_n)
        grids.append(GridSpec(algorithms=algos, implementations=list(implementations), entries=list(extra_entries),
                              exclude=PURE_PYTHON, datasets=[f"{clustbench.PREFIX}:{key}"], ns=[n], ks=[k],
                              seeds=list(seeds), time_limit=time_limit, restart_budget=3 * time_limit,
                              silhouette_max_n=max_n, label=f"{key} (n = {n:,}, true k = {k})"))
    return grids


def battery_report(paths, name: str = "battery", *, command: str | None = None, update_best_known: bool = True,
                   title: str = "Clustering benchmark suite: every family at the true k") -> Path:
    """Report of battery results: the usual report plus statistics across data sets, the gap to
    the best known losses (updated first from these rows) and ``interactive.html``."""
    from ..best_known import BestKnown, gap_table
    from ..report import write_report
    from ..report.interactive import write_interactive
    from ..report.stats import summary_tables
    from ..results_io import load_many

    df, _ = load_many(paths)
    table = BestKnown.load()
    if update_best_known:
        changes = []
        for src, part in df.groupby("source", sort=False):
            changes += table.update(part, source=str(src))
        if changes:
            table.save()

    def extra(rows, caption):
        return [("Statistics across data sets", summary_tables(rows, caption)),
                ("Gap to the best known loss", gap_table(rows, caption, table))]

    out = write_report(paths, name, command=command, title=title, extra=extra)
    write_interactive(df, out / "interactive.html", title, caption=f"Results: {', '.join(map(str, paths))}",
                      best_known=table)
    return out


#: The ``--quick`` battery (CI): five small sets of different kinds, one seed.
QUICK_BATTERY = ["fcps/hepta", "fcps/lsun", "wut/x2", "graves/ring_noisy", "other/iris"]


def _battery_grids(quick: bool, full: bool) -> list[GridSpec]:
    if quick:
        from ..datasets import clustbench

        found = {d["name"].partition(":")[2] for d in clustbench.describe()}
        return battery(datasets=[d for d in QUICK_BATTERY if d in found] or None, seeds=(0,), time_limit=60.0)
    return battery(full=full)
