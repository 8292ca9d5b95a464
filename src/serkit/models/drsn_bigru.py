"""DRSN-BiGRU and its baselines, from the paper *Speech Emotion Recognition Based on Deep Residual
Shrinkage Network* (Han, Zhang, Ren, Dong, Jiang, Zhuang; *Electronics* 12, 2512, 2023;
``shared/papers/drsn-bigru-mel-spectrogram.txt``).

The paper's network (Section 3, Figures 4-5): a convolution layer, N = 5 residual shrinkage building units
(RSBU: BN, Mish, 3x3 conv, BN, Mish, 3x3 conv; a threshold sub-network |x| -> global average pooling -> FC
-> sigmoid alpha; threshold = alpha x mean|x| per channel; soft thresholding; identity shortcut), a BiGRU
over time, scaled dot-product self-attention and a fully connected classifier, on 40-band log-mel
spectrograms (hop 200 at 16 kHz: 80 frames per second; frontend ``logmel``). RMSprop 1e-4, batch 64,
160 epochs (training configs, not here).

What the paper leaves open, and what is chosen here (each a keyword argument):

- channel widths: ``channels=(16, 32, 32, 64, 64)``; the stem conv has ``channels[0]`` filters and a
  unit whose width changes from the previous one downsamples by 2 in frequency and time (stride-2 first
  conv and a 1x1 stride-2 conv on the shortcut, as in ResNet and the DRSN of Zhao et al. 2019).
- threshold sub-network: FC -> BN -> ReLU -> FC -> sigmoid, channel-wise (DRSN-CW of Zhao et al. 2019).
- BiGRU ``gru_hidden=128`` per direction, one layer; the self-attention output is mean-pooled over the
  real frames before the FC.
- a budget variant keeps the architecture and makes the image smaller early: ``stem_stride=2`` and/or
  ``pool_freq=2`` (max-pool over frequency after the stem), and narrower ``channels``.

Baselines the paper compares against (Section 5.2; it does not describe them, so they follow their usual
sources): ``drn_bigru`` (the same network with plain residual units, no shrinkage), ``dcnn_lstm`` (Zhao,
Mao & Chen 2019: four conv-BN-ELU-max-pool blocks, LSTM), ``cnn_bilstm`` (two conv blocks, BiLSTM).

Padding: the input image is zeroed past each length, re-zeroed after every unit, lengths follow every
stride, the GRU is packed and attention masks padded keys, so padding never changes an output (eval mode;
in training mode batch-norm statistics include the padded zeros, which length bucketing keeps small).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from serkit.errors import ParameterError
from serkit.models.base import Batch, SerModel, lengths_to_mask
from serkit.models.layers import (
    ConvBlock2d,
    MaskedSelfAttention,
    activation,
    check_min_freq,
    conv_out_lengths,
    mask_time,
    masked_mean,
    pad_time,
    run_rnn,
    soft_threshold,
)
from serkit.models.registry import register_model

__all__ = ["DCNNLSTM", "RSBU", "CNNBiLSTM", "DRNBiGRU", "DRSNBiGRU", "ThresholdNet"]

PAPER = "drsn-bigru-mel-spectrogram"
_INPUTS = {"mel": "frames"}
_DIMS = {"mel": 40}
_FPS = {"mel": 80.0}


def _masked_gap(x: Tensor, lengths: Tensor) -> Tensor:
    """Global average over (F, real T) of ``x (B, C, F, T)`` -> (B, C)."""
    mask = lengths_to_mask(lengths, x.shape[-1]).to(x.dtype)  # (B, T)
    total = (x * mask[:, None, None, :]).sum(dim=(2, 3))
    count = (mask.sum(1) * x.shape[2]).clamp(min=1.0)
    return total / count[:, None]


class ThresholdNet(nn.Module):
    """Learns one threshold per channel: ``thr = alpha * A`` with ``A = mean|x|`` over real positions and
    ``alpha = sigmoid(FC(ReLU(BN(FC(A)))))`` in (0, 1), so ``0 < thr < mean|x|`` (DRSN-CW)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(channels, channels),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            nn.Linear(channels, channels),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """(B, C, 1, 1) thresholds for ``x (B, C, F, T)``."""
        a = _masked_gap(x.abs(), lengths)
        alpha = self.fc(a)
        return (alpha * a)[:, :, None, None]


