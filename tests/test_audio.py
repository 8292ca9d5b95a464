from __future__ import annotations

import os
import re

import numpy as np
import pytest
import soundfile as sf
import soxr

from serkit.audio import MAX_PEAK, AudioInfo, check_waveform, info, load, resample, to_mono
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


def _signal() -> np.ndarray:
    return tone(440, 2.0) + 0.01 * np.random.default_rng(0).standard_normal(32000).astype(np.float32)


@pytest.mark.parametrize(("ext", "fraction"), [("flac", 0.5), ("flac", 0.95), ("mp3", 0.6), ("mp3", 0.9)])
def test_truncated_flac_and_mp3_fail_the_decoded_frames_against_header_check(tmp_path, ext, fraction):
    # libsndfile reads the length of a FLAC (STREAMINFO) or MP3 (Xing header) file from its header;
    # a cut file then either stops with a decoder error or decodes fewer frames than declared.
    data = write(tmp_path / f"a.{ext}", _signal()).read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: int(len(data) * fraction)])
    assert sf.info(str(cut)).frames == 32000  # the header still declares the full length
    with pytest.raises(AudioError, match="header declares 32000 frames") as err:
        load(cut)
    assert err.value.kind == "truncated" and "cut." in str(err.value)


def _ogg_pages(data: bytes) -> list[int]:
    return [i for i in range(len(data) - 3) if data[i : i + 4] == b"OggS"]


def test_truncated_ogg_is_detected_mid_page_and_at_a_page_boundary(tmp_path):
    data = write(tmp_path / "a.ogg", _signal()).read_bytes()
    pages = _ogg_pages(data)
    assert data[pages[-1] + 5] & 0x04  # the intact file ends with an end-of-stream page
    y, _ = load(tmp_path / "a.ogg")
    assert len(y) == 32000
    # Cut inside the last page, and cut exactly before it (every remaining page is whole, but none
    # ends the stream). libsndfile decodes both without an error, just shorter.
    for name, end in (("mid.ogg", len(data) - 500), ("boundary.ogg", pages[-1])):
        cut = tmp_path / name
        cut.write_bytes(data[:end])
        assert 0 < len(sf.read(str(cut))[0]) < 32000
        with pytest.raises(AudioError, match="truncated") as err:
            load(cut)
        assert err.value.kind == "truncated" and name in str(err.value)


@pytest.mark.parametrize("ext", ["aiff", "au"])
def test_truncated_aiff_and_au_are_detected_from_their_headers(tmp_path, ext):
    data = write(tmp_path / f"a.{ext}", _signal()).read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: int(len(data) * 0.8)])
    assert len(sf.read(str(cut))[0]) < 32000  # libsndfile shortens it without a word
    with pytest.raises(AudioError, match=r"declares 64[0-9]+ bytes of audio") as err:
        load(cut)
    assert err.value.kind == "truncated"
    y, _ = load(tmp_path / f"a.{ext}")
    assert len(y) == 32000


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
    with pytest.raises(AudioError, match="does not exist") as err:
        info(tmp_path / "nope.wav")
    assert err.value.kind == "missing"


def test_links_folders_and_pipes_are_named_for_what_they_are(tmp_path):
    (tmp_path / "dangling.wav").symlink_to(tmp_path / "nowhere.wav")
    (tmp_path / "loop.wav").symlink_to(tmp_path / "loop.wav")
    (tmp_path / "dir.wav").mkdir()
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    expected = {
        "dangling.wav": ("broken-link", "does not exist"),
        "loop.wav": ("broken-link", "loop"),
        "dir.wav": ("not-a-file", "folder"),
        "pipe.wav": ("not-a-file", "named pipe"),  # never opened: opening a FIFO would block
    }
    for name, (kind, words) in expected.items():
        with pytest.raises(AudioError, match=words) as err:
            load(tmp_path / name)
        assert err.value.kind == kind and name in str(err.value)
    good = write(tmp_path / "good.wav", tone(440, 0.2))
    (tmp_path / "link.wav").symlink_to(good)
    y, _ = load(tmp_path / "link.wav")  # a link to a good file is fine
    assert len(y) == 3200


