"""Hand-crafted descriptors: librosa references, known values, and the ``handcrafted`` frontend."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serkit.errors import AudioError, ParameterError
from serkit.features import build_frontend
from serkit.features import functionals as F

from synth import SR, chirp, noise, tone, voiced

librosa = pytest.importorskip("librosa")


def _signals() -> dict[str, np.ndarray]:
    return {
        "voiced": voiced(dur_s=1.0) + noise(1.0, amp=0.01, seed=1),
        "chirp": chirp(100.0, 6000.0, 0.7),
        "noise": noise(0.5, amp=0.3, seed=2),
    }


SIGNALS = _signals()
FRAMINGS = [(512, 160), (400, 100), (2048, 512)]


def _ref(values: np.ndarray) -> np.ndarray:
    """librosa's (1, n_frames) or (n_bins, n_frames) output, time-major and squeezed."""
    return np.squeeze(values, axis=0).T if values.shape[0] == 1 else values.T


# ---------------------------------------------------------------------------------------------
# references: librosa with matched options


@pytest.mark.parametrize("signal", list(SIGNALS))
@pytest.mark.parametrize(("frame_length", "hop_length"), FRAMINGS)
def test_time_domain_match_librosa(signal: str, frame_length: int, hop_length: int) -> None:
    y = SIGNALS[signal]
    framing = {"frame_length": frame_length, "hop_length": hop_length}
    ours = F.rms(y, **framing)
    ref = _ref(librosa.feature.rms(y=y, center=True, **framing))
    # librosa frames the float32 input in float32; we work in float64.
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7)
    ours_zcr = F.zero_crossing_rate(y, **framing)
    ref_zcr = _ref(librosa.feature.zero_crossing_rate(y, center=True, **framing))
    np.testing.assert_array_equal(ours_zcr, ref_zcr)  # counts of sign changes: exact


@pytest.mark.parametrize("signal", list(SIGNALS))
@pytest.mark.parametrize(("frame_length", "hop_length"), FRAMINGS)
def test_spectral_match_librosa(signal: str, frame_length: int, hop_length: int) -> None:
    y = SIGNALS[signal]
    S = F.magnitude_spectrogram(y, frame_length=frame_length, hop_length=hop_length)
    opts = {"sr": SR, "n_fft": frame_length, "hop_length": hop_length, "center": True}
    ref_stft = np.abs(librosa.stft(y.astype(np.float64), n_fft=frame_length, hop_length=hop_length)).T
    np.testing.assert_allclose(S, ref_stft, rtol=1e-9, atol=1e-9)
    # Hz-valued descriptors: 1e-5 relative (librosa computes the STFT in complex64).
    np.testing.assert_allclose(
        F.spectral_centroid(S, sample_rate=SR),
        _ref(librosa.feature.spectral_centroid(y=y, **opts)),
        rtol=1e-5,
        atol=1e-3,
    )
    np.testing.assert_allclose(
        F.spectral_bandwidth(S, sample_rate=SR),
        _ref(librosa.feature.spectral_bandwidth(y=y, **opts)),
        rtol=1e-5,
        atol=1e-3,
    )
    ours_roll = F.spectral_rolloff(S, sample_rate=SR, roll_percent=0.85)
    ref_roll = _ref(librosa.feature.spectral_rolloff(y=y, roll_percent=0.85, **opts))
    # Roll-off is a bin frequency; float32 vs float64 cumsums may straddle the threshold in rare frames.
    bin_hz = SR / frame_length
    assert np.max(np.abs(ours_roll - ref_roll)) <= bin_hz + 1e-9
    assert np.mean(ours_roll == ref_roll) >= 0.98
    np.testing.assert_allclose(
        F.chroma(S, sample_rate=SR),
        _ref(librosa.feature.chroma_stft(y=y, tuning=0.0, **opts)),
        atol=1e-5,
    )


