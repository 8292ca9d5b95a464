"""Audio input: decode any file soundfile can read, check it, and return 16 kHz mono float32.

``load(path)`` is the single boundary where audio enters serkit. Every failure is an
:class:`~serkit.errors.AudioError` that names the file and says what is wrong (``kind`` tags it
for reports): missing, empty, unsupported or corrupt, truncated, non-finite, all-silent, too long.
Resampling uses soxr (HQ) and is always explicit: the target rate is a parameter (default 16 kHz)
and the original rate is reported in :class:`AudioInfo`.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from serkit.errors import AudioError, ParameterError

__all__ = [
    "AUDIO_EXTENSIONS",
    "DEFAULT_MAX_DURATION_S",
    "SAMPLE_RATE",
    "AudioInfo",
    "check_waveform",
    "info",
    "load",
    "resample",
    "to_mono",
]

SAMPLE_RATE = 16_000
DEFAULT_MAX_DURATION_S = 4 * 3600.0
#: Peak level (dBFS) below which a signal counts as all-silent: below one 16-bit LSB (-90 dBFS).
SILENCE_PEAK_DBFS = -90.0
#: Extensions adapters look for; decoded by libsndfile, or by ffmpeg (when on PATH) for containers.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au", ".m4a", ".mp4")
_FFMPEG_ONLY = {".m4a", ".mp4", ".aac", ".webm", ".mkv"}


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds before any conversion.

    Attributes
    ----------
    path : str
    sample_rate : int
        Original sampling rate in Hz.
    channels : int
    n_frames : int
        Samples per channel at the original rate.
    format : str
        Container (``WAV``, ``FLAC``, ...).
    subtype : str
        Sample encoding (``PCM_16``, ``FLOAT``, ...).
    """

    path: str
    sample_rate: int
    channels: int
    n_frames: int
    format: str
    subtype: str

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.sample_rate if self.sample_rate else 0.0


def _check_path(path: Path) -> None:
    if not path.exists():
        raise AudioError(path, "the file does not exist.", kind="missing")
    if path.is_dir():
        raise AudioError(path, "it is a folder, not an audio file.", kind="unsupported")
    if path.stat().st_size == 0:
        raise AudioError(path, "the file is empty (0 bytes).", kind="empty")


