"""Multi-input MelSpec + GeMAPS network and its single-input variants, from the paper *Multi-Input Speech
Emotion Recognition Model Using Mel Spectrogram and GeMAPS* (Toyoshima, Okada, Ishimaru, Uchiyama, Tada;
*Sensors* 23, 1743, 2023; ``shared/papers/multi-input-melspec-gemaps-focal-loss.txt``).

The paper (Section 3.3, Figure 1):

- MelSpec feature extraction part (MFEP): a 128 x 376 mel-spectrogram image (librosa, 3 s windows;
  frontend ``melimage``) through CNN I (64 filters), three CNN II (64, 128, 256) and CNN III (512), each
  a 3x3 stride-1 convolution, batch normalisation and a 2x2 stride-2 max-pool, ReLU; flatten; two dense
  layers of 512.
- GeMAPS feature extraction part (GFEP): the 88 GeMAPS functionals (frontend ``gemaps``) through five
  dense layers of 88, 128, 256, 512 and 512 units with batch normalisation and ReLU.
- Emotion recognition part (ERP): the two 512-d outputs concatenated (1024), dense layers, softmax
  (the softmax lives in the loss here; the model returns logits). Adam; focal loss alpha 0.5, gamma 4.

What the paper leaves open, and what is chosen here: the ERP has one hidden dense layer of 512
(``head_units``); the order inside a CNN block is conv -> BN -> ReLU -> max-pool.

Variable length: ``time_pooling="flatten"`` (default, faithful) crops or zero-pads the mel input to
``n_frames=376`` frames and flattens the final feature map, as the paper's fixed-size image needs (a
longer utterance keeps its first ``n_frames`` frames; the trainer's crop decides which part that is).
``time_pooling="mean"`` averages the final map over its real frames instead, so any length works and the
first dense layer is much smaller (the budget variant). In both, frames past an utterance's length are
zeroed after every block, so padding never changes an output (eval mode).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from serkit.errors import ParameterError
from serkit.models.base import Batch, SerModel, lengths_to_mask
from serkit.models.layers import ConvBlock2d, check_min_freq, freq_out, mask_time, masked_mean, pad_time
from serkit.models.registry import register_model

__all__ = ["GemapsBranch", "GemapsOnly", "MelBranch", "MelSpecGemaps", "MelSpecOnly"]

PAPER = "multi-input-melspec-gemaps-focal-loss"
_DIMS = {"mel": 128, "gemaps": 88}
_FPS = {"mel": 125.0}  # librosa-default hop of the paper's 128 x 376 images of 3 s (376 frames / 3 s)


def _mlp(dims: Sequence[int], *, batch_norm: bool, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(dims):
        layers.append(nn.Linear(a, b))
        if batch_norm:
            layers.append(nn.BatchNorm1d(b))
        layers.append(nn.ReLU())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class MelBranch(nn.Module):
    """MFEP: conv blocks over the (F, T) mel image, flatten (fixed ``n_frames``) or mean over time, 2 dense."""

    def __init__(
        self,
        n_mels: int,
        *,
        channels: Sequence[int],
        dense_units: Sequence[int],
        time_pooling: str,
        n_frames: int,
        channels_last: bool,
        name: str,
    ) -> None:
        super().__init__()
        if time_pooling not in ("flatten", "mean"):
            raise ParameterError(f"{name}: time_pooling must be 'flatten' or 'mean'. Got {time_pooling!r}.")
        channels = [int(c) for c in channels]
        check_min_freq(name, n_mels, [2] * len(channels))
        self.time_pooling = time_pooling
        self.n_frames = int(n_frames)
        self.channels_last = channels_last
        self.min_frames = 2 ** len(channels)
        if time_pooling == "flatten" and self.n_frames < self.min_frames:
            raise ParameterError(f"{name}: n_frames must be >= {self.min_frames}. Got {n_frames}.")
        blocks, in_ch = [], 1
        for c in channels:
            blocks.append(ConvBlock2d(in_ch, c, pool=(2, 2), act="relu"))
            in_ch = c
        self.blocks = nn.ModuleList(blocks)
        f = freq_out(n_mels, [2] * len(channels))
        flat = in_ch * f * (freq_out(self.n_frames, [2] * len(channels)) if time_pooling == "flatten" else 1)
        self.dense = _mlp([flat, *[int(u) for u in dense_units]], batch_norm=False, dropout=0.0)
        self.out_dim = int(dense_units[-1]) if dense_units else flat

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        if self.time_pooling == "flatten":
            x = x[:, : self.n_frames]
            lengths = lengths.clamp(max=self.n_frames)
            x = pad_time(x, self.n_frames)
        else:
            x = pad_time(x, self.min_frames)
        h = mask_time(x.transpose(1, 2), lengths).unsqueeze(1)  # (B, 1, F, T)
        if self.channels_last:
            h = h.contiguous(memory_format=torch.channels_last)
        for block in self.blocks:
            h, lengths = block(h, lengths)
        b, c, f, t = h.shape
        if self.time_pooling == "flatten":
            flat = h.permute(0, 3, 1, 2).reshape(b, -1)  # time-major flatten of the masked map
        else:
            flat = masked_mean(h.permute(0, 3, 1, 2).reshape(b, t, c * f), lengths_to_mask(lengths, t))
        return self.dense(flat)


class GemapsBranch(nn.Module):
    """GFEP: dense layers (88-128-256-512-512 by default), each with batch norm and ReLU."""

    def __init__(self, in_dim: int, *, units: Sequence[int], dropout: float) -> None:
        super().__init__()
        units = [int(u) for u in units]
        self.mlp = _mlp([in_dim, *units], batch_norm=True, dropout=dropout)
        self.out_dim = units[-1] if units else in_dim

    def forward(self, x: Tensor) -> Tensor:
        return self.mlp(x)


def _head(in_dim: int, units: Sequence[int], num_classes: int, dropout: float) -> nn.Sequential:
    units = [int(u) for u in units]
    return nn.Sequential(
        _mlp([in_dim, *units], batch_norm=False, dropout=dropout),
        nn.Linear(units[-1] if units else in_dim, num_classes),
    )


@register_model(
    "melspec_gemaps",
    paper=PAPER,
    inputs={"mel": "frames", "gemaps": "vector"},
    typical_dims=_DIMS,
    typical_fps=_FPS,
)
class MelSpecGemaps(SerModel):
    """MelSpec + GeMAPS multi-input network: CNN on the mel image, DNN on GeMAPS, concat (1024), dense, softmax."""

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        mel_channels: Sequence[int] = (64, 64, 128, 256, 512),
        mel_dense: Sequence[int] = (512, 512),
        gemaps_units: Sequence[int] = (88, 128, 256, 512, 512),
        head_units: Sequence[int] = (512,),
        time_pooling: Literal["flatten", "mean"] = "flatten",
        n_frames: int = 376,
        dropout: float = 0.0,
        channels_last: bool = True,
    ) -> None:
        super().__init__(num_classes=num_classes, input_dims=input_dims)
        self.mel = MelBranch(
            self.input_dims["mel"],
            channels=mel_channels,
            dense_units=mel_dense,
            time_pooling=time_pooling,
            n_frames=n_frames,
            channels_last=channels_last,
            name=self.model_name,
        )
        self.gemaps = GemapsBranch(self.input_dims["gemaps"], units=gemaps_units, dropout=dropout)
        self.head = _head(self.mel.out_dim + self.gemaps.out_dim, head_units, num_classes, dropout)

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        x, lengths = self.frames(batch, "mel")
        z = torch.cat([self.mel(x, lengths), self.gemaps(self.vector(batch, "gemaps"))], dim=-1)
        return {"logits": self.head(z)}


@register_model("melspec_only", paper=PAPER, inputs={"mel": "frames"}, typical_dims=_DIMS, typical_fps=_FPS)
class MelSpecOnly(SerModel):
    """MelSpec-only variant: the mel branch (MFEP) and the dense classifier."""

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        mel_channels: Sequence[int] = (64, 64, 128, 256, 512),
        mel_dense: Sequence[int] = (512, 512),
        head_units: Sequence[int] = (512,),
        time_pooling: Literal["flatten", "mean"] = "flatten",
        n_frames: int = 376,
        dropout: float = 0.0,
        channels_last: bool = True,
    ) -> None:
        super().__init__(num_classes=num_classes, input_dims=input_dims)
        self.mel = MelBranch(
            self.input_dims["mel"],
            channels=mel_channels,
            dense_units=mel_dense,
            time_pooling=time_pooling,
            n_frames=n_frames,
            channels_last=channels_last,
            name=self.model_name,
        )
        self.head = _head(self.mel.out_dim, head_units, num_classes, dropout)

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        x, lengths = self.frames(batch, "mel")
        return {"logits": self.head(self.mel(x, lengths))}


@register_model("gemaps_only", paper=PAPER, inputs={"gemaps": "vector"}, typical_dims=_DIMS)
class GemapsOnly(SerModel):
    """GeMAPS-only variant: the GeMAPS branch (GFEP) and the dense classifier."""

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        gemaps_units: Sequence[int] = (88, 128, 256, 512, 512),
        head_units: Sequence[int] = (512,),
        dropout: float = 0.0,
    ) -> None:
        super().__init__(num_classes=num_classes, input_dims=input_dims)
        self.gemaps = GemapsBranch(self.input_dims["gemaps"], units=gemaps_units, dropout=dropout)
        self.head = _head(self.gemaps.out_dim, head_units, num_classes, dropout)

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        return {"logits": self.head(self.gemaps(self.vector(batch, "gemaps")))}
