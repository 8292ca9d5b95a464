"""Convolutional autoencoder pretrained without labels, then a classification head on its pooled code,
after the autoencoders of the survey *Audio emotion classification* (``shared/papers/
survey-audio-emotion-classification.txt``), which reviews LSTM, CNN and auto-encoder classifiers of
emotional speech without fixing one architecture.

``conv_autoencoder`` (architecture chosen here, all keyword arguments):

- encoder over the frames of one stream (``feats``: any frames frontend, e.g. ``logmel``): 1-D
  convolutions along time with the features as channels, ``channels=(128, 64)``, kernel 5, stride 2,
  batch norm and ReLU after all but the last layer; the code is ``(B, ceil(T / 4), 64)``.
- decoder: the mirror image with transposed convolutions (kernel 4, stride 2), back to ``(B, T, F)``.
- head: the code's mean and standard deviation over its real frames, then ``head_hidden=128`` ReLU units
  and the logits.

Use: pretrain on the training fold's audio with :meth:`ConvAutoencoder.reconstruction_loss` (masked MSE
over real frames; labels unused), then train on labels with ``forward`` (logits), optionally with the
encoder frozen (:meth:`ConvAutoencoder.freeze_encoder`). 1-D convolutions keep it cheap on CPU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import Tensor, nn

from serkit.errors import ParameterError
from serkit.models.base import Batch, SerModel, lengths_to_mask
from serkit.models.layers import MeanStdPooling, conv_out_lengths, mask_time, pad_time
from serkit.models.registry import register_model

__all__ = ["ConvAutoencoder"]

PAPER = "survey-audio-emotion-classification"


@register_model(
    "conv_autoencoder",
    paper=PAPER,
    inputs={"feats": "frames"},
    typical_dims={"feats": 40},
    typical_fps={"feats": 80.0},
)
class ConvAutoencoder(SerModel):
    """Convolutional autoencoder (1-D, over time): unsupervised reconstruction pretraining, then a head on its code."""

    def __init__(
        self,
        *,
        num_classes: int,
        input_dims: Mapping[str, int],
        channels: Sequence[int] = (128, 64),
        kernel_size: int = 5,
        head_hidden: int = 128,
        dropout: float = 0.2,
    ) -> None:
        super().__init__(num_classes=num_classes, input_dims=input_dims)
        channels = [int(c) for c in channels]
        if not channels or kernel_size < 3 or kernel_size % 2 == 0:
            raise ParameterError(
                f"{self.model_name}: needs at least one channel width and an odd kernel_size >= 3. "
                f"Got channels={channels}, kernel_size={kernel_size}."
            )
        n_feat = self.input_dims["feats"]
        self.kernel_size = kernel_size
        self.n_layers = len(channels)
        enc: list[nn.Module] = []
        in_ch = n_feat
        for i, c in enumerate(channels):
            enc.append(nn.Conv1d(in_ch, c, kernel_size, stride=2, padding=kernel_size // 2))
            if i < len(channels) - 1:
                enc.append(nn.Sequential(nn.BatchNorm1d(c), nn.ReLU()))
            in_ch = c
        self.encoder = nn.ModuleList(enc)
        dec: list[nn.Module] = []
        widths = [*channels[::-1][1:], n_feat]
        for i, c in enumerate(widths):
            dec.append(nn.ConvTranspose1d(in_ch, c, 4, stride=2, padding=1))
            if i < len(widths) - 1:
                dec.append(nn.Sequential(nn.BatchNorm1d(c), nn.ReLU()))
            in_ch = c
        self.decoder = nn.ModuleList(dec)
        self.code_dim = channels[-1]
        self.pool = MeanStdPooling()
        self.head = nn.Sequential(
            nn.Linear(2 * self.code_dim, head_hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(head_hidden, num_classes),
        )

    def encode(self, batch: Batch) -> tuple[Tensor, Tensor]:
        """Code ``(B, T', code_dim)`` and its (B, T') mask of real frames."""
        x, lengths = self.frames(batch, "feats")
        h = mask_time(x.transpose(1, 2), lengths)  # (B, F, T)
        for layer in self.encoder:
            if isinstance(layer, nn.Conv1d):
                h = layer(h)
                lengths = conv_out_lengths(
                    lengths, kernel=self.kernel_size, stride=2, padding=self.kernel_size // 2
                )
            else:
                h = layer(h)
            h = mask_time(h, lengths)
        return h.transpose(1, 2), lengths_to_mask(lengths, h.shape[2])

    def decode(self, code: Tensor, mask: Tensor, n_frames: int) -> Tensor:
        """Reconstruction ``(B, n_frames, F)`` of a code from :meth:`encode`."""
        h = code.transpose(1, 2) * mask[:, None, :].to(code.dtype)
        for layer in self.decoder:
            h = layer(h)
        h = pad_time(h, n_frames, time_dim=2)[:, :, :n_frames]
        return h.transpose(1, 2)

    def reconstruction_loss(self, batch: Batch) -> Tensor:
        """Mean squared reconstruction error over the real frames (and all features) of the batch."""
        x, lengths = self.frames(batch, "feats")
        code, mask = self.encode(batch)
        recon = self.decode(code, mask, x.shape[1])
        m = lengths_to_mask(lengths, x.shape[1]).to(x.dtype).unsqueeze(-1)
        return (((recon - x) ** 2) * m).sum() / (m.sum() * x.shape[2]).clamp(min=1.0)

    def freeze_encoder(self, frozen: bool = True) -> None:
        """Stop (or restart) gradient updates of the encoder, for fine-tuning the head alone."""
        for p in self.encoder.parameters():
            p.requires_grad_(not frozen)

    def forward(self, batch: Batch) -> dict[str, Tensor]:
        code, mask = self.encode(batch)
        return {"logits": self.head(self.pool(code, mask))}
