"""What every serkit network consumes and returns: :class:`Batch`, :class:`SerModel`, masks.

A batch carries several named feature *streams*. A ``"frames"`` stream is a zero-padded, time-major
tensor (B, T, F) with its valid lengths; a ``"vector"`` stream is one vector per example (B, F).
A model declares the stream *roles* it reads (``{"mel": "frames", "gemaps": "vector"}``) when it is
registered; ``model.stream_names`` maps each role to the batch stream name (by default the same name).

Every model's ``forward(batch)`` returns a dict with ``"logits"`` (B, num_classes) and, when built with
``regression=True``, ``"score"`` (B,). Padding never changes an output: convolutions see zeros past each
length, time-downsampling recomputes lengths, recurrent layers are packed, attention and pooling are masked.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from serkit.errors import ParameterError

__all__ = ["Batch", "SerModel", "lengths_to_mask"]


def lengths_to_mask(lengths: Tensor, max_len: int) -> Tensor:
    """Boolean mask of real frames.

    Parameters
    ----------
    lengths : torch.Tensor [shape=(B,)], int
        Valid frames per example, ``0 <= lengths[i] <= max_len``.
    max_len : int >= 0
        Padded length T.

    Returns
    -------
    torch.Tensor [shape=(B, max_len)], bool
        True on real frames, False on padding; on ``lengths``' device.

    Examples
    --------
    >>> lengths_to_mask(torch.tensor([2, 1]), 3).tolist()
    [[True, True, False], [True, False, False]]
    """
    return torch.arange(int(max_len), device=lengths.device)[None, :] < lengths.to(torch.long)[:, None]


@dataclass
class Batch:
    """Several named feature streams for B examples, plus targets.

    Attributes
    ----------
    streams : dict[str, torch.Tensor]
        name -> (B, T, F) float32 zero-padded for ``"frames"`` streams, (B, F) float32 for ``"vector"``.
    lengths : dict[str, torch.Tensor]
        name -> (B,) int64 valid frames; only for ``"frames"`` streams.
    labels : torch.Tensor [shape=(B,)], int64, optional
        Class indices.
    scores : torch.Tensor [shape=(B,)], float32, optional
        Continuous target (regression), when present.
    ids : list[str]
        Utterance ids, in batch order.
    """

    streams: dict[str, Tensor]
    lengths: dict[str, Tensor] = field(default_factory=dict)
    labels: Tensor | None = None
    scores: Tensor | None = None
    ids: list[str] = field(default_factory=list)

    def to(self, device: torch.device | str) -> Batch:
        """A copy with every tensor on ``device`` (lengths too: packing moves them to CPU itself)."""
        return Batch(
            streams={k: v.to(device) for k, v in self.streams.items()},
            lengths={k: v.to(device) for k, v in self.lengths.items()},
            labels=None if self.labels is None else self.labels.to(device),
            scores=None if self.scores is None else self.scores.to(device),
            ids=list(self.ids),
        )

    @property
    def batch_size(self) -> int:
        """B, from the first stream."""
        return int(next(iter(self.streams.values())).shape[0])

    def mask(self, name: str) -> Tensor:
        """(B, T) bool mask of real frames of frames stream ``name``."""
        x = self.streams[name]
        if name in self.lengths:
            return lengths_to_mask(self.lengths[name], x.shape[1])
        return torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)


class SerModel(nn.Module):
    """Base class of every registered network.

    Subclasses take ``num_classes`` and ``input_dims`` (role -> feature dim F) plus their own keyword-only,
    typed hyperparameters (defaults = the paper's values), and call ``super().__init__(num_classes=...,
    input_dims=...)`` first. The registry sets the class attributes ``model_name``, ``inputs`` and ``paper``.

    ``model.config`` holds everything needed to rebuild the model:
    ``{"name", "num_classes", "input_dims", "cfg", "stream_names"}`` so that
    ``create_model(**model.config)`` gives a model with identical parameter shapes.
    """

    model_name: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    inputs: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _recording_init(cls.__dict__["__init__"])  # type: ignore[method-assign]

    def __init__(self, *, num_classes: int, input_dims: Mapping[str, int]) -> None:
        super().__init__()
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
            raise ParameterError(
                f"The 'num_classes' parameter of {type(self).__name__} must be an int >= 1. Got {num_classes!r}."
            )
        missing = [r for r in self.inputs if r not in input_dims]
        if missing:
            raise ParameterError(
                f"{type(self).__name__} needs input_dims for its input(s) {missing}; it reads "
                f"{dict(self.inputs)}. Got input_dims={dict(input_dims)}."
            )
        for role in self.inputs:
            d = input_dims[role]
            if not isinstance(d, int) or isinstance(d, bool) or d < 1:
                raise ParameterError(f"input_dims['{role}'] must be an int >= 1. Got {d!r}.")
        self.num_classes = num_classes
        self.input_dims = {r: int(input_dims[r]) for r in self.inputs}
        self.stream_names: dict[str, str] = {r: r for r in self.inputs}

    # ---- helpers for subclasses --------------------------------------------------------------------
    def frames(self, batch: Batch, role: str) -> tuple[Tensor, Tensor]:
        """(x (B, T, F), lengths (B,) int64) of frames role ``role``; lengths = T when the batch has none."""
        name = self.stream_names[role]
        if name not in batch.streams:
            raise ParameterError(
                f"{self.model_name or type(self).__name__} reads stream '{name}' (role '{role}'); the batch "
                f"has {sorted(batch.streams)}. Name the stream '{name}' in the config's inputs."
            )
        x = batch.streams[name]
        if name in batch.lengths:
            lengths = batch.lengths[name].to(device=x.device, dtype=torch.long)
        else:
            lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.long, device=x.device)
        return x, lengths

    def vector(self, batch: Batch, role: str) -> Tensor:
        """(B, F) vector stream of role ``role``."""
        name = self.stream_names[role]
        if name not in batch.streams:
            raise ParameterError(
                f"{self.model_name or type(self).__name__} reads stream '{name}' (role '{role}'); the batch "
                f"has {sorted(batch.streams)}. Name the stream '{name}' in the config's inputs."
            )
        return batch.streams[name]

    # ---- description -------------------------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        """Everything needed to rebuild this model with ``create_model(**model.config)``."""
        recorded: dict[str, Any] = dict(getattr(self, "_init_kwargs", {}))
        cfg = {k: v for k, v in recorded.items() if k not in ("num_classes", "input_dims")}
        return {
            "name": self.model_name,
            "num_classes": self.num_classes,
            "input_dims": dict(self.input_dims),
            "cfg": cfg,
            "stream_names": dict(self.stream_names),
        }

    def num_parameters(self, *, trainable_only: bool = False) -> int:
        """Number of parameters (all, or only those with ``requires_grad``)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def forward(self, batch: Batch) -> dict[str, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError


def _recording_init(init: Any) -> Any:
    """Wrap a subclass ``__init__`` so the outermost call records its keyword arguments (for ``config``)."""

    @functools.wraps(init)
    def wrapper(self: nn.Module, *args: Any, **kwargs: Any) -> None:
        outermost = not self.__dict__.get("_recording", False)
        if outermost:
            object.__setattr__(self, "_recording", True)
        try:
            init(self, *args, **kwargs)
        finally:
            if outermost:
                object.__setattr__(self, "_recording", False)
        if outermost:
            import inspect

            bound = inspect.signature(init).bind(self, *args, **kwargs)
            bound.apply_defaults()
            rec = {k: v for k, v in bound.arguments.items() if k != "self"}
            rec = {k: _plain(v) for k, v in rec.items()}
            object.__setattr__(self, "_init_kwargs", rec)

    return wrapper


def _plain(v: Any) -> Any:
    """Tuples -> lists, mappings -> dicts, so a config is JSON/YAML-friendly."""
    if isinstance(v, Mapping):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v