@pytest.mark.parametrize("frame_length", [256, 512, 2048])
def test_chroma_filters_match_librosa(frame_length: int) -> None:
    ours = F.chroma_filters(sample_rate=SR, frame_length=frame_length)
    ref = librosa.filters.chroma(sr=SR, n_fft=frame_length, tuning=0.0)
    assert ours.shape == (12, frame_length // 2 + 1)
    np.testing.assert_allclose(ours, ref, atol=1e-6)  # librosa returns float32


# ---------------------------------------------------------------------------------------------
# known values


@pytest.mark.parametrize("freq_hz", [200.0, 1000.0, 3000.0])
def test_zcr_of_tone_is_two_f_over_sr(freq_hz: float) -> None:
    zcr = F.zero_crossing_rate(tone(freq_hz, 0.5), frame_length=512, hop_length=160)
    inner = zcr[3:-3]  # away from the edge padding
    # Within one frame a tone crosses 2 f / sr * 512 times, +-1 crossing.
    np.testing.assert_allclose(inner, 2 * freq_hz / SR, atol=1.0 / 512 + 1e-12)


def test_rms_centroid_rolloff_of_tone() -> None:
    y = tone(1000.0, 0.5, amp=0.8)
    inner = slice(3, -3)
    np.testing.assert_allclose(F.rms(y)[inner], 0.8 / np.sqrt(2), rtol=2e-3)
    S = F.magnitude_spectrogram(y)
    bin_hz = SR / 512
    np.testing.assert_allclose(F.spectral_centroid(S, sample_rate=SR)[inner], 1000.0, atol=bin_hz)
    np.testing.assert_allclose(F.spectral_rolloff(S, sample_rate=SR)[inner], 1000.0, atol=bin_hz)
    # A Hann-windowed tone spreads over its main lobe (+-2 bins): the spread is under 2 bins.
    assert np.all(F.spectral_bandwidth(S, sample_rate=SR)[inner] < 2 * bin_hz)


def test_chroma_of_a440_peaks_at_a() -> None:
    S = F.magnitude_spectrogram(tone(440.0, 0.5), frame_length=2048, hop_length=512)
    c = F.chroma(S, sample_rate=SR)
    assert c.shape[1] == 12
    assert np.all(np.argmax(c[2:-2], axis=1) == F.CHROMA_NAMES.index("A"))
    assert np.all((c >= 0) & (c <= 1 + 1e-12))


@pytest.mark.parametrize(
    ("freq_hz", "band"),
    [(100.0, "A5"), (375.0, "D5"), (750.0, "D4"), (1500.0, "D3"), (3000.0, "D2"), (6000.0, "D1")],
)
def test_wavelet_energy_of_tone_concentrates_in_its_band(freq_hz: float, band: str) -> None:
    energies = F.wavelet_energies(tone(freq_hz, 1.0), wavelet="db4", level=5)
    names = F.wavelet_band_names(5)
    assert names == ["A5", "D5", "D4", "D3", "D2", "D1"]
    assert names[int(np.argmax(energies))] == band
    assert np.exp(energies).sum() == pytest.approx(1.0, abs=1e-6)  # relative energies
    assert np.exp(energies.max()) > 0.7  # most of the energy in one band


def test_temporal_centroid_and_variance() -> None:
    y = np.zeros(SR, dtype=np.float32)
    y[int(0.3 * SR)] = 1.0
    assert F.temporal_centroid(y, sample_rate=SR) == pytest.approx(0.3)
    y[int(0.7 * SR)] = 1.0
    assert F.temporal_centroid(y, sample_rate=SR) == pytest.approx(0.5)
    assert F.temporal_centroid(np.zeros(101), sample_rate=100) == pytest.approx(0.5)  # silence: midpoint
    assert F.signal_variance(tone(440.0, 1.0, amp=0.5)) == pytest.approx(0.125, rel=1e-3)


def _bursts(rate_hz: float, dur_s: float = 4.0) -> tuple[np.ndarray, int]:
    """Decaying noise bursts ``rate_hz`` times a second (a syllable-like rhythm), and their count."""
    y = 0.002 * noise(dur_s, amp=1.0, seed=3)
    period = int(SR / rate_hz)
    burst = noise(0.05, amp=0.5, seed=4) * np.exp(-np.arange(int(0.05 * SR)) / (0.01 * SR))
    # Start 0.1 s in: a burst at sample 0 has no rise in the centred first frame.
    starts = range(int(0.1 * SR), y.size - burst.size, period)
    for start in starts:
        y[start : start + burst.size] += burst
    return y.astype(np.float32), len(starts)


@pytest.mark.parametrize("rate_hz", [1.5, 2.0, 3.0, 4.0, 6.0, 7.0])
def test_tempo_and_onset_rate_of_bursts(rate_hz: float) -> None:
    y, n_bursts = _bursts(rate_hz)
    S = F.magnitude_spectrogram(y)
    env = F.onset_strength(S)
    assert env.shape == (S.shape[0],) and env[0] == 0 and np.all(env >= 0)
    bpm = F.tempo(env, sample_rate=SR, hop_length=160)
    assert bpm == pytest.approx(60 * rate_hz, rel=0.01)
    # Every burst is detected, and nothing else: count / duration.
    rate = F.onset_rate(env, sample_rate=SR, hop_length=160)
    assert rate * y.size / SR == pytest.approx(n_bursts, abs=0.1)


def test_rhythm_of_flat_or_short_envelope_is_zero() -> None:
    assert F.tempo(np.zeros(500), sample_rate=SR, hop_length=160) == 0.0
    assert F.onset_rate(np.zeros(500), sample_rate=SR, hop_length=160) == 0.0
    # 5 frames cannot hold one period at 480 BPM (12.5 frames).
    assert F.tempo(np.array([0, 1.0, 0, 1, 0]), sample_rate=SR, hop_length=160) == 0.0
    with pytest.raises(ParameterError, match="min_bpm"):
        F.tempo(np.ones(10), sample_rate=SR, hop_length=160, min_bpm=500.0, max_bpm=400.0)


# ---------------------------------------------------------------------------------------------
# functionals


def test_functionals_of_linear_ramp() -> None:
    x = 1.0 + 3.0 * np.arange(11)
    out = F.functionals(x)
    assert out.shape == (len(F.DEFAULT_STATS),)
    got = dict(zip(F.DEFAULT_STATS, out, strict=True))
    assert got["mean"] == pytest.approx(16.0)
    assert got["std"] == pytest.approx(np.std(x))
    assert (got["min"], got["max"]) == (1.0, 31.0)
    assert (got["p10"], got["p50"], got["p90"]) == pytest.approx((4.0, 16.0, 28.0))
    assert got["slope"] == pytest.approx(3.0)  # per frame
    per_second = F.functionals(x, stats=("slope",), frame_rate_hz=100.0)
    assert per_second[0] == pytest.approx(300.0)


def test_functionals_2d_layout_and_extra_stats() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    stats = ("var", "range", "median", "skew", "kurtosis", "p25")
    out = F.functionals(x, stats=stats)
    assert out.shape == (3, len(stats))
    np.testing.assert_allclose(out[:, 0], x.var(axis=0))
    np.testing.assert_allclose(out[:, 1], np.ptp(x, axis=0))
    np.testing.assert_allclose(out[:, 2], np.median(x, axis=0))
    centred = x - x.mean(axis=0)
    np.testing.assert_allclose(out[:, 3], (centred**3).mean(0) / x.std(0) ** 3)
    np.testing.assert_allclose(out[:, 4], (centred**4).mean(0) / x.std(0) ** 4 - 3)
    np.testing.assert_allclose(out[:, 5], np.percentile(x, 25, axis=0))


def test_functionals_of_constant_and_single_frame_are_finite() -> None:
    out = F.functionals(np.full((1, 2), 5.0), stats=(*F.DEFAULT_STATS, "skew", "kurtosis"))
    assert np.all(np.isfinite(out))
    assert np.all(out[:, F.DEFAULT_STATS.index("slope")] == 0)
    assert np.all(out[:, -2:] == 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"stats": ("mean", "mode")}, "Unknown statistic 'mode'"),
        ({"stats": ("p101",)}, "Unknown statistic 'p101'"),
        ({"stats": "mean"}, "non-empty sequence"),
        ({"frame_rate_hz": 0.0}, "frame_rate_hz"),
    ],
)
def test_functionals_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        F.functionals(np.arange(4.0), **kwargs)


