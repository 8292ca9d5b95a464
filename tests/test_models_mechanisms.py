"""The mechanisms the papers rely on, tested on tiny inputs: soft thresholding and learned thresholds
(DRSN), masking (padding never changes an output), the papers' layer sizes, and that every network can
fit a tiny batch."""

from __future__ import annotations

import pytest
import torch

from serkit.models import Batch, create_model, model_info
from serkit.models.drsn_bigru import RSBU, ThresholdNet
from serkit.models.layers import (
    AttentiveStatsPooling,
    MaskedMultiHeadSelfAttention,
    MaskedSelfAttention,
    conv_out_lengths,
    masked_max,
    masked_mean,
    masked_std,
    run_rnn,
    soft_threshold,
)
from test_models import N_CLASSES, TORCH_MODELS, random_batch, tiny_model, training_loss

SEQUENCE_MODELS = [n for n in TORCH_MODELS if "frames" in model_info(n).inputs.values()]


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny tensors: one thread is faster than two and immune to other processes on the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------------------------------------------
# soft thresholding and learned thresholds (DRSN-BiGRU, Section 3.2)


def test_soft_threshold_zeroes_exactly_the_small_values_and_shrinks_the_rest():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 8, generator=g) * 2
    thr = torch.rand(1, 8, generator=g) + 0.1
    x[0] = thr[0]  # exactly at the threshold: zeroed
    x[1] = -thr[0]
    y = soft_threshold(x, thr)
    small = x.abs() <= thr
    assert small[:2].all() and small.any() and (~small).any()
    assert torch.all(y[small] == 0)
    big = ~small
    torch.testing.assert_close(y[big], (x - torch.sign(x) * thr)[big])
    assert torch.all(torch.sign(y[big]) == torch.sign(x[big]))  # the sign is kept


def test_soft_threshold_gradient_is_one_outside_zero_inside():
    x = torch.tensor([-2.0, -0.5, 0.3, 1.5], requires_grad=True)
    soft_threshold(x, 1.0).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 0.0, 1.0]


@pytest.mark.parametrize("train", [True, False])
def test_thresholds_are_positive_and_below_mean_abs_per_channel(train):
    torch.manual_seed(0)
    net = ThresholdNet(6).train(train)
    x = torch.randn(5, 6, 4, 10) * torch.linspace(0.1, 3, 6)[None, :, None, None]
    lengths = torch.tensor([10, 7, 3, 10, 1])
    x = x * (torch.arange(10)[None, :] < lengths[:, None])[:, None, None, :]
    thr = net(x, lengths).squeeze(-1).squeeze(-1)  # (B, C)
    mean_abs = torch.stack([x[i, :, :, : lengths[i]].abs().mean(dim=(1, 2)) for i in range(5)])
    assert torch.all(thr > 0)
    assert torch.all(thr < mean_abs)


def test_rsbu_shrinks_inside_the_full_model():
    """A forward hook on every threshold sub-network of drsn_bigru sees 0 < thr < mean|x|; drn_bigru has none."""
    model = tiny_model("drsn_bigru").eval()
    seen = []

    def hook(module, args, thr):
        x, lengths = args
        for i in range(x.shape[0]):
            mean_abs = x[i, :, :, : lengths[i]].abs().mean(dim=(1, 2))
            seen.append(bool(torch.all(thr[i, :, 0, 0] > 0) and torch.all(thr[i, :, 0, 0] < mean_abs)))

    units = [m for m in model.modules() if isinstance(m, RSBU)]
    assert len(units) == 2 and all(u.threshold is not None for u in units)
    for u in units:
        u.threshold.register_forward_hook(hook)
    with torch.no_grad():
        model(random_batch(model))
    assert seen and all(seen)
    assert all(u.threshold is None for u in tiny_model("drn_bigru").modules() if isinstance(u, RSBU))


def test_drsn_bigru_faithful_defaults():
    model = create_model("drsn_bigru", num_classes=6, input_dims={"mel": 40})
    units = [m for m in model.modules() if isinstance(m, RSBU)]
    assert len(units) == 5
    assert all(isinstance(u.act1, torch.nn.Mish) for u in units)
    assert all(u.conv1.kernel_size == (3, 3) and u.conv2.kernel_size == (3, 3) for u in units)
    assert model.gru.bidirectional
    relu = create_model("drsn_bigru", num_classes=6, input_dims={"mel": 40}, act="relu")
    assert all(isinstance(u.act1, torch.nn.ReLU) for u in relu.modules() if isinstance(u, RSBU))


