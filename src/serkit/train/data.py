"""From manifest + split + feature cache to batches: what the trainer iterates over.

Features are computed once per (audio file, frontend spec) by
:func:`~serkit.features.extract.extract_features` into the feature cache and read from it on every later
run; no audio is decoded per epoch. Per fold, each stream's normaliser is fitted on the fold's *training*
utterances only (never validation or test speakers) and every array is normalised once, up front.

Batches are :class:`~serkit.models.base.Batch` objects: ``"frames"`` streams zero-padded with
:func:`~serkit.features.normalise.pad_batch` plus their lengths, ``"vector"`` streams stacked. Training
batches group examples of similar length (:class:`LengthBucketSampler`); their order, and the optional
random crops, come from ``(seed, epoch)`` alone, so a resumed run sees exactly the batches an
uninterrupted one would have seen.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from serkit.audio import SAMPLE_RATE
from serkit.data.manifest import manifest_digest, read_manifest, speaker_keys
from serkit.data.splits import Fold, Split
from serkit.errors import ConfigError, SplitLeakError
from serkit.features.normalise import CorpusNormaliser, UtteranceNormaliser, pad_batch
from serkit.labels import EMOTIONS, SENTIMENTS, get_label_set
from serkit.models.base import Batch
from serkit.train.config import DataConfig, ExperimentConfig, InputConfig

__all__ = [
    "Collate",
    "Crop",
    "FeatureDataset",
    "FoldData",
    "LengthBucketSampler",
    "StreamInfo",
    "default_cache_dir",
    "fold_for",
    "label_classes",
    "load_experiment_manifest",
    "load_split",
    "load_streams",
    "make_loader",
    "prepare_fold",
]


def default_cache_dir() -> Path:
    """``$SERKIT_CACHE_DIR`` or ``~/.cache/serkit/features``."""
    import os

    env = os.environ.get("SERKIT_CACHE_DIR")
    return Path(env).expanduser() if env else Path("~/.cache/serkit/features").expanduser()


# ---------------------------------------------------------------------------------------------
# Manifest, labels, split


def load_experiment_manifest(data: DataConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read every manifest of ``data`` into one frame and apply the label set.

    Returns
    -------
    raw : DataFrame
        All rows of all manifests (audio paths rebased onto ``data.roots`` where given).
    labelled : DataFrame
        The rows the label set keeps, ``label`` mapped onto its classes (``raw`` when there is none).

    Raises
    ------
    ManifestError
        A manifest is missing or invalid.
    ConfigError
        Two manifests share an id, or an unknown label set.
    """
    frames = []
    for path in data.manifest:
        df = read_manifest(path)
        base = str(Path(path).resolve().parent)
        for corpus, root in data.roots.items():
            rows = df["corpus"].astype(str) == corpus
            if rows.any():
                df.loc[rows, "path"] = [_rebase(p, base, root) for p in df.loc[rows, "path"]]
        frames.append(df)
    raw = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    dup = raw["id"].duplicated()
    if dup.any():
        raise ConfigError(
            f"data.manifest: the id {raw.loc[dup, 'id'].iloc[0]!r} occurs in more than one manifest "
            f"({', '.join(map(str, data.manifest))}); ids must be unique across corpora."
        )
    if data.label_set is None:
        return raw, raw
    try:
        label_set = get_label_set(data.label_set)
    except ValueError as exc:
        raise ConfigError(f"data.label_set={data.label_set!r}: {exc}") from None
    labelled = label_set.apply(raw)
    if labelled.empty:
        raise ConfigError(
            f"data.label_set={data.label_set!r} keeps no row of the manifest (its labels: "
            f"{', '.join(sorted(raw['label'].astype(str).unique()))})."
        )
    return raw, labelled


def _rebase(path: str, manifest_dir: str, root: Path) -> str:
    p = Path(path)
    try:
        rel = p.relative_to(manifest_dir)
    except ValueError:
        return path  # an absolute path in the manifest: left alone
    return str(Path(root) / rel)


