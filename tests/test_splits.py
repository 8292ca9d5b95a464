"""Speaker-independent splits: property tests over random manifests, leak checks, files, real corpora."""

from __future__ import annotations

import hashlib
import json
import warnings
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serkit.data.manifest import COLUMNS, manifest_digest, validate_manifest
from serkit.data.splits import (
    PROTOCOLS,
    Fold,
    Split,
    SplitFileError,
    casia_text_split,
    fold_frames,
    leave_one_session_out,
    leave_one_speaker_out,
    list_protocols,
    make_split,
    official_split,
    pair_folds,
    speaker_dependent_random,
    speaker_group_kfold,
)
from serkit.errors import CorpusError, ManifestError, ParameterError, SplitLeakError

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------------------------
# Synthetic manifests
# --------------------------------------------------------------------------------------------


def make_manifest(rows: list[dict]) -> pd.DataFrame:
    """A valid manifest from partial rows: ``corpus``/``speaker``/``label`` given, the rest filled in."""
    full = []
    for i, r in enumerate(rows):
        corpus = r.get("corpus", "synth")
        row = {
            "id": r.get("id", f"{corpus}/{r['speaker']}/{i:05d}"),
            "path": f"/nonexistent/{i}.wav",
            "corpus": corpus,
            "speaker": r["speaker"],
            "gender": r.get("gender"),
            "label": r.get("label", "neutral"),
            "raw_label": r.get("label", "neutral"),
            "session": r.get("session"),
            "text_id": r.get("text_id"),
            "duration": 1.0,
            "sample_rate": 16000,
            "language": "en",
        }
        row.update({k: v for k, v in r.items() if k not in row})
        full.append(row)
    extras = sorted({k for r in full for k in r} - set(COLUMNS))
    return validate_manifest(pd.DataFrame(full, columns=[*COLUMNS, *extras]))


def speakers_manifest(genders: list[str | None], *, n_utts: int = 3, corpus: str = "synth") -> pd.DataFrame:
    labels = ["angry", "happy", "sad", "neutral"]
    rows = [
        {"corpus": corpus, "speaker": f"s{k:02d}", "gender": g, "label": labels[(k + j) % 4]}
        for k, g in enumerate(genders)
        for j in range(n_utts)
    ]
    return make_manifest(rows)


@st.composite
def manifests(draw, *, min_speakers: int = 2, max_speakers: int = 30, sessions: bool = False):
    """Random manifests: 2-30 speakers over 1-2 corpora (speaker ids repeat between corpora),
    random genders (some unknown), labels and 1-6 utterances per speaker."""
    n = draw(st.integers(min_speakers, max_speakers))
    two_corpora = draw(st.booleans())
    labels = ["angry", "happy", "sad", "neutral", "fear"]
    rows = []
    for k in range(n):
        corpus = "a" if not two_corpora or k % 2 == 0 else "b"
        speaker = f"{k // 2:02d}" if two_corpora else f"{k:02d}"  # "a/00" and "b/00" are different people
        gender = draw(st.sampled_from(["f", "m", "f", "m", None]))
        session = f"S{k // 2}" if sessions else None
        for _ in range(draw(st.integers(1, 6))):
            rows.append(
                {
                    "corpus": corpus,
                    "speaker": speaker,
                    "gender": gender,
                    "label": draw(st.sampled_from(labels)),
                    "session": session,
                }
            )
    return make_manifest(rows)


def all_ids(m: pd.DataFrame) -> list[str]:
    return sorted(m["id"].astype(str))


def key_of(m: pd.DataFrame) -> dict[str, str]:
    return dict(zip(m["id"], m["corpus"] + "/" + m["speaker"], strict=True))


def assert_speaker_disjoint(split: Split, m: pd.DataFrame) -> None:
    """The independent re-derivation of what check() promises, from the manifest itself."""
    spk = key_of(m)
    assert split.speaker_independent
    for f in split.folds:
        parts = {p: {spk[u] for u in f.ids(p)} for p in ("train", "val", "test")}
        assert not parts["test"] & (parts["train"] | parts["val"]), f.name
        assert not parts["val"] & parts["train"], f.name
        assert parts["test"] == set(f.test_speakers) and parts["train"] == set(f.train_speakers)
        assert parts["val"] == set(f.val_speakers)
        ids = [*f.train, *f.val, *f.test]
        assert len(ids) == len(set(ids))
        assert f.test
    split.check(m)


def assert_test_partition(split: Split, m: pd.DataFrame) -> None:
    tests = [u for f in split.folds for u in f.test]
    assert sorted(tests) == all_ids(m)  # every utterance in exactly one test fold


# --------------------------------------------------------------------------------------------
# Property tests
# --------------------------------------------------------------------------------------------


@PROPS
@given(m=manifests(min_speakers=3), n_val=st.integers(0, 2), seed=st.integers(0, 2**31))
def test_loso_properties(m, n_val, seed):
    n_speakers = len(set(m["corpus"] + "/" + m["speaker"]))
    if n_val > n_speakers - 2:  # no training speaker would be left: refused, not silently shrunk
        with pytest.raises(ParameterError, match="at least one training speaker"):
            leave_one_speaker_out(m, n_val_speakers=n_val, seed=seed)
        return
    split = leave_one_speaker_out(m, n_val_speakers=n_val, seed=seed)
    assert_speaker_disjoint(split, m)
    assert_test_partition(split, m)
    keys = set(m["corpus"] + "/" + m["speaker"])
    assert len(split.folds) == len(keys)
    for f in split.folds:
        assert f.test_speakers == (f.name,)
        assert len(f.val_speakers) == n_val
        # Every utterance is used in each fold: the held-out speaker tests, all others train or validate.
        assert len(f.train) + len(f.val) + len(f.test) == len(m)
    assert split == leave_one_speaker_out(m, n_val_speakers=n_val, seed=seed)


