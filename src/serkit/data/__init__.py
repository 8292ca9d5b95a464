"""Corpora, manifests and speaker-independent splits.

The names below are imported on first use (PEP 562), so that ``import serkit.data.corpora.base`` (what
``serkit predict`` needs to find audio files) does not load pandas and every corpus adapter.
"""

from __future__ import annotations

from serkit._lazy import lazy_exports

_EXPORTS = {
    "COLUMNS": "manifest",
    "Corpus": "corpora",
    "FileProblem": "prepare",
    "Fold": "splits",
    "PrepareReport": "prepare",
    "Split": "splits",
    "fold_frames": "splits",
    "get_corpus": "corpora",
    "list_corpora": "corpora",
    "list_protocols": "splits",
    "make_split": "splits",
    "prepare_corpus": "prepare",
    "read_manifest": "manifest",
    "register_corpus": "corpora",
    "validate_manifest": "manifest",
    "write_manifest": "manifest",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
