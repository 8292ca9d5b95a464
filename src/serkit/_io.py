"""Atomic file writes: every output serkit writes appears whole or not at all.

A temporary file is created in the destination folder (so the final rename stays on one file
system) and renamed over the target with ``os.replace`` only once it is complete; on any error the
temporary file is removed and an existing target is left untouched.

``tempfile.mkstemp`` creates the temporary file with mode 0600 whatever the umask; before the rename
it gets the mode a plain ``open(path, "w")`` would give a new file, ``0o666 & ~umask``, so a shared
cache or manifest is as readable as the user's umask says.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "current_umask", "new_file_mode"]

_UMASK_LOCK = threading.Lock()
_umask_fallback: int | None = None


def _umask_from_proc() -> int | None:
    """The umask from ``/proc/self/status`` (Linux >= 4.7), read without changing it; None elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        return None
    return None


def current_umask() -> int:
    """The process umask.

    Read from ``/proc/self/status`` when the system has it (always current, and nothing is changed).
    Elsewhere it is read once per process with ``os.umask(0)`` followed at once by a restore, under a
    lock; that brief window is why it is not read again on every write.
    """
    mask = _umask_from_proc()
    if mask is not None:
        return mask
    global _umask_fallback
    with _UMASK_LOCK:
        if _umask_fallback is None:
            mask = os.umask(0)
            os.umask(mask)
            _umask_fallback = mask
        return _umask_fallback


def new_file_mode() -> int:
    """Permission bits of a newly created file: ``0o666 & ~umask``."""
    return 0o666 & ~current_umask()


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` when the block ends without error.

    The final file has mode ``0o666 & ~umask``, as if created by ``open(path, "w")``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with contextlib.suppress(OSError):  # file systems without POSIX modes keep theirs
            os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; returns ``path``."""
    return atomic_write_bytes(path, text.encode("utf-8"))