@PROPS
@given(m=manifests(min_speakers=4), seed=st.integers(0, 2**31))
def test_val_speakers_not_all_one_gender(m, seed):
    split = leave_one_speaker_out(m, n_val_speakers=2, seed=seed)
    gender = dict(zip(m["corpus"] + "/" + m["speaker"], m["gender"], strict=True))
    for f in split.folds:
        candidates = {gender[s] for s in f.train_speakers + f.val_speakers}
        picked = {gender[s] for s in f.val_speakers}
        if {"f", "m"} <= {g for g in candidates if isinstance(g, str)}:
            assert len(picked) == 2, (f.name, f.val_speakers)


@PROPS
@given(m=manifests(min_speakers=2), data=st.data())
def test_group_kfold_properties(m, data):
    keys = sorted(set(m["corpus"] + "/" + m["speaker"]))
    n_folds = data.draw(st.integers(2, len(keys)))
    n_val = data.draw(st.integers(0, 1)) if len(keys) - (len(keys) + n_folds - 1) // n_folds >= 2 else 0
    seed = data.draw(st.integers(0, 1000))
    split = speaker_group_kfold(m, n_folds=n_folds, seed=seed, n_val_speakers=n_val)
    assert_speaker_disjoint(split, m)
    assert_test_partition(split, m)
    groups = split.params["groups"]
    assert len(groups) == n_folds
    assert sorted(s for g in groups for s in g) == keys  # the groups partition the speakers
    for f, g in zip(split.folds, groups, strict=True):
        assert list(f.test_speakers) == g  # each fold tests exactly its intended group
    sizes = [len(g) for g in groups]
    assert max(sizes) - min(sizes) <= 1
    # Each (corpus, gender) bucket is spread evenly: per-fold counts differ by at most one.
    gender = dict(zip(m["corpus"] + "/" + m["speaker"], m["gender"].astype(object).fillna("?"), strict=True))
    for bucket in {(k.split("/")[0], gender[k]) for k in keys}:
        counts = [sum((s.split("/")[0], gender[s]) == bucket for s in g) for g in groups]
        assert max(counts) - min(counts) <= 1
    assert split == speaker_group_kfold(m, n_folds=n_folds, seed=seed, n_val_speakers=n_val)


@PROPS
@given(m=manifests(min_speakers=4, max_speakers=16, sessions=True), seed=st.integers(0, 1000))
def test_session_properties(m, seed):
    split = leave_one_session_out(m, n_val_speakers=1, seed=seed)
    assert_speaker_disjoint(split, m)
    assert_test_partition(split, m)
    sessions = m["corpus"] + "/" + m["session"]
    for f in split.folds:
        in_session = m[sessions == f.name]
        assert set(f.test_speakers) == set(in_session["corpus"] + "/" + in_session["speaker"])
        assert set(f.test) == set(in_session["id"])


@PROPS
@given(
    m=manifests(min_speakers=2), n_folds=st.integers(2, 5), seed=st.integers(0, 1000), stratify=st.booleans()
)
def test_speaker_dependent_random_properties(m, n_folds, seed, stratify):
    if n_folds > len(m):
        with pytest.raises(ParameterError, match="n_folds"):
            speaker_dependent_random(m, n_folds=n_folds, seed=seed)
        return
    split = speaker_dependent_random(m, n_folds=n_folds, seed=seed, stratify=stratify)
    assert split.protocol == "speaker-dependent-random"
    assert split.speaker_independent is False
    assert_test_partition(split, m)
    split.check(m)
    sizes = [len(f.test) for f in split.folds]
    assert max(sizes) - min(sizes) <= 1
    if stratify:
        label = dict(zip(m["id"], m["label"], strict=True))
        for lab in set(m["label"]):
            counts = [sum(label[u] == lab for u in f.test) for f in split.folds]
            assert max(counts) - min(counts) <= 1
    for f in split.folds:
        assert not f.val and sorted(f.train + f.test) == all_ids(m)
    assert split == speaker_dependent_random(m, n_folds=n_folds, seed=seed, stratify=stratify)


@PROPS
@given(m=manifests(min_speakers=3), seed=st.integers(0, 1000))
def test_json_round_trip_property(m, seed, tmp_path_factory):
    split = speaker_group_kfold(m, n_folds=3, seed=seed, n_val_speakers=0)
    path = split.to_json(tmp_path_factory.mktemp("s") / "split.json")
    back = Split.from_json(path)
    assert back == split and back.digest == split.digest


# --------------------------------------------------------------------------------------------
# Determinism and seeds
# --------------------------------------------------------------------------------------------


def test_seed_changes_grouping_and_is_stable_across_calls():
    m = speakers_manifest(["f", "m"] * 12)
    a = speaker_group_kfold(m, n_folds=6, seed=0)
    assert a == speaker_group_kfold(m, n_folds=6, seed=0)
    assert a.digest == speaker_group_kfold(m, n_folds=6, seed=0).digest
    assert a.params["groups"] != speaker_group_kfold(m, n_folds=6, seed=1).params["groups"]
    # The manifest's row order does not matter.
    shuffled = m.sample(frac=1.0, random_state=3).reset_index(drop=True)
    assert speaker_group_kfold(shuffled, n_folds=6, seed=0) == a


