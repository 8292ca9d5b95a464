"""MFCC 1-D CNN and simple RNN, from the paper *Speech Emotion Recognition using MFCC features and deep
neural networks on RAVDESS* (``shared/papers/mfcc-cnn-rnn-ravdess.txt``).

The paper (Section III.c, Tables 3-4): 80 MFCCs (frontend ``mfcc``, librosa defaults: 31.25 frames per
second at 16 kHz); hyperparameters by randomized search (scikit-learn ``RandomizedSearchCV``); 500 epochs;
RMSprop, learning rate 0.005.

- ``mfcc_cnn1d`` (Table 4): Conv1D 20 filters of size 3, ReLU, max-pool 3, dropout 0.25, Conv1D 10 filters
  of size 3, ReLU, max-pool 3, global average pooling, dense output.
- ``mfcc_rnn`` (Table 3): a SimpleRNN of 16 units (many-to-one), global average pooling, dense output.

Table 4's shapes (80 -> 78 -> 26 -> 24 -> 8) show that the paper convolves along the 80 *coefficients*
of one MFCC vector per utterance (the time-averaged MFCCs, one input channel): that is
``sequence_axis="coefficients"`` (default, faithful; the frames are first averaged over the real frames).
``sequence_axis="time"`` convolves (or recurs) along the frames instead, with the MFCCs as input channels,
and pools over the real frames. The cfg exposes what the paper searched: ``filters``, ``kernel_size``,
``pool_size``, ``dropout``, ``units``. The search itself belongs to the training configs (speaker-grouped
inner folds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from serkit.errors import ParameterError
from serkit.models.base import Batch, SerModel, lengths_to_mask
from serkit.models.layers import conv_out_lengths, mask_time, masked_mean, pad_time, run_rnn
from serkit.models.registry import register_model

__all__ = ["MfccCNN1D", "MfccRNN"]

PAPER = "mfcc-cnn-rnn-ravdess"
_INPUTS = {"mfcc": "frames"}
_DIMS = {"mfcc": 80}
_FPS = {"mfcc": 31.25}


def _check_axis(name: str, axis: str) -> None:
    if axis not in ("coefficients", "time"):
        raise ParameterError(f"{name}: sequence_axis must be 'coefficients' or 'time'. Got {axis!r}.")


def _sequence(model: SerModel, batch: Batch, axis: str) -> tuple[Tensor, Tensor]:
    """(B, C, L) channels-first sequence and its lengths, along ``axis``."""
    x, lengths = model.frames(batch, "mfcc")
    if axis == "coefficients":
        v = masked_mean(x, lengths_to_mask(lengths, x.shape[1]))  # (B, F): time-averaged MFCCs
        return v.unsqueeze(1), torch.full((v.shape[0],), v.shape[1], dtype=torch.long, device=v.device)
    return mask_time(x.transpose(1, 2), lengths), lengths


@register_model("mfcc_cnn1d", paper=PAPER, inputs=_INPUTS, typical_dims=_DIMS, typical_fps=_FPS)
class MfccCNN1D(SerModel):
    """MFCC 1-D CNN: Conv1D 20 k3, max-pool 3, dropout .25, Conv1D 10 k3, max-pool 3, global average pool, dense."""

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        filters: Sequence[int] = (20, 10),
        kernel_size: int = 3,
        pool_size: int = 3,
        dropout: float = 0.25,
        sequence_axis: Literal["coefficients", "time"] = "coefficients",
    ) -> None:
        super().__init__(num_classes=num_classes, input_dims=input_dims)
        _check_axis(self.model_name, sequence_axis)
        filters = [int(f) for f in filters]
        if len(filters) != 2:
            raise ParameterError(
                f"{self.model_name}: 'filters' needs two widths (two Conv1D). Got {filters}."
            )
        self.sequence_axis = sequence_axis
        self.kernel_size, self.pool_size = kernel_size, pool_size
        in_ch = 1 if sequence_axis == "coefficients" else self.input_dims["mfcc"]
        self.conv1 = nn.Conv1d(in_ch, filters[0], kernel_size)
        self.conv2 = nn.Conv1d(filters[0], filters[1], kernel_size)
        self.pool = nn.MaxPool1d(pool_size)
        self.act = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(filters[1], num_classes)
        # Shortest sequence that leaves one position after conv, pool, conv, pool.
        self.min_len = pool_size * (pool_size + kernel_size - 1) + kernel_size - 1
        if sequence_axis == "coefficients" and self.input_dims["mfcc"] < self.min_len:
            raise ParameterError(
                f"{self.model_name}: {self.input_dims['mfcc']} coefficients are fewer than the {self.min_len} "
                f"that two conv + pool stages need; use sequence_axis='time' or more MFCCs."
            )

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        x, lengths = _sequence(self, batch, self.sequence_axis)
        x = pad_time(x, self.min_len, time_dim=2)
        k, p = self.kernel_size, self.pool_size
        h = self.act(self.conv1(x))
        lengths = conv_out_lengths(lengths, kernel=k)
        h = self.dropout(self.pool(h))
        lengths = conv_out_lengths(lengths, kernel=p, stride=p)
        h = self.act(self.conv2(mask_time(h, lengths)))
        lengths = conv_out_lengths(lengths, kernel=k)
        h = self.pool(h)
        lengths = conv_out_lengths(lengths, kernel=p, stride=p)
        pooled = masked_mean(h.transpose(1, 2), lengths_to_mask(lengths.clamp(min=1), h.shape[2]))
        return {"logits": self.out(pooled)}


@register_model("mfcc_rnn", paper=PAPER, inputs=_INPUTS, typical_dims=_DIMS, typical_fps=_FPS)
class MfccRNN(SerModel):
    """MFCC simple RNN: SimpleRNN (16 tanh units, many-to-one), global average pooling, dense output."""

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        units: int = 16,
        dropout: float = 0.0,
        sequence_axis: Literal["coefficients", "time"] = "coefficients",
    ) -> None:
        super().__init__(num_classes=num_classes, input_dims=input_dims)
        _check_axis(self.model_name, sequence_axis)
        self.sequence_axis = sequence_axis
        in_dim = 1 if sequence_axis == "coefficients" else self.input_dims["mfcc"]
        self.rnn = nn.RNN(in_dim, units, batch_first=True, nonlinearity="tanh")
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(units, num_classes)

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        x, lengths = _sequence(self, batch, self.sequence_axis)
        seq = x.transpose(1, 2)  # (B, L, C)
        out, _ = run_rnn(self.rnn, seq, lengths)
        pooled = masked_mean(out, lengths_to_mask(lengths.clamp(min=1), seq.shape[1]))
        return {"logits": self.out(self.dropout(pooled))}
