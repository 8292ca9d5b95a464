"""Bi-GRU + multi-head attention network and the eight baselines it is compared with, from the paper
*A New Network Structure for Speech Emotion Recognition Research* (Xu, Liu, Song, Liang, Chen;
*Sensors* 24, 1429, 2024; ``shared/papers/bigru-multi-head-attention.txt``).

The paper (Section 2, Figure 1, Algorithm 1, Table 2): log-power spectrograms (40 ms Hamming windows,
10 ms hop, 1600-point DFT, 0-4 kHz: 401 bins, z-normalised; frontend ``logspec``, 100 frames per second)
sorted by length and zero-padded per batch; CNN layers for local patterns; two Bi-GRU layers; multi-head
attention (4, 8, 16 or 32 heads: 16 best on IEMOCAP, 8 on Emo-DB; attention dropout 0.2); two fully
connected layers (output dropout 0.3 on IEMOCAP, 0.2 on Emo-DB) and softmax; ReLU; Adam; L1 loss for
the continuous (sentiment) score.

What the paper leaves open, and what is chosen here (keyword arguments): the CNN is two conv-BN-ReLU-max-pool
blocks of ``cnn_channels=(16, 32)`` with pooling ``(pool_freq=4, pool_time=2)`` each (401 bins -> 25,
time / 4); Bi-GRU ``gru_hidden=128`` per direction; attention over the 256-d Bi-GRU outputs; the attended
sequence is averaged over real frames; the first FC has ``fc_hidden=128`` units. ``regression=True`` adds a
linear ``"score"`` output (B,) on the same hidden layer, beside the logits.

Baselines (Table 6), registered as ``bigru_mha_baseline_<name>``; each uses the same spectrogram input,
the same masked mean over time and the same two-FC head, and only the named parts:

======================================  ================================================================
``bigru_mha_baseline_cnn``              CNN blocks
``bigru_mha_baseline_lstm``             2-layer LSTM
``bigru_mha_baseline_rnn``              2-layer Elman RNN (tanh)
``bigru_mha_baseline_cnn_lstm``         CNN blocks, 2-layer LSTM
``bigru_mha_baseline_bigru``            2-layer Bi-GRU (the paper's reference baseline)
``bigru_mha_baseline_self_attention``   linear projection, single-head scaled dot-product self-attention
``bigru_mha_baseline_bigru_self_attention``  2-layer Bi-GRU, single-head self-attention
``bigru_mha_baseline_mha``              linear projection, multi-head attention
======================================  ================================================================

Padding: convolutions see zeros past each length and lengths follow the pooling; recurrent layers are
packed; attention masks padded keys; pooling is over real frames only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from serkit.errors import ParameterError
from serkit.models.base import Batch, SerModel, lengths_to_mask
from serkit.models.layers import (
    ConvBlock2d,
    MaskedMultiHeadSelfAttention,
    MaskedSelfAttention,
    check_min_freq,
    freq_out,
    mask_time,
    masked_mean,
    pad_time,
    run_rnn,
)
from serkit.models.registry import register_model

__all__ = ["BiGRUMHA", "SpecSequenceNet"]

PAPER = "bigru-multi-head-attention"
_INPUTS = {"spec": "frames"}
_DIMS = {"spec": 401}
_FPS = {"spec": 100.0}
_CELLS = {"lstm": nn.LSTM, "rnn": nn.RNN, "gru": nn.GRU}


class SpecSequenceNet(SerModel):
    """Configurable spectrogram network: [CNN] -> [recurrent] -> [attention] -> masked mean -> FC-ReLU-FC.

    Not registered itself: each registered subclass fixes which parts exist and exposes the rest.
    """

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        cnn_channels: Sequence[int] = (),
        pool_freq: int = 4,
        pool_time: int = 2,
        rnn: str | None = None,
        rnn_hidden: int = 128,
        rnn_layers: int = 2,
        bidirectional: bool = True,
        attention: str | None = None,
        num_heads: int = 16,
        attention_dim: int = 256,
        att_dropout: float = 0.2,
        fc_hidden: int = 128,
        dropout: float = 0.3,
        regression: bool = False,
        channels_last: bool = True,
    ) -> None:
        super().__init__(num_classes=num_classes, input_dims=input_dims)
        n_freq = self.input_dims["spec"]
        cnn_channels = [int(c) for c in cnn_channels]
        self.channels_last = channels_last
        self.regression = regression
        blocks, in_ch = [], 1
        for c in cnn_channels:
            blocks.append(ConvBlock2d(in_ch, c, pool=(pool_freq, pool_time), act="relu"))
            in_ch = c
        self.blocks = nn.ModuleList(blocks)
        self.min_frames = pool_time ** len(cnn_channels)
        if cnn_channels:
            check_min_freq(self.model_name, n_freq, [pool_freq] * len(cnn_channels))
            dim = in_ch * freq_out(n_freq, [pool_freq] * len(cnn_channels))
        else:
            dim = n_freq
        self.rnn: nn.RNNBase | None = None
        if rnn is not None:
            if rnn not in _CELLS:
                raise ParameterError(f"{self.model_name}: rnn must be one of {sorted(_CELLS)}. Got {rnn!r}.")
            self.rnn = _CELLS[rnn](
                dim, rnn_hidden, num_layers=rnn_layers, batch_first=True, bidirectional=bidirectional
            )
            dim = rnn_hidden * (2 if bidirectional else 1)
        self.proj: nn.Module = nn.Identity()
        self.attention: nn.Module | None = None
        if attention is not None:
            if self.rnn is None and not cnn_channels:
                self.proj = nn.Linear(dim, attention_dim)
                dim = attention_dim
            if attention == "mha":
                self.attention = MaskedMultiHeadSelfAttention(dim, num_heads, dropout=att_dropout)
            elif attention == "self":
                self.attention = MaskedSelfAttention(dim, dropout=att_dropout)
            else:
                raise ParameterError(
                    f"{self.model_name}: attention must be 'mha' or 'self'. Got {attention!r}."
                )
        self.fc1 = nn.Sequential(nn.Linear(dim, fc_hidden), nn.ReLU(), nn.Dropout(dropout))
        self.fc2 = nn.Linear(fc_hidden, num_classes)
        self.score = nn.Linear(fc_hidden, 1) if regression else None

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        x, lengths = self.frames(batch, "spec")
        if len(self.blocks):
            x = pad_time(x, self.min_frames)
            h = mask_time(x.transpose(1, 2), lengths).unsqueeze(1)  # (B, 1, F, T)
            if self.channels_last:
                h = h.contiguous(memory_format=torch.channels_last)
            for block in self.blocks:
                h, lengths = block(h, lengths)
            b, c, f, t = h.shape
            x = h.permute(0, 3, 1, 2).reshape(b, t, c * f)
        mask = lengths_to_mask(lengths.clamp(min=1), x.shape[1])
        if self.rnn is not None:
            x, _ = run_rnn(self.rnn, x, lengths)
        x = self.proj(x)
        if self.attention is not None:
            x = self.attention(x, mask)
        hidden = self.fc1(masked_mean(x, mask))
        out = {"logits": self.fc2(hidden)}
        if self.score is not None:
            out["score"] = self.score(hidden).squeeze(-1)
        return out


def _reg(name: str):
    return register_model(name, paper=PAPER, inputs=_INPUTS, typical_dims=_DIMS, typical_fps=_FPS)


@_reg("bigru_mha")
class BiGRUMHA(SpecSequenceNet):
    """Bi-GRU + multi-head attention: CNN, two Bi-GRU layers, multi-head attention, two FC (+ score head)."""

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        cnn_channels: Sequence[int] = (16, 32),
        pool_freq: int = 4,
        pool_time: int = 2,
        gru_hidden: int = 128,
        num_heads: int = 16,
        att_dropout: float = 0.2,
        fc_hidden: int = 128,
        dropout: float = 0.3,
        regression: bool = False,
        channels_last: bool = True,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            input_dims=input_dims,
            cnn_channels=cnn_channels,
            pool_freq=pool_freq,
            pool_time=pool_time,
            rnn="gru",
            rnn_hidden=gru_hidden,
            rnn_layers=2,
            bidirectional=True,
            attention="mha",
            num_heads=num_heads,
            att_dropout=att_dropout,
            fc_hidden=fc_hidden,
            dropout=dropout,
            regression=regression,
            channels_last=channels_last,
        )


@_reg("bigru_mha_baseline_cnn")
class BaselineCNN(SpecSequenceNet):
    """Baseline CNN: conv-BN-ReLU-max-pool blocks, mean over real frames, two FC."""

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        cnn_channels: Sequence[int] = (16, 32),
        pool_freq: int = 4,
        pool_time: int = 2,
        fc_hidden: int = 128,
        dropout: float = 0.3,
        regression: bool = False,
        channels_last: bool = True,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            input_dims=input_dims,
            cnn_channels=cnn_channels,
            pool_freq=pool_freq,
            pool_time=pool_time,
            fc_hidden=fc_hidden,
            dropout=dropout,
            regression=regression,
            channels_last=channels_last,
        )


def _recurrent_baseline(name: str, cell: str, bidirectional: bool, doc: str) -> type[SpecSequenceNet]:
    class _Baseline(SpecSequenceNet):
        def __init__(
            self,
            *,
            num_classes: int,
            input_dims: Mapping[str, int],
            hidden: int = 128,
            num_layers: int = 2,
            fc_hidden: int = 128,
            dropout: float = 0.3,
            regression: bool = False,
        ) -> None:
            super().__init__(
                num_classes=num_classes,
                input_dims=input_dims,
                rnn=cell,
                rnn_hidden=hidden,
                rnn_layers=num_layers,
                bidirectional=bidirectional,
                fc_hidden=fc_hidden,
                dropout=dropout,
                regression=regression,
            )

    _Baseline.__doc__ = doc
    _Baseline.__name__ = _Baseline.__qualname__ = name
    return _Baseline


BaselineLSTM = _reg("bigru_mha_baseline_lstm")(
    _recurrent_baseline(
        "BaselineLSTM", "lstm", False, "Baseline LSTM: 2-layer LSTM over spectrogram frames, mean, two FC."
    )
)
BaselineRNN = _reg("bigru_mha_baseline_rnn")(
    _recurrent_baseline(
        "BaselineRNN", "rnn", False, "Baseline RNN: 2-layer Elman RNN (tanh) over frames, mean, two FC."
    )
)
BaselineBiGRU = _reg("bigru_mha_baseline_bigru")(
    _recurrent_baseline(
        "BaselineBiGRU", "gru", True, "Baseline Bi-GRU: 2-layer Bi-GRU over spectrogram frames, mean, two FC."
    )
)


@_reg("bigru_mha_baseline_cnn_lstm")
class BaselineCNNLSTM(SpecSequenceNet):
    """Baseline CNN + LSTM: conv blocks, 2-layer LSTM, mean over real frames, two FC."""

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        cnn_channels: Sequence[int] = (16, 32),
        pool_freq: int = 4,
        pool_time: int = 2,
        hidden: int = 128,
        num_layers: int = 2,
        fc_hidden: int = 128,
        dropout: float = 0.3,
        regression: bool = False,
        channels_last: bool = True,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            input_dims=input_dims,
            cnn_channels=cnn_channels,
            pool_freq=pool_freq,
            pool_time=pool_time,
            rnn="lstm",
            rnn_hidden=hidden,
            rnn_layers=num_layers,
            bidirectional=False,
            fc_hidden=fc_hidden,
            dropout=dropout,
            regression=regression,
            channels_last=channels_last,
        )


@_reg("bigru_mha_baseline_self_attention")
class BaselineSelfAttention(SpecSequenceNet):
    """Baseline self-attention: linear projection, single-head scaled dot-product attention, mean, two FC."""

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        attention_dim: int = 256,
        att_dropout: float = 0.2,
        fc_hidden: int = 128,
        dropout: float = 0.3,
        regression: bool = False,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            input_dims=input_dims,
            attention="self",
            attention_dim=attention_dim,
            att_dropout=att_dropout,
            fc_hidden=fc_hidden,
            dropout=dropout,
            regression=regression,
        )


@_reg("bigru_mha_baseline_bigru_self_attention")
class BaselineBiGRUSelfAttention(SpecSequenceNet):
    """Baseline Bi-GRU + self-attention: 2-layer Bi-GRU, single-head self-attention, mean, two FC."""

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        gru_hidden: int = 128,
        att_dropout: float = 0.2,
        fc_hidden: int = 128,
        dropout: float = 0.3,
        regression: bool = False,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            input_dims=input_dims,
            rnn="gru",
            rnn_hidden=gru_hidden,
            rnn_layers=2,
            bidirectional=True,
            attention="self",
            att_dropout=att_dropout,
            fc_hidden=fc_hidden,
            dropout=dropout,
            regression=regression,
        )


@_reg("bigru_mha_baseline_mha")
class BaselineMHA(SpecSequenceNet):
    """Baseline multi-head attention: linear projection, multi-head self-attention, mean, two FC."""

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        attention_dim: int = 256,
        num_heads: int = 16,
        att_dropout: float = 0.2,
        fc_hidden: int = 128,
        dropout: float = 0.3,
        regression: bool = False,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            input_dims=input_dims,
            attention="mha",
            attention_dim=attention_dim,
            num_heads=num_heads,
            att_dropout=att_dropout,
            fc_hidden=fc_hidden,
            dropout=dropout,
            regression=regression,
        )
