"""Shared by the benchmark scripts: the commit a figure was measured at, and the generated blocks of
docs/benchmarks.md (each script owns the text between its two markers)."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"


def git_commit(*, short: bool = True) -> str:
    """The checked-out commit (``"unknown"`` outside a git checkout)."""
    args = ["git", "rev-parse", *(["--short"] if short else []), "HEAD"]
    try:
        return subprocess.run(args, cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_block(begin: str, end: str, block: str, *, heading: str, intro: str, docs: Path = DOCS) -> Path:
    """Replace the text between ``begin`` and ``end`` (markers included in ``block``) in ``docs``; when the
    markers are absent, append ``heading``, ``intro`` and the block as a new section. Written atomically."""
    from serkit._io import atomic_write_text

    text = docs.read_text(encoding="utf-8")
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n{intro}\n\n{block}\n"
    atomic_write_text(docs, text)
    return docs
