"""serkit.train.search: seeded random search over speaker-grouped inner folds of the training fold."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from serkit.errors import ParameterError, SplitLeakError
from serkit.train.search import inner_group_folds, parse_space, random_search

SPACE = {
    "filters": {"int": [8, 64]},
    "dropout": {"float": [0.1, 0.5]},
    "lr": {"loguniform": [1e-4, 1e-2]},
    "units": {"choice": [8, 16, 32]},
}

SPEAKERS = [f"ravdess/{k:02d}" for k in range(1, 13)]
IDS = [f"{s}_{u}" for s in SPEAKERS for u in range(5)]
GROUPS = [s for s in SPEAKERS for _ in range(5)]
TEST_SPEAKERS = {"ravdess/11", "ravdess/12"}
TRAIN_IDS = [i for i, g in zip(IDS, GROUPS, strict=True) if g not in TEST_SPEAKERS]
TRAIN_GROUPS = [g for g in GROUPS if g not in TEST_SPEAKERS]
SPEAKER_OF = dict(zip(IDS, GROUPS, strict=True))


def _score(params: dict, train_ids: list[str], val_ids: list[str]) -> float:
    """A smooth function of the parameters plus a fold-dependent term."""
    return (
        -abs(params["filters"] - 40) / 56
        - (params["dropout"] - 0.3) ** 2
        - abs(math.log10(params["lr"]) + 3)
        + params["units"] / 100
        + sum(int(i.split("/")[1][:2]) for i in val_ids) / 10000  # differs between inner folds
    )


def _search(seed: int, **kw):
    kw = {"n_trials": 12, "inner_folds": 5, "seed": seed} | kw
    return random_search(SPACE, _score, TRAIN_IDS, TRAIN_GROUPS, **kw)


def test_same_seed_same_trials_other_seed_other_trials():
    a, b, c = _search(3), _search(3), _search(4)
    pd.testing.assert_frame_equal(a.trials, b.trials)
    assert a.best_params == b.best_params
    assert not a.trials[list(SPACE)].equals(c.trials[list(SPACE)])


def test_params_respect_the_space():
    t = _search(0, n_trials=30).trials
    assert t["filters"].between(8, 64).all() and (t["filters"] == t["filters"].round()).all()
    assert t["dropout"].between(0.1, 0.5).all()
    assert t["lr"].between(1e-4, 1e-2).all()
    assert set(t["units"]) <= {8, 16, 32}
    assert t["filters"].nunique() > 5


def test_best_params_are_the_argmax_of_recorded_trials():
    res = _search(1, n_trials=20)
    t = res.trials
    assert len(t) == 20 and list(t["trial"]) == list(range(20))
    best = t.loc[t["score"].idxmax()]
    assert res.best_params == {k: best[k] for k in SPACE}
    assert res.best_score == pytest.approx(best["score"])
    # score is the mean of the recorded inner-fold scores
    folds = t[[f"fold_{k}" for k in range(5)]]
    pd.testing.assert_series_equal(folds.mean(axis=1), t["score"], check_names=False)
    low = random_search(
        SPACE, _score, TRAIN_IDS, TRAIN_GROUPS, n_trials=20, inner_folds=5, seed=1, direction="minimize"
    )
    assert low.best_score == pytest.approx(low.trials["score"].min())


def test_inner_folds_never_split_a_speaker_and_never_see_test_speakers():
    calls: list[tuple[list[str], list[str]]] = []

    def objective(params, train_ids, val_ids):
        calls.append((train_ids, val_ids))
        return _score(params, train_ids, val_ids)

    res = random_search(SPACE, objective, TRAIN_IDS, TRAIN_GROUPS, n_trials=3, inner_folds=5, seed=0)
    assert len(calls) == 15
    val_speakers: set[str] = set()
    for tr, va in calls:
        s_tr, s_va = {SPEAKER_OF[i] for i in tr}, {SPEAKER_OF[i] for i in va}
        assert not s_tr & s_va
        assert not (s_tr | s_va) & TEST_SPEAKERS
        assert set(tr) | set(va) == set(TRAIN_IDS) and not set(tr) & set(va)
        val_speakers |= s_va
    assert val_speakers == set(TRAIN_GROUPS)  # every training speaker validates once
    assert res.folds == calls[:5]


def test_test_speakers_passed_by_mistake_are_refused():
    with pytest.raises(SplitLeakError, match="ravdess/11"):
        random_search(
            SPACE, _score, IDS, GROUPS, n_trials=1, inner_folds=3, seed=0, test_groups=TEST_SPEAKERS
        )


def test_inner_group_folds_checks_sizes():
    folds = inner_group_folds(TRAIN_IDS, TRAIN_GROUPS, n_splits=10)
    assert [len(va) for _, va in folds] == [5] * 10
    with pytest.raises(ParameterError, match=r"\[2, 10\]"):
        inner_group_folds(TRAIN_IDS, TRAIN_GROUPS, n_splits=11)
    with pytest.raises(ParameterError, match="same length"):
        inner_group_folds(TRAIN_IDS, TRAIN_GROUPS[:-1], n_splits=2)


def test_failed_trials_are_recorded_and_skipped():
    def objective(params, train_ids, val_ids):
        return float("nan") if params["units"] == 32 else _score(params, train_ids, val_ids)

    res = random_search(SPACE, objective, TRAIN_IDS, TRAIN_GROUPS, n_trials=15, inner_folds=2, seed=0)
    failed = res.trials["units"] == 32
    assert failed.any() and res.trials.loc[failed, "score"].isna().all()
    assert res.best_params["units"] != 32
    with pytest.raises(ParameterError, match="finite"):
        random_search(
            SPACE, lambda *a: float("nan"), TRAIN_IDS, TRAIN_GROUPS, n_trials=2, inner_folds=2, seed=0
        )


def test_choice_of_lists_and_space_errors():
    space = {"layers": {"choice": [[64], [128, 64]]}}
    res = random_search(
        space, lambda p, tr, va: len(p["layers"]), TRAIN_IDS, TRAIN_GROUPS, n_trials=8, inner_folds=2, seed=0
    )
    assert res.best_params == {"layers": [128, 64]}
    with pytest.raises(ParameterError, match="'lr'"):
        parse_space({"lr": {"loguniform": [0, 1e-2]}})
    with pytest.raises(ParameterError, match="exactly one of"):
        parse_space({"lr": {"uniform": [0, 1]}})
    with pytest.raises(ParameterError, match="integers"):
        parse_space({"filters": {"int": [8.5, 64]}})
