"""ONNX export: frontend, normaliser, network and calibration of a checkpoint in one graph.

Exporting a model
-----------------
``serkit export CHECKPOINT model.onnx`` (or :func:`export_onnx`) writes one ONNX graph that maps a
16 kHz mono waveform ``waveform [shape=(1, n_samples)]`` float32 (any length) to calibrated class
probabilities ``probabilities [shape=(1, n_classes)]``: ``softmax(logits / T)`` with ``T`` from the
checkpoint's ``calibration.temperature`` (1 when it has none). Everything a prediction needs is in
the file:

* the frontend of every input stream (``logmel``, ``logspec``, ``mfcc``, with deltas), rebuilt as
  ONNX ``STFT`` + matrix products from the same filterbanks and DCT matrices as serkit's torch DSP;
* the stream's normaliser (``utterance``: per-utterance mean and standard deviation computed in the
  graph; ``corpus``: the training statistics stored as constants), in float64 like serkit's own;
* the network in eval mode, with batch 1 and every frame real (no padding masks are needed);
* metadata (``metadata_props``): ``classes`` (JSON list, output order), ``sample_rate`` (16000),
  ``calibration`` (JSON), ``frontends`` (JSON: stream -> spec string), ``min_samples``,
  ``model``, ``serkit_version`` and ``source`` (the checkpoint's commit and fold).

The export checks itself (``check=True``): onnx's checker, then onnxruntime against the torch path
(serkit's frontends, the normaliser, the network) on random waveforms of 1 s, 3.3 s and 7 s; a
difference above 1e-4 in any probability refuses the export. The file is written atomically.

The exported file runs with onnxruntime alone, with no torch installed::

    from serkit.infer.onnx_runtime import OnnxRecognizer
    rec = OnnxRecognizer("model.onnx")
    label, probabilities = rec.predict("clip.wav")

What exports
------------
Every registered network whose streams use ``logmel``, ``logspec`` or ``mfcc`` exports (checked with
random weights at 0.5-20 s): ``mfcc_cnn1d`` and ``mfcc_rnn`` (both sequence axes), ``drsn_bigru``,
``drn_bigru``, ``dcnn_lstm``, ``cnn_bilstm``, ``bigru_mha`` and its eight baselines,
``melspec_only``, ``conv_autoencoder`` and ``serkit_cnn1d``; ONNX and torch probabilities differed by
at most 1.1e-6 (1e-7 typical). These do not, and the export says which stream or model is the reason:

* ``whisper_head`` / ``whisper_head_pooled`` (``whisper`` / ``hf_encoder`` streams): the encoder is a
  large pretrained network loaded from its own package; use the torch :class:`~serkit.infer.Recognizer`;
* ``melspec_gemaps`` / ``gemaps_only`` (openSMILE ``egemaps`` / ``gemaps``) and anything on
  ``handcrafted`` functionals: not torch computations;
* ``melimage`` streams (3 s mel images) and speaker normalisers (they need the speaker's identity);
* classic scikit-learn learners (``classic_*``), which have no torch graph.

How: serkit's frontends run a batched numpy/torch engine that a trace cannot follow, so the export
rebuilds each one as a small torch module (``torch.stft`` -> ONNX ``STFT``, in float64 when
``n_fft`` is not a power of two, where onnxruntime's float32 DFT is inexact) from the frontend's own
filterbank, window and DCT matrices; tests compare them with the frontends. The network is traced
(TorchScript exporter, opset 17) with batch 1 and every frame real, so no padding mask or packed
sequence is needed; masks are built from the traced length and multi-head attention reshapes with
``-1``, which keeps the input length dynamic.

Inputs shorter than ``min_samples`` (metadata; e.g. the 9-frame window of MFCC deltas, 0.29 s
with the defaults) are refused by the runner: their features would differ from serkit's.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from serkit._io import atomic_write_bytes
from serkit.errors import CheckpointError, ParameterError

__all__ = [
    "DEFAULT_OPSET",
    "EXPORTABLE_FRONTENDS",
    "PARITY_TOLERANCE",
    "export_onnx",
    "load_for_export",
    "onnx_probabilities",
    "parity",
    "reference_probabilities",
]

DEFAULT_OPSET = 17
SAMPLE_RATE = 16_000
#: Largest difference in any probability that an export accepts (the issue's parity bar).
PARITY_TOLERANCE = 1e-4
#: Lengths (seconds) of the random waveforms the export checks itself on.
CHECK_SECONDS = (1.0, 3.3, 7.0)
EXPORTABLE_FRONTENDS = ("logmel", "logspec", "mfcc")
INPUT_NAME = "waveform"
OUTPUT_NAME = "probabilities"

_WHY_NOT = {
    "whisper": "the Whisper encoder is a large pretrained network loaded from its own package; "
    "use serkit.infer.Recognizer (torch) for whisper models",
    "hf_encoder": "pretrained encoders are not exported; use serkit.infer.Recognizer (torch)",
    "egemaps": "openSMILE features are computed by a C++ library, not by torch",
    "gemaps": "openSMILE features are computed by a C++ library, not by torch",
    "handcrafted": "the handcrafted functionals (pitch tracking, wavelets) are numpy code, not torch",
    "melimage": "the 3 s mel-image windowing is not exported yet",
}


# ----------------------------------------------------------------------------------------------
# Frontends as trace-friendly modules
# ----------------------------------------------------------------------------------------------


def _frame_count(n: Tensor | int, *, n_fft: int, hop: int, win: int, center: bool) -> Tensor | int:
    """:func:`serkit.features.spectral.frame_count` on a (traced) length."""
    extra = n + 2 * (n_fft // 2) - n_fft if center else n - win
    if isinstance(extra, Tensor):
        return 1 + torch.clamp(extra, min=0) // hop
    return 1 + max(0, extra) // hop


class PowerSpectrogram(nn.Module):
    """``|STFT|^2`` of a ``(1, n_samples)`` waveform, time-major ``(1, n_frames, 1 + n_fft // 2)``.

    Follows the framing convention of :mod:`serkit.features.spectral` (frame ``t`` holds the padded
    samples ``[t * hop, t * hop + win)`` times the periodic window, zero-padded to ``n_fft``) with
    ``torch.stft``, which the exporter turns into ONNX ``STFT``. ``torch.stft`` centres a window
    shorter than ``n_fft`` inside the DFT frame; that shifts the frame's phase, not its power, once
    the signal is padded by the same offset. Zeros are appended so that every length (one sample
    included) fills the frames serkit counts; the surplus frames are sliced off.
    """

    @classmethod
    def of(cls, fe: Any, *, preemphasis: float = 0.0) -> PowerSpectrogram:
        """The power spectrogram with a spectral frontend's framing (``n_fft``, hop, window, centring)."""
        return cls(
            n_fft=fe.n_fft,
            hop_length=fe.hop_length,
            win_length=fe.win_length,
            window=fe.window,
            center=fe.center,
            preemphasis=preemphasis,
        )

    def __init__(
        self,
        *,
        n_fft: int,
        hop_length: int,
        win_length: int | None,
        window: str,
        center: bool,
        preemphasis: float = 0.0,
    ) -> None:
        super().__init__()
        from serkit.features.spectral import _window

        self.n_fft, self.hop = int(n_fft), int(hop_length)
        self.win = self.n_fft if win_length is None else int(win_length)
        self.center = bool(center)
        self.preemphasis = float(preemphasis)
        offset = (self.n_fft - self.win) // 2  # where torch.stft puts the window inside the DFT frame
        left = self.n_fft // 2 - (self.n_fft - self.win) // 2 if center else 0
        self.left = offset + left
        # onnxruntime's float32 DFT is accurate for power-of-two sizes (radix-2) but not for others
        # (n_fft=1600 of logspec: 0.06 off in log power); those run in float64 and are cast back.
        self.float64 = self.n_fft & (self.n_fft - 1) != 0
        dtype = torch.float64 if self.float64 else torch.float32
        self.register_buffer("window", _window(window, self.win).to(dtype), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        if self.preemphasis:
            # Textbook pre-emphasis (y[0] = x[0]), before any padding, as serkit's STFT engine does.
            x = torch.cat([x[:, :1], x[:, 1:] - self.preemphasis * x[:, :-1]], dim=1)
        n = x.shape[1]
        zeros_left = x.new_zeros(1, self.left)
        zeros_right = x.new_zeros(1, self.n_fft + self.win)
        padded = torch.cat([zeros_left, x, zeros_right], dim=1)
        if self.float64:
            padded = padded.double()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # return_complex=False is what the ONNX STFT symbolic takes
            spec = torch.stft(
                padded,
                self.n_fft,
                hop_length=self.hop,
                win_length=self.win,
                window=self.window,
                center=False,
                return_complex=False,
            )
        power = spec.pow(2).sum(-1).transpose(1, 2).float()  # (1, frames, bins)
        count = _frame_count(n, n_fft=self.n_fft, hop=self.hop, win=self.win, center=self.center)
        return power[:, :count]


class _MelFrontend(nn.Module):
    """Shared: power spectrogram -> mel power with the frontend's own float32 filterbank."""

    def __init__(self, fe: Any, *, scale: float, preemphasis: float = 0.0) -> None:
        super().__init__()
        self.spec = PowerSpectrogram.of(fe, preemphasis=preemphasis)
        fb = (fe._filterbank() * scale).astype(np.float32)  # (bins, n_mels), as the STFT engine scales it
        self.register_buffer("filterbank", torch.from_numpy(np.ascontiguousarray(fb)), persistent=False)

    def mel(self, x: Tensor) -> Tensor:
        return self.spec(x) @ self.filterbank


class LogMelGraph(_MelFrontend):
    """``logmel``: pre-emphasis, power (optionally / n_fft), mel, natural log with a floor."""

    def __init__(self, fe: Any) -> None:
        super().__init__(fe, scale=1.0 / fe.n_fft if fe.power_norm else 1.0, preemphasis=fe.preemphasis)
        self.floor = float(fe.log_floor)

    def forward(self, x: Tensor) -> Tensor:
        return self.mel(x).clamp(min=self.floor).log()


class MfccGraph(_MelFrontend):
    """``mfcc``: mel power in dB, per-utterance ``top_db`` clip, orthonormal DCT-II, deltas."""

    def __init__(self, fe: Any) -> None:
        from serkit.features.spectral import _delta_operator, dct_matrix

        super().__init__(fe, scale=1.0)
        self.floor = float(fe.log_floor)
        self.top_db = None if fe.top_db is None else float(fe.top_db)
        self.register_buffer(
            "dct_t", dct_matrix(n_out=fe.n_mfcc, n_in=fe.n_mels).T.contiguous(), persistent=False
        )
        self.delta_order = int(fe.delta_order)
        self.width = int(fe.delta_width)
        self.half = self.width // 2
        self.n_mfcc = int(fe.n_mfcc)
        for order in (1, 2)[: self.delta_order]:
            # Operators for sequences longer than the filter (shorter ones are refused by min_samples).
            centre, left, right = _delta_operator(self.width + 1, self.width, order)
            weight = centre.view(1, 1, -1).repeat(self.n_mfcc, 1, 1)
            self.register_buffer(f"delta{order}_centre", weight.contiguous(), persistent=False)
            self.register_buffer(f"delta{order}_left", left.clone(), persistent=False)
            self.register_buffer(f"delta{order}_right", right.clone(), persistent=False)

    def _deltas(self, c: Tensor, order: int) -> Tensor:
        centre = getattr(self, f"delta{order}_centre")
        left = getattr(self, f"delta{order}_left")
        right = getattr(self, f"delta{order}_right")
        # Interior frames: the centred Savitzky-Golay filter is a cross-correlation (conv1d per feature).
        interior = nn.functional.conv1d(c.transpose(1, 2), centre, groups=self.n_mfcc).transpose(1, 2)
        first = left @ c[:, : self.width]
        last = right @ c[:, -self.width :]
        return torch.cat([first, interior, last], dim=1)

    def forward(self, x: Tensor) -> Tensor:
        db = self.mel(x).clamp(min=self.floor).log10() * 10.0
        if self.top_db is not None:
            db = torch.maximum(db, db.max() - self.top_db)
        c = db @ self.dct_t
        if not self.delta_order:
            return c
        parts = [c] + [self._deltas(c, order) for order in range(1, self.delta_order + 1)]
        return torch.cat(parts, dim=-1)


class LogSpecGraph(nn.Module):
    """``logspec``: power spectrogram, kept bins, natural log with a floor."""

    def __init__(self, fe: Any) -> None:
        super().__init__()
        self.spec = PowerSpectrogram.of(fe)
        self.lo, self.hi = fe.bin_range()
        self.floor = float(fe.log_floor)

    def forward(self, x: Tensor) -> Tensor:
        return self.spec(x)[..., self.lo : self.hi].clamp(min=self.floor).log()


def _min_samples(fe: Any) -> int:
    """Fewest samples the exported frontend reproduces exactly (deltas need more frames than their width)."""
    if fe.name != "mfcc" or not fe.delta_order:
        return 1
    need = fe.delta_width + 1
    win = fe.n_fft if fe.win_length is None else fe.win_length
    n = 1
    # frame_count is monotonic; step by hop to the first length with enough frames.
    while _frame_count(n, n_fft=fe.n_fft, hop=fe.hop_length, win=win, center=fe.center) < need:
        n += fe.hop_length
    while n > 1 and _frame_count(n - 1, n_fft=fe.n_fft, hop=fe.hop_length, win=win, center=fe.center) >= need:
        n -= 1
    return n


def frontend_module(stream: str, spec: str) -> tuple[nn.Module, int]:
    """The export-side module of one stream's frontend and the fewest samples it reproduces exactly.

    Raises
    ------
    CheckpointError
        The frontend cannot be exported (naming the stream, the frontend and why).
    """
    from serkit.features import build_frontend

    fe = build_frontend(spec)
    if fe.name == "logmel":
        return LogMelGraph(fe), _min_samples(fe)
    if fe.name == "mfcc":
        return MfccGraph(fe), _min_samples(fe)
    if fe.name == "logspec":
        return LogSpecGraph(fe), _min_samples(fe)
    why = _WHY_NOT.get(fe.name, "only the logmel, logspec and mfcc frontends are exported")
    raise CheckpointError(
        f"Cannot export stream {stream!r}: its frontend {spec!r} has no ONNX form ({why}). "
        f"Exportable frontends: {', '.join(EXPORTABLE_FRONTENDS)}."
    )


# ----------------------------------------------------------------------------------------------
# Normalisers
# ----------------------------------------------------------------------------------------------


class NormaliserGraph(nn.Module):
    """A fitted utterance / corpus normaliser (or none) on ``(1, T, F)`` features, in float64 as serkit's."""

    def __init__(self, stream: str, data: Mapping[str, Any] | None) -> None:
        super().__init__()
        self.kind = "none"
        if not data:
            return
        from serkit.features.normalise import (
            CorpusNormaliser,
            UtteranceNormaliser,
            normaliser_from_dict,
        )

        norm = normaliser_from_dict(dict(data))
        if isinstance(norm, UtteranceNormaliser):
            self.kind = "utterance"
            self.with_mean, self.with_std = bool(norm.with_mean), bool(norm.with_std)
            self.std_floor = float(norm.std_floor)
        elif isinstance(norm, CorpusNormaliser):
            if not hasattr(norm, "mean_"):
                raise CheckpointError(f"The corpus normaliser of stream {stream!r} was never fitted.")
            self.kind = "corpus"
            self.register_buffer(
                "mean", torch.from_numpy(np.asarray(norm.mean_, np.float64)), persistent=False
            )
            self.register_buffer(
                "scale", torch.from_numpy(np.asarray(norm.scale_, np.float64)), persistent=False
            )
        else:
            raise CheckpointError(
                f"Cannot export stream {stream!r}: its {type(norm).__name__} needs each speaker's identity "
                "and statistics; only utterance and corpus normalisers are exported."
            )

    def forward(self, x: Tensor) -> Tensor:
        if self.kind == "none":
            return x
        x64 = x.double()
        if self.kind == "corpus":
            return ((x64 - self.mean) / self.scale).float()
        mean = x64.mean(dim=1, keepdim=True)
        centred = x64 - mean
        if self.with_std:
            # numpy's population variance around the utterance mean, floored like _scale()
            scale = torch.clamp(centred.pow(2).mean(dim=1, keepdim=True).sqrt(), min=self.std_floor)
        if self.with_mean and self.with_std:
            out = centred / scale
        elif self.with_mean:
            out = centred
        elif self.with_std:
            out = x64 / scale
        else:
            out = x64
        return out.float()


# ----------------------------------------------------------------------------------------------
# The whole graph
# ----------------------------------------------------------------------------------------------


def _traceable_lengths_to_mask(lengths: Tensor, max_len: Any) -> Tensor:
    # serkit.models.base.lengths_to_mask calls int(max_len), which a trace freezes to the example's
    # length; torch.arange on the traced size stays dynamic.
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths.to(torch.long)[:, None]


def _mha_all_frames(self: nn.Module, x: Tensor, mask: Tensor) -> Tensor:
    """``MaskedMultiHeadSelfAttention.forward`` for batch 1 with every frame real, reshaped with -1.

    The key padding mask is all False there, and ``nn.MultiheadAttention``'s own reshapes would freeze
    the traced example's length into the graph. Same projections, scaled dot products and output
    projection as ``torch.nn.functional.multi_head_attention_forward`` (no dropout in eval).
    """
    mha = self.mha
    heads, dim = mha.num_heads, mha.embed_dim
    head_dim = dim // heads
    q, k, v = nn.functional.linear(x, mha.in_proj_weight, mha.in_proj_bias).chunk(3, dim=-1)
    q, k, v = (t.reshape(x.shape[0], -1, heads, head_dim).transpose(1, 2) for t in (q, k, v))
    weights = torch.softmax((q @ k.transpose(-2, -1)) / math.sqrt(head_dim), dim=-1)
    out = (weights @ v).transpose(1, 2).reshape(x.shape[0], -1, dim)
    return mha.out_proj(out)


@contextlib.contextmanager
def _tracing_patches() -> Iterator[None]:
    """While tracing: a trace-friendly ``lengths_to_mask`` in every loaded serkit.models module, and a
    multi-head attention that keeps the sequence length dynamic."""
    from serkit.models import base

    original = base.lengths_to_mask
    patched = []
    for name, module in list(sys.modules.items()):
        if (
            name.startswith("serkit.models")
            and module is not None
            and getattr(module, "lengths_to_mask", None) is original
        ):
            module.lengths_to_mask = _traceable_lengths_to_mask  # type: ignore[attr-defined]
            patched.append(module)
    from serkit.models.layers import MaskedMultiHeadSelfAttention

    mha_forward = MaskedMultiHeadSelfAttention.forward
    MaskedMultiHeadSelfAttention.forward = _mha_all_frames  # type: ignore[method-assign]
    try:
        yield
    finally:
        MaskedMultiHeadSelfAttention.forward = mha_forward  # type: ignore[method-assign]
        for module in patched:
            module.lengths_to_mask = original  # type: ignore[attr-defined]


class ExportGraph(nn.Module):
    """Waveform ``(1, n_samples)`` -> calibrated probabilities ``(1, n_classes)``."""

    def __init__(
        self,
        model: nn.Module,
        frontends: Mapping[str, nn.Module],
        normalisers: Mapping[str, nn.Module],
        temperature: float,
    ) -> None:
        super().__init__()
        self.model = model
        self.frontends = nn.ModuleDict(dict(frontends))
        self.normalisers = nn.ModuleDict(dict(normalisers))
        self.temperature = float(temperature)

    def forward(self, waveform: Tensor) -> Tensor:
        from serkit.models.base import Batch

        streams, lengths = {}, {}
        for name, frontend in self.frontends.items():
            x = self.normalisers[name](frontend(waveform))
            streams[name] = x
            # Every frame is real; computed from the traced shape so that it follows the input length.
            lengths[name] = torch.ones_like(x[:, :, 0], dtype=torch.long).sum(dim=1)
        logits = self.model(Batch(streams=streams, lengths=lengths))["logits"]
        return torch.softmax(logits / self.temperature, dim=-1)


def _temperature(meta: Mapping[str, Any]) -> float:
    cal = meta.get("calibration") or {}
    t = cal.get("temperature", 1.0) if isinstance(cal, Mapping) else 1.0
    try:
        t = float(t if t is not None else 1.0)
    except (TypeError, ValueError):
        t = math.nan
    if not (math.isfinite(t) and t > 0):
        raise CheckpointError(f"The checkpoint's calibration.temperature must be a number > 0. Got {t!r}.")
    return t


def load_for_export(checkpoint_dir: str | Path) -> tuple[ExportGraph, dict[str, Any], int]:
    """The export graph of a checkpoint folder (eval mode), its metadata and its ``min_samples``.

    Raises
    ------
    CheckpointError
        Missing / unreadable checkpoint, a classic learner, or a stream that cannot be exported.
    """
    from serkit.train.checkpoint import load_checkpoint, read_checkpoint_meta

    directory = Path(checkpoint_dir)
    if (directory / "classic.json").is_file() and not (directory / "checkpoint.json").is_file():
        raise CheckpointError(
            f"Cannot export {directory}: it holds a classic scikit-learn learner, not a torch network; only "
            "torch networks export to ONNX."
        )
    meta = read_checkpoint_meta(directory)
    name = str((meta.get("model") or {}).get("name", ""))
    if name.startswith("classic_") or "model" not in meta:
        raise CheckpointError(
            f"Cannot export {directory}: {name or 'its model'} is a classic scikit-learn learner, not a torch "
            "network; only torch networks export to ONNX."
        )
    streams = meta.get("streams") or {}
    frontends, normalisers, min_samples = {}, {}, 1
    for stream, info in streams.items():
        if info.get("kind", "frames") != "frames":
            raise CheckpointError(
                f"Cannot export stream {stream!r} ({info.get('frontend')!r}): only frame streams export."
            )
        module, need = frontend_module(stream, str(info["frontend"]))
        frontends[stream] = module
        normalisers[stream] = NormaliserGraph(stream, info.get("normaliser"))
        min_samples = max(min_samples, need)
    if not frontends:
        raise CheckpointError(f"The checkpoint {directory} names no input streams; nothing to export.")
    model, meta = load_checkpoint(directory)
    graph = ExportGraph(model, frontends, normalisers, _temperature(meta)).eval()
    return graph, meta, min_samples


# ----------------------------------------------------------------------------------------------
# Reference (torch, serkit's own frontends) and ONNX probabilities
# ----------------------------------------------------------------------------------------------


def reference_probabilities(model: nn.Module, meta: Mapping[str, Any], waveform: np.ndarray) -> np.ndarray:
    """Calibrated probabilities ``(n_classes,)`` of one 16 kHz waveform through serkit's torch path.

    serkit's frontends (``build_frontend``), the checkpoint's normalisers (``normaliser_from_dict``),
    the network in eval mode, ``softmax(logits / T)``: what the torch recognizer computes.
    """
    from serkit.features import build_frontend
    from serkit.features.normalise import normaliser_from_dict
    from serkit.models.base import Batch

    wave = np.ascontiguousarray(waveform, dtype=np.float32)
    streams, lengths = {}, {}
    for name, info in meta["streams"].items():
        feats = build_frontend(info["frontend"])(wave, sample_rate=SAMPLE_RATE)
        if info.get("normaliser"):
            feats = normaliser_from_dict(info["normaliser"]).transform([feats])[0]
        x = torch.from_numpy(np.asarray(feats, dtype=np.float32))[None]
        streams[name] = x
        lengths[name] = torch.tensor([x.shape[1]], dtype=torch.long)
    with torch.inference_mode():
        logits = model(Batch(streams=streams, lengths=lengths))["logits"]
        probs = torch.softmax(logits.double() / _temperature(meta), dim=-1)
    return probs[0].numpy()


def onnx_probabilities(session: Any, waveform: np.ndarray) -> np.ndarray:
    """Probabilities ``(n_classes,)`` from an onnxruntime session of an exported model."""
    wave = np.ascontiguousarray(waveform, dtype=np.float32)[None, :]
    return np.asarray(session.run([OUTPUT_NAME], {INPUT_NAME: wave})[0][0], dtype=np.float64)


def _session(model_bytes: bytes | str | Path, threads: int = 1) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    src = model_bytes if isinstance(model_bytes, bytes) else str(model_bytes)
    return ort.InferenceSession(src, sess_options=opts, providers=["CPUExecutionProvider"])


def parity(
    checkpoint_dir: str | Path,
    onnx_model: bytes | str | Path,
    *,
    seconds: Sequence[float] = CHECK_SECONDS,
    seed: int = 0,
) -> float:
    """Largest |difference| between ONNX and torch probabilities on random waveforms of ``seconds``.

    The waveforms are speech-like: noise shaped by a slow random envelope plus a few tones, at a
    realistic level (peak about 0.3), so that both loud and quiet frames are tested.
    """
    from serkit.train.checkpoint import load_checkpoint

    model, meta = load_checkpoint(checkpoint_dir)
    session = _session(onnx_model)
    rng = np.random.default_rng(seed)
    worst = 0.0
    for s in seconds:
        wave = test_waveform(s, rng)
        ref = reference_probabilities(model, meta, wave)
        got = onnx_probabilities(session, wave)
        worst = max(worst, float(np.max(np.abs(ref - got))))
    return worst


def test_waveform(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A random speech-like 16 kHz waveform (modulated noise plus harmonics), float32."""
    n = max(1, round(seconds * SAMPLE_RATE))
    t = np.arange(n) / SAMPLE_RATE
    envelope = np.abs(np.interp(t, np.linspace(0, t[-1] if n > 1 else 1, 8), rng.normal(size=8)))
    f0 = rng.uniform(100, 250)
    voiced = sum(np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6.3)) / k for k in range(1, 6))
    wave = envelope * (0.5 * voiced + 0.3 * rng.normal(size=n))
    return (0.3 * wave / max(1e-9, float(np.abs(wave).max()))).astype(np.float32)


test_waveform.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


# ----------------------------------------------------------------------------------------------
# Export
# ----------------------------------------------------------------------------------------------

#: Short lengths (seconds) probed for the shortest input the graph reproduces.
_PROBE_SECONDS = (0.02, 0.1, 0.3, 0.6, 1.0)


def _shortest_exact(checkpoint_dir: str | Path, model_bytes: bytes, floor: int) -> int:
    """The fewest samples from which the graph runs and matches torch (at least ``floor``).

    A trace records the branch the example took: a network that right-pads sequences shorter than
    its pooling needs (``pad_time``) keeps no padding in the graph, so very short inputs fail there.
    Probe short lengths, then bisect between the longest failure and the next success.
    """
    from serkit.train.checkpoint import load_checkpoint

    model, meta = load_checkpoint(checkpoint_dir)
    session = _session(model_bytes)
    rng = np.random.default_rng(1)

    def ok(n: int) -> bool:
        wave = test_waveform(n / SAMPLE_RATE, rng)
        try:
            got = onnx_probabilities(session, wave)
        except Exception:  # onnxruntime raises its own Fail / InvalidArgument types
            return False
        ref = reference_probabilities(model, meta, wave)
        return bool(np.all(np.abs(ref - got) <= PARITY_TOLERANCE))

    lengths = sorted({floor, *(round(s * SAMPLE_RATE) for s in _PROBE_SECONDS if s * SAMPLE_RATE > floor)})
    results = [ok(n) for n in lengths]
    if all(results):
        return floor
    if not results[-1]:
        raise CheckpointError(
            f"The ONNX graph of {checkpoint_dir} ({meta['model']['name']}) does not reproduce torch on a "
            f"{lengths[-1] / SAMPLE_RATE:g} s input; it cannot be exported."
        )
    last_bad = max(i for i, r in enumerate(results) if not r)
    lo, hi = lengths[last_bad], lengths[last_bad + 1]  # lo fails, hi works
    while hi - lo > 16:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def _metadata(meta: Mapping[str, Any], min_samples: int) -> dict[str, str]:
    from serkit import __version__

    cal = meta.get("calibration") or {}
    calibration = dict(cal) if isinstance(cal, Mapping) else {}
    calibration.setdefault("temperature", _temperature(meta))
    return {
        "format": "serkit-onnx",
        "format_version": "1",
        "classes": json.dumps(list(meta["classes"])),
        "sample_rate": str(SAMPLE_RATE),
        "calibration": json.dumps(calibration),
        "frontends": json.dumps({n: s["frontend"] for n, s in meta["streams"].items()}),
        "normalisers": json.dumps(
            {n: (s.get("normaliser") or {}).get("type", "none") for n, s in meta["streams"].items()}
        ),
        "min_samples": str(int(min_samples)),
        "model": str(meta["model"]["name"]),
        "serkit_version": __version__,
        "source": json.dumps(
            {k: meta.get(k) for k in ("commit", "serkit_version", "fold", "seed") if k in meta}
        ),
        "input": INPUT_NAME,
        "output": OUTPUT_NAME,
    }


def export_onnx(
    checkpoint_dir: str | Path,
    out_path: str | Path,
    *,
    opset: int = DEFAULT_OPSET,
    check: bool = True,
) -> Path:
    """Export a checkpoint's frontend + normaliser + network + calibration as one ONNX file.

    Parameters
    ----------
    checkpoint_dir : path
        A ``serkit train`` checkpoint folder (``model.safetensors`` + ``checkpoint.json``).
    out_path : path
        The ``.onnx`` file to write (atomically; folders are created).
    opset : int >= 17
        ONNX opset (17 is the first with the ``STFT`` operator).
    check : bool
        Run onnx's checker and compare onnxruntime with the torch path on 1 s, 3.3 s and 7 s random
        waveforms; refuse the export when a probability differs by more than :data:`PARITY_TOLERANCE`.

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    CheckpointError
        The checkpoint is missing or cannot be exported (names the stream and frontend, or the model).
    ParameterError
        ``opset`` below 17.
    """
    import onnx

    if not isinstance(opset, int) or opset < 17:
        raise ParameterError(
            f"The 'opset' parameter must be an int >= 17 (the first ONNX opset with STFT). Got {opset!r}."
        )
    graph, meta, min_samples = load_for_export(checkpoint_dir)
    example = torch.from_numpy(test_waveform(3.0, np.random.default_rng(0)))[None]
    buffer = io.BytesIO()
    with _tracing_patches(), warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about shapes are checked by the parity test
        try:
            torch.onnx.export(
                graph,
                (example,),
                buffer,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {1: "n_samples"}},
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,
            )
        except Exception as exc:  # the exporter raises many types; name the model and the first line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(
                f"Cannot export the {meta['model']['name']!r} network of {checkpoint_dir} to ONNX: {first}"
            ) from None
    proto = onnx.load_from_string(buffer.getvalue())
    min_samples = _shortest_exact(checkpoint_dir, buffer.getvalue(), min_samples)
    for key, value in _metadata(meta, min_samples).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = f"serkit {meta['model']['name']} exported from {Path(checkpoint_dir).name}"
    data = proto.SerializeToString()
    if check:
        onnx.checker.check_model(proto)
        diff = parity(checkpoint_dir, data)
        if not diff <= PARITY_TOLERANCE:
            raise CheckpointError(
                f"The ONNX export of {checkpoint_dir} ({meta['model']['name']}) differs from torch by {diff:.2e} "
                f"in a probability (tolerance {PARITY_TOLERANCE:g}); nothing was written."
            )
    return atomic_write_bytes(out_path, data)
