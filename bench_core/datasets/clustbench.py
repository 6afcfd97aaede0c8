"""The clustering benchmark suite (Gagolewski, 2022) as data sets ``clustbench:BATTERY/NAME``.

The suite (version 1.1.0: batteries ``wut``, ``sipu``, ``fcps``, ``graves``, ``other``,
``uci``, ...) is read from a local directory with the field's own loader,
:func:`clustbench.load_dataset` of the ``clustering-benchmarks`` package. The directory is,
in order: the one given to :func:`set_data_dir` (``--data-dir``), ``$KMBENCH_CLUSTBENCH_DIR``,
or ``datasets/clustbench/`` in the project. The suite is not shipped with kmbench (its
licence is not ours): only a manifest of the md5 sums, sizes and reference cluster counts of
version 1.1.0 (``clustbench_manifest.json``), against which every file is checked.

Each data set keeps all of its reference partitions (``Dataset.labelings``, in the order
``labels0``, ``labels1``, ...) with ``0`` marking noise points (``Dataset.noise_label``).
Points are preprocessed as the suite recommends (:func:`clustbench.preprocess_data`:
constant columns dropped, centred, scaled to unit total variance, a tiny Gaussian jitter),
with the jitter seeded by the data seed so that a checksum identifies the array.

Every publication that uses the suite cites Gagolewski M., A framework for benchmarking
clustering algorithms, SoftwareX 20, 2022, 101270, doi:10.1016/j.softx.2022.101270, the
suite's version (Gagolewski M. et al. (Eds.), A benchmark suite for clustering algorithms:
Version 1.1.0, 2022, doi:10.5281/zenodo.7088171) and the references in each ``NAME.txt``.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..environment import ROOT
from .catalog import Dataset, register_dataset
from .mnist import ChecksumError

PREFIX = "clustbench"
DEFAULT_DIR = ROOT / "datasets" / "clustbench"
ENV_VAR = "KMBENCH_CLUSTBENCH_DIR"
MANIFEST = Path(__file__).with_name("clustbench_manifest.json")
#: The batteries the suite's authors recommend for benchmarking (version 1).
RECOMMENDED = ("wut", "graves", "uci", "sipu", "fcps", "other")
CITATION = ("Gagolewski M., A framework for benchmarking clustering algorithms, SoftwareX 20, 2022, "
            "101270, doi:10.1016/j.softx.2022.101270; Gagolewski M. et al. (Eds.), A benchmark suite "
            "for clustering algorithms: Version 1.1.0, 2022, doi:10.5281/zenodo.7088171; and the "
            "references in each data set's NAME.txt")

_explicit_dir: Path | None = None


def set_data_dir(path: str | os.PathLike | None) -> None:
    """Use ``path`` as the suite's directory (what ``--data-dir`` sets); None restores the default."""
    global _explicit_dir
    _explicit_dir = None if path is None else Path(path).expanduser().absolute()


