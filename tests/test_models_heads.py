"""Heads on frozen Whisper per-layer outputs: shapes, masking, layer weights, learning."""

from __future__ import annotations

import pytest
import torch

from serkit.errors import ParameterError
from serkit.models import Batch, create_model, list_models, model_info
from serkit.models.heads import AttentiveStatsPool, masked_mean_std

L, D = 3, 16  # a miniature encoder: 3 hidden states of width 16


def _frames_model(**cfg: object) -> torch.nn.Module:
    cfg = {"n_layers": L, "d": D, "proj_dim": 8, "attention_hidden": 8, "hidden": 16, **cfg}
    return create_model("whisper_head", num_classes=4, input_dims={"whisper": L * D}, **cfg)


def _pooled_model(**cfg: object) -> torch.nn.Module:
    cfg = {"n_layers": L, "d": D, "hidden": 16, **cfg}
    return create_model("whisper_head_pooled", num_classes=4, input_dims={"whisper": L * 2 * D}, **cfg)


def _frames_batch(lengths: list[int], *, seed: int = 0, pad_value: float = 0.0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    T = max(lengths)
    x = torch.randn(len(lengths), T, L * D, generator=g) * 3.0
    for i, n in enumerate(lengths):
        x[i, n:] = pad_value
    return Batch(
        streams={"whisper": x},
        lengths={"whisper": torch.tensor(lengths)},
        labels=torch.arange(len(lengths)) % 4,
    )


def test_registered_with_inputs() -> None:
    assert {"whisper_head", "whisper_head_pooled"} <= set(list_models())
    assert model_info("whisper_head").inputs == {"whisper": "frames"}
    assert model_info("whisper_head_pooled").inputs == {"whisper": "vector"}
    assert model_info("whisper_head").defaults["n_layers"] == 7
    assert model_info("whisper_head").defaults["d"] == 512


@pytest.mark.parametrize("name", ["whisper_head", "whisper_head_pooled"])
def test_default_config_builds_for_whisper_base(name: str) -> None:
    dim = 7 * 512 if name == "whisper_head" else 7 * 2 * 512
    model = create_model(name, num_classes=8, input_dims={"whisper": dim})
    rebuilt = create_model(**model.config)
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in model.parameters()]


def test_frames_forward_backward() -> None:
    torch.manual_seed(0)
    model = _frames_model()
    batch = _frames_batch([7, 4, 9])
    out = model(batch)
    assert out["logits"].shape == (3, 4)
    torch.nn.functional.cross_entropy(out["logits"], batch.labels).backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    assert grads["mix.logits"].abs().sum() > 0  # the layer weights learn


def test_pooled_forward_backward() -> None:
    torch.manual_seed(0)
    model = _pooled_model()
    x = torch.randn(5, L * 2 * D)
    out = model(Batch(streams={"whisper": x}))
    assert out["logits"].shape == (5, 4)
    out["logits"].sum().backward()
    assert model.mix.logits.grad is not None and model.mix.logits.grad.abs().sum() > 0


def _randomise_attention(model: torch.nn.Module) -> None:
    """The attention's last layer starts at zero (uniform weights); make it non-trivial."""
    if not model.attention:
        return
    with torch.no_grad():
        for p in model.pool.attention[-1].parameters():
            p.normal_(0.0, 1.0)


@pytest.mark.parametrize("pad_value", [0.0, 1e3])
@pytest.mark.parametrize(
    "cfg",
    [
        {"global_context": True},
        {"global_context": False},
        {"pool_source": "layers", "layer_mix": "sum"},
        {"pool_source": "layers", "layer_mix": "concat", "layer_norm": False},
        {"pool_source": "layers", "attention": False, "stats_norm": True},
        {"attention": False},
    ],
)
def test_padding_does_not_change_output(pad_value: float, cfg: dict) -> None:
    torch.manual_seed(0)
    model = _frames_model(**cfg).eval()
    _randomise_attention(model)
    batch = _frames_batch([5, 9, 2], pad_value=pad_value)
    padded = model(batch)["logits"]
    for i, n in enumerate([5, 9, 2]):
        alone = Batch(
            streams={"whisper": batch.streams["whisper"][i : i + 1, :n]},
            lengths={"whisper": torch.tensor([n])},
        )
        torch.testing.assert_close(model(alone)["logits"][0], padded[i], rtol=1e-5, atol=1e-5)