class RSBU(nn.Module):
    """Residual (shrinkage) building unit: BN-act-conv3x3-BN-act-conv3x3, soft threshold, + shortcut.

    ``shrinkage=False`` gives the plain residual unit of DRN-BiGRU.
    """

    def __init__(self, in_ch: int, out_ch: int, *, stride: int, act: str, shrinkage: bool) -> None:
        super().__init__()
        self.stride = stride
        self.bn1 = nn.BatchNorm2d(in_ch)
        self.act1 = activation(act)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.act2 = activation(act)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.threshold = ThresholdNet(out_ch) if shrinkage else None
        self.shortcut = (
            nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False)
            if stride != 1 or in_ch != out_ch
            else nn.Identity()
        )

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        new_lengths = conv_out_lengths(lengths, kernel=3, stride=self.stride, padding=1)
        h = mask_time(self.act1(self.bn1(x)), lengths)
        h = self.conv1(h)
        h = mask_time(self.act2(self.bn2(h)), new_lengths)
        h = mask_time(self.conv2(h), new_lengths)
        if self.threshold is not None:
            h = soft_threshold(h, self.threshold(h, new_lengths))
        return mask_time(h + self.shortcut(x), new_lengths), new_lengths


class _ResidualGRUNet(SerModel):
    _shrinkage = True

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        num_units: int = 5,
        channels: Sequence[int] = (16, 32, 32, 64, 64),
        act: Literal["mish", "relu"] = "mish",
        stem_stride: int = 1,
        pool_freq: int = 1,
        gru_hidden: int = 128,
        attention_dim: int = 256,
        dropout: float = 0.0,
        channels_last: bool = True,
    ) -> None:
        super().__init__(num_classes=num_classes, input_dims=input_dims)
        channels = [int(c) for c in channels]
        if len(channels) != num_units or num_units < 1:
            raise ParameterError(
                f"{self.model_name}: 'channels' needs one width per unit (num_units={num_units}). Got {channels}."
            )
        if stem_stride not in (1, 2) or pool_freq < 1:
            raise ParameterError(f"{self.model_name}: stem_stride must be 1 or 2 and pool_freq >= 1.")
        self.stem_stride = stem_stride
        self.pool_freq = pool_freq
        self.channels_last = channels_last
        self.stem = nn.Conv2d(1, channels[0], 3, stride=stem_stride, padding=1, bias=False)
        self.freq_pool = nn.MaxPool2d((pool_freq, 1)) if pool_freq > 1 else nn.Identity()
        units = []
        in_ch, f = channels[0], self.input_dims["mel"]
        f = (f - 1) // stem_stride + 1
        check_min_freq(self.model_name, f, [pool_freq])
        f //= pool_freq
        for out_ch in channels:
            stride = 1 if out_ch == in_ch else 2
            units.append(RSBU(in_ch, out_ch, stride=stride, act=act, shrinkage=self._shrinkage))
            f = (f - 1) // stride + 1
            in_ch = out_ch
        self.units = nn.ModuleList(units)
        self.min_frames = stem_stride * 2 ** sum(u.stride == 2 for u in units)
        self.bn_out = nn.BatchNorm2d(in_ch)
        self.act_out = activation(act)
        self.gru = nn.GRU(in_ch * f, gru_hidden, batch_first=True, bidirectional=True)
        self.attention = MaskedSelfAttention(2 * gru_hidden, attention_dim)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(attention_dim, num_classes)

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        x, lengths = self.frames(batch, "mel")
        x = pad_time(x, self.min_frames)
        img = mask_time(x.transpose(1, 2), lengths).unsqueeze(1)  # (B, 1, F, T)
        if self.channels_last:
            img = img.contiguous(memory_format=torch.channels_last)
        h = self.stem(img)
        lengths = conv_out_lengths(lengths, kernel=3, stride=self.stem_stride, padding=1)
        h = self.freq_pool(mask_time(h, lengths))
        for unit in self.units:
            h, lengths = unit(h, lengths)
        h = mask_time(self.act_out(self.bn_out(h)), lengths)
        b, c, f, t = h.shape
        seq = h.permute(0, 3, 1, 2).reshape(b, t, c * f)  # (B, T', C*F')
        mask = lengths_to_mask(lengths.clamp(min=1), t)
        out, _ = run_rnn(self.gru, seq, lengths)
        att = self.attention(out, mask)
        return {"logits": self.fc(self.dropout(masked_mean(att, mask)))}


