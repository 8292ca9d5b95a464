"""Summary statistics of a manifest: counts of utterances, speakers, labels, hours, per speaker."""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["manifest_stats"]


def manifest_stats(manifest: pd.DataFrame) -> dict[str, Any]:
    """Counts a user checks first: utterances, speakers, labels, hours and label counts per speaker.

    Returns
    -------
    dict
        ``corpora``, ``utterances``, ``speakers``, ``labels`` (number of distinct labels), ``hours``,
        ``label_counts``, ``speaker_counts``, ``gender_counts`` (utterances per gender),
        ``per_speaker`` (speaker -> label -> count) and ``duration_s`` (min, mean, max).
        Speakers of different corpora are kept apart as ``corpus/speaker`` when several corpora are mixed.
    """
    multi = manifest["corpus"].nunique() > 1
    speakers = (manifest["corpus"] + "/" + manifest["speaker"]) if multi else manifest["speaker"]
    labels = manifest["label"].astype(str)
    per_speaker = pd.crosstab(speakers.astype(str), labels)
    gender = manifest["gender"].astype(object).where(manifest["gender"].notna(), "unknown")
    return {
        "corpora": sorted(manifest["corpus"].astype(str).unique()),
        "utterances": len(manifest),
        "speakers": int(speakers.nunique()),
        "labels": int(labels.nunique()),
        "hours": round(float(manifest["duration"].sum()) / 3600, 4),
        "label_counts": {k: int(v) for k, v in labels.value_counts().sort_index().items()},
        "speaker_counts": {k: int(v) for k, v in speakers.astype(str).value_counts().sort_index().items()},
        "gender_counts": {str(k): int(v) for k, v in gender.value_counts().sort_index().items()},
        "per_speaker": {spk: {lab: int(n) for lab, n in row.items()} for spk, row in per_speaker.iterrows()},
        "duration_s": {
            "min": round(float(manifest["duration"].min()), 4),
            "mean": round(float(manifest["duration"].mean()), 4),
            "max": round(float(manifest["duration"].max()), 4),
        },
    }
