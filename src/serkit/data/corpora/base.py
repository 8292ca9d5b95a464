"""The corpus adapter base class and the registry that finds adapters by name.

An adapter knows one corpus's documented layout and turns a folder into manifest rows *from file
names and metadata files only* (:meth:`Corpus.scan`); :func:`serkit.data.prepare.prepare_corpus`
then decodes every file, fills ``duration``/``sample_rate`` and reports broken files.
Adapters match file stems whatever the audio extension (``.wav`` in the original releases,
``.flac`` in re-encoded copies).

Nothing :func:`find_audio` passes over is lost: while an adapter's :meth:`Corpus.scan` runs, the
candidates it skips (dangling links, link loops, folders or pipes named like audio, linked folders
it does not enter, macOS ``._`` metadata files) and the same-stem copies it sets aside (``a.flac``
beside ``a.wav``) are recorded in the :class:`ScanResult` (``skipped`` and ``alternates``), and
:func:`~serkit.data.prepare.prepare_corpus` puts each one in the manifest or the problems list.
"""

from __future__ import annotations

import contextvars
import difflib
import errno
import functools
import inspect
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from serkit.audio import AUDIO_EXTENSIONS
from serkit.errors import CorpusError

__all__ = [
    "Corpus",
    "ScanResult",
    "corpus_options",
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
    skipped : list of (Path, str, str)
        Candidates :func:`find_audio` could not offer as audio files: ``(path, kind, reason)`` with kind
        ``broken-link``, ``not-a-file``, ``linked-folder`` or ``not-audio``. Filled in automatically
        while :meth:`Corpus.scan` runs.
    alternates : dict of Path -> list of Path
        For a file :func:`find_audio` returned, the other files with the same stem and another audio
        extension (``a.flac`` beside ``a.wav``), in order of preference. ``prepare_corpus`` decodes
        the first of them that works when the returned file is broken, and reports the rest as
        ``duplicate-stem``. Filled in automatically while :meth:`Corpus.scan` runs.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[tuple[Path, str]] = field(default_factory=list)
    skipped: list[tuple[Path, str, str]] = field(default_factory=list)
    alternates: dict[Path, list[Path]] = field(default_factory=dict)


@dataclass
class _Collector:
    """What :func:`find_audio` passed over during one :meth:`Corpus.scan` call."""

    skipped: dict[Path, tuple[str, str]] = field(default_factory=dict)
    alternates: dict[Path, list[Path]] = field(default_factory=dict)


_COLLECTOR: contextvars.ContextVar[_Collector | None] = contextvars.ContextVar("serkit_scan", default=None)


def _collecting(scan: Callable[..., ScanResult]) -> Callable[..., ScanResult]:
    """Wrap an adapter's ``scan`` so that what :func:`find_audio` passes over lands in its result."""

    @functools.wraps(scan)
    def wrapper(self: Corpus, *args: Any, **kwargs: Any) -> ScanResult:
        if _COLLECTOR.get() is not None:  # nested call (super().scan): the outermost one collects
            return scan(self, *args, **kwargs)
        collector = _Collector()
        token = _COLLECTOR.set(collector)
        try:
            result = scan(self, *args, **kwargs)
        finally:
            _COLLECTOR.reset(token)
        if isinstance(result, ScanResult):
            known = {p for p, _, _ in result.skipped}
            result.skipped.extend(
                (p, kind, reason) for p, (kind, reason) in sorted(collector.skipped.items()) if p not in known
            )
            for kept, others in collector.alternates.items():
                result.alternates.setdefault(kept, others)
        return result

    wrapper.__serkit_collecting__ = True  # type: ignore[attr-defined]
    return wrapper


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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        scan = cls.__dict__.get("scan")
        if scan is not None and not getattr(scan, "__serkit_collecting__", False):
            cls.scan = _collecting(scan)  # type: ignore[method-assign]

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


#: The adapter modules shipped with serkit (``serkit.data.corpora.<name>``); importing one registers it.
BUILTIN_ADAPTERS = (
    "casia",
    "chsims",
    "cremad",
    "emodb",
    "emovo",
    "generic",
    "iemocap",
    "meld",
    "mosi",
    "nemo",
    "ravdess",
    "savee",
    "tess",
    "turevdb",
    "urdu",
)


def _ensure_builtin() -> None:
    import importlib

    for module in BUILTIN_ADAPTERS:
        importlib.import_module(f"serkit.data.corpora.{module}")


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


def corpus_options(cls: type[Corpus]) -> list[str] | None:
    """The keyword options an adapter's constructor takes (None when it accepts any, ``**kwargs``)."""
    if cls.__init__ is object.__init__:
        return []
    params = inspect.signature(cls.__init__).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return [
        p.name
        for p in params
        if p.name != "self"
        and p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]


def get_corpus(name: str, **options: Any) -> Corpus:
    """Instantiate the adapter called ``name`` (options go to its constructor, e.g. ``generic``).

    Raises
    ------
    CorpusError
        Unknown corpus, or an option its constructor does not take (the valid ones are listed).
    """
    cls = get_corpus_class(name)
    valid = corpus_options(cls)
    if valid is not None:
        for key in options:
            if key in valid:
                continue
            if not valid:
                raise CorpusError(
                    f"Unknown option {key!r} for corpus {cls.name!r}: it takes no options. Leave out --option."
                )
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise CorpusError(
                f"Unknown option {key!r} for corpus {cls.name!r}.{hint} Valid options: {', '.join(valid)}."
            )
    try:
        return cls(**options)
    except TypeError as exc:
        raise CorpusError(f"Bad options for the {cls.name} adapter: {exc}.") from None


def _classify(path: Path) -> tuple[str, str] | None:
    """None for a regular file (or a link to one); else ``(kind, reason)`` saying what it is instead."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if os.path.islink(path):
            target = os.readlink(path)
            what = "a loop of links" if exc.errno == errno.ELOOP else "a target that does not exist"
            return "broken-link", f"a symbolic link to {target!r}, {what}; fix or remove the link"
        return "missing", f"it could not be read while the folder was scanned ({exc.strerror})"
    if stat.S_ISREG(st.st_mode):
        return None
    if stat.S_ISDIR(st.st_mode):
        if path.is_symlink():
            return (
                "linked-folder",
                "a link to a folder: serkit does not follow folder links; use the real folder",
            )
        return "not-a-file", "a folder named like an audio file; its contents are scanned as a folder"
    what = "a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode) else "a socket or device"
    return "not-a-file", f"{what} named like an audio file, not a regular file"


def find_audio(
    root: Path, pattern: str = "**/*", *, extensions: Iterable[str] = AUDIO_EXTENSIONS
) -> list[Path]:
    """Audio files under ``root`` matching the glob ``pattern``, any case of a known extension, sorted.

    When the same stem exists with several extensions (``a.wav`` and ``a.flac``) only the first in
    ``extensions`` order is returned (by default :data:`~serkit.audio.AUDIO_EXTENSIONS`: lossless
    formats first), so a folder holding both copies is not counted twice; the others are recorded as
    its ``alternates``. Candidates that are not regular files (dangling links, link loops, folders
    or pipes named ``x.wav``), links to folders (never entered, so nothing is reached twice or in a
    loop) and macOS ``._`` metadata files are not returned but recorded as ``skipped``. Both are
    recorded only while a :meth:`Corpus.scan` runs, into its :class:`ScanResult`.
    """
    exts = [e.lower() for e in extensions]
    collector = _COLLECTOR.get()
    by_stem: dict[Path, list[Path]] = {}
    for path in root.glob(pattern):
        suffix = path.suffix.lower()
        if suffix not in exts:
            if collector is not None and "**" in pattern and path.is_symlink() and path.is_dir():
                collector.skipped.setdefault(path, _classify(path) or ("linked-folder", ""))
            continue
        problem = _classify(path)
        if problem is None and path.name.startswith("._"):
            problem = ("not-audio", "a macOS metadata file (AppleDouble '._' prefix), not audio")
        if problem is not None:
            if collector is not None:
                collector.skipped.setdefault(path, problem)
            continue
        by_stem.setdefault(path.with_suffix(""), []).append(path)
    kept = []
    for paths in by_stem.values():
        paths.sort(key=lambda p: (exts.index(p.suffix.lower()), p.name))
        kept.append(paths[0])
        if len(paths) > 1 and collector is not None:
            collector.alternates[paths[0]] = paths[1:]
    return sorted(kept)


def utterance_id(corpus: str, root: Path, path: Path) -> str:
    """``<corpus>/<path relative to root, without extension>`` with forward slashes."""
    rel = path.relative_to(root).with_suffix("")
    return f"{corpus}/{rel.as_posix()}"
