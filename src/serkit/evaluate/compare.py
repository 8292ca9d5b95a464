"""Paired significance tests for two systems scored on the same test utterances.

Both tests compare *per-utterance* outcomes, so they use the pairing that a fold-mean t-test throws away:

* :func:`paired_permutation_test` (approximate randomisation): under the null hypothesis that the two systems
  are exchangeable, swapping the two predictions of any utterance gives an equally likely outcome. Each of
  ``n_resamples`` resamples swaps every utterance's pair with probability 1/2 and recomputes the difference of
  the statistic (UA by default, or accuracy). The two-sided p-value, with the +1 correction that keeps it
  valid for a finite number of resamples (Phipson & Smyth, 2010), is
  ``p = (1 + #{|d*| >= |d|}) / (1 + n_resamples)``.
  UA and accuracy are both weighted sums of per-utterance correctness whose weights depend only on the true
  labels (1/n for accuracy, ``1 / (n_classes_present * n_class(i))`` for UA), so a swap flips the sign of
  utterance i's term ``w_i (correct_a_i - correct_b_i)``: the resampled difference is a random-sign sum over the
  discordant utterances, computed as one matrix product per block of resamples.
* :func:`mcnemar_test`: the exact McNemar test on the discordant pairs ``b`` (A right, B wrong) and ``c``
  (A wrong, B right). With ``b + c < 25`` it is the two-sided exact binomial test of ``b`` successes in
  ``b + c`` trials at 1/2 (``scipy.stats.binomtest``; ``statistic`` is ``min(b, c)``); otherwise the chi-square
  test with Edwards' continuity correction, ``(|b - c| - 1)^2 / (b + c)`` on 1 degree of freedom (as
  ``statsmodels.stats.contingency_tables.mcnemar(exact=False)`` and R's ``mcnemar.test``).

Use the permutation test for UA (the usual headline number; McNemar only sees accuracy), McNemar as the
classical, fast check on accuracy; both need the two systems' predictions for the *same* utterances.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from serkit.errors import ParameterError

__all__ = ["mcnemar_test", "paired_permutation_test"]

STATISTICS = ("ua", "accuracy")
_ALIASES = {"ua": "ua", "balanced_accuracy": "ua", "accuracy": "accuracy", "wa": "accuracy"}
#: Resamples per block: the (block, discordant) sign matrix stays small (8 MB at 1000 discordant).
_BLOCK = 1000
#: Exact McNemar below this many discordant pairs, chi-square with continuity correction from it on.
EXACT_BELOW = 25


def _paired(y_true: Any, pred_a: Any, pred_b: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    arrays = []
    for name, values in (("y_true", y_true), ("pred_a", pred_a), ("pred_b", pred_b)):
        if isinstance(values, str | bytes):
            raise ParameterError(f"The {name!r} argument must be a sequence of labels, not a string.")
        arrays.append(np.asarray(values, dtype=object).ravel())
    n = len(arrays[0])
    if any(len(a) != n for a in arrays[1:]):
        raise ParameterError(
            f"y_true, pred_a and pred_b must have one label per utterance each; got lengths "
            f"{len(arrays[0])}, {len(arrays[1])} and {len(arrays[2])}."
        )
    if n == 0:
        raise ParameterError("A paired test needs at least one utterance; got none.")
    return arrays[0], arrays[1], arrays[2]


def _weights(y_true: np.ndarray, statistic: str, classes: Sequence[Hashable] | None) -> np.ndarray:
    """Per-utterance weights w with statistic = sum(w * correct)."""
    n = len(y_true)
    if statistic == "accuracy":
        return np.full(n, 1.0 / n)
    if classes is not None:
        known = set(classes)
        bad = [v for v in y_true if v not in known]
        if bad:
            raise ParameterError(f"y_true holds {bad[0]!r}, which is not among the classes {list(classes)}.")
    _, inverse, counts = np.unique(y_true.astype(str), return_inverse=True, return_counts=True)
    return 1.0 / (len(counts) * counts[inverse])


def _statistic(y_true: np.ndarray, correct: np.ndarray, statistic: str) -> float:
    """Accuracy, or UA as the mean of per-class recall (the same number classification_metrics gives)."""
    if statistic == "accuracy":
        return float(correct.mean())
    _, inverse = np.unique(y_true.astype(str), return_inverse=True)
    return float(np.mean([correct[inverse == k].mean() for k in range(inverse.max() + 1)]))


def paired_permutation_test(
    y_true: Sequence[Hashable],
    pred_a: Sequence[Hashable],
    pred_b: Sequence[Hashable],
    *,
    classes: Sequence[Hashable] | None = None,
    statistic: str = "ua",
    n_resamples: int = 10000,
    seed: int = 0,
) -> dict[str, Any]:
    """Two-sided paired permutation test of ``statistic(A) - statistic(B)``, swapping per utterance.

    Parameters
    ----------
    y_true, pred_a, pred_b : sequence [shape=(n,)], n >= 1
        True labels and the two systems' predictions for the same utterances, in the same order.
    classes : sequence, optional
        When given, every true label must be one of them (UA is over the classes present in ``y_true``).
    statistic : {"ua", "accuracy"}
        UA (balanced accuracy; alias "balanced_accuracy") or accuracy (alias "wa").
    n_resamples : int >= 1
    seed : int
        Seed of the ``numpy.random.Generator`` (PCG64): the same inputs and seed give the same p-value.

    Returns
    -------
    dict
        ``statistic``, ``a``, ``b``, ``difference`` (a - b), ``p_value`` (two-sided, in (0, 1]), ``n``,
        ``n_resamples``, ``n_discordant`` (utterances that exactly one system gets right), ``seed``.

    Raises
    ------
    ParameterError
        Different lengths, no utterances, an unknown statistic, ``n_resamples`` < 1, or a true label outside
        ``classes``.

    Examples
    --------
    >>> y = ["a", "b"] * 50
    >>> paired_permutation_test(y, y, y)["p_value"]  # identical systems
    1.0
    """
    key = _ALIASES.get(str(statistic).lower())
    if key is None:
        raise ParameterError(
            f"The 'statistic' parameter of paired_permutation_test must be one of {', '.join(STATISTICS)}. "
            f"Got {statistic!r} instead."
        )
    if not isinstance(n_resamples, int | np.integer) or n_resamples < 1:
        raise ParameterError(
            f"The 'n_resamples' parameter of paired_permutation_test must be an int >= 1. Got {n_resamples!r}."
        )
    t, a, b = _paired(y_true, pred_a, pred_b)
    w = _weights(t, key, classes)
    correct_a = (a == t).astype(float)
    correct_b = (b == t).astype(float)
    stat_a = _statistic(t, correct_a, key)
    stat_b = _statistic(t, correct_b, key)
    terms = w * (correct_a - correct_b)
    v = terms[terms != 0]  # concordant utterances contribute 0 whether swapped or not
    observed = float(v.sum())
    # Ties in |d*| vs |d| are decided on sums of the same weights in another order: allow rounding error.
    threshold = abs(observed) - 1e-9 * max(float(np.abs(v).sum()), 1e-300)
    rng = np.random.default_rng(seed)
    hits = 0
    done = 0
    while done < n_resamples:
        size = min(_BLOCK, int(n_resamples) - done)
        signs = 1.0 - 2.0 * rng.integers(0, 2, size=(size, v.size), dtype=np.int8)
        hits += int(np.count_nonzero(np.abs(signs @ v) >= threshold))
        done += size
    return {
        "statistic": key,
        "a": stat_a,
        "b": stat_b,
        "difference": stat_a - stat_b,
        "p_value": (1 + hits) / (1 + int(n_resamples)),
        "n": len(t),
        "n_resamples": int(n_resamples),
        "n_discordant": int(v.size),
        "seed": seed,
    }


def mcnemar_test(
    y_true: Sequence[Hashable], pred_a: Sequence[Hashable], pred_b: Sequence[Hashable]
) -> dict[str, Any]:
    """McNemar's test on the utterances exactly one of two systems classifies correctly.

    Parameters
    ----------
    y_true, pred_a, pred_b : sequence [shape=(n,)], n >= 1

    Returns
    -------
    dict
        ``b`` (A right, B wrong), ``c`` (A wrong, B right), ``statistic`` (``min(b, c)`` when exact, else the
        continuity-corrected chi-square), ``p_value`` (two-sided; 1.0 when ``b + c`` is 0), ``exact`` (bool:
        ``b + c < 25``), ``n``.

    Raises
    ------
    ParameterError
        Different lengths or no utterances.

    Examples
    --------
    >>> mcnemar_test(["a"] * 10, ["a"] * 10, ["a"] * 2 + ["b"] * 8)["b"]
    8
    """
    from scipy.stats import binomtest, chi2

    t, a, b_pred = _paired(y_true, pred_a, pred_b)
    right_a = a == t
    right_b = b_pred == t
    b = int(np.count_nonzero(right_a & ~right_b))
    c = int(np.count_nonzero(~right_a & right_b))
    n_disc = b + c
    if n_disc < EXACT_BELOW:
        p = 1.0 if n_disc == 0 else float(binomtest(b, n_disc, 0.5, alternative="two-sided").pvalue)
        stat = float(min(b, c))
        exact = True
    else:
        stat = (abs(b - c) - 1.0) ** 2 / n_disc
        p = float(chi2.sf(stat, 1))
        exact = False
    return {"b": b, "c": c, "statistic": stat, "p_value": min(p, 1.0), "exact": exact, "n": len(t)}
