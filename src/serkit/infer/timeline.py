"""Emotion timelines of long recordings: where the speech is, and which emotion each stretch carries.

The steps, for a 16 kHz waveform:

1. **Speech regions** from a voice activity detector (:mod:`serkit.infer.vad`); silence gets no label.
   Regions less than 0.5 s apart are joined (a breath does not change the emotion).
2. **Windows** of ``window_s`` seconds every ``hop_s`` seconds inside each region (the last one aligned
   with the region's end, so its tail is covered; a region shorter than a window is one window of its
   own length). Each window is classified on its own: calibrated probabilities per class.
3. **Smoothing**: each window's probabilities are averaged with its neighbours in the same region, a
   centred moving average over ``smooth`` windows (truncated at the region's ends), so that one odd
   window does not flip the label.
4. **Segments**: every window takes the label of its smoothed probabilities (or ``"uncertain"``); a
   change of label between two windows is placed at the midpoint of their centres; runs of one label
   form a segment, whose probabilities are the mean of its windows'.
5. **Short segments are absorbed**: a segment shorter than ``min_segment_s`` inside a region joins the
   neighbour that its own windows find more probable, and neighbours of one label merge.

Why the boundaries land near the true ones: a window straddling a change of emotion at time ``b``
hears both emotions in proportion to how much of each it covers, so its probabilities move from one
emotion to the other as its centre crosses ``b``; the centred moving average keeps that crossing at
``b`` (it is symmetric), and the label changes between the two windows whose centres enclose it. The
error is then about half a hop (0.125 s by default) plus whatever asymmetry the model has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from serkit.errors import ParameterError

__all__ = [
    "Frame",
    "Segment",
    "Timeline",
    "compute_timeline",
    "place_windows",
    "segment_windows",
    "smooth_probabilities",
]

SAMPLE_RATE = 16_000
#: Speech regions closer than this are analysed as one: a breath or a short pause does not change the
#: emotion, and longer regions give every window its full context.
JOIN_GAP_S = 0.5


@dataclass(frozen=True)
class Segment:
    """A stretch of speech with one emotion.

    Attributes
    ----------
    start, end : float
        Seconds from the start of the recording.
    label : str
        A class, or ``"uncertain"``.
    probabilities : dict
        class -> mean smoothed probability of the segment's windows.
    """

    start: float
    end: float
    label: str
    probabilities: dict[str, float]

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "label": self.label,
            "probabilities": {k: round(v, 6) for k, v in self.probabilities.items()},
        }


@dataclass(frozen=True)
class Frame:
    """One analysis window.

    Attributes
    ----------
    time : float
        The window's centre (s).
    start, end : float
        The audio it covers (s).
    probabilities : dict
        Smoothed calibrated probabilities (what the segments are made from).
    raw : dict
        The window's own calibrated probabilities, before smoothing.
    """

    time: float
    start: float
    end: float
    probabilities: dict[str, float]
    raw: dict[str, float]


@dataclass
class Timeline:
    """The emotion timeline of one recording (see the module docstring for how it is made).

    Attributes
    ----------
    segments : list of Segment
        Labelled speech, in time order (silence between them has no segment).
    frames : list of Frame
        Every window: centre, extent, smoothed and raw probabilities.
    speech : list of (start, end)
        The speech regions the detector found.
    labels : list of str
        Class order of the probabilities.
    duration_s : float
    path : str or None
    vad : str
        The detector used: ``"silero"``, ``"energy"`` or ``"none"``.
    settings : dict
        window_s, hop_s, smooth, min_segment_s.
    """

    segments: list[Segment]
    frames: list[Frame]
    speech: list[tuple[float, float]]
    labels: list[str]
    duration_s: float
    path: str | None = None
    vad: str = "none"
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def boundaries(self) -> list[float]:
        """Times where one segment ends and the next begins with no silence between (label changes)."""
        return [
            a.end
            for a, b in zip(self.segments, self.segments[1:], strict=False)
            if math.isclose(a.end, b.start)
        ]

    def label_at(self, t: float) -> str | None:
        """The label at time ``t`` (s), or None outside speech."""
        for seg in self.segments:
            if seg.start <= t < seg.end:
                return seg.label
        return None

    def to_dict(self, *, frames: bool = False) -> dict[str, Any]:
        """JSON-able: path, duration_s, vad, settings, speech, segments (and frames on request)."""
        out: dict[str, Any] = {
            "path": self.path,
            "duration_s": round(self.duration_s, 3),
            "vad": self.vad,
            "settings": dict(self.settings),
            "speech": [[round(s, 3), round(e, 3)] for s, e in self.speech],
            "segments": [s.to_dict() for s in self.segments],
        }
        if frames:
            out["frames"] = [
                {
                    "time": round(f.time, 3),
                    "probabilities": {k: round(v, 6) for k, v in f.probabilities.items()},
                }
                for f in self.frames
            ]
        return out


# ---------------------------------------------------------------------------------------------
# Steps


def place_windows(region: tuple[float, float], *, window_s: float, hop_s: float) -> list[tuple[float, float]]:
    """Windows ``(start, end)`` inside one speech region: every ``hop_s``, the last aligned with its end."""
    start, end = region
    length = end - start
    if length <= window_s + 1e-9:
        return [(start, end)]
    n = math.floor((length - window_s) / hop_s + 1e-9) + 1
    windows = [(start + i * hop_s, start + i * hop_s + window_s) for i in range(n)]
    if windows[-1][1] < end - 1e-6:
        windows.append((end - window_s, end))
    return windows


def smooth_probabilities(probs: np.ndarray, smooth: int) -> np.ndarray:
    """Centred moving average over ``smooth`` rows (odd; an even number is rounded up), truncated at the ends."""
    n = len(probs)
    half = max(0, int(smooth) // 2)
    if half == 0 or n <= 1:
        return probs.copy()
    csum = np.vstack([np.zeros((1, probs.shape[1])), np.cumsum(probs, axis=0)])
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    return (csum[hi] - csum[lo]) / (hi - lo)[:, None]


def segment_windows(
    centres: np.ndarray,
    probs: np.ndarray,
    labels: list[str],
    region: tuple[float, float],
    *,
    decide: Any,
    min_segment_s: float,
) -> list[Segment]:
    """Segments of one region from its windows' centres and smoothed probabilities.

    ``decide(p) -> (label, uncertain)`` labels one probability vector.
    """
    win_labels = [decide(p)[0] for p in probs]
    # Runs of one label: [first window, last window] (inclusive).
    runs: list[list[int]] = []
    for i, lab in enumerate(win_labels):
        if runs and win_labels[runs[-1][0]] == lab:
            runs[-1][1] = i
        else:
            runs.append([i, i])

    def bounds(k: int) -> tuple[float, float]:
        first, last = runs[k]
        start = region[0] if k == 0 else 0.5 * (centres[first - 1] + centres[first])
        end = region[1] if k == len(runs) - 1 else 0.5 * (centres[last] + centres[last + 1])
        return start, end

    run_label = [win_labels[r[0]] for r in runs]
    while len(runs) > 1:
        lengths = [bounds(k)[1] - bounds(k)[0] for k in range(len(runs))]
        k = int(np.argmin(lengths))
        if lengths[k] >= min_segment_s:
            break
        first, last = runs[k]
        mean = probs[first : last + 1].mean(axis=0)
        neighbours = [j for j in (k - 1, k + 1) if 0 <= j < len(runs)]

        def score(j: int, mean: np.ndarray = mean) -> float:
            lab = run_label[j]
            return float(mean[labels.index(lab)]) if lab in labels else -1.0

        j = max(neighbours, key=lambda j: (score(j), lengths[j]))
        lo, hi = sorted((j, k))
        merged = [runs[lo][0], runs[hi][1]]
        runs[lo : hi + 1] = [merged]
        run_label[lo : hi + 1] = [run_label[j]]
        # Neighbours that now carry the same label become one run.
        i = 0
        while i < len(runs) - 1:
            if run_label[i] == run_label[i + 1]:
                runs[i : i + 2] = [[runs[i][0], runs[i + 1][1]]]
                run_label[i : i + 2] = [run_label[i]]
            else:
                i += 1
    segments = []
    for k, (first, last) in enumerate(runs):
        start, end = bounds(k)
        mean = probs[first : last + 1].mean(axis=0)
        segments.append(
            Segment(float(start), float(end), run_label[k], dict(zip(labels, map(float, mean), strict=True)))
        )
    return segments


def _join_close(regions: list[tuple[float, float]], gap_s: float) -> list[tuple[float, float]]:
    """Regions separated by less than ``gap_s`` joined into one."""
    out: list[tuple[float, float]] = []
    for start, end in regions:
        if out and start - out[-1][1] < gap_s:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _check(window_s: float, hop_s: float, smooth: int, min_segment_s: float) -> None:
    for name, value in (("window_s", window_s), ("hop_s", hop_s)):
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise ParameterError(
                f"The {name!r} parameter of predict_timeline must be a number > 0 (s). Got {value!r}."
            )
    if window_s < 0.1:
        raise ParameterError(f"window_s must be at least 0.1 s. Got {window_s!r}.")
    if isinstance(smooth, bool) or not isinstance(smooth, int) or smooth < 1:
        raise ParameterError(
            f"The 'smooth' parameter of predict_timeline must be an int >= 1 (windows). Got {smooth!r}."
        )
    if not isinstance(min_segment_s, int | float) or isinstance(min_segment_s, bool) or min_segment_s < 0:
        raise ParameterError(f"min_segment_s must be a number >= 0 (s). Got {min_segment_s!r}.")


def compute_timeline(
    recognizer: Any,
    y: np.ndarray,
    *,
    path: str | None = None,
    window_s: float = 2.0,
    hop_s: float = 0.25,
    smooth: int = 5,
    vad: str = "auto",
    min_segment_s: float = 1.0,
    batch_size: int = 32,
) -> Timeline:
    """The emotion timeline of a 16 kHz mono waveform ``y`` with ``recognizer``.

    Parameters
    ----------
    recognizer : Recognizer
    y : np.ndarray [shape=(n_samples,)]
    path : str, optional
        Recorded in the result.
    window_s : float > 0
        Length of each analysed window (s). Emotion needs context: 1.5-3 s is usual.
    hop_s : float > 0
        Step between windows (s); boundaries are placed to about half of it.
    smooth : int >= 1
        Windows averaged around each one (centred; 1 = no smoothing).
    vad : {"auto", "silero", "energy", "none"}
        Voice activity detector (:mod:`serkit.infer.vad`).
    min_segment_s : float >= 0
        Segments shorter than this inside a speech region join a neighbour.
    batch_size : int >= 1
        Windows per forward pass.

    Returns
    -------
    Timeline
    """
    from serkit.infer.vad import detect_speech, resolve_vad

    _check(window_s, hop_s, smooth, min_segment_s)
    method = resolve_vad(vad)
    duration = len(y) / SAMPLE_RATE
    speech = detect_speech(y, sample_rate=SAMPLE_RATE, method=method)
    speech = _join_close(speech, JOIN_GAP_S)
    min_len = 400 / SAMPLE_RATE
    speech = [(s, e) for s, e in speech if e - s >= min_len]
    labels = recognizer.labels
    per_region = [place_windows(r, window_s=window_s, hop_s=hop_s) for r in speech]
    waves = [y[round(s * SAMPLE_RATE) : round(e * SAMPLE_RATE)] for windows in per_region for s, e in windows]
    raw_all = recognizer.probabilities(waves, batch_size=batch_size) if waves else np.zeros((0, len(labels)))
    segments: list[Segment] = []
    frames: list[Frame] = []
    offset = 0
    for region, windows in zip(speech, per_region, strict=True):
        raw = raw_all[offset : offset + len(windows)]
        offset += len(windows)
        smoothed = smooth_probabilities(raw, smooth)
        centres = np.array([(s + e) / 2 for s, e in windows])
        segments += segment_windows(
            centres, smoothed, labels, region, decide=recognizer.decide, min_segment_s=min_segment_s
        )
        for (s, e), c, p, r in zip(windows, centres, smoothed, raw, strict=True):
            frames.append(
                Frame(
                    float(c),
                    float(s),
                    float(e),
                    dict(zip(labels, map(float, p), strict=True)),
                    dict(zip(labels, map(float, r), strict=True)),
                )
            )
    return Timeline(
        segments=segments,
        frames=frames,
        speech=list(speech),
        labels=list(labels),
        duration_s=duration,
        path=path,
        vad=method,
        settings={"window_s": window_s, "hop_s": hop_s, "smooth": smooth, "min_segment_s": min_segment_s},
    )
