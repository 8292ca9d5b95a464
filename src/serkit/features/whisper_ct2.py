"""Read OpenAI Whisper encoder weights from a CTranslate2 ``model.bin`` without CTranslate2.

The weights that install from the package registry (see ``docs/encoders.md``) are CTranslate2
conversions of Whisper (Radford et al., 2023, "Robust Speech Recognition via Large-Scale Weak
Supervision", ICML). This module parses the CTranslate2 binary format (version 6) with ``struct`` and
numpy, and renames the ``encoder/...`` variables onto the state dict of ``transformers``'
``WhisperEncoder``, so that the encoder runs in plain torch.

Format (little-endian)::

    uint32 version (6) | uint16 len + spec name (NUL-terminated) | uint32 spec revision | uint32 n_variables
    n_variables x [uint16 len + name | uint8 rank | rank x uint32 dims | uint8 dtype | uint32 n_bytes | data]
    uint32 n_aliases | n_aliases x [uint16 len + alias | uint16 len + target]      (optional)

dtype codes: 0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import IO, Any

import numpy as np

from serkit.errors import WeightsError

__all__ = [
    "CT2_DTYPES",
    "WeightsError",
    "ct2_to_whisper_encoder_state_dict",
    "read_ct2_config",
    "read_ct2_model",
    "whisper_encoder_dims",
]

SUPPORTED_BINARY_VERSION = 6

CT2_DTYPES: dict[int, np.dtype] = {
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<f2"),
    5: np.dtype("<u2"),  # bfloat16: the upper half of a float32, widened on read
}
"""CTranslate2 dtype code -> numpy dtype of the stored bytes."""


class _Reader:
    """Sequential little-endian reads that name the file when it ends early."""

    def __init__(self, handle: IO[bytes], path: Path) -> None:
        self.handle = handle
        self.path = path

    def truncated(self, what: str) -> WeightsError:
        return WeightsError(
            f"Cannot read CTranslate2 model '{self.path}': the file is truncated "
            f"(it ends inside {what}). Re-create or re-install the weights."
        )

    def read(self, n_bytes: int, what: str) -> bytes:
        data = self.handle.read(n_bytes)
        if len(data) != n_bytes:
            raise self.truncated(what)
        return data

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.read(struct.calcsize("<" + fmt), what))

    def string(self, what: str) -> str:
        (length,) = self.unpack("H", what)
        raw = self.read(length, what)
        # Lengths include the trailing NUL.
        return raw.rstrip(b"\0").decode("utf-8", errors="replace")


def read_ct2_model(
    path: str | Path, *, prefix: str | None = "encoder/"
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read the variables of a CTranslate2 ``model.bin`` (binary version 6) into numpy arrays.

    Parameters
    ----------
    path : str or Path
        The ``model.bin`` file.
    prefix : str or None
        Keep only variables whose name starts with this (``"encoder/"`` skips the decoder without
        reading its bytes); ``None`` keeps all.

    Returns
    -------
    variables : dict of str -> np.ndarray
        Name -> array with the stored shape. float16 and bfloat16 are widened to float32; integer
        variables keep their integer dtype; scalars are 0-d arrays.
    header : dict
        ``{"version": int, "spec": str, "spec_revision": int, "n_variables": int, "aliases": dict}``.

    Raises
    ------
    WeightsError
        The file is missing, is not version 6, is truncated, or has an unknown dtype code; the
        message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"Cannot read CTranslate2 model '{path}': no such file.")
    size = path.stat().st_size
    variables: dict[str, np.ndarray] = {}
    with path.open("rb") as handle:
        reader = _Reader(handle, path)
        (version,) = reader.unpack("I", "the header")
        if version != SUPPORTED_BINARY_VERSION:
            raise WeightsError(
                f"Cannot read CTranslate2 model '{path}': binary version {version} is not supported "
                f"(serkit reads version {SUPPORTED_BINARY_VERSION}). Convert the model with a CTranslate2 "
                f"release that writes version {SUPPORTED_BINARY_VERSION} (3.x/4.x)."
            )
        spec = reader.string("the header")
        (revision,) = reader.unpack("I", "the header")
        (n_variables,) = reader.unpack("I", "the header")
        for index in range(n_variables):
            what = f"variable {index + 1} of {n_variables}"
            name = reader.string(what)
            (rank,) = reader.unpack("B", what)
            dims = reader.unpack("I" * rank, what) if rank else ()
            (code,) = reader.unpack("B", what)
            (n_bytes,) = reader.unpack("I", what)
            if code not in CT2_DTYPES:
                raise WeightsError(
                    f"Cannot read CTranslate2 model '{path}': variable {name!r} has unknown dtype "
                    f"code {code} (known: {sorted(CT2_DTYPES)})."
                )
            dtype = CT2_DTYPES[code]
            expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
            if n_bytes != expected:
                raise WeightsError(
                    f"Cannot read CTranslate2 model '{path}': variable {name!r} declares {n_bytes} bytes "
                    f"but its shape {tuple(dims)} and dtype need {expected}."
                )
            if prefix is not None and not name.startswith(prefix):
                if handle.tell() + n_bytes > size:
                    raise reader.truncated(f"variable {name!r}")
                handle.seek(n_bytes, 1)
                continue
            raw = np.frombuffer(reader.read(n_bytes, f"variable {name!r}"), dtype=dtype).reshape(dims)
            variables[name] = _widen(raw, code)
        aliases: dict[str, str] = {}
        tail = handle.read(4)
        if len(tail) == 4:
            (n_aliases,) = struct.unpack("<I", tail)
            for _ in range(n_aliases):
                alias = reader.string("the alias table")
                aliases[alias] = reader.string("the alias table")
    header = {
        "version": version,
        "spec": spec,
        "spec_revision": revision,
        "n_variables": n_variables,
        "aliases": aliases,
    }
    return variables, header


def _widen(raw: np.ndarray, code: int) -> np.ndarray:
    if code == 4:
        return raw.astype(np.float32)
    if code == 5:
        # bfloat16 is the high 16 bits of a float32.
        return (raw.astype(np.uint32) << 16).view(np.float32)
    return raw.copy()


_LAYER = re.compile(r"^encoder/layer_(\d+)/")

# CTranslate2 sub-name -> transformers WhisperEncoderLayer sub-name (the fused qkv is split apart).
_LAYER_MAP = {
    "self_attention/layer_norm/gamma": "self_attn_layer_norm.weight",
    "self_attention/layer_norm/beta": "self_attn_layer_norm.bias",
    "self_attention/linear_1/weight": "self_attn.out_proj.weight",
    "self_attention/linear_1/bias": "self_attn.out_proj.bias",
    "ffn/layer_norm/gamma": "final_layer_norm.weight",
    "ffn/layer_norm/beta": "final_layer_norm.bias",
    "ffn/linear_0/weight": "fc1.weight",
    "ffn/linear_0/bias": "fc1.bias",
    "ffn/linear_1/weight": "fc2.weight",
    "ffn/linear_1/bias": "fc2.bias",
}
_TOP_MAP = {
    "encoder/conv1/weight": "conv1.weight",
    "encoder/conv1/bias": "conv1.bias",
    "encoder/conv2/weight": "conv2.weight",
    "encoder/conv2/bias": "conv2.bias",
    "encoder/position_encodings/encodings": "embed_positions.weight",
    "encoder/layer_norm/gamma": "layer_norm.weight",
    "encoder/layer_norm/beta": "layer_norm.bias",
}


def whisper_encoder_dims(
    variables: dict[str, np.ndarray], *, config: dict[str, Any] | None = None, source: str = "model.bin"
) -> dict[str, int]:
    """Infer the Whisper encoder's dimensions from its CTranslate2 variables.

    Parameters
    ----------
    variables : dict of str -> np.ndarray
        Output of :func:`read_ct2_model` (``encoder/`` variables).
    config : dict or None
        The CTranslate2 ``config.json`` next to the model, if any; a ``num_heads`` /
        ``encoder_attention_heads`` entry there is used when the ``encoder/num_heads`` scalar is absent.
    source : str
        File name used in error messages.

    Returns
    -------
    dict
        ``d_model``, ``num_mel_bins``, ``encoder_layers``, ``encoder_attention_heads``,
        ``encoder_ffn_dim``, ``max_source_positions`` (keyword arguments of ``WhisperConfig``).

    Raises
    ------
    WeightsError
        A required encoder variable is missing.
    """
    _require(variables, ["encoder/conv1/weight", "encoder/position_encodings/encodings"], source)
    d_model, n_mels, _ = variables["encoder/conv1/weight"].shape
    layers = {int(m.group(1)) for name in variables if (m := _LAYER.match(name))}
    if not layers or sorted(layers) != list(range(len(layers))):
        raise WeightsError(
            f"CTranslate2 model '{source}' has no contiguous encoder/layer_0..N variables "
            f"(found layers {sorted(layers)}): is it a Whisper model?"
        )
    _require(variables, ["encoder/layer_0/ffn/linear_0/weight"], source)
    if "encoder/num_heads" in variables:
        heads = int(np.asarray(variables["encoder/num_heads"]).reshape(-1)[0])
    elif config and ("num_heads" in config or "encoder_attention_heads" in config):
        heads = int(config.get("num_heads", config.get("encoder_attention_heads")))
    else:
        # Every released Whisper model uses 64-dimensional attention heads.
        heads = max(1, d_model // 64)
    if d_model % heads:
        raise WeightsError(
            f"CTranslate2 model '{source}': d_model {d_model} is not divisible by {heads} heads."
        )
    return {
        "d_model": int(d_model),
        "num_mel_bins": int(n_mels),
        "encoder_layers": len(layers),
        "encoder_attention_heads": heads,
        "encoder_ffn_dim": int(variables["encoder/layer_0/ffn/linear_0/weight"].shape[0]),
        "max_source_positions": int(variables["encoder/position_encodings/encodings"].shape[0]),
    }


def _require(variables: dict[str, np.ndarray], names: list[str], source: str) -> None:
    missing = [n for n in names if n not in variables]
    if missing:
        raise WeightsError(
            f"CTranslate2 model '{source}' lacks the Whisper encoder variable(s) {missing}: "
            f"is it a Whisper model (spec 'WhisperSpec')?"
        )


def ct2_to_whisper_encoder_state_dict(
    variables: dict[str, np.ndarray], *, source: str = "model.bin"
) -> dict[str, np.ndarray]:
    """Rename CTranslate2 Whisper encoder variables to a ``transformers`` ``WhisperEncoder`` state dict.

    The fused attention projection ``linear_0`` ``[shape=(3 d, d)]`` is split into ``q_proj``,
    ``k_proj`` and ``v_proj``; Whisper's key projection has no bias (CTranslate2 stores zeros), so
    the key part of the bias is dropped. Layer-norm ``gamma``/``beta`` become ``weight``/``bias``.

    Parameters
    ----------
    variables : dict of str -> np.ndarray
        Output of :func:`read_ct2_model`.
    source : str
        File name used in error messages.

    Returns
    -------
    dict of str -> np.ndarray
        float32 arrays keyed like ``WhisperEncoder.state_dict()``.

    Raises
    ------
    WeightsError
        A variable is missing, has an unexpected shape, is quantised (integer weights), or the
        stored key bias is not zero.
    """
    dims = whisper_encoder_dims(variables, source=source)
    d = dims["d_model"]
    state: dict[str, np.ndarray] = {}

    def take(name: str) -> np.ndarray:
        _require(variables, [name], source)
        value = variables[name]
        if value.dtype != np.float32:
            raise WeightsError(
                f"CTranslate2 model '{source}': variable {name!r} has dtype {value.dtype}; quantised "
                f"(int8/int16) models are not supported. Convert with --quantization float16 or float32."
            )
        return value

    for ct2_name, hf_name in _TOP_MAP.items():
        state[hf_name] = take(ct2_name)
    for layer in range(dims["encoder_layers"]):
        base = f"encoder/layer_{layer}/"
        for ct2_sub, hf_sub in _LAYER_MAP.items():
            state[f"layers.{layer}.{hf_sub}"] = take(base + ct2_sub)
        weight = take(base + "self_attention/linear_0/weight")
        bias = take(base + "self_attention/linear_0/bias")
        if weight.shape != (3 * d, d) or bias.shape != (3 * d,):
            raise WeightsError(
                f"CTranslate2 model '{source}': {base}self_attention/linear_0 has shape {weight.shape} "
                f"(bias {bias.shape}); expected fused q, k, v of shape {(3 * d, d)}."
            )
        if np.any(bias[d : 2 * d] != 0):
            raise WeightsError(
                f"CTranslate2 model '{source}': the key bias of {base}self_attention is not zero; "
                f"Whisper's key projection has no bias, so this is not a Whisper encoder."
            )
        for offset, part in enumerate(("q_proj", "k_proj", "v_proj")):
            state[f"layers.{layer}.self_attn.{part}.weight"] = weight[offset * d : (offset + 1) * d]
            if part != "k_proj":
                state[f"layers.{layer}.self_attn.{part}.bias"] = bias[offset * d : (offset + 1) * d]
    return state


def read_ct2_config(folder: str | Path) -> dict[str, Any] | None:
    """The ``config.json`` next to a CTranslate2 model, or ``None`` when there is none."""
    config_path = Path(folder) / "config.json"
    if not config_path.is_file():
        return None
    try:
        return json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WeightsError(f"Cannot read CTranslate2 config '{config_path}': {exc}.") from exc
