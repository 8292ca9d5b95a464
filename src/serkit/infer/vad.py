"""Voice activity detection: where the speech is in a long recording, before emotion windows are placed.

Two detectors, chosen by ``method``:

``"silero"``
    Silero VAD (Silero Team, 2024, https://github.com/snakers4/silero-vad, MIT licence): its ONNX model,
    read from the registry package ``silero-vad`` (``silero_vad/data/silero_vad.onnx``) and run with
    onnxruntime, 512 samples (32 ms) at a time with 64 samples of context and its recurrent state carried
    over, as the package's own ``OnnxWrapper`` does. Neither the package's Python API nor torch.jit is
    used (the package imports torchaudio, which serkit does not install). Install both with
    ``pip install onnxruntime silero-vad==6.2.3 --no-deps``.
``"energy"``
    No dependency: frame RMS level in dB compared with a threshold set from the recording's own noise
    floor (a low percentile of the frame levels) and its loud frames, with a hangover after speech and
    minimum speech and silence durations. Good on clean or stationary-noise recordings; music or babble
    counts as speech.
``"auto"``
    Silero when onnxruntime and silero-vad are importable, else energy.
``"none"``
    The whole signal is one speech region.

Every detector returns speech regions as ``(start_s, end_s)`` tuples, sorted, non-overlapping, inside
``[0, duration]``.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from serkit.errors import ParameterError, WeightsError

__all__ = [
    "VAD_METHODS",
    "detect_speech",
    "energy_vad",
    "resolve_vad",
    "silero_available",
    "silero_probabilities",
    "silero_vad",
]

VAD_METHODS = ("auto", "silero", "energy", "none")
SAMPLE_RATE = 16_000
_SILERO_CHUNK = 512
_SILERO_CONTEXT = 64
# Long recordings run as a batch of 30 s pieces, each warmed up on the 1 s before it.
_PIECE_CHUNKS = 938
_WARMUP_CHUNKS = 32
_SILERO_HINT = "pip install onnxruntime silero-vad==6.2.3 --no-deps"

Region = tuple[float, float]


# ---------------------------------------------------------------------------------------------
# Shared post-processing


def _regions_from_mask(
    active: np.ndarray,
    *,
    hop_s: float,
    frame_s: float,
    duration_s: float,
    min_speech_s: float,
    min_silence_s: float,
    pad_before_s: float,
    pad_after_s: float,
) -> list[Region]:
    """Runs of active frames -> regions: short gaps filled, short runs dropped, then each padded."""
    if not active.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
    runs = [[s * hop_s, (e - 1) * hop_s + frame_s] for s, e in zip(edges[::2], edges[1::2], strict=True)]
    filled: list[list[float]] = [runs[0]]
    for start, end in runs[1:]:
        if start - filled[-1][1] < min_silence_s:
            filled[-1][1] = end
        else:
            filled.append([start, end])
    padded: list[list[float]] = []
    for start, end in filled:
        if end - start < min_speech_s:
            continue
        start, end = max(0.0, start - pad_before_s), min(duration_s, end + pad_after_s)
        if padded and start <= padded[-1][1]:
            padded[-1][1] = end
        else:
            padded.append([start, end])
    return [(round(float(s), 4), round(float(e), 4)) for s, e in padded]


def _check_signal(y: np.ndarray, sample_rate: int, func: str) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ParameterError(f"{func} needs a mono waveform (n_samples,). Got shape {y.shape}.")
    if sample_rate != SAMPLE_RATE:
        raise ParameterError(f"{func} works at 16000 Hz; resample first. Got sample_rate={sample_rate}.")
    return y


# ---------------------------------------------------------------------------------------------
# Energy


def energy_vad(
    y: np.ndarray,
    *,
    sample_rate: int = SAMPLE_RATE,
    frame_s: float = 0.025,
    hop_s: float = 0.010,
    margin_db: float = 12.0,
    range_db: float = 45.0,
    min_level_db: float = -60.0,
    hangover_s: float = 0.15,
    onset_s: float = 0.05,
    min_speech_s: float = 0.2,
    min_silence_s: float = 0.3,
) -> list[Region]:
    """Speech regions by frame level against an adaptive threshold.

    The noise floor is the 10th percentile of the frame levels (dBFS) and the speech level the 99th.
    A frame is speech when its level exceeds ``max(floor + margin_db, loud - range_db, min_level_db)``.
    A recording whose levels span less than ``margin_db`` has no pauses to find: it is all speech if
    it is louder than ``min_level_db``, else none.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
        Mono waveform at 16 kHz.
    frame_s, hop_s : float
        Analysis frame and hop in seconds.
    margin_db : float
        How far above the noise floor speech must be.
    range_db : float
        Frames more than this below the loud level are never speech (so a very clean floor, e.g. digital
        silence, does not make every breath speech).
    min_level_db : float
        Absolute level (dBFS) below which nothing is speech.
    hangover_s, onset_s : float
        Speech is extended this long after each active run (word endings decay below the threshold)
        and before it (onsets rise through it).
    min_speech_s, min_silence_s : float
        Gaps shorter than ``min_silence_s`` are filled, then runs shorter than ``min_speech_s`` dropped.

    Returns
    -------
    list of (start_s, end_s)
    """
    y = _check_signal(y, sample_rate, "energy_vad")
    duration = len(y) / sample_rate
    frame = max(1, round(frame_s * sample_rate))
    hop = max(1, round(hop_s * sample_rate))
    if len(y) < frame:
        y = np.pad(y, (0, frame - len(y)))
    n = 1 + (len(y) - frame) // hop
    frames = np.lib.stride_tricks.as_strided(y, shape=(n, frame), strides=(y.strides[0] * hop, y.strides[0]))
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    level = 20 * np.log10(np.maximum(rms, 1e-6))
    floor, loud = np.percentile(level, 10), np.percentile(level, 99)
    if loud < min_level_db:
        return []
    if loud - floor < margin_db:
        return [(0.0, round(float(duration), 4))] if duration >= min_speech_s else []
    threshold = max(floor + margin_db, loud - range_db, min_level_db)
    return _regions_from_mask(
        level > threshold,
        hop_s=hop / sample_rate,
        frame_s=frame / sample_rate,
        duration_s=duration,
        min_speech_s=min_speech_s,
        min_silence_s=min_silence_s,
        pad_before_s=onset_s,
        pad_after_s=hangover_s,
    )


# ---------------------------------------------------------------------------------------------
# Silero


def _silero_model_path() -> Path | None:
    """The ONNX file inside the installed ``silero-vad`` package, or None (package or onnxruntime absent)."""
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    # find_spec of the top-level package does not run its __init__ (which imports torch and the
    # package's audio helpers); the ONNX file is found from the package folder alone.
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data" / "silero_vad.onnx"
        if path.is_file():
            return path
    return None


def silero_available() -> bool:
    """Whether onnxruntime and the ``silero-vad`` package (with its ONNX model) are installed."""
    return _silero_model_path() is not None


@functools.lru_cache(maxsize=1)
def _silero_session(path: str) -> Any:
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    # The model is tiny and runs chunk by chunk: one thread is fastest and leaves the cores to the emotion model.
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])


def silero_probabilities(y: np.ndarray, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Silero's speech probability for every 512-sample (32 ms) chunk of ``y`` (the last one zero-padded).

    Each chunk is fed with the 64 samples before it and the recurrent state of the chunk before, as the
    package's ``OnnxWrapper`` does. The model first hears 1 s of silence, so that its state has settled
    at the start. A recording longer than 30 s is cut into 30 s pieces run side by side as one batch
    (one model call per 32 ms step for all pieces), each piece preceded by the second of audio before
    it to warm its state up: the probabilities then hardly differ from one long sequential run, and an
    hour of audio takes seconds instead of a minute.

    Raises
    ------
    WeightsError
        onnxruntime or silero-vad is not installed.
    """
    y = _check_signal(y, sample_rate, "silero_probabilities")
    path = _silero_model_path()
    if path is None:
        raise WeightsError(f"The silero VAD needs onnxruntime and the silero-vad package: {_SILERO_HINT}")
    session = _silero_session(str(path))
    n_chunks = max(1, -(-len(y) // _SILERO_CHUNK))
    piece = min(_PIECE_CHUNKS, n_chunks)
    n_pieces = -(-n_chunks // piece)
    steps = _WARMUP_CHUNKS + piece
    # Padded so that piece k's first step (warm-up included) starts at sample k * piece * 512.
    front = _WARMUP_CHUNKS * _SILERO_CHUNK + _SILERO_CONTEXT
    padded = np.zeros(front + n_pieces * piece * _SILERO_CHUNK, dtype=np.float32)
    padded[front : front + len(y)] = y
    state = np.zeros((2, n_pieces, 128), dtype=np.float32)
    sr = np.array(SAMPLE_RATE, dtype=np.int64)
    starts = np.arange(n_pieces) * piece * _SILERO_CHUNK
    width = _SILERO_CHUNK + _SILERO_CONTEXT
    probs = np.empty((n_pieces, steps), dtype=np.float32)
    for j in range(steps):
        x = np.stack([padded[s + j * _SILERO_CHUNK : s + j * _SILERO_CHUNK + width] for s in starts])
        out, state = session.run(None, {"input": x, "state": state, "sr": sr})
        probs[:, j] = out[:, 0]
    return probs[:, _WARMUP_CHUNKS:].reshape(-1)[:n_chunks]


def silero_vad(
    y: np.ndarray,
    *,
    sample_rate: int = SAMPLE_RATE,
    threshold: float = 0.5,
    neg_threshold: float | None = None,
    min_speech_s: float = 0.25,
    min_silence_s: float = 0.1,
    pad_s: float = 0.03,
) -> list[Region]:
    """Speech regions from Silero's chunk probabilities, with its defaults and hysteresis.

    Speech starts at a chunk with probability >= ``threshold`` and ends at one below ``neg_threshold``
    (default ``threshold - 0.15``); gaps shorter than ``min_silence_s`` are filled, runs shorter than
    ``min_speech_s`` dropped, and each region padded by ``pad_s`` (as ``get_speech_timestamps``).

    Raises
    ------
    WeightsError
        onnxruntime or silero-vad is not installed.
    """
    probs = silero_probabilities(y, sample_rate=sample_rate)
    low = max(threshold - 0.15, 0.01) if neg_threshold is None else neg_threshold
    active = np.zeros(len(probs), dtype=bool)
    on = False
    for i, p in enumerate(probs):
        on = p >= threshold if not on else p >= low
        active[i] = on
    chunk_s = _SILERO_CHUNK / sample_rate
    return _regions_from_mask(
        active,
        hop_s=chunk_s,
        frame_s=chunk_s,
        duration_s=len(y) / sample_rate,
        min_speech_s=min_speech_s,
        min_silence_s=min_silence_s,
        pad_before_s=pad_s,
        pad_after_s=pad_s,
    )


# ---------------------------------------------------------------------------------------------
# Choice


def resolve_vad(method: str) -> str:
    """The detector ``method`` stands for: ``"auto"`` becomes ``"silero"`` or ``"energy"``.

    Raises
    ------
    ParameterError
        Unknown method.
    WeightsError
        ``"silero"`` asked for but not installed.
    """
    if method not in VAD_METHODS:
        raise ParameterError(f"Unknown VAD {method!r}; choose one of {', '.join(VAD_METHODS)}.")
    if method == "auto":
        return "silero" if silero_available() else "energy"
    if method == "silero" and not silero_available():
        raise WeightsError(f"vad='silero' needs onnxruntime and the silero-vad package: {_SILERO_HINT}")
    return method


def detect_speech(y: np.ndarray, *, sample_rate: int = SAMPLE_RATE, method: str = "auto") -> list[Region]:
    """Speech regions of ``y`` with the detector ``method`` (see the module docstring).

    Returns
    -------
    list of (start_s, end_s)
        Sorted, non-overlapping, inside ``[0, len(y) / sample_rate]``.
    """
    method = resolve_vad(method)
    if method == "none":
        return [(0.0, round(len(y) / sample_rate, 4))]
    if method == "silero":
        return silero_vad(y, sample_rate=sample_rate)
    return energy_vad(y, sample_rate=sample_rate)