def test_group_kfold_24_speakers_6_folds_gives_4_each_gender_balanced():
    m = speakers_manifest(["f", "m"] * 12, n_utts=2)
    split = speaker_group_kfold(m, n_folds=6, seed=7)
    gender = dict(zip(m["corpus"] + "/" + m["speaker"], m["gender"], strict=True))
    assert len(split.folds) == 6
    for f in split.folds:
        assert len(f.test_speakers) == 4
        assert Counter(gender[s] for s in f.test_speakers) == {"f": 2, "m": 2}
        assert len(f.val_speakers) == 1 and len(f.train_speakers) == 19
    assert "6-fold" in split.description and "4 test speakers per fold" in split.description


# --------------------------------------------------------------------------------------------
# Leak checks
# --------------------------------------------------------------------------------------------


def _replace_fold(split: Split, i: int, **changes) -> Split:
    old = split.folds[i]
    fields = {k: getattr(old, k) for k in Fold.__dataclass_fields__}
    fields.update(changes)
    folds = list(split.folds)
    folds[i] = Fold(**fields)
    return Split(
        split.protocol,
        tuple(folds),
        split.speaker_independent,
        split.manifest_digest,
        split.seed,
        split.params,
        split.description,
    )


@pytest.fixture
def loso6():
    m = speakers_manifest(["f", "m", "f", "m", "f", "m"], n_utts=4)
    return m, leave_one_speaker_out(m, n_val_speakers=1, seed=0)


def test_check_catches_test_speaker_in_train(loso6):
    m, split = loso6
    f = split.folds[2]
    leaked = f.test[0]
    bad = _replace_fold(
        split, 2, train=(*f.train, leaked), train_speakers=(*f.train_speakers, f.test_speakers[0])
    )
    with pytest.raises(SplitLeakError, match=rf"fold '{f.name}'.*utterance '{leaked}' appears twice"):
        bad.check(m)
    # Same speaker, different utterance: a pure speaker leak.
    other = m[(m["corpus"] + "/" + m["speaker"] == f.name) & (m["id"] != leaked)]["id"].iloc[0]
    bad = _replace_fold(
        split,
        2,
        test=tuple(u for u in f.test if u != other),
        train=(*f.train, other),
        train_speakers=(*f.train_speakers, f.name),
    )
    with pytest.raises(
        SplitLeakError, match=rf"fold '{f.name}': speaker '{f.name}' is in both test and train"
    ):
        bad.check(m)


def test_check_catches_val_speaker_in_train(loso6):
    m, split = loso6
    f = split.folds[0]
    val_spk = f.val_speakers[0]
    moved = f.val[0]
    bad = _replace_fold(
        split, 0, val=f.val[1:], train=(*f.train, moved), train_speakers=(*f.train_speakers, val_spk)
    )
    with pytest.raises(SplitLeakError, match=rf"speaker '{val_spk}' is in both val and train"):
        bad.check(m)


def test_check_catches_unknown_id_and_wrong_speaker_lists(loso6):
    m, split = loso6
    f = split.folds[1]
    with pytest.raises(SplitLeakError, match=r"'synth/ghost' \(test\) is not in the manifest"):
        _replace_fold(split, 1, test=(*f.test, "synth/ghost")).check(m)
    with pytest.raises(SplitLeakError, match="test speakers listed in the split"):
        _replace_fold(split, 1, test_speakers=("synth/s05",)).check(m)
    with pytest.raises(SplitLeakError, match="not in the manifest"):
        fold_frames(m, _replace_fold(split, 1, val=("synth/ghost",)).folds[1])


