"""Turn a corpus folder into a validated manifest, decoding every file and reporting broken ones.

Nothing is dropped silently: files whose names do not follow the corpus layout and files that fail
to decode (truncated, empty, not audio, silent, non-finite, absurdly long) are listed in
:attr:`PrepareReport.problems` with the reason; the manifest holds the good files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from serkit._parallel import parallel_map
from serkit.audio import DEFAULT_MAX_DURATION_S, load
from serkit.data.corpora.base import Corpus, get_corpus
from serkit.data.manifest import COLUMNS, validate_manifest
from serkit.errors import AudioError

__all__ = ["FileProblem", "PrepareReport", "prepare_corpus", "probe_audio"]


@dataclass(frozen=True)
class FileProblem:
    """A file left out of the manifest: its path, a short ``kind`` tag and the reason."""

    path: str
    kind: str
    reason: str


@dataclass
class PrepareReport:
    """The manifest of good files and the problems found on the way."""

    manifest: pd.DataFrame
    problems: list[FileProblem] = field(default_factory=list)

    def problems_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(p) for p in self.problems], columns=["path", "kind", "reason"])


@dataclass(frozen=True)
class _Probe:
    path: str
    duration: float | None = None
    sample_rate: int | None = None
    problem: FileProblem | None = None


def _probe_one(args: tuple[str, bool, float | None]) -> _Probe:
    path, allow_silent, max_duration_s = args
    try:
        y, meta = load(path, sample_rate=None, allow_silent=allow_silent, max_duration_s=max_duration_s)
    except AudioError as exc:
        return _Probe(path, problem=FileProblem(path, exc.kind, exc.reason))
    except Exception as exc:  # a decoder bug must not kill a whole corpus run
        return _Probe(path, problem=FileProblem(path, "corrupt", f"{type(exc).__name__}: {exc}"))
    return _Probe(path, duration=len(y) / meta.sample_rate, sample_rate=meta.sample_rate)


def probe_audio(
    paths: Sequence[str],
    *,
    workers: int = 1,
    allow_silent: bool = False,
    max_duration_s: float | None = DEFAULT_MAX_DURATION_S,
    progress: Callable[[Iterable, int], Iterable] | None = None,
) -> list[_Probe]:
    """Decode each file fully (in ``workers`` processes) to measure it and catch broken files."""
    jobs = [(str(p), allow_silent, max_duration_s) for p in paths]

    def wrap(it: Iterable) -> Iterable:
        return progress(it, len(jobs)) if progress is not None else it

    if workers <= 1 or len(jobs) < 8:
        return list(wrap(map(_probe_one, jobs)))
    chunksize = max(1, min(64, len(jobs) // (workers * 8)))
    return list(
        wrap(parallel_map(_probe_one, ((job,) for job in jobs), workers=workers, chunksize=chunksize))
    )


def default_workers() -> int:
    return max(1, min(len(os.sched_getaffinity(0)), 8))


def prepare_corpus(
    corpus: str | Corpus,
    root: str | Path,
    *,
    workers: int | None = None,
    allow_silent: bool = False,
    max_duration_s: float | None = DEFAULT_MAX_DURATION_S,
    progress: Callable[[Iterable, int], Iterable] | None = None,
) -> PrepareReport:
    """Scan ``root`` with the corpus adapter, decode every file and build the manifest.

    Parameters
    ----------
    corpus : str or Corpus
        Adapter name (``serkit data list``) or instance.
    root : path
        The corpus folder, laid out as the adapter documents.
    workers : int, optional
        Decoding processes (default: the available cores, at most 8).
    allow_silent : bool
        Keep all-silent files instead of reporting them.
    max_duration_s : float or None
        Files longer than this are reported as ``too-long``.
    progress : callable, optional
        ``progress(iterator, total)`` wraps the iterator of decoded files (e.g. a progress bar).

    Returns
    -------
    PrepareReport
        ``manifest`` (one row per good utterance, validated) and ``problems``.

    Raises
    ------
    CorpusError
        If the folder does not exist or holds no file of the corpus's layout.
    """
    adapter = get_corpus(corpus) if isinstance(corpus, str) else corpus
    scan = adapter.scan(Path(root))
    problems = [FileProblem(str(p), "unmatched", reason) for p, reason in scan.unmatched]
    probes = probe_audio(
        [r["path"] for r in scan.rows],
        workers=workers or default_workers(),
        allow_silent=allow_silent,
        max_duration_s=max_duration_s,
        progress=progress,
    )
    rows = []
    for row, probe in zip(scan.rows, probes, strict=True):
        if probe.problem is not None:
            problems.append(probe.problem)
            continue
        rows.append(
            {**row, "corpus": adapter.name, "duration": probe.duration, "sample_rate": probe.sample_rate}
        )
    extras = sorted({k for r in rows for k in r} - set(COLUMNS))
    frame = pd.DataFrame(rows, columns=[*COLUMNS, *extras])
    return PrepareReport(validate_manifest(frame), problems)
