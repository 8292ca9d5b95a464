"""nEMO: dataset of emotional speech in Polish (Christop, LREC-COLING 2024).

Layout of the release (GitHub / Hugging Face ``amu-cai/nEMO``)::

    data.tsv                      tab-separated, one row per utterance, columns
                                  file_id, emotion, raw_text, normalized_text, speaker_id, gender, age
    samples/<file_id>.wav         the audio (``file_id`` with or without its extension)

      emotion  anger | fear | happiness | neutral | sadness | surprised
      speaker  9 actors; ``gender`` as given in data.tsv (male/female, m/f); ``age`` kept as a column

About 3 h, 4481 utterances. ``text_id`` is the normalised text (the same sentence is read by
several actors in several emotions), ``text`` the raw transcript. An audio file without a data.tsv
row is reported; a data.tsv row whose file is missing from ``samples/`` is reported too.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pandas as pd

from serkit.data.corpora.base import Corpus, ScanResult, find_audio, register_corpus, utterance_id
from serkit.errors import CorpusError

_COLUMNS = ("file_id", "emotion", "speaker_id")
_GENDER = {"m": "m", "male": "m", "f": "f", "female": "f"}


@register_corpus
class Nemo(Corpus):
    name = "nemo"
    title = "nEMO (Polish emotional speech)"
    language = "pl"
    citation = (
        "I. Christop (2024). nEMO: Dataset of Emotional Speech in Polish. Proc. LREC-COLING 2024, "
        "Torino, ELRA and ICCL."
    )
    licence = "CC BY-NC-SA 4.0"
    layout = (
        "data.tsv (file_id, emotion, raw_text, normalized_text, speaker_id, gender, age) "
        "+ samples/<file_id>.wav"
    )
    labels: ClassVar[dict[str, str]] = {
        "anger": "angry",
        "fear": "fearful",
        "happiness": "happy",
        "neutral": "neutral",
        "sadness": "sad",
        "surprised": "surprised",
    }

    def scan(self, root: Path) -> ScanResult:
        root = self.check_root(root)
        tsv = root / "data.tsv"
        if not tsv.is_file():
            raise CorpusError(f"No nEMO data.tsv in {root}. Expected layout:\n{self.layout}")
        df = pd.read_csv(tsv, sep="\t", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        missing = [c for c in _COLUMNS if c not in df.columns]
        if missing:
            raise CorpusError(f"{tsv} lacks the column(s) {', '.join(missing)}; expected {self.layout}.")
        table = {Path(str(r["file_id"]).strip()).stem: r for r in df.to_dict("records")}
        audio_dir = root / "samples" if (root / "samples").is_dir() else root
        result = ScanResult()
        seen = set()
        for path in find_audio(audio_dir):
            rec = table.get(path.stem)
            if rec is None:
                result.unmatched.append((path, "no row for it in data.tsv"))
                continue
            seen.add(path.stem)
            emo = rec["emotion"].strip().lower()
            gender = rec.get("gender", "").strip().lower()
            if gender and gender not in _GENDER:
                raise CorpusError(
                    f"{tsv}: gender {rec['gender']!r} of {path.stem}; expected male/female or m/f."
                )
            text = rec.get("normalized_text") or rec.get("raw_text") or None
            result.rows.append(
                {
                    "id": utterance_id(self.name, root, path),
                    "path": str(path),
                    "speaker": rec["speaker_id"].strip(),
                    "gender": _GENDER.get(gender),
                    "label": self.map_label(emo),
                    "raw_label": emo,
                    "session": None,
                    "text_id": text,
                    "language": self.language,
                    "text": rec.get("raw_text") or None,
                    "age": rec.get("age") or None,
                }
            )
        if not result.rows:
            raise self.no_files_error(root)
        for stem in sorted(set(table) - seen):
            result.unmatched.append((audio_dir / stem, "listed in data.tsv, no audio file"))
        return result
