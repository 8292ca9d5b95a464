"""Every registered network builds from its config, runs forward and backward, and rebuilds from
``model.config``; the registry's error paths (timm ``tests/test_models.py`` style: one parametrised test
over the registry)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch

from serkit.errors import ParameterError
from serkit.models import Batch, create_model, lengths_to_mask, list_models, model_info, register_model
from serkit.models.base import SerModel

# Tiny hyperparameters and feature dims per model, so that each test takes milliseconds. A model missing
# here (registered by another module) runs at its defaults and typical dims.
TINY: dict[str, tuple[dict[str, int], dict[str, Any]]] = {
    # channels >= 8: with (4, 8), oneDNN's AVX2 1x1-convolution weight gradient (torch 2.13 CPU) aborts or hangs
    # on AMD EPYC hosts; the papers' sizes are not affected
    "drsn_bigru": ({"mel": 16}, {"num_units": 2, "channels": (8, 16), "gru_hidden": 8, "attention_dim": 8}),
    "drn_bigru": ({"mel": 16}, {"num_units": 2, "channels": (8, 16), "gru_hidden": 8, "attention_dim": 8}),
    "dcnn_lstm": ({"mel": 16}, {"channels": (4, 8), "lstm_hidden": 8}),
    "cnn_bilstm": ({"mel": 16}, {"channels": (4, 8), "lstm_hidden": 8}),
    "melspec_gemaps": (
        {"mel": 16, "gemaps": 12},
        {
            "mel_channels": (4, 8),
            "mel_dense": (16, 16),
            "gemaps_units": (16, 16),
            "head_units": (16,),
            "n_frames": 32,
        },
    ),
    "melspec_only": (
        {"mel": 16},
        {"mel_channels": (4, 8), "mel_dense": (16, 16), "head_units": (16,), "n_frames": 32},
    ),
    "gemaps_only": ({"gemaps": 12}, {"gemaps_units": (16, 16), "head_units": (16,)}),
    "bigru_mha": (
        {"spec": 16},
        {
            "cnn_channels": (4,),
            "pool_freq": 2,
            "gru_hidden": 8,
            "num_heads": 4,
            "fc_hidden": 8,
            "dropout": 0.0,
        },
    ),
    "bigru_mha_baseline_cnn": ({"spec": 16}, {"cnn_channels": (4, 8), "pool_freq": 2, "fc_hidden": 8}),
    "bigru_mha_baseline_cnn_lstm": (
        {"spec": 16},
        {"cnn_channels": (4,), "pool_freq": 2, "hidden": 8, "fc_hidden": 8},
    ),
    "bigru_mha_baseline_lstm": ({"spec": 16}, {"hidden": 8, "fc_hidden": 8}),
    "bigru_mha_baseline_rnn": ({"spec": 16}, {"hidden": 8, "fc_hidden": 8}),
    "bigru_mha_baseline_bigru": ({"spec": 16}, {"hidden": 8, "fc_hidden": 8}),
    "bigru_mha_baseline_self_attention": ({"spec": 16}, {"attention_dim": 8, "fc_hidden": 8}),
    "bigru_mha_baseline_bigru_self_attention": ({"spec": 16}, {"gru_hidden": 8, "fc_hidden": 8}),
    "bigru_mha_baseline_mha": ({"spec": 16}, {"attention_dim": 8, "num_heads": 4, "fc_hidden": 8}),
    "mfcc_cnn1d": ({"mfcc": 20}, {}),
    "mfcc_rnn": ({"mfcc": 20}, {"units": 8}),
    "conv_autoencoder": ({"feats": 12}, {"channels": (8, 4), "head_hidden": 8}),
}

TORCH_MODELS = list_models(torch_only=True)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny tensors: one thread is faster than two and immune to other processes on the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


N_CLASSES = 3
LENGTHS = [40, 33, 17, 25]


def tiny_model(name: str, **extra: Any) -> SerModel:
    """``name`` at its tiny config (or its defaults), seeded."""
    dims, cfg = TINY.get(name, (model_info(name).typical_dims, {}))
    torch.manual_seed(0)
    return create_model(name, num_classes=N_CLASSES, input_dims=dims, **{**cfg, **extra})


def random_batch(model: SerModel, lengths: list[int] = LENGTHS, *, seed: int = 0) -> Batch:
    """Random streams for ``model``'s inputs: frames zero-padded past ``lengths``, plus labels and scores."""
    g = torch.Generator().manual_seed(seed)
    b, t = len(lengths), max(lengths)
    lens = torch.tensor(lengths, dtype=torch.long)
    streams, stream_lengths = {}, {}
    for role, kind in model.inputs.items():
        name, dim = model.stream_names[role], model.input_dims[role]
        if kind == "frames":
            x = torch.randn(b, t, dim, generator=g)
            streams[name] = x * lengths_to_mask(lens, t).unsqueeze(-1)
            stream_lengths[name] = lens
        else:
            streams[name] = torch.randn(b, dim, generator=g)
    labels = torch.arange(b) % N_CLASSES
    return Batch(streams=streams, lengths=stream_lengths, labels=labels, scores=torch.rand(b, generator=g))


