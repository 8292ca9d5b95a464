"""The Trainer: exact resume, early stopping on validation UA, fixed-epoch mode, errors, schedules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from serkit.models import create_model
from serkit.train.config import OptimConfig, TrainConfig
from serkit.train.loop import (
    Trainer,
    TrainingError,
    build_optimizer,
    build_scheduler,
    classification_metrics,
    predict_dataset,
    seed_everything,
)
from serkit.train.losses import build_loss
from test_train_helpers import random_dataset, registered_tiny


@pytest.fixture
def tiny_model() -> Iterator[str]:
    with registered_tiny() as name:
        yield name


class Killed(Exception):
    pass


def _trainer(
    model_name: str, run_dir: Path | None, *, epochs: int = 4, augment: object = None, **train: object
) -> Trainer:
    seed_everything(0)
    model = create_model(model_name, num_classes=2, input_dims={"mel": 6})
    cfg = TrainConfig(epochs=epochs, batch_size=4, seed=0, **train)
    optim = OptimConfig(name="adam", lr=0.01, schedule="cosine", warmup_epochs=1)
    return Trainer(
        model, build_loss("ce"), optim=optim, train=cfg, run_dir=run_dir, quiet=True, augment=augment
    )


def _noise() -> object:
    from serkit.train.augment import build_augment

    return build_augment([{"name": "noise", "snr_db": [5.0, 20.0]}], seed=0)


def _kill_after(epoch: int):
    def callback(trainer: Trainer, e: int, record: dict) -> None:
        if e == epoch:
            raise Killed

    return callback


@pytest.mark.parametrize("with_val", [True, False])
def test_resume_after_kill_equals_uninterrupted_run(tiny_model: str, tmp_path: Path, with_val: bool) -> None:
    train, val = random_dataset(24, seed=1), random_dataset(12, seed=2)
    val_set = val if with_val else None
    full = _trainer(tiny_model, tmp_path / "full", patience=None, augment=_noise())
    full_result = full.fit(train, val_set)

    first = _trainer(tiny_model, tmp_path / "resumed", patience=None, augment=_noise())
    first.callbacks.append(_kill_after(2))
    with pytest.raises(Killed):
        first.fit(train, val_set)
    with (tmp_path / "resumed" / "log.jsonl").open(
        "a"
    ) as fh:  # killed after logging epoch 3, before its state
        fh.write(json.dumps({"epoch": 3, "train_loss": -1.0}) + "\n")
    torch.manual_seed(12345)  # a new process has other RNG states: the saved ones must be restored
    np.random.seed(999)
    second = _trainer(tiny_model, tmp_path / "resumed", patience=None, augment=_noise())
    result = second.fit(train, val_set, resume=True)

    assert result.resumed_from == 2 and result.epochs_run == 4 == full_result.epochs_run
    assert result.best_epoch == full_result.best_epoch
    a, b = full.model.state_dict(), second.model.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert second.optimizer.param_groups[0]["lr"] == full.optimizer.param_groups[0]["lr"]
    log = [json.loads(line) for line in (tmp_path / "resumed" / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2, 3, 4]
    full_log = [json.loads(line) for line in (tmp_path / "full" / "log.jsonl").read_text().splitlines()]
    assert [r["train_loss"] for r in log] == [r["train_loss"] for r in full_log]


def test_resume_without_state_starts_afresh_and_state_holds_no_pickle(
    tiny_model: str, tmp_path: Path
) -> None:
    trainer = _trainer(tiny_model, tmp_path, epochs=2)
    result = trainer.fit(random_dataset(), random_dataset(8, seed=3), resume=True)
    assert result.resumed_from == 0 and result.epochs_run == 2
    files = sorted(p.name for p in (tmp_path / "state").iterdir())
    assert files[-1] == "state.json" and all(f.endswith((".safetensors", ".json")) for f in files)
    trainer.clear_state()
    assert not (tmp_path / "state").exists()


def test_early_stopping_keeps_the_best_validation_epoch(
    tiny_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    trainer = _trainer(tiny_model, None, epochs=20, patience=2)
    uas = iter([0.5, 0.8, 0.6, 0.7, 0.9, 0.95])
    seen: dict[int, dict] = {}

    def fake_metrics(self) -> dict:
        return {"ua": next(uas), "wa": 0.0, "macro_f1": 0.0}

    monkeypatch.setattr("serkit.train.loop.Predictions.metrics", fake_metrics)
    trainer.callbacks.append(
        lambda t, e, r: seen.__setitem__(e, {k: v.clone() for k, v in t.model.state_dict().items()})
    )
    result = trainer.fit(random_dataset(), random_dataset(8, seed=3))
    # UA 0.5, 0.8 (best), 0.6, 0.7 -> two epochs without improvement: stop after epoch 4
    assert (result.epochs_run, result.best_epoch, result.stopped_early) == (4, 2, True)
    assert result.selection == "best-val-ua" and result.best_val["val_ua"] == 0.8
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(value, seen[2][key]), key


def test_fixed_epoch_mode_without_validation_keeps_the_last_epoch(tiny_model: str) -> None:
    trainer = _trainer(tiny_model, None, epochs=3, patience=1)
    result = trainer.fit(random_dataset(), None)
    assert (result.selection, result.epochs_run, result.best_epoch) == ("last-epoch", 3, 3)
    assert not result.stopped_early and result.best_val == {}
    fixed = _trainer(tiny_model, None, epochs=3, patience=1, fixed_epochs=True)
    assert fixed.fit(random_dataset(), random_dataset(8, seed=5)).selection == "last-epoch"


def test_training_learns_and_predictions_follow_dataset_order(tiny_model: str) -> None:
    trainer = _trainer(tiny_model, None, epochs=15, patience=None)
    train = random_dataset(48, seed=1)
    trainer.fit(train, None)
    test = random_dataset(20, seed=7)
    pred = trainer.predict(test)
    assert pred.ids == test.ids and pred.probs.shape == (20, 2)
    np.testing.assert_allclose(pred.probs.sum(1), 1.0, rtol=1e-5)
    assert pred.metrics()["ua"] >= 0.9
    # one item at a time gives the same probabilities (length-sorted batching only changes the order)
    one = predict_dataset(trainer.model, test, batch_size=1)
    np.testing.assert_allclose(one.probs, pred.probs, atol=1e-5)


def test_non_finite_loss_is_a_clear_error(tiny_model: str) -> None:
    train = random_dataset()
    train.streams["mel"][3][0, 0] = np.nan
    trainer = _trainer(tiny_model, None, epochs=1)
    with pytest.raises(TrainingError, match=r"training loss is nan at epoch 1.*optim\.lr.*train\.clip_grad"):
        trainer.fit(train, None)


def test_gradient_clipping_bounds_the_update(tiny_model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    norms: list[float] = []
    real = torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm, *args, **kwargs):
        params = list(params)
        out = real(params, max_norm, *args, **kwargs)
        norms.append(
            float(
                torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params if p.grad is not None]))
            )
        )
        return out

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    _trainer(tiny_model, None, epochs=1, clip_grad=1e-3).fit(random_dataset(), None)
    assert norms and max(norms) <= 1e-3 * 1.01


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("none", [1.0, 1.0, 1.0, 1.0]),
        ("step", [1.0, 1.0, 0.1, 0.1]),
        ("cosine", [1.0, 0.5 * (1 + np.cos(np.pi / 4)), 0.5, 0.5 * (1 + np.cos(3 * np.pi / 4))]),
    ],
)
def test_schedules(schedule: str, expected: list[float]) -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    cfg = OptimConfig(name="sgd", lr=1.0, schedule=schedule, step_epochs=2, gamma=0.1)
    opt = build_optimizer([param], cfg)
    sched = build_scheduler(opt, cfg, epochs=4)
    lrs = []
    for _ in range(4):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(0.0)
    np.testing.assert_allclose(lrs, expected, rtol=1e-6)


def test_plateau_schedule_follows_validation_ua() -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    cfg = OptimConfig(name="rmsprop", lr=1.0, schedule="plateau", plateau_patience=1, gamma=0.5)
    opt = build_optimizer([param], cfg)
    assert isinstance(opt, torch.optim.RMSprop)
    sched = build_scheduler(opt, cfg, epochs=10)
    for ua in (0.5, 0.4, 0.3):
        opt.step()
        sched.step(ua)
    assert opt.param_groups[0]["lr"] == 0.5


def test_classification_metrics() -> None:
    m = classification_metrics(np.array([0, 0, 0, 1]), np.array([0, 0, 1, 1]))
    assert m["wa"] == 0.75 and m["ua"] == pytest.approx((2 / 3 + 1) / 2)
    assert np.isnan(classification_metrics(np.array([-1]), np.array([0]))["ua"])


def test_augmentation_touches_training_batches_only(tiny_model: str) -> None:
    seen: list[str] = []
    epochs: list[int] = []

    class Spy:
        def __call__(self, batch):
            seen.extend(batch.ids)
            return batch

        def set_epoch(self, epoch: int) -> None:
            epochs.append(epoch)

    train, val = random_dataset(16, seed=1), random_dataset(8, seed=2)
    val.ids = [f"val-{u}" for u in val.ids]
    _trainer(tiny_model, None, epochs=2, augment=Spy()).fit(train, val)
    assert sorted(seen) == sorted(train.ids * 2) and epochs == [1, 2]


def test_devices_and_optimisers() -> None:
    from serkit.errors import ConfigError
    from serkit.train.loop import resolve_device

    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA device"):
            resolve_device("cuda")
    param = torch.nn.Parameter(torch.zeros(1))
    kinds = {
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
        "sgd": torch.optim.SGD,
        "rmsprop": torch.optim.RMSprop,
    }
    for name, cls in kinds.items():
        opt = build_optimizer([param], OptimConfig(name=name, lr=0.1, momentum=0.5, weight_decay=0.01))
        assert isinstance(opt, cls) and opt.param_groups[0]["lr"] == 0.1
    rms = build_optimizer([param], OptimConfig(name="rmsprop", alpha=0.9, eps=1e-7))
    assert (rms.param_groups[0]["alpha"], rms.param_groups[0]["eps"]) == (0.9, 1e-7)
