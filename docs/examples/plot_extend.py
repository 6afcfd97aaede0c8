"""
Extending kmbench: an algorithm, a data set and a metric
========================================================

The registrations a plug-in file makes (see :doc:`/extending`), run here on small
data: a new implementation registered under a new name, a seeded data set, and a
metric that becomes a column of every results row.
"""

import numpy as np

from bench_core import ClusteringResult, registry
from bench_core.algorithms.assignment import assign
from bench_core.datasets import get_dataset, register_dataset
from bench_core.dissimilarity import dissimilarity
from bench_core.metrics import metrics, register_metric


# %%
# An algorithm: "build then alternate" as ``alternating/example``. It reads the
# matrix and the shared start from the task and times only its own work.
def build_then_alternate(task: registry.Task) -> ClusteringResult:
    from bench_core.algorithms import pam as P

    with task.timed():
        start = P.build(task.diss, task.k).medoids if task.medoids is None else task.medoids
        return P.alternating(task.diss, start, max_iter=task.max_iter or 100)


entry = registry.register("alternating/example", build_then_alternate, family="kmedoids",
                  input="diss", reference="alternating/reference", agreement="identical",
                  description="Alternating (Park & Jun 2009) from the given start")
print(entry.name, "registered; compared with", entry.reference, "by kmbench validate")


# %%
# A data set: two seeded rings, registered under a name the runner accepts
# (``--dataset rings:r=3``).
def rings(n=200, seed=0, r=2.0):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 2 * np.pi, n)
    radius = np.where(np.arange(n) % 2 == 0, 1.0, r)
    X = np.c_[radius * np.cos(t), radius * np.sin(t)] + rng.normal(0, 0.05, (n, 2))
    return X, (np.arange(n) % 2)


register_dataset("rings", rings, description="two noisy rings", defaults={"r": 2.0}, seeded=True)


# %%
# A metric: the share of points whose medoid is closer than 1.
def share_within_one(task, result):
    d = task.diss[result.medoids][result.labels, np.arange(task.n)]
    return float(np.mean(d < 1.0))


register_metric("share_within_one", share_within_one, description="points within 1 of their medoid")

# %%
# All three at work.
data = get_dataset("rings", n=200, seed=1, r=3.0)
diss = dissimilarity(data.X, "euclidean")
task = registry.Task(k=4, diss=diss, medoids=np.array([0, 1, 2, 3]), seed=1)
mine = registry.run("alternating/example", task)
ref = registry.run("alternating/reference", task)
print("ours:", mine)
print("reference:", ref)
assert np.array_equal(np.sort(mine.medoids), np.sort(ref.medoids))
labels, loss = assign(diss, mine.medoids)
assert np.isclose(loss, mine.loss)
print("share_within_one:", metrics()["share_within_one"](task, mine))
