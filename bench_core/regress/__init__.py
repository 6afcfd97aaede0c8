"""The regression gate: benchmark two commits with asv and say whether HEAD regressed.

Three jobs, one module each:

* :mod:`.asv_results` reads asv's result files (never its console output);
* :mod:`.drive` exports commits with git, builds them and runs asv on them;
* :mod:`.gate` compares two result sets: instruction counts at a tight factor,
  wall time at a loose one, tracked losses, optionally memory; see its docstring.

:mod:`.instructions` counts the instructions of one call under Valgrind's Callgrind
(the ``track_instructions`` benchmarks of ``suites/bench_instructions.py``).
"""

from __future__ import annotations

from ..environment import ROOT
from .asv_results import (
    INSTRUCTION_TRACKS,
    ResultsError,
    ResultSet,
    kind,
    load_results,
    read_asv_config,
)
from .drive import (
    DEFAULT_MACHINE,
    CommitRun,
    benchmark_commit,
    find_results,
    regress_commits,
    resolve_commit,
    run_asv,
)
from .gate import (
    DEFAULT_FACTOR,
    DEFAULT_INSTR_FACTOR,
    DEFAULT_LOSS_RTOL,
    DEFAULT_ND_RTOL,
    EXIT_INCOMPLETE,
    EXIT_NO_ENVIRONMENT,
    EXIT_PASS,
    EXIT_REGRESSION,
    EXIT_USAGE,
    Comparison,
    Row,
    _classify,
    compare,
    compare_files,
)

__all__ = [
    "DEFAULT_FACTOR", "DEFAULT_INSTR_FACTOR", "DEFAULT_LOSS_RTOL", "DEFAULT_MACHINE", "DEFAULT_ND_RTOL",
    "EXIT_INCOMPLETE", "EXIT_NO_ENVIRONMENT", "EXIT_PASS", "EXIT_REGRESSION", "EXIT_USAGE",
    "INSTRUCTION_TRACKS", "ROOT", "CommitRun", "Comparison", "ResultSet", "ResultsError", "Row",
    "_classify", "benchmark_commit", "compare", "compare_files", "find_results", "kind",
    "load_results", "read_asv_config", "regress_commits", "resolve_commit", "run_asv",
]