def label_classes(data: DataConfig, manifest: pd.DataFrame) -> list[str]:
    """The class list, in model output order: the label set's, or the manifest's labels in canonical order."""
    if data.label_set is not None:
        return list(get_label_set(data.label_set).classes)
    present = set(manifest["label"].astype(str))
    order = [*EMOTIONS, *[s for s in SENTIMENTS if s not in EMOTIONS]]
    return [c for c in order if c in present] + sorted(present - set(order))


def load_split(path: Path | None) -> Split:
    """Read a split file; a missing setting is a ConfigError that says how to make one."""
    if path is None:
        raise ConfigError(
            "data.split is not set: make a split with `serkit data split MANIFEST -p loso -o split.json` "
            "and pass --split split.json (or data.split=split.json)."
        )
    return Split.from_json(path)


def check_split(split: Split, raw: pd.DataFrame, labelled: pd.DataFrame) -> pd.DataFrame:
    """``split.check`` against the manifest it was made from (labelled, or all rows); leaks stop here.

    A split made before a label set was applied is accepted and restricted to the kept rows.

    Raises
    ------
    SplitLeakError
        Any leak or mismatch :meth:`Split.check` finds.
    """
    if split.manifest_digest == manifest_digest(labelled) or labelled is raw:
        split.check(labelled)
        return labelled
    if split.manifest_digest == manifest_digest(raw):
        split.check(raw)
        return labelled
    split.check(labelled)  # raises the standard "made from another manifest" message
    return labelled  # pragma: no cover


