"""A k-medoids algorithm in one file: the alternating method in plain NumPy.

Load it with ``kmbench run --plugin examples/plugins/alternating_numpy.py
--algorithms alternating`` (or ``kmbench validate --plugin ...``). The harness
hands the function a :class:`~bench_core.registry.Task` with the distance matrix
and the shared start, times the call, and normalises the plain arrays it
returns (labels, medoids) into a result, recomputing the loss itself.

The method (Park & Jun 2009): assign every point to its nearest medoid, then make
each cluster's medoid the member with the smallest sum of dissimilarities to the
other members, until no medoid changes. Sums are taken in member order (a
sequential sum, as the reference kernel does), the current medoid is kept unless
another member is strictly better, and the first of equally good members wins,
so the swaps are those of ``alternating/reference``.
"""

import numpy as np

from bench_core.registry import register
from bench_core.start import initial_medoids


def alternating_numpy(task):
    D = task.diss
    n = D.shape[0]
    medoids = (np.array(task.medoids, dtype=np.int64) if task.medoids is not None
               else initial_medoids(n, task.k, task.seed))
    max_iter = task.max_iter or 100
    changes = n_iter = 0
    labels = _assign(D, medoids)
    while n_iter < max_iter:
        n_iter += 1
        before = medoids.copy()
        for m in range(len(medoids)):
            members = np.flatnonzero(labels == m)
            sub = np.asarray(D[np.ix_(members, members)], dtype=np.float64)
            cost = np.add.accumulate(sub, axis=1)[:, -1]  # sequential sums, member order
            best = int(np.argmin(cost))
            if cost[best] < cost[members == medoids[m]][0]:
                medoids[m] = members[best]
        changed = int(np.sum(before != medoids))
        if not changed:
            break
        changes += changed
        labels = _assign(D, medoids)
    return {"labels": labels, "medoids": medoids, "n_iter": n_iter, "n_swap": changes}


def _assign(D, medoids):
    rows = np.asarray(D[medoids])
    labels = np.argmin(rows, axis=0)
    labels[medoids] = np.arange(len(medoids))  # a medoid belongs to its own cluster
    return labels


register("alternating/numpy-plugin", alternating_numpy, family="kmedoids", input="diss",
         language="Python", reference="alternating/reference", agreement="identical",
         description="Alternating k-medoids in plain NumPy (plug-in example)")