def test_check_refuses_changed_manifest_unless_allowed(loso6):
    m, split = loso6
    changed = m.copy()
    changed.loc[0, "label"] = "happy" if changed.loc[0, "label"] != "happy" else "sad"
    with pytest.raises(SplitLeakError, match="allow_changed_manifest=True"):
        split.check(changed)
    with pytest.warns(UserWarning, match="digest"):
        split.check(changed, allow_changed_manifest=True)
    fewer = m.iloc[1:].reset_index(drop=True)
    with pytest.raises(SplitLeakError, match="not in the manifest"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        split.check(fewer, allow_changed_manifest=True)


def test_speaker_dependent_split_is_labelled_and_refused_when_independence_required(tmp_path):
    m = speakers_manifest(["f", "m", "f"], n_utts=10)
    split = make_split(m, "speaker-dependent", n_folds=5, seed=0)
    assert split.protocol == "speaker-dependent-random"
    assert split.speaker_independent is False
    assert split.description.startswith("SPEAKER-DEPENDENT")
    assert set(split.folds[0].test_speakers) & set(split.folds[0].train_speakers)
    split.check(m)  # speaker overlap is expected here; the check still runs the id checks
    with pytest.raises(SplitLeakError, match="speaker-dependent"):
        split.check(m, require_speaker_independent=True)
    data = json.loads(split.to_json(tmp_path / "sd.json").read_text())
    assert data["speaker_independent"] is False and data["protocol"] == "speaker-dependent-random"
    f = split.folds[0]
    bad = _replace_fold(split, 0, train=(*f.train, f.test[0]))
    with pytest.raises(SplitLeakError, match="appears twice"):
        bad.check(m)


def test_takes_kept_together_and_checked():
    # RAVDESS-like: two utterances per take (e.g. audio-only + extracted copy kept by a user).
    rows = []
    for spk in ("01", "02", "03"):
        for t in range(6):
            for copy in range(2):
                rows.append(
                    {
                        "corpus": "ravdess",
                        "speaker": spk,
                        "gender": "m",
                        "label": ["sad", "angry"][t % 2],
                        "take": f"{spk}-{t}",
                        "id": f"ravdess/{spk}/{t}-{copy}",
                    }
                )
    m = make_manifest(rows)
    split = speaker_dependent_random(m, n_folds=3, seed=1)
    take = dict(zip(m["id"], m["take"], strict=True))
    for f in split.folds:
        assert not {take[u] for u in f.test} & {take[u] for u in f.train}
    split.check(m)
    f = split.folds[0]
    a = f.test[0]
    twin = a[:-1] + ("1" if a.endswith("0") else "0")
    bad = _replace_fold(split, 0, test=tuple(u for u in f.test if u != twin), train=(*f.train, twin))
    with pytest.raises(SplitLeakError, match=rf"take '{take[a]}' is in"):
        bad.check(m)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def test_json_file_contents_and_round_trip(tmp_path, loso6):
    m, split = loso6
    path = split.to_json(tmp_path / "sub" / "loso.json")
    data = json.loads(path.read_text())
    for key in (
        "protocol",
        "speaker_independent",
        "seed",
        "params",
        "manifest_digest",
        "serkit_version",
        "digest",
    ):
        assert key in data
    assert data["manifest_digest"] == manifest_digest(m)
    assert data["digest"] == split.digest and len(split.digest) == 16
    assert data["folds"][0]["test_speakers"] == ["synth/s00"]
    assert set(data["folds"][0]) >= {
        "train",
        "val",
        "test",
        "train_speakers",
        "val_speakers",
        "test_speakers",
    }
    assert Split.from_json(path) == split
    assert not list(path.parent.glob(".*tmp"))  # the atomic write left no temporary file


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda t: t[: len(t) // 2], "not valid JSON"),
        (lambda t: "[1, 2]", "expected a JSON object"),
        (lambda t: t.replace('"protocol"', '"protocolx"', 1), "'protocol' is missing"),
        (
            lambda t: t.replace('"speaker_independent": true', '"speaker_independent": "yes"'),
            "should be a bool",
        ),
        (lambda t: t.replace('"test_speakers"', '"tst"', 1), "fold 0 lacks test_speakers"),
        (lambda t: t.replace('"synth/s00/00000"', "17", 1), "must hold strings"),
        (lambda t: t.replace('"synth/s00/00000"', '"synth/s00/00099"', 1), "changed after it was written"),
    ],
)
def test_corrupted_json_names_the_file(tmp_path, loso6, mutate, match):
    _, split = loso6
    path = split.to_json(tmp_path / "broken-split.json")
    path.write_text(mutate(path.read_text()))
    with pytest.raises(SplitFileError, match=match) as info:
        Split.from_json(path)
    assert "broken-split.json" in str(info.value)


def test_missing_file_and_accepted_hand_edit(tmp_path, loso6):
    _, split = loso6
    with pytest.raises(SplitFileError, match="No split file"):
        Split.from_json(tmp_path / "nope.json")
    path = split.to_json(tmp_path / "s.json")
    data = json.loads(path.read_text())
    del data["digest"]
    data["description"] = "edited by hand"
    path.write_text(json.dumps(data))
    back = Split.from_json(path)
    assert back.description == "edited by hand" and back.digest == split.digest


# --------------------------------------------------------------------------------------------
# Protocol specifics
# --------------------------------------------------------------------------------------------


def iemocap_like(n_utts: int = 3) -> pd.DataFrame:
    rows = [
        {
            "corpus": "iemocap",
            "speaker": f"Ses0{s}{g}",
            "gender": g.lower(),
            "session": f"Session{s}",
            "label": ["angry", "happy", "sad", "neutral"][u % 4],
        }
        for s in range(1, 6)
        for g in ("F", "M")
        for u in range(n_utts)
    ]
    return make_manifest(rows)


def test_pair_folds_on_sessions():
    m = iemocap_like()
    split = pair_folds(m, seed=0)
    assert_speaker_disjoint(split, m)
    assert_test_partition(split, m)
    assert [f.name for f in split.folds] == [f"iemocap/Session{s}" for s in range(1, 6)]
    for s, f in enumerate(split.folds, start=1):
        assert f.test_speakers == (f"iemocap/Ses0{s}F", f"iemocap/Ses0{s}M")
        # Default 2 validation speakers: one female, one male, so train keeps 3 f + 3 m.
        assert sorted(v[-1] for v in f.val_speakers) == ["F", "M"]
        assert len(f.train_speakers) == 6
    assert make_split(m, "pair-folds") == split
    session = leave_one_session_out(m, n_val_speakers=2)
    assert [f.test for f in session.folds] == [f.test for f in split.folds]


