"""Feature normalisers (per utterance, per corpus, per speaker) and a padding helper.

They follow the scikit-learn contract: ``__init__`` stores its arguments, ``fit`` returns ``self``
and sets trailing-underscore attributes, ``transform`` checks that ``fit`` ran first. Statistics are
fitted on *training* features only and then frozen; ``to_dict`` / ``from_dict`` turn them into plain
JSON-able data for checkpoints (which must carry their normalisation statistics).

Features come as

* a sequence of arrays, one per utterance: ``(n_frames, n_features)`` frame matrices, or
  ``(n_features,)`` vectors (one row each);
* or one 2-D array ``(n_rows, n_features)``: a stack of utterance vectors (or, for
  :class:`UtteranceNormaliser`, the frames of one utterance).

Corpus and speaker statistics are frame-weighted: every row counts once, so long utterances
weigh more. Standard deviations are floored at ``std_floor`` so constant features map to 0 rather
than NaN or infinity.

The z-normalisation of log spectrograms with training-set statistics (the Bi-GRU + multi-head
attention paper, ``papers/bigru-multi-head-attention.txt``) is ``CorpusNormaliser``;
speaker normalisation is the classic remedy for speaker variability in SER (e.g. Huang et al. 2016,
cited by the MFCC CNN/RNN paper).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np

from serkit.errors import NotFittedError, ParameterError, UnknownSpeakerError

__all__ = [
    "CorpusNormaliser",
    "NotFittedError",
    "SpeakerNormaliser",
    "UnknownSpeakerError",
    "UtteranceNormaliser",
    "normaliser_from_dict",
    "pad_batch",
]

DEFAULT_STD_FLOOR = 1e-5


# --------------------------------------------------------------------------------------------
# helpers


def _block(item: Any, i: int, where: str) -> np.ndarray:
    """One utterance as a float64 2-D block ``(n_rows, n_features)``; a 1-D vector is one row."""
    arr = np.asarray(item, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ParameterError(
            f"{where}: item {i} must be (n_frames, n_features) or (n_features,). Got shape {arr.shape}."
        )
    return arr


def _check_array(features: np.ndarray, where: str) -> None:
    if features.ndim != 2:
        raise ParameterError(
            f"{where}: a features array must be 2-D (n_rows, n_features). Got shape {features.shape}; "
            f"pass a list of (n_frames, n_features) arrays for frame features."
        )


def _items(features: Any, where: str) -> Sequence[Any]:
    """Per-utterance items: the rows of a 2-D array, or the sequence itself."""
    if isinstance(features, np.ndarray):
        _check_array(features, where)
        return list(features)
    if not isinstance(features, Sequence):
        features = list(features)
    return features


def _width(block: np.ndarray, expected: int | None, where: str) -> int:
    if expected is not None and block.shape[1] != expected:
        raise ParameterError(
            f"{where}: every item must have the same number of features ({expected}"
            f"{' as seen in fit' if 'transform' in where else ''}). Got {block.shape[1]}."
        )
    return block.shape[1]


def _moments(blocks: Iterable[np.ndarray], where: str) -> tuple[int, int, np.ndarray, np.ndarray]:
    """Row count, feature count, mean and population variance over all rows of a stream of blocks.

    Blocks are merged one at a time (Chan, Golub and LeVeque's pairwise update), so a generator of
    utterances is never held in memory at once and the variance stays accurate.
    """
    count, width = 0, None
    mean = m2 = np.zeros(0)
    for block in blocks:
        width = _width(block, width, where)
        n_b = block.shape[0]
        if n_b == 0:
            continue
        if not np.all(np.isfinite(block)):
            raise ParameterError(
                f"{where}: the features contain NaN or infinite values; statistics would be NaN. "
                f"Find the utterance that produced them (e.g. silent or too-short audio) and drop it."
            )
        mean_b = block.mean(axis=0)
        m2_b = ((block - mean_b) ** 2).sum(axis=0)
        if count == 0:
            count, mean, m2 = n_b, mean_b, m2_b
            continue
        delta = mean_b - mean
        total = count + n_b
        mean = mean + delta * (n_b / total)
        m2 = m2 + m2_b + delta**2 * (count * n_b / total)
        count = total
    if count == 0 or width is None:
        raise ParameterError(f"{where}: cannot fit a normaliser on zero frames.")
    return count, width, mean, m2 / count


def _scale(var: np.ndarray, std_floor: float) -> np.ndarray:
    return np.maximum(np.sqrt(var), std_floor)


def _apply(item: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    dtype = item.dtype if np.issubdtype(item.dtype, np.floating) else np.float32
    return ((item.astype(np.float64) - mean) / scale).astype(dtype)


def _plain(value: Any) -> Any:
    """A speaker id as a plain Python value (NumPy scalars are not JSON-able)."""
    return value.item() if isinstance(value, np.generic) else value


def _check_std_floor(std_floor: float, cls: str) -> None:
    if not (isinstance(std_floor, int | float) and std_floor > 0):
        raise ParameterError(
            f"The 'std_floor' parameter of {cls} must be a float > 0. Got {std_floor!r} instead."
        )


def _check_widths(features: Any, expected: int, where: str) -> None:
    if isinstance(features, np.ndarray):
        _check_array(features, where)
        _width(features, expected, where)
        return
    for i, item in enumerate(features):
        arr = np.asarray(item)
        if arr.ndim not in (1, 2):
            raise ParameterError(
                f"{where}: item {i} must be (n_frames, n_features) or (n_features,). Got shape {arr.shape}."
            )
        _width(arr.reshape(-1, arr.shape[-1]), expected, where)


# --------------------------------------------------------------------------------------------
# normalisers


class UtteranceNormaliser:
    """Zero mean and unit variance over time, per utterance and feature (no fitted state).

    Parameters
    ----------
    with_mean : bool
        Subtract each utterance's per-feature mean over frames.
    with_std : bool
        Divide by each utterance's per-feature standard deviation over frames (floored).
    std_floor : float > 0
        Smallest standard deviation divided by; a constant track becomes 0 instead of NaN.

    Notes
    -----
    ``fit`` learns nothing (it exists for pipeline symmetry). ``transform`` of one 2-D array treats it
    as the frames of ONE utterance ``(n_frames, n_features)``; pass a list for several utterances.
    A single-frame utterance becomes all zeros (with ``with_mean``).

    Examples
    --------
    >>> UtteranceNormaliser().fit().transform(np.array([[1.0], [3.0]])).ravel()
    array([-1.,  1.])
    """

    def __init__(
        self, *, with_mean: bool = True, with_std: bool = True, std_floor: float = DEFAULT_STD_FLOOR
    ):
        self.with_mean = with_mean
        self.with_std = with_std
        self.std_floor = std_floor

    def fit(self, features: Any = None) -> UtteranceNormaliser:
        """Validate the parameters; nothing is learned. Returns ``self``."""
        _check_std_floor(self.std_floor, type(self).__name__)
        self.fitted_ = True
        return self

    def _one(self, item: np.ndarray) -> np.ndarray:
        arr = np.asarray(item)
        if arr.ndim != 2 or arr.shape[0] == 0:
            raise ParameterError(
                f"UtteranceNormaliser.transform: each utterance must be (n_frames, n_features) with "
                f"n_frames >= 1. Got shape {arr.shape}."
            )
        x = arr.astype(np.float64)
        mean = x.mean(axis=0) if self.with_mean else np.zeros(x.shape[1])
        scale = _scale(x.var(axis=0), self.std_floor) if self.with_std else np.ones(x.shape[1])
        return _apply(arr, mean, scale)

    def transform(self, features: np.ndarray | Sequence[np.ndarray]) -> np.ndarray | list[np.ndarray]:
        """Normalise one utterance ``(n_frames, n_features)`` or a list of them (same container back).

        Raises
        ------
        NotFittedError
            If ``fit`` was not called.
        ParameterError
            If an utterance is not 2-D with at least one frame.
        """
        _check_fitted(self, "fitted_")
        if isinstance(features, np.ndarray):
            return self._one(features)
        return [self._one(item) for item in features]

    def fit_transform(self, features: np.ndarray | Sequence[np.ndarray]) -> np.ndarray | list[np.ndarray]:
        return self.fit(features).transform(features)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able parameters (there is no fitted state)."""
        return {
            "type": type(self).__name__,
            "params": {"with_mean": self.with_mean, "with_std": self.with_std, "std_floor": self.std_floor},
            "state": {"fitted": bool(getattr(self, "fitted_", False))},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UtteranceNormaliser:
        obj = cls(**_params(data, cls))
        if data.get("state", {}).get("fitted"):
            obj.fit()
        return obj


class CorpusNormaliser:
    """Per-feature z-normalisation with mean and std fitted on training features only.

    Parameters
    ----------
    std_floor : float > 0
        Floor on the fitted standard deviation (a constant feature maps to 0, never NaN/inf).

    Attributes
    ----------
    mean_ : np.ndarray [shape=(n_features,)]
        Frame-weighted mean of the training features.
    var_ : np.ndarray [shape=(n_features,)]
        Frame-weighted population variance.
    scale_ : np.ndarray [shape=(n_features,)]
        ``max(sqrt(var_), std_floor)``, the divisor.
    n_features_in_ : int
    n_frames_seen_ : int
        Rows (frames or vectors) the statistics were computed from.

    Examples
    --------
    >>> norm = CorpusNormaliser().fit([np.array([[0.0], [2.0]]), np.array([[4.0]])])
    >>> norm.mean_, norm.transform([np.array([[2.0]])])[0].item()
    (array([2.]), 0.0)
    """

    def __init__(self, *, std_floor: float = DEFAULT_STD_FLOOR):
        self.std_floor = std_floor

    def fit(self, features: np.ndarray | Iterable[np.ndarray]) -> CorpusNormaliser:
        """Fit on TRAINING features: a list of ``(n_frames, n_features)`` arrays or ``(n_rows, n_features)``.

        Any iterable works (a generator keeps memory flat); statistics are merged utterance by utterance.

        Raises
        ------
        ParameterError
            If there are no rows, or the feature counts differ.
        """
        _check_std_floor(self.std_floor, type(self).__name__)
        where = "CorpusNormaliser.fit"
        if isinstance(features, np.ndarray):
            _check_array(features, where)
            blocks: Iterable[np.ndarray] = [features.astype(np.float64)]
        else:
            blocks = (_block(item, i, where) for i, item in enumerate(features))
        self.n_frames_seen_, self.n_features_in_, self.mean_, self.var_ = _moments(blocks, where)
        self.scale_ = _scale(self.var_, self.std_floor)
        return self

    def transform(self, features: np.ndarray | Sequence[np.ndarray]) -> np.ndarray | list[np.ndarray]:
        """``(x - mean_) / scale_`` for each utterance; returns the same container type, dtype kept.

        Raises
        ------
        NotFittedError
            If ``fit`` was not called.
        ParameterError
            If the number of features differs from the fitted one.
        """
        _check_fitted(self, "mean_")
        _check_widths(features, self.n_features_in_, "CorpusNormaliser.transform")
        if isinstance(features, np.ndarray):
            return _apply(features, self.mean_, self.scale_)
        return [_apply(np.asarray(item), self.mean_, self.scale_) for item in features]

    def fit_transform(self, features: np.ndarray | Sequence[np.ndarray]) -> np.ndarray | list[np.ndarray]:
        return self.fit(features).transform(features)

    def inverse_transform(self, features: np.ndarray | Sequence[np.ndarray]) -> np.ndarray | list[np.ndarray]:
        """``x * scale_ + mean_`` (undo :meth:`transform`)."""
        _check_fitted(self, "mean_")
        _check_widths(features, self.n_features_in_, "CorpusNormaliser.inverse_transform")

        def undo(item: Any) -> np.ndarray:
            arr = np.asarray(item)
            dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float32
            return (arr.astype(np.float64) * self.scale_ + self.mean_).astype(dtype)

        if isinstance(features, np.ndarray):
            return undo(features)
        return [undo(item) for item in features]

    def to_dict(self) -> dict[str, Any]:
        """Parameters and fitted statistics as plain JSON-able lists."""
        state = None
        if hasattr(self, "mean_"):
            state = {
                "mean": self.mean_.tolist(),
                "var": self.var_.tolist(),
                "n_frames_seen": int(self.n_frames_seen_),
            }
        return {"type": type(self).__name__, "params": {"std_floor": self.std_floor}, "state": state}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CorpusNormaliser:
        obj = cls(**_params(data, cls))
        state = data.get("state")
        if state:
            obj.mean_ = np.asarray(state["mean"], dtype=np.float64)
            obj.var_ = np.asarray(state["var"], dtype=np.float64)
            obj.scale_ = _scale(obj.var_, obj.std_floor)
            obj.n_features_in_ = obj.mean_.size
            obj.n_frames_seen_ = int(state["n_frames_seen"])
        return obj


class SpeakerNormaliser:
    """Per-speaker z-normalisation: each speaker's features use that speaker's mean and std.

    Parameters
    ----------
    transductive : bool
        False (default): transforming a speaker not seen in ``fit`` raises :class:`UnknownSpeakerError`.
        True: such a speaker's statistics are estimated from the (unlabelled) features being
        transformed -- a *transductive* step, since it looks at test audio before predicting. Those
        speakers are recorded in ``transductive_speakers_`` so that results can say so. Their
        statistics are not stored: each ``transform`` call estimates them from the data it is given.
    std_floor : float > 0
        Floor on each speaker's standard deviation.

    Attributes
    ----------
    speakers_ : list
        Speakers seen in ``fit``, sorted by ``str``.
    mean_, var_, scale_ : np.ndarray [shape=(n_speakers, n_features)]
        Per-speaker statistics, rows in ``speakers_`` order.
    n_frames_seen_ : np.ndarray [shape=(n_speakers,)] of int
    n_features_in_ : int
    transductive_speakers_ : list
        Speakers whose statistics came from data passed to ``transform`` (empty after ``fit``).

    Examples
    --------
    >>> norm = SpeakerNormaliser().fit([np.array([[1.0], [3.0]]), np.array([[10.0]])], ["a", "b"])
    >>> norm.transform([np.array([[3.0]])], ["a"])[0].item()
    1.0
    """

    def __init__(self, *, transductive: bool = False, std_floor: float = DEFAULT_STD_FLOOR):
        self.transductive = transductive
        self.std_floor = std_floor

    @staticmethod
    def _grouped(n_items: int, speakers: Sequence[Hashable], where: str) -> dict[Any, list[int]]:
        speakers = list(speakers)
        if len(speakers) != n_items:
            raise ParameterError(
                f"{where}: 'speakers' must give one speaker per utterance/row: {n_items} items but "
                f"{len(speakers)} speakers."
            )
        groups: dict[Any, list[int]] = {}
        for i, speaker in enumerate(speakers):
            groups.setdefault(speaker, []).append(i)
        return groups

    def _group_moments(
        self, items: Sequence[Any], indices: list[int], expected: int | None, where: str
    ) -> tuple[int, int, np.ndarray, np.ndarray]:
        count, width, mean, var = _moments((_block(items[i], i, where) for i in indices), where)
        if expected is not None:
            _width(mean[None, :], expected, where)
        return count, width, mean, var

    def fit(
        self, features: np.ndarray | Sequence[np.ndarray], speakers: Sequence[Hashable]
    ) -> SpeakerNormaliser:
        """Fit per-speaker statistics on TRAINING features (``speakers[i]`` owns ``features[i]``).

        Raises
        ------
        ParameterError
            If lengths differ, there are no rows, or the feature counts differ.
        """
        _check_std_floor(self.std_floor, type(self).__name__)
        where = "SpeakerNormaliser.fit"
        items = _items(features, where)
        groups = self._grouped(len(items), speakers, where)
        if not groups:
            raise ParameterError(f"{where}: cannot fit a normaliser on zero frames.")
        self.speakers_ = sorted(groups, key=str)
        stats, width = [], None
        for speaker in self.speakers_:
            count, width, mean, var = self._group_moments(items, groups[speaker], width, where)
            stats.append((count, mean, var))
        self.n_features_in_ = width
        self.n_frames_seen_ = np.array([n for n, _, _ in stats], dtype=np.int64)
        self.mean_ = np.stack([m for _, m, _ in stats])
        self.var_ = np.stack([v for _, _, v in stats])
        self.scale_ = _scale(self.var_, self.std_floor)
        self.transductive_speakers_: list[Any] = []
        return self

    def transform(
        self, features: np.ndarray | Sequence[np.ndarray], speakers: Sequence[Hashable]
    ) -> np.ndarray | list[np.ndarray]:
        """Normalise each utterance with its speaker's statistics; same container type back.

        Raises
        ------
        NotFittedError
            If ``fit`` was not called.
        UnknownSpeakerError
            If a speaker was not seen in ``fit`` and ``transductive`` is False.
        ParameterError
            If lengths or feature counts do not match.
        """
        _check_fitted(self, "mean_")
        where = "SpeakerNormaliser.transform"
        _check_widths(features, self.n_features_in_, where)
        items = _items(features, where)
        groups = self._grouped(len(items), speakers, where)
        index = {s: k for k, s in enumerate(self.speakers_)}
        unseen = [s for s in groups if s not in index]
        if unseen and not self.transductive:
            shown = ", ".join(repr(s) for s in sorted(unseen, key=str)[:10])
            raise UnknownSpeakerError(
                f"SpeakerNormaliser has no statistics for speaker(s) {shown} ({len(unseen)} unseen; "
                f"fitted on {len(self.speakers_)} speakers). Fit it on features that include them, "
                f"or construct SpeakerNormaliser(transductive=True) to estimate their statistics "
                f"from the unlabelled features being transformed (a transductive step that every "
                f"result must report)."
            )
        stats = {s: (self.mean_[k], self.scale_[k]) for s, k in index.items()}
        for speaker in unseen:
            _, _, mean, var = self._group_moments(items, groups[speaker], self.n_features_in_, where)
            stats[speaker] = (mean, _scale(var, self.std_floor))
            if speaker not in self.transductive_speakers_:
                self.transductive_speakers_.append(speaker)
        owners = list(speakers)
        out = [_apply(np.asarray(item), *stats[owners[i]]) for i, item in enumerate(items)]
        return np.stack(out) if isinstance(features, np.ndarray) else out

    @property
    def used_transductive(self) -> bool:
        """Whether any transform so far estimated statistics from the data it transformed."""
        return bool(getattr(self, "transductive_speakers_", []))

    def to_dict(self) -> dict[str, Any]:
        """Parameters and fitted statistics as plain JSON-able data (speaker ids as given; use str/int)."""
        state = None
        if hasattr(self, "mean_"):
            state = {
                "speakers": [_plain(s) for s in self.speakers_],
                "mean": self.mean_.tolist(),
                "var": self.var_.tolist(),
                "n_frames_seen": self.n_frames_seen_.tolist(),
                "transductive_speakers": [_plain(s) for s in self.transductive_speakers_],
            }
        params = {"transductive": self.transductive, "std_floor": self.std_floor}
        return {"type": type(self).__name__, "params": params, "state": state}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpeakerNormaliser:
        obj = cls(**_params(data, cls))
        state = data.get("state")
        if state:
            obj.speakers_ = list(state["speakers"])
            obj.mean_ = np.asarray(state["mean"], dtype=np.float64).reshape(len(obj.speakers_), -1)
            obj.var_ = np.asarray(state["var"], dtype=np.float64).reshape(len(obj.speakers_), -1)
            obj.scale_ = _scale(obj.var_, obj.std_floor)
            obj.n_frames_seen_ = np.asarray(state["n_frames_seen"], dtype=np.int64)
            obj.n_features_in_ = obj.mean_.shape[1]
            obj.transductive_speakers_ = list(state.get("transductive_speakers", []))
        return obj


_CLASSES: dict[str, type] = {
    "UtteranceNormaliser": UtteranceNormaliser,
    "CorpusNormaliser": CorpusNormaliser,
    "SpeakerNormaliser": SpeakerNormaliser,
}


def _params(data: dict[str, Any], cls: type) -> dict[str, Any]:
    if data.get("type") != cls.__name__:
        raise ParameterError(f"Cannot load a {data.get('type')!r} dict into {cls.__name__}.")
    return dict(data.get("params", {}))


def normaliser_from_dict(data: dict[str, Any]) -> UtteranceNormaliser | CorpusNormaliser | SpeakerNormaliser:
    """Rebuild any normaliser from its :meth:`to_dict` output (dispatch on ``data["type"]``).

    Raises
    ------
    ParameterError
        For an unknown type.
    """
    cls = _CLASSES.get(data.get("type", ""))
    if cls is None:
        raise ParameterError(
            f"Unknown normaliser type {data.get('type')!r}. Known: {', '.join(sorted(_CLASSES))}."
        )
    return cls.from_dict(data)  # type: ignore[attr-defined, no-any-return]


def _check_fitted(obj: Any, attribute: str) -> None:
    if not hasattr(obj, attribute):
        raise NotFittedError(
            f"This {type(obj).__name__} is not fitted yet. Call 'fit' with training features first "
            f"(or load fitted statistics with from_dict)."
        )


# --------------------------------------------------------------------------------------------
# padding


def pad_batch(arrays: Sequence[Any], *, pad_value: float = 0.0) -> tuple[Any, Any, Any]:
    """Stack variable-length, time-major arrays into one padded batch.

    Parameters
    ----------
    arrays : sequence of np.ndarray or torch.Tensor [shape=(n_frames_i, ...)]
        Same trailing shape and all of one kind (NumPy or torch); ``n_frames_i >= 0``.
    pad_value : float
        Value written after each array's end.

    Returns
    -------
    padded : np.ndarray or torch.Tensor [shape=(batch, max_frames, ...)]
        Common dtype of the inputs; torch inputs give torch outputs on the first tensor's device.
    lengths : np.ndarray or torch.Tensor [shape=(batch,)], int64
        ``n_frames_i``.
    mask : np.ndarray or torch.Tensor [shape=(batch, max_frames)], bool
        True on real frames, False on padding.

    Raises
    ------
    ParameterError
        If ``arrays`` is empty, an item is 0-D, or trailing shapes differ.

    Examples
    --------
    >>> padded, lengths, mask = pad_batch([np.ones((2, 3)), np.ones((1, 3))])
    >>> padded.shape, lengths.tolist(), mask.tolist()
    ((2, 2, 3), [2, 1], [[True, True], [True, False]])
    """
    if len(arrays) == 0:
        raise ParameterError("pad_batch needs at least one array. Got an empty sequence.")
    is_torch = type(arrays[0]).__module__.startswith("torch")
    if is_torch:
        import torch

        if not all(isinstance(a, torch.Tensor) for a in arrays):
            raise ParameterError("pad_batch: mix of torch tensors and other arrays; pass one kind.")
    for i, a in enumerate(arrays):
        if a.ndim == 0:
            raise ParameterError(f"pad_batch: item {i} is 0-D; each item must be (n_frames, ...).")
    trailing = {tuple(a.shape[1:]) for a in arrays}
    if len(trailing) > 1:
        raise ParameterError(
            f"pad_batch: every item must share its shape after the time axis. Got {sorted(trailing)}."
        )
    shape_rest = trailing.pop()
    lengths_list = [int(a.shape[0]) for a in arrays]
    t_max = max(lengths_list)
    if is_torch:
        dtype = arrays[0].dtype
        for a in arrays[1:]:
            dtype = torch.promote_types(dtype, a.dtype)
        device = arrays[0].device
        padded_t = torch.full((len(arrays), t_max, *shape_rest), pad_value, dtype=dtype, device=device)
        for i, a in enumerate(arrays):
            padded_t[i, : a.shape[0]] = a.to(dtype)
        lengths_t = torch.tensor(lengths_list, dtype=torch.int64, device=device)
        mask_t = torch.arange(t_max, device=device)[None, :] < lengths_t[:, None]
        return padded_t, lengths_t, mask_t
    np_arrays = [np.asarray(a) for a in arrays]
    dtype_np = np.result_type(*np_arrays)
    padded = np.full((len(np_arrays), t_max, *shape_rest), pad_value, dtype=dtype_np)
    for i, a in enumerate(np_arrays):
        padded[i, : a.shape[0]] = a
    lengths = np.asarray(lengths_list, dtype=np.int64)
    mask = np.arange(t_max)[None, :] < lengths[:, None]
    return padded, lengths, mask
