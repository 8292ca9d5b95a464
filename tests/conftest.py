"""Shared fixtures: where the real corpora are (skipped when absent) and synthetic audio folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline (a loaded 2-core CI machine is not a slow implementation); in CI the examples
# are derandomised so a run is reproducible from its commit alone.
settings.register_profile("serkit", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "serkit")

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO.parent / "shared" / "corpora"


def corpus_root(name: str) -> Path:
    """The real corpus folder under ../shared/corpora, or skip the test when it is absent."""
    root = CORPORA / name
    if not root.is_dir():
        pytest.skip(f"real corpus {name!r} not present at {root}")
    return root


@pytest.fixture(scope="session")
def ravdess_root() -> Path:
    return corpus_root("ravdess")