def test_pair_folds_by_gender_without_sessions():
    m = speakers_manifest(["m", "f", "f", "m", "f", "m", "f"])  # 4 f, 3 m: one female is left over
    split = pair_folds(m, n_val_speakers=1)
    assert [f.test_speakers for f in split.folds] == [
        ("synth/s00", "synth/s01"),
        ("synth/s02", "synth/s03"),
        ("synth/s04", "synth/s05"),
    ]
    assert split.params["train_only_speakers"] == ["synth/s06"]
    assert "synth/s06" in split.description
    assert all("synth/s06" in f.train_speakers + f.val_speakers for f in split.folds)
    assert_speaker_disjoint(split, m)
    with pytest.raises(ParameterError, match="no gender"):
        pair_folds(speakers_manifest(["m", "f", None, "m"]))


def test_explicit_groups():
    m = speakers_manifest(["f", "m"] * 3)
    split = speaker_group_kfold(m, groups=[["s00", "s01"], ["synth/s02", "s03"]], n_val_speakers=1)
    assert [f.test_speakers for f in split.folds] == [("synth/s00", "synth/s01"), ("synth/s02", "synth/s03")]
    assert split.params["train_only_speakers"] == ["synth/s04", "synth/s05"]
    assert_speaker_disjoint(split, m)
    with pytest.raises(ParameterError, match="groups 1 and 2"):
        speaker_group_kfold(m, groups=[["s00"], ["s00", "s01"]])
    with pytest.raises(ParameterError, match=r"'s0l' .* not in the manifest. Did you mean 'synth/s0"):
        speaker_group_kfold(m, groups=[["s0l"]])
    with pytest.raises(ParameterError, match="equal the number of groups"):
        speaker_group_kfold(m, groups=[["s00"], ["s01"]], n_folds=3)
    two = pd.concat([m, speakers_manifest(["f", "m"], corpus="other")], ignore_index=True)
    with pytest.raises(ParameterError, match="ambiguous"):
        speaker_group_kfold(two, groups=[["s00"]])


def test_multi_corpus_speaker_ids_are_distinct():
    m = pd.concat(
        [speakers_manifest(["f", "m", "f"], corpus="x"), speakers_manifest(["m", "f"], corpus="y")],
        ignore_index=True,
    )
    split = leave_one_speaker_out(m)
    assert [f.name for f in split.folds] == ["x/s00", "x/s01", "x/s02", "y/s00", "y/s01"]
    assert_speaker_disjoint(split, m)


def meld_like(*, overlap: bool) -> pd.DataFrame:
    rows = []
    chars = {
        "train": ["Chandler", "Monica", "Ross"],
        "dev": ["Rachel", "Joey"],
        "test": ["Phoebe", "Gunther"],
    }
    if overlap:
        chars = {k: ["Chandler", "Monica", *v] for k, v in chars.items()}
    for part, names in chars.items():
        for name in names:
            for u in range(3):
                rows.append(
                    {
                        "corpus": "meld",
                        "speaker": name,
                        "label": ["joy", "anger", "neutral"][u],
                        "split": part.upper() if name == "Ross" else part,
                    }
                )
    return make_manifest(rows)


def test_official_split_meld_like():
    m = meld_like(overlap=True)
    split = official_split(m)
    assert split.protocol == "official" and split.seed is None
    assert split.speaker_independent is False
    assert "NOT speaker-independent" in split.description and "2 of 4 test speakers" in split.description
    (f,) = split.folds
    parts = dict(zip(m["id"], m["split"].str.lower(), strict=True))
    assert {parts[u] for u in f.train} == {"train"} and {parts[u] for u in f.val} == {"dev"}
    assert {parts[u] for u in f.test} == {"test"}
    split.check(m)
    clean = official_split(meld_like(overlap=False))
    assert clean.speaker_independent is True
    assert_speaker_disjoint(clean, meld_like(overlap=False))
    bad = m.copy()
    bad.loc[0, "split"] = "holdout"
    with pytest.raises(ManifestError, match="'holdout'"):
        official_split(bad)
    with pytest.raises(ManifestError, match="'split' column"):
        official_split(speakers_manifest(["f", "m"]))


def casia_like(texts: list[int], *, extra_per_emotion: int = 0) -> pd.DataFrame:
    emotions = ["angry", "fear", "happy", "neutral", "sad", "surprise"]
    rows = []
    for spk, g in (("liuchanhg", "f"), ("wangzhe", "m"), ("zhaoquanyin", "f"), ("ZhaoZuoxiang", "m")):
        for e_i, emo in enumerate(emotions):
            for t in texts:
                rows.append(
                    {
                        "corpus": "casia",
                        "speaker": spk,
                        "gender": g,
                        "label": emo,
                        "text_id": f"{t:03d}",
                        "id": f"casia/{spk}/{emo}/{t:03d}",
                    }
                )
            # Emotion-specific sentences: each id recorded under one emotion only.
            for k in range(extra_per_emotion):
                t = e_i * extra_per_emotion + k + 1
                rows.append(
                    {
                        "corpus": "casia",
                        "speaker": spk,
                        "gender": g,
                        "label": emo,
                        "text_id": f"{t:03d}",
                        "id": f"casia/{spk}/{emo}/{t:03d}",
                    }
                )
    return make_manifest(rows)


def test_casia_text_split_refuses_the_public_subset():
    m = casia_like(list(range(201, 251)))
    assert len(m) == 1200
    with pytest.raises(ManifestError, match=r"full 9600-utterance.*only 50 same-text.*201-250.*'loso'"):
        casia_text_split(m)
    with pytest.raises(ManifestError, match="1200-utterance subset"):
        make_split(m, "casia-text")


