"""Spectral frontends: log-mel, mel "images", log-power spectrogram and MFCC (+ deltas), in batched torch.

Pure building blocks (torch in, torch out, keyword-only options with units in their names)
-----------------------------------------------------------------------------------------
:func:`preemphasis`, :func:`frame_count`, :func:`stft_power`, :func:`mel_filterbank` (equals
``librosa.filters.mel``), :func:`log_power`, :func:`power_to_db`, :func:`dct_matrix`,
:func:`mfcc_from_log_mel` (DCT-II, orthonormal, like ``librosa.feature.mfcc``) and :func:`deltas`
(equals ``librosa.feature.delta(mode="interp")``).

Frontends (registered; build them with ``build_frontend("logmel(n_mels=40, hop=200)")``)
-----------------------------------------------------------------------------------------
``logmel``
    DRSN-BiGRU paper (Zhang et al. 2023, *Sensors*, "Speech emotion recognition based on
    mel-spectrogram and DRSN-BiGRU"): pre-emphasis 0.97, 512-sample frames, hop 200, |F|^2/N,
    40 triangular mel filters, natural log. Output ``(n_frames, n_mels)``.
``melimage``
    Multi-input MelSpec + GeMAPS paper (Toyoshima et al. 2023, *Sensors* 23, 1743): 128-band
    mel spectrogram (librosa defaults, dB) of 3 s windows with 750 ms overlap: 128 x 376 images.
    Output ``(n_windows, n_mels, n_frames_per_window)``.
``logspec``
    Bi-GRU + multi-head attention paper (Xu et al. 2023): 40 ms Hamming windows, 10 ms hop,
    1600-point DFT (10 Hz bins), 0-4 kHz kept (401 bins), log power. Output ``(n_frames, 401)``.
``mfcc``
    1D-CNN / RNN MFCC paper on RAVDESS: 80 MFCCs computed like ``librosa.feature.mfcc`` with its
    default analysis parameters, optionally stacked with deltas.
    Output ``(n_frames, n_mfcc * (1 + delta_order))``.

Framing convention (all functions here)
---------------------------------------
A frame holds ``win_length`` samples multiplied by a *periodic* window (as ``scipy.signal.get_window``
and librosa use) and is zero-padded to ``n_fft`` points for the DFT. With ``center=True`` the signal
is padded with ``n_fft // 2`` zeros on both sides and frame ``t`` is centred on sample
``t * hop_length`` exactly as in ``librosa.stft(center=True, pad_mode="constant")``; there are
``1 + n_samples // hop_length`` frames. With ``center=False`` frame ``t`` starts at sample
``t * hop_length`` (textbook framing), there are ``1 + (n_samples - win_length) // hop_length``
frames, the tail that does not fill a frame is dropped, and a signal shorter than one window is
zero-padded to one frame.

Speed: filterbanks, windows and DCT matrices are cached per parameter set; the power spectrum
is never formed explicitly: the squared real and imaginary parts of the rFFT are projected on the
mel filters in a few dense bands (the filters are sparse), and batches are processed in chunks of
similar length that stay in the CPU cache. Padding with zeros and trimming each output to its own
frame count makes a batched result equal to the per-utterance result.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from serkit.errors import AudioError, ParameterError
from serkit.features.frontend import SAMPLE_RATE, Frontend, check_param, register_frontend

__all__ = [
    "LogMel",
    "LogSpec",
    "MelImage",
    "Mfcc",
    "dct_matrix",
    "deltas",
    "frame_count",
    "log_power",
    "mel_filterbank",
    "mfcc_from_log_mel",
    "power_to_db",
    "preemphasis",
    "stft_power",
]

WINDOWS = ("hann", "hamming", "rectangular")
MEL_NORMS = (None, "slaney")

# Frames are transformed in blocks of about this many float32 values (1 MiB) so that the frames,
# their spectrum and its square stay in the L2 cache: measured 1.5-2x faster than whole batches.
_BLOCK_VALUES = 1 << 18


# ----------------------------------------------------------------------------------------------
# Pure building blocks
# ----------------------------------------------------------------------------------------------


def preemphasis(y: torch.Tensor, *, coef: float = 0.97) -> torch.Tensor:
    """Pre-emphasis filter ``y'[n] = y[n] - coef * y[n - 1]`` with ``y'[0] = y[0]``.

    This is the textbook definition used by the DRSN-BiGRU paper (and ``python_speech_features``).
    ``librosa.effects.preemphasis`` differs in its first sample only: its default ``zi`` makes
    ``y'[0] = y[0] - coef * (2 * y[0] - y[1])``; we keep the textbook form deliberately, so a
    constant-zero history is assumed and nothing is extrapolated.

    Parameters
    ----------
    y : torch.Tensor [shape=(..., n_samples)]
        Waveforms; the filter runs along the last axis.
    coef : float in [0, 1)
        Pre-emphasis coefficient; 0 returns a copy.

    Returns
    -------
    torch.Tensor [shape=(..., n_samples)], same dtype as ``y``.

    Raises
    ------
    ParameterError
        If ``coef`` is outside [0, 1).

    Examples
    --------
    >>> preemphasis(torch.tensor([1.0, 1.0, 1.0]), coef=0.5)
    tensor([1.0000, 0.5000, 0.5000])
    """
    check_param(0.0 <= coef < 1.0, "preemphasis", "coef", "a float in [0, 1)", coef)
    out = y.clone()
    if y.shape[-1] > 1 and coef:
        out[..., 1:] -= coef * y[..., :-1]
    return out


def frame_count(
    n_samples: int, *, hop_length: int, n_fft: int, win_length: int | None = None, center: bool
) -> int:
    """Number of frames the STFT of ``n_samples`` samples has (see the module's framing convention).

    Parameters
    ----------
    n_samples : int >= 0
    hop_length : int > 0
        Frame step in samples.
    n_fft : int > 0
        DFT length in samples.
    win_length : int in [1, n_fft] or None
        Window length in samples; ``None`` means ``n_fft``.
    center : bool
        Centred frames (librosa) or frames starting at ``t * hop_length``.

    Returns
    -------
    int >= 1

    Examples
    --------
    >>> frame_count(48000, hop_length=128, n_fft=2048, center=True)
    376
    """
    win = n_fft if win_length is None else win_length
    if center:
        return 1 + max(0, n_samples + 2 * (n_fft // 2) - n_fft) // hop_length
    return 1 + max(0, n_samples - win) // hop_length


@functools.lru_cache(maxsize=32)
def _window(kind: str, length: int) -> torch.Tensor:
    if kind == "hann":
        return torch.hann_window(length, periodic=True, dtype=torch.float64).float()
    if kind == "hamming":
        return torch.hamming_window(length, periodic=True, dtype=torch.float64).float()
    if kind == "rectangular":
        return torch.ones(length)
    raise ParameterError(f"The 'window' parameter must be one of {WINDOWS}. Got {kind!r} instead.")


def _check_stft(name: str, *, n_fft: int, hop_length: int, win_length: int | None, window: str) -> int:
    check_param(isinstance(n_fft, int) and n_fft >= 2, name, "n_fft", "an int >= 2", n_fft)
    check_param(
        isinstance(hop_length, int) and hop_length >= 1, name, "hop_length", "an int >= 1", hop_length
    )
    win = n_fft if win_length is None else win_length
    check_param(
        isinstance(win, int) and 1 <= win <= n_fft,
        name,
        "win_length",
        f"None or an int in [1, n_fft={n_fft}]",
        win,
    )
    check_param(window in WINDOWS, name, "window", f"one of {WINDOWS}", window)
    return win


def _frames(
    x: torch.Tensor, *, n_fft: int, hop_length: int, win_length: int, window: str, center: bool
) -> torch.Tensor:
    """Windowed frames ``(..., n_frames, win_length)`` of ``x (..., n_samples)`` (module convention)."""
    n = x.shape[-1]
    n_frames = frame_count(n, hop_length=hop_length, n_fft=n_fft, win_length=win_length, center=center)
    # Left padding puts the window where librosa puts it inside its centred n_fft-long frame.
    left = n_fft // 2 - (n_fft - win_length) // 2 if center else 0
    right = max(0, (n_frames - 1) * hop_length + win_length - left - n)
    if left or right:
        x = torch.nn.functional.pad(x, (left, right))
    frames = x.unfold(-1, win_length, hop_length)[..., :n_frames, :]
    return frames * _window(window, win_length)


def stft_power(
    y: torch.Tensor,
    *,
    n_fft: int,
    hop_length: int,
    win_length: int | None = None,
    window: str = "hann",
    center: bool = True,
) -> torch.Tensor:
    """Power spectrogram ``|STFT|^2`` (no scaling), time-major.

    Equals ``np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
    window=window, center=center, pad_mode="constant")) ** 2`` transposed, for ``center=True``;
    with ``center=False`` frames start at ``t * hop_length`` (see the module docstring).

    Parameters
    ----------
    y : torch.Tensor [shape=(..., n_samples)], float32
    n_fft : int >= 2
        DFT length in samples (frames shorter than that are zero-padded).
    hop_length : int >= 1
        Frame step in samples.
    win_length : int in [1, n_fft] or None
        Window length in samples; ``None`` means ``n_fft``.
    window : {"hann", "hamming", "rectangular"}
        Periodic window.
    center : bool
        Centre frames on ``t * hop_length`` with zero padding (librosa) or not.

    Returns
    -------
    torch.Tensor [shape=(..., n_frames, 1 + n_fft // 2)], non-negative.

    Raises
    ------
    ParameterError
        On invalid lengths or an unknown window.

    Examples
    --------
    >>> stft_power(torch.zeros(16000), n_fft=512, hop_length=160).shape
    torch.Size([101, 257])
    """
    win = _check_stft("stft_power", n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window)
    frames = _frames(y, n_fft=n_fft, hop_length=hop_length, win_length=win, window=window, center=center)
    spec = torch.fft.rfft(frames, n=n_fft)
    return spec.real.square() + spec.imag.square()


def _hz_to_mel(freq: np.ndarray, *, htk: bool) -> np.ndarray:
    freq = np.asanyarray(freq, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + freq / 700.0)
    f_sp = 200.0 / 3
    mels = freq / f_sp
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(
        freq >= min_log_hz, min_log_mel + np.log(np.maximum(freq, min_log_hz) / min_log_hz) / logstep, mels
    )


def _mel_to_hz(mels: np.ndarray, *, htk: bool) -> np.ndarray:
    mels = np.asanyarray(mels, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)), f_sp * mels)


@functools.lru_cache(maxsize=32)
def _mel_filterbank64(
    sample_rate: int, n_fft: int, n_mels: int, fmin_hz: float, fmax_hz: float, htk: bool, norm: str | None
) -> np.ndarray:
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    mel_f = _mel_to_hz(
        np.linspace(_hz_to_mel(fmin_hz, htk=htk), _hz_to_mel(fmax_hz, htk=htk), n_mels + 2), htk=htk
    )
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":
        weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    weights.setflags(write=False)
    return weights


def mel_filterbank(
    *,
    sample_rate: int,
    n_fft: int,
    n_mels: int,
    fmin_hz: float = 0.0,
    fmax_hz: float | None = None,
    htk: bool = False,
    norm: str | None = "slaney",
) -> np.ndarray:
    """Triangular mel filters; equals ``librosa.filters.mel`` with the same options.

    Filter ``m`` rises linearly from mel point ``m`` to 1 at point ``m + 1`` and falls back to 0
    at point ``m + 2`` (Eq. 3 of the DRSN-BiGRU paper), the ``n_mels + 2`` points being equally
    spaced on the mel scale between ``fmin_hz`` and ``fmax_hz``.

    Parameters
    ----------
    sample_rate : int > 0
        Sampling rate in Hz.
    n_fft : int >= 2
        DFT length; the filters have ``1 + n_fft // 2`` taps (bins ``k * sample_rate / n_fft`` Hz).
    n_mels : int >= 1
        Number of filters.
    fmin_hz, fmax_hz : float
        Band edges in Hz, ``0 <= fmin_hz < fmax_hz <= sample_rate / 2``; ``fmax_hz=None`` is Nyquist.
    htk : bool
        HTK mel formula ``2595 log10(1 + f / 700)``; otherwise Slaney's (linear below 1 kHz).
    norm : {None, "slaney"}
        ``None``: peak 1 (as in the DRSN-BiGRU paper); ``"slaney"``: each filter scaled to unit area
        per Hz, as librosa's default.

    Returns
    -------
    np.ndarray [shape=(n_mels, 1 + n_fft // 2)], float32, non-negative.

    Raises
    ------
    ParameterError
        On invalid values.

    Examples
    --------
    >>> mel_filterbank(sample_rate=16000, n_fft=512, n_mels=40).shape
    (40, 257)
    """
    fmax = sample_rate / 2 if fmax_hz is None else fmax_hz
    _check_mel(
        "mel_filterbank", sample_rate=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin_hz=fmin_hz, fmax_hz=fmax
    )
    check_param(norm in MEL_NORMS, "mel_filterbank", "norm", f"one of {MEL_NORMS}", norm)
    return _mel_filterbank64(sample_rate, n_fft, n_mels, float(fmin_hz), float(fmax), htk, norm).astype(
        np.float32
    )


def _check_mel(
    name: str, *, sample_rate: int, n_fft: int, n_mels: int, fmin_hz: float, fmax_hz: float
) -> None:
    check_param(isinstance(n_mels, int) and n_mels >= 1, name, "n_mels", "an int >= 1", n_mels)
    check_param(isinstance(n_fft, int) and n_fft >= 2, name, "n_fft", "an int >= 2", n_fft)
    check_param(fmin_hz >= 0.0, name, "fmin_hz", "a frequency >= 0 Hz", fmin_hz)
    check_param(
        fmin_hz < fmax_hz <= sample_rate / 2,
        name,
        "fmax_hz",
        f"None or a frequency in (fmin_hz={fmin_hz}, sample_rate/2={sample_rate / 2}] Hz",
        fmax_hz,
    )


def log_power(power: torch.Tensor, *, floor: float = 1e-10) -> torch.Tensor:
    """Natural log with a floor: ``log(max(power, floor))``.

    Parameters
    ----------
    power : torch.Tensor, non-negative
    floor : float > 0
        Smallest value passed to the log, so silence gives ``log(floor)`` (-23.03 for 1e-10)
        instead of ``-inf``.

    Returns
    -------
    torch.Tensor, same shape, values >= ``log(floor)``.

    Raises
    ------
    ParameterError
        If ``floor <= 0``.
    """
    check_param(floor > 0, "log_power", "floor", "a float > 0", floor)
    return torch.clamp(power, min=floor).log_()


def power_to_db(power: torch.Tensor, *, amin: float = 1e-10, top_db: float | None = 80.0) -> torch.Tensor:
    """Decibels ``10 log10(max(power, amin))`` (reference 1.0) like ``librosa.power_to_db``.

    Parameters
    ----------
    power : torch.Tensor [shape=(..., n_frames, n_features)], non-negative
    amin : float > 0
        Floor before the log (-100 dB for 1e-10).
    top_db : float > 0 or None
        Clip each spectrogram (the last two axes) to at least its own maximum minus ``top_db`` dB,
        as librosa does for a whole array; ``None`` disables clipping.

    Returns
    -------
    torch.Tensor, same shape, in dB.

    Raises
    ------
    ParameterError
        If ``amin <= 0`` or ``top_db <= 0``.
    """
    check_param(amin > 0, "power_to_db", "amin", "a float > 0", amin)
    check_param(top_db is None or top_db > 0, "power_to_db", "top_db", "None or a float > 0", top_db)
    db = torch.clamp(power, min=amin).log10_().mul_(10.0)
    if top_db is not None and db.numel():
        peak = db.amax(dim=(-2, -1), keepdim=True)
        db = torch.maximum(db, peak - top_db)
    return db


@functools.lru_cache(maxsize=16)
def _dct64(n_out: int, n_in: int) -> np.ndarray:
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    basis = np.cos(np.pi / n_in * (n + 0.5) * k) * np.sqrt(2.0 / n_in)
    basis[0] *= np.sqrt(0.5)
    return basis


def dct_matrix(*, n_out: int, n_in: int) -> torch.Tensor:
    """Orthonormal DCT-II basis (``scipy.fft.dct(type=2, norm="ortho")`` rows), float32.

    Parameters
    ----------
    n_out : int in [1, n_in]
        Number of coefficients kept.
    n_in : int >= 1
        Input length.

    Returns
    -------
    torch.Tensor [shape=(n_out, n_in)]

    Raises
    ------
    ParameterError
        If ``n_out`` is not in [1, n_in].
    """
    check_param(isinstance(n_in, int) and n_in >= 1, "dct_matrix", "n_in", "an int >= 1", n_in)
    check_param(
        isinstance(n_out, int) and 1 <= n_out <= n_in, "dct_matrix", "n_out", f"an int in [1, {n_in}]", n_out
    )
    return torch.from_numpy(_dct64(n_out, n_in).astype(np.float32))


def mfcc_from_log_mel(log_mel: torch.Tensor, *, n_mfcc: int) -> torch.Tensor:
    """MFCCs: orthonormal DCT-II over the mel axis of a log-mel spectrogram (as ``librosa.feature.mfcc``).

    Parameters
    ----------
    log_mel : torch.Tensor [shape=(..., n_frames, n_mels)]
        Log-mel spectrogram, time-major (librosa uses dB: pass :func:`power_to_db` output to match it).
    n_mfcc : int in [1, n_mels]

    Returns
    -------
    torch.Tensor [shape=(..., n_frames, n_mfcc)]

    Raises
    ------
    ParameterError
        If ``n_mfcc`` exceeds ``n_mels``.
    """
    n_mels = log_mel.shape[-1]
    check_param(
        isinstance(n_mfcc, int) and 1 <= n_mfcc <= n_mels,
        "mfcc_from_log_mel",
        "n_mfcc",
        f"an int in [1, n_mels={n_mels}]",
        n_mfcc,
    )
    return log_mel @ dct_matrix(n_out=n_mfcc, n_in=n_mels).T


@functools.lru_cache(maxsize=64)
def _delta_operator(n_frames: int, width: int, order: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(interior filter (width,), left edge (h, width), right edge (h, width)) or a full (n, n) operator.

    Savitzky-Golay derivative with ``polyorder = order`` (what ``librosa.feature.delta`` calls):
    interior frames use the centred least-squares fit; the first and last ``width // 2`` frames
    evaluate the polynomial fitted to the first / last ``width`` frames (scipy's ``mode="interp"``).
    """
    w = min(width, n_frames)
    deg = min(order, w - 1)
    pos = np.arange(w, dtype=np.float64)
    pinv = np.linalg.pinv(pos[:, None] ** np.arange(deg + 1)[None, :])  # (deg + 1, w): poly coefficients

    def evaluate(at: np.ndarray) -> np.ndarray:
        # d^order/dt^order of sum_q a_q t^q at the given positions, as a linear map of the w inputs.
        rows = np.zeros((len(at), w))
        for q in range(order, deg + 1):
            rows += (
                (math.factorial(q) / math.factorial(q - order))
                * at[:, None] ** (q - order)
                * pinv[q][None, :]
            )
        return rows

    if n_frames <= width:
        op = evaluate(np.arange(n_frames, dtype=np.float64))
        return torch.from_numpy(op.astype(np.float32)), torch.empty(0), torch.empty(0)
    half = width // 2
    centre = evaluate(np.array([float(half)]))[0]
    left = evaluate(np.arange(half, dtype=np.float64))
    right = evaluate(np.arange(width - half, width, dtype=np.float64))
    return (
        torch.from_numpy(centre.astype(np.float32)),
        torch.from_numpy(left.astype(np.float32)),
        torch.from_numpy(right.astype(np.float32)),
    )


def deltas(x: torch.Tensor, *, width: int = 9, order: int = 1) -> torch.Tensor:
    """Local derivative (delta) features along time, like ``librosa.feature.delta(mode="interp")``.

    A Savitzky-Golay filter of polynomial order ``order`` over ``width`` frames, edges handled by
    fitting the polynomial to the first / last ``width`` frames. ``order=2`` is the second
    derivative of that fit (librosa's "delta-delta"), not the delta of the delta. Unlike librosa,
    which raises, sequences shorter than ``width`` get the derivative of one polynomial fitted to
    all their frames (the same rule librosa applies when ``n_frames == width``); a single frame
    has zero deltas.

    Parameters
    ----------
    x : torch.Tensor [shape=(n_frames, n_features)]
        Time-major features (librosa's ``data`` transposed).
    width : int, odd, >= 3
        Number of frames in the fit (librosa's default 9 = 4 frames either side).
    order : int in {1, 2}
        Derivative order.

    Returns
    -------
    torch.Tensor [shape=(n_frames, n_features)], float32, per frame step (not per second).

    Raises
    ------
    ParameterError
        On an even or too small ``width`` or an ``order`` other than 1 or 2.

    Examples
    --------
    >>> deltas(torch.arange(10.0)[:, None], order=1)[:, 0]
    tensor([1., 1., 1., 1., 1., 1., 1., 1., 1., 1.])
    """
    check_param(
        isinstance(width, int) and width >= 3 and width % 2 == 1, "deltas", "width", "an odd int >= 3", width
    )
    check_param(order in (1, 2), "deltas", "order", "1 or 2", order)
    check_param(x.ndim == 2, "deltas", "x", "a 2-D (n_frames, n_features) tensor", tuple(x.shape))
    x = x.float()
    n = x.shape[0]
    if n == 0:
        return x.clone()
    centre, left, right = _delta_operator(n, width, order)
    if n <= width:
        return centre @ x
    half = width // 2
    out = torch.empty_like(x)
    # Interior: correlate every feature with the centred filter via unfold + matmul.
    out[half : n - half] = x.unfold(0, width, 1) @ centre
    out[:half] = left @ x[:width]
    out[n - half :] = right @ x[n - width :]
    return out


# ----------------------------------------------------------------------------------------------
# Fast batched core shared by the frontends
# ----------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _mel_bands(
    sample_rate: int,
    n_fft: int,
    n_mels: int,
    fmin_hz: float,
    fmax_hz: float,
    htk: bool,
    norm: str | None,
    scale: float,
) -> tuple[tuple[int, int, int, int, torch.Tensor], ...]:
    """The filterbank split into dense bands: ``(mel_start, mel_stop, bin_start, bin_stop, weights)``.

    Groups of consecutive filters only touch a narrow range of bins, so projecting each group on
    its own bins skips most of the filterbank's zeros (3-5x fewer multiply-adds than one dense
    matmul for 128 bands).
    """
    fb = (_mel_filterbank64(sample_rate, n_fft, n_mels, fmin_hz, fmax_hz, htk, norm).T * scale).astype(
        np.float32
    )
    # About 16 filters per band: measured fastest for 40 and 128 mels (fewer calls vs fewer zeros).
    n_bands = max(1, round(n_mels / 16))
    edges = np.linspace(0, n_mels, n_bands + 1).round().astype(int)
    bands = []
    for m0, m1 in itertools.pairwise(edges):
        rows = np.flatnonzero(fb[:, m0:m1].any(axis=1))
        c0, c1 = (int(rows[0]), int(rows[-1]) + 1) if rows.size else (0, 1)
        bands.append((int(m0), int(m1), c0, c1, torch.from_numpy(np.ascontiguousarray(fb[c0:c1, m0:m1]))))
    return tuple(bands)


def _to_tensor(waveforms: Sequence[np.ndarray], name: str) -> list[torch.Tensor]:
    out = []
    for i, y in enumerate(waveforms):
        arr = np.asarray(y)
        if arr.ndim != 1:
            raise AudioError(
                None,
                f"frontend {name!r} expects 1-D mono waveforms; item {i} has shape {arr.shape}. "
                "Load audio with serkit.audio.load, which downmixes to mono.",
                kind="unsupported",
            )
        out.append(torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)))
    return out


def _stft_engine(
    signals: Sequence[torch.Tensor],
    *,
    n_fft: int,
    hop_length: int,
    win_length: int,
    window: str,
    center: bool,
    width: int,
    compute,
    preemphasis_coef: float = 0.0,
) -> tuple[torch.Tensor, list[int], list[int]]:
    """Run ``compute(spectrum_block, out_block)`` over the frames of all signals, block by block.

    Every signal gets its own segment of one flat buffer (its centre padding, the signal, zeros up
    to a whole number of hops), so all frames of all signals are rows of a single strided view
    with stride ``hop_length``: no padding to the longest signal, no Python loop per frame, and a
    frame's samples do not depend on its neighbours in the batch. A few rows per signal straddle
    two segments; they are computed and ignored.

    ``preemphasis_coef`` applies :func:`preemphasis` to each signal as it is copied into the buffer.

    Returns the output rows ``(n_rows, width)``, the first row of each signal and its frame count.
    """
    hop = hop_length
    left = n_fft // 2 - (n_fft - win_length) // 2 if center else 0
    counts = [
        frame_count(len(y), hop_length=hop, n_fft=n_fft, win_length=win_length, center=center)
        for y in signals
    ]
    firsts, sizes = [], []
    row = 0
    for y, n_frames in zip(signals, counts, strict=True):
        need = max(left + len(y), (n_frames - 1) * hop + win_length)
        seg_rows = -(-need // hop)
        firsts.append(row)
        sizes.append(seg_rows)
        row += seg_rows
    n_rows = row
    buf = torch.zeros(n_rows * hop + win_length)
    if preemphasis_coef:
        check_param(
            0.0 <= preemphasis_coef < 1.0, "preemphasis", "coef", "a float in [0, 1)", preemphasis_coef
        )
    for y, first in zip(signals, firsts, strict=True):
        start = first * hop + left
        if preemphasis_coef and len(y) > 1:
            # Filter straight into the buffer: no per-signal copy, no second pass over the batch.
            buf[start] = y[0]
            torch.sub(y[1:], y[:-1], alpha=preemphasis_coef, out=buf[start + 1 : start + len(y)])
        else:
            buf[start : start + len(y)] = y
    frames = buf.as_strided((n_rows, win_length), (hop, 1))
    win = _window(window, win_length)
    out = torch.empty(n_rows, width)
    block = max(32, _BLOCK_VALUES // n_fft)
    for r0 in range(0, n_rows, block):
        r1 = min(n_rows, r0 + block)
        compute(torch.fft.rfft(frames[r0:r1] * win, n=n_fft), out[r0:r1])
    return out, firsts, counts


def _mel_compute(bands: tuple):
    """A block function for :func:`_stft_engine`: mel power of an rFFT block."""

    def compute(spec: torch.Tensor, out: torch.Tensor) -> None:
        sq = torch.view_as_real(spec)
        sq = sq.mul_(sq)  # in place: the complex block is not needed afterwards
        power = torch.add(sq[..., 0], sq[..., 1])
        for m0, m1, c0, c1, w in bands:
            # BLAS writes straight into the strided column slice of the output: no concatenation.
            torch.matmul(power[:, c0:c1], w, out=out[:, m0:m1])

    return compute


def _check_rate(name: str, sample_rate: int) -> None:
    if sample_rate != SAMPLE_RATE:
        raise ParameterError(
            f"The 'sample_rate' parameter of frontend {name!r} must be {SAMPLE_RATE} Hz (serkit works on "
            f"16 kHz mono audio). Got {sample_rate!r} instead. Load audio with serkit.audio.load, which "
            "resamples to 16 kHz."
        )


@dataclass(frozen=True)
class _StftMel(Frontend):
    """Shared validation and batched mel computation (not registered)."""

    def _check_common(self) -> int:
        name = f"frontend {self.name!r}"
        win = _check_stft(
            name,
            n_fft=self.n_fft,  # type: ignore[attr-defined]
            hop_length=self.hop_length,  # type: ignore[attr-defined]
            win_length=self.win_length,  # type: ignore[attr-defined]
            window=self.window,  # type: ignore[attr-defined]
        )
        check_param(self.log_floor > 0, name, "log_floor", "a float > 0", self.log_floor)  # type: ignore[attr-defined]
        return win

    def _check_mel_fields(self) -> None:
        name = f"frontend {self.name!r}"
        fmax = SAMPLE_RATE / 2 if self.fmax_hz is None else self.fmax_hz  # type: ignore[attr-defined]
        _check_mel(
            name,
            sample_rate=SAMPLE_RATE,
            n_fft=self.n_fft,  # type: ignore[attr-defined]
            n_mels=self.n_mels,  # type: ignore[attr-defined]
            fmin_hz=self.fmin_hz,  # type: ignore[attr-defined]
            fmax_hz=fmax,
        )
        check_param(self.mel_norm in MEL_NORMS, name, "mel_norm", f"one of {MEL_NORMS}", self.mel_norm)  # type: ignore[attr-defined]
        fb = self._filterbank()
        empty = np.flatnonzero(fb.max(axis=0) <= 0)
        if empty.size:
            raise ParameterError(
                f"The mel filterbank of {name} has {empty.size} empty filter(s) (e.g. band {int(empty[0])}): "
                f"n_mels={self.n_mels} is too many for n_fft={self.n_fft}. "  # type: ignore[attr-defined]
                "Use fewer mel bands or a larger n_fft."
            )

    def _filterbank(self) -> np.ndarray:
        fmax = SAMPLE_RATE / 2 if self.fmax_hz is None else self.fmax_hz  # type: ignore[attr-defined]
        return _mel_filterbank64(
            SAMPLE_RATE,
            self.n_fft,  # type: ignore[attr-defined]
            self.n_mels,  # type: ignore[attr-defined]
            float(self.fmin_hz),  # type: ignore[attr-defined]
            float(fmax),
            self.htk,  # type: ignore[attr-defined]
            self.mel_norm,  # type: ignore[attr-defined]
        ).T

    def _bands(self, scale: float) -> tuple:
        fmax = SAMPLE_RATE / 2 if self.fmax_hz is None else self.fmax_hz  # type: ignore[attr-defined]
        return _mel_bands(
            SAMPLE_RATE,
            self.n_fft,  # type: ignore[attr-defined]
            self.n_mels,  # type: ignore[attr-defined]
            float(self.fmin_hz),  # type: ignore[attr-defined]
            float(fmax),
            self.htk,  # type: ignore[attr-defined]
            self.mel_norm,  # type: ignore[attr-defined]
            scale,
        )

    def _mel_rows(
        self, signals: Sequence[torch.Tensor], *, scale: float, preemphasis_coef: float = 0.0
    ) -> tuple[torch.Tensor, list[int], list[int]]:
        """Mel power rows ``(n_rows, n_mels)`` of all signals, with each signal's first row and count."""
        win = self.n_fft if self.win_length is None else self.win_length  # type: ignore[attr-defined]
        return _stft_engine(
            signals,
            n_fft=self.n_fft,  # type: ignore[attr-defined]
            hop_length=self.hop_length,  # type: ignore[attr-defined]
            win_length=win,
            window=self.window,  # type: ignore[attr-defined]
            center=self.center,  # type: ignore[attr-defined]
            width=self.n_mels,  # type: ignore[attr-defined]
            compute=_mel_compute(self._bands(scale)),
            preemphasis_coef=preemphasis_coef,
        )


# ----------------------------------------------------------------------------------------------
# Frontends
# ----------------------------------------------------------------------------------------------


@register_frontend
@dataclass(frozen=True)
class LogMel(_StftMel):
    """Log-mel spectrogram of the DRSN-BiGRU paper.

    Pipeline (Section 3.1 of the paper): pre-emphasis ``y[n] - 0.97 y[n-1]``; frames of
    ``N = n_fft = 512`` samples every ``hop_length = 200`` samples; window; FFT; power
    ``|F|^2 / N`` (``power_norm``); ``n_mels = 40`` triangular filters with peak 1 (Eq. 3:
    ``htk=True``, ``mel_norm=None``) between ``fmin_hz`` and ``fmax_hz``; natural log with floor
    ``log_floor``. The paper names no window function: Hamming is the textbook choice for
    pre-emphasised speech frames. Frames are not centred (the paper frames from the first sample);
    see the module docstring for the frame count and short signals.

    Parameters
    ----------
    n_mels : int >= 1
    n_fft : int >= 2
        Frame / DFT length in samples (512 = 32 ms).
    win_length : int in [1, n_fft] or None
        Window length in samples (None: ``n_fft``).
    hop_length : int >= 1
        Frame step in samples (200 = 12.5 ms). Spec alias: ``hop``.
    preemphasis : float in [0, 1)
        Pre-emphasis coefficient (textbook form, see :func:`preemphasis`). Spec alias: ``preemph``.
    window : {"hamming", "hann", "rectangular"}
    center : bool
    fmin_hz, fmax_hz : float
        Mel band edges in Hz (``fmax_hz=None``: 8000).
    htk : bool
        HTK mel formula.
    mel_norm : {None, "slaney"}
    power_norm : bool
        Divide the power spectrum by ``n_fft`` (Eq. 2).
    log_floor : float > 0
        Floor of the mel power before the natural log.

    Output: float32 ``(n_frames, n_mels)``, natural-log power.

    Raises
    ------
    ParameterError
        On invalid parameters or a sample rate other than 16 kHz.

    Examples
    --------
    >>> fe = build_frontend("logmel(n_mels=40, n_fft=512, hop=200, preemph=0.97)")
    >>> fe(np.zeros(16000, np.float32), sample_rate=16000).shape
    (78, 40)
    """

    name: ClassVar[str] = "logmel"
    paper: ClassVar[str] = (
        "Zhang et al. 2023, Speech emotion recognition based on mel-spectrogram and DRSN-BiGRU, Sensors "
        "(Section 3.1: pre-emphasis 0.97, N=512, step 200, |F|^2/N, 40 triangular mel filters, log)"
    )
    output: ClassVar[str] = "frames"
    version: ClassVar[int] = 1
    aliases: ClassVar[dict[str, str]] = {"hop": "hop_length", "preemph": "preemphasis", "win": "win_length"}

    n_mels: int = 40
    n_fft: int = 512
    win_length: int | None = None
    hop_length: int = 200
    preemphasis: float = 0.97
    window: str = "hamming"
    center: bool = False
    fmin_hz: float = 0.0
    fmax_hz: float | None = None
    htk: bool = True
    mel_norm: str | None = None
    power_norm: bool = True
    log_floor: float = 1e-10

    def __post_init__(self) -> None:
        self._check_common()
        check_param(
            0.0 <= self.preemphasis < 1.0,
            "frontend 'logmel'",
            "preemphasis",
            "a float in [0, 1)",
            self.preemphasis,
        )
        self._check_mel_fields()

    def extract_batch(self, waveforms: Sequence[np.ndarray], *, sample_rate: int) -> list[np.ndarray]:
        """Log-mel spectrograms ``[shape=(n_frames, n_mels)]`` float32, one per waveform (16 kHz)."""
        _check_rate(self.name, sample_rate)
        signals = _to_tensor(waveforms, self.name)
        scale = 1.0 / self.n_fft if self.power_norm else 1.0
        mel, firsts, counts = self._mel_rows(signals, scale=scale, preemphasis_coef=self.preemphasis)
        logmel = mel.clamp_(min=self.log_floor).log_()
        return [logmel[r : r + n].numpy().copy() for r, n in zip(firsts, counts, strict=True)]


@register_frontend
@dataclass(frozen=True)
class MelImage(_StftMel):
    """128-band mel-spectrogram "images" of 3 s windows (multi-input MelSpec + GeMAPS paper).

    The paper cuts each utterance into 3000 ms windows overlapping by 750 ms (hop 2.25 s) and
    extracts a 128 x 376 mel spectrogram of each with librosa. 376 frames in 3 s at 16 kHz means
    centred frames with ``hop_length=128``; the rest are librosa's defaults (``n_fft=2048``, Hann,
    Slaney mel with Slaney norm, power 2, ``power_to_db`` with ref 1.0, amin 1e-10 and
    ``top_db=80`` applied per image), so each image equals
    ``librosa.power_to_db(librosa.feature.melspectrogram(y=clip, sr=16000, hop_length=128, n_mels=128))``.

    Windows: an utterance no longer than ``window_s`` gives one window, zero-padded at the end to
    ``window_s``. Longer ones give windows starting every ``window_s - overlap_s`` seconds while they
    fit, and the remaining tail (if any) is handled by ``tail``: ``"align"`` (default) adds a last
    window ending at the utterance's end (so no image of a long utterance contains padding),
    ``"pad"`` adds the next window zero-padded, ``"drop"`` ignores the tail (the paper's
    segmentation is silent on it).

    Parameters
    ----------
    n_mels : int >= 1
    n_fft : int >= 2
    win_length : int or None
    hop_length : int >= 1
    window : {"hann", "hamming", "rectangular"}
    center : bool
    fmin_hz, fmax_hz : float
    htk : bool
    mel_norm : {None, "slaney"}
    top_db : float > 0 or None
        Per-image dynamic range clip in dB.
    log_floor : float > 0
        Power floor before the dB conversion (librosa's ``amin``).
    window_s : float > 0
        Window (image) duration in seconds; ``window_s * 16000`` must be an integer.
    overlap_s : float in [0, window_s)
        Overlap of consecutive windows in seconds.
    tail : {"align", "pad", "drop"}

    Output: float32 ``(n_windows, n_mels, n_frames_per_window)`` in dB, frequency-major inside each
    image (as the paper's 128 x 376 images); ``(k, 128, 376)`` with the defaults.

    Raises
    ------
    ParameterError
        On invalid parameters or a sample rate other than 16 kHz.
    """

    name: ClassVar[str] = "melimage"
    paper: ClassVar[str] = (
        "Toyoshima et al. 2023, Multi-Input Speech Emotion Recognition Model Using Mel Spectrogram and "
        "GeMAPS, Sensors 23, 1743 (3 s windows, 750 ms overlap, 128 x 376 librosa mel spectrograms)"
    )
    output: ClassVar[str] = "frames"
    version: ClassVar[int] = 1
    aliases: ClassVar[dict[str, str]] = {"hop": "hop_length"}

    n_mels: int = 128
    n_fft: int = 2048
    win_length: int | None = None
    hop_length: int = 128
    window: str = "hann"
    center: bool = True
    fmin_hz: float = 0.0
    fmax_hz: float | None = None
    htk: bool = False
    mel_norm: str | None = "slaney"
    top_db: float | None = 80.0
    log_floor: float = 1e-10
    window_s: float = 3.0
    overlap_s: float = 0.75
    tail: str = "align"

    def __post_init__(self) -> None:
        name = "frontend 'melimage'"
        self._check_common()
        self._check_mel_fields()
        check_param(
            self.top_db is None or self.top_db > 0, name, "top_db", "None or a float > 0", self.top_db
        )
        n_win = self.window_s * SAMPLE_RATE
        check_param(
            self.window_s > 0 and abs(n_win - round(n_win)) < 1e-6,
            name,
            "window_s",
            "a duration > 0 s that is a whole number of samples at 16 kHz",
            self.window_s,
        )
        n_hop = (self.window_s - self.overlap_s) * SAMPLE_RATE
        check_param(
            0 <= self.overlap_s < self.window_s and abs(n_hop - round(n_hop)) < 1e-6,
            name,
            "overlap_s",
            f"a duration in [0, window_s={self.window_s}) s that is a whole number of samples",
            self.overlap_s,
        )
        check_param(
            self.tail in ("align", "pad", "drop"), name, "tail", "one of 'align', 'pad', 'drop'", self.tail
        )

    def window_starts(self, n_samples: int) -> list[int]:
        """Start samples of the windows of an utterance of ``n_samples`` samples (see the class doc)."""
        size = round(self.window_s * SAMPLE_RATE)
        step = round((self.window_s - self.overlap_s) * SAMPLE_RATE)
        if n_samples <= size:
            return [0]
        starts = list(range(0, n_samples - size + 1, step))
        end = starts[-1] + size
        if end < n_samples:
            if self.tail == "align":
                starts.append(n_samples - size)
            elif self.tail == "pad":
                starts.append(starts[-1] + step)
        return starts

    def extract_batch(self, waveforms: Sequence[np.ndarray], *, sample_rate: int) -> list[np.ndarray]:
        """Mel images ``[shape=(n_windows, n_mels, n_frames_per_window)]`` float32 dB, one per waveform."""
        _check_rate(self.name, sample_rate)
        signals = _to_tensor(waveforms, self.name)
        size = round(self.window_s * SAMPLE_RATE)
        clips: list[torch.Tensor] = []
        owner: list[int] = []
        for i, y in enumerate(signals):
            for start in self.window_starts(len(y)):
                clip = y[start : start + size]
                if len(clip) < size:
                    clip = torch.nn.functional.pad(clip, (0, size - len(clip)))
                clips.append(clip)
                owner.append(i)
        mel, firsts, counts = self._mel_rows(clips, scale=1.0)
        db = mel.clamp_(min=self.log_floor).log10_().mul_(10.0)
        out: list[list[torch.Tensor]] = [[] for _ in signals]
        for i, r, n in zip(owner, firsts, counts, strict=True):
            image = db[r : r + n]
            if self.top_db is not None:
                # librosa clips each image to its own peak minus top_db.
                image = torch.clamp(image, min=float(image.max()) - self.top_db)
            out[i].append(image.T)
        return [torch.stack(images).numpy() for images in out]


@register_frontend
@dataclass(frozen=True)
class LogSpec(_StftMel):
    """Log-power spectrogram of the Bi-GRU + multi-head attention paper, 0-4 kHz at 10 Hz resolution.

    Section 2.1 of the paper: Hamming windows of 40 ms (``win_length=640``) every 10 ms
    (``hop_length=160``), a 1600-point DFT (10 Hz bins: the windowed frame is zero-padded), bins from
    ``fmin_hz`` to ``fmax_hz`` inclusive kept (0-4000 Hz: 401 bins), then the log power
    ``log(max(|X|^2, log_floor))``. Frames are not centred (the paper does not say; textbook framing).
    The paper's z-normalisation with the training fold's mean and standard deviation is *not* done
    here: use the normaliser module (``serkit.features.normalise``) fitted on the training split.

    Parameters
    ----------
    n_fft : int >= 2
        DFT length in samples (1600: 10 Hz bins).
    win_length : int in [1, n_fft] or None
    hop_length : int >= 1
    window : {"hamming", "hann", "rectangular"}
    center : bool
    fmin_hz, fmax_hz : float
        Kept band in Hz, both ends inclusive; ``fmax_hz=None`` keeps up to 8000 Hz.
    log_floor : float > 0

    Output: float32 ``(n_frames, n_bins)``; ``n_bins = 401`` with the defaults (bin ``k`` at ``10 k`` Hz).

    Raises
    ------
    ParameterError
        On invalid parameters or a sample rate other than 16 kHz.
    """

    name: ClassVar[str] = "logspec"
    paper: ClassVar[str] = (
        "Xu et al. 2023, Speech emotion recognition using Bi-GRU and multi-head attention (Section 2.1: "
        "40 ms Hamming, 10 ms hop, 1600-point DFT, 0-4 kHz, log power, z-normalised on the training set)"
    )
    output: ClassVar[str] = "frames"
    version: ClassVar[int] = 1
    aliases: ClassVar[dict[str, str]] = {"hop": "hop_length", "win": "win_length"}

    n_fft: int = 1600
    win_length: int | None = 640
    hop_length: int = 160
    window: str = "hamming"
    center: bool = False
    fmin_hz: float = 0.0
    fmax_hz: float | None = 4000.0
    log_floor: float = 1e-10

    def __post_init__(self) -> None:
        name = "frontend 'logspec'"
        self._check_common()
        check_param(self.fmin_hz >= 0.0, name, "fmin_hz", "a frequency >= 0 Hz", self.fmin_hz)
        fmax = SAMPLE_RATE / 2 if self.fmax_hz is None else self.fmax_hz
        check_param(
            self.fmin_hz <= fmax <= SAMPLE_RATE / 2,
            name,
            "fmax_hz",
            "None or a frequency in [fmin_hz, 8000] Hz",
            fmax,
        )
        lo, hi = self.bin_range()
        check_param(hi > lo, name, "fmax_hz", "high enough to keep at least one DFT bin", self.fmax_hz)

    def bin_range(self) -> tuple[int, int]:
        """``(first, stop)`` DFT bin indices kept (bin ``k`` is ``k * 16000 / n_fft`` Hz)."""
        fmax = SAMPLE_RATE / 2 if self.fmax_hz is None else self.fmax_hz
        step = SAMPLE_RATE / self.n_fft
        # A small tolerance keeps bins whose frequency equals an edge up to rounding (4000 Hz is bin 400).
        return math.ceil(self.fmin_hz / step - 1e-9), math.floor(fmax / step + 1e-9) + 1

    def frequencies_hz(self) -> np.ndarray:
        """Centre frequency in Hz of each output column ``[shape=(n_bins,)]``."""
        lo, hi = self.bin_range()
        return np.arange(lo, hi) * (SAMPLE_RATE / self.n_fft)

    def extract_batch(self, waveforms: Sequence[np.ndarray], *, sample_rate: int) -> list[np.ndarray]:
        """Log-power spectrograms ``[shape=(n_frames, n_bins)]`` float32, one per waveform (16 kHz)."""
        _check_rate(self.name, sample_rate)
        signals = _to_tensor(waveforms, self.name)
        win = self.n_fft if self.win_length is None else self.win_length
        lo, hi = self.bin_range()
        floor = self.log_floor

        def compute(spec: torch.Tensor, out: torch.Tensor) -> None:
            part = torch.view_as_real(spec[:, lo:hi])
            part = part.square()
            torch.add(part[..., 0], part[..., 1], out=out)
            out.clamp_(min=floor).log_()

        rows, firsts, counts = _stft_engine(
            signals,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=win,
            window=self.window,
            center=self.center,
            width=hi - lo,
            compute=compute,
        )
        return [rows[r : r + n].numpy().copy() for r, n in zip(firsts, counts, strict=True)]


@register_frontend
@dataclass(frozen=True)
class Mfcc(_StftMel):
    """MFCCs (+ deltas) as in the 1D-CNN / RNN paper on RAVDESS, computed like ``librosa.feature.mfcc``.

    The paper fixes 80 coefficients and names no analysis parameters, which is what
    ``librosa.feature.mfcc(y=y, sr=sr, n_mfcc=80)`` with its defaults gives; at 16 kHz those defaults
    are kept in samples: ``n_fft=2048`` (128 ms), ``hop_length=512`` (32 ms), Hann, centred frames
    with zero padding, 128 Slaney mel bands with Slaney norm, ``power_to_db`` (ref 1, amin 1e-10,
    ``top_db=80`` over the whole utterance) and an orthonormal DCT-II. The paper averages the
    coefficients over time into one 80-vector per file; here the frames are kept (pool downstream).
    ``delta_order`` 1 or 2 appends :func:`deltas` (``width=delta_width``) of order 1 (and 2).

    Parameters
    ----------
    n_mfcc : int in [1, n_mels]
    n_mels : int >= 1
    n_fft : int >= 2
    win_length : int or None
    hop_length : int >= 1
    window : {"hann", "hamming", "rectangular"}
    center : bool
    fmin_hz, fmax_hz : float
    htk : bool
    mel_norm : {None, "slaney"}
    top_db : float > 0 or None
    log_floor : float > 0
        librosa's ``amin``.
    delta_order : int in {0, 1, 2}
        0: MFCCs only; 1: ``[mfcc, delta]``; 2: ``[mfcc, delta, delta2]`` along features.
    delta_width : int, odd, >= 3

    Output: float32 ``(n_frames, n_mfcc * (1 + delta_order))``.

    Raises
    ------
    ParameterError
        On invalid parameters (``n_mfcc > n_mels`` included) or a sample rate other than 16 kHz.
    """

    name: ClassVar[str] = "mfcc"
    paper: ClassVar[str] = (
        "1D-CNN and RNN speech emotion recognition on RAVDESS with 80 MFCCs (librosa.feature.mfcc defaults)"
    )
    output: ClassVar[str] = "frames"
    version: ClassVar[int] = 1
    aliases: ClassVar[dict[str, str]] = {"hop": "hop_length", "deltas": "delta_order"}

    n_mfcc: int = 80
    n_mels: int = 128
    n_fft: int = 2048
    win_length: int | None = None
    hop_length: int = 512
    window: str = "hann"
    center: bool = True
    fmin_hz: float = 0.0
    fmax_hz: float | None = None
    htk: bool = False
    mel_norm: str | None = "slaney"
    top_db: float | None = 80.0
    log_floor: float = 1e-10
    delta_order: int = 0
    delta_width: int = 9

    def __post_init__(self) -> None:
        name = "frontend 'mfcc'"
        self._check_common()
        self._check_mel_fields()
        check_param(
            1 <= self.n_mfcc <= self.n_mels,
            name,
            "n_mfcc",
            f"an int in [1, n_mels={self.n_mels}]",
            self.n_mfcc,
        )
        check_param(
            self.top_db is None or self.top_db > 0, name, "top_db", "None or a float > 0", self.top_db
        )
        check_param(self.delta_order in (0, 1, 2), name, "delta_order", "0, 1 or 2", self.delta_order)
        check_param(
            self.delta_width >= 3 and self.delta_width % 2 == 1,
            name,
            "delta_width",
            "an odd int >= 3",
            self.delta_width,
        )

    def extract_batch(self, waveforms: Sequence[np.ndarray], *, sample_rate: int) -> list[np.ndarray]:
        """MFCC frames ``[shape=(n_frames, n_mfcc * (1 + delta_order))]`` float32, one per waveform."""
        _check_rate(self.name, sample_rate)
        signals = _to_tensor(waveforms, self.name)
        dct_t = dct_matrix(n_out=self.n_mfcc, n_in=self.n_mels).T.contiguous()
        mel, firsts, counts = self._mel_rows(signals, scale=1.0)
        db = mel.clamp_(min=self.log_floor).log10_().mul_(10.0)
        if self.top_db is not None:
            # top_db is relative to each utterance's own peak.
            for r, n in zip(firsts, counts, strict=True):
                seg = db[r : r + n]
                seg.clamp_(min=float(seg.max()) - self.top_db)
        coeffs_all = db @ dct_t
        out = []
        for r, n in zip(firsts, counts, strict=True):
            coeffs = coeffs_all[r : r + n]
            if self.delta_order:
                parts = [coeffs, deltas(coeffs, width=self.delta_width, order=1)]
                if self.delta_order == 2:
                    parts.append(deltas(coeffs, width=self.delta_width, order=2))
                coeffs = torch.cat(parts, dim=-1)
            out.append(coeffs.numpy().copy())
        return out
