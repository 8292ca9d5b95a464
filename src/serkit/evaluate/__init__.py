"""Evaluation: metrics, paired significance tests, run folders, seed/system ensembles and reports.

========================  ==================================================================
:mod:`.metrics`           ``classification_metrics`` (UA, WA, macro-F1, per class, confusion),
                          ``regression_metrics`` (MAE, Pearson r, CCC, Acc-2/5/7, F1)
:mod:`.compare`           ``paired_permutation_test`` (per utterance), ``mcnemar_test``
:mod:`.runs`              ``load_run`` / ``evaluate_run`` / ``compare_runs`` over ``serkit train`` folders
:mod:`.ensemble`          ``average_runs``: mean class probabilities of runs of one split
:mod:`.report`            ``write_report``: Markdown + self-contained HTML + results JSON
========================  ==================================================================

Names are imported lazily so ``import serkit.evaluate`` stays cheap (no scikit-learn, pandas or matplotlib).
"""

from __future__ import annotations

from serkit._lazy import lazy_exports

_EXPORTS = {
    "classification_metrics": "metrics",
    "regression_metrics": "metrics",
    "mcnemar_test": "compare",
    "paired_permutation_test": "compare",
    "RunResult": "runs",
    "compare_runs": "runs",
    "evaluate_run": "runs",
    "load_run": "runs",
    "average_runs": "ensemble",
    "write_report": "report",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
