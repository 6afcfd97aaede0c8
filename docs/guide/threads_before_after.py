"""One-thread time of the reference calls, to compare two trees (e.g. before/after threads).

Run once per tree: ``PYTHONPATH=<tree> python docs/guide/threads_before_after.py 3``
(the argument is the number of repeats; medians printed as JSON). MNIST test set, float64.
"""
import json
import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from bench_core.algorithms import msc, pam, silhouette
from bench_core.datasets import get_dataset
from bench_core.dissimilarity import dissimilarity

with threadpool_limits(1):
    D10 = dissimilarity(get_dataset("mnist", 10000).X, "euclidean", np.float64)
    D2 = np.ascontiguousarray(D10[:2000, :2000])
    D5 = np.ascontiguousarray(D10[:5000, :5000])
    rng = np.random.default_rng(0)
    s2 = np.sort(rng.choice(2000, 20, replace=False))
    s5 = np.sort(rng.choice(5000, 100, replace=False))
    s10 = np.sort(rng.choice(5000, 10, replace=False))
    lab = pam.fasterpam(D10, 10, random_state=0).labels
    med = pam.fasterpam(D10, 10, random_state=0).medoids
    calls = {
        "pam": lambda: pam.pam(D2, s2, max_iter=2),
        "fastpam1": lambda: pam.fastpam1(D5, s5, max_iter=2),
        "build": lambda: pam.build(D5, 100),
        "fasterpam10": lambda: pam.fasterpam(D10, 10, random_state=1),
        "silhouette": lambda: silhouette.silhouette(D10, lab),
        "medsil": lambda: silhouette.medoid_silhouette(D10, med),
        "fastmsc": lambda: msc.fastmsc(D5, s10, max_iter=2),
        "fastermsc": lambda: msc.fastermsc(D5, s10, max_iter=2),
    }
    out = {}
    for name, f in calls.items():
        ts = []
        for _ in range(int(sys.argv[1])):
            t = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t)
        out[name] = statistics.median(ts)
    print(json.dumps(out))