def _check_riff_length(path: Path) -> None:
    """A WAV whose data chunk claims more bytes than the file holds was cut short.

    libsndfile silently shortens such files (it only notes it in its log), so check the header here.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        offset = 12
        while offset + 8 <= size:
            fh.seek(offset)
            chunk_id, chunk_size = struct.unpack("<4sI", fh.read(8))
            if chunk_id == b"data":
                available = size - offset - 8
                # 0 and 0xFFFFFFFF mean "unknown length" (streamed writers); not a truncation.
                if chunk_size not in (0, 0xFFFFFFFF) and chunk_size > available:
                    raise AudioError(
                        path,
                        f"the file is truncated: its header declares {chunk_size} bytes of audio but only "
                        f"{available} are present.",
                        kind="truncated",
                    )
                return
            offset += 8 + chunk_size + (chunk_size & 1)


def info(path: str | Path) -> AudioInfo:
    """Read a file's header: rate, channels, length, format. Fast; does not decode the audio.

    Raises
    ------
    AudioError
        If the file is missing, empty, truncated (WAV) or not a format libsndfile recognises.
    """
    path = Path(path)
    _check_path(path)
    if path.suffix.lower() in _FFMPEG_ONLY:
        y, sr = _ffmpeg_decode(path)
        return AudioInfo(str(path), sr, 1, len(y), path.suffix.lstrip(".").upper(), "ffmpeg")
    _check_riff_length(path)
    try:
        meta = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(path, f"not a readable audio file ({exc}).", kind="corrupt") from exc
    return AudioInfo(
        str(path), int(meta.samplerate), int(meta.channels), int(meta.frames), meta.format, meta.subtype
    )


def _ffmpeg_decode(path: Path, sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, int]:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise AudioError(
            path,
            f"'{path.suffix}' files need ffmpeg to decode and it is not on PATH. "
            "Install ffmpeg, or convert the file to WAV/FLAC first.",
            kind="unsupported",
        )
    cmd = [exe, "-nostdin", "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", str(sample_rate)]
    proc = subprocess.run([*cmd, "-f", "f32le", "-"], capture_output=True, check=False)
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["unknown error"]
        raise AudioError(path, f"ffmpeg could not decode it ({msg[0]}).", kind="corrupt")
    return np.frombuffer(proc.stdout, dtype=np.float32).copy(), sample_rate


def to_mono(y: np.ndarray) -> np.ndarray:
    """Average the channels of ``y [shape=(n_samples, n_channels)]``; 1-D input is returned as is."""
    return y if y.ndim == 1 else y.mean(axis=1, dtype=np.float32)


def resample(y: np.ndarray, *, orig_sample_rate: int, target_sample_rate: int) -> np.ndarray:
    """Resample ``y`` from ``orig_sample_rate`` to ``target_sample_rate`` Hz with soxr (HQ)."""
    for name, value in (("orig_sample_rate", orig_sample_rate), ("target_sample_rate", target_sample_rate)):
        if not isinstance(value, int | np.integer) or value <= 0:
            raise ParameterError(f"The {name!r} parameter of resample must be an int > 0. Got {value!r}.")
    if orig_sample_rate == target_sample_rate:
        return y.astype(np.float32, copy=False)
    return soxr.resample(y, orig_sample_rate, target_sample_rate, quality="HQ").astype(np.float32, copy=False)


def check_waveform(
    y: np.ndarray,
    *,
    sample_rate: int,
    path: str | Path | None = None,
    allow_silent: bool = False,
    max_duration_s: float | None = DEFAULT_MAX_DURATION_S,
) -> np.ndarray:
    """Validate a decoded waveform; return it as float32.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,) or (n_samples, n_channels)]
    sample_rate : int > 0
        Rate of ``y`` in Hz.
    path : str or Path, optional
        Named in error messages.
    allow_silent : bool
        Accept a signal whose peak is below ``SILENCE_PEAK_DBFS`` (-90 dBFS).
    max_duration_s : float or None
        Reject longer signals (``None``: no limit).

    Raises
    ------
    AudioError
        ``empty``, ``non-finite``, ``silent`` or ``too-long``.
    """
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.floating):
        raise AudioError(path, f"expected floating-point samples, got dtype {y.dtype}.", kind="unsupported")
    if y.ndim not in (1, 2):
        raise AudioError(path, f"expected shape (n_samples,) or (n_samples, n_channels), got {y.shape}.")
    if y.shape[0] == 0:
        raise AudioError(path, "it holds no samples.", kind="empty")
    duration_s = y.shape[0] / sample_rate
    if max_duration_s is not None and duration_s > max_duration_s:
        raise AudioError(
            path,
            f"it lasts {duration_s:.1f} s, more than the limit of {max_duration_s:.0f} s. "
            "Raise max_duration_s if this is intended.",
            kind="too-long",
        )
    finite = np.isfinite(y)
    if not finite.all():
        bad = int(y.size - finite.sum())
        raise AudioError(path, f"{bad} samples are NaN or infinite.", kind="non-finite")
    if not allow_silent:
        peak = float(np.abs(y).max())
        if peak <= 10 ** (SILENCE_PEAK_DBFS / 20):
            raise AudioError(
                path, f"it is silent (peak {peak:.2e}, below {SILENCE_PEAK_DBFS:.0f} dBFS).", kind="silent"
            )
    return y.astype(np.float32, copy=False)


def load(
    path: str | Path,
    *,
    sample_rate: int | None = SAMPLE_RATE,
    mono: bool = True,
    allow_silent: bool = False,
    max_duration_s: float | None = DEFAULT_MAX_DURATION_S,
) -> tuple[np.ndarray, AudioInfo]:
    """Decode an audio file to float32, mono and ``sample_rate`` Hz.

    Parameters
    ----------
    path : str or Path
        WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF, ... (anything libsndfile decodes; MP4/M4A through ffmpeg
        when it is installed).
    sample_rate : int or None
        Target rate in Hz (soxr HQ resampling); ``None`` keeps the file's rate.
    mono : bool
        Average channels to one. With ``False`` the result has shape ``(n_samples, n_channels)``.
    allow_silent, max_duration_s
        See :func:`check_waveform`.

    Returns
    -------
    y : np.ndarray [shape=(n_samples,), dtype=float32]
    info : AudioInfo
        The file's original properties.

    Raises
    ------
    AudioError
        Naming the file: missing, empty, unreadable, truncated, non-finite, silent or too long.

    Examples
    --------
    >>> y, meta = load("speech.wav")  # doctest: +SKIP
    >>> y.dtype, meta.sample_rate
    (dtype('float32'), 48000)
    """
    path = Path(path)
    meta = info(path)
    if max_duration_s is not None and meta.duration_s > max_duration_s:
        raise AudioError(
            path,
            f"it lasts {meta.duration_s:.1f} s, more than the limit of {max_duration_s:.0f} s. "
            "Raise max_duration_s if this is intended.",
            kind="too-long",
        )
    if meta.subtype == "ffmpeg":
        y, native_sr = _ffmpeg_decode(path, sample_rate or SAMPLE_RATE)
    else:
        try:
            y, native_sr = sf.read(str(path), dtype="float32", always_2d=not mono)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(path, f"decoding failed ({exc}); the file is corrupt or cut short.") from exc
        if len(y) < meta.n_frames:
            raise AudioError(
                path,
                f"the file is truncated: its header declares {meta.n_frames} frames but {len(y)} were decoded.",
                kind="truncated",
            )
    if mono:
        y = to_mono(y)
    y = check_waveform(y, sample_rate=native_sr, path=path, allow_silent=allow_silent, max_duration_s=None)
    if sample_rate is not None and native_sr != sample_rate:
        y = resample(y, orig_sample_rate=native_sr, target_sample_rate=sample_rate)
    return y, meta
