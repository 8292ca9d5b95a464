"""Generated blocks of docs/benchmarks.md: each benchmark script owns the text between its two markers."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


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
