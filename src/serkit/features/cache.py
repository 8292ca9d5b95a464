"""A content-addressed, on-disk feature cache.

An entry's key is (hash of the audio file's bytes, frontend name + version + every parameter), so a
second run of the same extraction reads the cache, a changed parameter misses it, and a renamed or
moved file still hits. Layout::

    ROOT/<frontend>-v<version>-<spec digest>/spec.json          the full spec, for people
    ROOT/<frontend>-v<version>-<spec digest>/index.csv          id -> entry, merged over runs
    ROOT/<frontend>-v<version>-<spec digest>/index.lock         serialises index updates (flock)
    ROOT/<frontend>-v<version>-<spec digest>/ab/abcdef....sfeat  one entry per audio content

Each entry is written to a temporary file and renamed into place (atomic on POSIX). An entry file
holds its own key and a checksum (format in :func:`read_entry`): a truncated or corrupted entry, or
one copied over another entry's path, is detected on read, deleted and recomputed. Read an entry
outside serkit with :func:`read_entry` (``np.load`` cannot: the file starts with serkit's header).
Entries of the first format (``*.npy``) are never read: they count as misses and are recomputed.

The index is updated with read-merge-write under an exclusive ``fcntl.flock`` on ``index.lock``:
the rows of a run replace the rows with the same ``id`` and every other row is kept, so runs with
different manifests, one after the other or at the same time, all stay reachable.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from serkit._io import atomic_write_bytes
from serkit.errors import CacheError
from serkit.features.frontend import Frontend

try:  # POSIX; elsewhere index updates are not serialised between processes
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "ENTRY_SUFFIX",
    "INDEX_COLUMNS",
    "CacheCorruptionWarning",
    "CacheEntry",
    "FeatureCache",
    "file_digest",
    "read_entry",
]

_MAGIC = b"SERKITF2"
_DIGEST_SIZE = 16
_HEAD = struct.Struct("<8s16sI")  # magic, BLAKE2b-128 of everything after these 28 bytes, header length
ENTRY_SUFFIX = ".sfeat"
INDEX_COLUMNS = ["id", "path", "audio_digest", "status", "shape", "entry"]


class CacheCorruptionWarning(UserWarning):
    """A cache entry was unusable (corrupted, truncated, or holding another key); it is recomputed."""


@dataclass(frozen=True)
class CacheEntry:
    """One cache entry: its key (``audio_digest``, ``frontend``) and the feature array."""

    audio_digest: str
    frontend: str
    array: np.ndarray


class _Corrupt(Exception):
    pass


def file_digest(path: str | Path) -> str:
    """BLAKE2b (128-bit) hex digest of a file's bytes: the audio half of a cache key."""
    h = hashlib.blake2b(digest_size=_DIGEST_SIZE)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _encode_entry(audio_digest: str, frontend: str, array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    header = json.dumps({"audio_digest": audio_digest, "frontend": frontend}, sort_keys=True).encode()
    body = header + buf.getvalue()
    checksum = hashlib.blake2b(body, digest_size=_DIGEST_SIZE).digest()
    return _HEAD.pack(_MAGIC, checksum, len(header)) + body


def _decode_entry(data: bytes) -> CacheEntry:
    if len(data) < _HEAD.size:
        raise _Corrupt(f"truncated ({len(data)} bytes)")
    magic, checksum, header_len = _HEAD.unpack_from(data)
    if magic != _MAGIC:
        raise _Corrupt("not a serkit cache entry of the current format")
    body = data[_HEAD.size :]
    if hashlib.blake2b(body, digest_size=_DIGEST_SIZE).digest() != checksum:
        raise _Corrupt("checksum mismatch (truncated or modified)")
    try:
        header = json.loads(body[:header_len])
        array = np.load(io.BytesIO(body[header_len:]), allow_pickle=False)
        return CacheEntry(str(header["audio_digest"]), str(header["frontend"]), array)
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise _Corrupt(f"unreadable ({exc})") from exc


def read_entry(path: str | Path) -> CacheEntry:
    """Read one feature cache entry file (``*.sfeat``): its key and its array.

    File format: 8 bytes ``SERKITF2``; 16 bytes BLAKE2b-128 checksum of everything after byte 28;
    a little-endian uint32 ``n``; ``n`` bytes of UTF-8 JSON ``{"audio_digest": ..., "frontend": ...}``
    (the key: :func:`file_digest` of the audio file and :attr:`Frontend.cache_digest`); then the array
    in ``.npy`` format (``np.load`` it from that offset, no pickles).

    Raises
    ------
    CacheError
        If the file cannot be read, or is not a complete entry of this format.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CacheError(f"Cannot read feature cache entry {path}: {exc.strerror or exc}.") from exc
    try:
        return _decode_entry(data)
    except _Corrupt as exc:
        raise CacheError(f"Feature cache entry {path} is unusable: {exc}.") from None


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    corrupt: int = 0
    corrupt_entries: list[tuple[str, str]] = field(default_factory=list)  # (entry path, reason)


def _not_a_folder(root: Path, culprit: Path) -> CacheError:
    where = (
        f"{root} is an existing file" if culprit == root else f"{root} cannot be created: {culprit} is a file"
    )
    return CacheError(
        f"The feature cache folder {where}, not a folder; choose another output folder "
        f"(-o / cache_dir) or move the file away."
    )


class FeatureCache:
    """Feature arrays stored under ``root``, keyed by audio content and frontend spec.

    Parameters
    ----------
    root : path
        Cache folder (created on first write). Several frontends can share it.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.stats = CacheStats()

    def folder(self, frontend: Frontend) -> Path:
        return self.root / frontend.cache_digest

    def entry_path(self, frontend: Frontend, audio_digest: str) -> Path:
        return self.folder(frontend) / audio_digest[:2] / f"{audio_digest}{ENTRY_SUFFIX}"

    def index_path(self, frontend: Frontend) -> Path:
        return self.folder(frontend) / "index.csv"

    # ---------------------------------------------------------------------------------------------
    # Checks made before any audio is read
    # ---------------------------------------------------------------------------------------------

    def prepare(self, frontend: Frontend) -> None:
        """Create the frontend's folder and check that its files can be written.

        Raises
        ------
        CacheError
            The root (or a folder above it) is a file, a folder cannot be created or written to, or
            a folder sits where ``index.csv``, ``index.lock`` or ``spec.json`` belongs. One line
            naming the path.
        """
        folder = self.folder(frontend)
        for parent in [self.root, *self.root.parents]:
            if parent.exists():
                if not parent.is_dir():
                    raise _not_a_folder(self.root, parent)
                break
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise _not_a_folder(folder, folder) from None
        except OSError as exc:
            raise CacheError(
                f"Cannot create the feature cache folder {folder}: {exc.strerror or exc}. "
                f"Choose a writable output folder (-o / cache_dir)."
            ) from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise CacheError(
                f"The feature cache folder {folder} is not writable; choose another output folder "
                f"(-o / cache_dir) or fix its permissions."
            )
        for name in ("index.csv", "index.lock", "spec.json"):
            target = folder / name
            if target.exists() and not target.is_file():
                raise CacheError(
                    f"{target} is a folder, but the feature cache needs a file there; remove or move it."
                )

    def check_slot(self, frontend: Frontend, audio_digest: str) -> None:
        """Raise :class:`CacheError` when something other than a file sits at an entry's path."""
        path = self.entry_path(frontend, audio_digest)
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            return
        except NotADirectoryError:
            raise CacheError(
                f"{path.parent} is a file, but the feature cache needs a folder there; remove or move it."
            ) from None
        except OSError as exc:
            raise CacheError(f"Cannot use feature cache entry {path}: {exc.strerror or exc}.") from None
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
            raise CacheError(
                f"Feature cache entry {path} is {kind}, so it can be neither read nor replaced; "
                f"remove it and run again."
            )

    # ---------------------------------------------------------------------------------------------
    # Entries
    # ---------------------------------------------------------------------------------------------

    def write_spec(self, frontend: Frontend) -> None:
        spec_file = self.folder(frontend) / "spec.json"
        if not spec_file.exists():
            blob = {"spec": str(frontend.spec), "version": frontend.version, **frontend.spec.to_dict()}
            atomic_write_bytes(spec_file, json.dumps(blob, indent=2).encode())

    def get(self, frontend: Frontend, audio_digest: str) -> np.ndarray | None:
        """The cached array, or None on a miss.

        An unusable entry (corrupted, truncated, of an old format, or holding another key) is
        removed, counted in :attr:`stats` and reported with a :class:`CacheCorruptionWarning`; it is
        a miss. Something other than a file at the entry's path raises :class:`CacheError`.
        """
        path = self.entry_path(frontend, audio_digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self.stats.misses += 1
            return None
        except OSError as exc:
            self.check_slot(frontend, audio_digest)
            raise CacheError(f"Cannot read feature cache entry {path}: {exc.strerror or exc}.") from None
        try:
            entry = _decode_entry(data)
            if (entry.audio_digest, entry.frontend) != (audio_digest, frontend.cache_digest):
                raise _Corrupt(
                    f"it holds the entry of another key (audio {entry.audio_digest}, "
                    f"frontend {entry.frontend})"
                )
        except _Corrupt as exc:
            warnings.warn(
                f"Corrupted feature cache entry {path}: {exc}; it will be recomputed.",
                CacheCorruptionWarning,
                stacklevel=2,
            )
            path.unlink(missing_ok=True)
            self.stats.corrupt += 1
            self.stats.corrupt_entries.append((str(path), str(exc)))
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return entry.array

    def contains(self, frontend: Frontend, audio_digest: str) -> bool:
        return self.entry_path(frontend, audio_digest).is_file()

    def put(self, frontend: Frontend, audio_digest: str, array: np.ndarray) -> Path:
        """Store ``array`` atomically (temporary file + rename), with its key in the entry."""
        path = self.entry_path(frontend, audio_digest)
        atomic_write_bytes(path, _encode_entry(audio_digest, frontend.cache_digest, array))
        path.with_suffix(".npy").unlink(missing_ok=True)  # an entry of the first format, now stale
        return path

    # ---------------------------------------------------------------------------------------------
    # Index
    # ---------------------------------------------------------------------------------------------

    @contextmanager
    def _index_lock(self, frontend: Frontend) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        fd = os.open(self.folder(frontend) / "index.lock", os.O_RDONLY | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the only descriptor releases the lock

    def _read_index_file(self, path: Path) -> pd.DataFrame:
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        except FileNotFoundError:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in INDEX_COLUMNS})
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise CacheError(
                f"The feature cache index {path} is unreadable ({exc}); remove it and run again "
                f"(the entries are kept and the next run re-indexes the manifest it is given)."
            ) from None
        return frame

    def read_index(self, frontend: Frontend) -> pd.DataFrame:
        """The index of ``frontend``'s folder: one row per id ever extracted into it (latest run wins)."""
        return self._read_index_file(self.index_path(frontend))

    def merge_index(self, frontend: Frontend, rows: pd.DataFrame) -> pd.DataFrame:
        """Merge ``rows`` into ``index.csv`` and return the merged index.

        Under an exclusive lock, the index is read, rows whose ``id`` is in ``rows`` are replaced,
        all others kept (except rows of first-format ``*.npy`` entries, which nothing reads any more),
        and the result written atomically, so concurrent runs keep each other's rows.
        """
        path = self.index_path(frontend)
        with self._index_lock(frontend):
            old = self._read_index_file(path)
            keep = old[~old["id"].isin(set(rows["id"]))] if "id" in old else old
            if "entry" in keep:  # rows of the first entry format (*.npy) point at nothing readable
                keep = keep[~keep["entry"].fillna("").str.endswith(".npy")]
            parts = [p for p in (keep, rows) if len(p)]
            merged = pd.concat(parts, ignore_index=True) if parts else rows.iloc[:0]
            columns = [*INDEX_COLUMNS, *[c for c in merged.columns if c not in INDEX_COLUMNS]]
            merged = merged.reindex(columns=columns)
            atomic_write_bytes(path, merged.to_csv(index=False).encode())
        return merged
