"""EMOVO: Italian emotional speech corpus (Costantini et al., LREC 2014).

Layout of the release (one folder per actor)::

    [EMOVO/]<actor>/<emo>-<actor>-<sentence>.wav      e.g. f1/dis-f1-b1.wav
      actor     f1 f2 f3 (female), m1 m2 m3 (male); the folder name equals the actor field
      emo       dis disgust (disgusto), gio joy (gioia), neu neutral, pau fear (paura),
                rab anger (rabbia), sor surprise (sorpresa), tri sadness (tristezza)
      sentence  b1 b2 b3 short, l1..l4 long, n1..n5 nonsense, d1 d2 questions (14 sentences)

588 files: 6 actors x 7 emotions x 14 sentences. ``text_id`` is the sentence code. A file whose
actor field disagrees with its actor folder is reported, not guessed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from serkit.data.corpora.base import Corpus, ScanResult, find_audio, register_corpus, utterance_id

_NAME = re.compile(r"^(dis|gio|neu|pau|rab|sor|tri)-([fm][1-3])-([bldn]\d)$")
_ACTOR_DIR = re.compile(r"^[fm]\d$")


@register_corpus
class Emovo(Corpus):
    name = "emovo"
    title = "EMOVO (Italian emotional speech)"
    language = "it"
    citation = (
        "G. Costantini, I. Iadarola, A. Paoloni, M. Todisco (2014). EMOVO Corpus: an Italian Emotional "
        "Speech Database. Proc. LREC 2014, Reykjavik, ELRA."
    )
    licence = "research / non-commercial use on request (no licence text in the paper)"
    layout = "<actor>/<emo>-<actor>-<sentence>.wav, e.g. f1/dis-f1-b1.wav (any audio extension)"
    labels: ClassVar[dict[str, str]] = {
        "dis": "disgust",
        "gio": "happy",
        "neu": "neutral",
        "pau": "fearful",
        "rab": "angry",
        "sor": "surprised",
        "tri": "sad",
    }

    def scan(self, root: Path) -> ScanResult:
        root = self.check_root(root)
        result = ScanResult()
        for path in find_audio(root):
            m = _NAME.match(path.stem)
            if not m:
                result.unmatched.append(
                    (path, "name does not follow <emo>-<actor>-<sentence> (e.g. dis-f1-b1)")
                )
                continue
            emo, actor, sentence = m.groups()
            folder = path.parent.name
            if _ACTOR_DIR.match(folder) and folder != actor:
                result.unmatched.append((path, f"actor {actor} in the name but folder {folder}"))
                continue
            result.rows.append(
                {
                    "id": utterance_id(self.name, root, path),
                    "path": str(path),
                    "speaker": actor,
                    "gender": actor[0],
                    "label": self.labels[emo],
                    "raw_label": emo,
                    "session": None,
                    "text_id": sentence,
                    "language": self.language,
                }
            )
        if not result.rows:
            raise self.no_files_error(root)
        return result
