"""TESS: Toronto Emotional Speech Set (Dupuis & Pichora-Fuller, University of Toronto, 2010).

Layout of the release (one folder per speaker and emotion; the folders are optional)::

    [TESS Toronto emotional speech set data/]<SPK>_<emotion>/<SPK>_<word>_<emo>.wav
        e.g. OAF_angry/OAF_back_angry.wav, YAF_pleasant_surprised/YAF_back_ps.wav
      SPK    OAF (older adult female, aged 64) | YAF (younger adult female, aged 26); both female
      word   the target word of the carrier phrase "Say the word ..." (200 words); ``text_id``
      emo    angry | disgust | fear | happy | neutral | ps (pleasant surprise) | sad
      folder emotion as released, in mixed case: OAF_Fear, OAF_Pleasant_surprise, OAF_Sad,
             YAF_pleasant_surprised, ... (``pleasant_surprise(d)`` and ``ps`` -> surprised)

2800 files: 2 speakers x 7 emotions x 200 words. Quirk of the release: ``OAF_neutral`` holds
``OA_bite_neutral`` (speaker prefix missing its F); ``OA`` is read as ``OAF``. A file whose speaker
or emotion disagrees with its ``<SPK>_<emotion>`` folder is reported, not guessed. With only two
speakers, a speaker-independent split is leave-one-speaker-out at best.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from serkit.data.corpora.base import Corpus, ScanResult, find_audio, register_corpus, utterance_id

_NAME = re.compile(r"^(OAF|YAF|OA)_([A-Za-z]+)_([A-Za-z_]+)$", re.IGNORECASE)
_FOLDER = re.compile(r"^(OAF|YAF)_([A-Za-z_]+)$", re.IGNORECASE)


@register_corpus
class Tess(Corpus):
    name = "tess"
    title = "TESS (Toronto Emotional Speech Set)"
    language = "en"
    citation = (
        "K. Dupuis, M. K. Pichora-Fuller (2010). Toronto emotional speech set (TESS). University of Toronto, "
        "Psychology Department. doi:10.5683/SP2/E8H2MF"
    )
    licence = "CC BY-NC-ND 4.0 (University of Toronto Dataverse)"
    layout = "<SPK>_<emotion>/<SPK>_<word>_<emo>.wav, e.g. OAF_angry/OAF_back_angry.wav (any audio extension)"
    labels: ClassVar[dict[str, str]] = {
        "angry": "angry",
        "disgust": "disgust",
        "fear": "fearful",
        "happy": "happy",
        "neutral": "neutral",
        "ps": "surprised",
        "pleasant_surprise": "surprised",
        "pleasant_surprised": "surprised",
        "sad": "sad",
    }

    def scan(self, root: Path) -> ScanResult:
        root = self.check_root(root)
        result = ScanResult()
        for path in find_audio(root):
            m = _NAME.match(path.stem)
            emo = m.group(3).lower() if m else ""
            if not m or emo not in self.labels:
                result.unmatched.append(
                    (path, "name does not follow <OAF|YAF>_<word>_<emotion> (e.g. OAF_back_angry)")
                )
                continue
            speaker = {"OA": "OAF"}.get(m.group(1).upper(), m.group(1).upper())
            word = m.group(2).lower()
            folder = _FOLDER.match(path.parent.name)
            if folder:
                f_speaker, f_emo = folder.group(1).upper(), folder.group(2).lower()
                if f_speaker != speaker or self.labels.get(f_emo) != self.labels[emo]:
                    result.unmatched.append(
                        (path, f"speaker/emotion in the name disagree with folder {path.parent.name}")
                    )
                    continue
            result.rows.append(
                {
                    "id": utterance_id(self.name, root, path),
                    "path": str(path),
                    "speaker": speaker,
                    "gender": "f",
                    "label": self.labels[emo],
                    "raw_label": emo,
                    "session": None,
                    "text_id": word,
                    "language": self.language,
                }
            )
        if not result.rows:
            raise self.no_files_error(root)
        return result
