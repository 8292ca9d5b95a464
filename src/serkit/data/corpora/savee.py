"""SAVEE: Surrey Audio-Visual Expressed Emotion database (Haq & Jackson, 2009).

Layout of the release, and the flat layout of common re-distributions::

    AudioData/<SPK>/<code><NN>.wav      e.g. AudioData/DC/a01.wav     (release)
    [ALL/]<SPK>_<code><NN>.wav          e.g. ALL/DC_a01.wav            (flat copy)
      SPK   DC, JE, JK, KL (4 male speakers, postgraduate students at Surrey)
      code  a anger, d disgust, f fear, h happiness, n neutral, sa sadness, su surprise
      NN    sentence number: 01-15 per emotion, 01-30 for neutral (TIMIT sentences, the same list
            for every speaker); ``text_id`` is ``<code><NN>``

480 files: 4 speakers x 120. If both layouts are present the same take is kept once and the second
copy (the flat one) is reported. Other files in ``AudioData`` (e.g. ``Info.txt``) are ignored.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from serkit.data.corpora.base import Corpus, ScanResult, find_audio, register_corpus, utterance_id

_SPEAKERS = ("DC", "JE", "JK", "KL")
_CODE = r"(a|d|f|h|n|sa|su)(\d\d)"
_NESTED = re.compile(rf"^{_CODE}$")
_FLAT = re.compile(rf"^({'|'.join(_SPEAKERS)})_{_CODE}$")


@register_corpus
class Savee(Corpus):
    name = "savee"
    title = "SAVEE (Surrey Audio-Visual Expressed Emotion)"
    language = "en"
    citation = (
        "S. Haq, P. J. B. Jackson (2009). Speaker-dependent audio-visual emotion recognition. "
        "Proc. Int. Conf. on Auditory-Visual Speech Processing (AVSP 2009), pp. 53-58."
    )
    licence = "free for research use (University of Surrey; registration required)"
    layout = "AudioData/<SPK>/<code><NN>.wav (e.g. AudioData/DC/a01.wav) or ALL/<SPK>_<code><NN>.wav"
    labels: ClassVar[dict[str, str]] = {
        "a": "angry",
        "d": "disgust",
        "f": "fearful",
        "h": "happy",
        "n": "neutral",
        "sa": "sad",
        "su": "surprised",
    }

    def scan(self, root: Path) -> ScanResult:
        root = self.check_root(root)
        result = ScanResult()
        seen: dict[tuple[str, str], Path] = {}
        # The release layout first, so that its copy wins over a flat duplicate.
        paths = sorted(find_audio(root), key=lambda p: (_FLAT.match(p.stem) is not None, p))
        for path in paths:
            flat = _FLAT.match(path.stem)
            nested = _NESTED.match(path.stem) if path.parent.name in _SPEAKERS else None
            if flat:
                speaker, code, number = flat.groups()
            elif nested:
                speaker, (code, number) = path.parent.name, nested.groups()
            else:
                result.unmatched.append(
                    (path, "name does not follow <SPK>/<code><NN> or <SPK>_<code><NN> (e.g. DC/a01)")
                )
                continue
            take = (speaker, f"{code}{number}")
            if take in seen:
                result.unmatched.append((path, f"duplicate of {seen[take]}"))
                continue
            seen[take] = path
            result.rows.append(
                {
                    "id": utterance_id(self.name, root, path),
                    "path": str(path),
                    "speaker": speaker,
                    "gender": "m",
                    "label": self.labels[code],
                    "raw_label": code,
                    "session": None,
                    "text_id": f"{code}{number}",
                    "language": self.language,
                }
            )
        if not result.rows:
            raise self.no_files_error(root)
        return result