# ---------------------------------------------------------------------------------------------------
# masking


def _unpadded_outputs(model, batch):
    rows = []
    for i in range(batch.batch_size):
        streams, lengths = {}, {}
        for name, x in batch.streams.items():
            if name in batch.lengths:
                n = int(batch.lengths[name][i])
                streams[name] = x[i : i + 1, :n]
                lengths[name] = batch.lengths[name][i : i + 1]
            else:
                streams[name] = x[i : i + 1]
        rows.append(model(Batch(streams=streams, lengths=lengths)))
    return rows


@pytest.mark.parametrize("name", SEQUENCE_MODELS)
def test_padding_does_not_change_outputs(name):
    extra = {"regression": True} if "regression" in model_info(name).defaults else {}
    model = tiny_model(name, **extra).eval()
    batch = random_batch(model, [40, 33, 17, 25, 31])
    with torch.no_grad():
        full = model(batch)
        # Padding with garbage instead of zeros must not matter either: models zero padded frames themselves.
        noisy = Batch(
            streams={
                k: v + 5 * (1 - batch.mask(k).float()).unsqueeze(-1) if k in batch.lengths else v
                for k, v in batch.streams.items()
            },
            lengths=batch.lengths,
        )
        noisy_out = model(noisy)
        rows = _unpadded_outputs(model, batch)
    for key in full:
        torch.testing.assert_close(noisy_out[key], full[key], atol=1e-5, rtol=1e-5)
        for i, row in enumerate(rows):
            torch.testing.assert_close(row[key][0], full[key][i], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("name", "cfg"),
    [
        ("melspec_gemaps", {"time_pooling": "mean"}),
        ("mfcc_cnn1d", {"sequence_axis": "time"}),
        ("mfcc_rnn", {"sequence_axis": "time"}),
        ("drsn_bigru", {"stem_stride": 2, "pool_freq": 2}),
    ],
)
def test_padding_does_not_change_outputs_of_variants(name, cfg):
    model = tiny_model(name, **cfg).eval()
    batch = random_batch(model, [40, 33, 17, 25, 31])
    with torch.no_grad():
        full = model(batch)["logits"]
        rows = _unpadded_outputs(model, batch)
    for i, row in enumerate(rows):
        torch.testing.assert_close(row["logits"][0], full[i], atol=1e-5, rtol=1e-5)


def test_masked_pooling_ignores_padding():
    x = torch.randn(3, 6, 4)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1] * 6, [1, 0, 0, 0, 0, 0]], dtype=torch.bool)
    garbage = x.masked_fill(~mask.unsqueeze(-1), 1e3)
    for i, n in enumerate([3, 6, 1]):
        torch.testing.assert_close(masked_mean(garbage, mask)[i], x[i, :n].mean(0))
        torch.testing.assert_close(masked_std(garbage, mask, eps=0.0)[i], x[i, :n].std(0, unbiased=False))
        torch.testing.assert_close(masked_max(garbage, mask)[i], x[i, :n].max(0).values)
    pool = AttentiveStatsPooling(4, 8)
    torch.testing.assert_close(pool(garbage, mask)[2], pool(x[2:3, :1], mask[2:3, :1])[0])


@pytest.mark.parametrize("layer", [MaskedSelfAttention(8), MaskedMultiHeadSelfAttention(8, 4)])
def test_attention_ignores_padded_keys(layer):
    layer.eval()
    x = torch.randn(2, 7, 8)
    mask = torch.tensor([[1] * 4 + [0] * 3, [1] * 7], dtype=torch.bool)
    garbage = x.masked_fill(~mask.unsqueeze(-1), 50.0)
    with torch.no_grad():
        out = layer(garbage, mask)
        alone = layer(x[:1, :4], mask[:1, :4])
    torch.testing.assert_close(out[0, :4], alone[0], atol=1e-5, rtol=1e-5)
    assert torch.all(out[0, 4:] == 0)


def test_packed_rnn_matches_each_sequence_alone():
    torch.manual_seed(0)
    gru = torch.nn.GRU(3, 5, batch_first=True, bidirectional=True)
    x = torch.randn(2, 6, 3)
    out, last = run_rnn(gru, x, torch.tensor([4, 6]))
    ref, h = gru(x[:1, :4])
    torch.testing.assert_close(out[0, :4], ref[0])
    assert torch.all(out[0, 4:] == 0)
    torch.testing.assert_close(last[0], torch.cat([h[0, 0], h[1, 0]]))