def training_loss(model: SerModel, batch: Batch) -> torch.Tensor:
    """CE on the logits, plus L1 on the score and the reconstruction loss where the model has them."""
    out = model(batch)
    loss = torch.nn.functional.cross_entropy(out["logits"], batch.labels)
    if "score" in out:
        loss = loss + (out["score"] - batch.scores).abs().mean()
    if hasattr(model, "reconstruction_loss"):
        loss = loss + model.reconstruction_loss(batch)
    return loss


def test_every_registered_model_is_covered():
    """Non-torch entries (if any) are classic learners tested elsewhere; every torch model is parametrised."""
    non_torch = sorted(set(list_models()) - set(TORCH_MODELS))
    assert all(model_info(n).cls.__module__ == "serkit.models.classic" for n in non_torch), non_torch
    assert set(TINY) <= set(TORCH_MODELS), sorted(set(TINY) - set(TORCH_MODELS))


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_forward_backward(name):
    supports_regression = "regression" in model_info(name).defaults
    model = tiny_model(name, **({"regression": True} if supports_regression else {}))
    assert isinstance(model, SerModel)
    model.train()
    batch = random_batch(model)
    out = model(batch)
    assert out["logits"].shape == (len(LENGTHS), N_CLASSES)
    assert torch.isfinite(out["logits"]).all()
    if supports_regression:
        assert out["score"].shape == (len(LENGTHS),)
    else:
        assert "score" not in out
    training_loss(model, batch).backward()
    for pname, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, f"{name}: no gradient reaches {pname}"
            assert torch.isfinite(p.grad).all(), f"{name}: non-finite gradient in {pname}"


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_config_rebuilds_the_same_model(name):
    model = tiny_model(name)
    config = model.config
    assert config["name"] == name
    assert config["num_classes"] == N_CLASSES
    json.dumps(config)  # a checkpoint stores it as JSON
    rebuilt = create_model(**json.loads(json.dumps(config)))
    assert type(rebuilt) is type(model)
    assert rebuilt.config == config
    a, b = model.state_dict(), rebuilt.state_dict()
    assert list(a) == list(b)
    assert all(a[k].shape == b[k].shape for k in a)
    rebuilt.load_state_dict(a)
    batch = random_batch(model)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt.eval()(batch)["logits"], model.eval()(batch)["logits"])


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_model_info_describes_the_model(name):
    info = model_info(name)
    assert info.name == name and info.paper and info.description
    assert set(info.inputs.values()) <= {"frames", "vector"}
    assert set(info.typical_dims) == set(info.inputs)
    assert tiny_model(name).inputs == info.inputs


def test_defaults_are_the_signature_defaults():
    info = model_info("bigru_mha")
    assert info.defaults["num_heads"] == 16 and info.defaults["gru_hidden"] == 128
    assert model_info("drsn_bigru").defaults["num_units"] == 5
    assert model_info("drsn_bigru").defaults["act"] == "mish"


