"""Randomized hyperparameter search with speaker-grouped inner folds (the MFCC CNN/RNN paper's protocol).

The MFCC 1D-CNN paper chose its hyperparameters with scikit-learn's ``RandomizedSearchCV`` (Bergstra &
Bengio's random search). Here the trials are drawn by Optuna's ``RandomSampler(seed)`` and every trial is
scored by cross-validation on the *training fold only*, with inner folds from scikit-learn's
``GroupKFold`` over speaker groups: no speaker is ever on both sides of an inner split, and test speakers
are never seen (the caller passes only the training fold's ids; ``test_groups`` double-checks).

A search space is a YAML-friendly mapping, one entry per hyperparameter::

    filters: {int: [8, 64]}            # uniform integer in [8, 64] (both ends included)
    dropout: {float: [0.1, 0.5]}       # uniform float in [0.1, 0.5]
    lr: {loguniform: [1.0e-4, 1.0e-2]} # log-uniform float
    units: {choice: [8, 16, 32]}       # one of the listed values (any YAML values)
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.model_selection import GroupKFold

from serkit.errors import ParameterError, SplitLeakError

__all__ = ["Dimension", "SearchResult", "inner_group_folds", "parse_space", "random_search"]

_KINDS = ("int", "float", "loguniform", "choice")


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))


@dataclass(frozen=True)
class Dimension:
    """One hyperparameter of a search space: ``kind`` in int / float / loguniform / choice."""

    name: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: optuna.Trial) -> Any:
        """Draw this hyperparameter's value for ``trial``."""
        low, high = self.low, self.high
        if self.kind == "int":
            return trial.suggest_int(self.name, int(low), int(high))  # type: ignore[arg-type]
        if self.kind in ("float", "loguniform"):
            log = self.kind == "loguniform"
            return trial.suggest_float(self.name, float(low), float(high), log=log)  # type: ignore[arg-type]
        # Optuna's categorical distribution holds only None/bool/int/float/str: draw an index for anything
        # else (lists, mappings), so any YAML value can be a choice.
        if all(c is None or isinstance(c, (bool, int, float, str)) for c in self.choices):
            return trial.suggest_categorical(self.name, list(self.choices))
        k = trial.suggest_categorical(self.name, list(range(len(self.choices))))
        return self.choices[k]


def parse_space(space: Mapping[str, Mapping[str, Any]]) -> dict[str, Dimension]:
    """Check a search-space mapping and turn it into :class:`Dimension` objects (same order).

    Raises
    ------
    ParameterError
        An entry is not ``{kind: values}`` with a known kind, bounds are not ``[low, high]`` with
        ``low <= high`` (``low > 0`` for ``loguniform``, integers for ``int``), or a choice list is empty.
    """
    if not isinstance(space, Mapping) or not space:
        raise ParameterError(
            f"A search space must be a non-empty mapping name -> {{kind: values}}. Got {space!r}."
        )
    dims: dict[str, Dimension] = {}
    for name, spec in space.items():
        where = f"Search-space entry {name!r}"
        if not isinstance(spec, Mapping) or len(spec) != 1 or next(iter(spec)) not in _KINDS:
            raise ParameterError(
                f"{where} must be a mapping with exactly one of {', '.join(_KINDS)} "
                f"(e.g. {{int: [8, 64]}}). Got {spec!r}."
            )
        kind, values = next(iter(spec.items()))
        if kind == "choice":
            if not isinstance(values, (list, tuple)) or not values:
                raise ParameterError(f"{where}: 'choice' needs a non-empty list of values. Got {values!r}.")
            dims[name] = Dimension(str(name), kind, choices=tuple(values))
            continue
        ok = isinstance(values, (list, tuple)) and len(values) == 2 and all(_is_number(v) for v in values)
        ok = ok and values[0] <= values[1]
        if kind == "int":
            ok = ok and all(isinstance(v, int) for v in values)
        if kind == "loguniform":
            ok = ok and values[0] > 0
        if not ok:
            rule = {
                "int": "[low, high] integers with low <= high",
                "float": "[low, high] with low <= high",
                "loguniform": "[low, high] with 0 < low <= high",
            }[kind]
            raise ParameterError(f"{where}: {kind!r} bounds must be {rule}. Got {values!r}.")
        dims[name] = Dimension(str(name), kind, low=values[0], high=values[1])
    return dims


def inner_group_folds(
    ids: Sequence[str], groups: Sequence[Any], *, n_splits: int
) -> list[tuple[list[str], list[str]]]:
    """``n_splits`` (train ids, validation ids) pairs from ``GroupKFold`` over ``groups`` (speakers).

    Raises
    ------
    ParameterError
        ``ids`` and ``groups`` differ in length, ids repeat, or ``n_splits`` is not in [2, number of groups].
    SplitLeakError
        A group on both sides of a fold (cannot happen with ``GroupKFold``; checked anyway).
    """
    ids = list(ids)
    groups = list(groups)
    if len(ids) != len(groups):
        raise ParameterError(
            f"ids and groups must have the same length. Got {len(ids)} ids and {len(groups)} groups."
        )
    if len(set(ids)) != len(ids):
        raise ParameterError("ids must be unique: an utterance id appears more than once.")
    n_groups = len(set(groups))
    if not isinstance(n_splits, int) or isinstance(n_splits, bool) or not 2 <= n_splits <= n_groups:
        raise ParameterError(
            f"The 'inner_folds' of a grouped search must be an int in [2, {n_groups}] (the number of "
            f"speaker groups in the training fold). Got {n_splits!r} instead."
        )
    garr = np.asarray(groups, dtype=object)
    folds = []
    for tr, va in GroupKFold(n_splits=n_splits).split(np.zeros(len(ids)), groups=garr):
        crossing = set(garr[tr].tolist()) & set(garr[va].tolist())
        if crossing:
            raise SplitLeakError(
                f"Inner fold puts speaker group(s) {sorted(map(str, crossing))} on both sides."
            )
        folds.append(([ids[i] for i in tr], [ids[i] for i in va]))
    return folds


