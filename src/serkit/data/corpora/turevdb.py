"""TurEV-DB: Turkish Emotion Voice Database (Canpolat, Ormanoğlu & Zeyrek, SLTU-CCURL 2020).

Layout of the GitHub release (``Xeonen/TurEV-DB``, folder name with a space)::

    [Sound Source/]<Emotion>/<ACTOR>_<EMO>_<word>.wav     e.g. Sound Source/Angry/1157_kz_acik.wav
      Emotion  folder: Angry | Calm | Happy | Sad
      ACTOR    4-digit actor code (1157 1234 1358 1984 6783 7895); genders are not documented,
               so ``gender`` is left missing
      EMO      Turkish code, always consistent with the folder:
               kz kızgın (angry), sk sakin (calm), mt mutlu (happy), hl hüzünlü (sad)
      word     the spoken word, ASCII-folded (82 words); ``text_id`` is the word

Each file is one isolated word. Quirk of the release: ``Sad/7895_hl_ogul1`` is the word ``ogul``
(a trailing digit in the original name), so a trailing digit is stripped from ``text_id`` and kept
in the id. A file whose code disagrees with its emotion folder is reported, not guessed. Ids are
relative to ``Sound Source/`` (``turev-db/Angry/1157_kz_acik``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from serkit.data.corpora.base import Corpus, ScanResult, find_audio, register_corpus, utterance_id

_NAME = re.compile(r"^(\d{4})_(kz|sk|mt|hl)_([a-z]+)(\d*)$")
_FOLDER = {"Angry": "kz", "Calm": "sk", "Happy": "mt", "Sad": "hl"}


@register_corpus
class TurevDB(Corpus):
    name = "turev-db"
    title = "TurEV-DB (Turkish Emotion Voice Database)"
    language = "tr"
    citation = (
        "S. F. Canpolat, Z. Ormanoğlu, D. Zeyrek (2020). Turkish Emotion Voice Database (TurEV-DB). "
        "Proc. SLTU-CCURL 2020, pp. 368-375, Marseille, ELRA."
    )
    licence = "CC BY-NC-ND 4.0 (repository README)"
    layout = "Sound Source/<Emotion>/<ACTOR>_<EMO>_<word>.wav, e.g. Sound Source/Angry/1157_kz_acik.wav"
    labels: ClassVar[dict[str, str]] = {"kz": "angry", "sk": "calm", "mt": "happy", "hl": "sad"}

    def scan(self, root: Path) -> ScanResult:
        root = self.check_root(root)
        base = root / "Sound Source" if (root / "Sound Source").is_dir() else root
        result = ScanResult()
        for path in find_audio(base):
            m = _NAME.match(path.stem)
            if not m:
                result.unmatched.append(
                    (path, "name does not follow <ACTOR>_<EMO>_<word> (e.g. 1157_kz_acik)")
                )
                continue
            actor, emo, word, _suffix = m.groups()
            folder = path.parent.name
            if folder in _FOLDER and _FOLDER[folder] != emo:
                result.unmatched.append((path, f"emotion code {emo} in the name but folder {folder}"))
                continue
            result.rows.append(
                {
                    "id": utterance_id(self.name, base, path),
                    "path": str(path),
                    "speaker": actor,
                    "gender": None,
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