def test_casia_text_split_on_a_full_corpus_layout():
    # 300 same-text sentences (201-500) + 16 emotion-specific ones per emotion (a reduced stand-in for 100).
    m = casia_like(list(range(201, 501)), extra_per_emotion=16)
    split = casia_text_split(m)
    assert split.protocol == "casia-text" and split.speaker_independent is False
    (f,) = split.folds
    text = dict(zip(m["id"], m["text_id"].astype(str), strict=True))
    assert len(f.train) == 4 * 6 * 200 and len(f.test) == 4 * 6 * 100 and not f.val
    assert {text[u] for u in f.train} == {f"{t:03d}" for t in range(201, 401)}
    assert {text[u] for u in f.test} == {f"{t:03d}" for t in range(401, 501)}
    assert f.test_speakers == f.train_speakers  # speaker-dependent by nature
    assert "SPEAKER-DEPENDENT" in split.description and "201-400 train" in split.description
    split.check(m)


def test_make_split_registry():
    m = iemocap_like()
    assert (
        set(list_protocols())
        == set(PROTOCOLS)
        == {
            "loso",
            "loso-session",
            "group-kfold",
            "pair-folds",
            "official",
            "casia-text",
            "speaker-dependent",
        }
    )
    assert make_split(m, "loso", n_val_speakers="2", seed="3") == leave_one_speaker_out(
        m, n_val_speakers=2, seed=3
    )
    assert make_split(m, "LOSO_session") == leave_one_session_out(m)
    assert make_split(m, "group-kfold", n_folds="5") == speaker_group_kfold(m, n_folds=5)
    assert make_split(m, "speaker-dependent-random", stratify="false") == speaker_dependent_random(
        m, stratify=False
    )
    by_text = make_split(m, "group-kfold", groups="Ses01F,Ses01M; Ses02F,Ses02M")
    assert [f.test_speakers for f in by_text.folds] == [
        ("iemocap/Ses01F", "iemocap/Ses01M"),
        ("iemocap/Ses02F", "iemocap/Ses02M"),
    ]
    with pytest.raises(ParameterError, match="Did you mean 'loso'"):
        make_split(m, "losso")
    with pytest.raises(ParameterError, match=r"has no parameter 'n_fold'.*n_folds"):
        make_split(m, "group-kfold", n_fold=5)
    with pytest.raises(ParameterError, match="must be an int"):
        make_split(m, "group-kfold", n_folds="five")


def test_parameter_errors():
    m = speakers_manifest(["f", "m", "f"])
    with pytest.raises(ParameterError, match="n_val_speakers"):
        leave_one_speaker_out(m, n_val_speakers=2)
    with pytest.raises(ParameterError, match="n_val_speakers"):
        leave_one_speaker_out(m, n_val_speakers=-1)
    with pytest.raises(ParameterError, match="at least 2 speakers"):
        leave_one_speaker_out(speakers_manifest(["f"]))
    with pytest.raises(ParameterError, match=r"<= the number of speakers \(3\)"):
        speaker_group_kfold(m, n_folds=4)
    with pytest.raises(ParameterError, match="needs 'n_folds'"):
        speaker_group_kfold(m)
    with pytest.raises(ManifestError, match="session"):
        leave_one_session_out(m)


def test_fold_frames(loso6):
    m, split = loso6
    f = split.folds[3]
    train, val, test = fold_frames(m, f)
    assert sorted(train["id"]) == list(f.train) and sorted(val["id"]) == list(f.val)
    assert sorted(test["id"]) == list(f.test)
    assert set(test["speaker"]) == {"s03"}
    assert list(train.columns) == list(m.columns)
    assert split.summary()["n_test"].tolist() == [4] * 6


# --------------------------------------------------------------------------------------------
# Invariants checked with or without the file's digest
# --------------------------------------------------------------------------------------------


def _edited(tmp_path, split: Split, edit) -> Split:
    """Write ``split``, delete its digest (accepting a hand edit), apply ``edit`` to the JSON, read it back."""
    path = split.to_json(tmp_path / "edited.json")
    data = json.loads(path.read_text())
    del data["digest"]
    edit(data)
    path.write_text(json.dumps(data))
    return Split.from_json(path)


def _move(fold: dict, uid: str, src: str, dst: str | None, speaker_of: dict[str, str]) -> None:
    """Move ``uid`` from part ``src`` to ``dst`` (None: drop it), keeping the speaker lists consistent."""
    fold[src] = [u for u in fold[src] if u != uid]
    if dst is not None:
        fold[dst] = sorted([*fold[dst], uid])
    for part in ("train", "val", "test"):
        fold[f"{part}_speakers"] = sorted({speaker_of[u] for u in fold[part]})


def test_check_refuses_an_empty_test_set_without_digest(tmp_path, loso6):
    m, split = loso6
    spk = key_of(m)

    def empty(data):
        fold = data["folds"][1]
        for uid in list(fold["test"]):
            _move(fold, uid, "test", None, spk)

    edited = _edited(tmp_path, split, empty)
    with pytest.raises(SplitLeakError, match=r"fold 'synth/s01': the test set is empty"):
        edited.check(m)


