"""Hand-crafted descriptors and their statistical functionals (the ``handcrafted`` frontend).

The descriptors are the ones the survey lists as the classic speech-emotion features
(Pinto, R and Martis, "Exploring emotional signals: a study on audio-based emotion classification",
sections 4.A-4.F): time-domain RMS energy, zero-crossing rate, temporal centroid and signal variance;
frequency-domain spectral centroid, bandwidth and roll-off; 12 chroma bins; rhythm (tempo and onset
rate); and wavelet sub-band energies. MFCCs live in :mod:`serkit.features.spectral`.

Frame-level descriptors are pure functions returning time-major arrays (``(n_frames,)`` or
``(n_frames, 12)``); with ``center=True`` framing (as librosa) a signal of ``n`` samples gives
``1 + n // hop_length`` frames, so even a very short input has at least one frame. The spectral
descriptors take a magnitude spectrogram from :func:`magnitude_spectrogram` so that one STFT serves
all of them. :func:`functionals` summarises frame-level tracks into fixed-length statistics, and
:class:`HandCrafted` concatenates everything into one vector whose columns are named by
:attr:`HandCrafted.feature_names`.

Numerics follow librosa 0.10/0.11 (``librosa.feature.rms``, ``zero_crossing_rate``,
``spectral_centroid``, ``spectral_bandwidth``, ``spectral_rolloff``, ``chroma_stft`` with
``tuning=0``) so the reference tests can compare against it; librosa itself is not a dependency.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pywt

from serkit.errors import AudioError, ParameterError
from serkit.features.frontend import SAMPLE_RATE, Frontend, check_param, register_frontend

__all__ = [
    "CHROMA_NAMES",
    "DEFAULT_STATS",
    "HandCrafted",
    "chroma",
    "chroma_filters",
    "functionals",
    "magnitude_spectrogram",
    "onset_rate",
    "onset_strength",
    "rms",
    "signal_variance",
    "spectral_bandwidth",
    "spectral_centroid",
    "spectral_rolloff",
    "stat_names",
    "tempo",
    "temporal_centroid",
    "wavelet_band_names",
    "wavelet_energies",
    "zero_crossing_rate",
]

SURVEY = (
    "Pinto, Balasubramani R, Martis: Exploring emotional signals: a study on audio-based emotion "
    "classification (survey), sec. 4 (time-domain, frequency-domain, chroma, rhythm, wavelet features)"
)

DEFAULT_STATS: tuple[str, ...] = ("mean", "std", "min", "max", "p10", "p50", "p90", "slope")
"""The statistics :func:`functionals` computes unless told otherwise."""

CHROMA_NAMES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
"""Pitch classes of the 12 chroma bins, in output order."""

_PERCENTILE = re.compile(r"^p(\d{1,3})$")
_NAMED_STATS = ("mean", "std", "var", "min", "max", "range", "median", "skew", "kurtosis", "slope")
_TINY = float(np.finfo(np.float32).tiny)
_SMOOTH = np.hanning(7)[1:-1] / np.hanning(7)[1:-1].sum()  # 5-frame smoothing for tempo


# --------------------------------------------------------------------------------------------
# framing helpers


def _as_signal(y: np.ndarray, fn: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise ParameterError(
            f"The 'y' argument of {fn} must be a non-empty 1-D array of samples. Got shape {y.shape}."
        )
    return y.astype(np.float64, copy=False)


def _check_framing(fn: str, frame_length: int, hop_length: int) -> None:
    check_param(
        isinstance(frame_length, int) and frame_length >= 2 and frame_length % 2 == 0,
        fn,
        "frame_length",
        "an even int >= 2 (samples)",
        frame_length,
    )
    check_param(isinstance(hop_length, int) and hop_length >= 1, fn, "hop_length", "an int >= 1", hop_length)


def _frames(y: np.ndarray, *, frame_length: int, hop_length: int, pad_mode: str) -> np.ndarray:
    """Centred frames ``(n_frames, frame_length)``: ``frame_length // 2`` padding on both sides."""
    pad = frame_length // 2
    padded = np.pad(y, (pad, pad), mode=pad_mode)  # type: ignore[call-overload]
    return np.lib.stride_tricks.sliding_window_view(padded, frame_length)[::hop_length]


def _bin_frequencies(n_bins: int, sample_rate: float) -> np.ndarray:
    # magnitude_spectrogram only allows an even frame_length, so n_fft = 2 * (n_bins - 1).
    return np.fft.rfftfreq(2 * (n_bins - 1), d=1.0 / sample_rate)


