"""Batches from cached features: bucketing sampler, collate to Batch, crops, splits under a label set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from serkit.data.splits import speaker_group_kfold
from serkit.errors import ConfigError, SplitLeakError
from serkit.models.base import Batch
from serkit.train.config import load_config
from serkit.train.data import (
    Collate,
    Crop,
    FeatureDataset,
    LengthBucketSampler,
    StreamInfo,
    check_split,
    fit_normalisers,
    fold_for,
    label_classes,
    make_loader,
    read_teacher_json,
    safe_name,
    set_loader_epoch,
)
from test_train_helpers import random_dataset


def _batches(sampler: LengthBucketSampler, epoch: int) -> list[list[int]]:
    sampler.set_epoch(epoch)
    return list(sampler)


def test_sampler_is_a_function_of_seed_and_epoch() -> None:
    lengths = np.random.default_rng(0).integers(1, 500, size=103)
    a = LengthBucketSampler(lengths, batch_size=8, seed=3)
    b = LengthBucketSampler(lengths, batch_size=8, seed=3)
    assert _batches(a, 1) == _batches(b, 1)  # reproducible from (seed, epoch) alone
    _batches(b, 7)
    assert _batches(a, 2) == _batches(b, 2)  # no hidden state carried between epochs
    assert _batches(a, 1) != _batches(a, 2)  # shuffled per epoch ...
    groups = [{frozenset(b) for b in _batches(a, e)} for e in (1, 2)]
    assert len(groups[0] & groups[1]) < len(groups[0]) // 2  # ... and so is which items share a batch
    assert _batches(a, 1) != _batches(LengthBucketSampler(lengths, batch_size=8, seed=4), 1)
    for epoch in (1, 2):
        flat = sorted(i for batch in _batches(a, epoch) for i in batch)
        assert flat == list(range(103))  # every item once per epoch


def test_bucketing_groups_similar_lengths() -> None:
    lengths = np.random.default_rng(1).integers(1, 1000, size=400)
    bucketed = LengthBucketSampler(lengths, batch_size=16, seed=0, bucket_batches=4)
    plain = LengthBucketSampler(lengths, batch_size=16, seed=0, bucketing=False)

    def padding(sampler: LengthBucketSampler) -> float:
        return sum(int(lengths[b].max()) * len(b) - int(lengths[b].sum()) for b in _batches(sampler, 1))

    assert padding(bucketed) < 0.2 * padding(plain)


def test_last_single_item_batch_is_merged_and_eval_order_is_sorted() -> None:
    sampler = LengthBucketSampler(np.arange(9), batch_size=4, seed=0, bucketing=False)
    sizes = sorted(len(b) for b in _batches(sampler, 1))
    assert sizes == [4, 5]  # 4 + 4 + 1 -> 4 + 5 (batch norm cannot train on one example)
    ev = LengthBucketSampler(np.array([5, 1, 3]), batch_size=2, shuffle=False)
    assert list(ev) == [[1, 2], [0]]


def test_collate_pads_frames_and_stacks_vectors() -> None:
    infos = {
        "mel": StreamInfo("mel", "logmel", "frames", 3, 0.01),
        "gem": StreamInfo("gem", "egemaps", "vector", 4),
    }
    items = [
        ("a", {"mel": np.ones((2, 3), np.float32), "gem": np.zeros(4, np.float32)}, 1, float("nan"), None),
        ("b", {"mel": np.full((5, 3), 2, np.float32), "gem": np.ones(4, np.float32)}, 0, float("nan"), None),
    ]
    batch = Collate(infos)(items)
    assert isinstance(batch, Batch) and batch.ids == ["a", "b"]
    assert batch.streams["mel"].shape == (2, 5, 3) and batch.streams["mel"].dtype == torch.float32
    assert batch.lengths["mel"].tolist() == [2, 5] and "gem" not in batch.lengths
    assert batch.streams["mel"][0, 2:].abs().sum() == 0  # zero padding
    assert batch.streams["gem"].shape == (2, 4)
    assert batch.labels.tolist() == [1, 0] and batch.scores is None
    with_scores = [(*it[:3], 0.5, np.array([0.2, 0.8], np.float32)) for it in items]
    batch = Collate(infos)(with_scores)
    assert batch.scores.tolist() == [0.5, 0.5]
    assert batch.teacher_probs.shape == (2, 2)


def test_crops_are_fixed_length_aligned_and_reproducible() -> None:
    ds = random_dataset(16, dim=2, seed=0)
    loader = make_loader(ds, batch_size=4, train=True, seed=1, crop_s={"mel": 0.08})  # 8 frames at 10 ms
    set_loader_epoch(loader, 1)
    first = list(loader)
    set_loader_epoch(loader, 1)
    again = list(loader)
    for b1, b2 in zip(first, again, strict=True):
        assert torch.equal(b1.streams["mel"], b2.streams["mel"])
        assert int(b1.lengths["mel"].max()) <= 8
        for i, uid in enumerate(b1.ids):
            full = ds.streams["mel"][ds.ids.index(uid)]
            n = int(b1.lengths["mel"][i])
            crop = b1.streams["mel"][i, :n].numpy()
            # the crop is a contiguous window of the utterance (or all of it when shorter)
            assert n == min(8, full.shape[0])
            assert any(np.array_equal(full[s : s + n], crop) for s in range(full.shape[0] - n + 1))
    set_loader_epoch(loader, 2)
    assert any(
        not torch.equal(a.streams["mel"], b.streams["mel"]) for a, b in zip(first, loader, strict=False)
    )
    # evaluation loaders never crop
    ev = make_loader(ds, batch_size=4, train=False, crop_s={"mel": 0.08})
    assert max(int(b.lengths["mel"].max()) for b in ev) == max(a.shape[0] for a in ds.streams["mel"])


def test_fraction_crops_cover_a_drawn_share_of_each_utterance_or_all_of_it() -> None:
    ds = random_dataset(64, dim=2, seed=3)
    crop = Crop(fraction=(0.4, 0.6), whole_p=0.25)
    loader = make_loader(ds, batch_size=8, train=True, seed=2, crop_s={"mel": crop})
    set_loader_epoch(loader, 0)
    whole = cropped = 0
    for batch in loader:
        for i, uid in enumerate(batch.ids):
            full = ds.streams["mel"][ds.ids.index(uid)]
            n = int(batch.lengths["mel"][i])
            part = batch.streams["mel"][i, :n].numpy()
            assert any(np.array_equal(full[s : s + n], part) for s in range(full.shape[0] - n + 1))
            if n == full.shape[0]:
                whole += 1
            else:
                cropped += 1
                assert round(0.4 * full.shape[0]) <= n <= round(0.6 * full.shape[0])
    # about a quarter kept whole (64 draws: 5..29 holds with probability > 0.999)
    assert 5 <= whole <= 29 and cropped > 0
    # a fixed-length crop given as a Crop draws exactly what a number does
    a = make_loader(ds, batch_size=8, train=True, seed=2, crop_s={"mel": 0.08})
    b = make_loader(ds, batch_size=8, train=True, seed=2, crop_s={"mel": Crop(seconds=0.08)})
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x.streams["mel"], y.streams["mel"])


def test_crop_fraction_config_is_validated() -> None:
    from pydantic import ValidationError

    from serkit.train.config import InputConfig

    ok = InputConfig(frontend="logmel", crop_fraction=(0.4, 1.0), crop_whole_p=0.2)
    assert ok.crop_fraction == (0.4, 1.0)
    with pytest.raises(ValidationError, match="0 < low <= high <= 1"):
        InputConfig(frontend="logmel", crop_fraction=(0.8, 0.4))
    with pytest.raises(ValidationError, match="not both"):
        InputConfig(frontend="logmel", crop_s=2.0, crop_fraction=(0.4, 1.0))


def test_crop_needs_a_frames_stream() -> None:
    with pytest.raises(ConfigError, match="crops need a frames stream"):
        Collate({"g": StreamInfo("g", "egemaps", "vector", 4)}, crop_s={"g": 1.0})


def _manifest(labels: list[str]) -> pd.DataFrame:
    from serkit.data.manifest import validate_manifest

    rows = [
        {
            "id": f"c/s{i % 4}/{i}",
            "path": f"/x/{i}.wav",
            "corpus": "c",
            "speaker": f"s{i % 4}",
            "gender": None,
            "label": lab,
            "raw_label": lab,
            "session": None,
            "text_id": None,
            "duration": 1.0,
            "sample_rate": 16000,
            "language": "en",
        }
        for i, lab in enumerate(labels)
    ]
    return validate_manifest(pd.DataFrame(rows))


def test_split_made_before_the_label_set_is_restricted_to_kept_rows() -> None:
    from serkit.labels import get_label_set

    raw = _manifest(["happy", "sad", "angry", "calm"] * 4)
    split = speaker_group_kfold(raw, n_folds=2, n_val_speakers=1, seed=0)
    labelled = get_label_set("happy,sad").apply(raw)
    manifest = check_split(split, raw, labelled)
    fold = fold_for(split, split.folds[0].name, manifest)
    kept = set(labelled["id"])
    assert set(fold.train) | set(fold.val) | set(fold.test) <= kept
    assert len(fold.train) + len(fold.val) + len(fold.test) == len(kept)
    # a split of another manifest is refused
    other = _manifest(["happy", "sad"] * 8)
    with pytest.raises(SplitLeakError, match="digest"):
        check_split(split, other, other)


def test_label_classes_follow_the_label_set_or_canonical_order() -> None:
    cfg = load_config(
        {"data": {"manifest": "m.csv", "inputs": {"m": {"frontend": "mfcc"}}}, "model": {"name": "x"}}
    )
    assert label_classes(cfg.data, _manifest(["sad", "angry", "neutral", "happy"])) == [
        "neutral",
        "happy",
        "sad",
        "angry",
    ]
    cfg2 = load_config(
        {
            "data": {"manifest": "m.csv", "label_set": "iemocap4", "inputs": {"m": {"frontend": "mfcc"}}},
            "model": {"name": "x"},
        }
    )
    assert label_classes(cfg2.data, _manifest(["sad"])) == ["neutral", "happy", "sad", "angry"]


def test_normaliser_kinds() -> None:
    cfg = load_config(
        {
            "data": {
                "manifest": "m.csv",
                "inputs": {"v": {"frontend": "egemaps", "normaliser": "utterance"}},
            },
            "model": {"name": "x"},
        }
    )
    with pytest.raises(ConfigError, match="needs a frames stream"):
        fit_normalisers(cfg.data.inputs, {"v": {"a": np.zeros(4)}}, ["a"])
    cfg = load_config(
        {
            "data": {"manifest": "m.csv", "inputs": {"i": {"frontend": "melimage", "normaliser": "corpus"}}},
            "model": {"name": "x"},
        }
    )
    with pytest.raises(ConfigError, match="use normaliser: none"):
        fit_normalisers(cfg.data.inputs, {"i": {"a": np.zeros((2, 3, 4))}}, ["a"])


def test_teacher_json_is_reordered_to_the_class_list(tmp_path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"classes": ["sad", "happy"], "probs": {"u1": [0.2, 0.6]}}')
    got = read_teacher_json(path, ["happy", "sad"])
    np.testing.assert_allclose(got["u1"], [0.75, 0.25])
    path.write_text('{"u1": [0.2, 0.3, 0.5]}')
    with pytest.raises(ConfigError, match="has 3 probabilities; expected 2"):
        read_teacher_json(path, ["happy", "sad"])
    path.write_text('{"classes": ["happy"], "probs": {}}')
    with pytest.raises(ConfigError, match="no class 'sad'"):
        read_teacher_json(path, ["happy", "sad"])


def test_dataset_items_and_names() -> None:
    ds = FeatureDataset(
        ["x"], {"m": [np.ones((3, 2), np.float32)]}, np.array([0]), {"m": StreamInfo("m", "s", "frames", 2)}
    )
    uid, _, label, score, teacher = ds[0]
    assert (uid, label, teacher) == ("x", 0, None) and np.isnan(score)
    assert ds.lengths().tolist() == [3]
    assert safe_name("ravdess/01") == "ravdess-01" and safe_name("fold 1") == "fold-1"


def _write(df: pd.DataFrame, path) -> None:
    from serkit.data.manifest import write_manifest

    path.parent.mkdir(parents=True, exist_ok=True)
    write_manifest(df, path)


def test_manifests_roots_and_label_set_errors(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from serkit.train.data import default_cache_dir, load_experiment_manifest

    df = _manifest(["happy", "sad"] * 2)
    df["path"] = [f"audio/{i}.wav" for i in range(len(df))]  # relative to the manifest's folder
    _write(df, tmp_path / "a" / "m.csv")
    base = {"inputs": {"m": {"frontend": "mfcc"}}}
    cfg = load_config({"data": {"manifest": "a/m.csv", **base}, "model": {"name": "x"}}, base_dir=tmp_path)
    raw, labelled = load_experiment_manifest(cfg.data)
    assert raw is labelled and raw["path"].iloc[0] == str((tmp_path / "a" / "audio" / "0.wav").resolve())
    cfg = load_config(
        {"data": {"manifest": "a/m.csv", "roots": {"c": "/corpora/c"}, **base}, "model": {"name": "x"}},
        base_dir=tmp_path,
    )
    raw, _ = load_experiment_manifest(cfg.data)
    assert raw["path"].iloc[0] == "/corpora/c/audio/0.wav"
    twice = load_config(
        {"data": {"manifest": ["a/m.csv", "a/m.csv"], **base}, "model": {"name": "x"}}, base_dir=tmp_path
    )
    with pytest.raises(ConfigError, match="occurs in more than one manifest"):
        load_experiment_manifest(twice.data)
    for label_set, pattern in (("iemocap5", "Unknown label set"), ("angry,neutral", "keeps no row")):
        bad = load_config(
            {"data": {"manifest": "a/m.csv", "label_set": label_set, **base}, "model": {"name": "x"}},
            base_dir=tmp_path,
        )
        with pytest.raises(ConfigError, match=pattern):
            load_experiment_manifest(bad.data)
    monkeypatch.setenv("SERKIT_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("SERKIT_CACHE_DIR")
    assert default_cache_dir().name == "features"
