"""``kmbench reproduce PRESET``: named experiments, each ending in a report.

- ``quick`` (the main job of ``make bench``): the PAM family on the first 500, 1,000 and
  2,000 bundled MNIST images, k = 10 (and k = 5, 20 at n = 1,000), 3 restarts, every
  registered implementation; pure-Python implementations run at n = 500 only. A few
  minutes on 2 cores.
- ``joss-table``: Schubert & Lenssen (2022), JOSS 7(75):4183, Table 1: the first 10,000
  bundled MNIST images, k = 10, 25 restarts. PAM-type implementations that would take hours
  get a restart budget (later restarts are recorded as skipped and the table marks them †;
  PAM starts from the deterministic BUILD, so its restarts repeat one another anyway);
  pure-Python implementations run at n = 1,000 and are marked ‡.
- ``fasterpam-vs-pam``: MNIST n = 10,000, k = 100: FasterPAM (10 restarts) against PAM, which
  runs at n = 1,000, 2,000, 5,000, 10,000 until it exceeds the time limit; its time at
  larger n is extrapolated from the fitted slope and labelled so in the tables and figures.
- ``kselect``: elbow, silhouette sweep and gap statistic for k-means, k-median and k-medoids
  on synthetic sets with a known number of clusters.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .runner import GridSpec

PAM_FAMILY = ["fasterpam", "fastpam1", "pam", "alternating"]
PURE_PYTHON = ["*-python"]


@dataclass
class Preset:
    name: str
    description: str
    grids: list[GridSpec] = field(default_factory=list)
    title: str = ""
    custom: Callable[..., Path] | None = None


def _quick() -> list[GridSpec]:
    common = dict(algorithms=PAM_FAMILY, datasets=["mnist"], seeds=[0, 1, 2], time_limit=60.0,
                  restart_budget=30.0)
    return [
        GridSpec(ns=[500, 1000, 2000], ks=[10], exclude=PURE_PYTHON, label="runtime vs n", **common),
        GridSpec(ns=[1000], ks=[5, 20], exclude=PURE_PYTHON, label="runtime vs k", **common),
        GridSpec(algorithms=PAM_FAMILY, entries=[], implementations=["*-python"], datasets=["mnist"],
                 ns=[500], ks=[10], seeds=[0], time_limit=30.0, label="pure Python, n = 500 only"),
    ]


def _joss() -> list[GridSpec]:
    return [
        GridSpec(algorithms=PAM_FAMILY, datasets=["mnist"], ns=[10000], ks=[10], seeds=list(range(25)),
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
    "quick": Preset("quick", "PAM family on MNIST n <= 2,000 (a few minutes)", _quick(),
                    "Quick benchmark: the PAM family on bundled MNIST"),
    "joss-table": Preset("joss-table", "JOSS Table 1: MNIST n = 10,000, k = 10, 25 restarts", _joss(),
                         "JOSS Table 1 reproduction: MNIST n = 10,000, k = 10"),
    "fasterpam-vs-pam": Preset("fasterpam-vs-pam", "FasterPAM vs PAM on MNIST n = 10,000, k = 100", _fvp(),
                               "FasterPAM vs PAM: MNIST n = 10,000, k = 100"),
    "kselect": Preset("kselect", "elbow, silhouette and gap statistic on synthetic sets with known k"),
}


def reproduce(name: str, *, resume: bool = False, progress: bool = True, results_name: str | None = None,
              command: str | None = None, log=print, dask=None) -> Path:
    """Run preset ``name`` and write its report; returns the report folder.

    ``dask`` (:class:`~bench_core.runner.distributed.DaskSettings`) runs the grid on Dask workers.
    """
    from .report import write_report
    from .results_io import ResultsFile
    from .runner import run_grid

    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    preset = PRESETS[name]
    command = command or f"kmbench reproduce {name}"
    if name == "kselect":
        return kselect_report(command=command, log=log)
    rname = results_name or name
    results = ResultsFile.named(rname)
    fresh = not resume
    log(f"kmbench reproduce {name}: {preset.description}; results -> {results.path}")
    if dask is not None:
        from .runner.distributed import run_on_dask

        summary = run_on_dask(preset.grids, results, dask, resume=resume, overwrite=fresh, progress=progress,
                              command=command, log=log)
    else:
        summary = run_grid(preset.grids, results, resume=resume, overwrite=fresh, progress=progress,
                           command=command)
    log(summary.line())
    return write_report([results.path], rname, command=command, title=preset.title)


# --------------------------------------------------------------------------- kselect

KSELECT_SETS = (("tutorial3", {}, 3), ("elbow4", {}, 4), ("blobs", {"k": 5, "d": 2}, 5),
                ("blobs", {"k": 3, "d": 10}, 3))
KSELECT_METHODS = ("kmeans", "kmedian", "kmedoids")


def kselect_report(*, command: str, ks=range(1, 11), B: int = 10, log=print, out_dir: Path | None = None) -> Path:
    """Run the three k-selection rules on the synthetic sets and write reports/kselect/."""
    import pandas as pd

    from .algorithms import kselect
    from .atomic import atomic_write_text
    from .datasets import get_dataset
    from .environment import record, summary_line
    from .report import REPORTS_DIR, write_document
    from .report.figures import Figure, _new, _save
    from .report.tables import Table
    from .results_io import RUNS_DIR, ResultsFile

    rec = record()
    machine = summary_line(rec)
    caption = f"Machine: {machine}. Command: {command}."
    rows, curves = [], {}
    t_all = time.perf_counter()
    for ds_name, params, true_k in KSELECT_SETS:
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
            curves[(label, method)] = (el, sil, gap, true_k)
    df = pd.DataFrame(rows)
    results = ResultsFile(Path(RUNS_DIR) / "kselect.csv")
    results.path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(results.path, df.to_csv(index=False))
    results.add_environment(rec)
    results.add_command(command)

    def mark(k, true_k):
        return f"{k}" if k == true_k else f"{k} ✗"

    table = Table(id="kselect", title="Suggested k (✗: differs from the true k)",
                  columns=["data", "n", "true k", "method", "elbow", "silhouette", "gap"],
                  rows=[[r["dataset"], str(r["n"]), str(r["true_k"]), r["method"], mark(r["elbow"], r["true_k"]),
                         mark(r["silhouette"], r["true_k"]), mark(r["gap"], r["true_k"])] for r in rows],
                  notes=[f"elbow: knee of the loss curve; silhouette: maximum average silhouette; gap: Tibshirani "
                         f"et al. (2001) rule with B = {B} uniform reference sets; k = {min(ks)}..{max(ks)}, best "
                         "of 3 seeded runs per k (bench_core.algorithms.kselect)."],
                  caption=caption)
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
                   [machine], [command], [str(results.path)], caption)
    log(f"kselect: {len(rows)} rows in {time.perf_counter() - t_all:.0f} s")
    return out