@dataclass(frozen=True)
class SearchResult:
    """Outcome of :func:`random_search`.

    Attributes
    ----------
    best_params : dict
        Hyperparameters of the best trial (highest mean inner-fold score for ``direction="maximize"``;
        the first such trial on ties).
    best_score : float
        Its mean inner-fold score.
    trials : pandas.DataFrame
        One row per trial, in order: ``trial``, one column per hyperparameter, ``score`` (mean over inner
        folds; NaN when a fold's score was not finite), ``score_std`` and ``fold_0`` ... ``fold_{k-1}``.
    folds : list of (train ids, validation ids)
        The inner folds every trial was scored on.
    """

    best_params: dict[str, Any]
    best_score: float
    trials: pd.DataFrame
    folds: list[tuple[list[str], list[str]]] = field(repr=False)


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna logs every trial at INFO; keep warnings only, for the duration of a search."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def random_search(
    space: Mapping[str, Mapping[str, Any]],
    objective: Callable[[dict[str, Any], list[str], list[str]], float],
    ids: Sequence[str],
    groups: Sequence[Any],
    *,
    n_trials: int,
    inner_folds: int,
    seed: int,
    direction: str = "maximize",
    test_groups: Collection[Any] | None = None,
) -> SearchResult:
    """Randomized search: ``n_trials`` draws from ``space``, each scored by speaker-grouped inner CV.

    Parameters
    ----------
    space : mapping
        The search space (see the module docstring and :func:`parse_space`).
    objective : callable ``(params, train_ids, val_ids) -> float``
        Trains with ``params`` on ``train_ids`` and returns a validation score on ``val_ids`` (e.g. UA);
        called once per trial and inner fold. Exceptions propagate and stop the search.
    ids : sequence of str
        Utterance ids of the *training fold only* (never pass test utterances).
    groups : sequence
        Speaker of each id (``corpus/speaker`` keys); inner folds never split a speaker.
    n_trials : int >= 1
    inner_folds : int in [2, number of speakers]
    seed : int
        Seeds Optuna's ``RandomSampler``: the same seed gives the same trials.
    direction : "maximize" or "minimize"
        Whether a higher or a lower score is better.
    test_groups : collection or None
        The outer fold's test speakers, when known: a :class:`SplitLeakError` is raised if any of them is
        among ``groups``.

    Returns
    -------
    SearchResult

    Raises
    ------
    ParameterError
        Bad space, sizes or arguments, or no trial produced a finite score.
    SplitLeakError
        A test speaker among the training groups.

    Examples
    --------
    >>> ids = [f"u{i}" for i in range(8)]
    >>> groups = ["a", "a", "b", "b", "c", "c", "d", "d"]
    >>> res = random_search({"x": {"float": [0, 1]}}, lambda p, tr, va: -abs(p["x"] - 0.3), ids, groups,
    ...                     n_trials=5, inner_folds=2, seed=0)
    >>> len(res.trials)
    5
    """
    dims = parse_space(space)
    if not isinstance(n_trials, int) or isinstance(n_trials, bool) or n_trials < 1:
        raise ParameterError(
            f"The 'n_trials' parameter of random_search must be an int >= 1. Got {n_trials!r}."
        )
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ParameterError(f"The 'seed' parameter of random_search must be an int. Got {seed!r}.")
    if direction not in ("maximize", "minimize"):
        raise ParameterError(
            f"The 'direction' parameter of random_search must be 'maximize' or 'minimize'. Got {direction!r}."
        )
    if test_groups is not None:
        leaked = set(groups) & set(test_groups)
        if leaked:
            raise SplitLeakError(
                f"Test speaker(s) {sorted(map(str, leaked))} are among the search's training ids: pass only "
                "the training fold's ids to random_search."
            )
    folds = inner_group_folds(ids, groups, n_splits=inner_folds)

    rows: list[dict[str, Any]] = []

    def run_trial(trial: optuna.Trial) -> float:
        params = {name: dim.suggest(trial) for name, dim in dims.items()}
        scores = [float(objective(dict(params), list(tr), list(va))) for tr, va in folds]
        finite = all(math.isfinite(s) for s in scores)
        mean = float(np.mean(scores)) if finite else math.nan
        row: dict[str, Any] = {"trial": trial.number, **params, "score": mean}
        row["score_std"] = float(np.std(scores)) if finite else math.nan
        row.update({f"fold_{k}": s for k, s in enumerate(scores)})
        rows.append(row)
        return mean  # NaN: Optuna records the trial as failed and goes on

    study = optuna.create_study(direction=direction, sampler=optuna.samplers.RandomSampler(seed=seed))
    with _quiet_optuna():
        study.optimize(run_trial, n_trials=n_trials)

    table = pd.DataFrame(
        rows, columns=["trial", *dims, "score", "score_std", *[f"fold_{k}" for k in range(len(folds))]]
    )
    valid = table["score"].notna()
    if not valid.any():
        raise ParameterError(
            f"No trial of the search gave a finite score ({n_trials} trials): check the objective, e.g. "
            "that it returns a number and does not diverge."
        )
    scores = table["score"].where(valid, -math.inf if direction == "maximize" else math.inf)
    best = int(scores.to_numpy().argmax() if direction == "maximize" else scores.to_numpy().argmin())
    best_params = {name: rows[best][name] for name in dims}
    return SearchResult(
        best_params=best_params, best_score=float(table["score"].iloc[best]), trials=table, folds=folds
    )
