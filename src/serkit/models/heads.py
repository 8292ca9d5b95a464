"""Heads on frozen pretrained speech-encoder outputs (Whisper hidden states, cached once).

The encoder never runs while a head trains: its per-layer outputs come from the feature cache
(``whisper(model='base', pooling='none')`` gives time-major frames ``(T, n_layers * d)``, layers side by
side; ``pooling='mean+std'`` gives ``[mean0, std0, mean1, std1, ...]``). Two heads:

- ``whisper_head`` (frames): each layer's frames are layer-normalised (optional), mixed by a learned
  softmax-weighted sum of layers (SUPERB's weighted-sum probe, Yang et al., 2021), projected, pooled with
  masked attentive statistics pooling (Okabe et al., 2018; ECAPA-TDNN's global-context variant,
  Desplanques et al., 2020) and classified by a small MLP.
- ``whisper_head_pooled`` (vector): the same learned layer weights over per-layer mean+std statistics,
  then the MLP. Much cheaper (no frames per epoch).

Paper: Radford et al. (2023), "Robust Speech Recognition via Large-Scale Weak Supervision", ICML (the
encoder); the head follows the weighted-layer-sum + attentive-statistics-pooling recipe above.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from serkit.errors import ParameterError
from serkit.models.base import Batch, SerModel, lengths_to_mask
from serkit.models.registry import register_model

__all__ = ["AttentiveStatsPool", "LayerMix", "WhisperHead", "WhisperHeadPooled", "masked_mean_std"]

_PAPER = "Radford et al. (2023), Robust Speech Recognition via Large-Scale Weak Supervision, ICML"
_STD_EPS = 1e-5
_MIXES = ("sum", "concat")
_POOL_SOURCES = ("mixed", "layers")


def masked_mean_std(x: Tensor, weights: Tensor) -> tuple[Tensor, Tensor]:
    """Weighted mean and standard deviation over time.

    Parameters
    ----------
    x : torch.Tensor [shape=(B, T, D)]
        Frames.
    weights : torch.Tensor [shape=(B, T)]
        Non-negative weights summing to 1 over time per example (0 on padding).

    Returns
    -------
    (mean, std) : two torch.Tensor [shape=(B, D)]
        ``std = sqrt(max(E[x^2] - mean^2, 1e-5))``.
    """
    w = weights.unsqueeze(-1)
    mean = (w * x).sum(dim=1)
    var = (w * (x - mean.unsqueeze(1)).square()).sum(dim=1)
    return mean, var.clamp_min(_STD_EPS).sqrt()


def _check_int(value: object, owner: str, name: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ParameterError(f"The '{name}' parameter of {owner} must be an int >= {minimum}. Got {value!r}.")
    return value


def _check_choice(value: object, owner: str, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ParameterError(f"The '{name}' parameter of {owner} must be one of {choices}. Got {value!r}.")
    return str(value)


def _check_dropout(value: object, owner: str, name: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value < 1.0:
        raise ParameterError(f"The '{name}' parameter of {owner} must be a float in [0, 1). Got {value!r}.")
    return float(value)


class AttentiveStatsPool(nn.Module):
    """Masked attentive statistics pooling: attention over time, then weighted mean and std.

    Each frame gets a score from ``Linear(D[+2D context]) -> tanh -> Linear(D or 1)``: one score per
    channel (ECAPA-TDNN) or one per frame. With ``global_context`` the masked mean and std of the utterance
    are appended to every frame first. The last layer starts at zero, so pooling starts as plain mean+std.
    Padding frames get ``-inf`` scores, so padding never changes the output.

    Parameters
    ----------
    dim : int >= 1
        Frame dimension D.
    hidden : int >= 1
        Attention bottleneck width.
    global_context : bool
        Append the utterance's masked mean and std to every frame before scoring.
    channelwise : bool
        One attention distribution per channel (True) or one per frame shared by all channels (False).

    Shapes
    ------
    ``weights(x (B, T, D), mask (B, T) bool) -> (B, T, D or 1)``, summing to 1 over valid frames;
    ``forward(x, mask) -> (B, 2 * D)`` as ``[mean, std]``.
    """

    def __init__(
        self, dim: int, *, hidden: int = 128, global_context: bool = True, channelwise: bool = True
    ) -> None:
        super().__init__()
        self.global_context = bool(global_context)
        in_dim = 3 * dim if self.global_context else dim
        self.attention = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.Tanh(), nn.Linear(hidden, dim if channelwise else 1)
        )
        nn.init.zeros_(self.attention[-1].weight)
        nn.init.zeros_(self.attention[-1].bias)

    def weights(self, x: Tensor, mask: Tensor) -> Tensor:
        if bool((mask.sum(dim=1) == 0).any()):
            raise ParameterError("AttentiveStatsPool got an example with no valid frames (length 0).")
        maskf = mask.to(x.dtype)
        x = x * maskf.unsqueeze(-1)  # padding must be exactly zero, whatever the caller passed
        if self.global_context:
            mean, std = masked_mean_std(x, maskf / maskf.sum(dim=1, keepdim=True))
            T = x.shape[1]
            h = torch.cat(
                [x, mean.unsqueeze(1).expand(-1, T, -1), std.unsqueeze(1).expand(-1, T, -1)], dim=-1
            )
        else:
            h = x
        scores = self.attention(h).masked_fill(~mask.unsqueeze(-1), float("-inf"))
        return torch.softmax(scores, dim=1)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        w = self.weights(x, mask)
        x = x * mask.to(x.dtype).unsqueeze(-1)
        mean = (w * x).sum(dim=1)
        var = (w * (x - mean.unsqueeze(1)).square()).sum(dim=1)
        return torch.cat([mean, var.clamp_min(_STD_EPS).sqrt()], dim=-1)


class LayerMix(nn.Module):
    """Learned softmax-weighted sum over encoder layers (initialised uniform).

    ``forward(x (..., L, D)) -> (..., D)``; :meth:`weights` gives the L non-negative weights summing to 1.
    """

    def __init__(self, n_layers: int) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(n_layers))

    def weights(self) -> Tensor:
        """(L,) softmax of the learned logits."""
        return torch.softmax(self.logits, dim=0)

    def forward(self, x: Tensor) -> Tensor:
        return torch.einsum("...ld,l->...d", x, self.weights().to(x.dtype))


def _mlp(in_dim: int, hidden: int, num_classes: int, dropout: float) -> nn.Sequential:
    if hidden == 0:  # a linear classifier on the pooled features
        return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, num_classes))
    return nn.Sequential(
        nn.Dropout(dropout),
        nn.Linear(in_dim, hidden),
        nn.GELU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),
    )


def _check_layout(owner: str, feature_dim: int, expected: int, layout: str, per: str) -> None:
    if feature_dim != expected:
        raise ParameterError(
            f"{owner} expects {layout} = {expected} features per {per}; "
            f"the 'whisper' stream has {feature_dim}. Set n_layers and d to the encoder's (Whisper base with "
            f"layers='all': n_layers=7, d=512; tiny.en: 5 and 384)."
        )


@register_model("whisper_head", paper=_PAPER, inputs={"whisper": "frames"}, typical_dims={"whisper": 7 * 512})
class WhisperHead(SerModel):
    """Weighted layer sum + attentive statistics pooling + MLP on frozen Whisper per-layer frames.

    Input: the ``whisper`` stream, frames ``(B, T, n_layers * d)`` from
    ``whisper(model='base', pooling='none')`` (layers side by side), zero-padded with lengths.

    The frames of each layer are (optionally) layer-normalised, mixed by learned softmax layer weights
    and projected; attentive statistics pooling then either pools these mixed frames (``pool_source=
    "mixed"``, channel-wise attention as ECAPA-TDNN) or, with one attention weight per frame computed from
    them, pools every layer's own frames into per-layer weighted mean+std (``pool_source="layers"``: the
    per-layer mean+std of the linear-probe baseline, with learned attention over time); those are combined
    with the same kind of learned layer weights (``layer_mix``) and classified by a small MLP.

    Parameters
    ----------
    n_layers : int >= 1
        Hidden states per frame (Whisper base with ``layers='all'``: 7, the embedding output included).
    d : int >= 1
        Encoder width (base 512, tiny.en 384).
    layer_norm : bool
        Normalise each layer's frame vectors (layer norm without affine parameters) before anything else,
        so layers of different scale (the last one is final-layer-normed) mix on equal terms.
    proj_dim : int >= 0
        Width of a linear projection after the layer mix (0: none; attention then runs at width d).
    attention_hidden : int >= 1
        Bottleneck of the attentive pooling.
    global_context : bool
        ECAPA-style global context (utterance mean and std) in the attention.
    attention : bool
        Learned attention over time (False: uniform weights over the valid frames, i.e. plain mean+std;
        with ``pool_source="layers"`` exactly the baseline's per-layer statistics).
    pool_source : {"mixed", "layers"}
        What the attention pools: the projected mixed frames, or each layer's frames (see above).
    layer_mix : {"sum", "concat"}
        ``pool_source="layers"`` only: per-layer statistics summed with learned softmax weights, or
        concatenated after learned per-layer gains (``n_layers * w_l``, 1 at init).
    stats_norm : bool
        Standardise the pooled statistics (before the layer weights) with a batch norm without affine
        parameters (running training statistics at inference), as the corpus normaliser does for
        ``whisper_head_pooled``'s input.
    hidden : int >= 0
        MLP hidden width (0: a linear classifier on the pooled statistics).
    dropout : float in [0, 1)
        Dropout before each MLP layer.
    frame_dropout : float in [0, 1)
        Training only: dropout on the projected frames that the attention sees.
    """

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        n_layers: int = 7,
        d: int = 512,
        layer_norm: bool = True,
        proj_dim: int = 256,
        attention_hidden: int = 128,
        global_context: bool = True,
        attention: bool = True,
        pool_source: str = "mixed",
        layer_mix: str = "sum",
        stats_norm: bool = False,
        hidden: int = 256,
        dropout: float = 0.3,
        frame_dropout: float = 0.1,
    ) -> None:
        super().__init__(num_classes=num_classes, input_dims=input_dims)
        owner = "model 'whisper_head'"
        self.n_layers = _check_int(n_layers, owner, "n_layers", 1)
        self.d = _check_int(d, owner, "d", 1)
        _check_int(proj_dim, owner, "proj_dim", 0)
        _check_int(attention_hidden, owner, "attention_hidden", 1)
        _check_int(hidden, owner, "hidden", 0)
        _check_choice(pool_source, owner, "pool_source", _POOL_SOURCES)
        _check_choice(layer_mix, owner, "layer_mix", _MIXES)
        expected = self.n_layers * self.d
        _check_layout(
            owner, self.input_dims["whisper"], expected, f"n_layers * d = {self.n_layers} * {self.d}", "frame"
        )
        self.layer_norm = bool(layer_norm)
        self.attention = bool(attention)
        self.pool_source = pool_source
        self.layer_mix = layer_mix
        frame_dropout = _check_dropout(frame_dropout, owner, "frame_dropout")
        # The mixed, projected frames exist only where something reads them: "mixed" pooling, or the
        # attention that weights the frames of each layer.
        self.mixes_frames = pool_source == "mixed" or self.attention
        if self.mixes_frames:
            self.mix = LayerMix(self.n_layers)
            self.proj = nn.Linear(self.d, proj_dim) if proj_dim > 0 else nn.Identity()
            width = proj_dim if proj_dim > 0 else self.d
            self.frame_dropout = nn.Dropout(frame_dropout)
            self.pool = AttentiveStatsPool(
                width,
                hidden=attention_hidden,
                global_context=global_context,
                channelwise=pool_source == "mixed",
            )
        if pool_source == "mixed":
            in_dim = 2 * width
        else:
            in_dim = 2 * self.d * (self.n_layers if layer_mix == "concat" else 1)
            self.stats_mix = LayerMix(self.n_layers)
        # Standardise the statistics before any learned layer weights act on them (a batch norm after
        # per-layer gains would undo the gains).
        norm_dim = 2 * width if pool_source == "mixed" else 2 * self.d * self.n_layers
        self.stats_norm = nn.BatchNorm1d(norm_dim, affine=False) if stats_norm else nn.Identity()
        self.head = _mlp(in_dim, hidden, num_classes, _check_dropout(dropout, owner, "dropout"))

    def layer_weights(self) -> Tensor:
        """(n_layers,) learned layer weights: of the frame mix (``"mixed"``), else of the statistics mix."""
        return self.mix.weights() if self.pool_source == "mixed" else self.stats_mix.weights()

    def _time_weights(self, x: Tensor, mask: Tensor) -> Tensor:
        """(B, T, 1 or width) weights over time, summing to 1 over the valid frames."""
        if not self.attention:
            if bool((mask.sum(dim=1) == 0).any()):
                raise ParameterError("whisper_head got an example with no valid frames (length 0).")
            m = mask.to(x.dtype)
            return (m / m.sum(dim=1, keepdim=True)).unsqueeze(-1)
        h = self.frame_dropout(self.proj(self.mix(x)))  # (B, T, width)
        return self.pool.weights(h, mask)

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        x, lengths = self.frames(batch, "whisper")
        B, T, _ = x.shape
        x = x.reshape(B, T, self.n_layers, self.d)
        if self.layer_norm:
            x = F.layer_norm(x, (self.d,))
        mask = lengths_to_mask(lengths, T)
        if self.pool_source == "mixed":
            h = self.frame_dropout(self.proj(self.mix(x)))  # (B, T, width)
            h = h * mask.to(h.dtype).unsqueeze(-1)
            w = self._time_weights(x, mask) if not self.attention else self.pool.weights(h, mask)
            mean = (w * h).sum(dim=1)
            std = (w * (h - mean.unsqueeze(1)).square()).sum(dim=1).clamp_min(_STD_EPS).sqrt()
            return {"logits": self.head(self.stats_norm(torch.cat([mean, std], dim=-1)))}
        flat = x.reshape(B, T, self.n_layers * self.d)
        if not self.attention and bool(mask.all()):
            # Uniform weights and no padding (training crops of one length): one fused pass.
            var, mean = torch.var_mean(flat, dim=1, correction=0)
        else:
            w = self._time_weights(x, mask)[..., 0]  # (B, T), 0 on padding
            if not bool(mask.all()):
                flat = flat.masked_fill(~mask.unsqueeze(-1), 0.0)  # padding must not leak (0 * inf = nan)
            # Weighted sums over time as batched matrix products (two passes, exact centring).
            mean = torch.einsum("bt,btf->bf", w, flat)
            var = torch.einsum("bt,btf->bf", w, (flat - mean.unsqueeze(1)).square())
        std = var.clamp_min(_STD_EPS).sqrt()
        stats = torch.cat(
            [mean.reshape(B, self.n_layers, self.d), std.reshape(B, self.n_layers, self.d)], dim=-1
        )  # (B, L, 2d)
        stats = self.stats_norm(stats.reshape(B, -1)).reshape(B, self.n_layers, 2 * self.d)
        if self.layer_mix == "sum":
            z = self.stats_mix(stats)
        else:
            z = (stats * (self.n_layers * self.stats_mix.weights()).unsqueeze(-1)).reshape(B, -1)
        return {"logits": self.head(z)}


@register_model(
    "whisper_head_pooled", paper=_PAPER, inputs={"whisper": "vector"}, typical_dims={"whisper": 7 * 2 * 512}
)
class WhisperHeadPooled(SerModel):
    """Learned layer weights over per-layer mean+std statistics of frozen Whisper, then an MLP.

    Input: the ``whisper`` stream, a vector ``(B, n_layers * 2 * d)`` from
    ``whisper(model='base', pooling='mean+std')`` ordered ``[mean0, std0, mean1, std1, ...]``.

    Parameters
    ----------
    n_layers : int >= 1
        Hidden states pooled (Whisper base, ``layers='all'``: 7).
    d : int >= 1
        Encoder width (base 512).
    layer_norm : bool
        Normalise each layer's mean and its std vector separately (layer norm without affine parameters)
        before mixing, so the layers' different scales do not decide the mix.
    hidden : int >= 1
        MLP hidden width.
    dropout : float in [0, 1)
        Dropout before each MLP layer.
    """

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        n_layers: int = 7,
        d: int = 512,
        layer_norm: bool = True,
        layer_mix: str = "sum",
        hidden: int = 256,
        dropout: float = 0.5,
    ) -> None:
        super().__init__(num_classes=num_classes, input_dims=input_dims)
        owner = "model 'whisper_head_pooled'"
        self.n_layers = _check_int(n_layers, owner, "n_layers", 1)
        self.d = _check_int(d, owner, "d", 1)
        _check_int(hidden, owner, "hidden", 0)
        expected = self.n_layers * 2 * self.d
        _check_layout(
            owner,
            self.input_dims["whisper"],
            expected,
            f"n_layers * 2 * d = {self.n_layers} * 2 * {self.d}",
            "example",
        )
        self.layer_norm = bool(layer_norm)
        self.layer_mix = _check_choice(layer_mix, owner, "layer_mix", _MIXES)
        self.mix = LayerMix(self.n_layers)
        in_dim = 2 * self.d * (self.n_layers if layer_mix == "concat" else 1)
        self.head = _mlp(in_dim, hidden, num_classes, _check_dropout(dropout, owner, "dropout"))

    def layer_weights(self) -> Tensor:
        """(n_layers,) learned layer weights (softmax, sum to 1)."""
        return self.mix.weights()

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        v = self.vector(batch, "whisper")
        x = v.reshape(v.shape[0], self.n_layers, 2, self.d)
        if self.layer_norm:
            x = F.layer_norm(x, (self.d,))
        x = x.reshape(v.shape[0], self.n_layers, 2 * self.d)
        if self.layer_mix == "sum":
            x = self.mix(x)
        else:  # learned per-layer gains (L * w_l, 1 each at init) on the concatenated layers
            x = (x * (self.n_layers * self.mix.weights()).unsqueeze(-1)).reshape(v.shape[0], -1)
        return {"logits": self.head(x)}
