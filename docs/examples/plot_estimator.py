"""
The scikit-learn estimator
==========================

:class:`bench_core.KMedoids` wraps the reference implementations in scikit-learn's
estimator API: ``fit`` on points (or a precomputed matrix), then ``labels_``,
``medoid_indices_``, ``cluster_centers_`` and ``inertia_``; ``predict`` assigns new
points to the nearest medoid. Here on scikit-learn's iris data.
"""

from sklearn.datasets import load_iris
from sklearn.metrics import adjusted_rand_score

from bench_core import KMedoids

X, y = load_iris(return_X_y=True)
km = KMedoids(n_clusters=3, metric="euclidean", method="fasterpam", random_state=0).fit(X)
print("medoids (row indices):", km.medoid_indices_)
print("loss (sum of distances to the medoid):", round(float(km.inertia_), 3))
print("adjusted Rand index against the species:", round(adjusted_rand_score(y, km.labels_), 3))
assert sorted(set(km.labels_)) == [0, 1, 2]
assert (km.predict(X[km.medoid_indices_]) == [0, 1, 2]).all()
