"""IEMOCAP: Interactive Emotional Dyadic Motion Capture database (Busso et al., 2008).

Layout of the official release (``root`` is ``IEMOCAP_full_release/`` or the folder holding it)::

    IEMOCAP_full_release/SessionN/sentences/wav/<dialog>/<utterance>.wav
    IEMOCAP_full_release/SessionN/dialog/EmoEvaluation/<dialog>.txt

      N          session 1..5, one female (F) and one male (M) actor each (10 speakers)
      dialog     Ses01F_impro01, Ses01F_script01_1, ... (the letter after the session number is
                 the gender of the actor wearing the motion-capture markers, not the speaker)
      utterance  <dialog>_<G><NNN>, e.g. Ses01F_impro01_M003: the LAST group's letter G is the
                 gender of whoever speaks this utterance, so it is spoken by the male of session 1

Each EmoEvaluation file holds one summary line per utterance (other lines are per-evaluator
detail and are ignored)::

    [6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000, 2.5000, 2.5000]

Labels: the majority category ``neu hap exc sad ang fru sur fea dis oth`` and ``xxx`` (no majority
among the evaluators). ``xxx`` rows are kept with label ``other`` and raw_label ``xxx`` (the same
canonical label as ``oth``, told apart by ``raw_label``), so nothing disappears at prepare time;
label sets such as ``iemocap4`` (neutral, happy+excited, sad, angry) drop them.

Columns: ``speaker`` = ``Ses<NN><G>`` (``Ses01M``), ``gender`` from G, ``session`` = ``SessionN``,
``text_id`` = the dialog, plus ``valence``, ``arousal``, ``dominance`` (evaluators' mean on the
1-5 scale), ``start_s``/``end_s`` in the dialog, and ``dialog_type`` (``improvised``/``scripted``).
A wav without an EmoEvaluation line is reported; an EmoEvaluation line without a wav (a partial
copy) is not an audio file and is skipped. Ids are relative to ``IEMOCAP_full_release/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from serkit.data.corpora.base import Corpus, ScanResult, find_audio, register_corpus, utterance_id
from serkit.errors import CorpusError

_LINE = re.compile(
    r"^\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]\s+(\S+)\s+(\S+)\s+\[\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*\]"
)
_UTT = re.compile(r"^Ses(\d\d)[FM]_(.+)_([FM])(\d{3})$")


def _read_evaluation(path: Path) -> dict[str, tuple[str, float, float, float, float, float]]:
    """Utterance id -> (raw label, start_s, end_s, valence, arousal, dominance)."""
    out = {}
    text = path.read_text(encoding="utf-8", errors="replace")
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        if m:
            start, end, utt, emo, val, aro, dom = m.groups()
            out[utt] = (emo, float(start), float(end), float(val), float(aro), float(dom))
    return out


@register_corpus
class Iemocap(Corpus):
    name = "iemocap"
    title = "IEMOCAP (Interactive Emotional Dyadic Motion Capture)"
    language = "en"
    citation = (
        "C. Busso, M. Bulut, C.-C. Lee, A. Kazemzadeh, E. Mower, S. Kim, J. N. Chang, S. Lee, "
        "S. S. Narayanan (2008). IEMOCAP: Interactive emotional dyadic motion capture database. "
        "Language Resources and Evaluation 42(4): 335-359."
    )
    licence = "IEMOCAP release licence (research only, request from USC SAIL; no redistribution)"
    layout = (
        "IEMOCAP_full_release/SessionN/sentences/wav/<dialog>/<utterance>.wav plus "
        "IEMOCAP_full_release/SessionN/dialog/EmoEvaluation/<dialog>.txt"
    )
    labels: ClassVar[dict[str, str]] = {
        "neu": "neutral",
        "hap": "happy",
        "exc": "excited",
        "sad": "sad",
        "ang": "angry",
        "fru": "frustrated",
        "sur": "surprised",
        "fea": "fearful",
        "dis": "disgust",
        "oth": "other",
        "xxx": "other",
    }

    def scan(self, root: Path) -> ScanResult:
        root = self.check_root(root)
        base = root
        if not any(base.glob("Session*")) and (root / "IEMOCAP_full_release").is_dir():
            base = root / "IEMOCAP_full_release"
        result = ScanResult()
        for session_dir in sorted(p for p in base.glob("Session*") if p.is_dir()):
            evaluations: dict[str, tuple] = {}
            for txt in sorted((session_dir / "dialog" / "EmoEvaluation").glob("*.txt")):
                if not txt.name.startswith("._"):
                    evaluations.update(_read_evaluation(txt))
            wav_dir = session_dir / "sentences" / "wav"
            if not wav_dir.is_dir():
                continue
            for path in find_audio(wav_dir):
                m = _UTT.match(path.stem)
                if not m:
                    result.unmatched.append((path, "name does not follow <dialog>_<F|M><NNN>"))
                    continue
                number, _, gender, _ = m.groups()
                dialog = path.stem.rsplit("_", 1)[0]
                if path.parent.name != dialog:
                    result.unmatched.append(
                        (path, f"utterance of dialog {dialog} in folder {path.parent.name}")
                    )
                    continue
                if session_dir.name != f"Session{int(number)}":
                    result.unmatched.append(
                        (path, f"session {int(number)} in the name but folder {session_dir.name}")
                    )
                    continue
                if path.stem not in evaluations:
                    result.unmatched.append(
                        (path, f"no line for it in {session_dir.name}/dialog/EmoEvaluation")
                    )
                    continue
                emo, start, end, val, aro, dom = evaluations[path.stem]
                if emo not in self.labels:
                    raise CorpusError(
                        f"Unknown IEMOCAP label {emo!r} for {path.stem} in {session_dir.name}/dialog/"
                        f"EmoEvaluation; known labels: {', '.join(self.labels)}."
                    )
                result.rows.append(
                    {
                        "id": utterance_id(self.name, base, path),
                        "path": str(path),
                        "speaker": f"Ses{number}{gender}",
                        "gender": gender.lower(),
                        "label": self.labels[emo],
                        "raw_label": emo,
                        "session": f"Session{int(number)}",
                        "text_id": dialog,
                        "language": self.language,
                        "valence": val,
                        "arousal": aro,
                        "dominance": dom,
                        "start_s": start,
                        "end_s": end,
                        "dialog_type": "improvised" if "_impro" in dialog else "scripted",
                    }
                )
        if not result.rows:
            raise self.no_files_error(root)
        return result