def fold_for(split: Split, name: str, manifest: pd.DataFrame) -> Fold:
    """Fold ``name`` with ids restricted to ``manifest`` (rows dropped by a label set leave the fold)."""
    fold = split.fold(name)
    known = set(manifest["id"].astype(str))
    if all(u in known for p in ("train", "val", "test") for u in fold.ids(p)):
        return fold
    speaker = dict(zip(manifest["id"].astype(str), speaker_keys(manifest).astype(str), strict=True))

    def part(p: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        ids = tuple(u for u in fold.ids(p) if u in known)
        return ids, tuple(sorted({speaker[u] for u in ids}))

    (tr, trs), (va, vas), (te, tes) = part("train"), part("val"), part("test")
    return Fold(fold.name, tr, va, te, trs, vas, tes)


# ---------------------------------------------------------------------------------------------
# Streams


@dataclass(frozen=True)
class StreamInfo:
    """One input stream as the model and the checkpoint see it.

    Attributes
    ----------
    name : str
        Stream name (a key of the config's ``data.inputs``).
    frontend : str
        ``str(frontend.spec)``: every parameter, so ``build_frontend`` rebuilds it exactly.
    kind : str
        ``"frames"`` (time-major, padded in batches) or ``"vector"``.
    dim : int
        Feature dim F (``shape[1]`` of frames, ``shape[0]`` of vectors).
    hop_s : float or None
        Seconds between frames, where known (for crops).
    """

    name: str
    frontend: str
    kind: str
    dim: int
    hop_s: float | None = None


_MEMO: dict[tuple[str, str, str], dict[str, np.ndarray]] = {}


def _hop_s(fe: Any) -> float | None:
    if fe.name == "whisper" or fe.name == "hf_encoder":
        return 0.02
    hop = getattr(fe, "hop_length", None)
    return None if hop is None else float(hop) / SAMPLE_RATE


def load_streams(
    manifest: pd.DataFrame,
    inputs: Mapping[str, InputConfig] | Mapping[str, str],
    *,
    cache_dir: Path,
    workers: int | None = 1,
    quiet: bool = True,
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, StreamInfo], list[Any]]:
    """Features of every row for each stream, from the cache (computed once when absent).

    Parameters
    ----------
    manifest : DataFrame
        Rows to load (``id``, ``path``, ``duration``).
    inputs : mapping
        Stream name -> :class:`InputConfig` (or a frontend spec string).
    cache_dir : Path
        Feature cache folder.
    workers : int >= 1 or None
        Extraction processes for entries not yet cached (None: available cores).
    quiet : bool
        No progress bar while features are read or computed.

    Returns
    -------
    arrays : dict
        stream -> {id: array}; ids whose extraction failed in any stream are left out of every stream.
    infos : dict
        stream -> :class:`StreamInfo`.
    problems : list of FileProblem
        Files that failed (reported, never fatal).

    Raises
    ------
    ConfigError
        A feature array holds NaN or infinity.
    """
    from serkit.features.frontend import build_frontend

    arrays: dict[str, dict[str, np.ndarray]] = {}
    infos: dict[str, StreamInfo] = {}
    problems: list[Any] = []
    # Rows are identified by id and audio path (the cache itself is keyed by audio content).
    pairs = "\n".join(sorted(manifest["id"].astype(str) + "\t" + manifest["path"].astype(str)))
    key_rows = hashlib.sha256(pairs.encode()).hexdigest()
    for name, inp in inputs.items():
        spec = inp if isinstance(inp, str) else inp.frontend
        fe = build_frontend(spec)
        memo_key = (str(cache_dir), str(fe.spec), key_rows)
        got = _MEMO.get(memo_key)
        if got is None:
            result = _extract(manifest, fe, name, cache_dir=cache_dir, workers=workers, quiet=quiet)
            problems.extend(result.problems)
            got = {
                k: np.asarray(v, dtype=np.float32) for k, v in (result.arrays or {}).items() if v is not None
            }
            for uid, arr in got.items():
                if not np.isfinite(arr).all():
                    raise ConfigError(
                        f"The {name!r} features ({fe.spec}) of utterance {uid!r} hold NaN or infinity; "
                        "check the audio file or choose another frontend."
                    )
            for old in [k for k in _MEMO if k[2] != key_rows]:
                del _MEMO[old]  # keep one experiment's rows in memory: enough for all of its folds
            _MEMO[memo_key] = got
        arrays[name] = got
        if not got:
            raise ConfigError(f"No features could be computed for stream {name!r} ({fe.spec}).")
        example = next(iter(got.values()))
        kind = "vector" if example.ndim == 1 else "frames"
        dim = int(example.shape[0] if example.ndim == 1 else example.shape[1])
        infos[name] = StreamInfo(name, str(fe.spec), kind, dim, _hop_s(fe))
    common = set.intersection(*(set(a) for a in arrays.values()))
    arrays = {n: {k: v for k, v in a.items() if k in common} for n, a in arrays.items()}
    return arrays, infos, problems


def _extract(
    manifest: pd.DataFrame, fe: Any, name: str, *, cache_dir: Path, workers: int | None, quiet: bool
) -> Any:
    from serkit.data.prepare import default_workers
    from serkit.features.extract import extract_features

    workers = workers or default_workers()
    if quiet:
        return extract_features(manifest, fe, cache_dir=cache_dir, workers=workers, return_arrays=True)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(f"features {name}: {fe.name}", total=len(manifest))
        return extract_features(
            manifest,
            fe,
            cache_dir=cache_dir,
            workers=workers,
            return_arrays=True,
            progress=lambda n, _s: progress.advance(task, n),
        )


def _make_normaliser(kind: str, stream: str, example: np.ndarray) -> Any:
    if kind == "none":
        return None
    if example.ndim > 2:
        raise ConfigError(
            f"data.inputs.{stream}.normaliser={kind!r}: the stream's arrays have shape {example.shape} "
            "(more than frames x features); use normaliser: none."
        )
    if kind == "utterance":
        if example.ndim != 2:
            raise ConfigError(
                f"data.inputs.{stream}.normaliser='utterance' needs a frames stream; this one holds one "
                "vector per utterance. Use 'corpus' or 'none'."
            )
        return UtteranceNormaliser()
    return CorpusNormaliser()


