"""Driving git and asv: benchmark commits in the current environment and compare them.

Each commit's tree is exported with ``git archive`` (the working tree is never
touched), its extensions are built in place, and ``asv run -E existing:<python>
--set-commit-hash <sha>`` runs the working tree's suites with that tree first on
``sys.path``. The result files are then read by :mod:`.asv_results` and compared
by :mod:`.gate`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..environment import ROOT
from .asv_results import ResultsError, load_results, read_asv_config, result_file
from .gate import Comparison, compare

DEFAULT_MACHINE = "kmbench-ci"


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ValueError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def resolve_commit(root: Path, name: str) -> str:
    """Full hash of a commit name (``HEAD~1``, a branch, a short hash)."""
    return _git(root, "rev-parse", "--verify", f"{name}^{{commit}}")


def export_commit(root: Path, sha: str, dest: Path) -> Path:
    """Extract the tree of ``sha`` into ``dest`` with ``git archive`` (no worktree changes)."""
    dest.mkdir(parents=True, exist_ok=True)
    tar = dest / ".export.tar"
    with open(tar, "wb") as fh:
        proc = subprocess.run(["git", "archive", "--format=tar", sha], cwd=root, stdout=fh,
                              stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise ValueError(f"git archive {sha} failed: {proc.stderr.decode().strip()}")
    with tarfile.open(tar) as tf:
        tf.extractall(dest, filter="data")
    tar.unlink()
    return dest


def prepare_commit(commit: str, work: Path, *, root: Path = ROOT, python: str = sys.executable,
                   say=print) -> tuple[str, Path | None, str]:
    """Export ``commit`` into ``work/<sha>`` and build its extensions in place.

    Returns ``(sha, tree or None when the build failed, build output)``.
    """
    sha = resolve_commit(Path(root), commit)
    tree = export_commit(Path(root), sha, Path(work) / sha[:12])
    say(f"kmbench regress: {commit} = {sha[:8]}: building its extensions in {tree}")
    env = dict(os.environ)
    env.pop("KMBENCH_EXT", None)
    proc = subprocess.run([python, "setup.py", "-q", "build_ext", "--inplace", "-j", "2"], cwd=tree,
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr)[-3000:]
        say(f"build of {sha[:8]} failed:\n{out}")
        return sha, None, out
    return sha, tree, ""


def run_asv(sha: str, tree: Path, *, root: Path = ROOT, machine: str = DEFAULT_MACHINE,
            profile: str = "quick", quick: bool = False, bench: list[str] | None = None,
            python: str = sys.executable, fresh: bool = True, echo: bool = True) -> tuple[Path | None, str, int]:
    """``asv run -E existing:<python> --set-commit-hash <sha>`` with ``tree`` first on ``sys.path``.

    ``fresh`` removes an earlier result file of that commit first (no stale benchmarks merged
    in); otherwise asv merges the benchmarks run now into it.
    """
    root = Path(root)
    conf_path = root / "asv.conf.json"
    conf = read_asv_config(conf_path)
    results_dir = root / conf.get("results_dir", "results")
    hash_length = int(conf.get("hash_length", 8))
    if fresh:
        old = result_file(results_dir, machine, sha, hash_length)
        if old is not None:
            old.unlink()
    subprocess.run([python, "-m", "asv", "machine", "--yes", "--machine", machine], cwd=root,
                   capture_output=True, text=True)
    cmd = [python, "-m", "asv", "run", "--config", str(conf_path), "-E", f"existing:{python}",
           "--set-commit-hash", sha, "--machine", machine]
    if quick:
        cmd.append("--quick")
    for b in bench or ():
        cmd += ["--bench", b]
    env = dict(os.environ)
    # asv's benchmark runner drops PYTHONPATH but puts ASV_PYTHONPATH first on sys.path.
    env["ASV_PYTHONPATH"] = str(tree)
    env["KMBENCH_ASV_PROFILE"] = profile
    if echo:
        print(f"kmbench regress: {' '.join(cmd[1:])}  (ASV_PYTHONPATH={tree}, KMBENCH_ASV_PROFILE={profile})",
              flush=True)
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    if echo:
        for ln in [ln for ln in out.splitlines() if "failed" in ln or "rror" in ln][-15:]:
            print("  " + ln)
    return result_file(results_dir, machine, sha, hash_length), out, proc.returncode


@dataclass
class CommitRun:
    commit: str
    sha: str
    result: Path | None
    log: str
    returncode: int


def benchmark_commit(commit: str, *, root: Path = ROOT, machine: str = DEFAULT_MACHINE,
                     profile: str = "quick", quick: bool = False, bench: list[str] | None = None,
                     python: str = sys.executable, echo: bool = True) -> CommitRun:
    """Benchmark one commit with the working tree's suites in the current environment.

    The commit's tree is exported with ``git archive``, its extensions are built in
    place with ``python``, and ``asv run -E existing:<python> --set-commit-hash`` runs
    the suites with that tree first on ``sys.path`` (``ASV_PYTHONPATH``, which asv's
    benchmark runner honours; it drops ``PYTHONPATH``). Results land in asv's results
    folder like any other run. ``result`` is None when the build or asv produced none.
    """
    log: list[str] = []
    say = (lambda m: (log.append(m), print(m, flush=True))) if echo else log.append
    with tempfile.TemporaryDirectory(prefix="kmbench-regress-") as work:
        sha, tree, out = prepare_commit(commit, Path(work), root=root, python=python, say=say)
        if tree is None:
            return CommitRun(commit, sha, None, "\n".join(log), 1)
        result, out, rc = run_asv(sha, tree, root=root, machine=machine, profile=profile, quick=quick,
                                  bench=bench, python=python, echo=echo)
        log.append(out)
        return CommitRun(commit, sha, result, "\n".join(log), rc)


def regress_commits(base: str, head: str, *, root: Path = ROOT, machine: str = DEFAULT_MACHINE,
                    profile: str = "quick", quick: bool = False, bench: list[str] | None = None,
                    python: str = sys.executable, confirm: int = 1, echo: bool = True,
                    **compare_kwargs) -> Comparison:
    """Benchmark BASE and HEAD and compare their result files.

    A shared machine slows whole stretches of a run, so a benchmark found ``slower`` is
    measured again ``confirm`` times, HEAD first then BASE, and stays a regression only
    if every re-run confirms it; otherwise it is reported as ``noisy``. A combination
    with ``more-instructions`` is counted again in HEAD once; a different count makes it
    ``non-deterministic`` (not gated).
    """
    say = (lambda m: print(m, flush=True)) if echo else (lambda m: None)
    opts = dict(root=root, machine=machine, profile=profile, quick=quick, python=python, echo=echo)
    with tempfile.TemporaryDirectory(prefix="kmbench-regress-") as work:
        prepared = [prepare_commit(c, Path(work), root=root, python=python, say=say) for c in (base, head)]
        files: list[Path | None] = []
        logs: list[str] = []
        for sha, tree, out in prepared:
            if tree is None:
                files.append(None)
                logs.append(out)
                continue
            result, out, _ = run_asv(sha, tree, bench=bench, **opts)
            files.append(result)
            logs.append(out)
        sets = [load_results(f) if f is not None else None for f in files]
        cmp = compare(sets[0], sets[1], **compare_kwargs)
        for (commit, (sha, _, _), f, out) in zip((base, head), prepared, files, logs, strict=True):
            if f is None:
                cmp.notes.append(f"{commit} ({sha[:8]}): no result file; last output:\n"
                                 + "\n".join(out.splitlines()[-20:]))
        if cmp.base is not None and cmp.head is not None:
            _confirm_slower(cmp, prepared, files, confirm, opts, compare_kwargs, say)
            _confirm_instructions(cmp, prepared, files, opts, say)
        return cmp


def _regex(rows: list) -> str:
    """asv's ``--bench`` for exactly these combinations: asv matches a parameterised
    benchmark as ``name(param0, param1, ...)``, a plain one as ``name``."""
    names = sorted({r.benchmark + (f"({', '.join(r.params)})" if r.params else "") for r in rows})
    return "^(" + "|".join(re.escape(n) for n in names) + ")$"


def _confirm_slower(cmp: Comparison, prepared, files, confirm: int, opts, compare_kwargs, say) -> None:
    """Re-measure ``slower`` combinations, HEAD then BASE; unconfirmed ones become ``noisy``."""
    for i in range(confirm):
        slow = [r for r in cmp.rows if r.status == "slower"]
        if not slow:
            break
        names = sorted({r.benchmark for r in slow})
        say(f"kmbench regress: confirming {len(slow)} slower combination(s) of {len(names)} "
            f"benchmark(s), round {i + 1}")
        for sha, tree, _ in reversed(prepared):
            run_asv(sha, tree, bench=[_regex(slow)], fresh=False, **opts)
        again = compare(load_results(files[0]), load_results(files[1]), **compare_kwargs)
        status = {(r.benchmark, r.params): r for r in again.rows}
        for r in slow:
            other = status.get((r.benchmark, r.params))
            if other is None or other.status != "slower":
                r.status = "noisy"
    n_noisy = sum(1 for r in cmp.rows if r.status == "noisy")
    if n_noisy:
        cmp.notes.append(f"{n_noisy} combination(s) slower in one run but not when measured again: noisy")


def _confirm_instructions(cmp: Comparison, prepared, files, opts, say) -> None:
    """Count the ``more-instructions`` combinations again, HEAD then BASE, in fresh processes.

    A count that changed between the two runs of the same commit by more than
    ``nd_rtol`` is ``non-deterministic``: not gated (its time benchmark still is).
    """
    more = [r for r in cmp.rows if r.status == "more-instructions"]
    if not more:
        return
    say(f"kmbench regress: counting the instructions of {len(more)} combination(s) again, HEAD then BASE")
    for sha, tree, _ in reversed(prepared):
        run_asv(sha, tree, bench=[_regex(more)], fresh=False, **opts)
    base_again, head_again = (load_results(f).values for f in files)
    n_nd = 0
    for r in more:
        key = (r.benchmark, r.params)
        for first, again in ((r.base, base_again.get(key)), (r.head, head_again.get(key))):
            if again is None or first is None or abs(again - first) > cmp.nd_rtol * first:
                r.status = "non-deterministic"
        n_nd += r.status == "non-deterministic"
    if n_nd:
        cmp.notes.append(f"{n_nd} combination(s) with more instructions gave a different count when "
                         "measured again: non-deterministic, gated on wall time only")


def find_results(spec: str, *, root: Path = ROOT, machine: str = DEFAULT_MACHINE) -> Path:
    """A result file from a path, or from a commit name looked up in ``results/asv/<machine>``."""
    p = Path(spec)
    if p.suffix == ".json" or p.exists():
        return p
    conf = read_asv_config(Path(root) / "asv.conf.json")
    sha = resolve_commit(Path(root), spec)
    found = result_file(Path(root) / conf.get("results_dir", "results"), machine, sha,
                        int(conf.get("hash_length", 8)), env_prefix="")
    if found is None:
        raise ResultsError(f"no stored asv results for {spec} ({sha[:8]}) on machine {machine}")
    return found

