"""Paired tests: permutation test against scipy's, McNemar against the textbook formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest, chi2, permutation_test

from serkit.errors import ParameterError
from serkit.evaluate.compare import mcnemar_test, paired_permutation_test
from serkit.evaluate.metrics import classification_metrics


def _systems(n: int, acc_a: float, acc_b: float, k: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    a = np.where(rng.random(n) < acc_a, y, (y + rng.integers(1, k, n)) % k)
    b = np.where(rng.random(n) < acc_b, y, (y + rng.integers(1, k, n)) % k)
    return y, a, b


def test_identical_systems_give_p_one() -> None:
    y, a, _ = _systems(200, 0.6, 0.6)
    for statistic in ("ua", "accuracy"):
        r = paired_permutation_test(y, a, a, statistic=statistic, n_resamples=500)
        assert r["p_value"] == 1.0 and r["difference"] == 0.0 and r["n_discordant"] == 0
    m = mcnemar_test(y, a, a)
    assert (m["b"], m["c"], m["p_value"], m["exact"]) == (0, 0, 1.0, True)


def test_a_much_better_system_gives_a_tiny_p() -> None:
    y, _, b = _systems(300, 1.0, 0.5)
    r = paired_permutation_test(y, y, b, n_resamples=2000)
    ua_b = classification_metrics(y, b, classes=[0, 1, 2, 3])["ua"]
    assert r["a"] == 1.0 and r["b"] == pytest.approx(ua_b) and r["difference"] == pytest.approx(1 - ua_b)
    assert r["p_value"] == pytest.approx(1 / 2001)  # no resample reaches the observed gap: the +1 floor
    assert mcnemar_test(y, y, b)["p_value"] < 1e-20


def test_same_seed_same_p_and_result_fields() -> None:
    y, a, b = _systems(400, 0.62, 0.55, seed=3)
    r1 = paired_permutation_test(y, a, b, n_resamples=3000, seed=7)
    r2 = paired_permutation_test(y, a, b, n_resamples=3000, seed=7)
    assert r1 == r2
    assert set(r1) >= {"statistic", "a", "b", "difference", "p_value", "n", "n_resamples"}
    assert r1["n"] == 400 and r1["n_resamples"] == 3000 and r1["statistic"] == "ua"
    swapped = paired_permutation_test(y, b, a, n_resamples=3000, seed=7)
    assert swapped["difference"] == pytest.approx(-r1["difference"]) and swapped["p_value"] == r1["p_value"]
    # 10000 resamples over 1500 utterances (the documented scale) run; blocks cover every resample
    y, a, b = _systems(1500, 0.6, 0.57, k=8, seed=1)
    big = paired_permutation_test(y, a, b)
    assert big["n_resamples"] == 10000 and 0 < big["p_value"] <= 1
    assert (big["p_value"] * 10001) == pytest.approx(round(big["p_value"] * 10001))


@pytest.mark.parametrize("statistic", ["accuracy", "ua"])
def test_permutation_p_matches_scipy_exact(statistic: str) -> None:
    # 14 utterances: scipy enumerates all 2^14 swaps exactly; ours samples 40000 (MC sd of p ~ 0.0025)
    y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    a = np.array([0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 2, 2, 2, 1])
    b = np.array([0, 1, 2, 0, 1, 1, 1, 0, 1, 0, 2, 0, 2, 1])

    def ua(pred: np.ndarray) -> float:  # mean recall over the classes of y (scikit-learn is too slow here)
        return float(np.mean([np.mean(pred[y == k] == k) for k in np.unique(y)]))

    def stat(x: np.ndarray, z: np.ndarray) -> float:
        if statistic == "accuracy":
            return float(np.mean(x == y) - np.mean(z == y))
        return ua(x) - ua(z)

    ref = permutation_test(
        (a, b),
        stat,
        permutation_type="samples",
        vectorized=False,
        n_resamples=np.inf,
        alternative="two-sided",
    )
    ours = paired_permutation_test(y, a, b, statistic=statistic, n_resamples=40000, seed=1)
    assert ours["difference"] == pytest.approx(ref.statistic)
    if statistic == "ua":
        assert ours["a"] == pytest.approx(classification_metrics(y, a, classes=[0, 1, 2])["ua"])
    assert 0.01 < ref.pvalue < 0.5  # a case where the comparison means something
    assert ours["p_value"] == pytest.approx(ref.pvalue, abs=0.012)


def test_mcnemar_exact_and_chi_square_by_hand() -> None:
    # b = 7 (A right, B wrong), c = 2 (A wrong, B right), 20 agree: exact binomial
    y = np.zeros(29, dtype=int)
    a = np.array([0] * 7 + [1] * 2 + [0] * 15 + [1] * 5)
    b = np.array([1] * 7 + [0] * 2 + [0] * 15 + [1] * 5)
    m = mcnemar_test(y, a, b)
    assert (m["b"], m["c"], m["exact"]) == (7, 2, True)
    by_hand = 2 * sum(math.comb(9, i) for i in range(0, 3)) / 2**9  # two-sided, min(b, c) = 2
    assert m["p_value"] == pytest.approx(by_hand) and m["statistic"] == 2.0
    assert m["p_value"] == pytest.approx(binomtest(7, 9, 0.5).pvalue)
    # b + c >= 25: chi-square with continuity correction, (|b - c| - 1)^2 / (b + c) on 1 df
    y = np.zeros(60, dtype=int)
    a = np.array([0] * 20 + [1] * 8 + [0] * 32)
    b = np.array([1] * 20 + [0] * 8 + [0] * 32)
    m = mcnemar_test(y, a, b)
    stat = (abs(20 - 8) - 1) ** 2 / 28
    assert (m["b"], m["c"], m["exact"]) == (20, 8, False)
    assert m["statistic"] == pytest.approx(stat) and m["p_value"] == pytest.approx(chi2.sf(stat, 1))
    assert m["p_value"] == pytest.approx(
        0.0380, abs=5e-4
    )  # statsmodels mcnemar([[32, 20], [8, 0]], exact=False)
    # the boundary: 24 discordant is exact, 25 is not
    y = np.zeros(25, dtype=int)
    assert mcnemar_test(y[:24], np.zeros(24), np.ones(24))["exact"] is True
    assert mcnemar_test(y, np.zeros(25), np.ones(25))["exact"] is False


def test_errors() -> None:
    with pytest.raises(ParameterError, match="lengths 3, 2 and 3"):
        paired_permutation_test([0, 1, 1], [0, 1], [0, 1, 0])
    with pytest.raises(ParameterError, match="lengths 2, 2 and 1"):
        mcnemar_test([0, 1], [0, 1], [0])
    with pytest.raises(ParameterError, match="at least one utterance"):
        mcnemar_test([], [], [])
    with pytest.raises(ParameterError, match=r"'statistic'.*'f1'"):
        paired_permutation_test([0], [0], [0], statistic="f1")
    with pytest.raises(ParameterError, match="n_resamples"):
        paired_permutation_test([0], [0], [0], n_resamples=0)
    with pytest.raises(ParameterError, match="not among the classes"):
        paired_permutation_test(["x"], ["a"], ["a"], classes=["a", "b"])
