"""serkit.train.losses: each loss against a reference (torch.nn.functional, numpy, scikit-learn)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.utils.class_weight import compute_class_weight

from serkit.errors import ConfigError, ParameterError
from serkit.models.base import Batch
from serkit.train.losses import balanced_class_weights, build_loss, list_losses


def _batch(labels=None, scores=None, **extra) -> Batch:
    n = len(labels) if labels is not None else len(scores)
    b = Batch(
        streams={"x": torch.zeros(n, 3)},
        labels=None if labels is None else torch.as_tensor(labels, dtype=torch.long),
        scores=None if scores is None else torch.as_tensor(scores, dtype=torch.float32),
    )
    for k, v in extra.items():
        setattr(b, k, v)
    return b


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(16, 5, generator=g) * 2
    labels = torch.randint(0, 5, (16,), generator=g)
    return logits, labels


def test_registry_names_and_errors():
    assert set(list_losses()) >= {"ce", "weighted_ce", "focal", "distill", "l1", "mse", "ccc", "multitask"}
    with pytest.raises(ParameterError, match="'focal'"):
        build_loss("focall")
    with pytest.raises(ParameterError, match="'gamma'"):
        build_loss("focal", gama=2.0)
    with pytest.raises(ParameterError, match=r"'gamma'.*>= 0"):
        build_loss("focal", gamma=-1.0)
    with pytest.raises(ParameterError, match="'alpha'"):
        build_loss("focal", alpha=[0.5, -1.0])
    with pytest.raises(ParameterError, match="label_smoothing"):
        build_loss("ce", label_smoothing=1.0)
    with pytest.raises(ParameterError, match="regression loss"):
        build_loss("multitask", regression="ce")


def test_focal_defaults_are_the_papers():
    loss = build_loss("focal")
    assert loss.alpha == 0.5 and loss.gamma == 4.0


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_ce_equals_torch(data, smoothing):
    logits, labels = data
    got = build_loss("ce", label_smoothing=smoothing)({"logits": logits}, _batch(labels))
    torch.testing.assert_close(got, F.cross_entropy(logits, labels, label_smoothing=smoothing))


def test_ce_soft_labels_used_when_present(data):
    logits, labels = data
    soft = torch.softmax(torch.randn(16, 5, generator=torch.Generator().manual_seed(1)), dim=1)
    got = build_loss("ce")({"logits": logits}, _batch(labels, soft_labels=soft))
    want = -(soft * torch.log_softmax(logits, dim=1)).sum(1).mean()
    torch.testing.assert_close(got, want)


def test_weighted_ce_given_weights_equals_torch(data):
    logits, labels = data
    w = [1.0, 2.0, 0.5, 3.0, 1.5]
    got = build_loss("weighted_ce", weight=w)({"logits": logits}, _batch(labels))
    torch.testing.assert_close(got, F.cross_entropy(logits, labels, weight=torch.tensor(w)))


def test_weighted_ce_balanced_matches_sklearn(data):
    logits, labels = data
    train = np.array([0, 0, 0, 0, 1, 1, 2, 3, 3, 4, 4, 4])
    loss = build_loss("weighted_ce")  # "balanced" by default
    with pytest.raises(ConfigError, match="fit_weights"):
        loss({"logits": logits}, _batch(labels))
    loss.fit_weights(train, 5)
    ref = compute_class_weight("balanced", classes=np.arange(5), y=train)
    np.testing.assert_allclose(loss.class_weight.numpy(), ref, rtol=1e-6)
    got = loss({"logits": logits}, _batch(labels))
    torch.testing.assert_close(
        got, F.cross_entropy(logits, labels, weight=torch.tensor(ref, dtype=torch.float32))
    )


def test_balanced_weights_absent_class_gets_zero():
    w = balanced_class_weights([0, 0, 1, 3], 4)
    ref = compute_class_weight("balanced", classes=np.array([0, 1, 3]), y=np.array([0, 0, 1, 3]))
    np.testing.assert_allclose(w.numpy(), [ref[0], ref[1], 0.0, ref[2]], rtol=1e-6)
    with pytest.raises(ParameterError, match=r"\[0, 3\)"):
        balanced_class_weights([0, 3], 3)


def test_focal_at_gamma_zero_is_alpha_times_ce(data):
    logits, labels = data
    batch = _batch(labels)
    ce = F.cross_entropy(logits, labels)
    torch.testing.assert_close(build_loss("focal", alpha=1.0, gamma=0.0)({"logits": logits}, batch), ce)
    torch.testing.assert_close(build_loss("focal", alpha=0.5, gamma=0.0)({"logits": logits}, batch), 0.5 * ce)


def test_focal_per_class_alpha_at_gamma_zero(data):
    logits, labels = data
    alpha = [0.1, 0.2, 0.3, 0.4, 0.5]
    got = build_loss("focal", alpha=alpha, gamma=0.0)({"logits": logits}, _batch(labels))
    want = F.cross_entropy(logits, labels, weight=torch.tensor(alpha), reduction="sum") / len(labels)
    torch.testing.assert_close(got, want)


def test_focal_matches_formula_and_down_weights_confident_examples():
    # Two classes, target 0, logit margin m: p_true = sigmoid(m) rises with m.
    margins = torch.linspace(-3, 6, 19)
    logits = torch.stack([margins, torch.zeros_like(margins)], dim=1)
    labels = torch.zeros(len(margins), dtype=torch.long)
    focal = build_loss("focal", alpha=0.5, gamma=4.0)
    per_focal = torch.stack(
        [focal({"logits": logits[i : i + 1]}, _batch(labels[i : i + 1])) for i in range(19)]
    )
    per_ce = F.cross_entropy(logits, labels, reduction="none")
    p_true = torch.sigmoid(margins)
    torch.testing.assert_close(per_focal, 0.5 * (1 - p_true) ** 4 * per_ce)
    ratio = per_focal / per_ce
    assert bool((ratio[1:] < ratio[:-1]).all())


def test_focal_per_class_alpha_weights_by_true_class():
    logits = torch.tensor([[2.0, 0.0, -1.0], [2.0, 0.0, -1.0]])
    labels = torch.tensor([1, 2])
    loss = build_loss("focal", alpha=[1.0, 2.0, 3.0], gamma=2.0)
    both = loss({"logits": logits}, _batch(labels))
    q = torch.softmax(logits, 1)
    want = -(2.0 * (1 - q[0, 1]) ** 2 * q[0, 1].log() + 3.0 * (1 - q[1, 2]) ** 2 * q[1, 2].log()) / 2
    torch.testing.assert_close(both, want)


def test_focal_balanced_alpha_needs_fit(data):
    logits, labels = data
    loss = build_loss("focal", alpha="balanced", gamma=0.0)
    with pytest.raises(ConfigError, match="fit_weights"):
        loss({"logits": logits}, _batch(labels))
    loss.fit_weights(labels.numpy(), 5)
    w = balanced_class_weights(labels.numpy(), 5)
    want = F.cross_entropy(logits, labels, weight=w, reduction="sum") / len(labels)
    torch.testing.assert_close(loss({"logits": logits}, _batch(labels)), want)


def _ccc_numpy(x: np.ndarray, y: np.ndarray) -> float:
    mx, my = x.mean(), y.mean()
    cov = ((x - mx) * (y - my)).mean()
    return 2 * cov / (x.var() + y.var() + (mx - my) ** 2)


def test_ccc_against_numpy_and_zero_for_identical():
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 2.0, 50)
    y = 0.6 * x + rng.normal(0.5, 1.0, 50)
    loss = build_loss("ccc")
    got = loss({"score": torch.tensor(x, dtype=torch.float32)}, _batch(scores=y))
    assert got.item() == pytest.approx(1 - _ccc_numpy(x, y), abs=1e-5)
    same = loss({"score": torch.tensor(y, dtype=torch.float32)}, _batch(scores=y))
    assert same.item() == pytest.approx(0.0, abs=1e-6)
    # a shifted copy is perfectly correlated but not concordant
    shifted = loss({"score": torch.tensor(y + 1.0, dtype=torch.float32)}, _batch(scores=y))
    assert shifted.item() == pytest.approx(1 - _ccc_numpy(y + 1.0, y), abs=1e-5) and shifted.item() > 0.1


def test_regression_losses_equal_torch_and_skip_nan_targets():
    pred = torch.tensor([0.0, 1.0, 2.0, 3.0])
    target = torch.tensor([0.5, float("nan"), 1.0, 5.0])
    keep = torch.tensor([True, False, True, True])
    out = {"score": pred}
    torch.testing.assert_close(
        build_loss("l1")(out, _batch(scores=target)), F.l1_loss(pred[keep], target[keep])
    )
    torch.testing.assert_close(
        build_loss("mse")(out, _batch(scores=target)), F.mse_loss(pred[keep], target[keep])
    )
    with pytest.raises(ConfigError, match="regression=True"):
        build_loss("l1")({"logits": pred[:, None]}, _batch(scores=target))


@pytest.mark.parametrize("temperature", [1.0, 3.0])
def test_distill_equals_torch_kl_div(data, temperature):
    logits, labels = data
    teacher_logits = torch.randn(16, 5, generator=torch.Generator().manual_seed(2)) * 3
    teacher = torch.softmax(teacher_logits, dim=1)
    batch = _batch(labels, teacher_probs=teacher)
    t = temperature
    kl = F.kl_div(
        F.log_softmax(logits / t, dim=1), F.softmax(teacher_logits / t, dim=1), reduction="batchmean"
    ) * (t * t)
    pure = build_loss("distill", temperature=t, alpha=1.0)({"logits": logits}, batch)
    torch.testing.assert_close(pure, kl, rtol=1e-5, atol=1e-6)
    mixed = build_loss("distill", temperature=t, alpha=0.3)({"logits": logits}, batch)
    torch.testing.assert_close(mixed, 0.3 * kl + 0.7 * F.cross_entropy(logits, labels), rtol=1e-5, atol=1e-6)


def test_distill_without_teacher_is_a_clear_error(data):
    logits, labels = data
    with pytest.raises(ConfigError, match="teacher_probs"):
        build_loss("distill")({"logits": logits}, _batch(labels))
    with pytest.raises(ConfigError, match="same label set"):
        build_loss("distill")({"logits": logits}, _batch(labels, teacher_probs=torch.full((16, 4), 0.25)))


def test_multitask_is_weighted_sum(data):
    logits, labels = data
    scores = torch.linspace(0, 1, 16)
    pred = scores.flip(0)
    loss = build_loss(
        "multitask",
        classification={"name": "focal", "gamma": 2.0},
        regression="ccc",
        classification_weight=0.7,
        regression_weight=0.2,
    )
    out = {"logits": logits, "score": pred}
    batch = _batch(labels, scores=scores)
    want = 0.7 * build_loss("focal", gamma=2.0)(out, batch) + 0.2 * build_loss("ccc")(out, batch)
    torch.testing.assert_close(loss(out, batch), want)
    # no scores on the batch: the classification part alone
    torch.testing.assert_close(loss(out, _batch(labels)), 0.7 * build_loss("focal", gamma=2.0)(out, batch))


def test_losses_backpropagate(data):
    logits, labels = data
    logits = logits.clone().requires_grad_(True)
    batch = _batch(labels, teacher_probs=torch.full((16, 5), 0.2))
    for name in ("ce", "focal", "distill"):
        logits.grad = None
        build_loss(name)({"logits": logits}, batch).backward()
        assert logits.grad is not None and torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
