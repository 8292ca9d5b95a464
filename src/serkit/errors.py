"""The few exception types users catch.

Every error derives from :class:`SerkitError`; most also derive from a built-in
(``ValueError``), so ``except ValueError`` keeps working for code that does not know serkit.
Messages follow one shape: what, where, allowed, got, and the fix when there is one.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AudioError",
    "BusyError",
    "CacheError",
    "CheckpointError",
    "ConfigError",
    "CorpusError",
    "ManifestError",
    "NotFittedError",
    "OpenSmileMissingError",
    "ParameterError",
    "SerkitError",
    "SplitFileError",
    "SplitLeakError",
    "TrainingError",
    "UnknownSpeakerError",
    "WeightsError",
]


class SerkitError(Exception):
    """Root of every error serkit raises on purpose."""


class ParameterError(SerkitError, ValueError):
    """A parameter value is outside what the function accepts."""


class AudioError(SerkitError, ValueError):
    """An audio file (or array) cannot be used; ``path`` names it and ``reason`` says why.

    ``kind`` is a short machine-readable tag: ``missing``, ``broken-link`` (a symbolic link whose target
    is missing, or a link loop), ``not-a-file`` (a folder, named pipe, socket or device), ``unreadable``
    (no permission), ``empty``, ``corrupt``, ``truncated``, ``unsupported``, ``silent``, ``non-finite``,
    ``out-of-range`` (samples far outside [-1, 1]), ``too-long``, ``too-short``.
    """

    def __init__(self, path: str | Path | None, reason: str, *, kind: str = "corrupt") -> None:
        self.path = None if path is None else str(path)
        self.reason = reason
        self.kind = kind
        where = "audio array" if path is None else f"audio file '{path}'"
        super().__init__(f"Cannot use {where}: {reason}")


class CorpusError(SerkitError, ValueError):
    """A corpus folder does not match the layout its adapter documents."""


class ManifestError(SerkitError, ValueError):
    """A manifest is missing columns, has bad values or duplicate ids."""


class SplitLeakError(SerkitError, ValueError):
    """A split puts one speaker (or utterance) on both sides of a train/validation/test boundary, or
    breaks another invariant of its protocol (an empty test set, a dropped id, a wrong independence flag)."""


class SplitFileError(SerkitError, ValueError):
    """A split file is missing, not JSON, lacks fields, or was edited after it was written."""


class ConfigError(SerkitError, ValueError):
    """An experiment configuration is invalid."""


class CacheError(SerkitError, RuntimeError):
    """A feature cache entry is unreadable in a way that cannot be repaired by recomputing."""


class WeightsError(SerkitError, ValueError):
    """A pretrained-weights file is missing, truncated, of an unsupported version or does not match."""


class NotFittedError(SerkitError, ValueError, AttributeError):
    """A stateful object was used before ``fit`` (also a ValueError/AttributeError, like scikit-learn's)."""


class UnknownSpeakerError(SerkitError, ValueError):
    """A :class:`~serkit.features.normalise.SpeakerNormaliser` was asked to transform a speaker it has no
    statistics for."""


class OpenSmileMissingError(SerkitError, ImportError):
    """The optional ``opensmile`` package (research-only licence) is not installed."""


class CheckpointError(SerkitError, ValueError):
    """A checkpoint folder is missing a file, is of another format, fails its checks or does not match its
    model (classic learners' files included)."""


class TrainingError(SerkitError, RuntimeError):
    """Training cannot go on: a non-finite loss, or a resume state that does not fit the run."""


class BusyError(SerkitError, RuntimeError):
    """Another process holds the lock on work this one would write (e.g. the same benchmark row)."""
