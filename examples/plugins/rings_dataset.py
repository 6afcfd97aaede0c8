"""A data set in one file: concentric rings, generated from the seed.

``kmbench run --plugin examples/plugins/rings_dataset.py --datasets rings:rings=3``.
The loader gets ``n`` and ``seed`` (and the ``name:key=value`` parameters) and
returns the points and the reference labels; the harness checksums them and
scores every run on them with the external-validity metrics.
"""

import numpy as np

from bench_core.datasets import register_dataset


def rings(n=600, seed=0, rings=3, noise=0.05):
    rng = np.random.default_rng(seed)
    n = int(n or 600)
    labels = np.arange(n) % int(rings)
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = 1.0 + labels + rng.normal(0.0, noise, n)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return X, labels


register_dataset("rings", rings, description="concentric rings (plug-in example)",
                 defaults={"rings": 3, "noise": 0.05}, seeded=True)
