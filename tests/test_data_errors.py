"""The error classes users catch live in serkit.errors; the old import paths name the same classes."""

from __future__ import annotations

import importlib

import pytest

import serkit.errors as errors


@pytest.mark.parametrize(
    ("module", "name", "bases"),
    [
        ("serkit.data.splits", "SplitFileError", (ValueError,)),
        ("serkit.features.whisper_ct2", "WeightsError", (ValueError,)),
        ("serkit.features.normalise", "NotFittedError", (ValueError, AttributeError)),
        ("serkit.features.normalise", "UnknownSpeakerError", (ValueError,)),
        ("serkit.features.opensmile", "OpenSmileMissingError", (ImportError,)),
    ],
)
def test_error_classes_live_in_serkit_errors_and_keep_their_old_names(module, name, bases):
    cls = getattr(errors, name)
    assert name in errors.__all__
    assert getattr(importlib.import_module(module), name) is cls  # one class, two import paths
    assert issubclass(cls, errors.SerkitError)
    for base in bases:  # code that catches the built-in keeps working
        assert issubclass(cls, base)


def test_every_public_error_derives_from_serkit_error():
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert isinstance(cls, type) and issubclass(cls, errors.SerkitError), name
