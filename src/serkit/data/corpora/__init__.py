"""Corpus adapters, one module per corpus, found by name through the registry."""

from serkit.data.corpora import (  # noqa: F401  (importing registers the adapters)
    casia,
    chsims,
    cremad,
    emodb,
    emovo,
    generic,
    iemocap,
    meld,
    mosi,
    nemo,
    ravdess,
    savee,
    tess,
    turevdb,
    urdu,
)
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
