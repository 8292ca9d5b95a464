"""EmoDB: Berlin Database of Emotional Speech (Burkhardt et al., Interspeech 2005), original release.

Layout of the official ``download.zip``::

    wav/SSTTTEV.wav      e.g. wav/03a01Fa.wav
      SS  speaker: 03 08 09 10 11 12 13 14 15 16
      TTT text: a01 a02 a04 a05 a07 b01 b02 b03 b09 b10
      E   emotion (German initial): W anger, L boredom, E disgust, A fear, F happiness, T sadness, N neutral
      V   version letter a, b, c, ...

A folder of files named this way without the ``wav/`` level is accepted too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from serkit.data.corpora.base import Corpus, ScanResult, find_audio, register_corpus, utterance_id

_NAME = re.compile(r"^(\d\d)([ab]\d\d)([WLEAFTN])([a-z])$")
_GENDER = {
    "03": "m",
    "08": "f",
    "09": "f",
    "10": "m",
    "11": "m",
    "12": "m",
    "13": "f",
    "14": "f",
    "15": "m",
    "16": "f",
}


@register_corpus
class EmoDB(Corpus):
    name = "emodb"
    title = "EmoDB (Berlin Database of Emotional Speech)"
    language = "de"
    citation = (
        "F. Burkhardt, A. Paeschke, M. Rolfes, W. F. Sendlmeier, B. Weiss (2005). A database of German "
        "emotional speech. Proc. Interspeech 2005, pp. 1517-1520."
    )
    licence = "free for research (no formal licence text)"
    layout = "wav/SSTTTEV.wav, e.g. wav/03a01Fa.wav (any audio extension)"
    labels: ClassVar[dict[str, str]] = {
        "W": "angry",
        "L": "bored",
        "E": "disgust",
        "A": "fearful",
        "F": "happy",
        "T": "sad",
        "N": "neutral",
    }

    def scan(self, root: Path) -> ScanResult:
        root = self.check_root(root)
        audio_dir = root / "wav" if (root / "wav").is_dir() else root
        result = ScanResult()
        for path in find_audio(audio_dir, "*"):
            m = _NAME.match(path.stem)
            if not m:
                result.unmatched.append((path, "name does not follow SSTTTEV (e.g. 03a01Fa)"))
                continue
            speaker, text, emo, _version = m.groups()
            result.rows.append(
                {
                    "id": utterance_id(self.name, root, path),
                    "path": str(path),
                    "speaker": speaker,
                    "gender": _GENDER.get(speaker),
                    "label": self.labels[emo],
                    "raw_label": emo,
                    "session": None,
                    "text_id": text,
                    "language": self.language,
                }
            )
        if not result.rows:
            raise self.no_files_error(root)
        return result
