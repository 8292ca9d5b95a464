"""Corpora, manifests and speaker-independent splits."""

from serkit.data.corpora import Corpus, get_corpus, list_corpora, register_corpus
from serkit.data.manifest import COLUMNS, read_manifest, validate_manifest, write_manifest
from serkit.data.prepare import FileProblem, PrepareReport, prepare_corpus
from serkit.data.splits import Fold, Split, fold_frames, list_protocols, make_split

__all__ = [
    "COLUMNS",
    "Corpus",
    "FileProblem",
    "Fold",
    "PrepareReport",
    "Split",
    "fold_frames",
    "get_corpus",
    "list_corpora",
    "list_protocols",
    "make_split",
    "prepare_corpus",
    "read_manifest",
    "register_corpus",
    "validate_manifest",
    "write_manifest",
]
