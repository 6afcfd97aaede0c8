"""``kmbench run``: a grid of clustering runs, one tidy result row per run.

The runner's jobs, one module each:

* :mod:`.grid`: a :class:`GridSpec` expanded into planned :class:`Run`\\ s;
* :mod:`.measure`: one run in a forked child: the timed call, peak memory,
  pinned threads, the hard time limit;
* :mod:`.quality`: silhouettes beside the loss (metrics: :mod:`bench_core.metrics`);
* :mod:`.progress`: the progress bar and ETA;
* :mod:`.loop`: the loop over a plan, data groups, budgets, appending rows.
"""

from .grid import GridSpec, Run, expand, parse_dataset, run_id, select_entries, spec_dict
from .loop import DataGroup, RunSummary, base_row, run_grid, run_one, skip_reason
from .measure import THREAD_VARS, execute, execute_isolated, pin_thread_env
from .progress import Progress
from .quality import quality

__all__ = [
    "THREAD_VARS", "DataGroup", "GridSpec", "Progress", "Run", "RunSummary", "base_row", "execute",
    "execute_isolated", "expand", "parse_dataset", "pin_thread_env", "quality", "run_grid", "run_id",
    "run_one", "select_entries", "skip_reason", "spec_dict",
]