def test_unknown_model_name_suggests_close_matches():
    with pytest.raises(ParameterError, match=r"Unknown model 'drsn_bigr'.*Did you mean 'drsn_bigru'"):
        create_model("drsn_bigr", num_classes=4, input_dims={"mel": 40})
    with pytest.raises(ParameterError, match="Unknown model"):
        model_info("no_such_model_at_all")


def test_unknown_cfg_key_is_named_and_valid_keys_listed():
    with pytest.raises(
        ParameterError, match=r"'num_head'.*did you mean 'num_heads'.*Valid keys:.*gru_hidden"
    ):
        create_model("bigru_mha", num_classes=4, input_dims={"spec": 401}, num_head=8)
    with pytest.raises(ParameterError, match="'bogus'"):
        create_model("mfcc_rnn", num_classes=4, input_dims={"mfcc": 40}, cfg={"bogus": 1})


@pytest.mark.parametrize(
    ("cfg", "match"),
    [
        (
            {"act": "mish "},
            r"'act' parameter of model 'drsn_bigru' must be one of 'mish', 'relu'\. Got 'mish '",
        ),
        ({"num_units": "5"}, "'num_units' .* must be an int. Got '5'"),
        ({"num_units": True}, "'num_units' .* must be an int"),
        ({"channels": [16, "a"]}, "'channels' .* must be a list"),
        ({"dropout": "0.1"}, "'dropout' .* must be a number"),
    ],
)
def test_cfg_values_of_the_wrong_type_are_refused(cfg, match):
    with pytest.raises(ParameterError, match=match):
        create_model("drsn_bigru", num_classes=4, input_dims={"mel": 40}, **cfg)


def test_missing_input_dims_and_bad_values_raise():
    with pytest.raises(ParameterError, match="gemaps"):
        create_model("melspec_gemaps", num_classes=4, input_dims={"mel": 128})
    with pytest.raises(ParameterError, match="num_classes"):
        create_model("mfcc_rnn", num_classes=0, input_dims={"mfcc": 40})
    with pytest.raises(ParameterError, match="divisible"):
        create_model("bigru_mha", num_classes=4, input_dims={"spec": 401}, gru_hidden=10, num_heads=8)
    with pytest.raises(ParameterError, match="unknown role"):
        create_model("mfcc_rnn", num_classes=4, input_dims={"mfcc": 40}, stream_names={"mel": "x"})


def test_stream_names_map_roles_to_batch_streams():
    model = tiny_model("mfcc_rnn")
    model2 = create_model(
        "mfcc_rnn", num_classes=3, input_dims={"mfcc": 20}, units=8, stream_names={"mfcc": "mfcc80"}
    )
    model2.load_state_dict(model.state_dict())
    batch = random_batch(model)
    renamed = Batch(streams={"mfcc80": batch.streams["mfcc"]}, lengths={"mfcc80": batch.lengths["mfcc"]})
    model.eval(), model2.eval()
    torch.testing.assert_close(model(batch)["logits"], model2(renamed)["logits"])
    assert create_model(**model2.config).stream_names == {"mfcc": "mfcc80"}
    with pytest.raises(ParameterError, match="reads stream 'mfcc80'"):
        model2(batch)


def test_register_model_refuses_bad_registrations():
    with pytest.raises(ParameterError, match="stream kinds"):
        register_model("x_bad_kind", paper="p", inputs={"a": "image"})
    with pytest.raises(ParameterError, match="already registered"):

        @register_model("drsn_bigru", paper="p", inputs={"mel": "frames"})
        class Other(SerModel):
            def __init__(self, *, num_classes: int, input_dims: dict[str, int]) -> None:
                super().__init__(num_classes=num_classes, input_dims=input_dims)


def test_lengths_to_mask_and_batch_to():
    mask = lengths_to_mask(torch.tensor([3, 0, 1]), 4)
    assert mask.tolist() == [[True, True, True, False], [False] * 4, [True, False, False, False]]
    batch = random_batch(tiny_model("mfcc_rnn"))
    moved = batch.to("cpu")
    assert moved is not batch and moved.batch_size == len(LENGTHS)
    assert torch.equal(moved.mask("mfcc"), lengths_to_mask(batch.lengths["mfcc"], max(LENGTHS)))