def fit_normalisers(
    inputs: Mapping[str, InputConfig],
    arrays: Mapping[str, Mapping[str, np.ndarray]],
    train_ids: Sequence[str],
) -> dict[str, Any]:
    """One fitted normaliser (or None) per stream, from the TRAINING ids only."""
    out = {}
    for name, inp in inputs.items():
        example = next(iter(arrays[name].values()))
        norm = _make_normaliser(inp.normaliser, name, example)
        if norm is not None:
            norm.fit([arrays[name][u] for u in train_ids])
        out[name] = norm
    return out


def apply_normaliser(norm: Any, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Normalise each array (float32 out); ``norm`` None returns them unchanged."""
    if norm is None:
        return [np.asarray(a, dtype=np.float32) for a in arrays]
    return [np.asarray(a, dtype=np.float32) for a in norm.transform(list(arrays))]


# ---------------------------------------------------------------------------------------------
# Dataset, sampler, collate


class FeatureDataset(Dataset):
    """Normalised feature streams of one partition: item ``i`` is ``(id, {stream: array}, label, score)``.

    Parameters
    ----------
    ids : sequence of str
    streams : dict
        stream -> list of float32 arrays aligned with ``ids``.
    labels : np.ndarray [shape=(n,)], int64
        Class indices (-1 = unknown).
    scores : np.ndarray [shape=(n,)], float32, optional
        Continuous targets (NaN = none).
    infos : dict
        stream -> :class:`StreamInfo`.
    speakers : sequence of str, optional
        ``corpus/speaker`` of each item.
    """

    def __init__(
        self,
        ids: Sequence[str],
        streams: Mapping[str, Sequence[np.ndarray]],
        labels: np.ndarray,
        infos: Mapping[str, StreamInfo],
        *,
        scores: np.ndarray | None = None,
        speakers: Sequence[str] | None = None,
        teacher: np.ndarray | None = None,
    ) -> None:
        self.ids = [str(i) for i in ids]
        self.streams = {k: list(v) for k, v in streams.items()}
        self.labels = np.asarray(labels, dtype=np.int64)
        self.scores = None if scores is None else np.asarray(scores, dtype=np.float32)
        self.infos = dict(infos)
        self.speakers = list(speakers) if speakers is not None else []
        self.teacher = None if teacher is None else np.asarray(teacher, dtype=np.float32)
        for name, items in self.streams.items():
            if len(items) != len(self.ids):
                raise ValueError(f"stream {name!r} has {len(items)} items for {len(self.ids)} ids")

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[str, dict[str, np.ndarray], int, float, np.ndarray | None]:
        score = float("nan") if self.scores is None else float(self.scores[i])
        teacher = None if self.teacher is None else self.teacher[i]
        return (
            self.ids[i],
            {k: v[i] for k, v in self.streams.items()},
            int(self.labels[i]),
            score,
            teacher,
        )

    def lengths(self) -> np.ndarray:
        """Per-item length used for bucketing: frames of the longest frames stream (1 for vectors)."""
        frames = [n for n, info in self.infos.items() if info.kind == "frames"]
        if not frames:
            return np.ones(len(self), dtype=np.int64)
        return np.array(
            [max(int(self.streams[n][i].shape[0]) for n in frames) for i in range(len(self))], dtype=np.int64
        )


class LengthBucketSampler(Sampler[list[int]]):
    """Batches of similar length, in an order drawn from ``(seed, epoch)``.

    With ``bucketing``, items are sorted by length and cut into buckets of ``bucket_batches`` batches;
    each epoch, items are shuffled inside their bucket, cut into batches, and the batches are shuffled.
    Without it, a plain random permutation is cut into batches. ``shuffle=False`` (evaluation) gives
    batches in sorted-length order (or dataset order without bucketing). A last training batch of one
    item joins the one before it (batch normalisation cannot train on one example).

    Call :meth:`set_epoch` before iterating; the same ``(seed, epoch)`` always gives the same batches.
    """

    def __init__(
        self,
        lengths: Sequence[int] | np.ndarray,
        *,
        batch_size: int,
        seed: int = 0,
        shuffle: bool = True,
        bucketing: bool = True,
        bucket_batches: int = 8,
    ) -> None:
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.shuffle = shuffle
        self.bucketing = bucketing
        self.bucket_batches = int(bucket_batches)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _batches(self) -> list[list[int]]:
        n = len(self.lengths)
        bs = self.batch_size
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable") if self.bucketing else np.arange(n)
            return [order[i : i + bs].tolist() for i in range(0, n, bs)]
        rng = np.random.default_rng([self.seed, self.epoch, 0x5EED])
        if self.bucketing:
            order = np.argsort(self.lengths, kind="stable")
            size = bs * self.bucket_batches
            batches = []
            for start in range(0, n, size):
                bucket = order[start : start + size].copy()
                rng.shuffle(bucket)  # batch composition varies per epoch; lengths stay within the bucket
                batches += [bucket[i : i + bs].tolist() for i in range(0, len(bucket), bs)]
        else:
            order = rng.permutation(n)
            batches = [order[i : i + bs].tolist() for i in range(0, n, bs)]
        if len(batches) > 1 and len(batches[-1]) == 1:
            batches[-2].extend(batches.pop())
        rng.shuffle(batches)  # type: ignore[arg-type]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._batches())

    def __len__(self) -> int:
        return len(self._batches())


@dataclass(frozen=True)
class Crop:
    """A random training crop of one frames stream.

    Attributes
    ----------
    seconds : float, optional
        Fixed crop length (s); items shorter than it are kept whole.
    fraction : (low, high), optional
        Crop a fraction of each item's length, drawn uniformly from [low, high] (instead of ``seconds``):
        the model also sees the long contexts it meets at test time, where it hears whole utterances.
    whole_p : float
        Probability that an item is kept whole (with ``fraction``).
    """

    seconds: float | None = None
    fraction: tuple[float, float] | None = None
    whole_p: float = 0.0


def _as_crop(value: float | Crop | None) -> Crop | None:
    if value is None or isinstance(value, Crop):
        return value
    return Crop(seconds=float(value))


class Collate:
    """Items -> :class:`Batch`; optional random crops of frames streams (training only).

    A crop is a fixed length (``crop_s`` value in seconds) or a :class:`Crop` with a random fraction
    of each item. Crops start at the same relative position in every frames stream of an example,
    drawn from ``(seed, epoch, batch number)``; items shorter than a fixed crop are kept whole.
    If the dataset carries teacher probabilities they become ``batch.teacher_probs`` (B, C).
    """

    def __init__(
        self,
        infos: Mapping[str, StreamInfo],
        *,
        crop_s: Mapping[str, float | Crop | None] | None = None,
        seed: int = 0,
    ) -> None:
        self.infos = dict(infos)
        self.crops: dict[str, Crop] = {}
        self.crop_frames: dict[str, int] = {}
        for name, value in (crop_s or {}).items():
            crop = _as_crop(value)
            if crop is None:
                continue
            info = self.infos[name]
            if info.kind != "frames" or info.hop_s is None:
                raise ConfigError(
                    f"crop for stream {name!r} ({info.frontend}): crops need a frames stream "
                    "with a known frame hop; remove the crop for this stream."
                )
            self.crops[name] = crop
            if crop.seconds is not None:
                self.crop_frames[name] = max(1, round(crop.seconds / info.hop_s))
        self.seed = seed
        self.epoch = 0
        self.calls = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self.calls = 0

    def __call__(self, items: Sequence[tuple]) -> Batch:
        ids = [it[0] for it in items]
        rng = np.random.default_rng([self.seed, self.epoch, self.calls, 0xC209]) if self.crops else None
        self.calls += 1
        starts_s = rng.random(len(items)) if rng is not None else None
        # Drawn after the starts so that fixed-length crops stay what they were before fractions existed.
        fractions = rng.random(len(items)) if rng is not None else None
        whole = rng.random(len(items)) if rng is not None else None
        streams: dict[str, torch.Tensor] = {}
        lengths: dict[str, torch.Tensor] = {}
        for name, info in self.infos.items():
            arrays = [it[1][name] for it in items]
            if info.kind == "vector":
                streams[name] = torch.from_numpy(np.stack(arrays).astype(np.float32, copy=False))
                continue
            crop = self.crops.get(name)
            if crop is not None and starts_s is not None:
                cut = []
                for i, a in enumerate(arrays):
                    n = a.shape[0]
                    if crop.seconds is not None:
                        size = self.crop_frames[name]
                    elif whole[i] < crop.whole_p:
                        size = n
                    else:
                        lo, hi = crop.fraction  # type: ignore[misc]
                        size = max(1, round((lo + (hi - lo) * fractions[i]) * n))
                    if n > size:
                        start = int(starts_s[i] * (n - size + 1))
                        a = a[start : start + size]
                    cut.append(a)
                arrays = cut
            padded, lens, _ = pad_batch([torch.from_numpy(np.ascontiguousarray(a)) for a in arrays])
            streams[name] = padded.to(torch.float32)
            lengths[name] = lens
        labels = torch.tensor([it[2] for it in items], dtype=torch.int64)
        scores_list = [it[3] for it in items]
        scores = None
        if not all(np.isnan(s) for s in scores_list):
            scores = torch.tensor(scores_list, dtype=torch.float32)
        batch = Batch(streams=streams, lengths=lengths, labels=labels, scores=scores, ids=ids)
        if items and items[0][4] is not None:
            batch.teacher_probs = torch.from_numpy(np.stack([it[4] for it in items]))  # type: ignore[attr-defined]
        return batch


def make_loader(
    dataset: FeatureDataset,
    *,
    batch_size: int,
    train: bool,
    seed: int = 0,
    bucketing: bool = True,
    bucket_batches: int = 8,
    crop_s: Mapping[str, float | Crop | None] | None = None,
) -> DataLoader:
    """A DataLoader over ``dataset`` (in-process: the features are already in memory).

    Call ``loader.batch_sampler.set_epoch(e)`` and ``loader.collate_fn.set_epoch(e)`` (or
    :func:`set_loader_epoch`) before each training epoch.
    """
    sampler = LengthBucketSampler(
        dataset.lengths(),
        batch_size=batch_size,
        seed=seed,
        shuffle=train,
        bucketing=bucketing,
        bucket_batches=bucket_batches,
    )
    collate = Collate(dataset.infos, crop_s=crop_s if train else None, seed=seed)
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=0)


def set_loader_epoch(loader: DataLoader, epoch: int) -> None:
    """Make ``loader`` produce epoch ``epoch``'s batches (order and crops)."""
    loader.batch_sampler.set_epoch(epoch)  # type: ignore[union-attr]
    loader.collate_fn.set_epoch(epoch)  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------
# One fold, ready to train


@dataclass
class FoldData:
    """Everything a fold's training needs, and everything its checkpoint records about the data.

    Attributes
    ----------
    fold : Fold
        The fold (ids restricted to the labelled manifest).
    classes : list of str
        Class names in model output order.
    train, val, test : FeatureDataset
        ``val`` is None when the fold has no validation part.
    infos : dict
        stream -> :class:`StreamInfo`.
    normalisers : dict
        stream -> fitted normaliser or None (fitted on ``train`` only).
    split : Split
    dropped : dict
        partition -> ids left out because their features could not be computed.
    """

    fold: Fold
    classes: list[str]
    train: FeatureDataset
    val: FeatureDataset | None
    test: FeatureDataset
    infos: dict[str, StreamInfo]
    normalisers: dict[str, Any]
    split: Split
    dropped: dict[str, list[str]] = field(default_factory=dict)
    problems: list[Any] = field(default_factory=list)
    raw: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)
    """stream -> {id: array} before normalisation (for inner folds that refit their own normalisers)."""

    def inner_datasets(
        self, config: ExperimentConfig, train_ids: Sequence[str], val_ids: Sequence[str]
    ) -> tuple[FeatureDataset, FeatureDataset]:
        """Datasets of an inner split of the training part, normalised with ``train_ids`` statistics only."""
        norms = fit_normalisers(config.data.inputs, self.raw, train_ids)
        pos = {u: i for i, u in enumerate(self.train.ids)}

        def subset(ids: Sequence[str]) -> FeatureDataset:
            idx = [pos[u] for u in ids]
            return FeatureDataset(
                list(ids),
                {n: apply_normaliser(norms[n], [self.raw[n][u] for u in ids]) for n in self.raw},
                self.train.labels[idx],
                self.infos,
                scores=None if self.train.scores is None else self.train.scores[idx],
                speakers=[self.train.speakers[i] for i in idx],
                teacher=None if self.train.teacher is None else self.train.teacher[idx],
            )

        return subset(train_ids), subset(val_ids)

    def crop_s(self, config: ExperimentConfig) -> dict[str, float | Crop | None]:
        """Training crop per stream: its own ``crop_s`` / ``crop_fraction``, else ``train.crop_s`` (frames)."""
        out: dict[str, float | Crop | None] = {}
        for name, inp in config.data.inputs.items():
            crop: float | Crop | None = inp.crop_s
            if inp.crop_fraction is not None:
                crop = Crop(fraction=tuple(inp.crop_fraction), whole_p=inp.crop_whole_p)
            elif crop is None and self.infos[name].kind == "frames" and config.train.crop_s is not None:
                crop = config.train.crop_s
            out[name] = crop
        return out

    def normaliser_dicts(self) -> dict[str, dict[str, Any] | None]:
        return {n: (None if v is None else v.to_dict()) for n, v in self.normalisers.items()}


