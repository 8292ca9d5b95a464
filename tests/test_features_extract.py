from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from serkit.features import Frontend, build_frontend, register_frontend
from serkit.features.cache import CacheCorruptionWarning, FeatureCache, file_digest
from serkit.features.extract import extract_features

from synth import tone, write


@register_frontend
@dataclass(frozen=True)
class _Stats(Frontend):
    """Mean and peak of the waveform times ``gain``; fails on inputs shorter than ``min_samples``."""

    name: ClassVar[str] = "_test_stats"
    output: ClassVar[str] = "vector"
    gain: float = 1.0
    min_samples: int = 0

    def extract_batch(self, waveforms, *, sample_rate):
        out = []
        for y in waveforms:
            if len(y) < self.min_samples:
                raise ValueError("too short")
            out.append(self.gain * np.array([np.abs(y).mean(), np.abs(y).max()], np.float32))
        return out


@pytest.fixture
def folder(tmp_path):
    paths = [write(tmp_path / "audio" / f"{i}.wav", tone(200 + 50 * i, 0.2 + 0.1 * i)) for i in range(6)]
    manifest = pd.DataFrame(
        {
            "id": [f"u{i}" for i in range(6)],
            "path": [str(p) for p in paths],
            "duration": [0.2 + 0.1 * i for i in range(6)],
        }
    )
    return manifest, tmp_path


def _expected(path, gain=1.0):
    import soundfile as sf

    y, _ = sf.read(path, dtype="float32")
    return gain * np.array([np.abs(y).mean(), np.abs(y).max()], np.float32)


@pytest.mark.parametrize("workers", [1, 2])
def test_second_run_hits_cache_and_changed_param_misses(folder, workers):
    manifest, tmp = folder
    cache_dir = tmp / "feats"
    first = extract_features(
        manifest, "_test_stats", cache_dir=cache_dir, workers=workers, batch_size=2, return_arrays=True
    )
    assert (first.n_computed, first.n_cached, first.n_failed) == (6, 0, 0)
    for _, row in manifest.iterrows():
        np.testing.assert_allclose(first.arrays[row["id"]], _expected(row["path"]), rtol=1e-6)
    again = extract_features(
        manifest, "_test_stats", cache_dir=cache_dir, workers=workers, return_arrays=True
    )
    assert (again.n_computed, again.n_cached) == (0, 6)
    for key in first.arrays:
        np.testing.assert_array_equal(first.arrays[key], again.arrays[key])
    changed = extract_features(manifest, "_test_stats(gain=2)", cache_dir=cache_dir, workers=workers)
    assert (changed.n_computed, changed.n_cached) == (6, 0)
    index = pd.read_csv(cache_dir / build_frontend("_test_stats").cache_digest / "index.csv")
    assert list(index["status"]) == ["cached"] * 6


def test_interrupted_run_resumes(folder):
    manifest, tmp = folder
    cache_dir = tmp / "feats"
    extract_features(manifest.iloc[:3], "_test_stats", cache_dir=cache_dir)  # as if killed halfway
    result = extract_features(manifest, "_test_stats", cache_dir=cache_dir)
    assert (result.n_cached, result.n_computed) == (3, 3)


def test_corrupted_entry_is_detected_and_recomputed(folder):
    manifest, tmp = folder
    cache_dir = tmp / "feats"
    extract_features(manifest, "_test_stats", cache_dir=cache_dir)
    fe = build_frontend("_test_stats")
    entry = FeatureCache(cache_dir).entry_path(fe, file_digest(manifest["path"][0]))
    data = bytearray(entry.read_bytes())
    data[-1] ^= 0xFF  # flip bits in the payload
    entry.write_bytes(bytes(data))
    with pytest.warns(CacheCorruptionWarning, match="Corrupted feature cache entry"):
        result = extract_features(manifest, "_test_stats", cache_dir=cache_dir, return_arrays=True)
    assert (result.n_cached, result.n_computed) == (5, 1)
    assert [(p.path, p.kind) for p in result.corrupt_entries] == [(str(entry), "corrupt-cache")]
    np.testing.assert_allclose(result.arrays["u0"], _expected(manifest["path"][0]), rtol=1e-6)
    # the truncated entry case
    entry.write_bytes(entry.read_bytes()[:20])
    with pytest.warns(UserWarning):
        assert FeatureCache(cache_dir).get(fe, file_digest(manifest["path"][0])) is None


def test_cache_is_content_addressed(folder):
    manifest, tmp = folder
    cache_dir = tmp / "feats"
    extract_features(manifest, "_test_stats", cache_dir=cache_dir)
    moved = manifest.copy()
    for i, p in enumerate(manifest["path"]):
        new = tmp / "moved" / f"renamed{i}.wav"
        new.parent.mkdir(exist_ok=True)
        new.write_bytes(Path(p).read_bytes())
        moved.loc[i, "path"] = str(new)
    assert extract_features(moved, "_test_stats", cache_dir=cache_dir).n_cached == 6


def test_bad_files_are_reported_not_fatal(folder):
    manifest, tmp = folder
    (tmp / "audio" / "bad.wav").write_text("not audio")
    bad = pd.concat(
        [
            manifest,
            pd.DataFrame({"id": ["bad"], "path": [str(tmp / "audio" / "bad.wav")], "duration": [1.0]}),
        ],
        ignore_index=True,
    )
    result = extract_features(
        bad, "_test_stats(min_samples=4000)", workers=1, batch_size=8, return_arrays=True
    )
    failed = result.index.loc[result.index["status"] == "failed", "id"].tolist()
    # bad.wav does not decode; u0 (0.2 s = 3200 samples) fails in the frontend; the batch is retried per file
    assert sorted(failed) == ["bad", "u0"]
    assert {p.kind for p in result.problems} == {"corrupt", "feature-error"}
    assert len(result.arrays) == 5


def test_decode_only_mode(folder):
    manifest, _ = folder
    result = extract_features(manifest, None, workers=2, batch_size=2)
    assert result.n_computed == 6
    assert result.index["shape"].tolist()[0] == "3200"
