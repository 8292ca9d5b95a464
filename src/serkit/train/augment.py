"""Augmentations of feature batches, for the training fold only.

The trainer calls an :class:`AugmentPipeline` on training batches and never on validation or test
batches. Each augmentation takes a :class:`~serkit.models.base.Batch` and a ``torch.Generator`` and
returns a **new** batch (the input is never modified in place); every random draw comes from that
generator, so a pipeline built by :func:`build_augment` with a seed gives the same batches every run.

Augmentations act on ``"frames"`` streams (3-D tensors (B, T, F); valid lengths from ``batch.lengths``, the
whole T when a stream has no lengths) and leave padding at zero. Only :class:`Mixup` touches ``"vector"``
streams. Spec lists are YAML-friendly::

    augment:
      - {name: specaugment, time_masks: 2, time_width: 20, freq_masks: 2, freq_width: 8}
      - {name: noise, snr_db: [10, 30]}
      - {name: speed, factors: [0.9, 1.0, 1.1]}
      - {name: mixup, alpha: 0.2}

Mixup's soft targets are written to ``batch.soft_labels`` (B, C) float32; the classification losses in
:mod:`serkit.train.losses` use them instead of ``batch.labels`` whenever they are present.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from serkit.errors import ConfigError, ParameterError

if TYPE_CHECKING:
    from serkit.models.base import Batch

__all__ = [
    "AddNoise",
    "AugmentPipeline",
    "Augmentation",
    "Mixup",
    "SpecAugment",
    "SpeedPerturb",
    "build_augment",
    "list_augmentations",
    "replace_batch",
]


def _fail(aug: str, name: str, rule: str, value: Any) -> None:
    raise ParameterError(
        f"The {name!r} parameter of augmentation '{aug}' must be {rule}. Got {value!r} instead."
    )


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def replace_batch(batch: Batch, **changes: Any) -> Batch:
    """A shallow copy of ``batch`` with ``changes`` applied.

    Attributes that are not dataclass fields of the batch's class (``soft_labels`` or ``teacher_probs`` on a
    ``Batch`` that does not declare them) are carried over and set as plain attributes.
    """
    names = {f.name for f in dataclasses.fields(batch)}
    out = dataclasses.replace(batch, **{k: v for k, v in changes.items() if k in names})
    for k, v in vars(batch).items():
        if k not in names and k not in changes:
            setattr(out, k, v)
    for k, v in changes.items():
        if k not in names:
            setattr(out, k, v)
    return out


def _frame_streams(batch: Batch, wanted: Sequence[str] | None, aug: str) -> list[str]:
    """Names of the frames streams to augment: ``wanted`` (checked) or every 3-D stream."""
    if wanted is None:
        return [k for k, v in batch.streams.items() if v.ndim == 3]
    for name in wanted:
        if name not in batch.streams:
            raise ConfigError(
                f"Augmentation '{aug}' names stream {name!r} but the batch has {sorted(batch.streams)}."
            )
        if batch.streams[name].ndim != 3:
            raise ConfigError(
                f"Augmentation '{aug}' applies to frames streams (B, T, F); stream {name!r} has shape "
                f"{tuple(batch.streams[name].shape)}."
            )
    return list(wanted)


def _lengths(batch: Batch, name: str) -> Tensor:
    """(B,) int64 valid frames of frames stream ``name``, on CPU."""
    x = batch.streams[name]
    if name in batch.lengths:
        return batch.lengths[name].detach().to("cpu", torch.long)
    return torch.full((x.shape[0],), x.shape[1], dtype=torch.long)


def _mask(lengths: Tensor, max_len: int) -> Tensor:
    return torch.arange(max_len)[None, :] < lengths[:, None]


def _check_streams(aug: str, streams: Any) -> list[str] | None:
    if streams is None:
        return None
    if isinstance(streams, str):
        streams = [streams]
    if not isinstance(streams, (list, tuple)) or not all(isinstance(s, str) for s in streams) or not streams:
        _fail(aug, "streams", "None (every frames stream) or a non-empty list of stream names", streams)
    return list(streams)


def _check_p(aug: str, p: Any) -> float:
    if not _is_number(p) or not 0 <= p <= 1:
        _fail(aug, "p", "a float in [0, 1]", p)
    return float(p)


class Augmentation:
    """Base class: ``aug(batch, generator) -> new batch``; the registry name is ``aug_name``."""

    aug_name: ClassVar[str] = ""

    def __call__(self, batch: Batch, generator: torch.Generator) -> Batch:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        params = inspect.signature(type(self).__init__).parameters
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in params if k != "self" and hasattr(self, k))
        return f"{type(self).__name__}({args})"


class SpecAugment(Augmentation):
    """Time and frequency masking (Park et al. 2019, without time warping), on real frames only.

    For each example and each frames stream: ``time_masks`` masks of width ``w ~ U{0..W}`` frames with
    ``W = min(time_width, floor(max_time_fraction * length))`` starting uniformly inside the real frames,
    and ``freq_masks`` masks of width ``f ~ U{0..freq_width}`` bins (at most F) over the real frames.
    Masked cells are set to ``fill``: ``"mean"`` (the example's mean over its real frames, i.e. "no
    information" for both raw and normalised features) or ``"zero"`` (Park et al.'s value on
    mean-normalised features). Padding is never touched.

    Parameters
    ----------
    time_masks, freq_masks : int >= 0
    time_width : int >= 0
        Largest time-mask width in frames.
    freq_width : int >= 0
        Largest frequency-mask width in feature bins.
    max_time_fraction : float in (0, 1]
        A time mask covers at most this fraction of the example's real frames (Park et al.'s p).
    fill : "mean" or "zero"
    streams : list of str or None
        Frames streams to mask; None = every 3-D stream.
    p : float in [0, 1]
        Probability that an example is masked at all.
    """

    aug_name = "specaugment"

    def __init__(
        self,
        *,
        time_masks: int = 2,
        time_width: int = 20,
        freq_masks: int = 2,
        freq_width: int = 8,
        max_time_fraction: float = 0.2,
        fill: str = "mean",
        streams: list[str] | None = None,
        p: float = 1.0,
    ) -> None:
        for name, v in (
            ("time_masks", time_masks),
            ("time_width", time_width),
            ("freq_masks", freq_masks),
            ("freq_width", freq_width),
        ):
            if not _is_int(v) or v < 0:
                _fail(self.aug_name, name, "an int >= 0", v)
        if not _is_number(max_time_fraction) or not 0 < max_time_fraction <= 1:
            _fail(self.aug_name, "max_time_fraction", "a float in (0, 1]", max_time_fraction)
        if fill not in ("mean", "zero"):
            _fail(self.aug_name, "fill", "'mean' or 'zero'", fill)
        self.time_masks, self.time_width = time_masks, time_width
        self.freq_masks, self.freq_width = freq_masks, freq_width
        self.max_time_fraction = float(max_time_fraction)
        self.fill = fill
        self.streams = _check_streams(self.aug_name, streams)
        self.p = _check_p(self.aug_name, p)

    @staticmethod
    def _band_mask(
        n: int, widths_max: Tensor, extent: Tensor, size: int, generator: torch.Generator
    ) -> Tensor:
        """(B, size) bool: union of ``n`` random bands per row, each inside ``[0, extent)``."""
        b = extent.shape[0]
        out = torch.zeros(b, size, dtype=torch.bool)
        pos = torch.arange(size)[None, :]
        for _ in range(n):
            u_w = torch.rand(b, generator=generator, dtype=torch.float64)
            u_s = torch.rand(b, generator=generator, dtype=torch.float64)
            w = torch.floor(u_w * (widths_max + 1)).long().clamp(max=widths_max)
            start = torch.floor(u_s * (extent - w + 1).clamp_min(1)).long()
            out |= (pos >= start[:, None]) & (pos < (start + w)[:, None])
        return out

    def __call__(self, batch: Batch, generator: torch.Generator) -> Batch:
        streams = dict(batch.streams)
        for name in _frame_streams(batch, self.streams, self.aug_name):
            x = batch.streams[name]
            b, t, f = x.shape
            lengths = _lengths(batch, name)
            real = _mask(lengths, t)
            apply = torch.rand(b, generator=generator, dtype=torch.float64) < self.p
            tmax = torch.minimum(
                torch.full_like(lengths, self.time_width),
                torch.floor(lengths.double() * self.max_time_fraction).long(),
            )
            tmask = self._band_mask(self.time_masks, tmax, lengths, t, generator)
            fmax = torch.full((b,), min(self.freq_width, f), dtype=torch.long)
            fmask = self._band_mask(
                self.freq_masks, fmax, torch.full((b,), f, dtype=torch.long), f, generator
            )
            cells = (tmask[:, :, None] | fmask[:, None, :]) & real[:, :, None] & apply[:, None, None]
            if not bool(cells.any()):
                continue
            cells = cells.to(x.device)
            if self.fill == "zero":
                fill: Tensor | float = 0.0
            else:
                rm = real.to(x.device)[:, :, None]
                denom = (lengths.to(x.device).clamp_min(1) * f).to(x.dtype)
                fill = ((x * rm).sum(dim=(1, 2)) / denom)[:, None, None].expand_as(x)
            streams[name] = torch.where(cells, fill, x)
        return replace_batch(batch, streams=streams)


class AddNoise(Augmentation):
    """Additive stationary noise at a given SNR, approximated on log-power features.

    What it does, exactly: per example, the features ``x`` are mapped back to power ``P`` (``exp(x)`` for
    natural-log features such as ``logmel``, ``10^(x/10)`` for dB features such as ``melimage``); the
    signal power ``S`` is the mean of ``P`` over the example's real frames and all bins; a noise power
    ``N = S * 10^(-snr_db/10)`` is added to every real cell; the result is mapped back to the log domain:
    ``x' = log(P + N)``. So the SNR of the result, measured as ``mean(P) / mean(P' - P)`` over real cells,
    is exactly ``snr_db``.

    The approximation: expected powers of uncorrelated signal and noise add, so this is the *expected*
    spectrum of (signal + stationary noise whose power is equal in every feature bin, i.e. flat across
    mel bands). It omits the random fluctuation of a real noise periodogram and the signal x noise cross
    term (zero mean), and it treats whatever floor/clipping the frontend applied as signal. It is only
    meaningful on un-normalised log-power features (normaliser ``none``), and not on MFCC, deltas or encoder
    embeddings. Subtracting one scalar per utterance commutes with it
    (``log(P e^-m + N e^-m) = log(P + N) - m``); per-bin mean removal turns the noise spectrum into
    ``e^-m_f`` (no longer flat) and variance scaling breaks the relation altogether.

    Parameters
    ----------
    snr_db : float or [low, high]
        SNR in dB; a pair draws one SNR per example uniformly in [low, high].
    scale : "ln" or "db"
        How the features were made from power: natural log (``logmel``, ``logspec``) or ``10 log10``.
    streams : list of str or None
        Frames streams to corrupt; None = every 3-D stream.
    p : float in [0, 1]
        Probability that an example gets noise.
    """

    aug_name = "noise"

    def __init__(
        self,
        *,
        snr_db: float | list[float] = 20.0,
        scale: str = "ln",
        streams: list[str] | None = None,
        p: float = 1.0,
    ) -> None:
        if _is_number(snr_db):
            lo = hi = float(snr_db)
        elif (
            isinstance(snr_db, (list, tuple))
            and len(snr_db) == 2
            and all(_is_number(v) for v in snr_db)
            and snr_db[0] <= snr_db[1]
        ):
            lo, hi = float(snr_db[0]), float(snr_db[1])
        else:
            _fail(self.aug_name, "snr_db", "a float or a pair [low, high] with low <= high", snr_db)
        if scale not in ("ln", "db"):
            _fail(self.aug_name, "scale", "'ln' (natural-log power) or 'db' (10 log10 power)", scale)
        self.snr_db: float | list[float] = lo if lo == hi else [lo, hi]
        self._range = (lo, hi)
        self.scale = scale
        self.streams = _check_streams(self.aug_name, streams)
        self.p = _check_p(self.aug_name, p)

    def __call__(self, batch: Batch, generator: torch.Generator) -> Batch:
        streams = dict(batch.streams)
        lo, hi = self._range
        for name in _frame_streams(batch, self.streams, self.aug_name):
            x = batch.streams[name]
            b, t, f = x.shape
            lengths = _lengths(batch, name)
            snr = lo + (hi - lo) * torch.rand(b, generator=generator, dtype=torch.float64)
            apply = torch.rand(b, generator=generator, dtype=torch.float64) < self.p
            real = (_mask(lengths, t) & apply[:, None])[:, :, None].to(x.device)
            xd = x.double()
            power = xd.exp() if self.scale == "ln" else torch.pow(10.0, xd / 10.0)
            rm = _mask(lengths, t)[:, :, None].to(x.device)
            signal = (power * rm).sum(dim=(1, 2)) / (lengths.to(x.device).clamp_min(1) * f).double()
            noise = signal * torch.pow(10.0, -snr.to(x.device) / 10.0)
            noisy = power + noise[:, None, None]
            out = noisy.log() if self.scale == "ln" else 10.0 * noisy.log10()
            streams[name] = torch.where(real, out.to(x.dtype), x)
        return replace_batch(batch, streams=streams)


class SpeedPerturb(Augmentation):
    """Tempo perturbation of the frame sequence: time-stretch by linear interpolation between frames.

    Each example draws one factor from ``factors`` (uniformly); all its frames streams are resampled
    along time to ``round(length / factor)`` frames (``factor > 1`` is faster speech, fewer frames), the
    first and last real frames kept (``align_corners``), and the lengths updated. Unlike resampling the
    audio (Ko et al. 2015), the spectral content is not shifted: this is a tempo change, like sox ``tempo``.

    Parameters
    ----------
    factors : list of float > 0
    streams : list of str or None
        Frames streams to stretch; None = every 3-D stream.
    p : float in [0, 1]
        Probability that an example is stretched at all.
    """

    aug_name = "speed"

    def __init__(
        self, *, factors: list[float] | None = None, streams: list[str] | None = None, p: float = 1.0
    ) -> None:
        factors = [0.9, 1.0, 1.1] if factors is None else factors
        if (
            not isinstance(factors, (list, tuple))
            or not factors
            or not all(_is_number(v) and v > 0 for v in factors)
        ):
            _fail(self.aug_name, "factors", "a non-empty list of floats > 0", factors)
        self.factors = [float(v) for v in factors]
        self.streams = _check_streams(self.aug_name, streams)
        self.p = _check_p(self.aug_name, p)

    def __call__(self, batch: Batch, generator: torch.Generator) -> Batch:
        b = next(iter(batch.streams.values())).shape[0]
        pick = torch.randint(len(self.factors), (b,), generator=generator)
        apply = torch.rand(b, generator=generator, dtype=torch.float64) < self.p
        factor = [self.factors[int(k)] if bool(a) else 1.0 for k, a in zip(pick, apply, strict=True)]
        streams = dict(batch.streams)
        lengths_out = dict(batch.lengths)
        for name in _frame_streams(batch, self.streams, self.aug_name):
            x = batch.streams[name]
            lengths = _lengths(batch, name)
            new_len = [
                max(1, math.floor(int(n) / fac + 0.5)) if n > 0 else 0
                for n, fac in zip(lengths.tolist(), factor, strict=True)
            ]
            out = x.new_zeros(x.shape[0], max(new_len, default=0), x.shape[2])
            for i, (n, m) in enumerate(zip(lengths.tolist(), new_len, strict=True)):
                if n == 0:
                    continue
                if m == n:
                    out[i, :n] = x[i, :n]
                    continue
                seq = x[i, :n].transpose(0, 1)[None]  # (1, F, n)
                out[i, :m] = F.interpolate(seq, size=m, mode="linear", align_corners=True)[0].transpose(0, 1)
            streams[name] = out
            device = batch.lengths[name].device if name in batch.lengths else x.device
            lengths_out[name] = torch.tensor(new_len, dtype=torch.long, device=device)
        return replace_batch(batch, streams=streams, lengths=lengths_out)


class Mixup(Augmentation):
    """Mixup (Zhang et al. 2018): convex combinations of example pairs and of their targets.

    One ``lam ~ Beta(alpha, alpha)`` per batch and a random permutation ``j`` of the batch:
    ``x_i' = lam x_i + (1 - lam) x_j`` for every stream (frames and vector). Frames streams keep their
    padded shape and take ``length_i' = max(length_i, length_j)`` (beyond the shorter one's end the mix is
    ``lam`` times the longer one's frames). Targets:

    * ``soft_labels`` (B, C) float32 = ``lam t_i + (1 - lam) t_j`` with ``t`` = the batch's soft labels if
      it has them, else one-hot labels; the losses use ``soft_labels`` in place of ``labels``;
    * ``labels`` = the label of the larger share (``i`` when ``lam >= 0.5``), for accuracy bookkeeping;
    * ``scores`` and ``teacher_probs`` (when present) are mixed with the same ``lam``.

    Parameters
    ----------
    alpha : float > 0
    num_classes : int >= 1 or None
        Needed to one-hot the labels; :func:`build_augment` passes it.
    p : float in [0, 1]
        Probability that a batch is mixed at all (an unmixed batch gets no ``soft_labels``).
    """

    aug_name = "mixup"

    def __init__(self, *, alpha: float = 0.2, num_classes: int | None = None, p: float = 1.0) -> None:
        if not _is_number(alpha) or alpha <= 0:
            _fail(self.aug_name, "alpha", "a float > 0", alpha)
        if num_classes is not None and (not _is_int(num_classes) or num_classes < 1):
            _fail(self.aug_name, "num_classes", "None or an int >= 1", num_classes)
        self.alpha = float(alpha)
        self.num_classes = num_classes
        self.p = _check_p(self.aug_name, p)

    def sample(self, batch_size: int, generator: torch.Generator) -> tuple[float, Tensor, bool]:
        """``(lam, permutation, apply)`` drawn from ``generator`` (Beta via a numpy stream seeded from it)."""
        apply = bool(torch.rand(1, generator=generator, dtype=torch.float64) < self.p)
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        lam = float(np.random.default_rng(seed).beta(self.alpha, self.alpha))
        perm = torch.randperm(batch_size, generator=generator)
        return lam, perm, apply

    def __call__(self, batch: Batch, generator: torch.Generator) -> Batch:
        b = next(iter(batch.streams.values())).shape[0]
        lam, perm, apply = self.sample(b, generator)
        if not apply:
            return batch
        changes: dict[str, Any] = {}
        streams = {}
        for name, x in batch.streams.items():
            streams[name] = lam * x + (1.0 - lam) * x[perm.to(x.device)]
        changes["streams"] = streams
        changes["lengths"] = {
            name: torch.maximum(n, n[perm.to(n.device)]) for name, n in batch.lengths.items()
        }
        soft = getattr(batch, "soft_labels", None)
        if soft is None and batch.labels is not None:
            if self.num_classes is None:
                raise ConfigError(
                    "Augmentation 'mixup' needs num_classes to build soft labels; build it with "
                    "build_augment(..., num_classes=C) or Mixup(num_classes=C)."
                )
            soft = F.one_hot(batch.labels.long(), self.num_classes).float()
        if soft is not None:
            p_ = perm.to(soft.device)
            changes["soft_labels"] = lam * soft.float() + (1.0 - lam) * soft.float()[p_]
        if batch.labels is not None and lam < 0.5:
            changes["labels"] = batch.labels[perm.to(batch.labels.device)]
        if batch.scores is not None:
            changes["scores"] = lam * batch.scores + (1.0 - lam) * batch.scores[perm.to(batch.scores.device)]
        teacher = getattr(batch, "teacher_probs", None)
        if teacher is not None:
            changes["teacher_probs"] = lam * teacher + (1.0 - lam) * teacher[perm.to(teacher.device)]
        return replace_batch(batch, **changes)


_REGISTRY: dict[str, type[Augmentation]] = {
    cls.aug_name: cls for cls in (SpecAugment, AddNoise, SpeedPerturb, Mixup)
}


def list_augmentations() -> list[str]:
    """Registered augmentation names, sorted."""
    return sorted(_REGISTRY)


class AugmentPipeline:
    """Augmentations applied in order, all drawing from one seeded ``torch.Generator``.

    ``pipeline(batch)`` returns the augmented batch. Reproducibility: the same seed and the same
    sequence of batches give the same output. For resumable training either call
    :meth:`set_epoch` at the start of every epoch (the generator is re-seeded from ``(seed, epoch)``, so
    an epoch's augmentations do not depend on earlier epochs), or save :meth:`state_dict` in the checkpoint.
    """

    def __init__(self, augmentations: Sequence[Augmentation], *, seed: int) -> None:
        if not _is_int(seed) or seed < 0:
            raise ParameterError(f"The 'seed' of an augmentation pipeline must be an int >= 0. Got {seed!r}.")
        self.augmentations = list(augmentations)
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.augmentations)

    def __repr__(self) -> str:
        return f"AugmentPipeline({self.augmentations!r}, seed={self.seed})"

    def set_epoch(self, epoch: int) -> None:
        """Re-seed the generator from ``(seed, epoch)``."""
        state = np.random.SeedSequence([self.seed, int(epoch)]).generate_state(2, dtype=np.uint32)
        self.generator.manual_seed(int(state[0]) << 32 | int(state[1]))

    def state_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "generator": self.generator.get_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.generator.set_state(state["generator"])

    def __call__(self, batch: Batch) -> Batch:
        for aug in self.augmentations:
            batch = aug(batch, self.generator)
        return batch


def _build_one(spec: str | Mapping[str, Any], num_classes: int | None) -> Augmentation:
    if isinstance(spec, str):
        name, params = spec, {}
    elif (
        isinstance(spec, Mapping)
        and set(spec) == {"name", "cfg"}
        and isinstance(spec["name"], str)
        and isinstance(spec["cfg"], Mapping)
    ):
        name, params = spec["name"], dict(spec["cfg"])  # the trainer config's {name, cfg} form
    elif isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
        name, params = spec["name"], {k: v for k, v in spec.items() if k != "name"}
    else:
        raise ParameterError(
            "An augmentation spec must be a name, {'name': ..., <parameters>} or "
            "{'name': ..., 'cfg': {...}}. "
            f"Got {spec!r}."
        )
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ParameterError(
            f"Unknown augmentation {name!r}.{hint} Known augmentations: {', '.join(list_augmentations())}."
        )
    cls = _REGISTRY[name]
    allowed = [
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    for key in params:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=2)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ParameterError(
                f"Augmentation '{name}' has no parameter {key!r}.{hint} Its parameters: {', '.join(allowed)}."
            )
    if cls is Mixup and params.get("num_classes") is None:
        params["num_classes"] = num_classes
    return cls(**params)


def build_augment(
    specs: Sequence[str | Mapping[str, Any]] | None, *, seed: int, num_classes: int | None = None
) -> AugmentPipeline:
    """Build an :class:`AugmentPipeline` from YAML-friendly specs, applied in list order.

    Parameters
    ----------
    specs : list of (str, {"name": str, <parameters>} or {"name": str, "cfg": {<parameters>}}) or None
        Each a registered name (:func:`list_augmentations`) with its parameters; None or [] = no-op.
    seed : int >= 0
        Seeds the pipeline's generator.
    num_classes : int or None
        Passed to ``mixup`` (needed to one-hot the labels).

    Raises
    ------
    ParameterError
        Unknown name or parameter (close matches are suggested) or a value out of range.

    Examples
    --------
    >>> pipe = build_augment([{"name": "specaugment", "time_masks": 1}, "mixup"], seed=0, num_classes=4)
    >>> [type(a).__name__ for a in pipe.augmentations]
    ['SpecAugment', 'Mixup']
    """
    if specs is None:
        specs = []
    if isinstance(specs, (str, Mapping)) or not isinstance(specs, Sequence):
        raise ParameterError(f"Augmentation specs must be a list of names or mappings. Got {specs!r}.")
    return AugmentPipeline([_build_one(s, num_classes) for s in specs], seed=seed)