def prepare_fold(
    config: ExperimentConfig,
    fold_name: str,
    *,
    split: Split | None = None,
    teacher: Mapping[str, np.ndarray] | None = None,
    quiet: bool = True,
) -> FoldData:
    """Load, check and normalise the data of one fold.

    The split is checked against the manifest first (:meth:`Split.check`: a leak stops here); features
    come from the cache; normalisers are fitted on the fold's training ids only.

    Raises
    ------
    SplitLeakError, SplitFileError, ManifestError, ConfigError
    """
    raw, labelled = load_experiment_manifest(config.data)
    if split is None:
        split = load_split(config.data.split)
    manifest = check_split(split, raw, labelled)
    fold = fold_for(split, fold_name, manifest)
    if not fold.train or not fold.test:
        raise SplitLeakError(
            f"Fold {fold.name!r} has {len(fold.train)} training and {len(fold.test)} test utterances after "
            f"the label set {config.data.label_set!r}; both must be non-empty."
        )
    classes = label_classes(config.data, manifest)
    wanted = set(fold.train) | set(fold.val) | set(fold.test)
    rows = manifest[manifest["id"].astype(str).isin(wanted)].reset_index(drop=True)
    cache_dir = config.data.cache_dir or default_cache_dir()
    arrays, infos, problems = load_streams(
        rows, config.data.inputs, cache_dir=cache_dir, workers=config.data.workers, quiet=quiet
    )
    ok = set(next(iter(arrays.values())))
    dropped = {p: [u for u in fold.ids(p) if u not in ok] for p in ("train", "val", "test")}
    n_dropped = sum(map(len, dropped.values()))
    if n_dropped:
        warnings.warn(
            f"{n_dropped} utterance(s) of fold {fold.name!r} have no features (unreadable audio) and are left "
            f"out: {', '.join((dropped['train'] + dropped['val'] + dropped['test'])[:3])}...",
            stacklevel=2,
        )
    # train_on_val: the validation speakers (training side of the split) join training; nothing is
    # chosen on them then, so the trainer must run a fixed number of epochs.
    fit_ids = list(fold.train) + (list(fold.val) if config.train.train_on_val else [])
    train_ids = [u for u in fit_ids if u in ok]
    normalisers = fit_normalisers(config.data.inputs, arrays, train_ids)
    label_of = dict(zip(rows["id"].astype(str), rows["label"].astype(str), strict=True))
    speaker_of = dict(zip(rows["id"].astype(str), speaker_keys(rows).astype(str), strict=True))
    index = {c: i for i, c in enumerate(classes)}
    score_of: dict[str, float] | None = None
    if config.data.score is not None:
        if config.data.score not in rows.columns:
            raise ConfigError(
                f"data.score={config.data.score!r}: the manifest has no such column (columns: "
                f"{', '.join(rows.columns)})."
            )
        score_of = dict(
            zip(rows["id"].astype(str), pd.to_numeric(rows[config.data.score], errors="coerce"), strict=True)
        )

    def dataset(part: str, ids: Sequence[str]) -> FeatureDataset:
        ids = [u for u in ids if u in ok]
        streams = {n: apply_normaliser(normalisers[n], [arrays[n][u] for u in ids]) for n in arrays}
        teach = None
        if teacher is not None and part == "train":
            missing = [u for u in ids if u not in teacher]
            if missing:
                raise ConfigError(
                    f"loss.teacher has no soft labels for {len(missing)} training utterance(s), e.g. {missing[0]!r}."
                )
            teach = np.stack([teacher[u] for u in ids]) if ids else None
        return FeatureDataset(
            ids,
            streams,
            np.array([index.get(label_of[u], -1) for u in ids], dtype=np.int64),
            infos,
            scores=None if score_of is None else np.array([score_of[u] for u in ids], dtype=np.float32),
            speakers=[speaker_of[u] for u in ids],
            teacher=teach,
        )

    return FoldData(
        fold=fold,
        classes=classes,
        train=dataset("train", fit_ids),
        val=dataset("val", fold.val) if fold.val and not config.train.train_on_val else None,
        test=dataset("test", fold.test),
        infos=infos,
        normalisers=normalisers,
        split=split,
        dropped=dropped,
        problems=problems,
        raw=arrays,
    )