@register_model("drsn_bigru", paper=PAPER, inputs=_INPUTS, typical_dims=_DIMS, typical_fps=_FPS)
class DRSNBiGRU(_ResidualGRUNet):
    """DRSN-BiGRU: conv stem, 5 residual shrinkage units (soft thresholding), BiGRU, self-attention, FC."""

    _shrinkage = True


@register_model("drn_bigru", paper=PAPER, inputs=_INPUTS, typical_dims=_DIMS, typical_fps=_FPS)
class DRNBiGRU(_ResidualGRUNet):
    """DRN-BiGRU baseline: DRSN-BiGRU with plain residual units (no threshold sub-network, no shrinkage)."""

    _shrinkage = False


class _ConvRecurrent(SerModel):
    """Conv blocks over the (F, T) image, then a recurrent layer over time."""

    def _build(
        self,
        channels: Sequence[int],
        pool_freq: int,
        pool_time: int,
        act: str,
        rnn_hidden: int,
        bidirectional: bool,
        cell: str,
    ) -> None:
        channels = [int(c) for c in channels]
        blocks, in_ch = [], 1
        for c in channels:
            blocks.append(ConvBlock2d(in_ch, c, pool=(pool_freq, pool_time), act=act))
            in_ch = c
        self.blocks = nn.ModuleList(blocks)
        self.min_frames = pool_time ** len(channels)
        check_min_freq(self.model_name, self.input_dims["mel"], [pool_freq] * len(channels))
        f = self.input_dims["mel"]
        for _ in channels:
            f //= pool_freq
        rnn_cls = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = rnn_cls(in_ch * f, rnn_hidden, batch_first=True, bidirectional=bidirectional)

    def _encode(self, batch: Batch) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        x, lengths = self.frames(batch, "mel")
        x = pad_time(x, self.min_frames)
        h = mask_time(x.transpose(1, 2), lengths).unsqueeze(1)
        if getattr(self, "channels_last", False):
            h = h.contiguous(memory_format=torch.channels_last)
        for block in self.blocks:
            h, lengths = block(h, lengths)
        b, c, f, t = h.shape
        seq = h.permute(0, 3, 1, 2).reshape(b, t, c * f)
        out, last = run_rnn(self.rnn, seq, lengths)
        return out, last, lengths_to_mask(lengths.clamp(min=1), t), lengths


@register_model("dcnn_lstm", paper=PAPER, inputs=_INPUTS, typical_dims=_DIMS, typical_fps=_FPS)
class DCNNLSTM(_ConvRecurrent):
    """DCNN-LSTM baseline (Zhao, Mao & Chen 2019, 2-D CNN LSTM): 4 conv-BN-ELU-max-pool blocks, LSTM, FC.

    The LSTM's final state at the last real frame feeds the classifier.
    """

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        channels: Sequence[int] = (64, 64, 128, 128),
        pool_freq: int = 2,
        pool_time: int = 2,
        lstm_hidden: int = 256,
        act: Literal["elu", "relu", "mish"] = "elu",
        channels_last: bool = True,
    ) -> None:
        super().__init__(num_classes=num_classes, input_dims=input_dims)
        self.channels_last = channels_last
        self._build(channels, pool_freq, pool_time, act, lstm_hidden, False, "lstm")
        self.fc = nn.Linear(lstm_hidden, num_classes)

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        _, last, _, _ = self._encode(batch)
        return {"logits": self.fc(last)}


@register_model("cnn_bilstm", paper=PAPER, inputs=_INPUTS, typical_dims=_DIMS, typical_fps=_FPS)
class CNNBiLSTM(_ConvRecurrent):
    """CNN-BiLSTM baseline: 2 conv-BN-ReLU-max-pool blocks, BiLSTM, mean over real frames, FC."""

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        channels: Sequence[int] = (32, 64),
        pool_freq: int = 2,
        pool_time: int = 2,
        lstm_hidden: int = 128,
        act: Literal["relu", "elu", "mish"] = "relu",
        dropout: float = 0.0,
        channels_last: bool = True,
    ) -> None:
        super().__init__(num_classes=num_classes, input_dims=input_dims)
        self.channels_last = channels_last
        self._build(channels, pool_freq, pool_time, act, lstm_hidden, True, "lstm")
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(2 * lstm_hidden, num_classes)

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        out, _, mask, _ = self._encode(batch)
        return {"logits": self.fc(self.dropout(masked_mean(out, mask)))}