def _as_spectrogram(S: np.ndarray, fn: str) -> np.ndarray:
    S = np.asarray(S)
    if S.ndim != 2 or S.shape[0] == 0 or S.shape[1] < 2:
        raise ParameterError(
            f"The 'S' argument of {fn} must be a magnitude spectrogram of shape (n_frames, n_bins) with "
            f"n_frames >= 1 and n_bins >= 2, e.g. from magnitude_spectrogram(). Got shape {S.shape}."
        )
    if np.any(S < 0):
        raise ParameterError(f"The 'S' argument of {fn} must be non-negative (a magnitude spectrogram).")
    return S.astype(np.float64, copy=False)


# --------------------------------------------------------------------------------------------
# time-domain descriptors


def rms(y: np.ndarray, *, frame_length: int = 512, hop_length: int = 160) -> np.ndarray:
    """Root-mean-square energy per frame (survey sec. 4.A).

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
        Mono audio.
    frame_length : int > 0, even
        Frame length in samples (zero-padded by ``frame_length // 2`` at both ends, like librosa).
    hop_length : int > 0
        Hop in samples.

    Returns
    -------
    np.ndarray [shape=(1 + n_samples // hop_length,)]
        RMS in the units of ``y`` (>= 0). Matches ``librosa.feature.rms(y=y, center=True)``.

    Raises
    ------
    ParameterError
        If ``y`` is not a non-empty 1-D array or the frame parameters are invalid.

    Examples
    --------
    >>> t = np.arange(16000) / 16000
    >>> float(np.round(rms(0.5 * np.sin(2 * np.pi * 500 * t))[5], 3))  # amplitude / sqrt(2)
    0.354
    """
    y = _as_signal(y, "rms")
    _check_framing("rms", frame_length, hop_length)
    frames = _frames(y, frame_length=frame_length, hop_length=hop_length, pad_mode="constant")
    return np.sqrt(np.mean(frames**2, axis=1))


def zero_crossing_rate(
    y: np.ndarray, *, frame_length: int = 512, hop_length: int = 160, threshold: float = 1e-10
) -> np.ndarray:
    """Fraction of sign changes between consecutive samples per frame (survey sec. 4.A).

    A pure tone of frequency ``f`` has a rate of about ``2 f / sample_rate``.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
        Mono audio.
    frame_length : int > 0, even
        Frame length in samples (edge-padded by ``frame_length // 2``, as librosa does).
    hop_length : int > 0
        Hop in samples.
    threshold : float >= 0
        Samples with ``|y| <= threshold`` count as zero (and zero counts as positive), so
        numerical noise around silence does not register as crossings.

    Returns
    -------
    np.ndarray [shape=(1 + n_samples // hop_length,)]
        Crossings per sample, in [0, 1). Matches ``librosa.feature.zero_crossing_rate``.

    Raises
    ------
    ParameterError
        If ``y`` is not a non-empty 1-D array or the frame parameters are invalid.
    """
    y = _as_signal(y, "zero_crossing_rate")
    _check_framing("zero_crossing_rate", frame_length, hop_length)
    # Clip near-zero samples to +0.0 (signbit False) before comparing signs.
    y = np.where(np.abs(y) <= threshold, 0.0, y)
    frames = _frames(y, frame_length=frame_length, hop_length=hop_length, pad_mode="edge")
    signs = np.signbit(frames)
    crossings = np.count_nonzero(signs[:, 1:] != signs[:, :-1], axis=1)
    return crossings / frame_length


def temporal_centroid(y: np.ndarray, *, sample_rate: int) -> float:
    """Energy-weighted mean time of the signal, ``sum(t * y^2) / sum(y^2)`` (survey sec. 4.A).

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
        Mono audio.
    sample_rate : int > 0
        Sample rate in Hz.

    Returns
    -------
    float
        Seconds from the first sample, in ``[0, (n_samples - 1) / sample_rate]``; the midpoint for an
        all-zero signal (where the centroid is undefined).

    Raises
    ------
    ParameterError
        If ``y`` is not a non-empty 1-D array.
    """
    y = _as_signal(y, "temporal_centroid")
    energy = y**2
    t = np.arange(y.size) / sample_rate
    total = energy.sum()
    if total <= _TINY:
        return float(t[-1] / 2)
    return float(np.sum(t * energy) / total)  # (np.dot goes through BLAS: slower here)


def signal_variance(y: np.ndarray) -> float:
    """Variance of the samples (population variance, survey sec. 4.A), in squared units of ``y``.

    Raises
    ------
    ParameterError
        If ``y`` is not a non-empty 1-D array.
    """
    return float(np.var(_as_signal(y, "signal_variance")))


# --------------------------------------------------------------------------------------------
# spectral descriptors


