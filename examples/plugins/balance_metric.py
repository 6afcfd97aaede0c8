"""A metric in one file: how balanced the clusters are.

``kmbench run --plugin examples/plugins/balance_metric.py ...`` adds a column
``balance`` to every results row: the size of the smallest cluster divided by
the size of the largest (1 for equal sizes). Computed after the timed call.
"""

import numpy as np

from bench_core.metrics import register_metric


def balance(task, result):
    sizes = np.bincount(np.asarray(result.labels), minlength=result.k)
    return float(sizes.min() / sizes.max()) if sizes.max() else None


register_metric("balance", balance, description="smallest over largest cluster size")
