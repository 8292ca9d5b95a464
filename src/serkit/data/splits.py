"""Evaluation splits that keep speakers apart by construction, saved as citable JSON files.

A :class:`Split` is a list of :class:`Fold` objects, each naming the utterance ids (manifest ``id``)
of its train, validation and test partitions and the speakers in each. Speakers are identified by
:func:`~serkit.data.manifest.speaker_keys` (``<corpus>/<speaker>``), so a manifest that merges
several corpora works: speaker ``01`` of RAVDESS is not speaker ``01`` of another corpus.

Speaker-independent protocols (the defaults, CONVENTIONS #9; scikit-learn ``LeaveOneGroupOut`` and
``GroupKFold`` are the model):

========================  ==================================================================
``loso``                  :func:`leave_one_speaker_out`, one fold per speaker
``loso-session``          :func:`leave_one_session_out`, one fold per recording session (IEMOCAP)
``group-kfold``           :func:`speaker_group_kfold`, k disjoint speaker groups (or given groups)
``pair-folds``            :func:`pair_folds`, one male + female pair per fold (the multi-input paper)
``official``              :func:`official_split`, a corpus's own train/dev/test column (MELD);
                          ``speaker_independent`` says whether it really is
========================  ==================================================================

Speaker-dependent protocols, for comparison with published numbers only; the split, its file and
every result that cites it say ``speaker_independent: false``:

========================  ==================================================================
``casia-text``            :func:`casia_text_split`, the DRSN-BiGRU paper's CASIA text split
``speaker-dependent``     :func:`speaker_dependent_random`, stratified random utterance folds
========================  ==================================================================

Validation speakers (for early stopping) always come from the training side of a fold, never from
its test speakers. :meth:`Split.check` re-verifies all of this against a manifest before use.

:meth:`Split.check` verifies the invariants themselves, not only the file's digest (a hand-edited
file whose ``digest`` field was deleted is still checked in full): every fold tests something; the
folds place the utterances as the protocol says (LOSO and the group protocols place every utterance
in every fold; their test sets do not overlap and together cover every tested speaker; one session
per ``loso-session`` test set; the official split follows its column); no speaker crosses a
boundary of a speaker-independent split; and ``speaker_independent`` agrees with the protocol
(``loso``, ``loso-session``, ``group-kfold`` and ``pair-folds`` are independent by construction,
``speaker-dependent-random`` and ``casia-text`` never are, ``official`` is what its folds show).

Label sets: a split made after a label set was applied (``make_split(m, "loso", label_set="iemocap4")``,
``serkit data split --label-set``) records it (``label_set`` in the file); :meth:`Split.check` and
:meth:`Split.apply_label_set` apply it to the manifest they are given, so the original manifest is
checked as is.

Errors: everything :meth:`Split.check` finds (a speaker or utterance on both sides of a boundary, an
id the manifest does not know, a changed manifest, a broken invariant) is a
:class:`~serkit.errors.SplitLeakError`, so a caller catches one type. A malformed split file raises
:class:`~serkit.errors.SplitFileError` naming the file.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import inspect
import json
import random
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from serkit._io import atomic_write_text
from serkit.data.manifest import manifest_digest, speaker_keys, validate_manifest
from serkit.errors import ManifestError, ParameterError, SplitFileError, SplitLeakError
from serkit.labels import LabelSet, get_label_set

__all__ = [
    "PROTOCOLS",
    "Fold",
    "Split",
    "SplitFileError",
    "casia_text_split",
    "fold_frames",
    "leave_one_session_out",
    "leave_one_speaker_out",
    "list_protocols",
    "make_split",
    "official_split",
    "pair_folds",
    "speaker_dependent_random",
    "speaker_group_kfold",
]

FORMAT = "serkit-split"
#: 2 added the optional ``label_set`` field; version 1 files are read as before.
FORMAT_VERSION = 2
PARTS = ("train", "val", "test")
# Values of an official split column, lower-cased, and the partition each one means.
_OFFICIAL_VALUES = {
    "train": "train",
    "training": "train",
    "dev": "val",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
}

#: Protocols whose folds never share a speaker between test and train/val (by construction).
INDEPENDENT_PROTOCOLS = frozenset({"loso", "loso-session", "group-kfold", "pair-folds"})
#: Protocols that put the same speakers in train and test (for comparison with papers only).
DEPENDENT_PROTOCOLS = frozenset({"speaker-dependent-random", "casia-text"})
# Protocols that place every utterance in train, val or test of every fold.
_FOLD_COVERS = frozenset({"loso", "group-kfold", "pair-folds", "speaker-dependent-random", "official"})
# Protocols whose test sets hold every utterance exactly once (group protocols: except train-only speakers).
_TESTS_PARTITION = frozenset(
    {"loso", "loso-session", "group-kfold", "pair-folds", "speaker-dependent-random"}
)


# --------------------------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------------------------


def _str_tuple(value: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError(f"{what} must be a sequence of strings, not a single string {value!r}.")
    out = tuple(value)
    for v in out:
        if not isinstance(v, str):
            raise TypeError(f"{what} must hold strings; got {v!r} ({type(v).__name__}).")
    return out


@dataclass(frozen=True)
class Fold:
    """One train/validation/test partition of a manifest.

    Attributes
    ----------
    name : str
        Fold name, e.g. the test speaker (``ravdess/01``), session or ``fold-3``.
    train, val, test : tuple of str
        Utterance ids (the manifest ``id`` column), sorted. ``val`` may be empty (protocols without
        a validation set, e.g. ``casia-text``).
    train_speakers, val_speakers, test_speakers : tuple of str
        Speaker keys (``<corpus>/<speaker>``) present in each partition, sorted.
    """

    name: str
    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]
    train_speakers: tuple[str, ...]
    val_speakers: tuple[str, ...]
    test_speakers: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"A fold name must be a non-empty string; got {self.name!r}.")
        for attr in ("train", "val", "test", "train_speakers", "val_speakers", "test_speakers"):
            object.__setattr__(self, attr, _str_tuple(getattr(self, attr), f"Fold {self.name!r} {attr}"))

    def ids(self, part: str) -> tuple[str, ...]:
        """Utterance ids of ``part`` (``train``, ``val`` or ``test``)."""
        if part not in PARTS:
            raise ParameterError(f"A fold part must be one of {', '.join(PARTS)}. Got {part!r} instead.")
        return getattr(self, part)

    def speakers(self, part: str) -> tuple[str, ...]:
        """Speaker keys of ``part`` (``train``, ``val`` or ``test``)."""
        self.ids(part)  # validates the name
        return getattr(self, f"{part}_speakers")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "test_speakers": list(self.test_speakers),
            "val_speakers": list(self.val_speakers),
            "train_speakers": list(self.train_speakers),
            "test": list(self.test),
            "val": list(self.val),
            "train": list(self.train),
        }


@dataclass(frozen=True)
class Split:
    """A named evaluation protocol over one manifest: its folds and how they were made.

    Attributes
    ----------
    protocol : str
        Protocol name (``loso``, ``group-kfold``, ``speaker-dependent-random``, ...).
    folds : tuple of Fold
    speaker_independent : bool
        True when no fold shares a speaker between test and train/val, or between val and train.
        False splits are for comparison with published numbers only and must be reported as such.
    manifest_digest : str
        :func:`~serkit.data.manifest.manifest_digest` of the manifest the split was made from.
    seed : int or None
        Seed of the generator (None for deterministic protocols without randomness).
    params : dict
        The generator's other parameters (JSON values only; tuples become lists).
    description : str
        One or two sentences a reader of a results table needs (what is held out, caveats).
    label_set : dict or None
        The label set applied to the manifest before the split was made (``{"name", "classes",
        "merge"}``, see :class:`~serkit.labels.LabelSet`), or None. :meth:`check` applies it.

    Notes
    -----
    :attr:`digest` is a hash of the folds, protocol, independence flag, manifest digest and label
    set (when there is one); results cite it so a table can be traced to the exact split. It ignores
    ``description``, ``seed`` and ``params`` (they explain the folds, the folds are the content).
    """

    protocol: str
    folds: tuple[Fold, ...]
    speaker_independent: bool
    manifest_digest: str
    seed: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    label_set: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        folds = tuple(self.folds)
        if not folds:
            raise ValueError(f"A split needs at least one fold (protocol {self.protocol!r}).")
        if not all(isinstance(f, Fold) for f in folds):
            raise TypeError("Split.folds must hold Fold objects.")
        names = [f.name for f in folds]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise ValueError(f"Fold names must be unique; {dup!r} appears twice.")
        object.__setattr__(self, "folds", folds)
        object.__setattr__(self, "speaker_independent", bool(self.speaker_independent))
        try:
            # Round trip through JSON so params compare equal after to_json/from_json.
            params = json.loads(json.dumps(dict(self.params), sort_keys=True))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"Split params must be JSON values: {exc}") from exc
        object.__setattr__(self, "params", params)
        if self.label_set is not None:
            object.__setattr__(self, "label_set", _label_set_record(self.label_set))

    # Identity ----------------------------------------------------------------------------

    @property
    def digest(self) -> str:
        """16 hex characters identifying the split's content (folds, protocol, manifest)."""
        content = {
            "protocol": self.protocol,
            "speaker_independent": self.speaker_independent,
            "manifest_digest": self.manifest_digest,
            "folds": [f.to_dict() for f in self.folds],
        }
        if self.label_set is not None:  # absent otherwise, so splits made before label sets keep their digest
            content["label_set"] = self.label_set
        blob = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.folds)

    def __iter__(self):
        return iter(self.folds)

    def fold(self, name: str) -> Fold:
        """The fold called ``name``; unknown names suggest close matches."""
        for f in self.folds:
            if f.name == name:
                return f
        names = [f.name for f in self.folds]
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ParameterError(f"The split has no fold {name!r}.{hint} Folds: {', '.join(names)}.")

    def summary(self) -> pd.DataFrame:
        """One row per fold: utterance and speaker counts per partition and the test speakers."""
        rows = [
            {
                "fold": f.name,
                "n_train": len(f.train),
                "n_val": len(f.val),
                "n_test": len(f.test),
                "n_train_speakers": len(f.train_speakers),
                "n_val_speakers": len(f.val_speakers),
                "n_test_speakers": len(f.test_speakers),
                "test_speakers": " ".join(f.test_speakers),
            }
            for f in self.folds
        ]
        return pd.DataFrame(rows)

    # Files -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        from serkit import __version__

        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "protocol": self.protocol,
            "speaker_independent": self.speaker_independent,
            "description": self.description,
            "digest": self.digest,
            "manifest_digest": self.manifest_digest,
            "label_set": self.label_set,
            "seed": self.seed,
            "params": self.params,
            "serkit_version": __version__,
            "n_folds": len(self.folds),
            "folds": [f.to_dict() for f in self.folds],
        }

    def to_json(self, path: str | Path) -> Path:
        """Write the split as JSON, atomically (a reader never sees half a file). Returns the path."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n")

    @classmethod
    def from_json(cls, path: str | Path) -> Split:
        """Read a split written by :meth:`to_json`.

        Raises
        ------
        SplitFileError
            The file is missing, is not JSON, lacks a field, has a field of the wrong type, or its
            ``digest`` does not match its content (edited by hand: delete the ``digest`` field to
            accept the edit; a new digest is computed).
        """
        path = Path(path)
        if not path.is_file():
            raise SplitFileError(f"No split file at {path}. Create one with `serkit data split`.")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SplitFileError(f"The split file {path} is not valid JSON: {exc}.") from exc

        def bad(what: str) -> SplitFileError:
            return SplitFileError(
                f"The split file {path} is malformed: {what}. Regenerate it with `serkit data split`."
            )

        if not isinstance(data, dict):
            raise bad(f"expected a JSON object at the top, got {type(data).__name__}")
        if data.get("format", FORMAT) != FORMAT:
            raise bad(f"'format' is {data.get('format')!r}, expected {FORMAT!r}")
        version = data.get("format_version", FORMAT_VERSION)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise bad(f"'format_version' {version!r} is newer than this serkit reads ({FORMAT_VERSION})")
        required = {"protocol": str, "speaker_independent": bool, "manifest_digest": str, "folds": list}
        for key, typ in required.items():
            if key not in data:
                raise bad(f"the field {key!r} is missing")
            if not isinstance(data[key], typ):
                raise bad(f"the field {key!r} should be a {typ.__name__}, got {type(data[key]).__name__}")
        seed = data.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise bad(f"'seed' should be an integer or null, got {seed!r}")
        params = data.get("params", {})
        if not isinstance(params, dict):
            raise bad(f"'params' should be an object, got {type(params).__name__}")
        description = data.get("description", "")
        if not isinstance(description, str):
            raise bad("'description' should be a string")
        label_set = data.get("label_set")
        if label_set is not None:
            try:
                label_set = _label_set_record(label_set)
            except (TypeError, ValueError) as exc:
                raise bad(f"'label_set': {exc}") from exc
        folds = []
        for i, fd_ in enumerate(data["folds"]):
            if not isinstance(fd_, dict):
                raise bad(f"fold {i} is not an object")
            keys = ("name", *PARTS, *(f"{p}_speakers" for p in PARTS))
            missing = [k for k in keys if k not in fd_]
            if missing:
                raise bad(f"fold {i} lacks {', '.join(missing)}")
            try:
                folds.append(Fold(**{k: fd_[k] for k in keys}))
            except TypeError as exc:
                raise bad(f"fold {i}: {exc}") from exc
        try:
            split = cls(
                protocol=data["protocol"],
                folds=tuple(folds),
                speaker_independent=data["speaker_independent"],
                manifest_digest=data["manifest_digest"],
                seed=seed,
                params=params,
                description=description,
                label_set=label_set,
            )
        except (TypeError, ValueError) as exc:
            raise bad(str(exc)) from exc
        stored = data.get("digest")
        if stored is not None and stored != split.digest:
            raise SplitFileError(
                f"The split file {path} was changed after it was written: its 'digest' is {stored!r} but its "
                f"content hashes to {split.digest!r}. Results citing {stored!r} do not describe this file. "
                "Regenerate the split, or delete the 'digest' field to accept a deliberate edit."
            )
        return split

    # Label set ---------------------------------------------------------------------------

    def apply_label_set(self, manifest: pd.DataFrame) -> pd.DataFrame:
        """``manifest`` with the split's label set applied (rows outside it dropped, labels mapped).

        Returns ``manifest`` unchanged when the split records no label set. Applying it to a manifest
        it was already applied to changes nothing.
        """
        if self.label_set is None:
            return manifest
        return _label_set_of(self.label_set).apply(manifest)

    # Verification ------------------------------------------------------------------------

    def check(
        self,
        manifest: pd.DataFrame,
        *,
        allow_changed_manifest: bool = False,
        require_speaker_independent: bool = False,
    ) -> None:
        """Verify the split against ``manifest`` before training or evaluating on it.

        The split's label set, if it records one, is applied to ``manifest`` first. Then, with or
        without the file's ``digest``:

        - ``speaker_independent`` agrees with the protocol (see the module docstring);
        - per fold: the test set is not empty; every id is known to the manifest; no id appears twice
          within the fold; the stored speaker lists match the manifest's speakers; no RAVDESS-style
          ``take`` is in two partitions; and, for speaker-independent splits, no test speaker is in
          train or val and no val speaker in train;
        - across folds, as the protocol promises: every fold places every utterance (``loso``,
          ``group-kfold``, ``pair-folds``, ``speaker-dependent-random``, ``official``); no utterance
          is tested twice, and every utterance is tested once (group protocols: except the speakers
          recorded as ``train_only_speakers``); ``loso`` tests one speaker per fold; ``loso-session``
          one whole session per fold; ``official`` follows its column.

        Parameters
        ----------
        manifest : pandas.DataFrame
            The manifest the split is used with.
        allow_changed_manifest : bool
            Accept a manifest whose digest differs from the one the split was made from (a warning is
            issued and all other checks still run against the given manifest; coverage is then
            checked against the utterances the split itself names).
        require_speaker_independent : bool
            Also refuse a split that is labelled speaker-dependent.

        Raises
        ------
        SplitLeakError
            On any problem above, naming the fold, the speaker or id, and the fix. Unknown ids are a
            ``SplitLeakError`` too (the split does not describe this manifest), so callers catch one type.
        """
        manifest = self.apply_label_set(manifest)
        current = manifest_digest(manifest)
        same_manifest = current == self.manifest_digest
        if not same_manifest:
            applied = f" after applying its label set {self.label_set['name']!r}" if self.label_set else ""
            msg = (
                f"The {self.protocol!r} split (digest {self.digest}) was made from a manifest with digest "
                f"{self.manifest_digest}, but this manifest's digest is {current}{applied}: ids, speakers or "
                "labels changed since."
            )
            if not allow_changed_manifest:
                raise SplitLeakError(
                    f"{msg} Regenerate the split for this manifest, or pass allow_changed_manifest=True "
                    "to check it against the new manifest anyway."
                )
            warnings.warn(
                msg + " Checking it against the new manifest (allow_changed_manifest=True).", stacklevel=2
            )
        self._check_flag()
        if require_speaker_independent and not self.speaker_independent:
            raise SplitLeakError(
                f"The {self.protocol!r} split is speaker-dependent (speaker_independent: false) but a "
                "speaker-independent split is required. Use a protocol such as 'loso' or 'group-kfold'."
            )
        ids = manifest["id"].astype(str)
        speaker_of = dict(zip(ids, speaker_keys(manifest).astype(str), strict=True))
        take_of: dict[str, str] = {}
        if "take" in manifest.columns:
            has_take = manifest["take"].notna()
            takes = manifest.loc[has_take]
            take_of = dict(zip(takes["id"].astype(str), takes["take"].astype(str), strict=True))
        shared = False
        for fold in self.folds:
            if not fold.test:
                raise SplitLeakError(
                    f"Split {self.protocol!r}, fold {fold.name!r}: the test set is empty; every fold must test "
                    "at least one utterance. The split was edited; regenerate it."
                )
            shared |= self._check_fold(fold, speaker_of, take_of)
        if self.protocol == "official" and self.speaker_independent == shared:
            said = "true" if self.speaker_independent else "false"
            shows = "share speakers" if shared else "share no speaker"
            raise SplitLeakError(
                f"The 'official' split says speaker_independent: {said}, but its partitions {shows}. The "
                "flag was edited; regenerate the split."
            )
        universe = set(ids) if same_manifest else {u for f in self.folds for p in PARTS for u in f.ids(p)}
        self._check_coverage(universe, speaker_of, manifest)

    def _check_flag(self) -> None:
        if self.protocol in INDEPENDENT_PROTOCOLS and not self.speaker_independent:
            raise SplitLeakError(
                f"The {self.protocol!r} split says speaker_independent: false, but protocol {self.protocol!r} "
                "keeps each speaker on one side by construction: the file was edited. Regenerate the split."
            )
        if self.protocol in DEPENDENT_PROTOCOLS and self.speaker_independent:
            raise SplitLeakError(
                f"The {self.protocol!r} split says speaker_independent: true, but protocol {self.protocol!r} "
                "puts the same speakers in train and test: the file was edited. Regenerate the split; "
                "results on it must be reported as speaker-dependent."
            )

    def _check_coverage(self, universe: set[str], speaker_of: dict[str, str], manifest: pd.DataFrame) -> None:
        """The cross-fold invariants of the protocol, over the utterance ids in ``universe``."""
        name = f"Split {self.protocol!r}"
        fix = "The split was edited or made for another manifest; regenerate it."
        if self.protocol in _FOLD_COVERS:
            for fold in self.folds:
                placed = set(fold.train) | set(fold.val) | set(fold.test)
                missing = universe - placed
                if missing:
                    uid = min(missing)
                    raise SplitLeakError(
                        f"{name}, fold {fold.name!r}: {len(missing)} utterance(s) are in none of its train, "
                        f"val and test sets (e.g. {uid!r}); protocol {self.protocol!r} places every "
                        f"utterance in every fold. {fix}"
                    )
        if self.protocol not in _TESTS_PARTITION:
            if self.protocol == "official":
                self._check_official(manifest)
            return
        tested: dict[str, str] = {}
        for fold in self.folds:
            for uid in fold.test:
                if uid in tested:
                    raise SplitLeakError(
                        f"{name}: utterance {uid!r} is tested in folds {tested[uid]!r} and {fold.name!r}; each "
                        f"utterance may be tested in one fold only. {fix}"
                    )
                tested[uid] = fold.name
        never = {str(s) for s in self.params.get("train_only_speakers", [])}
        untested = {u for u in universe - set(tested) if speaker_of.get(u) not in never}
        if untested:
            uid = min(untested)
            raise SplitLeakError(
                f"{name}: {len(untested)} utterance(s) are in no fold's test set (e.g. {uid!r} of speaker "
                f"{speaker_of.get(uid)!r}); protocol {self.protocol!r} tests every utterance once. {fix}"
            )
        if self.protocol == "loso":
            for fold in self.folds:
                if len(fold.test_speakers) != 1:
                    raise SplitLeakError(
                        f"{name}, fold {fold.name!r}: tests {len(fold.test_speakers)} speakers "
                        f"({', '.join(fold.test_speakers)}); leave-one-speaker-out tests one per fold. {fix}"
                    )
        if self.protocol == "loso-session" and manifest["session"].notna().all():
            session = manifest["corpus"].astype(str) + "/" + manifest["session"].astype(str)
            session_of = dict(zip(manifest["id"].astype(str), session, strict=True))
            for fold in self.folds:
                sessions = {session_of[u] for u in fold.test}
                if len(sessions) != 1:
                    raise SplitLeakError(
                        f"{name}, fold {fold.name!r}: its test set spans sessions {', '.join(sorted(sessions))}; "
                        f"leave-one-session-out tests one session per fold. {fix}"
                    )

    def _check_official(self, manifest: pd.DataFrame) -> None:
        column = self.params.get("column", "split")
        if column not in manifest.columns or len(self.folds) != 1:
            return
        fold = self.folds[0]
        values = manifest[column].astype(str).str.strip().str.lower().map(_OFFICIAL_VALUES)
        part_of = dict(zip(manifest["id"].astype(str), values, strict=True))
        for part in PARTS:
            for uid in fold.ids(part):
                if part_of.get(uid) != part:
                    raise SplitLeakError(
                        f"Split 'official': utterance {uid!r} is in {part} but its {column!r} column says "
                        f"{part_of.get(uid)!r}. The split was edited; regenerate it."
                    )

    def _check_fold(self, fold: Fold, speaker_of: dict[str, str], take_of: dict[str, str]) -> bool:
        """Check one fold; returns whether it shares a speaker across a boundary (allowed only in
        speaker-dependent splits)."""
        where = f"Split {self.protocol!r}, fold {fold.name!r}"
        seen: dict[str, str] = {}
        for part in PARTS:
            for uid in fold.ids(part):
                if uid not in speaker_of:
                    raise SplitLeakError(
                        f"{where}: utterance {uid!r} ({part}) is not in the manifest. The split was made "
                        "for another manifest; regenerate it."
                    )
                if uid in seen:
                    raise SplitLeakError(
                        f"{where}: utterance {uid!r} appears twice ({seen[uid]} and {part}). Each utterance "
                        "may be in one partition of a fold only."
                    )
                seen[uid] = part
        actual = {p: {speaker_of[u] for u in fold.ids(p)} for p in PARTS}
        for part in PARTS:
            stored = set(fold.speakers(part))
            if stored != actual[part]:
                extra = sorted(actual[part] - stored) or sorted(stored - actual[part])
                raise SplitLeakError(
                    f"{where}: the {part} speakers listed in the split "
                    f"({', '.join(sorted(stored)) or 'none'}) "
                    f"differ from the manifest's speakers of its {part} utterances (e.g. {extra[0]!r}). "
                    "The split was edited or made for another manifest; regenerate it."
                )
        shared = False
        for a, b in (("test", "train"), ("test", "val"), ("val", "train")):
            common = sorted(actual[a] & actual[b])
            shared |= bool(common)
            if common and self.speaker_independent:
                uid = next(u for u in fold.ids(b) if speaker_of[u] == common[0])
                raise SplitLeakError(
                    f"{where}: speaker {common[0]!r} is in both {a} and {b} (e.g. {b} utterance "
                    f"{uid!r}); {len(common)} speaker(s) shared. A speaker-independent split must keep "
                    "each speaker on one side. Regenerate the split with a speaker-grouped protocol."
                )
        if take_of:
            take_part: dict[str, tuple[str, str]] = {}
            for part in PARTS:
                for uid in fold.ids(part):
                    take = take_of.get(uid)
                    if take is None:
                        continue
                    if take in take_part and take_part[take][0] != part:
                        other_part, other = take_part[take]
                        raise SplitLeakError(
                            f"{where}: take {take!r} is in {other_part} ({other!r}) and {part} ({uid!r}); "
                            "they are the same recording. Keep each take in one partition."
                        )
                    take_part.setdefault(take, (part, uid))
        return shared


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _label_set_record(value: LabelSet | dict[str, Any] | str) -> dict[str, Any]:
    """A label set (object, name or file record) as the JSON record a split stores; validated."""
    if isinstance(value, str):
        value = get_label_set(value)
    if isinstance(value, LabelSet):
        return {
            "name": value.name,
            "classes": list(value.classes),
            "merge": dict(sorted(value.merge.items())),
        }
    if not isinstance(value, dict):
        raise TypeError(f"a label set must be an object with name, classes and merge, not {value!r}")
    name, classes, merge = value.get("name"), value.get("classes"), value.get("merge", {})
    if not isinstance(name, str) or not isinstance(classes, list) or not isinstance(merge, dict):
        raise TypeError("a label set needs 'name' (text), 'classes' (a list) and 'merge' (an object)")
    if not all(isinstance(c, str) for c in classes) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in merge.items()
    ):
        raise TypeError("label set classes and merge entries must be text")
    return _label_set_record(LabelSet(name, tuple(classes), dict(merge)))  # validates (ParameterError)


def _label_set_of(record: dict[str, Any]) -> LabelSet:
    return LabelSet(record["name"], tuple(record["classes"]), dict(record["merge"]))


def _natural_key(s: str) -> tuple:
    # "spk2" before "spk10"; re.split with a group alternates text and digits, so tuples compare.
    return tuple(int(t) if i % 2 else t for i, t in enumerate(re.split(r"(\d+)", s)))


def _sorted(items: Iterable[str]) -> list[str]:
    return sorted(items, key=_natural_key)


@dataclass(frozen=True)
class _Prepared:
    df: pd.DataFrame
    ids: pd.Series  # str
    keys: pd.Series  # speaker key, str
    gender: dict[str, str]  # speaker key -> "f", "m" or "?"
    corpus: dict[str, str]  # speaker key -> corpus
    digest: str


def _prepare(manifest: pd.DataFrame) -> _Prepared:
    df = validate_manifest(manifest)
    keys = speaker_keys(df).astype(str)
    gender: dict[str, str] = {}
    g = df["gender"].astype(object).where(df["gender"].notna(), "?")
    for key, values in g.groupby(keys.values):
        known = values[values != "?"]
        # A speaker's gender is the most frequent one given; unknown when none is.
        gender[str(key)] = str(known.mode().iloc[0]) if len(known) else "?"
    corpus = dict(zip(keys, df["corpus"].astype(str), strict=True))
    return _Prepared(df, df["id"].astype(str), keys, gender, corpus, manifest_digest(df))


def _fold(name: str, p: _Prepared, *, test: pd.Series, val: pd.Series, train: pd.Series) -> Fold:
    def part(mask: pd.Series) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return tuple(sorted(p.ids[mask])), tuple(_sorted(set(p.keys[mask])))

    (te, te_s), (va, va_s), (tr, tr_s) = part(test), part(val), part(train)
    return Fold(name, train=tr, val=va, test=te, train_speakers=tr_s, val_speakers=va_s, test_speakers=te_s)


def _speaker_fold(
    name: str,
    p: _Prepared,
    test_speakers: Iterable[str],
    *,
    n_val_speakers: int,
    seed: int,
    test_mask: pd.Series | None = None,
) -> Fold:
    """A fold with the given test speakers, val speakers drawn from the rest, the others train."""
    test_set = set(test_speakers)
    if test_mask is None:
        test_mask = p.keys.isin(test_set)
    candidates = _sorted(set(p.keys) - test_set)
    rng = random.Random(f"{seed}/{name}")  # per fold, so one fold's choice does not shift the others
    val_set = set(_pick_val(candidates, p.gender, n_val_speakers, rng=rng, fold=name))
    val_mask = p.keys.isin(val_set)
    train_mask = ~p.keys.isin(test_set | val_set)
    return _fold(name, p, test=test_mask, val=val_mask, train=train_mask)


def _pick_val(
    candidates: Sequence[str], gender: dict[str, str], n: int, *, rng: random.Random, fold: str
) -> list[str]:
    """``n`` validation speakers from ``candidates``, alternating genders so they are not all one gender."""
    if n == 0:
        return []
    if n >= len(candidates):
        raise ParameterError(
            f"The 'n_val_speakers' parameter must leave at least one training speaker: fold {fold!r} has "
            f"only {len(candidates)} speaker(s) besides its test speakers. Got {n} instead (1 or 2 by "
            f"default). Use n_val_speakers={max(0, len(candidates) - 1)} or less (`--n-val-speakers` on the "
            "command line; 0 for no validation set), or a protocol with smaller test groups."
        )
    shuffled = list(candidates)
    rng.shuffle(shuffled)
    buckets: dict[str, list[str]] = {}
    for spk in shuffled:  # bucket order follows the shuffle, so the first gender is random too
        buckets.setdefault(gender.get(spk, "?"), []).append(spk)
    queues = list(buckets.values())
    picked: list[str] = []
    while len(picked) < n:
        for q in queues:
            if q and len(picked) < n:
                picked.append(q.pop(0))
    return picked


def _check_int(value: Any, name: str, func: str, *, low: int, rule: str | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ParameterError(
            f"The {name!r} parameter of {func} must be an int >= {low}{rule or ''}. Got {value!r} instead."
        )


def _check_val(n_val_speakers: int, func: str) -> None:
    _check_int(n_val_speakers, "n_val_speakers", func, low=0)


def _check_seed(seed: int, func: str) -> None:
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ParameterError(f"The 'seed' parameter of {func} must be an int. Got {seed!r} instead.")


# --------------------------------------------------------------------------------------------
# Speaker-independent generators
# --------------------------------------------------------------------------------------------


def leave_one_speaker_out(manifest: pd.DataFrame, *, n_val_speakers: int = 1, seed: int = 0) -> Split:
    """Leave-one-speaker-out (LOSO): one fold per speaker, that speaker's utterances as the test set.

    Parameters
    ----------
    manifest : pandas.DataFrame
        A manifest (:data:`~serkit.data.manifest.COLUMNS`); speakers are ``<corpus>/<speaker>``.
    n_val_speakers : int >= 0
        Validation speakers per fold (early stopping), drawn from the fold's training speakers and
        alternating genders when genders are known. 0 leaves ``val`` empty.
    seed : int
        Seeds the choice of validation speakers (per fold, so folds do not depend on each other).

    Returns
    -------
    Split
        ``protocol="loso"``, speaker-independent, folds named by speaker key in natural order.
        Every utterance is in exactly one test fold.

    Raises
    ------
    ParameterError
        Fewer than 2 speakers, or ``n_val_speakers`` leaves no training speaker.
    ManifestError
        The manifest is invalid.

    Examples
    --------
    >>> split = leave_one_speaker_out(manifest, n_val_speakers=2, seed=0)  # doctest: +SKIP
    >>> [f.test_speakers for f in split.folds][:2]  # doctest: +SKIP
    [('emodb/03',), ('emodb/08',)]
    """
    func = "leave_one_speaker_out"
    _check_val(n_val_speakers, func)
    _check_seed(seed, func)
    p = _prepare(manifest)
    speakers = _sorted(set(p.keys))
    if len(speakers) < 2:
        raise ParameterError(f"{func} needs at least 2 speakers; the manifest has {len(speakers)}.")
    if n_val_speakers > len(speakers) - 2:
        raise ParameterError(
            f"The manifest has only {len(speakers)} speakers: each {func} fold tests one and keeps "
            f"{len(speakers) - 1} for training and validation, and n_val_speakers={n_val_speakers} (validation "
            "speakers per fold, 1 by default) must leave at least one training speaker. Use "
            f"n_val_speakers={max(0, len(speakers) - 2)} (`--n-val-speakers {max(0, len(speakers) - 2)}` on "
            "the command line)"
            + (", which trains without a validation set" if len(speakers) == 2 else "")
            + ", or add speakers."
        )
    folds = [_speaker_fold(s, p, [s], n_val_speakers=n_val_speakers, seed=seed) for s in speakers]
    return Split(
        protocol="loso",
        folds=tuple(folds),
        speaker_independent=True,
        manifest_digest=p.digest,
        seed=seed,
        params={"n_val_speakers": n_val_speakers},
        description=(
            f"Leave-one-speaker-out over {len(speakers)} speakers: each fold tests one speaker; "
            f"{n_val_speakers} validation speaker(s) per fold come from the remaining speakers."
        ),
    )


def leave_one_session_out(manifest: pd.DataFrame, *, n_val_speakers: int = 1, seed: int = 0) -> Split:
    """Leave-one-session-out: one fold per recording session (IEMOCAP's 5 sessions of 2 speakers).

    The test set is the session's utterances; every speaker heard in it is kept out of train and
    val in that fold (also their utterances in other sessions, if any, which then belong to no
    partition of that fold).

    Parameters
    ----------
    manifest : pandas.DataFrame
        A manifest whose ``session`` column is filled in every row. Sessions are keyed by corpus.
    n_val_speakers : int >= 0
        Validation speakers per fold, drawn from speakers outside the test session.
    seed : int
        Seeds the choice of validation speakers.

    Returns
    -------
    Split
        ``protocol="loso-session"``, speaker-independent, folds named ``<corpus>/<session>``.

    Raises
    ------
    ManifestError
        Rows without a session.
    ParameterError
        Fewer than 2 sessions, or ``n_val_speakers`` leaves no training speaker.
    """
    func = "leave_one_session_out"
    _check_val(n_val_speakers, func)
    _check_seed(seed, func)
    p = _prepare(manifest)
    missing = p.df["session"].isna()
    if missing.any():
        raise ManifestError(
            f"{func} needs a session in every row; {int(missing.sum())} row(s) have none (e.g. "
            f"{p.ids[missing].iloc[0]!r}). Use protocol 'loso' or 'group-kfold' for corpora without sessions."
        )
    sessions = (p.df["corpus"].astype(str) + "/" + p.df["session"].astype(str)).astype(str)
    names = _sorted(set(sessions))
    if len(names) < 2:
        raise ParameterError(f"{func} needs at least 2 sessions; the manifest has {len(names)}.")
    folds = []
    for name in names:
        test_mask = sessions == name
        folds.append(
            _speaker_fold(
                name, p, set(p.keys[test_mask]), n_val_speakers=n_val_speakers, seed=seed, test_mask=test_mask
            )
        )
    return Split(
        protocol="loso-session",
        folds=tuple(folds),
        speaker_independent=True,
        manifest_digest=p.digest,
        seed=seed,
        params={"n_val_speakers": n_val_speakers},
        description=(
            f"Leave-one-session-out over {len(names)} sessions: each fold tests one session; its speakers "
            f"are out of train and validation; {n_val_speakers} validation speaker(s) per fold."
        ),
    )


def _resolve_speaker(name: str, p: _Prepared, func: str) -> str:
    known = set(p.keys)
    if name in known:
        return name
    # A bare speaker id is accepted when it names exactly one speaker (single-corpus manifests).
    matches = [k for k in known if k.split("/", 1)[1] == name]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ParameterError(
            f"The speaker {name!r} given to {func} is ambiguous in this multi-corpus manifest: "
            f"{', '.join(_sorted(matches))}. Write it as <corpus>/<speaker>."
        )
    if "/" in name:
        close = difflib.get_close_matches(name, list(known), n=3)
    else:
        bare = {k.split("/", 1)[1]: k for k in known}
        close = [bare[c] for c in difflib.get_close_matches(name, list(bare), n=3)]
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    raise ParameterError(f"The speaker {name!r} given to {func} is not in the manifest.{hint}")


def _group_split(
    p: _Prepared,
    groups: Sequence[Sequence[str]],
    *,
    protocol: str,
    func: str,
    names: Sequence[str] | None,
    n_val_speakers: int,
    seed: int | None,
    params: dict[str, Any],
    description: str,
) -> Split:
    seen: dict[str, int] = {}
    for i, group in enumerate(groups):
        if not group:
            raise ParameterError(f"The 'groups' parameter of {func} has an empty group (group {i + 1}).")
        for spk in group:
            if spk in seen:
                raise ParameterError(
                    f"The 'groups' parameter of {func} puts speaker {spk!r} in groups {seen[spk] + 1} "
                    f"and {i + 1}; groups must be disjoint."
                )
            seen[spk] = i
    folds = []
    for i, group in enumerate(groups):
        name = names[i] if names else f"fold-{i + 1}"
        folds.append(_speaker_fold(name, p, group, n_val_speakers=n_val_speakers, seed=seed or 0))
    left = _sorted(set(p.keys) - set(seen))
    if left:
        params = {**params, "train_only_speakers": left}
        description += f" {len(left)} speaker(s) are in no group and only ever train: {', '.join(left)}."
    return Split(
        protocol=protocol,
        folds=tuple(folds),
        speaker_independent=True,
        manifest_digest=p.digest,
        seed=seed,
        params=params,
        description=description,
    )


def speaker_group_kfold(
    manifest: pd.DataFrame,
    *,
    n_folds: int | None = None,
    groups: Sequence[Sequence[str]] | None = None,
    seed: int = 0,
    n_val_speakers: int = 1,
) -> Split:
    """Speaker-grouped k-fold: speakers dealt into ``n_folds`` disjoint groups, one test group per fold.

    Without ``groups``, speakers are shuffled (``seed``) within each (corpus, gender) bucket and
    dealt round-robin across folds, so fold sizes differ by at most one speaker and each gender
    (and corpus) is spread evenly: RAVDESS (12 f, 12 m) with ``n_folds=6`` gives 6 folds of 2 f + 2 m.

    Parameters
    ----------
    manifest : pandas.DataFrame
    n_folds : int >= 2, optional
        Number of folds; at most the number of speakers. Required unless ``groups`` is given (then it
        must equal ``len(groups)`` if given).
    groups : sequence of sequences of str, optional
        Explicit disjoint test groups, as speaker keys (``ravdess/01``) or, in a single-corpus
        manifest, bare speaker ids (``01``). Speakers in no group stay in training in every fold
        (recorded in ``params["train_only_speakers"]`` and the description).
    seed : int
        Seeds the grouping (without ``groups``) and the validation speakers.
    n_val_speakers : int >= 0
        Validation speakers per fold, drawn from the fold's training speakers, alternating genders.

    Returns
    -------
    Split
        ``protocol="group-kfold"``, speaker-independent, folds ``fold-1`` .. ``fold-k``.

    Raises
    ------
    ParameterError
        Bad ``n_folds``, unknown or repeated speakers in ``groups``, or too many validation speakers.
    """
    func = "speaker_group_kfold"
    _check_val(n_val_speakers, func)
    _check_seed(seed, func)
    p = _prepare(manifest)
    speakers = _sorted(set(p.keys))
    if groups is not None:
        if isinstance(groups, str) or not all(not isinstance(g, str) for g in groups):
            raise ParameterError(
                f"The 'groups' parameter of {func} must be a list of lists of speakers, e.g. "
                f"[['01', '02'], ['03', '04']]. Got {groups!r} instead."
            )
        resolved = [[_resolve_speaker(str(s), p, func) for s in g] for g in groups]
        if n_folds is not None and n_folds != len(resolved):
            raise ParameterError(
                f"The 'n_folds' parameter of {func} must equal the number of groups ({len(resolved)}) when "
                f"groups are given. Got {n_folds!r} instead; leave it out."
            )
        if len(resolved) < 1:
            raise ParameterError(f"The 'groups' parameter of {func} needs at least one group.")
        resolved = [_sorted(g) for g in resolved]
        return _group_split(
            p,
            resolved,
            protocol="group-kfold",
            func=func,
            names=None,
            n_val_speakers=n_val_speakers,
            seed=seed,
            params={"n_folds": len(resolved), "groups": resolved, "n_val_speakers": n_val_speakers},
            description=(
                f"Speaker-grouped {len(resolved)}-fold cross-validation with user-given speaker groups; "
                f"{n_val_speakers} validation speaker(s) per fold from the training speakers."
            ),
        )
    if n_folds is None:
        raise ParameterError(f"{func} needs 'n_folds' (an int >= 2) or explicit 'groups'.")
    _check_int(n_folds, "n_folds", func, low=2, rule=f" and <= the number of speakers ({len(speakers)})")
    if n_folds > len(speakers):
        raise ParameterError(
            f"The 'n_folds' parameter of {func} must be an int >= 2 and <= the number of speakers "
            f"({len(speakers)}). Got {n_folds} instead."
        )
    rng = random.Random(f"group-kfold/{seed}")
    buckets: dict[tuple[str, str], list[str]] = {}
    for spk in speakers:
        buckets.setdefault((p.corpus[spk], p.gender[spk]), []).append(spk)
    dealt: list[list[str]] = [[] for _ in range(n_folds)]
    i = 0
    for bucket in sorted(buckets):
        members = buckets[bucket]
        rng.shuffle(members)
        for spk in members:  # the counter runs on across buckets, so fold sizes stay within one
            dealt[i % n_folds].append(spk)
            i += 1
    groups_ = [_sorted(g) for g in dealt]
    sizes = sorted({len(g) for g in groups_})
    return _group_split(
        p,
        groups_,
        protocol="group-kfold",
        func=func,
        names=None,
        n_val_speakers=n_val_speakers,
        seed=seed,
        params={"n_folds": n_folds, "groups": groups_, "n_val_speakers": n_val_speakers},
        description=(
            f"Speaker-grouped {n_folds}-fold cross-validation over {len(speakers)} speakers "
            f"({'-'.join(map(str, sizes))} test speakers per fold, genders spread evenly); "
            f"{n_val_speakers} validation speaker(s) per fold from the training speakers."
        ),
    )


def pair_folds(manifest: pd.DataFrame, *, n_val_speakers: int = 2, seed: int = 0) -> Split:
    """Male-female pair folds, as in the multi-input paper (IEMOCAP: 5 folds, one session's pair each).

    When every speaker belongs to exactly one ``session`` and each session has exactly 2 speakers,
    each session is a fold. Otherwise, within each corpus, females and males (natural order of
    speaker ids) are paired one to one; speakers left without a partner stay in training in every
    fold, and the description says so.

    Parameters
    ----------
    manifest : pandas.DataFrame
    n_val_speakers : int >= 0
        Validation speakers per fold, from the training speakers. The default 2 takes one female and
        one male when possible, so train keeps its gender balance (the paper trains on 4 m + 4 f).
    seed : int
        Seeds the choice of validation speakers (the pairs themselves are deterministic).

    Returns
    -------
    Split
        ``protocol="pair-folds"``, speaker-independent.

    Raises
    ------
    ParameterError
        Neither usable sessions nor known genders for every speaker, or fewer than 2 pairs.

    References
    ----------
    The multi-input paper (mel-spectrogram + GeMAPS, focal loss): "the audio samples obtained from
    eight actors (four males and four females) were used as training data, and those of the
    remaining two actors (one male and one female) were used as test data ... five-fold
    cross-validation by swapping the male-female pair used as the test data."
    """
    func = "pair_folds"
    _check_val(n_val_speakers, func)
    _check_seed(seed, func)
    p = _prepare(manifest)
    speakers = _sorted(set(p.keys))
    groups: list[list[str]] = []
    names: list[str] = []
    how = ""
    if p.df["session"].notna().all():
        sessions = (p.df["corpus"].astype(str) + "/" + p.df["session"].astype(str)).astype(str)
        per_speaker = sessions.groupby(p.keys.values).nunique()
        per_session = p.keys.groupby(sessions.values).nunique()
        if (per_speaker == 1).all() and (per_session == 2).all():
            for name in _sorted(set(sessions)):
                groups.append(_sorted(set(p.keys[sessions == name])))
                names.append(name)
            how = "one fold per session, holding its 2 speakers"
    if not groups:
        unknown = [s for s in speakers if p.gender[s] == "?"]
        if unknown:
            raise ParameterError(
                f"{func} pairs each male with a female, but {len(unknown)} speaker(s) have no gender "
                f"(e.g. {unknown[0]!r}) and the sessions do not hold exactly 2 speakers each. Give explicit "
                "groups to speaker_group_kfold instead."
            )
        left: list[str] = []
        for corpus in sorted(set(p.corpus.values())):
            fs = [s for s in speakers if p.corpus[s] == corpus and p.gender[s] == "f"]
            ms = [s for s in speakers if p.corpus[s] == corpus and p.gender[s] == "m"]
            for f_, m_ in zip(fs, ms, strict=False):
                groups.append([f_, m_])
                names.append(f"{f_}+{m_.split('/', 1)[1]}")
            left += fs[len(ms) :] + ms[len(fs) :]
        how = "each female paired with a male of the same corpus in speaker-id order"
    if len(groups) < 2:
        raise ParameterError(
            f"{func} needs at least 2 male-female pairs (or 2 two-speaker sessions); this manifest gives "
            f"{len(groups)}. Use protocol 'loso' instead."
        )
    return _group_split(
        p,
        groups,
        protocol="pair-folds",
        func=func,
        names=names,
        n_val_speakers=n_val_speakers,
        seed=seed,
        params={"n_val_speakers": n_val_speakers, "groups": groups},
        description=(
            f"Speaker pair folds ({len(groups)} folds, {how}); each fold tests one pair; "
            f"{n_val_speakers} validation speaker(s) per fold from the training speakers."
        ),
    )


def official_split(manifest: pd.DataFrame, *, column: str = "split") -> Split:
    """The corpus's own train/dev/test split from a manifest column (MELD), as one fold.

    ``train``/``training`` rows train, ``dev``/``val``/``valid``/``validation`` rows validate,
    ``test`` rows test (case-insensitive). ``speaker_independent`` is computed, not assumed: it is
    True only when test speakers are absent from train and val and val speakers from train. MELD's
    characters appear in every partition, so its official split is speaker-dependent and says so.

    Parameters
    ----------
    manifest : pandas.DataFrame
    column : str
        The manifest column holding the partition names.

    Returns
    -------
    Split
        ``protocol="official"``, one fold named ``official``; ``seed`` is None.

    Raises
    ------
    ManifestError
        The column is missing, has empty values, unknown values, or no test rows.
    """
    func = "official_split"
    p = _prepare(manifest)
    if column not in p.df.columns:
        raise ManifestError(
            f"{func} needs a {column!r} column naming each row's official partition; the manifest has "
            f"{', '.join(map(str, p.df.columns))}. Use a speaker-grouped protocol ('loso', 'group-kfold') "
            "instead."
        )
    values = p.df[column]
    if values.isna().any():
        raise ManifestError(
            f"{func}: {int(values.isna().sum())} row(s) have no {column!r} value (e.g. "
            f"{p.ids[values.isna()].iloc[0]!r}). Every row needs one of train, dev, test."
        )
    lower = values.astype(str).str.strip().str.lower()
    unknown = sorted(set(lower) - set(_OFFICIAL_VALUES))
    if unknown:
        raise ManifestError(
            f"{func}: the {column!r} column has value(s) {', '.join(map(repr, unknown))}; allowed: "
            f"{', '.join(_OFFICIAL_VALUES)}."
        )
    part = lower.map(_OFFICIAL_VALUES)
    if not (part == "test").any():
        raise ManifestError(
            f"{func}: no row of the {column!r} column is 'test'; an evaluation split needs test rows."
        )
    fold = _fold("official", p, test=part == "test", val=part == "val", train=part == "train")
    test_s, val_s, train_s = set(fold.test_speakers), set(fold.val_speakers), set(fold.train_speakers)
    shared_test = test_s & (train_s | val_s)
    shared_val = val_s & train_s
    independent = not shared_test and not shared_val
    corpora = ", ".join(sorted(set(p.corpus.values())))
    if independent:
        description = (
            f"The official {corpora} train/dev/test split (column {column!r}); no speaker is shared."
        )
    else:
        description = (
            f"The official {corpora} train/dev/test split (column {column!r}). NOT speaker-independent: "
            f"{len(shared_test)} of {len(test_s)} test speakers also occur in train or dev"
            + (f", and {len(shared_val)} of {len(val_s)} dev speakers in train" if val_s else "")
            + ". Report results on it as speaker-dependent."
        )
    return Split(
        protocol="official",
        folds=(fold,),
        speaker_independent=independent,
        manifest_digest=p.digest,
        seed=None,
        params={"column": column},
        description=description,
    )


# --------------------------------------------------------------------------------------------
# Speaker-dependent generators (for comparison with published numbers only)
# --------------------------------------------------------------------------------------------


def casia_text_split(manifest: pd.DataFrame, *, n_train_texts: int = 200) -> Split:
    """The DRSN-BiGRU paper's CASIA split: per speaker and emotion, the first 200 same-text sentences
    train and the remaining 100 test. Speaker-dependent (every speaker is in both).

    "Same-text" sentences are the ``text_id`` values recorded under every emotion label of the
    manifest (the 300 shared sentences of the full corpus); the 100 emotion-specific sentences are
    left out, as in the paper. Sentences are ordered by ``text_id`` (natural order). There is no
    validation set.

    Parameters
    ----------
    manifest : pandas.DataFrame
        The full 9600-utterance CASIA corpus, ``text_id`` filled in every row.
    n_train_texts : int >= 1
        Same-text sentences (in ``text_id`` order) used for training; the rest are the test set.

    Returns
    -------
    Split
        ``protocol="casia-text"``, ``speaker_independent=False``, one fold ``casia-text``.

    Raises
    ------
    ManifestError
        Rows without ``text_id``, or no more than ``n_train_texts`` same-text sentences: the public
        1200-utterance subset (sentences 201-250 only) cannot reproduce this split; use ``loso``.

    References
    ----------
    DRSN-BiGRU paper, Sec. 4.1: "we handpicked the corpus's identical text for use as the experimental
    data, where the first 200 readings were assigned to the training set and the residual 100
    allocated for testing."
    """
    func = "casia_text_split"
    _check_int(n_train_texts, "n_train_texts", func, low=1)
    p = _prepare(manifest)
    text = p.df["text_id"]
    if text.isna().any():
        raise ManifestError(
            f"{func} needs a text_id in every row; {int(text.isna().sum())} row(s) have none "
            f"(e.g. {p.ids[text.isna()].iloc[0]!r})."
        )
    text = text.astype(str)
    n_labels = p.df["label"].nunique()
    labels_per_text = p.df["label"].groupby(text.values).nunique()
    same = _sorted(labels_per_text.index[labels_per_text == n_labels])
    if len(same) <= n_train_texts:
        span = f" ({same[0]}-{same[-1]})" if same else ""
        raise ManifestError(
            f"{func} needs the full 9600-utterance CASIA corpus (300 same-text sentences per speaker and "
            f"emotion, the first {n_train_texts} for training); this manifest has only {len(same)} same-text "
            f"sentence(s){span}, as in the public 1200-utterance subset (sentences 201-250 only). Use the "
            "speaker-independent protocol 'loso' (leave_one_speaker_out) on it and say so when reporting."
        )
    train_texts = set(same[:n_train_texts])
    test_texts = set(same[n_train_texts:])
    none = pd.Series(False, index=p.df.index)
    fold = _fold("casia-text", p, test=text.isin(test_texts), val=none, train=text.isin(train_texts))
    n_excluded = int((~text.isin(set(same))).sum())
    return Split(
        protocol="casia-text",
        folds=(fold,),
        speaker_independent=False,
        manifest_digest=p.digest,
        seed=None,
        params={"n_train_texts": n_train_texts},
        description=(
            f"SPEAKER-DEPENDENT. The DRSN-BiGRU paper's CASIA text split: same-text sentences "
            f"{same[0]}-{same[n_train_texts - 1]} train and {same[n_train_texts]}-{same[-1]} test, for every "
            f"speaker and emotion; {n_excluded} utterance(s) of emotion-specific sentences are left out; "
            "no validation set. For comparison with the paper only."
        ),
    )


def speaker_dependent_random(
    manifest: pd.DataFrame, *, n_folds: int = 5, seed: int = 0, stratify: bool = True
) -> Split:
    """Random utterance k-fold that ignores speakers, labelled speaker-dependent. For comparison only.

    Many published SER numbers (e.g. random 80/20 RAVDESS splits) come from such splits; they
    overstate what a model does for an unseen speaker. The split, its file and every result citing
    it carry ``speaker_independent: false`` and the protocol name ``speaker-dependent-random``.

    Units are shuffled (``seed``) and dealt round-robin into folds, per label when ``stratify``
    (the counter runs on across labels, so fold sizes differ by at most one unit). A unit is a take
    (rows sharing a non-empty ``take`` column, the same recording) or else one utterance, so the
    same recording is never on both sides. Fold ``k`` tests one part and trains on the others;
    there is no validation set.

    Parameters
    ----------
    manifest : pandas.DataFrame
    n_folds : int >= 2
        Number of folds; at most the number of units.
    seed : int
    stratify : bool
        Keep label proportions about equal across folds.

    Returns
    -------
    Split
        ``protocol="speaker-dependent-random"``, ``speaker_independent=False``.

    Raises
    ------
    ParameterError
        Bad ``n_folds`` or ``seed``.
    """
    func = "speaker_dependent_random"
    _check_seed(seed, func)
    p = _prepare(manifest)
    if "take" in p.df.columns:
        unit = p.df["take"].astype(object).where(p.df["take"].notna(), None)
        unit = pd.Series(
            [f"take:{t}" if t is not None else f"id:{i}" for t, i in zip(unit, p.ids, strict=True)],
            index=p.df.index,
        )
    else:
        unit = "id:" + p.ids
    units = _sorted(set(unit))
    _check_int(n_folds, "n_folds", func, low=2)
    if n_folds > len(units):
        raise ParameterError(
            f"The 'n_folds' parameter of {func} must be <= the number of utterances/takes ({len(units)}). "
            f"Got {n_folds} instead."
        )
    first_label = dict(zip(unit, p.df["label"].astype(str), strict=True))
    buckets: dict[str, list[str]] = {}
    for u in units:
        buckets.setdefault(first_label[u] if stratify else "", []).append(u)
    rng = random.Random(f"speaker-dependent/{seed}")
    assigned: dict[str, int] = {}
    i = 0
    for label in sorted(buckets):
        members = buckets[label]
        rng.shuffle(members)
        for u in members:
            assigned[u] = i % n_folds
            i += 1
    fold_of = unit.map(assigned)
    none = pd.Series(False, index=p.df.index)
    folds = [
        _fold(f"fold-{k + 1}", p, test=fold_of == k, val=none, train=fold_of != k) for k in range(n_folds)
    ]
    return Split(
        protocol="speaker-dependent-random",
        folds=tuple(folds),
        speaker_independent=False,
        manifest_digest=p.digest,
        seed=seed,
        params={"n_folds": n_folds, "stratify": stratify},
        description=(
            f"SPEAKER-DEPENDENT random {n_folds}-fold split of utterances"
            + (" (stratified by label)" if stratify else "")
            + ("; takes kept together" if "take" in p.df.columns else "")
            + ". The same speakers are in train and test: for comparison with published numbers only, "
            "not an estimate of performance on new speakers."
        ),
    )


# --------------------------------------------------------------------------------------------
# Registry and frames
# --------------------------------------------------------------------------------------------

#: Protocol name -> (generator, one-line summary). ``make_split`` looks names up here.
PROTOCOLS: dict[str, tuple[Callable[..., Split], str]] = {
    "loso": (leave_one_speaker_out, "leave-one-speaker-out, one fold per speaker"),
    "loso-session": (leave_one_session_out, "leave-one-session-out (IEMOCAP), one fold per session"),
    "group-kfold": (speaker_group_kfold, "speaker-grouped k-fold (n_folds=..., or groups=...)"),
    "pair-folds": (pair_folds, "one male+female pair (or two-speaker session) per fold"),
    "official": (official_split, "the corpus's own train/dev/test column (MELD); independence computed"),
    "casia-text": (casia_text_split, "SPEAKER-DEPENDENT: DRSN-BiGRU paper's CASIA text split (full corpus)"),
    "speaker-dependent": (
        speaker_dependent_random,
        "SPEAKER-DEPENDENT: random stratified utterance folds, for comparison only",
    ),
}
_ALIASES = {"speaker-dependent-random": "speaker-dependent", "leave-one-speaker-out": "loso"}


def list_protocols() -> dict[str, str]:
    """Protocol names accepted by :func:`make_split` and a one-line summary of each."""
    return {name: summary for name, (_, summary) in PROTOCOLS.items()}


def make_split(
    manifest: pd.DataFrame, protocol: str, *, label_set: str | LabelSet | None = None, **params: Any
) -> Split:
    """Build a split by protocol name (for the CLI and configs): ``make_split(m, "group-kfold", n_folds=6)``.

    ``params`` are the named generator's keyword parameters (see :data:`PROTOCOLS`); they are
    checked against its signature, and string values (from a command line) are converted to the
    parameter's ``int``/``bool`` type; ``groups`` may be a string ``"01,02;03,04"`` (groups
    separated by ``;``, speakers by ``,``).

    Parameters
    ----------
    manifest : pandas.DataFrame
    protocol : str
        One of :func:`list_protocols` (``loso``, ``loso-session``, ``group-kfold``, ``pair-folds``,
        ``official``, ``casia-text``, ``speaker-dependent``; ``_`` and case are ignored).
    label_set : str or LabelSet, optional
        Apply this label set (:func:`~serkit.labels.get_label_set` name, ``"neutral,happy+excited"``
        or a :class:`~serkit.labels.LabelSet`) to ``manifest`` first and record it in the split, so
        that :meth:`Split.check` accepts the original manifest.
    **params
        Keyword parameters of the protocol's generator.

    Returns
    -------
    Split

    Raises
    ------
    ParameterError
        Unknown protocol (close matches are suggested) or a parameter the generator does not take.
    """
    key = protocol.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in PROTOCOLS:
        close = difflib.get_close_matches(key, [*PROTOCOLS, *_ALIASES], n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ParameterError(
            f"Unknown split protocol {protocol!r}.{hint} Known protocols: {', '.join(PROTOCOLS)}."
        )
    func = PROTOCOLS[key][0]
    sig = inspect.signature(func)
    allowed = [n for n, prm in sig.parameters.items() if prm.kind is inspect.Parameter.KEYWORD_ONLY]
    converted: dict[str, Any] = {}
    for name, value in params.items():
        if name not in allowed:
            raise ParameterError(
                f"The split protocol {key!r} ({func.__name__}) has no parameter {name!r}; it takes "
                f"{', '.join(allowed) or 'no parameters'}."
            )
        converted[name] = _coerce(value, sig.parameters[name].default, name, key)
    if label_set is None:
        return func(manifest, **converted)
    labels = get_label_set(label_set) if isinstance(label_set, str) else label_set
    split = func(labels.apply(manifest), **converted)
    return dataclasses.replace(split, label_set=_label_set_record(labels))


def _coerce(value: Any, default: Any, name: str, protocol: str) -> Any:
    if not isinstance(value, str):
        return value
    # Command-line values arrive as strings; convert them to the type of the parameter's default.
    if name == "groups":  # "01,02;03,04": groups separated by ';', speakers by ','
        groups = [[s.strip() for s in g.split(",") if s.strip()] for g in value.split(";") if g.strip()]
        if not groups:
            raise ParameterError(
                f"The 'groups' parameter of protocol {protocol!r} must look like '01,02;03,04' (groups "
                f"separated by ';', speakers by ','). Got {value!r} instead."
            )
        return groups
    if isinstance(default, bool):
        low = value.strip().lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise ParameterError(
            f"The {name!r} parameter of protocol {protocol!r} must be true or false. Got {value!r} instead."
        )
    if isinstance(default, int) or (default is None and name.startswith("n_")):
        try:
            return int(value)
        except ValueError:
            raise ParameterError(
                f"The {name!r} parameter of protocol {protocol!r} must be an int. Got {value!r} instead."
            ) from None
    return value


def fold_frames(manifest: pd.DataFrame, fold: Fold) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The manifest rows of a fold's train, val and test partitions (manifest row order kept).

    Raises
    ------
    SplitLeakError
        An id of the fold is not in the manifest (the split belongs to another manifest).
    """
    ids = manifest["id"].astype(str)
    known = set(ids)
    out = []
    for part in PARTS:
        wanted = fold.ids(part)
        missing = [u for u in wanted if u not in known]
        if missing:
            raise SplitLeakError(
                f"Fold {fold.name!r}: {len(missing)} {part} utterance(s) are not in the manifest (e.g. "
                f"{missing[0]!r}). The split was made for another manifest; regenerate it."
            )
        out.append(manifest[ids.isin(set(wanted)).to_numpy()].reset_index(drop=True))
    return out[0], out[1], out[2]
