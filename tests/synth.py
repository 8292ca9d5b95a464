"""Synthetic test audio: tones, chirps, noise and a crude voiced 'speech-like' signal.

Tests commit no corpus audio; they generate what they need with these helpers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16_000


def tone(
    freq_hz: float = 440.0, dur_s: float = 1.0, *, sample_rate: int = SR, amp: float = 0.5
) -> np.ndarray:
    t = np.arange(round(dur_s * sample_rate)) / sample_rate
    return (amp * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def chirp(
    f0_hz: float = 100.0, f1_hz: float = 4000.0, dur_s: float = 1.0, *, sample_rate: int = SR
) -> np.ndarray:
    t = np.arange(round(dur_s * sample_rate)) / sample_rate
    k = (f1_hz - f0_hz) / dur_s
    return (0.5 * np.sin(2 * np.pi * (f0_hz * t + 0.5 * k * t**2))).astype(np.float32)


def noise(dur_s: float = 1.0, *, sample_rate: int = SR, amp: float = 0.1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (amp * rng.standard_normal(round(dur_s * sample_rate))).astype(np.float32)


def voiced(
    f0_hz: float = 140.0, dur_s: float = 1.5, *, sample_rate: int = SR, seed: int = 0, vibrato_hz: float = 4.0
) -> np.ndarray:
    """A harmonic source with a moving pitch and syllable-like amplitude envelope, plus a little noise."""
    rng = np.random.default_rng(seed)
    n = round(dur_s * sample_rate)
    t = np.arange(n) / sample_rate
    f0 = f0_hz * (
        1 + 0.08 * np.sin(2 * np.pi * vibrato_hz * t / 4) + 0.03 * np.sin(2 * np.pi * vibrato_hz * t)
    )
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    y = sum(np.sin(k * phase) / k for k in range(1, 25) if k * f0_hz < sample_rate / 2 - 500)
    envelope = 0.5 * (1 - np.cos(2 * np.pi * t * 3.0 / max(dur_s, 1e-3))) ** 2
    y = 0.3 * y * envelope + 0.005 * rng.standard_normal(n)
    return y.astype(np.float32)


def write(path: Path, y: np.ndarray, *, sample_rate: int = SR, subtype: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), y, sample_rate, subtype=subtype)
    return path
