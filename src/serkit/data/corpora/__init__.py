"""Corpus adapters, one module per corpus, found by name through the registry.

The adapters are imported on first use of the registry (:func:`list_corpora`, :func:`get_corpus`), not
with this package: ``serkit predict`` finds audio files with :func:`find_audio` without loading pandas
and fifteen adapters.
"""

from serkit.data.corpora.base import (
    Corpus,
    ScanResult,
    find_audio,
    get_corpus,
    list_corpora,
    register_corpus,
    utterance_id,
)

__all__ = [
    "Corpus",
    "ScanResult",
    "find_audio",
    "get_corpus",
    "list_corpora",
    "register_corpus",
    "utterance_id",
]
