"""Audio input: decode any file soundfile can read, check it, and return 16 kHz mono float32.

``load(path)`` is the single boundary where audio enters serkit. Every failure is an
:class:`~serkit.errors.AudioError` that names the file and says what is wrong (``kind`` tags it
for reports): missing, a broken link, not a regular file, empty, unsupported or corrupt, truncated,
non-finite, out of range, all-silent, too long.
Resampling uses soxr (HQ) and is always explicit: the target rate is a parameter (default 16 kHz)
and the original rate is reported in :class:`AudioInfo`.

Truncation is caught three ways, because decoders often shorten a cut file without an error: the
container's own length field (WAV ``data``, AIFF ``SSND`` and AU headers declare how many bytes of
audio follow), the end of an Ogg stream (Ogg/Vorbis/Opus files end with an end-of-stream page; a cut
file does not) and, for every other format, the number of frames the header declares against the
number decoded (FLAC, MP3 with a Xing header).

Sample range: decoded integer PCM always lies in [-1, 1). Floating-point files can hold anything;
a float WAV written with integer-scaled samples (peaks in the hundreds or thousands) would otherwise
be fed on silently. :func:`load` rejects a peak above :data:`MAX_PEAK` (2.0, i.e. +6 dBFS: room for
the overshoot of float pipelines and lossy decoders, far below integer-scaled values) with
``kind="out-of-range"``; rescale such files, or pass ``max_peak=None`` to accept them as they are.
serkit never rescales audio silently (librosa does not either).
"""

from __future__ import annotations

import errno
import math
import os
import shutil
import stat
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
    "MAX_PEAK",
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
#: Largest absolute sample value :func:`load` accepts by default (+6 dBFS); see the module docstring.
MAX_PEAK = 2.0
#: Extensions adapters look for; decoded by libsndfile, or by ffmpeg (when on PATH) for containers.
#: The order is the preference when one recording exists in several formats (``a.wav`` and
#: ``a.flac``): lossless formats first, then lossy ones, then those that need ffmpeg.
AUDIO_EXTENSIONS = (".wav", ".flac", ".aiff", ".aif", ".au", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".mp4")
_FFMPEG_ONLY = {".m4a", ".mp4", ".aac", ".webm", ".mkv"}
# Frames decoded per read: small enough that a decoder error late in a file still tells how far it got.
_BLOCK_FRAMES = 1 << 16
# Largest Ogg page: 27-byte header, 255 lacing values, 255 segments of 255 bytes.
_MAX_OGG_PAGE = 27 + 255 + 255 * 255


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
    """Missing, broken link, not a regular file (folder, FIFO, socket, device), empty.

    Only ``stat`` is used, never ``open``: opening a named pipe would block until a writer appears.
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        if os.path.islink(path):
            target = os.readlink(path)
            what = "a loop of links" if exc.errno == errno.ELOOP else "a target that does not exist"
            raise AudioError(
                path,
                f"it is a symbolic link to {target!r}, {what}. Fix or remove the link.",
                kind="broken-link",
            ) from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise AudioError(path, "it cannot be read (permission denied).", kind="unreadable") from None
        raise AudioError(path, "the file does not exist.", kind="missing") from None
    if stat.S_ISDIR(st.st_mode):
        raise AudioError(path, "it is a folder, not an audio file.", kind="not-a-file")
    if not stat.S_ISREG(st.st_mode):
        what = (
            "a named pipe (FIFO)"
            if stat.S_ISFIFO(st.st_mode)
            else "a socket"
            if stat.S_ISSOCK(st.st_mode)
            else "a device"
        )
        raise AudioError(path, f"it is {what}, not a regular file.", kind="not-a-file")
    if st.st_size == 0:
        raise AudioError(path, "the file is empty (0 bytes).", kind="empty")


def _truncated(path: Path, declared: int, available: int) -> AudioError:
    return AudioError(
        path,
        f"the file is truncated: its header declares {declared} bytes of audio but only {available} are "
        "present.",
        kind="truncated",
    )


def _check_chunks(path: Path, fh, size: int, *, order: str, data_id: bytes) -> None:
    """Walk the chunks of a RIFF (``<``) or IFF/AIFF (``>``) file; the audio chunk must fit in the file."""
    offset = 12
    while offset + 8 <= size:
        fh.seek(offset)
        chunk_id, chunk_size = struct.unpack(f"{order}4sI", fh.read(8))
        if chunk_id == data_id:
            available = size - offset - 8
            # 0 and 0xFFFFFFFF mean "unknown length" (streamed writers); not a truncation.
            if chunk_size not in (0, 0xFFFFFFFF) and chunk_size > available:
                raise _truncated(path, chunk_size, available)
            return
        offset += 8 + chunk_size + (chunk_size & 1)


def _check_ogg_end(path: Path, fh, size: int) -> None:
    """An Ogg stream ends with a complete page flagged end-of-stream; a cut file does not."""
    start = max(0, size - _MAX_OGG_PAGE)
    fh.seek(start)
    tail = fh.read()
    pos = tail.rfind(b"OggS")
    while pos >= 0:
        head = tail[pos : pos + 27]
        if len(head) == 27 and head[4] == 0:  # stream structure version 0
            n_segments = head[26]
            lacing = tail[pos + 27 : pos + 27 + n_segments]
            if len(lacing) == n_segments and pos + 27 + n_segments + sum(lacing) == len(tail):
                if not head[5] & 0x04:
                    raise AudioError(
                        path,
                        "the file is truncated: its last Ogg page does not end the stream (no "
                        "end-of-stream flag), so the recording was cut short.",
                        kind="truncated",
                    )
                return
        pos = tail.rfind(b"OggS", 0, pos)
    raise AudioError(
        path,
        "the file is truncated: it does not end with a complete Ogg page, so the recording was cut short.",
        kind="truncated",
    )


def _check_container_length(path: Path) -> None:
    """A file whose container declares more audio than it holds was cut short.

    libsndfile silently shortens such WAV, AIFF, AU and Ogg files (it only notes it in its log), so
    the container is checked here, by its first bytes rather than its extension.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(24)
        if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            _check_chunks(path, fh, size, order="<", data_id=b"data")
        elif head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
            _check_chunks(path, fh, size, order=">", data_id=b"SSND")
        elif head[:4] == b".snd" and len(head) == 24:
            data_offset, data_size = struct.unpack(">II", head[4:12])
            if data_size != 0xFFFFFFFF and data_offset + data_size > size:
                raise _truncated(path, data_size, max(0, size - data_offset))
        elif head[:4] == b"OggS":
            _check_ogg_end(path, fh, size)


