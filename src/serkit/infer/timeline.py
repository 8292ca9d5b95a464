"""Emotion timelines of long recordings: where the speech is, and which emotion each stretch carries.

The steps, for a 16 kHz waveform:

1. **Speech regions** from a voice activity detector (:mod:`serkit.infer.vad`); silence gets no label.
   Regions less than 0.5 s apart are joined (a breath does not change the emotion).
2. **Windows** of ``window_s`` seconds every ``hop_s`` seconds inside each region (the last one aligned
   with the region's end, so its tail is covered; a region shorter than a window is one window of its
   own length). Each window is classified on its own: calibrated probabilities per class.
3. **Labels by decoding the whole recording** (:func:`decode_labels`): one label per window, chosen to
   maximise the windows' summed probabilities of their labels (each window weighted by the seconds of
   speech it stands for) minus ``change_penalty`` for every change of label. This is the Viterbi path of a
   "sticky" hidden Markov model: a change needs that much evidence, so one odd window (or one
   misheard utterance) does not split a stretch of one emotion, while a sustained change is kept
   wherever it happens. A change across a pause costs half as much (``PAUSE_CHANGE_SHARE``): people
   change emotion between utterances far more often than inside one. A stretch whose mean probability is below the model's
   threshold is labelled ``"uncertain"``.
4. **Segments**: runs of one label inside a speech region form a segment; a change between two
   windows of one region is placed at the midpoint of their centres. Segment probabilities are the
   mean of their windows' smoothed probabilities (a centred moving average over ``smooth`` windows,
   also given per window in :attr:`Timeline.frames`).
5. **Short segments are absorbed**: a segment shorter than ``min_segment_s`` inside a region joins the
   neighbour that its own windows find more probable, and neighbours of one label merge.
6. **Changes snap to pauses**: a change inside a region moves to the middle of the nearest short pause
   (one shorter than the 0.5 s that splits regions) within half a window, if there is one
   (:func:`snap_to_pauses`).

Why the boundaries land near the true ones: a window straddling a change of emotion at time ``b``
hears both emotions in proportion to how much of each it covers, so its probabilities move from one
emotion to the other as its centre crosses ``b``, symmetrically; the decoded change is where the
summed evidence for the new label starts to win, at ``b`` to about half a hop (0.125 s by default)
plus whatever asymmetry the model has. Where the change falls in a pause, it is reported at the
pause's midpoint (:attr:`Timeline.changes`). What the timeline cannot do is find a change between two
emotions that the model does not tell apart: its accuracy per stretch of speech bounds it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from serkit.errors import ParameterError

__all__ = [
    "Frame",
    "Segment",
    "Timeline",
    "check_settings",
    "compute_timeline",
    "decode_labels",
    "place_windows",
    "segment_windows",
    "smooth_probabilities",
    "snap_to_pauses",
]

SAMPLE_RATE = 16_000
#: Speech regions closer than this are analysed as one: a breath or a short pause does not change the
#: emotion, and longer regions give every window its full context.
JOIN_GAP_S = 0.5
#: A change of emotion across a pause (between speech regions) costs this share of ``change_penalty``:
#: speakers change emotion at utterance and turn boundaries far more often than inside a phrase.
PAUSE_CHANGE_SHARE = 0.5


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
        window_s, hop_s, smooth, change_penalty, min_segment_s.
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

    @property
    def changes(self) -> list[float]:
        """Times where the emotion changes: the shared edge of two touching segments with different
        labels, or the middle of the pause between them."""
        return [
            a.end if math.isclose(a.end, b.start) else 0.5 * (a.end + b.start)
            for a, b in zip(self.segments, self.segments[1:], strict=False)
            if a.label != b.label
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


def decode_labels(scores: np.ndarray, weights: np.ndarray, change_penalty: float | np.ndarray) -> np.ndarray:
    """The label sequence maximising summed weighted scores minus ``change_penalty`` per change.

    With probabilities as scores, the label of every stretch between two changes is the class with
    the highest mean probability over it, the one its segment's probabilities show.

    Parameters
    ----------
    scores : np.ndarray [shape=(n_windows, n_classes)]
        Score of each class in each window (the timeline uses calibrated probabilities).
    weights : np.ndarray [shape=(n_windows,)]
        Weight of each window (the seconds of speech it stands for).
    change_penalty : float >= 0, or np.ndarray [shape=(n_windows - 1,)]
        Cost of one change of label, in the units of ``weights * scores`` (seconds of probability); an
        array gives the cost of a change between window ``i`` and ``i + 1``. 0 gives each window its
        own most probable class.

    Returns
    -------
    np.ndarray [shape=(n_windows,), dtype=int]
        Class index per window (exact Viterbi decoding, O(n_windows x n_classes)).
    """
    n, n_classes = scores.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    emit = scores * np.asarray(weights, dtype=np.float64)[:, None]
    penalty = np.broadcast_to(np.asarray(change_penalty, dtype=np.float64), (max(n - 1, 0),))
    score = emit[0].copy()
    back = np.zeros((n, n_classes), dtype=np.int64)
    stay = np.arange(n_classes)
    for i in range(1, n):
        best = int(np.argmax(score))
        moved = score[best] - penalty[i - 1]
        switch = moved > score
        back[i] = np.where(switch, best, stay)
        score = np.where(switch, moved, score) + emit[i]
    path = np.zeros(n, dtype=np.int64)
    path[-1] = int(np.argmax(score))
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


def segment_windows(
    centres: np.ndarray,
    probs: np.ndarray,
    labels: list[str],
    region: tuple[float, float],
    *,
    decide: Any,
    min_segment_s: float,
    window_labels: list[str] | None = None,
) -> list[Segment]:
    """Segments of one region from its windows' centres and smoothed probabilities.

    ``decide(p) -> (label, uncertain)`` labels one probability vector; ``window_labels``, when given,
    are the windows' labels instead (e.g. from :func:`decode_labels`).
    """
    win_labels = list(window_labels) if window_labels is not None else [decide(p)[0] for p in probs]
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


def snap_to_pauses(
    segments: list[Segment], pauses: list[tuple[float, float]], *, reach_s: float
) -> list[Segment]:
    """Move each change between touching segments to the middle of the nearest short pause within
    ``reach_s`` seconds, if there is one.

    A window straddling a change hears both emotions, rarely in exact proportion, so a decoded change
    can land up to half a window away from the true one. Speakers change emotion between phrases: a
    short pause (one the detector found but too short to split the region) near the decoded change
    is where the change most likely is.
    """
    out = list(segments)
    for i in range(len(out) - 1):
        a, b = out[i], out[i + 1]
        if not math.isclose(a.end, b.start):
            continue
        inside = [0.5 * (p0 + p1) for p0, p1 in pauses if a.start < p0 and p1 < b.end]
        near = [m for m in inside if abs(m - a.end) <= reach_s]
        if near:
            t = min(near, key=lambda m: abs(m - a.end))
            out[i] = Segment(a.start, t, a.label, a.probabilities)
            out[i + 1] = Segment(t, b.end, b.label, b.probabilities)
    return out


def _join_close(regions: list[tuple[float, float]], gap_s: float) -> list[tuple[float, float]]:
    """Regions separated by less than ``gap_s`` joined into one."""
    out: list[tuple[float, float]] = []
    for start, end in regions:
        if out and start - out[-1][1] < gap_s:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def check_settings(
    *,
    window_s: float = 2.0,
    hop_s: float = 0.25,
    smooth: int = 5,
    min_segment_s: float = 1.0,
    change_penalty: float = 1.0,
) -> None:
    """Raise :class:`~serkit.errors.ParameterError` naming the first bad timeline setting."""
    if (
        not isinstance(change_penalty, int | float)
        or isinstance(change_penalty, bool)
        or not math.isfinite(change_penalty)
        or change_penalty < 0
    ):
        raise ParameterError(
            f"change_penalty must be a number >= 0 (seconds of probability). Got {change_penalty!r}."
        )
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
    change_penalty: float = 1.0,
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
    change_penalty : float >= 0
        Evidence a change of label needs (see :func:`decode_labels`): the new label's probability,
        summed over the seconds of speech after the change, must beat the old one's by this much
        (half as much across a pause). The default 1.0 asks, for example, for a lead of 0.25 over
        4 s; it was set a priori, not tuned on the timeline benchmark. 0 labels every window alone.
    batch_size : int >= 1
        Windows per forward pass.

    Returns
    -------
    Timeline
    """
    from serkit.infer.vad import detect_speech, resolve_vad

    check_settings(
        window_s=window_s,
        hop_s=hop_s,
        smooth=smooth,
        min_segment_s=min_segment_s,
        change_penalty=change_penalty,
    )
    method = resolve_vad(vad)
    duration = len(y) / SAMPLE_RATE
    detected = detect_speech(y, sample_rate=SAMPLE_RATE, method=method)
    speech = _join_close(detected, JOIN_GAP_S)
    pauses = [(a[1], b[0]) for a, b in itertools.pairwise(detected)]
    min_len = 400 / SAMPLE_RATE
    speech = [(s, e) for s, e in speech if e - s >= min_len]
    labels = recognizer.labels
    per_region = [place_windows(r, window_s=window_s, hop_s=hop_s) for r in speech]
    waves = [y[round(s * SAMPLE_RATE) : round(e * SAMPLE_RATE)] for windows in per_region for s, e in windows]
    raw_all = recognizer.probabilities(waves, batch_size=batch_size) if waves else np.zeros((0, len(labels)))
    window_labels = _decoded_labels(recognizer, raw_all, speech, per_region, change_penalty)
    segments: list[Segment] = []
    frames: list[Frame] = []
    offset = 0
    for region, windows in zip(speech, per_region, strict=True):
        raw = raw_all[offset : offset + len(windows)]
        region_labels = window_labels[offset : offset + len(windows)]
        offset += len(windows)
        smoothed = smooth_probabilities(raw, smooth)
        centres = np.array([(s + e) / 2 for s, e in windows])
        region_segments = segment_windows(
            centres,
            smoothed,
            labels,
            region,
            decide=recognizer.decide,
            min_segment_s=min_segment_s,
            window_labels=region_labels,
        )
        segments += snap_to_pauses(region_segments, pauses, reach_s=window_s / 2)
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
        settings={
            "window_s": window_s,
            "hop_s": hop_s,
            "smooth": smooth,
            "change_penalty": change_penalty,
            "min_segment_s": min_segment_s,
        },
    )