def test_float_wav_far_out_of_range_is_refused_with_a_remedy(tmp_path):
    y = tone(440, 0.5)
    loud = tmp_path / "loud.wav"
    sf.write(loud, y * (393.0 / np.abs(y).max()), SR, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"peak at 393\b.*max_peak=None") as err:
        load(loud)
    assert err.value.kind == "out-of-range"
    out, _ = load(loud, max_peak=None)  # accepted as is when asked, never rescaled
    assert float(np.abs(out).max()) == pytest.approx(393.0, rel=1e-6)
    # Float headroom up to MAX_PEAK (+6 dBFS) is normal in float pipelines and lossy decoders.
    hot = tmp_path / "hot.wav"
    sf.write(hot, y * (1.5 / np.abs(y).max()), SR, subtype="FLOAT")
    assert float(np.abs(load(hot)[0]).max()) == pytest.approx(1.5, rel=1e-6)
    assert MAX_PEAK == 2.0
    # One bad channel is not averaged away by the downmix.
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.stack([y, y * 0 + 3.0 * (y > 0)], 1), SR, subtype="FLOAT")
    with pytest.raises(AudioError, match="peak at 3") as err:
        load(stereo)
    assert err.value.kind == "out-of-range"


def test_channels_in_opposite_phase_downmix_to_silence(tmp_path):
    y = tone(440, 0.5)
    path = tmp_path / "phase.wav"
    sf.write(path, np.stack([y, -y], 1), SR, subtype="FLOAT")
    with pytest.raises(AudioError, match="silent"):
        load(path)
    kept, _ = load(path, mono=False)
    assert kept.shape == (8000, 2)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"max_duration_s": -1}, "max_duration_s"),
        ({"max_duration_s": 0}, "max_duration_s"),
        ({"max_duration_s": float("nan")}, "max_duration_s"),
        ({"max_peak": 0.0}, "max_peak"),
        ({"max_peak": -1.0}, "max_peak"),
        ({"sample_rate": 0}, "sample_rate"),
        ({"sample_rate": 16000.5}, "sample_rate"),
    ],
)
def test_load_parameters_out_of_range(tmp_path, kwargs, name):
    path = write(tmp_path / "a.wav", tone(440, 0.2))
    with pytest.raises(
        ParameterError,
        match=rf"'{name}' parameter of load .* Got {re.escape(repr(next(iter(kwargs.values()))))}",
    ):
        load(path, **kwargs)


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


def test_resample_identity_length_and_tone_frequency():
    y = tone(100, 1.0, sample_rate=8000)
    same = resample(y, orig_sample_rate=8000, target_sample_rate=8000)
    assert same.dtype == np.float32
    np.testing.assert_array_equal(same, y)  # equal rates: the input, untouched
    up = resample(y, orig_sample_rate=8000, target_sample_rate=16000)
    assert up.dtype == np.float32 and len(up) == 16000
    # A 1 kHz tone keeps its frequency and amplitude through 44.1 kHz -> 16 kHz.
    src = tone(1000, 1.0, sample_rate=44_100, amp=0.5)
    down = resample(src, orig_sample_rate=44_100, target_sample_rate=16_000)
    assert len(down) == 16_000
    spectrum = np.abs(np.fft.rfft(down * np.hanning(len(down))))
    assert np.argmax(spectrum) == 1000  # bin spacing 1 Hz for 16000 samples at 16 kHz
    reference = tone(1000, 1.0, sample_rate=16_000, amp=0.5)
    middle = slice(1000, -1000)  # away from the filter's edge effects
    np.testing.assert_allclose(down[middle], reference[middle], atol=2e-3)
    with pytest.raises(ParameterError, match="orig_sample_rate"):
        resample(y, orig_sample_rate=0, target_sample_rate=16000)
    with pytest.raises(ParameterError, match="target_sample_rate"):
        resample(y, orig_sample_rate=8000, target_sample_rate=-1)


def test_to_mono_averages_channels_and_keeps_1d():
    np.testing.assert_allclose(to_mono(np.array([[1.0, 3.0], [2.0, -2.0]], np.float32)), [2.0, 0.0])
    y = tone(100, 0.1)
    assert to_mono(y) is y
