from __future__ import annotations

import pandas as pd
import pytest

from serkit.errors import ParameterError
from serkit.labels import EMOTIONS, LABEL_SETS, LabelSet, canonical_label, get_label_set, parse_label_set


@pytest.mark.parametrize(
    ("raw", "canon"),
    [
        ("Anger", "angry"),
        ("happiness", "happy"),
        ("joy", "happy"),
        ("fear", "fearful"),
        ("boredom", "bored"),
        ("surprise", "surprised"),
        ("neutral", "neutral"),
        ("disgusted", "disgust"),
    ],
)
def test_canonical_label(raw, canon):
    assert canonical_label(raw) == canon


def test_unknown_label_suggests():
    with pytest.raises(ParameterError, match="Did you mean 'angry'"):
        canonical_label("angyr")


def test_iemocap4_merges_excited_and_drops_others():
    df = pd.DataFrame(
        {
            "label": ["neutral", "excited", "happy", "frustrated", "sad", "angry"],
            "raw_label": ["neu", "exc", "hap", "fru", "sad", "ang"],
        }
    )
    out = LABEL_SETS["iemocap4"].apply(df)
    assert list(out["label"]) == ["neutral", "happy", "happy", "sad", "angry"]
    assert list(out["raw_label"]) == ["neu", "exc", "hap", "sad", "ang"]


def test_parse_label_set():
    ls = parse_label_set("neutral,happiness+excited,sad,anger")
    assert ls.classes == ("neutral", "happy", "sad", "angry")
    assert ls.merge == {"excited": "happy"}
    assert get_label_set("iemocap4").classes == ("neutral", "happy", "sad", "angry")
    assert get_label_set("neutral,sad").classes == ("neutral", "sad")


def test_label_set_validation():
    with pytest.raises(ParameterError, match="not one of its classes"):
        LabelSet("x", ("a", "b"), {"c": "d"})
    with pytest.raises(ParameterError, match="distinct"):
        LabelSet("x", ("a", "a"))
    with pytest.raises(ParameterError, match="Unknown label set"):
        get_label_set("iemocap5")


def test_named_sets_use_canonical_names():
    for ls in LABEL_SETS.values():
        for c in ls.classes:
            assert c in EMOTIONS or c in ("negative", "positive")


def test_core5_keeps_the_shared_emotions_and_counts_calm_as_neutral():
    """core5 (the shipped models' label set): what every shared corpus has; calm -> neutral."""
    df = pd.DataFrame(
        {"label": ["calm", "neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised", "bored"]}
    )
    out = LABEL_SETS["core5"].apply(df)
    assert get_label_set("core5").classes == ("neutral", "happy", "sad", "angry", "fearful")
    assert list(out["label"]) == ["neutral", "neutral", "happy", "sad", "angry", "fearful"]
