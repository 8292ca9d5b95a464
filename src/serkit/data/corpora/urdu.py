"""URDU: emotional Urdu speech from talk shows (Latif, Qayyum, Usman & Qadir, 2018).

Layout of the release (GitHub ``siddiquelatif/URDU-Dataset``)::

    <Emotion>/S<G><X>_F<XX>_<E><YY>.wav      e.g. Angry/SM1_F1_A01.wav
      Emotion  folder: Angry | Happy | Neutral | Sad (100 files each)
      S<G><X>  speaker: G the gender (M male, F female), X the speaker number; ``SM1`` and ``SF1``
               are different people. 38 speakers (27 male, 11 female)
      F<XX>    the file number of that speaker
      <E><YY>  emotion letter (A angry, H happy, N neutral, S sad) and the file's number within the
               emotion; the letter always agrees with the folder

400 utterances of spontaneous speech cut from YouTube talk shows (no fixed text, so ``text_id`` is
missing). A file whose emotion letter disagrees with its folder is reported, not guessed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from serkit.data.corpora.base import Corpus, ScanResult, find_audio, register_corpus, utterance_id

_NAME = re.compile(r"^S([MF])(\d+)_F(\d+)_([AHNS])(\d+)$")
_FOLDER = {"angry": "A", "happy": "H", "neutral": "N", "sad": "S"}


@register_corpus
class Urdu(Corpus):
    name = "urdu"
    title = "URDU (emotional Urdu talk-show speech)"
    language = "ur"
    citation = (
        "S. Latif, A. Qayyum, M. Usman, J. Qadir (2018). Cross Lingual Speech Emotion Recognition: Urdu vs. "
        "Western Languages. Proc. Frontiers of Information Technology (FIT 2018). arXiv:1812.10411"
    )
    licence = "research use; cite the paper (repository README)"
    layout = "<Emotion>/S<G><X>_F<XX>_<E><YY>.wav, e.g. Angry/SM1_F1_A01.wav (any audio extension)"
    labels: ClassVar[dict[str, str]] = {"A": "angry", "H": "happy", "N": "neutral", "S": "sad"}

    def scan(self, root: Path) -> ScanResult:
        root = self.check_root(root)
        result = ScanResult()
        for path in find_audio(root):
            m = _NAME.match(path.stem)
            if not m:
                result.unmatched.append(
                    (path, "name does not follow S<G><X>_F<XX>_<E><YY> (e.g. SM1_F1_A01)")
                )
                continue
            gender, number, _file, emo, _ = m.groups()
            folder = _FOLDER.get(path.parent.name.lower())
            if folder is not None and folder != emo:
                result.unmatched.append(
                    (path, f"emotion letter {emo} in the name but folder {path.parent.name}")
                )
                continue
            result.rows.append(
                {
                    "id": utterance_id(self.name, root, path),
                    "path": str(path),
                    "speaker": f"S{gender}{number}",
                    "gender": gender.lower(),
                    "label": self.labels[emo],
                    "raw_label": emo,
                    "session": None,
                    "text_id": None,
                    "language": self.language,
                }
            )
        if not result.rows:
            raise self.no_files_error(root)
        return result