def info(path: str | Path) -> AudioInfo:
    """Read a file's header: rate, channels, length, format. Fast; does not decode the audio.

    Raises
    ------
    AudioError
        If the file is missing, a broken link, not a regular file, empty, truncated (WAV, AIFF, AU,
        Ogg) or not a format libsndfile recognises.
    """
    path = Path(path)
    _check_path(path)
    if path.suffix.lower() in _FFMPEG_ONLY:
        y, sr = _ffmpeg_decode(path)
        return AudioInfo(str(path), sr, 1, len(y), path.suffix.lstrip(".").upper(), "ffmpeg")
    _check_container_length(path)
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


def _check_limit(value: float | None, name: str, func: str) -> None:
    """``value`` is None (no limit) or a finite number > 0."""
    if value is None:
        return
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0:
        raise ParameterError(
            f"The {name!r} parameter of {func} must be a number > 0, or None for no limit. Got {value!r} "
            "instead."
        )


def check_waveform(
    y: np.ndarray,
    *,
    sample_rate: int,
    path: str | Path | None = None,
    allow_silent: bool = False,
    max_duration_s: float | None = DEFAULT_MAX_DURATION_S,
    max_peak: float | None = None,
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
    max_duration_s : float > 0 or None
        Reject longer signals (``None``: no limit).
    max_peak : float > 0 or None
        Reject a signal whose largest absolute sample exceeds it (``None``, the default here: no
        limit; :func:`load` passes :data:`MAX_PEAK`).

    Raises
    ------
    AudioError
        ``empty``, ``non-finite``, ``out-of-range``, ``silent`` or ``too-long``.
    ParameterError
        ``max_duration_s`` or ``max_peak`` is not a number > 0 or None.
    """
    _check_limit(max_duration_s, "max_duration_s", "check_waveform")
    _check_limit(max_peak, "max_peak", "check_waveform")
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
    peak = float(np.abs(y).max())
    if max_peak is not None and peak > max_peak:
        raise AudioError(
            path,
            f"its samples peak at {peak:.6g}, outside the range of audio samples ([-1, 1]; the limit is "
            f"±{max_peak:g}). The file was probably written with integer-scaled floats: rescale it (divide "
            "by 32768 for 16-bit values), or pass max_peak=None to accept it as it is.",
            kind="out-of-range",
        )
    if not allow_silent and peak <= 10 ** (SILENCE_PEAK_DBFS / 20):
        raise AudioError(
            path, f"it is silent (peak {peak:.2e}, below {SILENCE_PEAK_DBFS:.0f} dBFS).", kind="silent"
        )
    return y.astype(np.float32, copy=False)


def from_array(audio: np.ndarray, sample_rate: int, *, target_sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A waveform given as an array -> checked mono float32 at ``target_sample_rate``.

    ``audio`` is ``(n,)``, ``(n, channels)`` or ``(channels, n)`` (up to 8 channels, as torchaudio and
    librosa give it); ``sample_rate`` is its rate in Hz.

    Raises
    ------
    ParameterError
        ``sample_rate`` missing or not an int > 0.
    AudioError
        What :func:`check_waveform` refuses (empty, non-finite, ...).
    """
    if sample_rate is None:
        raise ParameterError("An audio array needs its sample_rate (e.g. predict(y, sample_rate=16000)).")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer) or sample_rate <= 0:
        raise ParameterError(f"sample_rate must be an int > 0 (Hz). Got {sample_rate!r}.")
    arr = np.asarray(audio)
    if arr.ndim == 2 and arr.shape[0] < arr.shape[1] and arr.shape[0] <= 8:
        arr = arr.T  # (channels, samples) as torchaudio and librosa give it
    y = to_mono(check_waveform(arr, sample_rate=int(sample_rate)))
    return resample(y, orig_sample_rate=int(sample_rate), target_sample_rate=target_sample_rate)


