"""Batch feature extraction over a manifest: decode, extract in worker processes, cache, report.

Work is cut into chunks of ``batch_size`` files of similar length (less padding in batched torch
frontends); each worker process (one torch thread each) decodes its chunk, runs the frontend once
on the batch and writes each result to the cache itself, so an interrupted run keeps every finished
chunk and a re-run computes only what is missing. Files that fail to decode are reported, never
fatal to the run. The cache folder is checked before any audio is read, and each run merges its
rows into the folder's index (see :mod:`serkit.features.cache`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from serkit._parallel import parallel_map
from serkit.audio import DEFAULT_MAX_DURATION_S, SAMPLE_RATE, load
from serkit.data.prepare import FileProblem
from serkit.errors import AudioError, CacheError, ParameterError
from serkit.features.cache import FeatureCache, file_digest
from serkit.features.frontend import Frontend, build_frontend

__all__ = ["ExtractionResult", "extract_features"]


@dataclass
class ExtractionResult:
    """What :func:`extract_features` did.

    Attributes
    ----------
    index : pd.DataFrame
        One row per input: ``id, path, audio_digest, status`` (``cached``, ``computed``, ``failed``),
        ``shape`` and ``entry`` (cache file, when a cache is used).
    arrays : dict or None
        id -> feature array, when ``return_arrays=True``.
    problems : list of FileProblem
        Files that could not be decoded or whose features could not be computed.
    corrupt_entries : list of FileProblem
        Cache entries found unusable (corrupted, truncated, or holding another key), each removed and
        recomputed: ``path`` is the entry file, ``kind`` is ``"corrupt-cache"``. Each was also
        reported with a :class:`~serkit.features.cache.CacheCorruptionWarning`.
    """

    index: pd.DataFrame
    arrays: dict[str, np.ndarray] | None = None
    problems: list[FileProblem] = field(default_factory=list)
    corrupt_entries: list[FileProblem] = field(default_factory=list)

    @property
    def n_cached(self) -> int:
        return int((self.index["status"] == "cached").sum())

    @property
    def n_computed(self) -> int:
        return int((self.index["status"] == "computed").sum())

    @property
    def n_failed(self) -> int:
        return int((self.index["status"] == "failed").sum())


@dataclass
class _ChunkOut:
    positions: list[int]
    shapes: list[tuple[int, ...] | None]
    arrays: list[np.ndarray | None] | None
    problems: list[FileProblem | None]
    audio_seconds: float = 0.0


def _init_worker() -> None:
    import torch
    from threadpoolctl import threadpool_limits

    # One thread per process, for torch and for numpy's BLAS alike: the processes are the
    # parallelism, and nested thread pools would fight over the same cores.
    torch.set_num_threads(1)
    threadpool_limits(1)


def _run_chunk(
    frontend: Frontend | None,
    positions: list[int],
    paths: list[str],
    digests: list[str | None],
    cache_root: str | None,
    return_arrays: bool,
    max_duration_s: float | None,
) -> _ChunkOut:
    out = _ChunkOut(
        positions, [None] * len(paths), [None] * len(paths) if return_arrays else None, [None] * len(paths)
    )
    waves: list[np.ndarray] = []
    good: list[int] = []
    for i, path in enumerate(paths):
        try:
            y, _ = load(path, sample_rate=SAMPLE_RATE, max_duration_s=max_duration_s)
        except AudioError as exc:
            out.problems[i] = FileProblem(path, exc.kind, exc.reason)
            continue
        out.audio_seconds += len(y) / SAMPLE_RATE
        waves.append(y)
        good.append(i)
    if frontend is None:  # decode only (benchmarks)
        for i, y in zip(good, waves, strict=True):
            out.shapes[i] = y.shape
        return out
    try:
        feats = frontend.extract_batch(waves, sample_rate=SAMPLE_RATE) if waves else []
    except Exception:
        # One bad input must not sink its whole batch: redo the batch one file at a time.
        feats = []
        for i, y in zip(good, waves, strict=True):
            try:
                feats.append(frontend.extract_batch([y], sample_rate=SAMPLE_RATE)[0])
            except Exception as exc:
                out.problems[i] = FileProblem(paths[i], "feature-error", f"{type(exc).__name__}: {exc}")
                feats.append(None)
    cache = FeatureCache(cache_root) if cache_root else None
    for i, feat in zip(good, feats, strict=True):
        if feat is None:
            continue
        out.shapes[i] = tuple(feat.shape)
        if cache is not None:
            cache.put(frontend, digests[i], feat)  # type: ignore[arg-type]
        if out.arrays is not None:
            out.arrays[i] = feat
    return out


def _chunks(order: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(order), size):
        yield list(order[start : start + size])


def extract_features(
    items: pd.DataFrame | Sequence[str | Path],
    frontend: str | Frontend | None,
    *,
    cache_dir: str | Path | None = None,
    workers: int = 1,
    batch_size: int = 32,
    return_arrays: bool = False,
    max_duration_s: float | None = DEFAULT_MAX_DURATION_S,
    progress: Callable[[int, float], None] | None = None,
) -> ExtractionResult:
    """Extract ``frontend`` features for every file of a manifest (or list of paths).

    Parameters
    ----------
    items : DataFrame or sequence of paths
        A manifest (``id``, ``path`` and optionally ``duration`` columns) or audio file paths.
    frontend : str, Frontend or None
        A spec such as ``"logmel(n_mels=40)"``; ``None`` only decodes (used to measure decoding).
    cache_dir : path, optional
        Feature cache folder. Entries already there are reused, new ones are written as they are
        computed, and this run's rows are merged into the index ``<cache_dir>/<frontend
        digest>/index.csv`` at the end (or when interrupted): rows of other ids, from earlier or
        concurrent runs, are kept. Unusable entries are recomputed (see ``corrupt_entries``).
    workers : int >= 1
        Worker processes (each with one torch thread). ``1`` runs in this process.
    batch_size : int >= 1
        Files decoded and passed to the frontend together.
    return_arrays : bool
        Also return the arrays in memory (mind the memory for large corpora).
    max_duration_s : float or None
        Longer files are reported as problems.
    progress : callable, optional
        Called as ``progress(n_files_done, audio_seconds_done)`` once when the work starts (after the
        output paths are checked; ``n_files_done`` counts the files found in the cache, maybe 0) and
        after each chunk.

    Returns
    -------
    ExtractionResult
        ``index`` holds this run's rows only; the index file holds every run's.

    Raises
    ------
    CacheError
        The cache folder, or a path inside it, is unusable (a file where a folder belongs or the
        reverse); raised before any audio is read.
    """
    if workers < 1:
        raise ParameterError(f"The 'workers' parameter of extract_features must be >= 1. Got {workers!r}.")
    if batch_size < 1:
        raise ParameterError(
            f"The 'batch_size' parameter of extract_features must be >= 1. Got {batch_size!r}."
        )
    fe = None if frontend is None else build_frontend(frontend)
    if isinstance(items, pd.DataFrame):
        ids = [str(i) for i in items["id"]]
        paths = [str(p) for p in items["path"]]
        sizes = list(items["duration"]) if "duration" in items else None
    else:
        paths = [str(p) for p in items]
        ids = list(paths)
        sizes = None
    if sizes is None:
        sizes = [Path(p).stat().st_size if Path(p).exists() else 0 for p in paths]

    cache = FeatureCache(cache_dir) if (cache_dir is not None and fe is not None) else None
    digests: list[str | None] = [None] * len(paths)
    status = ["pending"] * len(paths)
    arrays: list[np.ndarray | None] = [None] * len(paths)
    shapes: list[tuple[int, ...] | None] = [None] * len(paths)
    problems: list[FileProblem | None] = [None] * len(paths)
    todo: list[int] = []
    if cache is not None:
        # Output paths are checked before any audio is read, and before any entry is read or deleted.
        cache.prepare(fe)  # type: ignore[arg-type]
        for i, path in enumerate(paths):
            try:
                digests[i] = file_digest(path)
            except OSError as exc:
                problems[i] = FileProblem(path, "missing", f"cannot read it ({exc.strerror}).")
                status[i] = "failed"
        for d in digests:
            if d is not None:
                cache.check_slot(fe, d)  # type: ignore[arg-type]
    for i in range(len(paths)):
        if status[i] == "failed":
            continue
        if cache is not None:
            hit = cache.get(fe, digests[i]) if cache.contains(fe, digests[i]) else None  # type: ignore[arg-type]
            if hit is not None:
                status[i] = "cached"
                shapes[i] = tuple(hit.shape)
                if return_arrays:
                    arrays[i] = hit
                continue
        todo.append(i)
    if cache is not None:
        cache.write_spec(fe)  # type: ignore[arg-type]
    if progress is not None:  # first call: the inputs and output paths are checked, work starts
        progress(len(paths) - len(todo), 0.0)

    order = sorted(todo, key=lambda i: sizes[i])  # similar lengths together: less padding
    cache_root = str(cache.root) if cache is not None else None

    def absorb(out: _ChunkOut) -> None:
        for k, pos in enumerate(out.positions):
            if out.problems[k] is not None:
                problems[pos] = out.problems[k]
                status[pos] = "failed"
            else:
                status[pos] = "computed"
                shapes[pos] = out.shapes[k]
                if out.arrays is not None:
                    arrays[pos] = out.arrays[k]
        if progress is not None:
            progress(len(out.positions), out.audio_seconds)

    def args(chunk: list[int]) -> tuple:
        return (
            fe,
            chunk,
            [paths[i] for i in chunk],
            [digests[i] for i in chunk],
            cache_root,
            return_arrays,
            max_duration_s,
        )

    def index_frame() -> pd.DataFrame:
        frame = pd.DataFrame(
            {
                "id": ids,
                "path": paths,
                "audio_digest": digests,
                "status": status,
                "shape": ["x".join(map(str, s)) if s is not None else None for s in shapes],
            }
        )
        if cache is not None:
            frame["entry"] = [
                str(cache.entry_path(fe, d).relative_to(cache.root)) if d and st != "failed" else None  # type: ignore[arg-type]
                for d, st in zip(digests, status, strict=True)
            ]
        return frame

    import torch  # imported before the pool forks, so workers do not each pay for the import

    try:
        if workers == 1:
            from threadpoolctl import threadpool_limits

            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                with threadpool_limits(1):
                    for chunk in _chunks(order, batch_size):
                        absorb(_run_chunk(*args(chunk)))
            finally:
                torch.set_num_threads(threads)
        else:
            tasks = (args(chunk) for chunk in _chunks(order, batch_size))
            for out in parallel_map(
                _run_chunk, tasks, workers=workers, initializer=_init_worker, ordered=False
            ):
                absorb(out)
    except BaseException:
        # Interrupted (Ctrl-C) or failed: index what finished, so the index never points at nothing.
        if cache is not None:
            finished = index_frame()
            with contextlib.suppress(Exception):
                cache.merge_index(fe, finished[finished["status"] != "pending"])  # type: ignore[arg-type]
        raise

    index = index_frame()
    if cache is not None:
        try:
            cache.merge_index(fe, index)  # type: ignore[arg-type]
        except OSError as exc:
            raise CacheError(
                f"Cannot write the feature cache index {cache.index_path(fe)}: {exc.strerror or exc}."  # type: ignore[arg-type]
            ) from None
    result_arrays = None
    if return_arrays:
        result_arrays = {i: a for i, a in zip(ids, arrays, strict=True) if a is not None}
    corrupt = [] if cache is None else cache.stats.corrupt_entries
    return ExtractionResult(
        index,
        result_arrays,
        [p for p in problems if p is not None],
        [FileProblem(path, "corrupt-cache", reason) for path, reason in corrupt],
    )
