"""Adapter to Biopython's k-medoids (``Bio.Cluster.kmedoids``; de Hoon et al. 2004, C Clustering Library).

``Bio.Cluster.kmedoids(distance, nclusters, npass, initialid)`` is the
alternating (Voronoi iteration) method on a precomputed matrix, of which it
reads only the lower-left triangle: assign every item to the nearest medoid,
make each cluster's medoid the item with the least total distance to its
members (ties: the lowest index; ``kmedoids`` and the reference keep the
current medoid instead), repeat until the assignment repeats (with a cycle
check) or the loss stops decreasing.

Start: the library takes an initial *clustering*, not initial medoids. From
the shared start ``task.medoids`` the adapter passes the nearest-medoid
assignment (``initialid``), whose cluster medoids the library computes first;
with ``initialid`` given the library runs the method once, deterministically,
in index order, so one restart is one run from the shared start. Without a
start it would draw ``npass`` random initial clusterings from its own C random
generator, which no seed reaches: the adapter always passes a start (drawn
from ``task.seed`` like every other adapter), never ``npass > 1``.

The library computes in double precision: a float32 matrix is copied to
float64 before the timed call. Its ``clusterid`` holds each item's medoid
index; labels are renumbered to ``0..k-1`` here.
"""

from __future__ import annotations

import numpy as np

from ..registry import Task, register
from ..result import ClusteringResult
from ._common import dist_version, medoid_result, nearest_medoid, pinned, start_medoids, task_diss


def alternating(task: Task) -> ClusteringResult:
    from Bio.Cluster import kmedoids

    D = task_diss(task)
    med0, how = start_medoids(task, D.shape[0])
    initialid = nearest_medoid(D, med0).astype(np.intc)  # item -> cluster 0..k-1 of its start medoid
    D64 = np.ascontiguousarray(D, dtype=np.float64)
    with pinned(task.n_threads), task.timed():
        clusterid, error, nfound = kmedoids(D64, nclusters=int(task.k), npass=1, initialid=initialid)
    clusterid = np.asarray(clusterid, dtype=np.int64)
    medoids = np.unique(clusterid)
    labels = np.searchsorted(medoids, clusterid)
    return medoid_result(D, medoids, labels, library_loss=error, n_iter=0, n_swap=0, converged=True,
                         extras={"init": how, "library": "biopython", "nfound": int(nfound),
                                 "start": "initialid = nearest-medoid assignment of the start medoids"})


register("alternating/biopython", alternating, family="kmedoids", reference="alternating/reference",
         agreement="differs", language="C", requires=("Bio.Cluster",), version=dist_version("biopython"),
         description="Bio.Cluster.kmedoids(diss, npass=1, initialid=nearest-medoid labels of the start)",
         note="the alternating method from the same start: the library starts from a clustering, the "
              "assignment to the start medoids. Identical to the reference except where a cluster's "
              "medoid update ties (e.g. a cluster of two points): the library takes the member of "
              "lowest index, kmedoids and the reference keep the current medoid (full validate grid: "
              "46 of 48 cases identical, 2 differ by such a tie)")
