"""Draw an emotion timeline under its waveform (PNG, matplotlib's Agg backend, imported only here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from serkit.errors import ParameterError

__all__ = ["plot_timeline"]

# Fixed colours per canonical emotion, so one emotion looks the same in every plot.
_COLOURS = {
    "neutral": "#9e9e9e",
    "calm": "#80cbc4",
    "happy": "#fbc02d",
    "sad": "#1e88e5",
    "angry": "#e53935",
    "fearful": "#8e24aa",
    "disgust": "#43a047",
    "surprised": "#fb8c00",
    "bored": "#6d4c41",
    "excited": "#f06292",
    "frustrated": "#5d4037",
    "contempt": "#00897b",
    "uncertain": "#e0e0e0",
}
_FALLBACK = ["#3949ab", "#00acc1", "#7cb342", "#c0ca33", "#ffb300", "#f4511e", "#546e7a"]


def _colour(label: str, labels: list[str]) -> str:
    if label in _COLOURS:
        return _COLOURS[label]
    return _FALLBACK[labels.index(label) % len(_FALLBACK)] if label in labels else "#bdbdbd"


def plot_timeline(timeline: Any, waveform: np.ndarray, sample_rate: int, path: str | Path) -> Path:
    """Write a PNG: the waveform on top (speech regions shaded), coloured label segments under it, and
    each class's smoothed probability over time at the bottom.

    Parameters
    ----------
    timeline : Timeline
    waveform : np.ndarray [shape=(n_samples,)]
    sample_rate : int
    path : str or Path
        Output PNG (written atomically).

    Returns
    -------
    Path

    Raises
    ------
    ParameterError
        matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError:
        raise ParameterError("Plotting a timeline needs matplotlib: pip install matplotlib") from None
    from serkit._io import atomic_path

    path = Path(path)
    y = np.asarray(waveform, dtype=np.float32)
    t = np.arange(len(y)) / sample_rate
    # Plot an envelope of at most ~20k points: enough for a PNG, fast for hour-long files.
    step = max(1, len(y) // 20_000)
    if step > 1:
        n = len(y) // step
        blocks = y[: n * step].reshape(n, step)
        t_env = t[: n * step : step]
        lo, hi = blocks.min(axis=1), blocks.max(axis=1)
    else:
        t_env, lo, hi = t, y, y
    labels = list(timeline.labels)
    fig, (ax_wave, ax_seg, ax_prob) = plt.subplots(
        3, 1, figsize=(12, 5.5), sharex=True, gridspec_kw={"height_ratios": [2.2, 0.6, 1.8]}
    )
    ax_wave.fill_between(t_env, lo, hi, color="#37474f", linewidth=0.4)
    for s, e in timeline.speech:
        ax_wave.axvspan(s, e, color="#c8e6c9", alpha=0.5, linewidth=0)
    ax_wave.set_ylabel("waveform")
    title = Path(timeline.path).name if timeline.path else "timeline"
    ax_wave.set_title(f"{title}  (VAD: {timeline.vad})", fontsize=10)
    seen = []
    for seg in timeline.segments:
        ax_seg.axvspan(seg.start, seg.end, color=_colour(seg.label, labels), linewidth=0)
        if seg.end - seg.start > 0.06 * max(timeline.duration_s, 1e-9):
            ax_seg.text((seg.start + seg.end) / 2, 0.5, seg.label, ha="center", va="center", fontsize=8)
        if seg.label not in seen:
            seen.append(seg.label)
    ax_seg.set_yticks([])
    ax_seg.set_ylabel("label")
    if timeline.frames:
        # A NaN between speech regions breaks the curves across silence.
        rows: list[Any] = []
        for prev, frame in zip([None, *timeline.frames], timeline.frames, strict=False):
            if prev is not None and frame.start >= prev.end:
                rows.append(None)
            rows.append(frame)
        times = np.array([np.nan if f is None else f.time for f in rows])
        for label in labels:
            values = np.array([np.nan if f is None else f.probabilities[label] for f in rows])
            ax_prob.plot(times, values, ".-", ms=2, lw=1, color=_colour(label, labels), label=label)
        ax_prob.legend(loc="upper right", fontsize=7, ncol=min(len(labels), 8), frameon=False)
    ax_prob.set_ylim(0, 1)
    ax_prob.set_ylabel("probability")
    ax_prob.set_xlabel("time (s)")
    ax_prob.set_xlim(0, max(timeline.duration_s, 1e-3))
    if seen:
        ax_seg.legend(
            handles=[Patch(color=_colour(s, labels), label=s) for s in seen],
            loc="upper right",
            fontsize=7,
            ncol=len(seen),
            frameon=False,
            bbox_to_anchor=(1.0, 1.9),
        )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(str(tmp), format="png", dpi=110)
    plt.close(fig)
    return path
