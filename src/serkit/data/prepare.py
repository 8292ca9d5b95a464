"""Turn a corpus folder into a validated manifest, decoding every file and reporting broken ones.

Nothing is dropped silently: every candidate file ends in the manifest or in
:attr:`PrepareReport.problems` with a ``kind`` and the reason:

- ``unmatched``: the name does not follow the corpus layout (or the adapter set it aside);
- ``broken-link``, ``not-a-file``, ``linked-folder``, ``not-audio``: passed over by
  :func:`~serkit.data.corpora.base.find_audio` (a dangling link or link loop; a folder or pipe named
  ``x.wav``; a link to a folder, which is not entered; a macOS ``._`` file);
- ``duplicate-stem``: the same recording in another format (``x.flac`` beside ``x.wav``). One file
  per stem is kept: the first that decodes, trying extensions in the order of
  :data:`~serkit.audio.AUDIO_EXTENSIONS` (lossless formats first). A broken ``x.wav`` is reported
  with its own kind (``truncated``, ...) and the working ``x.flac`` goes in the manifest instead;
- the :class:`~serkit.errors.AudioError` kinds of files that fail to decode (``truncated``,
  ``empty``, ``corrupt``, ``silent``, ``non-finite``, ``out-of-range``, ``too-long``, ...).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from serkit._parallel import parallel_map
from serkit.audio import AUDIO_EXTENSIONS, DEFAULT_MAX_DURATION_S, load
from serkit.data.corpora.base import Corpus, get_corpus
from serkit.data.manifest import COLUMNS, validate_manifest
from serkit.errors import AudioError, ParameterError

__all__ = ["FileProblem", "PrepareReport", "prepare_corpus", "probe_audio"]

_PREFERENCE = " > ".join(e.lstrip(".") for e in AUDIO_EXTENSIONS)


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
    _check_workers(workers)
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


def _check_workers(workers: int | None) -> None:
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ParameterError(
            f"The number of decoding processes (workers, -j) must be an int >= 1. Got {workers!r} instead; "
            "leave it out to use the available cores."
        )


def _resolve_duplicates(
    rows: list[dict],
    probes: list[_Probe],
    alternates: dict[Path, list[Path]],
    *,
    allow_silent: bool,
    max_duration_s: float | None,
) -> list[FileProblem]:
    """Keep one file per stem: a broken preferred file gives way to the first same-stem copy that decodes.

    ``rows`` and ``probes`` are updated in place (the row's ``path``, the probe's measurements). Every
    alternate ends either in a row or in the returned problems.
    """
    problems: list[FileProblem] = []
    placed: set[Path] = set()
    for i, (row, probe) in enumerate(zip(rows, probes, strict=True)):
        kept = Path(row["path"])
        others = alternates.get(kept)
        if not others:
            continue
        placed.add(kept)
        used, tried = kept, []
        if probe.problem is not None:
            for alt in others:
                alt_probe = _probe_one((str(alt), allow_silent, max_duration_s))
                tried.append(alt_probe)
                if alt_probe.problem is None:
                    used = alt
                    problems.append(
                        FileProblem(
                            probe.path,
                            probe.problem.kind,
                            f"{probe.problem.reason} The same recording as {alt.name}, which decoded and "
                            "is in the manifest instead.",
                        )
                    )
                    rows[i] = {**row, "path": str(alt)}
                    probes[i] = alt_probe
                    break
        for alt_probe in tried:
            if alt_probe.problem is not None:
                problems.append(alt_probe.problem)
        done = {Path(p.path) for p in tried}
        for alt in others:
            if alt in done or alt == used:
                continue
            problems.append(
                FileProblem(
                    str(alt),
                    "duplicate-stem",
                    f"the same recording as {used.name} (same name, another format), which is in the "
                    f"manifest; one file per recording is kept, the first that decodes in the order {_PREFERENCE}.",
                )
            )
    for kept, others in alternates.items():
        if kept in placed:
            continue
        for alt in others:
            problems.append(
                FileProblem(
                    str(alt),
                    "duplicate-stem",
                    f"the same recording as {kept.name} (same name, another format), which was not used "
                    "(see its own entry).",
                )
            )
    return problems


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
    ParameterError
        ``workers`` is not an int >= 1.
    """
    _check_workers(workers)
    adapter = get_corpus(corpus) if isinstance(corpus, str) else corpus
    scan = adapter.scan(Path(root))
    problems = [FileProblem(str(p), "unmatched", reason) for p, reason in scan.unmatched]
    problems += [FileProblem(str(p), kind, reason) for p, kind, reason in scan.skipped]
    probes = probe_audio(
        [r["path"] for r in scan.rows],
        workers=workers or default_workers(),
        allow_silent=allow_silent,
        max_duration_s=max_duration_s,
        progress=progress,
    )
    scan_rows = list(scan.rows)
    problems += _resolve_duplicates(
        scan_rows, probes, scan.alternates, allow_silent=allow_silent, max_duration_s=max_duration_s
    )
    rows = []
    for row, probe in zip(scan_rows, probes, strict=True):
        if probe.problem is not None:
            problems.append(probe.problem)
            continue
        rows.append(
            {**row, "corpus": adapter.name, "duration": probe.duration, "sample_rate": probe.sample_rate}
        )
    extras = sorted({k for r in rows for k in r} - set(COLUMNS))
    frame = pd.DataFrame(rows, columns=[*COLUMNS, *extras])
    return PrepareReport(validate_manifest(frame), problems)