def magnitude_spectrogram(y: np.ndarray, *, frame_length: int = 512, hop_length: int = 160) -> np.ndarray:
    """Magnitude STFT, time-major, with a periodic Hann window of ``frame_length`` samples.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
        Mono audio.
    frame_length : int > 0, even
        FFT size and window length in samples; frames are centred (zero padding of
        ``frame_length // 2``), as ``librosa.stft(center=True, pad_mode="constant")``.
    hop_length : int > 0
        Hop in samples.

    Returns
    -------
    np.ndarray [shape=(1 + n_samples // hop_length, frame_length // 2 + 1)]
        ``|STFT|`` (>= 0).

    Raises
    ------
    ParameterError
        If ``y`` is not a non-empty 1-D array or the frame parameters are invalid.
    """
    y = _as_signal(y, "magnitude_spectrogram")
    _check_framing("magnitude_spectrogram", frame_length, hop_length)
    frames = _frames(y, frame_length=frame_length, hop_length=hop_length, pad_mode="constant")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame_length) / frame_length)
    return np.abs(np.fft.rfft(frames * window, axis=1))


def spectral_centroid(S: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """Magnitude-weighted mean frequency per frame (survey sec. 4.B).

    Parameters
    ----------
    S : np.ndarray [shape=(n_frames, n_bins)]
        Magnitude spectrogram from :func:`magnitude_spectrogram` (even FFT size).
    sample_rate : int > 0
        Sample rate in Hz.

    Returns
    -------
    np.ndarray [shape=(n_frames,)]
        Hz, in [0, sample_rate / 2]; 0 for an all-zero frame. Matches ``librosa.feature.spectral_centroid``.

    Raises
    ------
    ParameterError
        If ``S`` is not a non-negative 2-D array.
    """
    S = _as_spectrogram(S, "spectral_centroid")
    freq = _bin_frequencies(S.shape[1], sample_rate)
    return (S @ freq) / _column_norm(S)


def _column_norm(S: np.ndarray) -> np.ndarray:
    # librosa leaves all-zero frames unnormalised (so they map to 0); do the same.
    total = S.sum(axis=1)
    return np.where(total < _TINY, 1.0, total)


def spectral_bandwidth(S: np.ndarray, *, sample_rate: int, p: float = 2.0) -> np.ndarray:
    """Order-``p`` spread of frequency around the spectral centroid per frame (survey sec. 4.B).

    ``(sum_k s_k |f_k - centroid|^p)^(1/p)`` with ``s`` the magnitude spectrum normalised to sum 1.

    Parameters
    ----------
    S : np.ndarray [shape=(n_frames, n_bins)]
        Magnitude spectrogram from :func:`magnitude_spectrogram`.
    sample_rate : int > 0
        Sample rate in Hz.
    p : float > 0
        Order of the deviation (2: standard deviation of frequency).

    Returns
    -------
    np.ndarray [shape=(n_frames,)]
        Hz (>= 0); 0 for an all-zero frame. Matches ``librosa.feature.spectral_bandwidth``.

    Raises
    ------
    ParameterError
        If ``S`` is not a non-negative 2-D array or ``p <= 0``.
    """
    S = _as_spectrogram(S, "spectral_bandwidth")
    check_param(p > 0, "spectral_bandwidth", "p", "> 0", p)
    freq = _bin_frequencies(S.shape[1], sample_rate)
    weights = S / _column_norm(S)[:, None]
    centroid = weights @ freq
    deviation = np.abs(freq[None, :] - centroid[:, None])
    return np.sum(weights * deviation**p, axis=1) ** (1.0 / p)


def spectral_rolloff(S: np.ndarray, *, sample_rate: int, roll_percent: float = 0.85) -> np.ndarray:
    """Lowest bin frequency below which ``roll_percent`` of the frame's magnitude lies (survey sec. 4.B).

    Parameters
    ----------
    S : np.ndarray [shape=(n_frames, n_bins)]
        Magnitude spectrogram from :func:`magnitude_spectrogram`.
    sample_rate : int > 0
        Sample rate in Hz.
    roll_percent : float in (0, 1)
        Fraction of the total magnitude.

    Returns
    -------
    np.ndarray [shape=(n_frames,)]
        Hz, a bin centre frequency in [0, sample_rate / 2]; 0 for an all-zero frame.
        Matches ``librosa.feature.spectral_rolloff``.

    Raises
    ------
    ParameterError
        If ``S`` is not a non-negative 2-D array or ``roll_percent`` is outside (0, 1).
    """
    S = _as_spectrogram(S, "spectral_rolloff")
    check_param(0 < roll_percent < 1, "spectral_rolloff", "roll_percent", "in (0, 1)", roll_percent)
    freq = _bin_frequencies(S.shape[1], sample_rate)
    cumulative = np.cumsum(S, axis=1)
    reached = cumulative >= roll_percent * cumulative[:, -1:]
    return freq[np.argmax(reached, axis=1)]


def _hz_to_octaves(freq_hz: np.ndarray) -> np.ndarray:
    # Octaves relative to C0-ish (A440 / 16), the reference Ellis' chromagram uses.
    return np.log2(freq_hz / (440.0 / 16))


def chroma_filters(*, sample_rate: int, frame_length: int, n_chroma: int = 12) -> np.ndarray:
    """Chroma filter bank of Ellis' ``chromagram_E`` (as ``librosa.filters.chroma`` with ``tuning=0``).

    Each FFT bin contributes to the pitch classes near its frequency through a Gaussian bump (in
    chroma bins), columns are L2-normalised and weighted by a Gaussian over octaves centred on
    octave 5 (about 500 Hz) with a 2-octave width, so very low and very high bins count little.

    Parameters
    ----------
    sample_rate : int > 0
        Sample rate in Hz.
    frame_length : int > 0, even
        FFT size in samples.
    n_chroma : int > 0
        Bins per octave (12: semitones).

    Returns
    -------
    np.ndarray [shape=(n_chroma, frame_length // 2 + 1)]
        Weights (>= 0); row 0 is C.

    Raises
    ------
    ParameterError
        If ``n_chroma`` or ``frame_length`` is invalid.
    """
    check_param(
        isinstance(n_chroma, int) and n_chroma >= 1, "chroma_filters", "n_chroma", "an int >= 1", n_chroma
    )
    _check_framing("chroma_filters", frame_length, 1)
    freqs = np.linspace(0, sample_rate, frame_length, endpoint=False)[1:]
    bins = n_chroma * _hz_to_octaves(freqs)
    # The 0 Hz bin gets a made-up position 1.5 octaves below bin 1 (broad and rotated), as in Ellis' code.
    bins = np.concatenate(([bins[0] - 1.5 * n_chroma], bins))
    widths = np.concatenate((np.maximum(bins[1:] - bins[:-1], 1.0), [1.0]))
    distance = np.subtract.outer(bins, np.arange(n_chroma, dtype=np.float64)).T
    half = np.round(n_chroma / 2)
    distance = np.remainder(distance + half + 10 * n_chroma, n_chroma) - half
    weights = np.exp(-0.5 * (2 * distance / widths[None, :]) ** 2)
    weights /= np.linalg.norm(weights, axis=0, keepdims=True)
    weights *= np.exp(-0.5 * ((bins / n_chroma - 5.0) / 2.0) ** 2)[None, :]
    weights = np.roll(weights, -3 * (n_chroma // 12), axis=0)  # start at C rather than A
    return np.ascontiguousarray(weights[:, : frame_length // 2 + 1])


def chroma(S: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """Chromagram: energy per pitch class, octaves folded together (survey sec. 4.D).

    Parameters
    ----------
    S : np.ndarray [shape=(n_frames, n_bins)]
        Magnitude spectrogram from :func:`magnitude_spectrogram`; it is squared to power here.
    sample_rate : int > 0
        Sample rate in Hz.

    Returns
    -------
    np.ndarray [shape=(n_frames, 12)]
        Per frame, scaled so that the largest pitch class is 1 (values in [0, 1]; all-zero frames
        stay 0). Columns are :data:`CHROMA_NAMES`. Matches ``librosa.feature.chroma_stft(tuning=0)``;
        unlike librosa's default no tuning is estimated, so the bins are fixed to A440.

    Raises
    ------
    ParameterError
        If ``S`` is not a non-negative 2-D array.
    """
    S = _as_spectrogram(S, "chroma")
    frame_length = 2 * (S.shape[1] - 1)
    filters = chroma_filters(sample_rate=sample_rate, frame_length=frame_length)
    # A contiguous right operand: a transposed view sends the product down a slow BLAS path.
    energy = (S**2) @ np.ascontiguousarray(filters.T)
    peak = energy.max(axis=1, keepdims=True)
    return energy / np.where(peak < _TINY, 1.0, peak)


# --------------------------------------------------------------------------------------------
# rhythm


def onset_strength(S: np.ndarray, *, top_db: float = 80.0) -> np.ndarray:
    """Onset strength: mean positive rise of the log-magnitude spectrum between frames (spectral flux).

    Parameters
    ----------
    S : np.ndarray [shape=(n_frames, n_bins)]
        Magnitude spectrogram from :func:`magnitude_spectrogram`.
    top_db : float > 0
        Log magnitudes are clipped to ``top_db`` below the loudest bin, so that rises out of
        near-silence do not dominate.

    Returns
    -------
    np.ndarray [shape=(n_frames,)]
        dB per frame (>= 0); frame 0 is 0.

    Raises
    ------
    ParameterError
        If ``S`` is not a non-negative 2-D array.
    """
    S = _as_spectrogram(S, "onset_strength")
    log_s = 20 * np.log10(np.maximum(S, 1e-10))
    log_s = np.maximum(log_s, log_s.max() - top_db)
    flux = np.maximum(0.0, np.diff(log_s, axis=0)).mean(axis=1)
    return np.concatenate(([0.0], flux))


def tempo(
    onset_env: np.ndarray,
    *,
    sample_rate: int,
    hop_length: int,
    min_bpm: float = 60.0,
    max_bpm: float = 480.0,
) -> float:
    """Dominant periodicity of the onset envelope, in beats (onsets) per minute (survey sec. 4.E).

    The lag with the largest autocorrelation of the lightly smoothed (5-frame Hann), mean-removed
    envelope within ``[min_bpm, max_bpm]``, refined by parabolic interpolation. The default range,
    1-8 onsets per second, covers speech syllable rates.

    Parameters
    ----------
    onset_env : np.ndarray [shape=(n_frames,)]
        Onset strength from :func:`onset_strength`.
    sample_rate : int > 0
        Sample rate in Hz of the audio the envelope came from.
    hop_length : int > 0
        Hop in samples between envelope frames.
    min_bpm, max_bpm : float, 0 < min_bpm < max_bpm
        Search range in beats per minute.

    Returns
    -------
    float
        BPM in ``[min_bpm, max_bpm]``, or 0.0 when undefined (a flat envelope, or one too short to
        hold a single period of ``max_bpm``).

    Raises
    ------
    ParameterError
        If the BPM range is invalid.
    """
    check_param(0 < min_bpm < max_bpm, "tempo", "min_bpm", f"in (0, max_bpm={max_bpm})", min_bpm)
    env = np.asarray(onset_env, dtype=np.float64)
    # A light smoothing: when the period is not a whole number of frames, spiky envelopes otherwise
    # correlate better at a multiple of the period that happens to be near-integer.
    env = np.convolve(env, _SMOOTH, mode="same")
    env = env - env.mean()
    frame_rate = sample_rate / hop_length
    lag_min = max(1, int(np.ceil(frame_rate * 60.0 / max_bpm)))
    lag_max = min(env.size - 1, int(np.floor(frame_rate * 60.0 / min_bpm)))
    if lag_max < lag_min or np.dot(env, env) <= _TINY:
        return 0.0
    lags = np.arange(lag_min, lag_max + 1)
    acf = np.array([np.dot(env[:-lag], env[lag:]) for lag in lags])
    best = int(np.argmax(acf))
    if acf[best] <= 0:
        return 0.0
    lag = float(lags[best])
    if 0 < best < acf.size - 1:
        # Parabolic interpolation of the peak: sub-frame lag resolution.
        left, mid, right = acf[best - 1 : best + 2]
        curvature = left - 2 * mid + right
        if curvature < 0:
            lag += 0.5 * (left - right) / curvature
    return float(60.0 * frame_rate / lag)


def onset_rate(
    onset_env: np.ndarray,
    *,
    sample_rate: int,
    hop_length: int,
    delta: float = 0.5,
    min_separation_s: float = 0.1,
) -> float:
    """Detected onsets per second (survey sec. 4.E, a rhythm-density measure).

    Onsets are local maxima of the envelope above ``mean + delta * std`` and at least
    ``min_separation_s`` apart.

    Parameters
    ----------
    onset_env : np.ndarray [shape=(n_frames,)]
        Onset strength from :func:`onset_strength`.
    sample_rate : int > 0
        Sample rate in Hz.
    hop_length : int > 0
        Hop in samples between envelope frames.
    delta : float >= 0
        Threshold above the mean, in standard deviations of the envelope.
    min_separation_s : float > 0
        Minimum time between onsets, seconds.

    Returns
    -------
    float
        Onsets per second (>= 0); 0 for a flat envelope.
    """
    env = np.asarray(onset_env, dtype=np.float64)
    frame_rate = sample_rate / hop_length
    height = max(env.mean() + delta * env.std(), _TINY)
    distance = max(1, round(min_separation_s * frame_rate))
    from scipy.signal import find_peaks  # imported here: scipy.signal adds ~0.4 s to every serkit start

    peaks, _ = find_peaks(env, height=height, distance=distance)
    return float(peaks.size / (env.size / frame_rate))


# --------------------------------------------------------------------------------------------
# wavelets


def wavelet_band_names(level: int) -> list[str]:
    """Names of the :func:`wavelet_energies` outputs: ``["A<level>", "D<level>", ..., "D1"]``."""
    return [f"A{level}", *(f"D{j}" for j in range(level, 0, -1))]


def wavelet_energies(y: np.ndarray, *, wavelet: str = "db4", level: int = 5) -> np.ndarray:
    """Log relative energy of each discrete-wavelet sub-band (survey sec. 4.F).

    ``pywt.wavedec(y, wavelet, level=level)`` splits the signal into the approximation ``A<level>``
    and details ``D<level> ... D1``; at 16 kHz, ``D1`` covers about 4-8 kHz, ``D2`` 2-4 kHz, ...,
    ``D5`` 250-500 Hz and ``A5`` 0-250 Hz. Each band's energy (sum of squared coefficients) is divided
    by the total and its natural log taken, floored at ``log(1e-12)``.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
        Mono audio.
    wavelet : str
        A PyWavelets discrete wavelet name (``pywt.wavelist(kind="discrete")``).
    level : int > 0
        Decomposition depth. Depths beyond ``pywt.dwt_max_level`` still work but every coefficient
        then feels the boundary extension.

    Returns
    -------
    np.ndarray [shape=(level + 1,)]
        Natural log of the energy fraction (<= 0), in :func:`wavelet_band_names` order; for an
        all-zero signal every band gets ``log(1 / (level + 1))``.

    Raises
    ------
    ParameterError
        If ``y`` is not a non-empty 1-D array, the wavelet is unknown or ``level < 1``.
    """
    y = _as_signal(y, "wavelet_energies")
    check_param(isinstance(level, int) and level >= 1, "wavelet_energies", "level", "an int >= 1", level)
    check_param(
        wavelet in pywt.wavelist(kind="discrete"),
        "wavelet_energies",
        "wavelet",
        "a discrete PyWavelets wavelet such as 'db4' or 'sym8'",
        wavelet,
    )
    with warnings.catch_warnings():
        # Short inputs trigger pywt's "level too high" boundary-effect warning; documented above.
        warnings.simplefilter("ignore", UserWarning)
        coeffs = pywt.wavedec(y, wavelet, level=level)
    energy = np.array([np.sum(c**2) for c in coeffs])
    total = energy.sum()
    if total <= _TINY:
        return np.full(level + 1, np.log(1.0 / (level + 1)))
    return np.log(np.maximum(energy / total, 1e-12))


# --------------------------------------------------------------------------------------------
# functionals


def _parse_stats(stats: Sequence[str]) -> list[str]:
    if isinstance(stats, str) or len(stats) == 0:
        raise ParameterError(
            f"The 'stats' parameter of functionals must be a non-empty sequence of statistic names. "
            f"Got {stats!r} instead."
        )
    for stat in stats:
        match = _PERCENTILE.match(stat) if isinstance(stat, str) else None
        if not (stat in _NAMED_STATS or (match and 0 <= int(match.group(1)) <= 100)):
            raise ParameterError(
                f"Unknown statistic {stat!r} in functionals. Allowed: {', '.join(_NAMED_STATS)} and "
                f"percentiles 'p0'..'p100' (e.g. 'p10')."
            )
    return list(stats)


def stat_names(stats: Sequence[str] = DEFAULT_STATS) -> list[str]:
    """Validated statistic names, in the order :func:`functionals` returns them.

    Raises
    ------
    ParameterError
        For an unknown statistic name.
    """
    return _parse_stats(stats)


def _moment(x: np.ndarray, order: int) -> np.ndarray:
    centred = x - x.mean(axis=0)
    std = centred.std(axis=0)
    safe = np.where(std < 1e-12, 1.0, std)
    value = np.mean(centred**order, axis=0) / safe**order
    # A constant track has no shape: report the Gaussian-neutral value (0 skew, 0 excess kurtosis).
    return np.where(std < 1e-12, 0.0, value - (3.0 if order == 4 else 0.0))


def functionals(
    x: np.ndarray, *, stats: Sequence[str] = DEFAULT_STATS, frame_rate_hz: float | None = None
) -> np.ndarray:
    """Summarise frame-level tracks over time with statistics.

    Parameters
    ----------
    x : np.ndarray [shape=(n_frames,) or (n_frames, n_features)]
        Time-major descriptor tracks; ``n_frames >= 1``.
    stats : sequence of str
        Statistics, in output order: ``mean``, ``std`` (population), ``var``, ``min``, ``max``,
        ``range``, ``median``, ``skew``, ``kurtosis`` (excess; both 0 for a constant track),
        ``pNN`` (the NN-th percentile, linear interpolation, 0 <= NN <= 100) and ``slope``
        (least-squares slope of the track against time; 0 for a single frame).
    frame_rate_hz : float > 0 or None
        Frames per second (``sample_rate / hop_length``). Given, ``slope`` is in units per second;
        None, it is in units per frame.

    Returns
    -------
    np.ndarray [shape=(n_stats,) or (n_features, n_stats)]
        Statistics along the last axis, float64.

    Raises
    ------
    ParameterError
        If ``x`` is empty or not 1-/2-D, a statistic is unknown, or ``frame_rate_hz <= 0``.

    Examples
    --------
    >>> functionals(np.arange(5.0), stats=("mean", "max", "slope"), frame_rate_hz=100.0)
    array([  2.,   4., 100.])
    """
    names = _parse_stats(stats)
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim not in (1, 2) or arr.shape[0] == 0:
        raise ParameterError(
            f"The 'x' argument of functionals must have shape (n_frames,) or (n_frames, n_features) with "
            f"n_frames >= 1. Got shape {arr.shape}."
        )
    if frame_rate_hz is not None:
        check_param(frame_rate_hz > 0, "functionals", "frame_rate_hz", "> 0 or None", frame_rate_hz)
    squeeze = arr.ndim == 1
    arr = arr.reshape(arr.shape[0], -1)
    out = []
    for stat in names:
        if stat == "mean":
            value = arr.mean(axis=0)
        elif stat == "std":
            value = arr.std(axis=0)
        elif stat == "var":
            value = arr.var(axis=0)
        elif stat == "min":
            value = arr.min(axis=0)
        elif stat == "max":
            value = arr.max(axis=0)
        elif stat == "range":
            value = arr.max(axis=0) - arr.min(axis=0)
        elif stat == "median":
            value = np.median(arr, axis=0)
        elif stat == "skew":
            value = _moment(arr, 3)
        elif stat == "kurtosis":
            value = _moment(arr, 4)
        elif stat == "slope":
            t = np.arange(arr.shape[0], dtype=np.float64)
            t -= t.mean()
            denom = np.dot(t, t)
            value = (t @ (arr - arr.mean(axis=0))) / denom if denom > 0 else np.zeros(arr.shape[1])
            if frame_rate_hz is not None:
                value = value * frame_rate_hz
        else:
            value = np.percentile(arr, float(stat[1:]), axis=0)
        out.append(value)
    result = np.stack(out, axis=-1)
    return result[0] if squeeze else result


# --------------------------------------------------------------------------------------------
# the frontend

_FRAME_DESCRIPTORS: tuple[str, ...] = (
    "rms",
    "zcr",
    "spectral_centroid_hz",
    "spectral_bandwidth_hz",
    "spectral_rolloff_hz",
    *(f"chroma_{name}" for name in CHROMA_NAMES),
)
_UTTERANCE_DESCRIPTORS: tuple[str, ...] = (
    "temporal_centroid_s",
    "temporal_centroid_rel",
    "signal_variance",
    "tempo_bpm",
    "onset_rate_hz",
)


@register_frontend
@dataclass(frozen=True)
class HandCrafted(Frontend):
    """The survey's hand-crafted feature vector: functionals of frame descriptors + utterance descriptors.

    Column layout (see :attr:`feature_names`):

    1. 17 frame-level descriptors -- ``rms``, ``zcr``, ``spectral_centroid_hz``,
       ``spectral_bandwidth_hz``, ``spectral_rolloff_hz``, ``chroma_C`` ... ``chroma_B`` -- each
       summarised by every statistic in ``stats`` (names ``<descriptor>_<stat>``, descriptor-major;
       ``slope`` in units per second).
    2. ``temporal_centroid_s``, ``temporal_centroid_rel`` (fraction of the duration, in [0, 1]),
       ``signal_variance``, ``tempo_bpm`` (0 when undefined), ``onset_rate_hz``.
    3. ``wavelet_logenergy_A<level>``, ``wavelet_logenergy_D<level>`` ... ``_D1``.

    With the defaults: 17 x 8 + 5 + 6 = 147 values, float32, finite for any non-empty audio in [-1, 1].

    Parameters
    ----------
    frame_length : int, even, >= 16
        Frame / FFT length in samples (512 = 32 ms at 16 kHz).
    hop_length : int >= 1
        Hop in samples (160 = 10 ms).
    roll_percent : float in (0, 1)
        Spectral roll-off fraction.
    tempo_min_bpm, tempo_max_bpm : float
        Tempo search range (beats per minute).
    wavelet : str
        PyWavelets discrete wavelet.
    wavelet_level : int >= 1
        Wavelet decomposition depth.
    stats : tuple of str
        Statistics for :func:`functionals`.

    Raises
    ------
    ParameterError
        For invalid parameters or a sample rate other than 16 kHz.
    AudioError
        For an empty, non-1-D or non-finite waveform.

    Examples
    --------
    >>> fe = HandCrafted()
    >>> fe(np.sin(np.arange(8000) / 10).astype(np.float32)).shape
    (147,)
    """

    name: ClassVar[str] = "handcrafted"
    paper: ClassVar[str] = SURVEY
    output: ClassVar[str] = "vector"
    version: ClassVar[int] = 1
    aliases: ClassVar[dict[str, str]] = {"hop": "hop_length", "n_fft": "frame_length"}

    frame_length: int = 512
    hop_length: int = 160
    roll_percent: float = 0.85
    tempo_min_bpm: float = 60.0
    tempo_max_bpm: float = 480.0
    wavelet: str = "db4"
    wavelet_level: int = 5
    stats: tuple[str, ...] = DEFAULT_STATS

    def __post_init__(self) -> None:
        where = "frontend 'handcrafted'"
        check_param(
            isinstance(self.frame_length, int) and self.frame_length >= 16 and self.frame_length % 2 == 0,
            where,
            "frame_length",
            "an even int >= 16 (samples)",
            self.frame_length,
        )
        check_param(
            isinstance(self.hop_length, int) and self.hop_length >= 1,
            where,
            "hop_length",
            "an int >= 1",
            self.hop_length,
        )
        check_param(0 < self.roll_percent < 1, where, "roll_percent", "in (0, 1)", self.roll_percent)
        check_param(
            0 < self.tempo_min_bpm < self.tempo_max_bpm,
            where,
            "tempo_min_bpm",
            f"> 0 and < tempo_max_bpm ({self.tempo_max_bpm})",
            self.tempo_min_bpm,
        )
        check_param(
            self.wavelet in pywt.wavelist(kind="discrete"),
            where,
            "wavelet",
            "a discrete PyWavelets wavelet such as 'db4'",
            self.wavelet,
        )
        check_param(
            isinstance(self.wavelet_level, int) and self.wavelet_level >= 1,
            where,
            "wavelet_level",
            "an int >= 1",
            self.wavelet_level,
        )
        object.__setattr__(self, "stats", tuple(_parse_stats(self.stats)))

    @property
    def feature_names(self) -> list[str]:
        """Name of each output column, in order (length :attr:`n_features`)."""
        frame = [f"{d}_{s}" for d in _FRAME_DESCRIPTORS for s in self.stats]
        wavelet = [f"wavelet_logenergy_{b}" for b in wavelet_band_names(self.wavelet_level)]
        return [*frame, *_UTTERANCE_DESCRIPTORS, *wavelet]

    @property
    def n_features(self) -> int:
        """Length of the output vector."""
        return (
            len(_FRAME_DESCRIPTORS) * len(self.stats) + len(_UTTERANCE_DESCRIPTORS) + self.wavelet_level + 1
        )

    def _one(self, y: np.ndarray, sample_rate: int) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim != 1 or y.size == 0:
            raise AudioError(None, f"expected a non-empty 1-D waveform, got shape {y.shape}.", kind="empty")
        if not np.all(np.isfinite(y)):
            raise AudioError(None, "the waveform contains NaN or infinite samples.", kind="non-finite")
        y64 = y.astype(np.float64)
        framing = {"frame_length": self.frame_length, "hop_length": self.hop_length}
        S = magnitude_spectrogram(y64, **framing)
        tracks = np.column_stack(
            [
                rms(y64, **framing),
                zero_crossing_rate(y64, **framing),
                spectral_centroid(S, sample_rate=sample_rate),
                spectral_bandwidth(S, sample_rate=sample_rate),
                spectral_rolloff(S, sample_rate=sample_rate, roll_percent=self.roll_percent),
                chroma(S, sample_rate=sample_rate),
            ]
        )
        frame_stats = functionals(tracks, stats=self.stats, frame_rate_hz=sample_rate / self.hop_length)
        env = onset_strength(S)
        rhythm = {"sample_rate": sample_rate, "hop_length": self.hop_length}
        centroid_s = temporal_centroid(y64, sample_rate=sample_rate)
        duration_s = (y.size - 1) / sample_rate
        utterance = [
            centroid_s,
            centroid_s / duration_s if duration_s > 0 else 0.5,
            signal_variance(y64),
            tempo(env, min_bpm=self.tempo_min_bpm, max_bpm=self.tempo_max_bpm, **rhythm),
            onset_rate(env, **rhythm),
        ]
        wavelet = wavelet_energies(y64, wavelet=self.wavelet, level=self.wavelet_level)
        return np.concatenate([frame_stats.ravel(), utterance, wavelet]).astype(np.float32)

    def extract_batch(self, waveforms: Sequence[np.ndarray], *, sample_rate: int) -> list[np.ndarray]:
        """One feature vector ``[shape=(n_features,)]`` per float32 mono 16 kHz waveform.

        Raises
        ------
        ParameterError
            If ``sample_rate`` is not 16000.
        AudioError
            For an empty or non-finite waveform.
        """
        check_param(
            sample_rate == SAMPLE_RATE,
            "frontend 'handcrafted'",
            "sample_rate",
            f"{SAMPLE_RATE} Hz (resample with serkit.audio.load first)",
            sample_rate,
        )
        return [self._one(y, sample_rate) for y in waveforms]
