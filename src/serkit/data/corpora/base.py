"""The corpus adapter base class and the registry that finds adapters by name.

An adapter knows one corpus's documented layout and turns a folder into manifest rows *from file
names and metadata files only* (:meth:`Corpus.scan`); :func:`serkit.data.prepare.prepare_corpus`
then decodes every file, fills ``duration``/``sample_rate`` and reports broken files.
Adapters match file stems whatever the audio extension (``.wav`` in the original releases,
``.flac`` in re-encoded copies).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from serkit.audio import AUDIO_EXTENSIONS
from serkit.errors import CorpusError

__all__ = [
    "Corpus",
    "ScanResult",
    "find_audio",
    "get_corpus",
    "get_corpus_class",
    "list_corpora",
    "register_corpus",
    "utterance_id",
]

_REGISTRY: dict[str, type[Corpus]] = {}


@dataclass
class ScanResult:
    """What :meth:`Corpus.scan` found.

    Attributes
    ----------
    rows : list of dict
        One per utterance, with the manifest columns except ``corpus``, ``duration`` and
        ``sample_rate`` (filled by prepare) and any adapter extras.
    unmatched : list of (Path, str)
        Audio files whose names do not follow the layout, with the reason. Reported, never dropped silently.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[tuple[Path, str]] = field(default_factory=list)


class Corpus:
    """Base class of corpus adapters. Subclasses set the class attributes and implement :meth:`scan`.

    Class attributes
    ----------------
    name : str
        Registry name (``ravdess``).
    title, language, citation, licence : str
        Shown by ``serkit data list`` and in docs. ``language`` is a BCP-47 code (``en``, ``de``).
    layout : str
        The folder layout the adapter expects, as documented by the corpus.
    labels : dict
        Raw label (as it appears in file names or metadata) -> canonical label.
    task : str
        ``classification`` or ``regression`` (sentiment scores in a ``score`` column).
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    language: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    licence: ClassVar[str] = ""
    layout: ClassVar[str] = ""
    labels: ClassVar[dict[str, str]] = {}
    task: ClassVar[str] = "classification"

    def scan(self, root: Path) -> ScanResult:
        """Parse the corpus folder ``root`` into rows. Must not decode audio.

        Raises
        ------
        CorpusError
            If ``root`` does not exist or does not look like this corpus (no matching files).
        """
        raise NotImplementedError

    # Helpers shared by adapters -------------------------------------------------------------

    def check_root(self, root: str | Path) -> Path:
        root = Path(root).expanduser()
        if not root.is_dir():
            raise CorpusError(f"The {self.name} corpus folder {root} does not exist or is not a folder.")
        return root.resolve()

    def no_files_error(self, root: Path) -> CorpusError:
        return CorpusError(
            f"No {self.title or self.name} audio files found under {root}. Expected layout:\n{self.layout}"
        )

    def map_label(self, raw: str) -> str:
        try:
            return self.labels[raw]
        except KeyError:
            raise CorpusError(
                f"Unknown {self.name} label {raw!r}; known labels: {', '.join(self.labels)}."
            ) from None


def register_corpus(cls: type[Corpus]) -> type[Corpus]:
    """Class decorator: make the adapter available by ``cls.name``."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} needs a non-empty 'name'.")
    _REGISTRY[cls.name] = cls
    return cls


def _ensure_builtin() -> None:
    import serkit.data.corpora  # noqa: F401  (importing registers the built-in adapters)


def list_corpora() -> list[str]:
    """Names of all registered corpus adapters, sorted."""
    _ensure_builtin()
    return sorted(_REGISTRY)


def get_corpus_class(name: str) -> type[Corpus]:
    """The adapter class registered as ``name`` (case and ``_``/``-`` insensitive)."""
    _ensure_builtin()
    key = name.lower().replace("_", "-")
    cls = _REGISTRY.get(key) or _REGISTRY.get(name)
    if cls is None:
        close = difflib.get_close_matches(key, list(_REGISTRY), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise CorpusError(f"Unknown corpus {name!r}.{hint} Known corpora: {', '.join(sorted(_REGISTRY))}.")
    return cls


def get_corpus(name: str, **options: Any) -> Corpus:
    """Instantiate the adapter called ``name`` (options go to its constructor, e.g. ``generic``)."""
    cls = get_corpus_class(name)
    try:
        return cls(**options)
    except TypeError as exc:
        raise CorpusError(f"Bad options for the {cls.name} adapter: {exc}.") from None


def find_audio(
    root: Path, pattern: str = "**/*", *, extensions: Iterable[str] = AUDIO_EXTENSIONS
) -> list[Path]:
    """Audio files under ``root`` matching the glob ``pattern``, any case of a known extension, sorted.

    When the same stem exists with several extensions (``a.wav`` and ``a.flac``) only the first in
    ``extensions`` order is kept, so a folder holding both copies is not counted twice.
    """
    exts = [e.lower() for e in extensions]
    best: dict[Path, Path] = {}
    for path in root.glob(pattern):
        suffix = path.suffix.lower()
        if suffix not in exts or not path.is_file() or path.name.startswith("._"):
            continue
        stem = path.with_suffix("")
        if stem not in best or exts.index(suffix) < exts.index(best[stem].suffix.lower()):
            best[stem] = path
    return sorted(best.values())


def utterance_id(corpus: str, root: Path, path: Path) -> str:
    """``<corpus>/<path relative to root, without extension>`` with forward slashes."""
    rel = path.relative_to(root).with_suffix("")
    return f"{corpus}/{rel.as_posix()}"