def _sf_decode(path: Path, meta: AudioInfo, *, mono: bool) -> tuple[np.ndarray, int]:
    """Decode with libsndfile block by block; fewer frames than the header declares is a truncation."""
    blocks: list[np.ndarray] = []
    n_decoded = 0
    failure: Exception | None = None
    native_sr = meta.sample_rate
    try:
        with sf.SoundFile(str(path)) as fh:
            native_sr = int(fh.samplerate)
            while True:
                block = fh.read(_BLOCK_FRAMES, dtype="float32", always_2d=not mono)
                if len(block) == 0:
                    break
                blocks.append(block)
                n_decoded += len(block)
    except (sf.LibsndfileError, RuntimeError) as exc:
        failure = exc
    # The header's frame count against the frames decoded: FLAC and MP3 (Xing header) files that were
    # cut short either stop with a decoder error or decode fewer frames than declared.
    if n_decoded < meta.n_frames:
        how = (
            f"decoding failed after {n_decoded} frames ({failure})"
            if failure
            else f"only {n_decoded} were decoded"
        )
        raise AudioError(
            path,
            f"the file is truncated or damaged: its header declares {meta.n_frames} frames but {how}.",
            kind="truncated",
        )
    if failure is not None:
        raise AudioError(path, f"decoding failed ({failure}); the file is corrupt.", kind="corrupt")
    if not blocks:
        shape = (0,) if mono else (0, meta.channels)
        return np.zeros(shape, np.float32), native_sr
    y = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    return y, native_sr


def load(
    path: str | Path,
    *,
    sample_rate: int | None = SAMPLE_RATE,
    mono: bool = True,
    allow_silent: bool = False,
    max_duration_s: float | None = DEFAULT_MAX_DURATION_S,
    max_peak: float | None = MAX_PEAK,
) -> tuple[np.ndarray, AudioInfo]:
    """Decode an audio file to float32, mono and ``sample_rate`` Hz.

    Parameters
    ----------
    path : str or Path
        WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF, ... (anything libsndfile decodes; MP4/M4A through ffmpeg
        when it is installed).
    sample_rate : int > 0 or None
        Target rate in Hz (soxr HQ resampling); ``None`` keeps the file's rate.
    mono : bool
        Average channels to one. With ``False`` the result has shape ``(n_samples, n_channels)``.
    allow_silent : bool
        See :func:`check_waveform`.
    max_duration_s : float > 0 or None
        Reject longer files, from the header before decoding (``None``: no limit).
    max_peak : float > 0 or None
        Reject a file whose samples (any channel, before downmixing) exceed this absolute value:
        :data:`MAX_PEAK` (2.0) by default; ``None`` accepts any finite value. Samples are never
        rescaled.

    Returns
    -------
    y : np.ndarray [shape=(n_samples,), dtype=float32]
    info : AudioInfo
        The file's original properties.

    Raises
    ------
    AudioError
        Naming the file: missing, a broken link, not a regular file, empty, unreadable, truncated,
        non-finite, out of range, silent or too long.
    ParameterError
        ``sample_rate``, ``max_duration_s`` or ``max_peak`` out of range.

    Examples
    --------
    >>> y, meta = load("speech.wav")  # doctest: +SKIP
    >>> y.dtype, meta.sample_rate
    (dtype('float32'), 48000)
    """
    if sample_rate is not None and (
        not isinstance(sample_rate, int | np.integer) or isinstance(sample_rate, bool) or sample_rate <= 0
    ):
        raise ParameterError(
            f"The 'sample_rate' parameter of load must be an int > 0 (Hz), or None to keep the file's rate. "
            f"Got {sample_rate!r} instead."
        )
    _check_limit(max_duration_s, "max_duration_s", "load")
    _check_limit(max_peak, "max_peak", "load")
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
        y, native_sr = _sf_decode(path, meta, mono=False)
    # The range is checked before downmixing, so one bad channel is not averaged away; silence after
    # it, as channels in opposite phase cancel.
    y = check_waveform(
        y,
        sample_rate=native_sr,
        path=path,
        allow_silent=allow_silent or mono,
        max_duration_s=None,
        max_peak=max_peak,
    )
    if mono:
        y = to_mono(y)
        if not allow_silent:
            check_waveform(y, sample_rate=native_sr, path=path, max_duration_s=None)
    if sample_rate is not None and native_sr != sample_rate:
        y = resample(y, orig_sample_rate=native_sr, target_sample_rate=sample_rate)
    return y, meta
