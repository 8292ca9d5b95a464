"""Generic adapter: any corpus laid out as one folder per label, or described by a CSV.

Two ways to describe a corpus::

    <root>/<label>/<file>.wav                 folder per label (default)
    <root>/<speaker>/<label>/<file>.wav       with ``speaker_folders=True``
    a CSV (``csv=...``) with columns path,label[,speaker][,gender][,session][,text_id][,language],...
        paths relative to the CSV's folder (or to root, or absolute); other columns are kept as extras

Labels are mapped through ``label_map`` (raw -> target) when given, then canonicalised with
:func:`serkit.labels.canonical_label` (``anger`` -> ``angry``); a label it does not know is kept as
given, lower-cased. Genders accept ``f``/``m``/``female``/``male`` (any case) or empty.

**Unknown speakers.** In the plain folder-per-label layout, and in a CSV without a ``speaker``
column (or with empty speaker cells), each file becomes its own speaker (its relative path). Splits
then CANNOT be speaker-independent: the same person may land in train and test, which inflates
scores. The adapter says so with a :class:`UserWarning`; give speakers (``speaker_folders=True`` or
a ``speaker`` column) whenever they are known.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from serkit.data.corpora.base import Corpus, ScanResult, find_audio, register_corpus, utterance_id
from serkit.errors import CorpusError, ParameterError
from serkit.labels import canonical_label

_GENDER = {"f": "f", "female": "f", "w": "f", "woman": "f", "m": "m", "male": "m", "man": "m"}
_STANDARD = ("path", "label", "speaker", "gender", "session", "text_id", "language")
UNKNOWN_SPEAKER_WARNING = (
    "unknown speaker: splits cannot be speaker-independent. Each file of the generic corpus at {root} is "
    "its own speaker, so the same person can end up in train and test. Give speakers with "
    "speaker_folders=True (<speaker>/<label>/<file>) or a 'speaker' column in the CSV."
)


def _parse_label_map(label_map: dict[str, str] | str | None) -> dict[str, str]:
    if label_map is None:
        return {}
    if isinstance(label_map, dict):
        return {str(k): str(v) for k, v in label_map.items()}
    out = {}
    for part in str(label_map).split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ParameterError(
                f"The 'label_map' option of the generic corpus must look like 'raw=target,raw2=target2'. "
                f"Got {label_map!r} instead."
            )
        raw, target = part.split("=", 1)
        out[raw.strip()] = target.strip()
    return out


def _as_bool(value: bool | str) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


@register_corpus
class GenericCorpus(Corpus):
    """A corpus described by folders or a CSV (see the module docstring).

    Parameters
    ----------
    csv : path, optional
        CSV file with at least ``path`` and ``label`` columns (absolute, or relative to the working
        folder or to root). Without it the folder-per-label layout is read.
    language : str, optional
        BCP-47 code for the ``language`` column (a CSV ``language`` column overrides it per row).
    label_map : dict or str, optional
        Raw label -> target label, applied before canonicalisation; as text ``"wut=angry,freude=happy"``.
    speaker_folders : bool
        Read ``<speaker>/<label>/<file>`` instead of ``<label>/<file>``.
    """

    name = "generic"
    title = "generic corpus (folder per label or CSV)"
    citation = "(your corpus)"
    licence = "(your corpus's licence)"
    layout = (
        "<label>/<file>.wav, or <speaker>/<label>/<file>.wav with speaker_folders=True, or a CSV with "
        "path,label[,speaker][,gender][,session][,text_id] columns"
    )

    def __init__(
        self,
        *,
        csv: str | Path | None = None,
        language: str | None = None,
        label_map: dict[str, str] | str | None = None,
        speaker_folders: bool | str = False,
    ) -> None:
        self.csv = Path(csv).expanduser() if csv else None
        self.language = language or ""
        self.labels = _parse_label_map(label_map)
        self.speaker_folders = _as_bool(speaker_folders)

    def _label(self, raw: str) -> str:
        raw = str(raw).strip()
        target = self.labels.get(raw, self.labels.get(raw.lower(), raw))
        try:
            return canonical_label(target)
        except ParameterError:
            return target.lower()

    def _row(self, root: Path, path: Path, rel: str, label: str, **fields: Any) -> dict[str, Any]:
        gender = str(fields.pop("gender", "") or "").strip().lower()
        if gender and gender not in _GENDER:
            raise CorpusError(f"Gender {gender!r} of {rel}; allowed: f, m, female, male or empty.")
        return {
            "id": f"{self.name}/{rel}",
            "path": str(path),
            "speaker": fields.pop("speaker", None) or rel,
            "gender": _GENDER.get(gender),
            "label": self._label(label),
            "raw_label": str(label).strip(),
            "session": fields.pop("session", None) or None,
            "text_id": fields.pop("text_id", None) or None,
            "language": fields.pop("language", None) or self.language or None,
            **fields,
        }

    def scan(self, root: Path) -> ScanResult:
        root = self.check_root(root)
        result = self._scan_csv(root) if self.csv else self._scan_folders(root)
        if not result.rows:
            raise self.no_files_error(root)
        if any(r["speaker"] == r["id"].split("/", 1)[1] for r in result.rows):
            warnings.warn(UNKNOWN_SPEAKER_WARNING.format(root=root), UserWarning, stacklevel=2)
        return result

    def _scan_folders(self, root: Path) -> ScanResult:
        result = ScanResult()
        depth = 3 if self.speaker_folders else 2
        for path in find_audio(root):
            parts = path.relative_to(root).parts
            if len(parts) != depth:
                want = "<speaker>/<label>/<file>" if self.speaker_folders else "<label>/<file>"
                result.unmatched.append((path, f"not at {want} under the corpus folder"))
                continue
            rel = utterance_id(self.name, root, path).split("/", 1)[1]
            speaker = parts[0] if self.speaker_folders else None
            result.rows.append(self._row(root, path, rel, parts[-2], speaker=speaker))
        return result

    def _scan_csv(self, root: Path) -> ScanResult:
        assert self.csv is not None
        csv = self.csv if self.csv.is_file() or self.csv.is_absolute() else root / self.csv
        if not csv.is_file():
            raise CorpusError(f"The generic corpus CSV {self.csv} does not exist (also looked in {root}).")
        sep = "\t" if csv.suffix.lower() == ".tsv" else ","
        df = pd.read_csv(csv, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        df.columns = [c.strip() for c in df.columns]
        missing = [c for c in ("path", "label") if c not in df.columns]
        if missing:
            raise CorpusError(
                f"The generic corpus CSV {csv} lacks the column(s) {', '.join(missing)}: {self.layout}."
            )
        base = csv.resolve().parent
        result = ScanResult()
        seen: dict[str, Path] = {}
        for rec in df.to_dict("records"):
            given = Path(rec["path"].strip())
            if given.is_absolute():
                path = given
            else:
                path = base / given
                if not path.exists() and (root / given).exists():
                    path = root / given
            path = path.resolve() if path.exists() else path
            try:
                rel = path.relative_to(root).with_suffix("").as_posix()
            except ValueError:
                rel = given.with_suffix("").as_posix().lstrip("/")
            if rel in seen:
                result.unmatched.append((path, f"listed twice in {csv.name} (same id as {seen[rel]})"))
                continue
            seen[rel] = path
            extras = {k: (v if v != "" else None) for k, v in rec.items() if k not in _STANDARD}
            fields = {
                k: rec.get(k, "").strip() or None
                for k in ("speaker", "gender", "session", "text_id", "language")
            }
            result.rows.append(self._row(root, path, rel, rec["label"], **fields, **extras))
        return result
