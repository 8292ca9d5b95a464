"""Corpus adapters, one module per corpus, found by name through the registry."""

from serkit.data.corpora import emodb, ravdess  # noqa: F401  (registers the adapters)
from serkit.data.corpora.base import (
    Corpus,
    ScanResult,
    find_audio,
    get_corpus,
    list_corpora,
    register_corpus,
    utterance_id,
)

__all__ = ["Corpus", "ScanResult", "find_audio", "get_corpus", "list_corpora", "register_corpus", "utterance_id"]
