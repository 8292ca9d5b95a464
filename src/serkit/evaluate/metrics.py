"""Classification and regression metrics, computed with scikit-learn and scipy, robust to tiny test sets.

Classification (labels are class names, or any hashable value that is a member of ``classes``):

* **UA** (unweighted accuracy) is balanced accuracy: the mean of per-class recall over the classes that
  occur in ``y_true`` (``sklearn.metrics.balanced_accuracy_score``). A class that is never a true label has
  no recall and does not count; a class that is only ever *predicted* costs precision, not UA.
* **WA** (weighted accuracy) is plain accuracy: the fraction of utterances classified correctly.
* **macro-F1** is the unweighted mean of per-class F1 over the classes that occur in ``y_true`` or in
  ``y_pred`` (``f1_score(average="macro")`` without ``labels``), the definition the training loop uses, so
  the numbers here equal those in ``metrics.json`` and ``summary.json``.
* **Per-class** precision, recall, F1 and support cover every class of ``classes``; a 0/0 (a class never
  predicted, or never present) is reported as 0 (``zero_division=0``), never NaN and never a warning.
* **Confusion** counts have rows = true class, columns = predicted class, both in ``classes`` order; the
  normalised matrix divides each row by its total (a row with no utterances stays all zeros).

Regression (continuous sentiment / dimension scores):

* MAE, Pearson r (``scipy.stats.pearsonr``; NaN when either side is constant) and CCC (Lin's concordance
  correlation coefficient with population (ddof=0) moments: ``2 cov / (var_t + var_p + (mean_t - mean_p)^2)``).
* **Acc-2** and **F1** follow the CMU-MOSI/MOSEI *non-zero* convention of MulT (Tsai et al., 2019) and the
  papers that copy its evaluation: utterances whose true score is exactly 0 are left out, the rest are
  negative (< 0) or positive (> 0), a prediction is positive when > 0; F1 is scikit-learn's *weighted*
  binary F1. (The other convention in the literature, "negative vs non-negative" over all utterances, is
  also returned, as ``acc2_nonneg`` / ``f1_nonneg``, so either number can be quoted with its name.)
* **Acc-5** (and Acc-7): both scores are clipped to [-2, 2] ([-3, 3]) and rounded to the nearest integer
  with ``numpy.round`` (halves to even, as MulT does), then compared exactly: 5 (7) ordinal classes.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from serkit.errors import ParameterError

__all__ = ["classification_metrics", "regression_metrics"]


def _as_list(values: Any, name: str) -> list[Any]:
    if isinstance(values, str | bytes):
        raise ParameterError(
            f"The {name!r} argument must be a sequence of labels, not a string ({values!r})."
        )
    out = np.asarray(values, dtype=object).ravel().tolist() if not isinstance(values, list) else values
    return [v.item() if isinstance(v, np.generic) else v for v in out]


def _check_labels(values: list[Any], classes: list[Hashable], name: str) -> None:
    known = set(classes)
    bad = [v for v in values if v not in known]
    if bad:
        raise ParameterError(
            f"The {name!r} argument holds {len(bad)} value(s) that are not among the classes {classes}; "
            f"the first is {bad[0]!r}. Pass every class in classes=."
        )


def classification_metrics(
    y_true: Sequence[Hashable], y_pred: Sequence[Hashable], *, classes: Sequence[Hashable]
) -> dict[str, Any]:
    """UA, WA, macro-F1, per-class precision/recall/F1/support and the confusion matrix.

    Parameters
    ----------
    y_true, y_pred : sequence [shape=(n,)]
        True and predicted labels, each a member of ``classes`` (class names or indices, not mixed).
    classes : sequence, non-empty, no duplicates
        Every class, in the order used for the per-class table and the confusion matrix rows/columns.

    Returns
    -------
    dict
        ``n`` (int), ``classes`` (list), ``ua``, ``wa``, ``macro_f1`` (floats in [0, 1]; NaN when ``n`` is 0),
        ``per_class`` ({class: {precision, recall, f1, support}}; 0/0 gives 0), ``confusion`` (list of lists
        of int, rows = true class), ``confusion_normalised`` (each row divided by its total; empty rows 0).

    Raises
    ------
    ParameterError
        Lengths differ, ``classes`` is empty or has duplicates, or a label is not in ``classes``.

    Examples
    --------
    >>> m = classification_metrics(["a", "a", "b", "b"], ["a", "b", "b", "b"], classes=["a", "b"])
    >>> m["ua"], m["wa"], m["confusion"]
    (0.75, 0.75, [[1, 1], [0, 2]])
    """
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    classes = _as_list(classes, "classes")
    if not classes:
        raise ParameterError("The 'classes' argument of classification_metrics must not be empty.")
    if len(set(classes)) != len(classes):
        raise ParameterError(f"The 'classes' argument of classification_metrics has duplicates: {classes}.")
    t = _as_list(y_true, "y_true")
    p = _as_list(y_pred, "y_pred")
    if len(t) != len(p):
        raise ParameterError(f"y_true has {len(t)} labels but y_pred has {len(p)}; they must be paired.")
    _check_labels(t, classes, "y_true")
    _check_labels(p, classes, "y_pred")
    k = len(classes)
    n = len(t)
    if n == 0:
        zeros = [[0] * k for _ in range(k)]
        return {
            "n": 0,
            "classes": classes,
            "ua": math.nan,
            "wa": math.nan,
            "macro_f1": math.nan,
            "per_class": {c: {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0} for c in classes},
            "confusion": zeros,
            "confusion_normalised": [[0.0] * k for _ in range(k)],
        }
    # Integer codes: scikit-learn then never has to sort or compare mixed label types.
    index = {c: i for i, c in enumerate(classes)}
    ti = np.array([index[v] for v in t])
    pi = np.array([index[v] for v in p])
    labels = list(range(k))
    with warnings.catch_warnings():
        # "y_pred contains classes not in y_true" (balanced accuracy) is the documented convention here, and
        # "a single label was found" (a one-class test fold) is harmless with labels= given.
        warnings.simplefilter("ignore", UserWarning)
        ua = float(balanced_accuracy_score(ti, pi))
        wa = float(accuracy_score(ti, pi))
        macro_f1 = float(f1_score(ti, pi, average="macro", zero_division=0))
        prec, rec, f1, support = precision_recall_fscore_support(ti, pi, labels=labels, zero_division=0)
        cm = confusion_matrix(ti, pi, labels=labels)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=float), where=rows > 0)
    return {
        "n": n,
        "classes": classes,
        "ua": ua,
        "wa": wa,
        "macro_f1": macro_f1,
        "per_class": {
            c: {
                "precision": float(prec[i]),
                "recall": float(rec[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, c in enumerate(classes)
        },
        "confusion": cm.astype(int).tolist(),
        "confusion_normalised": norm.tolist(),
    }


def _ccc(t: np.ndarray, p: np.ndarray) -> float:
    mt, mp = t.mean(), p.mean()
    vt, vp = t.var(), p.var()
    cov = ((t - mt) * (p - mp)).mean()
    denom = vt + vp + (mt - mp) ** 2
    return float(2 * cov / denom) if denom > 0 else math.nan


def _binary(truth: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    if truth.size == 0:
        return math.nan, math.nan
    acc = float(accuracy_score(truth, pred))
    f1 = float(f1_score(truth, pred, average="weighted", zero_division=0))
    return acc, f1


def regression_metrics(y_true: Sequence[float], y_pred: Sequence[float]) -> dict[str, Any]:
    """MAE, Pearson r, CCC and the CMU-MOSI classification views (Acc-2, F1, Acc-5, Acc-7) of scores.

    Parameters
    ----------
    y_true, y_pred : sequence of float [shape=(n,)], n >= 1, finite
        True and predicted scores (MOSI sentiment lies in [-3, 3]).

    Returns
    -------
    dict
        ``n``, ``mae``, ``pearson_r`` (NaN when a side is constant or n < 2), ``ccc`` (NaN when both sides
        are the same constant), ``acc2`` and ``f1`` (non-zero convention, over ``n_nonzero`` utterances;
        NaN when every true score is 0), ``acc2_nonneg`` and ``f1_nonneg`` (negative vs non-negative over
        all utterances), ``acc5``, ``acc7``. See the module docstring for the conventions.

    Raises
    ------
    ParameterError
        Lengths differ, no values, or a value is not finite.

    Examples
    --------
    >>> m = regression_metrics([-2.0, -1.0, 0.0, 1.0, 2.0], [-1.6, -0.8, 0.6, 1.2, 2.4])
    >>> round(m["mae"], 2), m["acc2"], m["acc5"]
    (0.36, 1.0, 0.8)
    """
    from scipy.stats import pearsonr

    t = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(y_pred, dtype=float).ravel()
    if t.shape != p.shape:
        raise ParameterError(f"y_true has {t.size} scores but y_pred has {p.size}; they must be paired.")
    if t.size == 0:
        raise ParameterError("regression_metrics needs at least one (y_true, y_pred) pair; got none.")
    for name, arr in (("y_true", t), ("y_pred", p)):
        if not np.isfinite(arr).all():
            bad = arr[~np.isfinite(arr)][0]
            raise ParameterError(
                f"The {name!r} argument of regression_metrics holds a non-finite value ({bad})."
            )
    # pearsonr warns and returns NaN on constant input: say NaN without the warning
    constant = t.size < 2 or np.ptp(t) == 0 or np.ptp(p) == 0
    r = math.nan if constant else float(pearsonr(t, p).statistic)
    nonzero = t != 0
    acc2, f1 = _binary(t[nonzero] > 0, p[nonzero] > 0)
    acc2_nonneg, f1_nonneg = _binary(t >= 0, p >= 0)
    return {
        "n": int(t.size),
        "mae": float(np.mean(np.abs(t - p))),
        "pearson_r": r,
        "ccc": _ccc(t, p),
        "acc2": acc2,
        "f1": f1,
        "n_nonzero": int(nonzero.sum()),
        "acc2_nonneg": acc2_nonneg,
        "f1_nonneg": f1_nonneg,
        "acc5": float(np.mean(np.round(np.clip(t, -2, 2)) == np.round(np.clip(p, -2, 2)))),
        "acc7": float(np.mean(np.round(np.clip(t, -3, 3)) == np.round(np.clip(p, -3, 3)))),
    }
