"""MELD: Multimodal EmotionLines Dataset (Poria et al., ACL 2019), dialogues from the TV series Friends.

Layout of the official ``MELD.Raw`` release (any folders above the split folders are accepted)::

    train_sent_emo.csv   dev_sent_emo.csv   test_sent_emo.csv      (anywhere under root)
    .../train_splits/dia{D}_utt{U}.mp4                  train
    .../dev_splits_complete/dia{D}_utt{U}.mp4           dev
    .../output_repeated_splits_test/dia{D}_utt{U}.mp4   test

CSV columns: ``Sr No., Utterance, Speaker, Emotion, Sentiment, Dialogue_ID, Utterance_ID, Season,
Episode, StartTime, EndTime``. A row matches the media file ``dia{Dialogue_ID}_utt{Utterance_ID}``
in its split's folder; the split is told by the folder, because dialogue numbers restart in every
split. Emotions: neutral, joy, sadness, anger, surprise, fear, disgust; sentiments: negative,
neutral, positive.

Audio: the release has only ``.mp4`` video, which serkit decodes through ffmpeg when it is on PATH.
Audio extracted to ``.wav``/``.flac`` with the same stems, next to the mp4s or instead of them, is
preferred (it needs no ffmpeg); folders named plainly ``train``/``dev``/``test`` also work.
The CSVs are read as UTF-8, falling back to cp1252 (some copies carry Windows-encoded quotes).

Columns: ``split`` (train/dev/test, the official partition used by the "official" split protocol),
``sentiment``, ``text`` (the utterance transcript), ``dialog`` (``<split>/dia<D>``), ``season``,
``episode``. ``speaker`` is the *character* name (``Chandler``), not an actor id: the same
character is one speaker across splits, and minor characters are many different people. A
speaker-independent split is therefore approximate and is not MELD's official protocol (the
official one is the ``split`` column). Files whose name or folder does not fit, or that have no CSV
row, are reported; a CSV row whose media file is absent from a split folder that exists is reported
as well (the release itself misses a few, e.g. dev ``dia110_utt7``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import pandas as pd

from serkit.audio import AUDIO_EXTENSIONS
from serkit.data.corpora.base import Corpus, ScanResult, find_audio, register_corpus, utterance_id
from serkit.errors import CorpusError

_NAME = re.compile(r"^dia(\d+)_utt(\d+)$")
_SPLIT_DIRS = {
    "train_splits": "train",
    "train": "train",
    "dev_splits_complete": "dev",
    "dev_splits": "dev",
    "dev": "dev",
    "output_repeated_splits_test": "test",
    "test_splits": "test",
    "test": "test",
}
_COLUMNS = ("Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID")


def read_csv_any_encoding(path: Path) -> pd.DataFrame:
    """Read a CSV as UTF-8 (BOM allowed), falling back to cp1252."""
    try:
        return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    except UnicodeDecodeError:
        return pd.read_csv(path, encoding="cp1252", dtype=str, keep_default_na=False)


@register_corpus
class Meld(Corpus):
    name = "meld"
    title = "MELD (Multimodal EmotionLines Dataset)"
    language = "en"
    citation = (
        "S. Poria, D. Hazarika, N. Majumder, G. Naik, E. Cambria, R. Mihalcea (2019). MELD: A Multimodal "
        "Multi-Party Dataset for Emotion Recognition in Conversations. Proc. ACL 2019, pp. 527-536."
    )
    licence = "GPL-3.0 (MELD repository); the clips are excerpts of Friends (research use)"
    layout = (
        "{train,dev,test}_sent_emo.csv plus train_splits/, dev_splits_complete/, "
        "output_repeated_splits_test/ holding dia{D}_utt{U}.mp4 (or .wav/.flac with the same stems)"
    )
    labels: ClassVar[dict[str, str]] = {
        "neutral": "neutral",
        "joy": "happy",
        "sadness": "sad",
        "anger": "angry",
        "surprise": "surprised",
        "fear": "fearful",
        "disgust": "disgust",
    }

    def _read_labels(self, root: Path) -> dict[str, dict[tuple[int, int], dict]]:
        tables: dict[str, dict[tuple[int, int], dict]] = {}
        for split in ("train", "dev", "test"):
            found = sorted(
                (p for p in root.rglob(f"{split}_sent_emo.csv") if not p.name.startswith("._")),
                key=lambda p: (len(p.parts), str(p)),
            )
            if not found:
                continue
            df = read_csv_any_encoding(found[0])
            missing = [c for c in _COLUMNS if c not in df.columns]
            if missing:
                raise CorpusError(
                    f"The MELD file {found[0]} lacks the column(s) {', '.join(missing)}; expected the "
                    f"official columns {', '.join(_COLUMNS)}, Season, Episode, StartTime, EndTime."
                )
            table = {}
            for rec in df.to_dict("records"):
                table[(int(rec["Dialogue_ID"]), int(rec["Utterance_ID"]))] = rec
            tables[split] = table
        return tables

    def scan(self, root: Path) -> ScanResult:
        root = self.check_root(root)
        tables = self._read_labels(root)
        if not tables:
            raise CorpusError(
                f"No MELD label file (train_sent_emo.csv, dev_sent_emo.csv, test_sent_emo.csv) under {root}. "
                f"Expected layout:\n{self.layout}"
            )
        result = ScanResult()
        best: dict[tuple[str, int, int], Path] = {}
        split_dirs: dict[str, list[Path]] = {}
        for path in find_audio(root):
            split = _SPLIT_DIRS.get(path.parent.name)
            m = _NAME.match(path.stem)
            if split is None or not m:
                result.unmatched.append(
                    (
                        path,
                        "not dia{D}_utt{U} in a MELD split folder (train_splits, dev_splits_complete, "
                        "output_repeated_splits_test)",
                    )
                )
                continue
            split_dirs.setdefault(split, [])
            if path.parent not in split_dirs[split]:
                split_dirs[split].append(path.parent)
            key = (split, int(m.group(1)), int(m.group(2)))
            if key in best:
                # The same clip in two folders (e.g. the mp4 and an extracted wav): keep the
                # format that needs no ffmpeg and report the other.
                keep, drop = sorted((best[key], path), key=lambda p: AUDIO_EXTENSIONS.index(p.suffix.lower()))
                best[key] = keep
                result.unmatched.append((drop, f"duplicate of {keep}"))
                continue
            best[key] = path
        for (split, dia, utt), path in sorted(best.items(), key=lambda kv: str(kv[1])):
            rec = tables.get(split, {}).get((dia, utt))
            if rec is None:
                result.unmatched.append(
                    (path, f"no row for dialogue {dia} utterance {utt} in {split}_sent_emo.csv")
                )
                continue
            emo = rec["Emotion"].strip().lower()
            result.rows.append(
                {
                    "id": utterance_id(self.name, root, path),
                    "path": str(path),
                    "speaker": " ".join(rec["Speaker"].split()),
                    "gender": None,
                    "label": self.map_label(emo),
                    "raw_label": emo,
                    "session": None,
                    "text_id": None,
                    "language": self.language,
                    "split": split,
                    "sentiment": rec["Sentiment"].strip().lower(),
                    "text": rec["Utterance"],
                    "dialog": f"{split}/dia{dia}",
                    "season": rec.get("Season") or None,
                    "episode": rec.get("Episode") or None,
                }
            )
        for split, table in tables.items():
            for dia, utt in sorted(table):
                if split in split_dirs and (split, dia, utt) not in best:
                    where = split_dirs[split][0]
                    result.unmatched.append(
                        (where / f"dia{dia}_utt{utt}", f"listed in {split}_sent_emo.csv, no file")
                    )
        if not result.rows:
            raise self.no_files_error(root)
        return result