def safe_name(name: str) -> str:
    """A fold name as a folder name (``ravdess/01`` -> ``ravdess-01``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "fold"


def read_teacher_json(path: Path, classes: Sequence[str]) -> dict[str, np.ndarray]:
    """Soft labels from a JSON file: ``{"classes": [...], "probs": {id: [p, ...]}}`` or ``{id: [p, ...]}``.

    With ``classes`` in the file, columns are reordered to ``classes`` (a missing class is an error).
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"loss.teacher={path}: cannot read soft labels ({exc}).") from None
    probs = data.get("probs", data) if isinstance(data, dict) else None
    if not isinstance(probs, dict):
        raise ConfigError(f"loss.teacher={path}: expected a JSON object {{id: [probabilities]}}.")
    order = None
    if isinstance(data, dict) and "classes" in data:
        file_classes = list(data["classes"])
        missing = [c for c in classes if c not in file_classes]
        if missing:
            raise ConfigError(
                f"loss.teacher={path}: the teacher has no class {missing[0]!r} (it has {file_classes})."
            )
        order = [file_classes.index(c) for c in classes]
    out = {}
    for uid, row in probs.items():
        arr = np.asarray(row, dtype=np.float32)
        if order is not None:
            arr = arr[order]
        if arr.shape != (len(classes),):
            raise ConfigError(
                f"loss.teacher={path}: utterance {uid!r} has {arr.size} probabilities; expected {len(classes)}."
            )
        out[str(uid)] = arr / max(float(arr.sum()), 1e-12)
    return out