def _decoded_labels(
    recognizer: Any,
    raw: np.ndarray,
    speech: list[tuple[float, float]],
    per_region: list[list[tuple[float, float]]],
    change_penalty: float,
) -> list[str]:
    """One label per window: :func:`decode_labels` over the whole recording, then ``"uncertain"``
    for decoded stretches whose mean probability the recogniser finds uncertain."""
    labels = recognizer.labels
    if len(raw) == 0:
        return []
    weights = []
    for (start, end), windows in zip(speech, per_region, strict=True):
        centres = np.array([(s + e) / 2 for s, e in windows])
        edges = np.concatenate([[start], 0.5 * (centres[1:] + centres[:-1]), [end]])
        weights.append(np.diff(edges))
    # Changes between the last window of one region and the first of the next cross a pause.
    penalties = np.concatenate(
        [np.r_[np.full(len(w) - 1, change_penalty), PAUSE_CHANGE_SHARE * change_penalty] for w in per_region]
    )[:-1]
    path = decode_labels(raw, np.concatenate(weights), penalties)
    out = [labels[k] for k in path]
    first = 0
    for i in range(1, len(path) + 1):
        if i == len(path) or path[i] != path[first]:
            _, uncertain = recognizer.decide(raw[first:i].mean(axis=0))
            if uncertain:
                out[first:i] = ["uncertain"] * (i - first)
            first = i
    return out
