"""The canonical emotion vocabulary and label sets (subsets and merges chosen by name).

Corpus adapters map their raw labels onto :data:`EMOTIONS` (``raw_label`` keeps the original).
Experiments then pick a :class:`LabelSet`, e.g. the 4-class IEMOCAP set with *excited* merged into
*happy*: ``get_label_set("iemocap4").apply(manifest)``, or an ad-hoc one from text:
``parse_label_set("neutral,happy+excited,sad,angry")``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import pandas as pd

from serkit.errors import ParameterError

__all__ = [
    "EMOTIONS",
    "LABEL_SETS",
    "SENTIMENTS",
    "LabelSet",
    "canonical_label",
    "get_label_set",
    "parse_label_set",
]

#: Canonical emotion names used in every manifest's ``label`` column.
EMOTIONS: tuple[str, ...] = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
    "bored",
    "excited",
    "frustrated",
    "contempt",
    "other",
)
#: Sentiment polarity labels of the regression corpora (their ``score`` column holds the number).
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")

_SYNONYMS = {
    "neu": "neutral",
    "neutrality": "neutral",
    "calmness": "calm",
    "happiness": "happy",
    "joy": "happy",
    "hap": "happy",
    "sadness": "sad",
    "anger": "angry",
    "ang": "angry",
    "fear": "fearful",
    "afraid": "fearful",
    "disgusted": "disgust",
    "surprise": "surprised",
    "boredom": "bored",
    "exc": "excited",
    "fru": "frustrated",
    "frustration": "frustrated",
}


def canonical_label(name: str) -> str:
    """Return the canonical emotion name for ``name`` (case-insensitive; common synonyms accepted).

    Raises
    ------
    ParameterError
        If ``name`` is neither canonical nor a known synonym (close matches are suggested).
    """
    key = str(name).strip().lower()
    if key in EMOTIONS or key in SENTIMENTS:
        return key
    if key in _SYNONYMS:
        return _SYNONYMS[key]
    close = difflib.get_close_matches(key, [*EMOTIONS, *_SYNONYMS], n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ParameterError(f"Unknown emotion label {name!r}.{hint} Canonical labels: {', '.join(EMOTIONS)}.")


@dataclass(frozen=True)
class LabelSet:
    """An ordered list of classes plus merges of other labels into them.

    Parameters
    ----------
    name : str
    classes : tuple of str
        Output classes, in the order models index them.
    merge : dict
        Label -> class it is folded into (``{"excited": "happy"}``). Labels neither in ``classes`` nor
        in ``merge`` are dropped by :meth:`apply`.
    """

    name: str
    classes: tuple[str, ...]
    merge: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(set(self.classes)) != len(self.classes) or not self.classes:
            raise ParameterError(f"Label set {self.name!r} needs distinct classes. Got {self.classes!r}.")
        for src, dst in self.merge.items():
            if dst not in self.classes:
                raise ParameterError(
                    f"Label set {self.name!r} merges {src!r} into {dst!r}, which is not one of its classes "
                    f"{self.classes!r}."
                )

    def map(self, label: str) -> str | None:
        """The class ``label`` belongs to, or None if the set drops it."""
        if label in self.classes:
            return label
        return self.merge.get(label)

    def apply(self, manifest: pd.DataFrame) -> pd.DataFrame:
        """Rows whose label is in the set, with ``label`` mapped onto the set's classes.

        ``raw_label`` is untouched, so the corpus's own label stays visible.
        """
        mapped = manifest["label"].map(self.map)
        out = manifest.loc[mapped.notna()].copy()
        out["label"] = mapped[mapped.notna()].astype("string")
        return out.reset_index(drop=True)


LABEL_SETS: dict[str, LabelSet] = {
    s.name: s
    for s in (
        # IEMOCAP's usual 4 classes (excited folded into happy), as most papers use it.
        LabelSet("iemocap4", ("neutral", "happy", "sad", "angry"), {"excited": "happy"}),
        LabelSet("basic4", ("neutral", "happy", "sad", "angry")),
        # The emotions every corpus in shared/corpora has (TurEV-DB's and RAVDESS' calm counts as neutral):
        # the label set of the shipped models (serkit predict).
        LabelSet("core5", ("neutral", "happy", "sad", "angry", "fearful"), {"calm": "neutral"}),
        LabelSet("ravdess8", ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")),
        LabelSet("emodb7", ("neutral", "angry", "bored", "disgust", "fearful", "happy", "sad")),
        LabelSet("ekman6", ("angry", "disgust", "fearful", "happy", "sad", "surprised")),
        LabelSet("ekman6+neutral", ("neutral", "angry", "disgust", "fearful", "happy", "sad", "surprised")),
        LabelSet("sentiment3", SENTIMENTS),
    )
}


def parse_label_set(text: str, *, name: str | None = None) -> LabelSet:
    """Build a label set from ``"neutral,happy+excited,sad,angry"``: commas separate classes and
    ``+`` merges the labels after the first into it. Names are canonicalised (``anger`` -> ``angry``).
    """
    classes: list[str] = []
    merge: dict[str, str] = {}
    for part in text.split(","):
        names = [canonical_label(p) for p in part.split("+") if p.strip()]
        if not names:
            raise ParameterError(f"Empty class in label set {text!r}.")
        classes.append(names[0])
        merge.update({n: names[0] for n in names[1:]})
    return LabelSet(name or text, tuple(classes), merge)


def get_label_set(name: str) -> LabelSet:
    """A named label set from :data:`LABEL_SETS`, or one parsed by :func:`parse_label_set`."""
    if name in LABEL_SETS:
        return LABEL_SETS[name]
    if "," in name or "+" in name:
        return parse_label_set(name)
    close = difflib.get_close_matches(name, list(LABEL_SETS), n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ParameterError(
        f"Unknown label set {name!r}.{hint} Named sets: {', '.join(LABEL_SETS)}; or give classes as "
        "'neutral,happy+excited,sad,angry'."
    )
