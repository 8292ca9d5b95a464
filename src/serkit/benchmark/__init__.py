"""``serkit benchmark``: every system on every corpus, speaker-independent, resumable, tabulated from files.

- :mod:`serkit.benchmark.spec`: the definition (``configs/benchmark.yaml``): corpora, protocols, systems
  (config + overrides, seeds, ensembles, combinations, the papers' numbers), targets, the quick subset.
- :mod:`serkit.benchmark.runner`: :func:`plan` (manifests, splits, jobs) and :func:`run` (features once,
  jobs cheap-first, one result file per (protocol, corpus, system) rewritten after each job).
- :mod:`serkit.benchmark.executors`: local processes or Ray, the same job function.
- :mod:`serkit.benchmark.results`: the committed result-file format.
- :mod:`serkit.benchmark.estimate`: how long pending jobs will train, from the measured folds (``--dry-run``).
- :mod:`serkit.benchmark.table`: Markdown tables from the result files, into ``docs/benchmarks.md``.
"""

from serkit.benchmark.runner import Job, Plan, Reporter, Selection, plan, refresh, run
from serkit.benchmark.spec import BenchmarkSpec, load_definition
from serkit.benchmark.table import load_results, render, write_docs

__all__ = [
    "BenchmarkSpec",
    "Job",
    "Plan",
    "Reporter",
    "Selection",
    "load_definition",
    "load_results",
    "plan",
    "refresh",
    "render",
    "run",
    "write_docs",
]
