"""Corpora, manifests and speaker-independent splits.

The names below are imported on first use (PEP 562), so that ``import serkit.data.corpora.base`` (what
``serkit predict`` needs to find audio files) does not load pandas and every corpus adapter.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "COLUMNS": "serkit.data.manifest",
    "Corpus": "serkit.data.corpora",
    "FileProblem": "serkit.data.prepare",
    "Fold": "serkit.data.splits",
    "PrepareReport": "serkit.data.prepare",
    "Split": "serkit.data.splits",
    "fold_frames": "serkit.data.splits",
    "get_corpus": "serkit.data.corpora",
    "list_corpora": "serkit.data.corpora",
    "list_protocols": "serkit.data.splits",
    "make_split": "serkit.data.splits",
    "prepare_corpus": "serkit.data.prepare",
    "read_manifest": "serkit.data.manifest",
    "register_corpus": "serkit.data.corpora",
    "validate_manifest": "serkit.data.manifest",
    "write_manifest": "serkit.data.manifest",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'serkit.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