def test_functionals_rejects_empty() -> None:
    with pytest.raises(ParameterError, match="n_frames >= 1"):
        F.functionals(np.zeros((0, 3)))


@settings(max_examples=40, deadline=None)
@given(
    intercept=st.floats(-1e3, 1e3),
    slope=st.floats(-1e2, 1e2),
    n_frames=st.integers(2, 300),
    frame_rate_hz=st.floats(1.0, 1000.0),
)
def test_functionals_slope_recovers_line(
    intercept: float, slope: float, n_frames: int, frame_rate_hz: float
) -> None:
    x = intercept + slope * np.arange(n_frames)
    got = F.functionals(x, stats=("slope", "min", "max"), frame_rate_hz=frame_rate_hz)
    assert got[0] == pytest.approx(slope * frame_rate_hz, rel=1e-6, abs=1e-6)
    assert got[1] == min(x[0], x[-1]) and got[2] == max(x[0], x[-1])


# ---------------------------------------------------------------------------------------------
# the frontend


def test_handcrafted_layout_and_names() -> None:
    fe = build_frontend("handcrafted")
    assert isinstance(fe, F.HandCrafted)
    assert fe.output == "vector"
    names = fe.feature_names
    assert len(names) == fe.n_features == 17 * 8 + 5 + 6 == 147
    assert len(set(names)) == len(names)
    assert names[:2] == ["rms_mean", "rms_std"]
    assert names[-6:] == [f"wavelet_logenergy_{b}" for b in ("A5", "D5", "D4", "D3", "D2", "D1")]
    small = build_frontend("handcrafted(hop=320, stats=('mean', 'p50'), wavelet_level=3)")
    assert small.hop_length == 320 and small.stats == ("mean", "p50")
    assert len(small.feature_names) == small.n_features == 17 * 2 + 5 + 4


