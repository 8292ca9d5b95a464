"""Building blocks shared by the paper modules: masked pooling and attention, packed recurrent layers,
soft thresholding, and the time-length arithmetic of convolutions and pooling.

Conventions: sequences are batch-first ``(B, T, D)`` with a ``(B, T)`` bool mask, True on real frames.
2-D feature maps are ``(B, C, F, T)`` (frequency by time, as an image) with ``lengths`` (B,) along T.
Every block here gives the same values on the real frames of a padded batch as on each example alone.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from serkit.errors import ParameterError
from serkit.models.base import lengths_to_mask

__all__ = [
    "AttentiveStatsPooling",
    "ConvBlock2d",
    "MaskedMultiHeadSelfAttention",
    "MaskedSelfAttention",
    "MeanStdPooling",
    "activation",
    "conv_out_lengths",
    "mask_time",
    "masked_max",
    "masked_mean",
    "masked_std",
    "pad_time",
    "run_rnn",
    "soft_threshold",
]


def activation(name: str) -> nn.Module:
    """``nn.Module`` for ``name`` in {relu, mish, elu, gelu, tanh}."""
    table = {"relu": nn.ReLU, "mish": nn.Mish, "elu": nn.ELU, "gelu": nn.GELU, "tanh": nn.Tanh}
    if name not in table:
        raise ParameterError(f"Unknown activation '{name}'. Use one of {sorted(table)}.")
    return table[name]()


# ---------------------------------------------------------------------------------------------------
# lengths and masks


def conv_out_lengths(
    lengths: Tensor, *, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> Tensor:
    """Output lengths of a convolution or pooling along time (``ceil_mode=False``), clamped to >= 0.

    ``floor((L + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1``, as ``torch.nn.Conv1d`` documents.

    Examples
    --------
    >>> conv_out_lengths(torch.tensor([80, 7]), kernel=3, stride=3).tolist()
    [26, 2]
    """
    out = torch.div(lengths + 2 * padding - dilation * (kernel - 1) - 1, stride, rounding_mode="floor") + 1
    return out.clamp(min=0)


def pad_time(x: Tensor, min_len: int, *, time_dim: int = 1) -> Tensor:
    """Right-pad ``x`` with zeros along ``time_dim`` to at least ``min_len`` (so pooling keeps >= 1 frame).

    Padding is masked like any other, so it never changes an output.
    """
    t = x.shape[time_dim]
    if t >= min_len:
        return x
    pad = [0, 0] * (x.dim() - (time_dim % x.dim()) - 1) + [0, min_len - t]
    return F.pad(x, pad)


def mask_time(x: Tensor, lengths: Tensor, *, time_dim: int = -1) -> Tensor:
    """Zero every position of ``x`` at or beyond ``lengths`` along ``time_dim`` (batch is dim 0)."""
    t = x.shape[time_dim]
    if not torch.jit.is_tracing() and bool((lengths >= t).all()):
        return x  # no padding (a fixed-length or bucketed batch): skip a full pass over memory
    mask = lengths_to_mask(lengths, t).to(x.dtype)
    shape = [1] * x.dim()
    shape[0] = x.shape[0]
    shape[time_dim] = t
    return x * mask.view(shape)


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean over time of ``x (B, T, D)`` on frames where ``mask (B, T)`` is True -> (B, D).

    An example with no real frame gives zeros.
    """
    m = mask.to(x.dtype).unsqueeze(-1)
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


def masked_std(x: Tensor, mask: Tensor, *, eps: float = 1e-5) -> Tensor:
    """Standard deviation over time (population, ``sqrt(var + eps)``) on real frames -> (B, D)."""
    m = mask.to(x.dtype).unsqueeze(-1)
    n = m.sum(1).clamp(min=1.0)
    mean = (x * m).sum(1) / n
    var = (((x - mean.unsqueeze(1)) ** 2) * m).sum(1) / n
    return torch.sqrt(var + eps)


def masked_max(x: Tensor, mask: Tensor) -> Tensor:
    """Maximum over time on real frames -> (B, D); an example with no real frame gives zeros."""
    filled = x.masked_fill(~mask.unsqueeze(-1), float("-inf"))
    out = filled.max(1).values
    return torch.where(torch.isfinite(out), out, torch.zeros_like(out))


class MeanStdPooling(nn.Module):
    """Masked statistics pooling: concatenated mean and standard deviation over time, (B, T, D) -> (B, 2D)."""

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        return torch.cat([masked_mean(x, mask), masked_std(x, mask)], dim=-1)


class AttentiveStatsPooling(nn.Module):
    """Attentive statistics pooling (Okabe et al. 2018): attention-weighted mean and std, (B,T,D) -> (B,2D).

    Scores ``v^T tanh(W x_t + b)`` are softmaxed over real frames only.

    Parameters
    ----------
    dim : int > 0
        D.
    hidden : int > 0
        Width of the scoring layer.
    """

    def __init__(self, dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        logits = self.score(x).squeeze(-1).masked_fill(~mask, float("-inf"))
        w = torch.softmax(logits, dim=1)
        w = torch.nan_to_num(w, nan=0.0).unsqueeze(-1)  # an example with no frame: all weights 0
        mean = (w * x).sum(1)
        var = (w * (x - mean.unsqueeze(1)) ** 2).sum(1)
        return torch.cat([mean, torch.sqrt(var + 1e-5)], dim=-1)


# ---------------------------------------------------------------------------------------------------
# attention


class MaskedSelfAttention(nn.Module):
    """Scaled dot-product self-attention ``softmax(Q K^T / sqrt(d)) V`` with Q, K, V = linear maps of x.

    Padded frames are masked as keys; their own outputs are zeroed. (B, T, D) -> (B, T, d_model).

    Parameters
    ----------
    dim : int > 0
        Input width D.
    d_model : int > 0, optional
        Width of Q, K, V (default D).
    dropout : float in [0, 1)
        Dropout on the attention weights.
    """

    def __init__(self, dim: int, d_model: int | None = None, *, dropout: float = 0.0) -> None:
        super().__init__()
        d = d_model or dim
        self.q = nn.Linear(dim, d)
        self.k = nn.Linear(dim, d)
        self.v = nn.Linear(dim, d)
        self.dropout = dropout
        self.out_dim = d

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        q, k, v = self.q(x), self.k(x), self.v(x)
        attn_mask = mask[:, None, :]  # (B, 1, T) broadcast over queries; True = attend
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0
        )
        return out * mask.unsqueeze(-1).to(out.dtype)


class MaskedMultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention (Vaswani et al. 2017) over real frames; padded outputs are zeroed.

    ``torch.nn.MultiheadAttention`` with ``key_padding_mask``; (B, T, D) -> (B, T, D).

    Parameters
    ----------
    dim : int > 0
        Model width D, divisible by ``num_heads``.
    num_heads : int > 0
    dropout : float in [0, 1)
        Dropout on the attention weights.
    """

    def __init__(self, dim: int, num_heads: int, *, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % num_heads:
            raise ParameterError(
                f"Multi-head attention width {dim} must be divisible by num_heads={num_heads}; "
                f"choose a width that is a multiple of the head count."
            )
        self.mha = nn.MultiheadAttention(dim, num_heads, dropout=dropout, batch_first=True)
        self.out_dim = dim

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        # need_weights=False permits the fused kernel; key_padding_mask True = ignore.
        out, _ = self.mha(x, x, x, key_padding_mask=~mask, need_weights=False)
        if out.shape[1] != x.shape[1]:  # the fast path may return a shorter (nested) batch
            out = F.pad(out, (0, 0, 0, x.shape[1] - out.shape[1]))
        return out * mask.unsqueeze(-1).to(out.dtype)


# ---------------------------------------------------------------------------------------------------
# recurrent layers


def run_rnn(rnn: nn.RNNBase, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
    """Run a batch-first ``nn.GRU``/``nn.LSTM``/``nn.RNN`` on the real frames only (packed sequences).

    Parameters
    ----------
    rnn : nn.RNNBase
        Built with ``batch_first=True``.
    x : torch.Tensor [shape=(B, T, D)]
    lengths : torch.Tensor [shape=(B,)], int
        Real frames; values below 1 are treated as 1 (packing needs one step).

    Returns
    -------
    out : torch.Tensor [shape=(B, T, H * directions)]
        Zero past each length.
    last : torch.Tensor [shape=(B, H * directions)]
        The last layer's final state: forward direction at the last real frame, backward at frame 0.
    """
    lens = lengths.clamp(min=1, max=x.shape[1]).to("cpu", torch.int64)
    if bool((lens == x.shape[1]).all()):  # nothing to pack: skip the sort and copies
        out, h = rnn(x)
    else:
        packed = pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False)
        out_packed, h = rnn(packed)
        out, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=x.shape[1])
    if isinstance(h, tuple):  # LSTM: (h, c)
        h = h[0]
    dirs = 2 if rnn.bidirectional else 1
    last = h[-dirs:].transpose(0, 1).reshape(x.shape[0], -1)
    return out, last


# ---------------------------------------------------------------------------------------------------
# shrinkage


def soft_threshold(x: Tensor, thr: Tensor | float) -> Tensor:
    """Soft thresholding ``sign(x) * max(|x| - thr, 0)`` (Donoho 1995; Eq. 6 of the DRSN-BiGRU paper).

    Zeroes every value with ``|x| <= thr`` and moves the rest ``thr`` closer to zero. ``thr`` (>= 0)
    broadcasts against ``x``.

    Examples
    --------
    >>> soft_threshold(torch.tensor([-2.0, -0.5, 0.5, 3.0]), 1.0).tolist()
    [-1.0, -0.0, 0.0, 2.0]
    """
    return torch.sign(x) * torch.relu(x.abs() - thr)


# ---------------------------------------------------------------------------------------------------
# 2-D convolution over (B, C, F, T) with time lengths


class ConvBlock2d(nn.Module):
    """conv k x k (stride 1, same padding) -> BN -> activation -> max-pool, with padded frames kept at zero.

    Input and output ``(B, C, F, T)``; ``forward(x, lengths)`` returns ``(y, new_lengths)``.

    Parameters
    ----------
    in_ch, out_ch : int > 0
    kernel : int, odd
    pool : tuple[int, int]
        Max-pool (frequency, time) kernel = stride; (1, 1) for none.
    act : str
        Activation name (see :func:`activation`).
    batch_norm : bool
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        *,
        kernel: int = 3,
        pool: tuple[int, int] = (2, 2),
        act: str = "relu",
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, bias=not batch_norm)
        self.bn = nn.BatchNorm2d(out_ch) if batch_norm else nn.Identity()
        self.act = activation(act)
        self.pool_size = tuple(int(p) for p in pool)
        self.pool = nn.MaxPool2d(self.pool_size) if self.pool_size != (1, 1) else nn.Identity()

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        y = self.act(self.bn(self.conv(x)))
        y = mask_time(y, lengths)
        y = self.pool(y)
        if self.pool_size[1] > 1:
            # A pooling window that straddles the end mixes a real frame into the first padded output:
            # zero it again, or the next convolution would see it.
            lengths = conv_out_lengths(lengths, kernel=self.pool_size[1], stride=self.pool_size[1])
            y = mask_time(y, lengths)
        return y, lengths


def freq_out(n: int, pools: list[int]) -> int:
    """Frequency bins left after successive max-pools of the given sizes."""
    for p in pools:
        n = n // p
    return n


def check_min_freq(name: str, n_freq: int, pools: list[int]) -> None:
    """Raise ParameterError when pooling leaves no frequency bin."""
    if freq_out(n_freq, pools) < 1:
        raise ParameterError(
            f"{name}: {n_freq} frequency bins cannot go through pooling by {math.prod(pools)}; "
            f"use more bins or smaller 'pool_freq'."
        )
