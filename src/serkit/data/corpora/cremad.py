"""CREMA-D: Crowd-sourced Emotional Multimodal Actors Dataset (Cao et al., IEEE TAC 2014).

Layout of the official release (GitHub ``CheyneyComputerScience/CREMA-D``)::

    AudioWAV/<actor>_<sentence>_<emotion>_<level>.wav      e.g. AudioWAV/1001_DFA_ANG_XX.wav
    VideoDemographics.csv                                 (optional: ActorID, Age, Sex, Race, Ethnicity)
      actor     1001..1091 (91 actors: 48 male, 43 female)
      sentence  IEO TIE IOM IWW TAI MTI IWL ITH DFA ITS TSI WSI (12 sentences); ``text_id``
      emotion   ANG anger, DIS disgust, FEA fear, HAP happy, NEU neutral, SAD sad
      level     LO low, MD medium, HI high, XX unspecified (``intensity`` column)

``AudioWAV/`` is used when present, else ``AudioMP3/`` (same stems), else the files directly in
``root``. Genders (and ``age``) come from ``VideoDemographics.csv`` when it is anywhere under root,
else they stay missing. These are the intended (acted) labels, not the crowd-perceived ones. Ids are
relative to the audio folder (``crema-d/1001_DFA_ANG_XX``), so the WAV and MP3 copies share ids.
Broken files in a copy are reported by prepare, not by the scan.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from serkit.data.corpora.base import Corpus, ScanResult, find_audio, register_corpus, utterance_id
from serkit.data.corpora.meld import read_csv_any_encoding
from serkit.errors import CorpusError

_SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
_NAME = re.compile(rf"^(\d{{4}})_({'|'.join(_SENTENCES)})_(ANG|DIS|FEA|HAP|NEU|SAD)_(LO|MD|HI|XX)$")
_LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}


def _demographics(root: Path) -> dict[str, tuple[str | None, str | None]]:
    found = sorted(p for p in root.rglob("VideoDemographics.csv") if not p.name.startswith("._"))
    if not found:
        return {}
    df = read_csv_any_encoding(found[0])
    if "ActorID" not in df.columns or "Sex" not in df.columns:
        raise CorpusError(f"{found[0]} lacks the ActorID/Sex columns of CREMA-D's VideoDemographics.csv.")
    sex = {"male": "m", "female": "f"}
    return {
        str(r["ActorID"]).strip(): (
            sex.get(str(r["Sex"]).strip().lower()),
            str(r.get("Age", "")).strip() or None,
        )
        for r in df.to_dict("records")
    }


@register_corpus
class CremaD(Corpus):
    name = "crema-d"
    title = "CREMA-D (Crowd-sourced Emotional Multimodal Actors Dataset)"
    language = "en"
    citation = (
        "H. Cao, D. G. Cooper, M. K. Keutmann, R. C. Gur, A. Nenkova, R. Verma (2014). CREMA-D: "
        "Crowd-sourced Emotional Multimodal Actors Dataset. IEEE Trans. Affective Computing 5(4): 377-390."
    )
    licence = "Open Database License (ODbL) 1.0; contents under the Database Contents License"
    layout = "AudioWAV/<actor>_<sentence>_<emotion>_<level>.wav, e.g. AudioWAV/1001_DFA_ANG_XX.wav"
    labels: ClassVar[dict[str, str]] = {
        "ANG": "angry",
        "DIS": "disgust",
        "FEA": "fearful",
        "HAP": "happy",
        "NEU": "neutral",
        "SAD": "sad",
    }

    def scan(self, root: Path) -> ScanResult:
        root = self.check_root(root)
        base = next((root / d for d in ("AudioWAV", "AudioMP3") if (root / d).is_dir()), root)
        demo = _demographics(root)
        result = ScanResult()
        for path in find_audio(base, "*"):
            m = _NAME.match(path.stem)
            if not m or not 1001 <= int(m.group(1)) <= 1091:
                result.unmatched.append((path, "name does not follow <actor 1001-1091>_<SEN>_<EMO>_<LVL>"))
                continue
            actor, sentence, emo, level = m.groups()
            gender, age = demo.get(actor, (None, None))
            result.rows.append(
                {
                    "id": utterance_id(self.name, base, path),
                    "path": str(path),
                    "speaker": actor,
                    "gender": gender,
                    "label": self.labels[emo],
                    "raw_label": emo,
                    "session": None,
                    "text_id": sentence,
                    "language": self.language,
                    "intensity": _LEVELS[level],
                    "age": age,
                }
            )
        if not result.rows:
            raise self.no_files_error(root)
        return result
