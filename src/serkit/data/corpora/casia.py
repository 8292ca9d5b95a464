"""CASIA Chinese (Mandarin) Emotional Speech Corpus (Institute of Automation, Chinese Academy of Sciences).

Layout (the speaker/emotion folders of the release; any folders above are ignored)::

    [CASIA database/]<speaker>/<emotion>/<NNN>.wav     e.g. liuchanhg/angry/201.wav
      speaker  liuchanhg (f), wangzhe (m), zhaoquanyin (f), ZhaoZuoxiang (m)  (2 f, 2 m; folder
               names as released, ``liuchanhg`` included; matched case-insensitively)
      emotion  angry | fear | happy | neutral | sad | surprise
      NNN      sentence id (3 digits); the same id is the same text for every speaker and emotion

The full corpus (4 speakers x 6 emotions x 400 sentences = 9600, CASIA / Chinese-LDC) uses the same
folders; the widely circulated free subset has the 50 same-text sentences 201-250 only
(1200 files). ``text_id`` is the 3-digit sentence id, zero-padded so that string order is numeric
order: a text-based split (e.g. the DRSN-BiGRU paper's "first 200 readings for training") selects
on it. Side files (``.lab``, ``.peak``, transcripts) are not read. Files in an unknown speaker or
emotion folder are reported, not guessed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from serkit.data.corpora.base import Corpus, ScanResult, find_audio, register_corpus, utterance_id

_NAME = re.compile(r"^\d{1,3}$")
_SPEAKER_NAMES = ("liuchanhg", "wangzhe", "zhaoquanyin", "ZhaoZuoxiang")
_SPEAKERS = {"liuchanhg": "f", "wangzhe": "m", "zhaoquanyin": "f", "zhaozuoxiang": "m"}


@register_corpus
class Casia(Corpus):
    name = "casia"
    title = "CASIA Chinese Emotional Speech Corpus"
    language = "zh"
    citation = (
        "J. Tao, F. Liu, M. Zhang, H. Jia (2008). Design of speech corpus for Mandarin text to speech. "
        "The Blizzard Challenge 2008 workshop."
    )
    licence = "licensed by CASIA / Chinese-LDC; the 1200-file subset has no stated licence (research only)"
    layout = "<speaker>/<emotion>/<NNN>.wav, e.g. liuchanhg/angry/201.wav (any audio extension)"
    labels: ClassVar[dict[str, str]] = {
        "angry": "angry",
        "fear": "fearful",
        "happy": "happy",
        "neutral": "neutral",
        "sad": "sad",
        "surprise": "surprised",
    }

    def scan(self, root: Path) -> ScanResult:
        root = self.check_root(root)
        result = ScanResult()
        for path in find_audio(root):
            emotion, speaker = path.parent.name, path.parent.parent.name
            if not _NAME.match(path.stem):
                result.unmatched.append((path, "name is not a sentence number <NNN> (e.g. 201)"))
                continue
            if emotion not in self.labels:
                result.unmatched.append(
                    (path, f"folder {emotion!r} is not a CASIA emotion ({', '.join(self.labels)})")
                )
                continue
            if speaker.lower() not in _SPEAKERS:
                result.unmatched.append(
                    (
                        path,
                        f"folder {speaker!r} is not a CASIA speaker ({', '.join(_SPEAKER_NAMES)})",
                    )
                )
                continue
            result.rows.append(
                {
                    "id": utterance_id(self.name, root, path),
                    "path": str(path),
                    "speaker": speaker,
                    "gender": _SPEAKERS[speaker.lower()],
                    "label": self.labels[emotion],
                    "raw_label": emotion,
                    "session": None,
                    "text_id": f"{int(path.stem):03d}",
                    "language": self.language,
                }
            )
        if not result.rows:
            raise self.no_files_error(root)
        return result
