"""serkit.evaluate.metrics against scikit-learn, scipy and hand-computed values."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import pearsonr
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    precision_recall_fscore_support,
)

from serkit.errors import ParameterError
from serkit.evaluate.metrics import classification_metrics, regression_metrics


@st.composite
def labelled(draw: st.DrawFn) -> tuple[list[str], list[str], list[str]]:
    k = draw(st.integers(1, 6))
    classes = [f"c{i}" for i in range(k)]
    n = draw(st.integers(1, 60))
    y_true = draw(st.lists(st.sampled_from(classes), min_size=n, max_size=n))
    y_pred = draw(st.lists(st.sampled_from(classes), min_size=n, max_size=n))
    return classes, y_true, y_pred


@given(labelled())
def test_classification_matches_scikit_learn(case: tuple[list[str], list[str], list[str]]) -> None:
    classes, y_true, y_pred = case
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # classification_metrics itself never warns
        m = classification_metrics(y_true, y_pred, classes=classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert m["ua"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    assert m["wa"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert m["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0))
    prec, rec, f1, sup = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
    for i, c in enumerate(classes):
        assert m["per_class"][c] == pytest.approx(
            {"precision": prec[i], "recall": rec[i], "f1": f1[i], "support": sup[i]}
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert m["confusion"] == confusion_matrix(y_true, y_pred, labels=classes).tolist()
        expected = np.nan_to_num(confusion_matrix(y_true, y_pred, labels=classes, normalize="true"))
    np.testing.assert_allclose(m["confusion_normalised"], expected)
    # independent of scikit-learn: UA is the mean recall over the classes that occur in y_true
    present = sorted(set(y_true))
    recall = [np.mean([p == c for t, p in zip(y_true, y_pred, strict=True) if t == c]) for c in present]
    assert m["ua"] == pytest.approx(float(np.mean(recall)))
    sums = np.asarray(m["confusion_normalised"]).sum(axis=1)
    for c, s in zip(classes, sums, strict=True):
        assert s == pytest.approx(1.0 if c in present else 0.0)
    assert m["n"] == len(y_true) and m["classes"] == classes


def test_hand_values_and_absent_classes() -> None:
    classes = ["angry", "happy", "neutral", "sad"]
    y_true = ["angry"] * 4 + ["happy"] * 2 + ["neutral"] * 4  # "sad" never occurs
    y_pred = ["angry"] * 3 + ["sad"] + ["happy", "neutral"] + ["neutral"] * 3 + ["sad"]
    m = classification_metrics(y_true, y_pred, classes=classes)
    assert m["ua"] == pytest.approx((3 / 4 + 1 / 2 + 3 / 4) / 3)  # "sad" has no recall: not in the mean
    assert m["wa"] == pytest.approx(7 / 10)
    assert m["per_class"]["sad"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["per_class"]["angry"]["precision"] == 1.0 and m["per_class"]["angry"]["recall"] == 0.75
    # macro-F1 over the classes in y_true or y_pred (the training loop's definition): sad counts as 0
    f1 = {"angry": 6 / 7, "happy": 2 / 3, "neutral": 2 * 0.75 * 0.75 / 1.5, "sad": 0.0}
    assert m["macro_f1"] == pytest.approx(sum(f1.values()) / 4)
    assert m["confusion"] == [[3, 0, 0, 1], [0, 1, 1, 0], [0, 0, 3, 1], [0, 0, 0, 0]]
    assert m["confusion_normalised"][3] == [0.0, 0.0, 0.0, 0.0]
    assert m["confusion_normalised"][1] == [0.0, 0.5, 0.5, 0.0]


def test_integer_labels_and_empty_input() -> None:
    m = classification_metrics(np.array([0, 1, 1]), np.array([0, 1, 0]), classes=[0, 1, 2])
    assert m["ua"] == pytest.approx(0.75) and list(m["per_class"]) == [0, 1, 2]
    empty = classification_metrics([], [], classes=["a", "b"])
    assert empty["n"] == 0 and math.isnan(empty["ua"]) and empty["confusion"] == [[0, 0], [0, 0]]


def test_classification_errors_name_the_problem() -> None:
    with pytest.raises(ParameterError, match="y_true has 2 labels but y_pred has 1"):
        classification_metrics(["a", "b"], ["a"], classes=["a", "b"])
    with pytest.raises(ParameterError, match=r"'y_pred'.*first is 'c'"):
        classification_metrics(["a", "b"], ["a", "c"], classes=["a", "b"])
    with pytest.raises(ParameterError, match="duplicates"):
        classification_metrics(["a"], ["a"], classes=["a", "a"])
    with pytest.raises(ParameterError, match="must not be empty"):
        classification_metrics([], [], classes=[])
    with pytest.raises(ParameterError, match="not a string"):
        classification_metrics("ab", "ab", classes=["a", "b"])


scores = st.floats(-3, 3, allow_nan=False).map(lambda x: round(x, 2))


@given(st.lists(st.tuples(scores, scores), min_size=3, max_size=40))
def test_regression_matches_scipy_and_hand_formulas(pairs: list[tuple[float, float]]) -> None:
    t = np.array([a for a, _ in pairs])
    p = np.array([b for _, b in pairs])
    m = regression_metrics(t, p)
    assert m["mae"] == pytest.approx(mean_absolute_error(t, p))
    if np.ptp(t) > 0 and np.ptp(p) > 0:
        assert m["pearson_r"] == pytest.approx(pearsonr(t, p).statistic, abs=1e-9)
    else:
        assert math.isnan(m["pearson_r"])
    denom = t.var() + p.var() + (t.mean() - p.mean()) ** 2
    if denom > 0:
        assert m["ccc"] == pytest.approx(2 * np.cov(t, p, ddof=0)[0, 1] / denom, abs=1e-9)
    nz = t != 0
    if nz.any():
        assert m["acc2"] == pytest.approx(np.mean((t[nz] > 0) == (p[nz] > 0)))
        assert m["f1"] == pytest.approx(f1_score(t[nz] > 0, p[nz] > 0, average="weighted", zero_division=0))
    else:
        assert math.isnan(m["acc2"])
    assert m["acc5"] == pytest.approx(np.mean(np.round(np.clip(t, -2, 2)) == np.round(np.clip(p, -2, 2))))
    assert m["n_nonzero"] == int(nz.sum()) and m["n"] == len(t)


def test_regression_hand_values_and_conventions() -> None:
    t = np.array([1.0, 2.0, 3.0])
    assert regression_metrics(t, t)["ccc"] == pytest.approx(1.0)
    assert regression_metrics(t, t + 1)["ccc"] == pytest.approx(4 / 7)  # 2(2/3) / (2/3 + 2/3 + 1)
    assert regression_metrics(t, t + 1)["pearson_r"] == pytest.approx(1.0)
    # Acc-2 (non-zero convention): the utterance with true score 0 is left out; nonneg keeps it
    m = regression_metrics([-1.0, 0.0, 2.0, 1.5], [-0.5, -0.2, 0.3, -1.0])
    assert m["n_nonzero"] == 3 and m["acc2"] == pytest.approx(2 / 3)
    assert m["acc2_nonneg"] == pytest.approx(2 / 4)  # 0 vs -0.2: non-negative true, negative prediction
    # Acc-5: clipped to [-2, 2] then rounded (halves to even): 2.9 -> 2 and 3.0 -> 2 agree; 0.5 -> 0
    m = regression_metrics([3.0, 0.5, -2.6, 1.4], [2.9, 0.0, -1.6, 1.6])
    assert m["acc5"] == pytest.approx(3 / 4)
    assert m["acc7"] == pytest.approx(2 / 4)  # [-3, 3]: 3.0 vs 2.9 -> 3 = 3; -2.6 -> -3 vs -2
    with pytest.raises(ParameterError, match="paired"):
        regression_metrics([1.0, 2.0], [1.0])
    with pytest.raises(ParameterError, match="non-finite"):
        regression_metrics([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ParameterError, match="at least one"):
        regression_metrics([], [])
