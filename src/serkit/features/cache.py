"""A content-addressed, on-disk feature cache.

An entry's key is (hash of the audio file's bytes, frontend name + version + every parameter), so a
second run of the same extraction reads the cache, a changed parameter misses it, and a renamed or
moved file still hits. Layout::

    ROOT/<frontend>-v<version>-<spec digest>/spec.json        the full spec, for people
    ROOT/<frontend>-v<version>-<spec digest>/ab/abcdef....npy  one entry per audio content

Each entry is written to a temporary file and renamed into place (atomic on POSIX), and starts with
a checksum of its payload: a truncated or corrupted entry is detected on read, deleted, and recomputed.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from serkit._io import atomic_write_bytes
from serkit.features.frontend import Frontend

__all__ = ["FeatureCache", "file_digest"]

_MAGIC = b"SERKITF1"
_DIGEST_SIZE = 16


def file_digest(path: str | Path) -> str:
    """BLAKE2b (128-bit) hex digest of a file's bytes: the audio half of a cache key."""
    h = hashlib.blake2b(digest_size=_DIGEST_SIZE)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    corrupt: int = 0


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
        return self.folder(frontend) / audio_digest[:2] / f"{audio_digest}.npy"

    def write_spec(self, frontend: Frontend) -> None:
        spec_file = self.folder(frontend) / "spec.json"
        if not spec_file.exists():
            blob = {"spec": str(frontend.spec), "version": frontend.version, **frontend.spec.to_dict()}
            atomic_write_bytes(spec_file, json.dumps(blob, indent=2).encode())

    def get(self, frontend: Frontend, audio_digest: str) -> np.ndarray | None:
        """The cached array, or None on a miss. A corrupted entry is removed and counted as a miss."""
        path = self.entry_path(frontend, audio_digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self.stats.misses += 1
            return None
        head = len(_MAGIC) + _DIGEST_SIZE
        payload = data[head:]
        ok = (
            data[: len(_MAGIC)] == _MAGIC
            and hashlib.blake2b(payload, digest_size=_DIGEST_SIZE).digest() == (data[len(_MAGIC) : head])
        )
        if ok:
            try:
                array = np.load(io.BytesIO(payload), allow_pickle=False)
            except ValueError:
                ok = False
        if not ok:
            warnings.warn(f"Corrupted feature cache entry {path}; it will be recomputed.", stacklevel=2)
            path.unlink(missing_ok=True)
            self.stats.corrupt += 1
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return array

    def contains(self, frontend: Frontend, audio_digest: str) -> bool:
        return self.entry_path(frontend, audio_digest).is_file()

    def put(self, frontend: Frontend, audio_digest: str, array: np.ndarray) -> Path:
        """Store ``array`` atomically (temporary file + rename)."""
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
        payload = buf.getvalue()
        digest = hashlib.blake2b(payload, digest_size=_DIGEST_SIZE).digest()
        path = self.entry_path(frontend, audio_digest)
        atomic_write_bytes(path, _MAGIC + digest + payload)
        return path
