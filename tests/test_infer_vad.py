"""Voice activity detection: energy VAD on known bursts, silero (when installed) on synthetic speech, fallback."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from serkit.errors import ParameterError, WeightsError
from serkit.infer import vad

from synth import noise, tone

SR = 16_000
# (start, end) of each tone burst in a 12 s signal
BURSTS = [(0.8, 2.3), (3.0, 3.6), (5.0, 8.2), (9.5, 11.0)]


def bursts(noise_amp: float = 0.003, seed: int = 0) -> np.ndarray:
    y = noise(12.0, amp=noise_amp, seed=seed)
    for i, (s, e) in enumerate(BURSTS):
        seg = tone(200 + 150 * i, e - s, amp=0.4)
        y[round(s * SR) : round(s * SR) + len(seg)] += seg
    return y


def _close(found, expected, *, before: float, after: float) -> None:
    assert len(found) == len(expected), found
    for (fs, fe), (s, e) in zip(found, expected, strict=True):
        assert s - before <= fs <= s + 0.03, (found, expected)
        assert e - 0.03 <= fe <= e + after, (found, expected)


@pytest.mark.parametrize("noise_amp", [0.0, 0.003, 0.02])
def test_energy_vad_finds_the_bursts(noise_amp):
    y = bursts(noise_amp)
    if noise_amp == 0.0:
        y[0] = 1e-3  # digital silence elsewhere
    found = vad.energy_vad(y)
    _close(found, BURSTS, before=0.08, after=0.2)
    assert all(isinstance(v, float) for r in found for v in r)


def test_energy_vad_fills_short_gaps_and_drops_clicks():
    y = noise(6.0, amp=0.002)
    y[SR : 2 * SR] += tone(300, 1.0, amp=0.4)
    y[round(2.15 * SR) : 3 * SR] += tone(300, 0.85, amp=0.4)  # 0.15 s gap: filled
    y[round(4.5 * SR) : round(4.55 * SR)] += tone(300, 0.05, amp=0.4)  # 50 ms click: dropped
    found = vad.energy_vad(y)
    _close(found, [(1.0, 3.0)], before=0.08, after=0.2)


def test_energy_vad_edge_cases():
    assert vad.energy_vad(np.zeros(SR, np.float32)) == []
    assert vad.energy_vad(noise(2.0, amp=1e-5)) == []  # below -60 dBFS: nothing
    steady = tone(300, 3.0, amp=0.3)  # no pause at all: all speech
    assert vad.energy_vad(steady) == [(0.0, 3.0)]
    assert vad.energy_vad(tone(300, 0.01)) == []  # shorter than one frame and than min_speech_s
    with pytest.raises(ParameterError, match="16000"):
        vad.energy_vad(steady, sample_rate=8000)


def test_detect_speech_none_is_the_whole_signal():
    assert vad.detect_speech(np.zeros(24000, np.float32), method="none") == [(0.0, 1.5)]
    with pytest.raises(ParameterError, match="Unknown VAD"):
        vad.detect_speech(np.zeros(100, np.float32), method="webrtc")


def test_fallback_to_energy_when_silero_is_absent(monkeypatch):
    monkeypatch.setattr(vad, "_silero_model_path", lambda: None)
    assert not vad.silero_available()
    assert vad.resolve_vad("auto") == "energy"
    y = bursts()
    assert vad.detect_speech(y, method="auto") == vad.energy_vad(y)
    with pytest.raises(WeightsError, match="silero-vad"):
        vad.resolve_vad("silero")
    with pytest.raises(WeightsError, match="onnxruntime"):
        vad.silero_probabilities(y)


def test_auto_picks_silero_when_installed(monkeypatch, tmp_path):
    fake = tmp_path / "silero_vad.onnx"
    fake.write_bytes(b"x")
    monkeypatch.setattr(vad, "_silero_model_path", lambda: fake)
    assert vad.resolve_vad("auto") == "silero"


silero = pytest.mark.skipif(not vad.silero_available(), reason="onnxruntime / silero-vad not installed")


def _speech_clip() -> tuple[np.ndarray, float, float]:
    """The shipped example clip (synthetic eSpeak speech) with 2 s of silence before and 1.5 s after."""
    from serkit.audio import load
    from serkit.infer import example_clip

    y, _ = load(example_clip())
    pad_a, pad_b = np.zeros(2 * SR, np.float32), np.zeros(round(1.5 * SR), np.float32)
    return np.concatenate([pad_a, y, pad_b]), 2.0, 2.0 + len(y) / SR


@silero
def test_silero_finds_speech_inside_the_signal():
    y, start, end = _speech_clip()
    regions = vad.silero_vad(y)
    assert regions, "silero found no speech in synthetic speech"
    assert regions[0][0] >= start - 0.1 and regions[-1][1] <= end + 0.1
    covered = sum(e - s for s, e in regions)
    assert covered > 0.5 * (end - start)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(regions))
    assert vad.detect_speech(y, method="auto") == regions


@silero
def test_silero_probabilities_per_chunk_and_batched_pieces(monkeypatch):
    y, _, _ = _speech_clip()
    p = vad.silero_probabilities(y)
    assert p.shape == (-(-len(y) // 512),) and ((p >= 0) & (p <= 1)).all()
    assert p[: int(1.5 * SR / 512)].max() < 0.5  # leading silence
    # Long recordings run as a batch of pieces, each warmed up on the audio before it: about the same.
    monkeypatch.setattr(vad, "_PIECE_CHUNKS", 120)
    q = vad.silero_probabilities(y)
    assert q.shape == p.shape
    assert np.mean(np.abs(p - q) > 0.2) < 0.02


@silero
def test_silero_on_a_short_synthetic_signal():
    from synth import voiced

    y = np.concatenate([np.zeros(SR // 2, np.float32), voiced(140, 1.5), np.zeros(SR // 2, np.float32)])
    regions = vad.silero_vad(y)
    assert all(0.0 <= s < e <= len(y) / SR for s, e in regions)
