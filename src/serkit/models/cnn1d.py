"""A compact 1-D CNN over log-mel frames: serkit's own from-scratch baseline and the distillation student
of the shipped default model (``serkit predict``).

Not from one of the five seed papers: the survey (``survey-audio-emotion-classification``) reviews 1-D
CNNs over spectral frames in general; this is the plainest strong form of one, chosen because it is cheap
on a CPU (1-D convolutions over time with the mel bands as channels cost about a twentieth of a 2-D CNN
over the same spectrogram) and exports to ONNX as one graph.

``serkit_cnn1d``: ``len(channels)`` blocks of [Conv1d (kernel ``kernel_size``, same padding) -> BatchNorm
-> ReLU -> max-pool 2] over time, then masked mean + std over the real frames, dropout, a linear layer.
Defaults (64 log-mel bands; channels 64-128-128-128) give about 0.24 M parameters. Padding never changes
the output: every block zeroes the frames past each example's length before its convolution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from serkit.errors import ParameterError
from serkit.models.base import Batch, SerModel, lengths_to_mask
from serkit.models.layers import conv_out_lengths, mask_time, masked_mean, masked_std, pad_time
from serkit.models.registry import register_model

__all__ = ["CNN1D"]

PAPER = "serkit (compact 1-D CNN on log-mel; survey-audio-emotion-classification reviews the family)"


@register_model(
    "serkit_cnn1d",
    paper=PAPER,
    inputs={"mel": "frames"},
    typical_dims={"mel": 64},
    typical_fps={"mel": 80.0},
)
class CNN1D(SerModel):
    """1-D CNN over time (mel bands as channels), masked mean+std pooling, linear output.

    Parameters
    ----------
    channels : sequence of int >= 1
        Output channels of each block; each block halves the frame rate.
    kernel_size : odd int >= 1
        Convolution width in frames.
    dropout : float in [0, 1)
        Before the output layer.
    """

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        channels: Sequence[int] = (64, 128, 128, 128),
        kernel_size: int = 5,
        dropout: float = 0.3,
    ) -> None:
        super().__init__(num_classes=num_classes, input_dims=input_dims)
        channels = [int(c) for c in channels]
        if not channels or min(channels) < 1:
            raise ParameterError(
                f"{self.model_name}: 'channels' needs one or more widths >= 1. Got {channels}."
            )
        if int(kernel_size) < 1 or int(kernel_size) % 2 == 0:
            raise ParameterError(
                f"{self.model_name}: 'kernel_size' must be an odd int >= 1. Got {kernel_size!r}."
            )
        if not 0.0 <= float(dropout) < 1.0:
            raise ParameterError(f"{self.model_name}: 'dropout' must be in [0, 1). Got {dropout!r}.")
        self.kernel_size = int(kernel_size)
        blocks = []
        width = self.input_dims["mel"]
        for c in channels:
            blocks.append(
                nn.Sequential(
                    nn.Conv1d(width, c, self.kernel_size, padding=self.kernel_size // 2, bias=False),
                    nn.BatchNorm1d(c),
                    nn.ReLU(),
                )
            )
            width = c
        self.blocks = nn.ModuleList(blocks)
        self.pool = nn.MaxPool1d(2)
        self.dropout = nn.Dropout(float(dropout))
        self.out = nn.Linear(2 * width, num_classes)
        self.min_len = 2 ** len(channels)  # one frame left after every pooling

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        x, lengths = self.frames(batch, "mel")
        h = pad_time(x, self.min_len).transpose(1, 2)  # (B, F, T)
        for block in self.blocks:
            h = self.pool(block(mask_time(h, lengths)))
            lengths = conv_out_lengths(lengths, kernel=2, stride=2)
        seq = h.transpose(1, 2)  # (B, T', C)
        mask = lengths_to_mask(lengths.clamp(min=1), seq.shape[1])
        pooled = torch.cat([masked_mean(seq, mask), masked_std(seq, mask)], dim=-1)
        return {"logits": self.out(self.dropout(pooled))}