def test_check_refuses_a_dropped_test_id_without_digest(tmp_path, loso6):
    m, split = loso6
    spk = key_of(m)
    dropped = split.folds[2].test[0]
    edited = _edited(tmp_path, split, lambda d: _move(d["folds"][2], dropped, "test", None, spk))
    with pytest.raises(
        SplitLeakError, match=rf"fold 'synth/s02': 1 utterance\(s\) are in none .*'{dropped}'"
    ):
        edited.check(m)
    # With a manifest changed on purpose (a file added), coverage is checked over the split's own ids:
    # the new utterance is no error, the dropped one still is.
    extra = make_manifest([{"speaker": "s00", "gender": "f", "label": "sad", "id": "synth/s00/new"}])
    grown = pd.concat([m, extra], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        split.check(grown, allow_changed_manifest=True)
        with pytest.raises(SplitLeakError, match="are in none of its train, val and test"):
            edited.check(grown, allow_changed_manifest=True)


def test_check_refuses_a_dropped_fold_and_a_twice_tested_utterance(tmp_path, loso6):
    m, split = loso6
    spk = key_of(m)
    edited = _edited(tmp_path, split, lambda d: d["folds"].pop(5))
    with pytest.raises(SplitLeakError, match=r"4 utterance\(s\) are in no fold's test set .*'synth/s05'"):
        edited.check(m)
    # Two speakers' folds merged into one: every utterance is still tested once, but LOSO tests one speaker.
    s05 = list(split.folds[5].test)

    def merge(data):
        data["folds"].pop(5)
        fold = data["folds"][4]
        for uid in s05:
            _move(fold, uid, "val" if uid in fold["val"] else "train", "test", spk)

    with pytest.raises(SplitLeakError, match=r"fold 'synth/s04': tests 2 speakers \(synth/s04, synth/s05\)"):
        _edited(tmp_path, split, merge).check(m)
    # group-kfold: one utterance of fold-1's test speakers also tested in fold-2 (moved from its train).
    group = speaker_group_kfold(m, n_folds=3, seed=0, n_val_speakers=0)
    twice = group.folds[0].test[0]

    def retest(data):  # all of the speaker's utterances, so fold-2 itself stays speaker-independent
        for uid in [u for u in data["folds"][1]["train"] if spk[u] == spk[twice]]:
            _move(data["folds"][1], uid, "train", "test", spk)

    with pytest.raises(SplitLeakError, match=rf"'{twice}' is tested in folds 'fold-1' and 'fold-2'"):
        _edited(tmp_path, group, retest).check(m)
    # Speakers left out of every group on purpose (train_only_speakers) are not "untested".
    explicit = speaker_group_kfold(m, groups=[["s00", "s01"], ["s02", "s03"]], n_val_speakers=0)
    explicit.check(m)
    _edited(tmp_path, explicit, lambda d: None).check(m)


@pytest.mark.parametrize(
    ("protocol", "params", "flag", "match"),
    [
        ("loso", {}, False, "says speaker_independent: false, but protocol 'loso' keeps"),
        ("group-kfold", {"n_folds": 2}, False, "protocol 'group-kfold' keeps each speaker"),
        ("speaker-dependent", {"n_folds": 2}, True, "'speaker-dependent-random' puts the same speakers"),
    ],
)
def test_check_refuses_an_independence_flag_that_contradicts_the_protocol(
    tmp_path, loso6, protocol, params, flag, match
):
    m, _ = loso6
    split = make_split(m, protocol, **params)
    edited = _edited(tmp_path, split, lambda d: d.update(speaker_independent=flag))
    with pytest.raises(SplitLeakError, match=match):
        edited.check(m)


def test_check_official_split_follows_its_column_and_flag(tmp_path):
    m = meld_like(overlap=False)
    split = official_split(m)
    assert split.speaker_independent
    spk = key_of(m)
    with pytest.raises(
        SplitLeakError,
        match="'official' split says speaker_independent: false, but its partitions share no speaker",
    ):
        _edited(tmp_path, split, lambda d: d.update(speaker_independent=False)).check(m)
    uid = split.folds[0].val[0]
    moved = _edited(tmp_path, split, lambda d: _move(d["folds"][0], uid, "val", "train", spk))
    with pytest.raises(SplitLeakError):  # Joey or Rachel now in val and train: a leak
        moved.check(m)
    dependent = official_split(meld_like(overlap=True))
    m2 = meld_like(overlap=True)
    spk2 = key_of(m2)
    test_uid = next(u for u in dependent.folds[0].test if spk2[u] == "meld/Phoebe")
    edited = _edited(tmp_path, dependent, lambda d: _move(d["folds"][0], test_uid, "test", "train", spk2))
    with pytest.raises(SplitLeakError, match=rf"'{test_uid}' is in train but its 'split' column says 'test'"):
        edited.check(m2)


def test_check_loso_session_tests_one_session_per_fold(tmp_path):
    m = iemocap_like()
    split = leave_one_session_out(m, n_val_speakers=0)
    split.check(m)
    spk = key_of(m)
    session2 = list(split.folds[1].test)

    def merge(data):  # fold Session1 also tests Session2, whose own fold is dropped
        data["folds"].pop(1)
        for uid in session2:
            _move(data["folds"][0], uid, "train", "test", spk)

    with pytest.raises(
        SplitLeakError, match=r"fold 'iemocap/Session1': its test set spans sessions iemocap/Session1, "
    ):
        _edited(tmp_path, split, merge).check(m)


# --------------------------------------------------------------------------------------------
# Label sets recorded in the split
# --------------------------------------------------------------------------------------------


def _with_excited() -> pd.DataFrame:
    rows = [
        {"speaker": f"s{k}", "gender": "fm"[k % 2], "label": lab}
        for k in range(4)
        for lab in ("neutral", "happy", "excited", "sad", "angry", "calm")
    ]
    return make_manifest(rows)


def test_split_records_its_label_set_and_check_applies_it(tmp_path):
    m = _with_excited()
    split = make_split(m, "loso", label_set="iemocap4", n_val_speakers=1)
    assert split.label_set == {
        "name": "iemocap4",
        "classes": ["neutral", "happy", "sad", "angry"],
        "merge": {"excited": "happy"},
    }
    applied = split.apply_label_set(m)
    assert (
        len(applied) == 4 * 5
        and "calm" not in set(applied["label"])
        and "excited" not in set(applied["label"])
    )
    assert sum(len(f.test) for f in split.folds) == 20
    split.check(m)  # the original manifest: no allow_changed_manifest needed
    split.check(applied)  # applying twice changes nothing
    back = Split.from_json(split.to_json(tmp_path / "ls.json"))
    assert back == split and back.digest == split.digest
    back.check(m)
    data = json.loads((tmp_path / "ls.json").read_text())
    assert data["label_set"]["name"] == "iemocap4" and data["format_version"] == 2
    # The label set is part of the split's identity: editing it is caught by the digest.
    data["label_set"]["merge"] = {}
    (tmp_path / "ls.json").write_text(json.dumps(data))
    with pytest.raises(SplitFileError, match="changed after it was written"):
        Split.from_json(tmp_path / "ls.json")
    # Without a recorded label set the relabelled manifest is a changed manifest, as before.
    plain = leave_one_speaker_out(applied, n_val_speakers=1)
    with pytest.raises(SplitLeakError, match="allow_changed_manifest"):
        plain.check(m)
    with pytest.raises(SplitFileError, match="'label_set'"):
        bad = json.loads(split.to_json(tmp_path / "bad.json").read_text())
        del bad["digest"]
        bad["label_set"] = {"name": "x", "classes": ["happy"], "merge": {"sad": "angry"}}
        (tmp_path / "bad.json").write_text(json.dumps(bad))
        Split.from_json(tmp_path / "bad.json")


def test_old_split_files_without_label_set_still_load(tmp_path, loso6):
    m, split = loso6
    data = split.to_dict()
    data["format_version"] = 1
    del data["label_set"]
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(data))
    back = Split.from_json(path)  # the digest of a split without a label set is unchanged
    assert back == split and back.label_set is None
    back.check(m)
    # The version-1 digest formula, as files written before label sets carry it.
    content = {k: data[k] for k in ("protocol", "speaker_independent", "manifest_digest", "folds")}
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"))
    assert split.digest == data["digest"] == hashlib.sha256(blob.encode()).hexdigest()[:16]