def test_handcrafted_columns_mean_what_their_names_say() -> None:
    y = SIGNALS["voiced"]
    fe = F.HandCrafted()
    v = fe(y, sample_rate=SR)
    assert v.dtype == np.float32 and v.shape == (fe.n_features,)
    col = dict(zip(fe.feature_names, v.astype(np.float64), strict=True))
    S = F.magnitude_spectrogram(y)
    assert col["rms_mean"] == pytest.approx(F.rms(y).mean(), rel=1e-5)
    assert col["zcr_p90"] == pytest.approx(np.percentile(F.zero_crossing_rate(y), 90), rel=1e-5)
    assert col["spectral_centroid_hz_max"] == pytest.approx(
        F.spectral_centroid(S, sample_rate=SR).max(), rel=1e-5
    )
    assert col["chroma_B_std"] == pytest.approx(F.chroma(S, sample_rate=SR)[:, 11].std(), rel=1e-4, abs=1e-6)
    assert col["signal_variance"] == pytest.approx(np.var(y.astype(np.float64)), rel=1e-5)
    assert col["wavelet_logenergy_D1"] == pytest.approx(F.wavelet_energies(y)[-1], rel=1e-5)
    assert 0 <= col["temporal_centroid_rel"] <= 1


def test_handcrafted_slope_is_per_second() -> None:
    fe = F.HandCrafted()
    y = chirp(200.0, 4200.0, 1.0)  # frequency rises 4000 Hz per second
    col = dict(zip(fe.feature_names, fe(y), strict=True))
    # The zero-crossing rate follows 2 f / sr: its slope is ~ 2 * 4000 / 16000 = 0.5 per second.
    assert col["zcr_slope"] == pytest.approx(0.5, rel=0.1)
    assert col["spectral_centroid_hz_slope"] == pytest.approx(4000.0, rel=0.1)


@pytest.mark.parametrize(
    "y",
    [
        np.zeros(SR, dtype=np.float32),
        noise(0.5, amp=1e-6),
        tone(300.0, 0.2),
        voiced(dur_s=0.2),
        np.full(7, 0.1, dtype=np.float32),
    ],
    ids=["silence", "near-silence", "short-tone", "short-voiced", "seven-samples"],
)
def test_handcrafted_is_finite_on_hard_inputs(y: np.ndarray) -> None:
    fe = F.HandCrafted()
    (v,) = fe.extract_batch([y], sample_rate=SR)
    assert v.shape == (147,)
    assert np.all(np.isfinite(v))


def test_handcrafted_batch_and_pickle() -> None:
    fe = build_frontend("handcrafted(stats=('mean',))")
    ys = [SIGNALS["voiced"], SIGNALS["noise"]]
    batch = fe.extract_batch(ys, sample_rate=SR)
    clone = pickle.loads(pickle.dumps(fe))
    assert clone == fe and clone.cache_digest == fe.cache_digest
    for y, v in zip(ys, batch, strict=True):
        np.testing.assert_array_equal(v, clone(y))


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("handcrafted(frame_length=511)", "frame_length"),
        ("handcrafted(hop_length=0)", "hop_length"),
        ("handcrafted(roll_percent=1.5)", "roll_percent"),
        ("handcrafted(tempo_min_bpm=500)", "tempo_min_bpm"),
        ("handcrafted(wavelet='morlet')", "wavelet"),
        ("handcrafted(wavelet_level=0)", "wavelet_level"),
        ("handcrafted(stats=('mean', 'mode'))", "mode"),
    ],
)
def test_handcrafted_rejects_bad_parameters(spec: str, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        build_frontend(spec)


def test_handcrafted_rejects_bad_audio_and_rate() -> None:
    fe = F.HandCrafted()
    with pytest.raises(ParameterError, match="sample_rate"):
        fe.extract_batch([tone()], sample_rate=8000)
    bad = tone()
    bad[10] = np.nan
    with pytest.raises(AudioError, match="NaN") as info:
        fe(bad)
    assert info.value.kind == "non-finite"
    with pytest.raises(AudioError, match="non-empty"):
        fe(np.zeros(0, dtype=np.float32))


def test_pure_functions_validate_inputs() -> None:
    with pytest.raises(ParameterError, match="frame_length"):
        F.rms(tone(), frame_length=3)
    with pytest.raises(ParameterError, match="1-D"):
        F.zero_crossing_rate(np.zeros((2, 100)))
    with pytest.raises(ParameterError, match="non-negative"):
        F.spectral_centroid(-np.ones((3, 5)), sample_rate=SR)
    with pytest.raises(ParameterError, match="wavelet"):
        F.wavelet_energies(tone(), wavelet="nope")