def explicit_data_dir() -> Path | None:
    """The directory given to :func:`set_data_dir` (``--data-dir``), or None.

    The Dask runner sends it with every run, and a worker that has that folder uses it
    (a worker on another machine without it keeps its own ``$KMBENCH_CLUSTBENCH_DIR``).
    """
    return _explicit_dir


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The suite's directory: ``path``, else :func:`set_data_dir`'s, ``$KMBENCH_CLUSTBENCH_DIR``, the default."""
    if path is not None:
        return Path(path).expanduser()
    if _explicit_dir is not None:
        return _explicit_dir
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else DEFAULT_DIR


@lru_cache(maxsize=1)
def manifest() -> dict[str, Any]:
    """The stored md5 sums and shapes of suite version 1.1.0 (``{"version", "datasets"}``)."""
    return json.loads(MANIFEST.read_text())


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(folder: Path, name: str) -> list[Path]:
    """``NAME.data.gz``, ``NAME.labels0.gz``, ``NAME.labels1.gz``, ... that exist, in that order."""
    out = [folder / f"{name}.data.gz"]
    i = 0
    while (folder / f"{name}.labels{i}.gz").exists():
        out.append(folder / f"{name}.labels{i}.gz")
        i += 1
    return out


def split_name(path: str) -> tuple[str, str]:
    """``"fcps/hepta"`` -> ``("fcps", "hepta")``, with a clear error otherwise."""
    battery, slash, name = path.strip().partition("/")
    if not slash or not battery or not name or "/" in name:
        raise ValueError(f"clustbench data sets are named clustbench:BATTERY/NAME (e.g. clustbench:fcps/hepta); "
                         f"got clustbench:{path}")
    return battery, name


def verify(battery: str, name: str, root: Path | None = None) -> bool:
    """Check the files of ``battery/name`` against the manifest.

    Returns True when every file is listed and matches, False when the data set is
    not in the manifest (another suite version); raises :class:`ChecksumError` on a
    mismatch and :class:`FileNotFoundError` when the files are missing.
    """
    folder = data_dir(root) / battery
    files = _files(folder, name)
    if not files[0].exists():
        raise FileNotFoundError(
            f"{files[0]} does not exist; point --data-dir or ${ENV_VAR} at the clustering benchmark "
            f"suite (a folder with batteries such as fcps/, wut/), default {DEFAULT_DIR}")
    stored = manifest()["datasets"].get(f"{battery}/{name}")
    if stored is None:
        return False
    listed = stored["files"]
    have = {f.name for f in files}
    if set(listed) != have:
        raise ChecksumError(f"clustbench:{battery}/{name}: files {sorted(have)} differ from the suite "
                            f"v{manifest()['version']} manifest {sorted(listed)}")
    for f in files:
        got = _md5(f)
        if got != listed[f.name]["md5"]:
            raise ChecksumError(f"{f}: md5 {got} does not match {listed[f.name]['md5']} of the suite "
                                f"v{manifest()['version']} manifest; the file was changed or is another version")
    return True


def load(path: str, seed: int = 0, *, n: int | None = None, preprocess: bool = True,
         root: str | os.PathLike | None = None, check: bool = True) -> Dataset:
    """Load ``BATTERY/NAME`` from the suite with :func:`clustbench.load_dataset`.

    Parameters
    ----------
    path : str
        ``"fcps/hepta"`` (the part after ``clustbench:``).
    seed : int
        Seed of the preprocessing jitter and of the subsample (the runner's data seed).
    n : int, optional
        Keep a seeded random subset of ``n`` points (in their original order) instead of
        all of them. The suite's files are often sorted by cluster, so the first ``n``
        rows would not be a sample.
    preprocess : bool
        Apply the suite's :func:`clustbench.preprocess_data` (recommended by the suite).
    root : str, optional
        The suite's directory (otherwise :func:`data_dir`).
    check : bool
        Verify md5 sums against the stored manifest first.
    """
    try:
        import clustbench
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise ImportError("clustbench: data sets need the 'clustering-benchmarks' package "
                          "(pip install clustering-benchmarks)") from exc
    battery, name = split_name(path)
    root = data_dir(root)
    verified = verify(battery, name, root) if check else None
    b = clustbench.load_dataset(battery, name, path=str(root), preprocess=preprocess,
                                random_state=int(seed) if preprocess else None)
    labelings = [np.asarray(lab, dtype=np.int64) for lab in b.labels]
    if not labelings:
        raise ValueError(f"clustbench:{path} has no reference partition (no {name}.labels0.gz in {root / battery})")
    first_line = b.description.strip().splitlines()[0] if b.description.strip() else ""
    X = np.asarray(b.data, dtype=np.float64)
    params = {"battery": battery, "name": name, "suite_version": manifest()["version"],
              "verified": verified, "preprocess": preprocess,
              "n_clusters": [int(k) for k in b.n_clusters]}
    if n is not None and n != X.shape[0]:
        if not 1 <= n <= X.shape[0]:
            raise ValueError(f"n={n} is out of range; clustbench:{path} has {X.shape[0]} points")
        keep = np.sort(np.random.default_rng(seed).choice(X.shape[0], size=n, replace=False))
        X, labelings = X[keep], [lab[keep] for lab in labelings]
        params["subsample"] = {"n": int(n), "of": int(b.data.shape[0]), "seed": int(seed)}
    return Dataset(f"{PREFIX}:{battery}/{name}", np.ascontiguousarray(X), labelings[0],
                   description=first_line, params=params, labelings=labelings, noise_label=0)


def _loader(path: str, n: int | None = None, seed: int = 0, **params: Any) -> Dataset:
    return load(path, seed, n=n, **params)


def available(root: str | os.PathLike | None = None) -> list[str]:
    """``BATTERY/NAME`` of every data set present in the suite's directory (sorted)."""
    base = data_dir(root)
    if not base.is_dir():
        return []
    return sorted(f"{f.parent.name}/{f.name[:-len('.data.gz')]}"
                  for f in base.glob("*/*.data.gz") if not f.name.startswith("."))


def describe(root: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """n, d and reference cluster counts of every data set found (from the manifest, else the files)."""
    out = []
    stored = manifest()["datasets"]
    for key in available(root):
        info = stored.get(key)
        if info is None:  # not in the manifest: read the files (slower)
            ds = load(key, check=False, root=root)
            info = {"n": ds.n, "d": int(ds.X.shape[1]), "n_clusters": ds.params["n_clusters"],
                    "noise": int(sum((lab == 0).sum() for lab in ds.labelings[:1]))}
        out.append({"name": f"{PREFIX}:{key}", "n": info["n"], "d": info["d"],
                    "n_clusters": info["n_clusters"], "noise": info.get("noise", 0),
                    "in_manifest": key in stored})
    return out


def true_k(dataset: Dataset | str, *, root: str | os.PathLike | None = None) -> int:
    """The number of clusters of a data set's (first) reference partition: ``--k true``.

    ``dataset`` is a loaded :class:`Dataset` or a name. For the suite it is the
    suite's ``n_clusters[0]`` (the largest label of ``labels0``; 0 is noise); for other
    labelled data the number of distinct labels that are neither negative nor the
    noise label. Raises ValueError for a data set without labels.
    """
    if isinstance(dataset, str):
        prefix, colon, rest = dataset.partition(":")
        if colon and prefix == PREFIX:
            battery, name = split_name(rest)
            stored = manifest()["datasets"].get(f"{battery}/{name}")
            if stored is not None:  # the manifest is what verify() checks the files against
                return int(stored["n_clusters"][0])
            lab = np.loadtxt(data_dir(root) / battery / f"{name}.labels0.gz", dtype=np.int64, ndmin=1)
            return int(lab.max())
        from .catalog import get_dataset
        dataset = get_dataset(dataset)
    if dataset.params.get("n_clusters"):
        return int(dataset.params["n_clusters"][0])
    if dataset.y is None:
        raise ValueError(f"data set {dataset.name!r} has no reference labels; --k true needs a labelled data set")
    y = np.asarray(dataset.y)
    keep = y >= 0 if dataset.noise_label is None else (y >= 0) & (y != dataset.noise_label)
    return int(len(np.unique(y[keep])))


def make_manifest(root: str | os.PathLike, version: str) -> dict[str, Any]:
    """The manifest of a suite directory (what ``clustbench_manifest.json`` holds)."""
    base = Path(root)
    datasets: dict[str, Any] = {}
    for key in available(base):
        battery, name = split_name(key)
        files = _files(base / battery, name)
        data = np.loadtxt(files[0], ndmin=2)
        labs = [np.loadtxt(f, dtype=np.int64, ndmin=1) for f in files[1:]]
        datasets[key] = {"n": int(data.shape[0]), "d": int(data.shape[1]),
                         "n_clusters": [int(lab.max()) for lab in labs],
                         "noise": int((labs[0] == 0).sum()) if labs else 0,
                         "files": {f.name: {"md5": _md5(f), "bytes": f.stat().st_size} for f in files}}
    return {"version": version, "citation": CITATION, "datasets": datasets}


register_dataset(PREFIX, _loader, prefix=True,
                 description="clustering benchmark suite v1.1.0 (Gagolewski 2022), BATTERY/NAME; "
                             f"directory --data-dir / ${ENV_VAR} / datasets/clustbench")
