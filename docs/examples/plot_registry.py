"""
Running implementations by name: the registry
=============================================

Every implementation is registered as ``"<algorithm>/<implementation>"``. A
:class:`~bench_core.registry.Task` holds the problem and the shared start; every
runnable returns a :class:`~bench_core.ClusteringResult` in the same convention, so
results of different libraries compare directly. Peer libraries that are not
installed are listed as unavailable, with the reason.
"""

import numpy as np

from bench_core import registry
from bench_core.datasets import get_dataset
from bench_core.dissimilarity import dissimilarity

data = get_dataset("mnist", n=300)
diss = dissimilarity(data.X, "euclidean")
task = registry.Task(k=5, diss=diss, medoids=np.arange(0, 300, 60), seed=0)

for entry in registry.entries(algorithm="fasterpam"):
    if entry.input == "points" or entry.implementation == "torch":
        continue  # the PyTorch backend: see the GPU page (importing torch takes seconds)
    ok, why = entry.availability()
    if not ok:
        print(f"{entry.name:32s} unavailable: {why.splitlines()[0][:60]}")
        continue
    res = registry.run(entry.name, task)
    print(f"{entry.name:32s} loss {res.loss:14,.0f}  medoids {sorted(res.medoids.tolist())}")

ref = registry.run("fasterpam/reference", task)
print("reference:", ref)