@pytest.mark.parametrize(
    ("kernel", "stride", "padding"), [(3, 1, 0), (3, 2, 1), (2, 2, 0), (3, 3, 0), (5, 2, 2)]
)
def test_conv_out_lengths_match_torch(kernel, stride, padding):
    conv = torch.nn.Conv1d(1, 1, kernel, stride=stride, padding=padding)
    for n in range(max(1, kernel - 2 * padding), 30):
        expected = conv(torch.zeros(1, 1, n)).shape[-1]
        assert (
            conv_out_lengths(torch.tensor([n]), kernel=kernel, stride=stride, padding=padding).item()
            == expected
        )


# ---------------------------------------------------------------------------------------------------
# the papers' sizes


def test_mfcc_cnn1d_matches_table_4_of_its_paper():
    """80 MFCCs: 80 -> 78 -> 26 -> 24 -> 8 positions; conv2 has 610 weights and the output layer 88."""
    model = create_model("mfcc_cnn1d", num_classes=8, input_dims={"mfcc": 80})
    shapes = []
    for layer in (model.conv1, model.pool, model.conv2):
        layer.register_forward_hook(lambda m, a, out: shapes.append(tuple(out.shape[1:])))
    model.eval()(random_batch(model, [100, 60]))
    assert shapes == [(20, 78), (20, 26), (10, 24), (10, 8)]
    assert sum(p.numel() for p in model.conv2.parameters()) == 610
    assert sum(p.numel() for p in model.out.parameters()) == 88


def test_melspec_gemaps_matches_its_paper():
    model = create_model("melspec_gemaps", num_classes=4, input_dims={"mel": 128, "gemaps": 88})
    convs = [m for m in model.mel.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 256, 512]
    assert all(c.kernel_size == (3, 3) for c in convs)
    mel_dense = [m for m in model.mel.dense.modules() if isinstance(m, torch.nn.Linear)]
    assert mel_dense[0].in_features == 512 * (128 // 32) * (376 // 32) and mel_dense[-1].out_features == 512
    gemaps = [m.out_features for m in model.gemaps.modules() if isinstance(m, torch.nn.Linear)]
    assert gemaps == [88, 128, 256, 512, 512]
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in model.gemaps.modules())
    assert model.head[0][0].in_features == 1024


@pytest.mark.parametrize("heads", [4, 8, 16, 32])
def test_bigru_mha_head_counts(heads):
    model = create_model(
        "bigru_mha", num_classes=4, input_dims={"spec": 64}, num_heads=heads, regression=True
    )
    assert model.attention.mha.num_heads == heads
    assert model.rnn.num_layers == 2 and model.rnn.bidirectional
    out = model.eval()(random_batch(model, [12, 9]))
    assert out["score"].shape == (2,)


# ---------------------------------------------------------------------------------------------------
# learning


def _fit(model, batch, steps, lr=0.01):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = training_loss(model, batch)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


# A scalar-input tanh RNN (the paper's SimpleRNN over the coefficient axis) learns slowly, as the paper found.
OVERFIT_STEPS = {"mfcc_rnn": 250}


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_overfits_a_tiny_batch(name):
    torch.manual_seed(0)
    model = tiny_model(name)
    for m in model.modules():  # memorising 8 examples needs no regularisation
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    batch = random_batch(model, [16, 14, 12, 10, 16, 13, 11, 15], seed=1)
    batch.labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    losses = _fit(model, batch, steps=OVERFIT_STEPS.get(name, 50), lr=0.02)
    model.eval()
    with torch.no_grad():
        acc = (model(batch)["logits"].argmax(1) == batch.labels).float().mean().item()
    assert acc == 1.0 or losses[-1] < 0.2 * losses[0], (name, losses[0], losses[-1], acc)


def test_autoencoder_pretrains_without_labels():
    torch.manual_seed(0)
    model = tiny_model("conv_autoencoder")
    batch = random_batch(model, [24, 20, 16, 12], seed=2)
    batch.labels = None
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    first = None
    for _ in range(80):
        opt.zero_grad()
        loss = model.reconstruction_loss(batch)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert model.reconstruction_loss(batch).item() < 0.5 * first
    model.freeze_encoder()
    assert not any(p.requires_grad for p in model.encoder.parameters())
    assert all(p.requires_grad for p in model.head.parameters())
    code, mask = model.eval().encode(batch)
    assert code.shape[:2] == mask.shape and code.shape[2] == 4
    assert model(batch)["logits"].shape == (4, N_CLASSES)
