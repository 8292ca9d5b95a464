"""Spectral frontends against librosa (reference implementation), known values and error paths.

Tolerances: serkit and librosa both compute in float32 (librosa's STFT of float32 audio is complex64)
but with different FFT libraries, summation orders and window code, so values agree to float32
rounding, not bit for bit. Measured worst cases on synthetic audio and RAVDESS: 1e-4 in log-mel
(natural log) units, 4e-4 dB in mel images, 1.5e-3 on MFCCs whose magnitude reaches ~900. The
tests allow about 10x that: an off-by-one frame, a wrong window or a wrong mel formula gives errors
of 0.1 to 10 units, so they cannot pass by accident.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from serkit.errors import ParameterError
from serkit.features import build_frontend, list_frontends
from serkit.features import spectral as S

import synth

librosa = pytest.importorskip("librosa")

SR = 16_000
RAVDESS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "ravdess"

LOG_TOL = 1e-3  # natural-log units (0.1 % of power)
DB_TOL = 1e-2  # dB
MFCC_TOL = 2e-2  # absolute, on coefficients of magnitude up to ~1000


def _signals() -> dict[str, np.ndarray]:
    return {
        "voiced": synth.voiced(dur_s=2.0),
        "chirp": synth.chirp(dur_s=1.3),
        "noise": synth.noise(dur_s=0.9, seed=3),
    }


def _ravdess_files(n: int = 3) -> list[Path]:
    if not RAVDESS.is_dir():
        return []
    actors = sorted(p for p in RAVDESS.glob("Actor_*") if p.is_dir())
    picks = [actors[i] for i in np.linspace(0, len(actors) - 1, n).astype(int)] if actors else []
    files = [min(a.glob("*.flac")) for a in picks if any(a.glob("*.flac"))]
    return files


def _read(path: Path) -> np.ndarray:
    import soundfile as sf

    y, sr = sf.read(str(path), dtype="float32")
    assert sr == SR
    return y if y.ndim == 1 else y.mean(axis=1)


def _audio_cases() -> list:
    cases = [pytest.param(y, id=name) for name, y in _signals().items()]
    files = _ravdess_files()
    if files:
        cases += [pytest.param(path, id=f"ravdess-{path.stem}", marks=pytest.mark.corpus) for path in files]
    else:
        cases.append(pytest.param(None, id="ravdess", marks=pytest.mark.skip(reason=f"{RAVDESS} absent")))
    return cases


def _load(case: np.ndarray | Path) -> np.ndarray:
    return _read(case) if isinstance(case, Path) else case


def _assert_log_close(ours: np.ndarray, ref: np.ndarray, *, atol: float, range_: float) -> None:
    """Compare log spectra after clipping both to ``range_`` log units below the reference's peak.

    float32 FFTs carry rounding of about 1e-7 of a frame's energy; far below the peak (here
    69 dB for natural logs, 100 dB for dB) that rounding, not the algorithm, sets the log values.
    """
    lo = ref.max() - range_
    np.testing.assert_allclose(np.maximum(ours, lo), np.maximum(ref, lo), atol=atol, rtol=0)


# ------------------------------------------------------------------------------------------------
# Building blocks
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_fft", "n_mels", "fmin_hz", "fmax_hz", "htk", "norm"),
    [
        (512, 40, 0.0, None, True, None),
        (512, 40, 0.0, None, False, "slaney"),
        (2048, 128, 0.0, None, False, "slaney"),
        (1024, 64, 60.0, 7600.0, True, "slaney"),
        (400, 23, 20.0, 4000.0, False, None),
    ],
)
def test_mel_filterbank_equals_librosa(n_fft, n_mels, fmin_hz, fmax_hz, htk, norm):
    ours = S.mel_filterbank(
        sample_rate=SR, n_fft=n_fft, n_mels=n_mels, fmin_hz=fmin_hz, fmax_hz=fmax_hz, htk=htk, norm=norm
    )
    ref = librosa.filters.mel(
        sr=SR, n_fft=n_fft, n_mels=n_mels, fmin=fmin_hz, fmax=fmax_hz, htk=htk, norm=norm
    )
    assert ours.shape == ref.shape == (n_mels, 1 + n_fft // 2)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-9)


def test_mel_filterbank_peaks_at_one_without_norm():
    fb = S.mel_filterbank(sample_rate=SR, n_fft=4096, n_mels=10, htk=True, norm=None)
    assert fb.max(axis=1) == pytest.approx(np.ones(10), abs=0.02)  # peak bins sit near the centres


def test_mel_filterbank_rejects_bad_band():
    with pytest.raises(ParameterError, match="fmax_hz"):
        S.mel_filterbank(sample_rate=SR, n_fft=512, n_mels=40, fmax_hz=9000.0)
    with pytest.raises(ParameterError, match="n_mels"):
        S.mel_filterbank(sample_rate=SR, n_fft=512, n_mels=0)


def test_preemphasis_textbook_values_and_librosa_difference():
    y = torch.tensor([1.0, 2.0, 4.0, 0.0])
    out = S.preemphasis(y, coef=0.5)
    torch.testing.assert_close(out, torch.tensor([1.0, 1.5, 3.0, -2.0]))
    x = synth.voiced(dur_s=0.2)
    ours = S.preemphasis(torch.from_numpy(x), coef=0.97).numpy()
    ref = librosa.effects.preemphasis(x, coef=0.97)
    # Identical except the first sample, where librosa's default zi extrapolates a history.
    np.testing.assert_allclose(ours[1:], ref[1:], atol=1e-7)
    assert ours[0] == x[0]
    assert ref[0] != pytest.approx(x[0])
    with pytest.raises(ParameterError, match="coef"):
        S.preemphasis(y, coef=1.5)


@pytest.mark.parametrize(
    ("n_fft", "hop", "win", "window"),
    [(512, 128, None, "hann"), (1600, 160, 640, "hamming"), (400, 160, 399, "hann")],
)
def test_stft_power_equals_librosa_centered(n_fft, hop, win, window):
    y = synth.chirp(dur_s=0.7)
    ours = S.stft_power(torch.from_numpy(y), n_fft=n_fft, hop_length=hop, win_length=win, window=window)
    ref = (
        np.abs(
            librosa.stft(y, n_fft=n_fft, hop_length=hop, win_length=win, window=window, pad_mode="constant")
        )
        ** 2
    )
    assert ours.shape == ref.T.shape
    np.testing.assert_allclose(ours.numpy(), ref.T, rtol=1e-3, atol=1e-3 * ref.max())


def test_stft_power_uncentred_frames_start_at_hop_multiples():
    y = synth.noise(dur_s=0.5)
    ours = S.stft_power(torch.from_numpy(y), n_fft=1600, hop_length=160, win_length=640, center=False)
    # librosa puts a short window in the middle of its n_fft frame: shift the signal to align.
    ref = (
        np.abs(librosa.stft(np.pad(y, (480, 480)), n_fft=1600, hop_length=160, win_length=640, center=False))
        ** 2
    )
    n = S.frame_count(len(y), hop_length=160, n_fft=1600, win_length=640, center=False)
    assert ours.shape[0] == n == 1 + (len(y) - 640) // 160
    np.testing.assert_allclose(ours.numpy(), ref.T[:n], rtol=1e-3, atol=1e-3 * ref.max())


@pytest.mark.filterwarnings("ignore:n_fft=.*is too large for input signal")
@pytest.mark.parametrize("n_samples", [0, 1, 127, 128, 48000, 59392])
def test_frame_count_matches_librosa(n_samples):
    y = np.zeros(max(n_samples, 1), np.float32)[:n_samples]
    if n_samples:
        ref = librosa.stft(y, n_fft=2048, hop_length=128, pad_mode="constant").shape[1]
        assert S.frame_count(n_samples, hop_length=128, n_fft=2048, center=True) == ref
    assert (
        S.frame_count(n_samples, hop_length=200, n_fft=512, center=False)
        == 1 + max(0, n_samples - 512) // 200
    )


def test_power_to_db_and_log_power_match_numpy():
    p = torch.from_numpy(np.abs(librosa.stft(synth.voiced(dur_s=0.5))) ** 2).T.contiguous()
    ref = librosa.power_to_db(p.numpy().T, ref=1.0, amin=1e-10, top_db=80.0).T
    np.testing.assert_allclose(S.power_to_db(p, top_db=80.0).numpy(), ref, atol=1e-3)
    ref_nodb = librosa.power_to_db(p.numpy().T, top_db=None).T
    np.testing.assert_allclose(S.power_to_db(p, top_db=None).numpy(), ref_nodb, atol=1e-3)
    logp = S.log_power(torch.tensor([0.0, 1.0, np.e]), floor=1e-10)
    torch.testing.assert_close(logp, torch.tensor([np.log(1e-10), 0.0, 1.0], dtype=torch.float32))
    with pytest.raises(ParameterError, match="floor"):
        S.log_power(p, floor=0.0)


def test_mfcc_from_log_mel_is_orthonormal_dct():
    import scipy.fft

    x = torch.randn(7, 40)
    ours = S.mfcc_from_log_mel(x, n_mfcc=13)
    ref = scipy.fft.dct(x.numpy(), type=2, norm="ortho", axis=-1)[:, :13]
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-5)
    d = S.dct_matrix(n_out=40, n_in=40)
    torch.testing.assert_close(d @ d.T, torch.eye(40), atol=1e-5, rtol=0)
    with pytest.raises(ParameterError, match="n_mfcc"):
        S.mfcc_from_log_mel(x, n_mfcc=41)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("width", [3, 5, 9])
@pytest.mark.parametrize("n_frames", [9, 10, 57])
def test_deltas_equal_librosa(order, width, n_frames):
    x = (
        np.random.default_rng(order * 100 + width + n_frames)
        .standard_normal((n_frames, 6))
        .astype(np.float32)
    )
    ours = S.deltas(torch.from_numpy(x), width=width, order=order).numpy()
    ref = librosa.feature.delta(x.T, width=width, order=order, mode="interp").T
    np.testing.assert_allclose(ours, ref, atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(
    n_frames=st.integers(1, 30),
    coeffs=st.tuples(*[st.floats(-3, 3, allow_nan=False)] * 3),
    order=st.sampled_from([1, 2]),
)
def test_deltas_are_exact_derivatives_of_quadratics(n_frames, coeffs, order):
    # A Savitzky-Golay fit of degree `order` reproduces polynomials of that degree, including on
    # sequences shorter than the width (our documented extension of librosa's rule).
    a, b, c = coeffs
    if order == 1:
        b = 0.0  # degree-1 fit: only exact for lines
    t = np.arange(n_frames, dtype=np.float64)
    x = a + c * t + b * t**2
    want = c + 2 * b * t if order == 1 else np.full(n_frames, 2 * b)
    if n_frames <= order:  # too few frames to see the derivative: zero by definition
        want = np.zeros(n_frames) if n_frames <= order else want
    got = S.deltas(torch.tensor(x, dtype=torch.float32)[:, None], width=9, order=order)[:, 0].numpy()
    np.testing.assert_allclose(got, want, atol=1e-3 * (1 + abs(a) + abs(b) * 900 + abs(c) * 30))


def test_deltas_reject_bad_width():
    with pytest.raises(ParameterError, match="width"):
        S.deltas(torch.zeros(10, 2), width=4)
    with pytest.raises(ParameterError, match="order"):
        S.deltas(torch.zeros(10, 2), order=3)


# ------------------------------------------------------------------------------------------------
# Frontends against librosa
# ------------------------------------------------------------------------------------------------


def test_frontends_registered_with_paper():
    names = set(list_frontends())
    assert {"logmel", "melimage", "logspec", "mfcc"} <= names
    for name in ("logmel", "melimage", "logspec", "mfcc"):
        fe = build_frontend(name)
        assert fe.paper and fe.output == "frames"


def test_issue_spec_with_aliases():
    fe = build_frontend("logmel(n_mels=40, n_fft=512, hop=200, preemph=0.97)")
    assert (fe.n_mels, fe.n_fft, fe.hop_length, fe.preemphasis) == (40, 512, 200, 0.97)
    assert fe == build_frontend("logmel")  # the issue's spec is the default


@pytest.mark.parametrize("case", _audio_cases())
def test_logmel_equals_librosa(case):
    y = _load(case)
    fe = build_frontend("logmel")
    ours = fe(y, sample_rate=SR)
    emphasised = np.concatenate([y[:1], y[1:] - np.float32(0.97) * y[:-1]])
    mel = librosa.feature.melspectrogram(
        y=emphasised, sr=SR, n_fft=512, hop_length=200, window="hamming", center=False,
        power=2.0, n_mels=40, htk=True, norm=None,
    ) / 512  # fmt: skip
    ref = np.log(np.maximum(mel, 1e-10)).T
    assert ours.shape == ref.shape == (1 + (len(y) - 512) // 200, 40)
    assert ours.dtype == np.float32
    _assert_log_close(ours, ref, atol=LOG_TOL, range_=16.0)


@pytest.mark.parametrize("delta_order", [0, 1, 2])
@pytest.mark.parametrize("case", _audio_cases())
def test_mfcc_equals_librosa(case, delta_order):
    y = _load(case)
    ours = build_frontend(f"mfcc(delta_order={delta_order})")(y, sample_rate=SR)
    mfcc = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=80)
    parts = [mfcc] + [librosa.feature.delta(mfcc, order=k) for k in range(1, delta_order + 1)]
    ref = np.concatenate(parts).T
    assert ours.shape == ref.shape == (1 + len(y) // 512, 80 * (1 + delta_order))
    np.testing.assert_allclose(ours, ref, atol=MFCC_TOL, rtol=0)


def test_mfcc_custom_options_equal_librosa():
    y = synth.voiced(dur_s=1.0)
    ours = build_frontend("mfcc(n_mfcc=13, n_mels=40, n_fft=400, hop_length=160, top_db=None, htk=True)")(
        y, sample_rate=SR
    )
    mel = librosa.feature.melspectrogram(y=y, sr=SR, n_mels=40, n_fft=400, hop_length=160, htk=True)
    ref = librosa.feature.mfcc(S=librosa.power_to_db(mel, top_db=None), n_mfcc=13)
    np.testing.assert_allclose(ours, ref.T, atol=MFCC_TOL, rtol=0)


@pytest.mark.parametrize("case", _audio_cases())
def test_melimage_equals_librosa_per_window(case):
    y = _load(case)
    fe = build_frontend("melimage")
    images = fe(y, sample_rate=SR)
    starts = fe.window_starts(len(y))
    assert images.shape == (len(starts), 128, 376)
    for image, start in zip(images, starts, strict=True):
        clip = np.pad(y[start : start + 48000], (0, max(0, start + 48000 - len(y))))
        ref = librosa.power_to_db(librosa.feature.melspectrogram(y=clip, sr=SR, hop_length=128, n_mels=128))
        np.testing.assert_allclose(image, ref, atol=DB_TOL, rtol=0)


@pytest.mark.parametrize(
    ("dur_s", "tail", "k"),
    [
        (0.5, "align", 1),
        (3.0, "align", 1),
        (5.25, "align", 2),  # 0-3 s and 2.25-5.25 s, no tail
        (6.0, "align", 3),  # ... plus a window ending at 6.0 s
        (6.0, "pad", 3),
        (6.0, "drop", 2),
        (10.0, "align", 5),
    ],
)
def test_melimage_window_count(dur_s, tail, k):
    fe = build_frontend(f"melimage(tail={tail!r})")
    y = synth.noise(dur_s=dur_s)
    out = fe(y, sample_rate=SR)
    assert out.shape == (k, 128, 376)
    starts = fe.window_starts(len(y))
    assert starts[0] == 0 and all(b - a <= 36000 for a, b in itertools.pairwise(starts))
    if tail == "align" and dur_s > 3:
        assert starts[-1] == len(y) - 48000


def test_melimage_short_input_is_zero_padded():
    y = synth.tone(440.0, dur_s=1.0)
    image = build_frontend("melimage")(y, sample_rate=SR)[0]
    padded = build_frontend("melimage")(np.pad(y, (0, 32000)), sample_rate=SR)[0]
    np.testing.assert_array_equal(image, padded)


def test_logspec_bins_and_frequency_range():
    fe = build_frontend("logspec")
    freqs = fe.frequencies_hz()
    assert len(freqs) == 401
    assert freqs[0] == 0.0 and freqs[-1] == 4000.0
    np.testing.assert_allclose(np.diff(freqs), 10.0)
    out = fe(synth.tone(1000.0, dur_s=1.0), sample_rate=SR)
    assert out.shape == (1 + (16000 - 640) // 160, 401)
    assert np.all(out.argmax(axis=1) == 100)


@pytest.mark.parametrize("case", _audio_cases())
def test_logspec_equals_librosa(case):
    y = _load(case)
    ours = build_frontend("logspec")(y, sample_rate=SR)
    # Shift by 480 samples so librosa's window (centred in its 1600-sample frame) starts at t * 160.
    stft = librosa.stft(
        np.pad(y, (480, 480)), n_fft=1600, hop_length=160, win_length=640, window="hamming", center=False
    )
    ref = np.log(np.maximum(np.abs(stft[:401]) ** 2, 1e-10)).T[: len(ours)]
    assert len(ours) == len(ref)
    _assert_log_close(ours, ref, atol=LOG_TOL, range_=16.0)


# ------------------------------------------------------------------------------------------------
# Batching, parameters, errors
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec", ["logmel", "mfcc(delta_order=2)", "melimage", "logspec", "logmel(center=True)"]
)
def test_batch_equals_per_item(spec):
    fe = build_frontend(spec)
    lengths_s = [0.0, 0.01, 0.3, 1.0, 2.51, 3.3, 7.1]
    ys = [synth.voiced(dur_s=d, seed=i) if d else np.zeros(0, np.float32) for i, d in enumerate(lengths_s)]
    batch = fe.extract_batch(ys, sample_rate=SR)
    assert len(batch) == len(ys)
    for y, got in zip(ys, batch, strict=True):
        alone = fe.extract_batch([y], sample_rate=SR)[0]
        assert got.dtype == np.float32 and got.shape == alone.shape
        # Same frames; only the position of a row inside a matmul block may change its rounding.
        np.testing.assert_allclose(got, alone, rtol=0, atol=1e-5)
        assert np.isfinite(got).all()


def test_logmel_frame_counts_and_short_input():
    fe = build_frontend("logmel")
    assert fe(np.zeros(16000, np.float32), sample_rate=SR).shape == (78, 40)
    short = fe(np.ones(100, np.float32), sample_rate=SR)
    assert short.shape == (1, 40)  # padded to one 512-sample frame
    silent = fe(np.zeros(1000, np.float32), sample_rate=SR)
    np.testing.assert_allclose(silent, np.log(1e-10))


def test_parameter_errors_name_the_parameter():
    with pytest.raises(ParameterError, match="'n_mels'"):
        build_frontend("logmel(n_mels=0)")
    with pytest.raises(ParameterError, match="'n_mfcc'"):
        build_frontend("mfcc(n_mfcc=81, n_mels=80)")
    with pytest.raises(ParameterError, match="'window'"):
        build_frontend("logmel(window='kaiser')")
    with pytest.raises(ParameterError, match="'win_length'"):
        build_frontend("logspec(win_length=2000)")
    with pytest.raises(ParameterError, match="'preemphasis'"):
        build_frontend("logmel(preemph=1.0)")
    with pytest.raises(ParameterError, match="'tail'"):
        build_frontend("melimage(tail='wrap')")
    with pytest.raises(ParameterError, match="'overlap_s'"):
        build_frontend("melimage(overlap_s=3.0)")
    with pytest.raises(ParameterError, match="'delta_order'"):
        build_frontend("mfcc(delta_order=3)")
    with pytest.raises(ParameterError, match="empty filter"):
        build_frontend("logmel(n_mels=128, n_fft=256)")
    with pytest.raises(ParameterError, match="has no parameter 'hop_s'"):
        build_frontend("logmel(hop_s=0.01)")


@pytest.mark.parametrize("name", ["logmel", "melimage", "logspec", "mfcc"])
def test_wrong_sample_rate_raises(name):
    fe = build_frontend(name)
    with pytest.raises(ParameterError, match=r"sample_rate.*16000"):
        fe.extract_batch([np.zeros(16000, np.float32)], sample_rate=8000)


def test_non_mono_input_raises_audio_error():
    from serkit.errors import AudioError

    with pytest.raises(AudioError, match="1-D mono"):
        build_frontend("logmel")(np.zeros((2, 16000), np.float32), sample_rate=SR)