def test_extra_padding_does_not_change_output() -> None:
    torch.manual_seed(0)
    model = _frames_model().eval()
    _randomise_attention(model)
    batch = _frames_batch([6, 3])
    longer = Batch(
        streams={"whisper": torch.nn.functional.pad(batch.streams["whisper"], (0, 0, 0, 11))},
        lengths=batch.lengths,
    )
    torch.testing.assert_close(model(longer)["logits"], model(batch)["logits"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "make", [_frames_model, _pooled_model, lambda: _frames_model(pool_source="layers", attention=False)]
)
def test_layer_weights_softmax_uniform_at_init(make) -> None:
    model = make()
    w = model.layer_weights()
    assert w.shape == (L,)
    torch.testing.assert_close(w, torch.full((L,), 1.0 / L))
    with torch.no_grad():
        for p in model.parameters():
            if p.shape == (L,):
                p.copy_(torch.tensor([2.0, -1.0, 0.5]))
    w = model.layer_weights()
    assert (w > 0).all()
    torch.testing.assert_close(w.sum(), torch.tensor(1.0))


def test_layer_mix_picks_a_layer() -> None:
    """With all weight on one layer, the other layers cannot change the output."""
    torch.manual_seed(0)
    model = _frames_model(layer_norm=False).eval()
    with torch.no_grad():
        model.mix.logits.copy_(torch.tensor([-1e4, 1e4, -1e4]))
    batch = _frames_batch([6, 6])
    x = batch.streams["whisper"].clone().reshape(2, 6, L, D)
    x[:, :, 0] = torch.randn_like(x[:, :, 0])
    x[:, :, 2] = 0.0
    other = Batch(streams={"whisper": x.reshape(2, 6, L * D)}, lengths=batch.lengths)
    torch.testing.assert_close(model(other)["logits"], model(batch)["logits"])


def test_masked_mean_std_matches_plain_statistics() -> None:
    x = torch.randn(1, 10, 4)
    w = torch.zeros(1, 10)
    w[0, :7] = 1.0 / 7
    mean, std = masked_mean_std(x, w)
    torch.testing.assert_close(mean[0], x[0, :7].mean(0))
    torch.testing.assert_close(std[0], x[0, :7].std(0, unbiased=False))


def test_attentive_pool_starts_uniform_and_gives_mean_std() -> None:
    """At init the attention scores are zero -> uniform weights over the valid frames only."""
    pool = AttentiveStatsPool(4, hidden=3, global_context=False)
    x = torch.randn(1, 8, 4)
    mask = torch.tensor([[True] * 5 + [False] * 3])
    out = pool(x, mask)
    torch.testing.assert_close(out[0, :4], x[0, :5].mean(0))
    torch.testing.assert_close(out[0, 4:], x[0, :5].std(0, unbiased=False))


@pytest.mark.parametrize("attention", [True, False])
def test_layers_source_at_init_is_per_layer_mean_std(attention: bool) -> None:
    """pool_source='layers' with uniform attention pools each layer's frames like the baseline's mean+std."""
    torch.manual_seed(0)
    model = _frames_model(
        pool_source="layers", layer_mix="concat", layer_norm=False, hidden=0, dropout=0.0, attention=attention
    )
    model.eval()
    seen = {}
    model.head.register_forward_hook(lambda mod, inp, out: seen.setdefault("z", inp[0]))
    batch = _frames_batch([7, 4])
    model(batch)
    x = batch.streams["whisper"][1, :4].reshape(4, L, D)
    expected = torch.cat([x.mean(0), x.std(0, unbiased=False)], dim=-1).reshape(-1)  # gains are 1 at init
    torch.testing.assert_close(seen["z"][1], expected, rtol=1e-5, atol=1e-5)


def test_attention_focuses_on_the_frames_it_scores_highest() -> None:
    pool = AttentiveStatsPool(2, hidden=2, global_context=False, channelwise=False)
    x = torch.tensor([[[1.0, 0.0], [5.0, 5.0], [9.0, 9.0]]])
    mask = torch.tensor([[True, True, False]])
    with torch.no_grad():
        pool.attention[0].weight.copy_(torch.eye(2))
        pool.attention[0].bias.zero_()
        pool.attention[-1].weight.fill_(50.0)
    w = pool.weights(x, mask)
    assert w.shape == (1, 3, 1)
    assert w[0, 1, 0] > 0.99 and w[0, 2, 0] == 0.0


def test_zero_length_is_refused() -> None:
    model = _frames_model()
    batch = _frames_batch([3, 3])
    batch.lengths["whisper"] = torch.tensor([3, 0])
    with pytest.raises(ParameterError, match="length 0"):
        model(batch)


@pytest.mark.parametrize(
    ("name", "dim", "cfg", "match"),
    [
        ("whisper_head", 100, {}, "3584 features"),
        ("whisper_head_pooled", 7 * 512, {}, "7168 features"),
        ("whisper_head", 7 * 512, {"dropout": 1.0}, "'dropout'"),
        ("whisper_head", 7 * 512, {"proj_dim": -1}, "'proj_dim'"),
        ("whisper_head", 7 * 512, {"pool_source": "time"}, "'pool_source'"),
        ("whisper_head_pooled", 7 * 2 * 512, {"layer_mix": "max"}, "'layer_mix'"),
    ],
)
def test_bad_config(name: str, dim: int, cfg: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        create_model(name, num_classes=8, input_dims={"whisper": dim}, **cfg)


@pytest.mark.parametrize(
    ("make", "cfg"),
    [
        (_frames_model, {}),
        (_frames_model, {"pool_source": "layers", "layer_mix": "concat"}),
        (_frames_model, {"pool_source": "layers", "attention": False, "stats_norm": True}),
        (_pooled_model, {}),
        (_pooled_model, {"layer_mix": "concat", "hidden": 0}),
    ],
)
def test_overfits_a_tiny_batch(make, cfg: dict) -> None:
    torch.manual_seed(0)
    model = make(dropout=0.0, **cfg)
    if make is _frames_model:
        batch = _frames_batch([9, 6, 8, 5, 7, 9, 4, 8], seed=1)
    else:
        batch = Batch(streams={"whisper": torch.randn(8, L * 2 * D)}, labels=torch.arange(8) % 4)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(150):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(batch)["logits"], batch.labels)
        loss.backward()
        opt.step()
    model.eval()
    assert loss.item() < 0.05
    assert (model(batch)["logits"].argmax(1) == batch.labels).all()


@pytest.mark.parametrize("layer_mix", ["sum", "concat"])
def test_layer_weights_matter_after_stats_norm(layer_mix: str) -> None:
    """The statistics are standardised before the layer weights, so the weights still change the output
    (a batch norm after per-layer gains would cancel them: train mode shows it)."""
    torch.manual_seed(0)
    model = _frames_model(
        pool_source="layers", attention=False, stats_norm=True, layer_mix=layer_mix, dropout=0.0
    ).train()
    batch = _frames_batch([7, 4, 6, 5])
    before = model(batch)["logits"]
    with torch.no_grad():
        model.stats_mix.logits.copy_(torch.tensor([0.5, -0.5, 0.0]))
    assert (model(batch)["logits"] - before).abs().max() > 1e-2
