from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr

from serkit.audio import AudioInfo, check_waveform, info, load, resample, to_mono
from serkit.errors import AudioError, ParameterError

from synth import SR, tone, write


def test_load_wav_returns_float32_mono_at_16k(tmp_path):
    y = tone(440, 0.5)
    path = write(tmp_path / "a.wav", y)
    out, meta = load(path)
    assert out.dtype == np.float32 and out.shape == (8000,)
    assert meta == AudioInfo(str(path), SR, 1, 8000, "WAV", "PCM_16")
    np.testing.assert_allclose(out, y, atol=1 / 32768)  # 16-bit quantisation


@pytest.mark.parametrize("ext", ["flac", "ogg", "mp3"])
def test_load_other_formats(tmp_path, ext):
    y = tone(300, 1.0)
    path = write(tmp_path / f"a.{ext}", y)
    out, meta = load(path)
    assert meta.sample_rate == SR
    assert abs(len(out) - len(y)) < 0.05 * SR  # lossy codecs may add priming samples
    assert np.abs(out).max() > 0.3


def test_stereo_44k1_is_downmixed_and_resampled_with_soxr(tmp_path):
    sr = 44_100
    t = np.arange(sr) / sr
    left, right = np.sin(2 * np.pi * 200 * t), 0.5 * np.sin(2 * np.pi * 200 * t)
    path = tmp_path / "st.wav"
    sf.write(path, np.stack([left, right], 1).astype(np.float32), sr, subtype="FLOAT")
    out, meta = load(path)
    assert (meta.channels, meta.sample_rate) == (2, sr)
    expected = soxr.resample(((left + right) / 2).astype(np.float32), sr, SR, quality="HQ")
    np.testing.assert_allclose(out, expected, atol=1e-5)
    keep, _ = load(path, sample_rate=None, mono=False)
    assert keep.shape == (sr, 2)


def test_truncated_wav_is_detected(tmp_path):
    path = write(tmp_path / "a.wav", tone(440, 1.0))
    data = path.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match="truncated") as err:
        load(cut)
    assert err.value.kind == "truncated" and err.value.path == str(cut) and "cut.wav" in str(err.value)


def test_truncated_flac_is_detected(tmp_path):
    path = write(tmp_path / "a.flac", tone(440, 2.0) + 0.01 * np.random.default_rng(0).standard_normal(32000))
    cut = tmp_path / "cut.flac"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(AudioError) as err:
        load(cut)
    assert err.value.kind in ("truncated", "corrupt")


@pytest.mark.parametrize(
    ("content", "kind"),
    [(b"", "empty"), (b"this is a text file, not audio\n" * 20, "corrupt")],
)
def test_empty_and_text_files(tmp_path, content, kind):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=r"bad\.wav") as err:
        load(path)
    assert err.value.kind == kind


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="does not exist"):
        info(tmp_path / "nope.wav")


def test_silent_file_rejected_unless_allowed(tmp_path):
    path = write(tmp_path / "s.wav", np.zeros(SR, np.float32))
    with pytest.raises(AudioError, match="silent") as err:
        load(path)
    assert err.value.kind == "silent"
    y, _ = load(path, allow_silent=True)
    assert not y.any()


def test_non_finite_float_wav_rejected(tmp_path):
    y = tone(440, 0.5)
    y[100] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN") as err:
        load(path)
    assert err.value.kind == "non-finite"


def test_too_long_rejected_from_header(tmp_path):
    path = write(tmp_path / "long.wav", tone(440, 3.0))
    with pytest.raises(AudioError, match="limit") as err:
        load(path, max_duration_s=2.0)
    assert err.value.kind == "too-long"


def test_check_waveform_errors():
    with pytest.raises(AudioError, match="no samples"):
        check_waveform(np.zeros(0, np.float32), sample_rate=SR)
    with pytest.raises(AudioError, match="floating"):
        check_waveform(np.zeros(10, np.int16), sample_rate=SR)


def test_resample_and_mono_helpers():
    y = tone(100, 1.0, sample_rate=8000)
    assert resample(y, orig_sample_rate=8000, target_sample_rate=8000) is not None
    assert len(resample(y, orig_sample_rate=8000, target_sample_rate=16000)) == 16000
    with pytest.raises(ParameterError, match="orig_sample_rate"):
        resample(y, orig_sample_rate=0, target_sample_rate=16000)
    np.testing.assert_allclose(to_mono(np.array([[1.0, 3.0]], np.float32)), [2.0])