def test_loso_on_two_speakers_explains_the_validation_speaker():
    m = speakers_manifest(["f", "m"])
    with pytest.raises(
        ParameterError,
        match=r"only 2 speakers.*n_val_speakers=1 .*1 by default.*at least one training speaker.*"
        r"n_val_speakers=0 \(`--n-val-speakers 0`",
    ):
        make_split(m, "loso")
    split = make_split(m, "loso", n_val_speakers=0)
    assert [len(f.val) for f in split.folds] == [0, 0]


# --------------------------------------------------------------------------------------------
# Real corpora (skipped when ../shared/corpora is absent)
# --------------------------------------------------------------------------------------------


def _real_manifest(name: str) -> pd.DataFrame:
    root = CORPORA / name
    if not root.is_dir():
        pytest.skip(f"real corpus {name!r} not present at {root}")
    from serkit.data import get_corpus, prepare_corpus

    try:
        get_corpus(name)
    except CorpusError:
        pytest.skip(f"no {name!r} corpus adapter yet")
    return prepare_corpus(name, root, workers=2).manifest


@pytest.fixture(scope="module")
def ravdess_manifest():
    return _real_manifest("ravdess")


@pytest.mark.corpus
def test_ravdess_six_folds_of_four_actors(ravdess_manifest, tmp_path):
    m = ravdess_manifest
    split = make_split(m, "group-kfold", n_folds=6, seed=0)
    assert len(split.folds) == 6
    for f in split.folds:
        assert len(f.test_speakers) == 4
        # Odd actors are male, even female: 2 + 2 per fold.
        assert sorted(int(s.split("/")[1]) % 2 for s in f.test_speakers) == [0, 0, 1, 1]
        assert len(f.test) == 4 * 60
    assert_speaker_disjoint(split, m)
    assert_test_partition(split, m)
    assert Split.from_json(split.to_json(tmp_path / "ravdess.json")) == split
    loso = leave_one_speaker_out(m)
    assert len(loso.folds) == 24
    assert_speaker_disjoint(loso, m)


@pytest.mark.corpus
@pytest.mark.parametrize(("name", "n_speakers"), [("emodb", 10), ("emovo", 6), ("casia", 4)])
def test_real_loso(name, n_speakers):
    m = _real_manifest(name)
    split = leave_one_speaker_out(m, n_val_speakers=1, seed=0)
    assert len(split.folds) == n_speakers
    assert_speaker_disjoint(split, m)
    assert_test_partition(split, m)
    if name == "casia":
        with pytest.raises(ManifestError, match="1200-utterance subset"):
            casia_text_split(m)
