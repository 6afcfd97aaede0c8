"""scikit-learn estimator over the reference PAM family: :class:`KMedoids`."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..input_checks import check_choice, check_k
from . import pam as _pam
from .init import INITS

METHODS = ("fasterpam", "fastpam1", "pam", "alternating")


class KMedoids(ClusterMixin, TransformerMixin, BaseEstimator):
    """k-medoids clustering with the reference PAM family (BUILD, PAM, FastPAM1, FasterPAM, alternating).

    Parameters
    ----------
    n_clusters : int
        Number of medoids k.
    metric : str, default "precomputed"
        "precomputed" (``X`` is the n x n dissimilarity matrix, row = medoid) or any
        metric of :func:`sklearn.metrics.pairwise_distances`.
    method : {"fasterpam", "fastpam1", "pam", "alternating"}, default "fasterpam"
    init : {"random", "first", "build", "k-medoids++", "lab"} or array of k indices, default "random"
    max_iter : int, default 300
    random_state : None, int, Generator or RandomState

    Attributes
    ----------
    labels_ : ndarray of int64, shape (n,)
        Cluster of each training point, 0..k-1.
    medoid_indices_ : ndarray of int64, shape (k,)
        Row indices of the medoids in ``X``.
    inertia_ : float
        The loss: sum of dissimilarities to the nearest medoid.
    cluster_centers_ : ndarray or None
        The medoid rows of ``X``, or None if ``metric="precomputed"``.
    n_iter_, n_swap_ : int
        Iterations and swaps of the fit.
    n_features_in_ : int
        Number of features (columns) of ``X``.
    """

    def __init__(self, n_clusters=8, *, metric="precomputed", method="fasterpam", init="random",
                 max_iter=300, random_state=None):
        self.n_clusters = n_clusters
        self.metric = metric
        self.method = method
        self.init = init
        self.max_iter = max_iter
        self.random_state = random_state

    def _diss(self, X, reset: bool):
        X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32], ensure_min_samples=1)
        if self.metric == "precomputed":
            if X.shape[0] != X.shape[1] and reset:
                raise ValueError(f"metric='precomputed' needs a square dissimilarity matrix, got shape {X.shape}")
            return X, X
        from sklearn.metrics import pairwise_distances
        return X, pairwise_distances(X, metric=self.metric)

    def fit(self, X, y=None):
        """Find k medoids of ``X`` with the chosen method.

        Parameters
        ----------
        X : ndarray, shape (n, n) or (n, d)
            The dissimilarity matrix (``metric="precomputed"``) or the points.
        y : ignored

        Returns
        -------
        KMedoids
            The fitted estimator.
        """
        check_choice(self.method, METHODS, name="method")
        X, D = self._diss(X, reset=True)
        k = check_k(self.n_clusters, D.shape[0], name="n_clusters")
        start = k
        init = self.init
        if not isinstance(init, str):
            start = np.asarray(init)
            if start.shape != (k,):
                raise ValueError(f"init as an array must hold n_clusters={k} indices, got shape {start.shape}")
            init = "random"
        else:
            check_choice(init, INITS, name="init")
        func = _pam.METHODS[self.method]
        res = func(D, start, max_iter=self.max_iter, init=init, random_state=self.random_state)
        self.medoid_indices_ = res.medoids
        self.labels_ = res.labels
        self.inertia_ = float(res.loss)
        self.n_iter_ = int(res.n_iter)
        self.n_swap_ = int(res.n_swap)
        self.cluster_centers_ = None if self.metric == "precomputed" else X[res.medoids]
        return self

    def transform(self, X):
        """Dissimilarity of each sample to each medoid, shape (n_query, k).

        With ``metric="precomputed"`` ``X`` holds the dissimilarities of the query
        points to the n training points (columns); its medoid columns are returned.
        """
        check_is_fitted(self, "medoid_indices_")
        if self.metric == "precomputed":
            X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
            return X[:, self.medoid_indices_]
        from sklearn.metrics import pairwise_distances
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return pairwise_distances(X, self.cluster_centers_, metric=self.metric)

    def predict(self, X):
        """Index of the nearest medoid (cluster label) of each query point; ties to the first."""
        return np.argmin(self.transform(X), axis=1).astype(np.int64)

    def fit_predict(self, X, y=None):
        return self.fit(X).labels_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.metric == "precomputed"
        return tags
