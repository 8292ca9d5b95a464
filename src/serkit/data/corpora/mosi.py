"""CMU-MOSI: Multimodal Opinion-level Sentiment Intensity corpus (Zadeh et al., 2016).

Layouts accepted (labels always from an MMSA-style ``label.csv``)::

    label.csv                                       anywhere under root (the shallowest is used)
      columns video_id, clip_id, text, label, annotation, mode
      label      sentiment score in [-3, 3] (mean of 5 annotators), the ``score`` column
      annotation Negative | Neutral | Positive;  mode  train | valid | test (the standard split)
    Raw/<video_id>/<clip_id>.mp4                    MMSA release (or .wav/.flac with the same stems)
    Audio/WAV_16000/Segmented/<video_id>_<clip_id>.wav   CMU release (video ids may contain ``_``,
                                                         so the clip number is after the LAST ``_``)

93 YouTube opinion videos, 2199 segments. Each video has one speaker, so ``speaker`` is the video id
(the usual MOSI protocol keeps videos disjoint across train/valid/test). ``task`` is regression:
``score`` holds the number and ``label`` its polarity (``negative`` < 0, ``neutral`` = 0,
``positive`` > 0), canonical :data:`serkit.labels.SENTIMENTS`. ``split`` is ``train``/``dev``/
``test`` (MMSA's ``valid`` is written ``dev``, as in the other corpora). When the same segment is
found in both layouts the audio file is kept and the video reported. Files without a label.csv row
are reported, and so are label.csv rows without audio.

:func:`scan_mmsa` is shared with the CH-SIMS adapter (same label.csv format).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from serkit.audio import AUDIO_EXTENSIONS
from serkit.data.corpora.base import Corpus, ScanResult, find_audio, register_corpus, utterance_id
from serkit.errors import CorpusError

_SPLITS = {"train": "train", "valid": "dev", "dev": "dev", "test": "test"}
_REQUIRED = ("video_id", "clip_id", "label")
SENTIMENT_LABELS = {"negative": "negative", "neutral": "neutral", "positive": "positive"}


def _clip_key(clip: str) -> str:
    clip = clip.strip()
    return str(int(clip)) if clip.isdigit() else clip


def polarity(score: float) -> str:
    """Sentiment polarity of a score: ``negative`` below 0, ``neutral`` at 0, ``positive`` above."""
    return "positive" if score > 0 else "negative" if score < 0 else "neutral"


def scan_mmsa(
    adapter: Corpus,
    root: Path,
    *,
    score_range: tuple[float, float],
    extra_scores: dict[str, str],
    allow_segmented: bool,
) -> ScanResult:
    """Scan an MMSA-style corpus: ``label.csv`` plus ``Raw/<video_id>/<clip_id>.<ext>``.

    Parameters
    ----------
    adapter : Corpus
        The calling adapter (for its name, language, layout).
    root : Path
        Checked corpus folder.
    score_range : (float, float)
        Allowed ``label`` values; a score outside raises CorpusError.
    extra_scores : dict
        label.csv column -> manifest column for per-modality scores (CH-SIMS ``label_A``).
    allow_segmented : bool
        Also match ``<video_id>_<clip_id>`` file names in any folder (CMU-MOSI release).
    """
    found = sorted(
        (p for p in root.rglob("label.csv") if not p.name.startswith("._")),
        key=lambda p: (len(p.parts), str(p)),
    )
    if not found:
        raise CorpusError(f"No {adapter.name} label.csv under {root}. Expected layout:\n{adapter.layout}")
    csv = found[0]
    df = pd.read_csv(csv, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise CorpusError(f"{csv} lacks the column(s) {', '.join(missing)}; expected {adapter.layout}.")
    table = {(str(r["video_id"]).strip(), _clip_key(str(r["clip_id"]))): r for r in df.to_dict("records")}
    best: dict[tuple[str, str], Path] = {}
    result = ScanResult()
    for path in find_audio(root):
        key = (path.parent.name, _clip_key(path.stem))
        if key not in table and allow_segmented and "_" in path.stem:
            video, clip = path.stem.rsplit("_", 1)
            key = (video, _clip_key(clip))
        if key not in table:
            result.unmatched.append((path, f"no row for it in {csv.name} (video_id, clip_id)"))
            continue
        if key in best:
            keep, drop = sorted((best[key], path), key=lambda p: AUDIO_EXTENSIONS.index(p.suffix.lower()))
            best[key] = keep
            result.unmatched.append((drop, f"duplicate of {keep}"))
            continue
        best[key] = path
    lo, hi = score_range
    for key, path in sorted(best.items(), key=lambda kv: str(kv[1])):
        rec = table[key]
        try:
            score = float(rec["label"])
        except ValueError:
            score = math.nan
        if not lo <= score <= hi:
            raise CorpusError(
                f"{csv}: video {key[0]} clip {key[1]} has label {rec['label']!r}; {adapter.name} "
                f"scores lie in [{lo:g}, {hi:g}]."
            )
        mode = str(rec.get("mode", "")).strip().lower()
        row = {
            "id": utterance_id(adapter.name, root, path),
            "path": str(path),
            "speaker": key[0],
            "gender": None,
            "label": polarity(score),
            "raw_label": rec["label"].strip(),
            "session": None,
            "text_id": None,
            "language": adapter.language,
            "score": score,
            "split": _SPLITS.get(mode),
            "text": rec.get("text") or None,
            "annotation": (rec.get("annotation") or "").strip().lower() or None,
            "video_id": key[0],
        }
        for column, name in extra_scores.items():
            value = str(rec.get(column, "")).strip()
            row[name] = float(value) if value else None
        result.rows.append(row)
    if not result.rows:
        raise adapter.no_files_error(root)
    for video, clip in sorted(set(table) - set(best)):
        result.unmatched.append((root / video / clip, f"listed in {csv.name}, no audio file"))
    return result


@register_corpus
class CmuMosi(Corpus):
    name = "cmu-mosi"
    title = "CMU-MOSI (Multimodal Opinion-level Sentiment Intensity)"
    language = "en"
    citation = (
        "A. Zadeh, R. Zellers, E. Pincus, L.-P. Morency (2016). MOSI: Multimodal Corpus of Sentiment "
        "Intensity and Subjectivity Analysis in Online Opinion Videos. IEEE Intelligent Systems 31(6): 82-88."
    )
    licence = "research use (CMU MultiComp Lab; YouTube videos)"
    layout = (
        "label.csv (video_id, clip_id, text, label, annotation, mode) plus Raw/<video_id>/<clip_id>.mp4 "
        "or Audio/WAV_16000/Segmented/<video_id>_<clip_id>.wav"
    )
    labels = SENTIMENT_LABELS
    task = "regression"

    def scan(self, root: Path) -> ScanResult:
        root = self.check_root(root)
        return scan_mmsa(self, root, score_range=(-3.0, 3.0), extra_scores={}, allow_segmented=True)
