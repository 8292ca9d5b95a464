"""RAVDESS: Ryerson Audio-Visual Database of Emotional Speech and Song (Livingstone & Russo, 2018).

Layout (Zenodo release; speech ``Audio_Speech_Actors_01-24`` and song ``Audio_Song_Actors_01-24``)::

    [Audio_Speech_Actors_01-24/]Actor_XX/MM-VV-EE-II-SS-RR-AA.wav

    MM modality: 01 full-AV, 02 video-only, 03 audio-only (audio extracted from 01 files is a copy of
       the same take as the 03 file)
    VV vocal channel: 01 speech, 02 song
    EE emotion: 01 neutral, 02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised
    II intensity: 01 normal, 02 strong
    SS statement: 01 "Kids are talking by the door", 02 "Dogs are sitting by the door"
    RR repetition: 01, 02
    AA actor: 01..24, odd male, even female

A take (everything but the modality) can appear twice when a user's copy mixes the audio-only
release with audio extracted from the audio-visual one. Both are the same recording, so only one is
kept (audio-only preferred) and the duplicate is reported; the ``take`` column names the take.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from serkit.data.corpora.base import Corpus, ScanResult, find_audio, register_corpus, utterance_id

_NAME = re.compile(r"^(0[1-3])-(0[12])-(0[1-8])-(0[12])-(0[12])-(0[12])-(\d\d)$")


@register_corpus
class Ravdess(Corpus):
    name = "ravdess"
    title = "RAVDESS (speech and song)"
    language = "en"
    citation = (
        "Livingstone SR, Russo FA (2018). The Ryerson Audio-Visual Database of Emotional Speech and Song "
        "(RAVDESS). PLoS ONE 13(5): e0196391."
    )
    licence = "CC BY-NC-SA 4.0"
    layout = "Actor_XX/MM-VV-EE-II-SS-RR-AA.wav (any audio extension); see the module docstring."
    labels: ClassVar[dict[str, str]] = {
        "01": "neutral",
        "02": "calm",
        "03": "happy",
        "04": "sad",
        "05": "angry",
        "06": "fearful",
        "07": "disgust",
        "08": "surprised",
    }
    _MODALITY_PREFERENCE: ClassVar[dict[str, int]] = {"03": 0, "01": 1, "02": 2}

    def scan(self, root: Path) -> ScanResult:
        root = self.check_root(root)
        result = ScanResult()
        takes: dict[str, tuple[Path, dict]] = {}
        for path in find_audio(root):
            m = _NAME.match(path.stem)
            if not m:
                if path.parent.name.startswith("Actor_"):
                    result.unmatched.append((path, "name does not follow MM-VV-EE-II-SS-RR-AA"))
                continue
            modality, channel, emo, intensity, statement, rep, actor = m.groups()
            if path.parent.name.startswith("Actor_") and path.parent.name != f"Actor_{actor}":
                result.unmatched.append((path, f"actor {actor} in the name but folder {path.parent.name}"))
                continue
            take = f"{channel}-{emo}-{intensity}-{statement}-{rep}-{actor}"
            row = {
                "id": utterance_id(self.name, root, path),
                "path": str(path),
                "speaker": actor,
                "gender": "m" if int(actor) % 2 else "f",
                "label": self.labels[emo],
                "raw_label": emo,
                "session": None,
                "text_id": statement,
                "language": self.language,
                "intensity": "strong" if intensity == "02" else "normal",
                "vocal_channel": "song" if channel == "02" else "speech",
                "take": take,
                "_modality": modality,
            }
            if take in takes:
                kept_path, kept = takes[take]
                if self._MODALITY_PREFERENCE[modality] < self._MODALITY_PREFERENCE[kept["_modality"]]:
                    takes[take] = (path, row)
                    result.unmatched.append((kept_path, f"duplicate of take {take} (kept {path.name})"))
                else:
                    result.unmatched.append((path, f"duplicate of take {take} (kept {kept_path.name})"))
                continue
            takes[take] = (path, row)
        for _, row in sorted(takes.values(), key=lambda t: t[0]):
            del row["_modality"]
            result.rows.append(row)
        if not result.rows:
            raise self.no_files_error(root)
        return result
