"""Training losses, built by name: ``build_loss("focal", alpha=0.5, gamma=4.0)``.

Every loss is an ``nn.Module`` whose ``forward(outputs, batch)`` takes the model's output dict
(``"logits"`` (B, C) and, for regression heads, ``"score"`` (B,)) and a :class:`~serkit.models.base.Batch`,
and returns a float32 scalar. Classification losses read their targets from the batch:

* ``batch.soft_labels`` (B, C) float, rows summing to 1, **when present and not None** (mixup writes it,
  see :mod:`serkit.train.augment`): the loss is the soft-target form of the same loss;
* otherwise ``batch.labels`` (B,) int64 class indices (the one-hot case).

``distill`` also reads ``batch.teacher_probs`` (B, C): the teacher's class probabilities at temperature 1
(``softmax(teacher_logits)``); the loss applies its own temperature. Regression losses compare
``outputs["score"]`` with ``batch.scores`` and skip examples whose score is not finite (NaN marks "no score",
e.g. a corpus without continuous labels in multi-corpus training).

Losses that depend on the training labels (``weighted_ce`` and ``focal`` with ``"balanced"`` weights) are
fitted with ``loss.fit_weights(train_labels, num_classes)`` before training; every loss has the hook, so a
trainer may call it on any loss (it is a no-op where nothing is learned from the labels).

Registered names: ``ce``, ``weighted_ce``, ``focal``, ``distill``, ``l1``, ``mse``, ``ccc``, ``multitask``.
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from serkit.errors import ConfigError, ParameterError

if TYPE_CHECKING:
    from serkit.models.base import Batch

__all__ = [
    "CCCLoss",
    "CrossEntropyLoss",
    "DistillationLoss",
    "FocalLoss",
    "L1Loss",
    "MSELoss",
    "MultitaskLoss",
    "SerLoss",
    "WeightedCrossEntropyLoss",
    "balanced_class_weights",
    "build_loss",
    "list_losses",
    "register_loss",
]

_REGISTRY: dict[str, type[SerLoss]] = {}


def _fail(loss: str, name: str, rule: str, value: Any) -> None:
    raise ParameterError(f"The {name!r} parameter of loss '{loss}' must be {rule}. Got {value!r} instead.")


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))


def register_loss(name: str) -> Callable[[type[SerLoss]], type[SerLoss]]:
    """Class decorator: make a :class:`SerLoss` subclass buildable as ``build_loss(name, ...)``."""

    def deco(cls: type[SerLoss]) -> type[SerLoss]:
        if name in _REGISTRY:
            raise ValueError(f"loss {name!r} is already registered (by {_REGISTRY[name].__name__})")
        cls.loss_name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def list_losses() -> list[str]:
    """Registered loss names, sorted."""
    return sorted(_REGISTRY)


def build_loss(name: str, **cfg: Any) -> SerLoss:
    """Build the loss registered as ``name`` with keyword parameters ``cfg`` (YAML-friendly values).

    Parameters
    ----------
    name : str
        One of :func:`list_losses`.
    **cfg
        The loss class's keyword parameters (see each class).

    Returns
    -------
    SerLoss

    Raises
    ------
    ParameterError
        Unknown name or parameter (close matches are suggested), or a parameter value out of range.

    Examples
    --------
    >>> loss = build_loss("focal", gamma=2.0)
    >>> loss.alpha, loss.gamma
    (0.5, 2.0)
    """
    if not isinstance(name, str) or name not in _REGISTRY:
        close = difflib.get_close_matches(str(name), list(_REGISTRY), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ParameterError(f"Unknown loss {name!r}.{hint} Known losses: {', '.join(list_losses())}.")
    cls = _REGISTRY[name]
    params = [
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    for key in cfg:
        if key not in params:
            close = difflib.get_close_matches(str(key), params, n=2)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            allowed = ", ".join(params) if params else "none"
            raise ParameterError(f"Loss '{name}' has no parameter {key!r}.{hint} Its parameters: {allowed}.")
    return cls(**cfg)


def balanced_class_weights(labels: Sequence[int] | np.ndarray | Tensor, num_classes: int) -> Tensor:
    """``n_samples / (K * count_c)`` per class (scikit-learn's ``"balanced"``), float32 (num_classes,).

    ``K`` is the number of classes present in ``labels``, so the weights equal
    ``sklearn.utils.class_weight.compute_class_weight("balanced", classes=present, y=labels)`` and
    ``sum_i w_{y_i} = n_samples``. A class absent from ``labels`` gets weight 0: it is never a training
    target, so its weight only matters for validation losses, where any other value would be a guess.

    Raises
    ------
    ParameterError
        ``labels`` is empty or holds a value outside ``[0, num_classes)``.
    """
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long).reshape(-1)
    if not isinstance(num_classes, int) or num_classes < 1:
        _fail("weighted_ce", "num_classes", "an int >= 1", num_classes)
    if y.numel() == 0:
        raise ParameterError(
            "Cannot compute balanced class weights from no labels: the training fold is empty."
        )
    if int(y.min()) < 0 or int(y.max()) >= num_classes:
        raise ParameterError(
            f"Labels must be class indices in [0, {num_classes}) to compute class weights. "
            f"Got values from {int(y.min())} to {int(y.max())}."
        )
    counts = torch.bincount(y, minlength=num_classes).to(torch.float64)
    present = int((counts > 0).sum())
    w = torch.where(counts > 0, y.numel() / (present * counts.clamp_min(1)), torch.zeros_like(counts))
    return w.to(torch.float32)


# --------------------------------------------------------------------------------------------------------
# helpers reading outputs and targets


def _logits(outputs: Mapping[str, Tensor], loss: str) -> Tensor:
    if "logits" not in outputs:
        raise ConfigError(
            f"Loss '{loss}' needs the model output 'logits'; the model returned {sorted(outputs)}."
        )
    return outputs["logits"].float()


def _soft_targets(batch: Batch, num_classes: int, loss: str) -> Tensor | None:
    """``batch.soft_labels`` (checked, float32) when the batch has it, else None."""
    soft = getattr(batch, "soft_labels", None)
    if soft is None:
        return None
    if soft.ndim != 2 or soft.shape[1] != num_classes:
        raise ConfigError(
            f"Loss '{loss}': batch.soft_labels must be (B, {num_classes}) to match the logits. "
            f"Got shape {tuple(soft.shape)}."
        )
    return soft.float()


def _hard_labels(batch: Batch, loss: str) -> Tensor:
    if batch.labels is None:
        raise ConfigError(
            f"Loss '{loss}' needs class labels but the batch has none (batch.labels and batch.soft_labels "
            "are both None). Use a regression loss for score-only data."
        )
    return batch.labels.long()


def _targets(batch: Batch, num_classes: int, loss: str, device: torch.device) -> Tensor:
    """Soft targets (B, C): ``batch.soft_labels`` when present, else one-hot ``batch.labels``."""
    soft = _soft_targets(batch, num_classes, loss)
    if soft is not None:
        return soft.to(device)
    y = _hard_labels(batch, loss).to(device)
    return F.one_hot(y, num_classes).float()


def _scores(outputs: Mapping[str, Tensor], batch: Batch, loss: str) -> tuple[Tensor, Tensor]:
    """(prediction, target) float32 over the examples whose target score is finite."""
    if "score" not in outputs:
        raise ConfigError(
            f"Loss '{loss}' needs the model output 'score' (a regression head); the model returned "
            f"{sorted(outputs)}. Build the model with regression=True."
        )
    if batch.scores is None:
        raise ConfigError(
            f"Loss '{loss}' needs continuous targets but the batch has no scores. Use a manifest with a "
            "score column, or a classification loss."
        )
    pred = outputs["score"].float().reshape(-1)
    target = batch.scores.to(pred.device).float().reshape(-1)
    if pred.shape != target.shape:
        raise ConfigError(
            f"Loss '{loss}': score output {tuple(pred.shape)} vs targets {tuple(target.shape)}."
        )
    keep = torch.isfinite(target)
    return pred[keep], target[keep]


def _class_vector(value: Sequence[float], num_classes: int, loss: str, name: str, like: Tensor) -> Tensor:
    w = torch.as_tensor(value, dtype=torch.float32, device=like.device)
    if w.numel() != num_classes:
        raise ConfigError(
            f"Loss '{loss}': {name} has {w.numel()} entries but the model has {num_classes} classes. "
            f"Give one {name} value per class, in label-set order."
        )
    return w


# --------------------------------------------------------------------------------------------------------
# losses


class SerLoss(nn.Module):
    """Base class: ``forward(outputs, batch) -> scalar`` and a ``fit_weights`` hook (no-op here).

    ``task`` says which model outputs it reads: ``"classification"`` (logits), ``"regression"`` (score)
    or ``"both"``.
    """

    loss_name: ClassVar[str] = ""
    task: ClassVar[str] = "classification"

    def fit_weights(self, labels: Sequence[int] | np.ndarray | Tensor, num_classes: int) -> SerLoss:
        """Learn what the loss needs from the training fold's labels; returns ``self``."""
        return self

    def forward(self, outputs: Mapping[str, Tensor], batch: Batch) -> Tensor:  # pragma: no cover
        raise NotImplementedError


@register_loss("ce")
class CrossEntropyLoss(SerLoss):
    """Categorical cross-entropy, mean over the batch (``torch.nn.functional.cross_entropy``).

    With soft targets t (mixup): ``mean_i -sum_c t_ic log softmax(z_i)_c``. ``label_smoothing`` mixes the
    targets with the uniform distribution, ``t (1 - eps) + eps / C``, exactly as PyTorch does.

    Parameters
    ----------
    label_smoothing : float in [0, 1)
    """

    def __init__(self, *, label_smoothing: float = 0.0) -> None:
        super().__init__()
        if not _is_number(label_smoothing) or not 0 <= label_smoothing < 1:
            _fail("ce", "label_smoothing", "a float in [0, 1)", label_smoothing)
        self.label_smoothing = float(label_smoothing)

    def forward(self, outputs: Mapping[str, Tensor], batch: Batch) -> Tensor:
        logits = _logits(outputs, self.loss_name)
        soft = _soft_targets(batch, logits.shape[1], self.loss_name)
        target = _hard_labels(batch, self.loss_name).to(logits.device) if soft is None else soft.to(logits)
        return F.cross_entropy(logits, target, label_smoothing=self.label_smoothing)


def _check_weights(loss: str, name: str, value: Any) -> None:
    if isinstance(value, str):
        if value != "balanced":
            _fail(loss, name, "'balanced' or a list of floats >= 0, one per class", value)
        return
    ok = (
        isinstance(value, (list, tuple))
        and len(value) > 0
        and all(_is_number(v) and v >= 0 for v in value)
        and any(v > 0 for v in value)
    )
    if not ok:
        _fail(loss, name, "'balanced' or a non-empty list of floats >= 0 (not all 0), one per class", value)


@register_loss("weighted_ce")
class WeightedCrossEntropyLoss(SerLoss):
    """Class-weighted cross-entropy, exactly ``F.cross_entropy(logits, labels, weight=w)``.

    With hard labels the mean is weighted: ``sum_i w_{y_i} CE_i / sum_i w_{y_i}`` (PyTorch's convention).
    With soft targets PyTorch (and this loss) use ``mean_i -sum_c w_c t_ic log q_ic`` (divides by B).

    Parameters
    ----------
    weight : "balanced" or list of float >= 0
        Per-class weights in label-set order, or ``"balanced"``: ``n / (K * count_c)`` from the training
        labels (:func:`balanced_class_weights`), computed by :meth:`fit_weights` (which the trainer calls
        before the first epoch).
    label_smoothing : float in [0, 1)
    """

    def __init__(self, *, weight: str | list[float] = "balanced", label_smoothing: float = 0.0) -> None:
        super().__init__()
        _check_weights("weighted_ce", "weight", weight)
        if not _is_number(label_smoothing) or not 0 <= label_smoothing < 1:
            _fail("weighted_ce", "label_smoothing", "a float in [0, 1)", label_smoothing)
        self.weight_spec = weight if isinstance(weight, str) else [float(v) for v in weight]
        self.label_smoothing = float(label_smoothing)
        w = None if isinstance(weight, str) else torch.tensor(self.weight_spec, dtype=torch.float32)
        self.register_buffer("class_weight", w)

    def fit_weights(
        self, labels: Sequence[int] | np.ndarray | Tensor, num_classes: int
    ) -> WeightedCrossEntropyLoss:
        """Compute ``"balanced"`` weights from the training labels (given weights are only checked)."""
        if self.weight_spec == "balanced":
            self.class_weight = balanced_class_weights(labels, num_classes)
        elif len(self.weight_spec) != num_classes:
            raise ConfigError(
                f"Loss 'weighted_ce': weight has {len(self.weight_spec)} entries but there are "
                f"{num_classes} classes. Give one weight per class, in label-set order."
            )
        return self

    def forward(self, outputs: Mapping[str, Tensor], batch: Batch) -> Tensor:
        logits = _logits(outputs, self.loss_name)
        if self.class_weight is None:
            raise ConfigError(
                "Loss 'weighted_ce' with weight='balanced' is not fitted: call "
                "loss.fit_weights(train_labels, num_classes) before training."
            )
        w = _class_vector(self.class_weight, logits.shape[1], self.loss_name, "weight", logits)
        soft = _soft_targets(batch, logits.shape[1], self.loss_name)
        target = _hard_labels(batch, self.loss_name).to(logits.device) if soft is None else soft.to(logits)
        return F.cross_entropy(logits, target, weight=w, label_smoothing=self.label_smoothing)


@register_loss("focal")
class FocalLoss(SerLoss):
    """Focal loss (Lin et al.; the multi-input MelSpec+GeMAPS paper, eq. 2, alpha 0.5, gamma 4).

    Per example, with predicted probabilities q = softmax(z) and targets t (one-hot, or soft under mixup)::

        FL_i = - sum_c alpha_c * (1 - q_c) ** gamma * t_c * log q_c        (mean over the batch)

    For a one-hot target y this is ``-alpha_y (1 - q_y)^gamma log q_y``. Exact relations:

    * ``gamma = 0`` and scalar ``alpha``: ``FL = alpha * F.cross_entropy(z, y)``; so ``alpha = 1, gamma = 0``
      is cross-entropy itself.
    * ``gamma = 0`` and per-class ``alpha``: ``FL = F.cross_entropy(z, y, weight=alpha, reduction="sum") / B``
      (a weighted sum divided by B, not PyTorch's weighted mean).
    * ``FL_i / CE_i = alpha_y (1 - q_y)^gamma`` falls as ``q_y`` rises: confident, correct examples are
      down-weighted (for gamma > 0).

    Parameters
    ----------
    alpha : float > 0, list of float >= 0 (one per class), or "balanced"
        Class weight(s); ``"balanced"`` is computed by :meth:`fit_weights` like ``weighted_ce``'s.
    gamma : float >= 0
        Focusing exponent.
    """

    def __init__(self, *, alpha: float | list[float] | str = 0.5, gamma: float = 4.0) -> None:
        super().__init__()
        if _is_number(alpha):
            if alpha <= 0:
                _fail("focal", "alpha", "a float > 0, a list of floats >= 0 or 'balanced'", alpha)
            self.alpha: float | list[float] | str = float(alpha)
            a = None
        else:
            _check_weights("focal", "alpha", alpha)
            self.alpha = alpha if isinstance(alpha, str) else [float(v) for v in alpha]
            a = None if isinstance(alpha, str) else torch.tensor(self.alpha, dtype=torch.float32)
        if not _is_number(gamma) or gamma < 0:
            _fail("focal", "gamma", "a float >= 0", gamma)
        self.gamma = float(gamma)
        self.register_buffer("class_alpha", a)

    def fit_weights(self, labels: Sequence[int] | np.ndarray | Tensor, num_classes: int) -> FocalLoss:
        """Compute ``alpha="balanced"`` from the training labels (other alphas are left as given)."""
        if self.alpha == "balanced":
            self.class_alpha = balanced_class_weights(labels, num_classes)
        return self

    def forward(self, outputs: Mapping[str, Tensor], batch: Batch) -> Tensor:
        logits = _logits(outputs, self.loss_name)
        num_classes = logits.shape[1]
        target = _targets(batch, num_classes, self.loss_name, logits.device)
        logq = F.log_softmax(logits, dim=1)
        focus = (1.0 - logq.exp()).clamp_min(0.0).pow(self.gamma)
        if isinstance(self.alpha, float):
            alpha: Tensor | float = self.alpha
        elif self.class_alpha is None:
            raise ConfigError(
                "Loss 'focal' with alpha='balanced' is not fitted: call "
                "loss.fit_weights(train_labels, num_classes) before training."
            )
        else:
            alpha = _class_vector(self.class_alpha, num_classes, self.loss_name, "alpha", logits)
        return -(alpha * focus * target * logq).sum(dim=1).mean()


@register_loss("distill")
class DistillationLoss(SerLoss):
    """Knowledge distillation (Hinton et al.): soft-label KL to a teacher, mixed with cross-entropy.

    ``loss = alpha * T^2 * KL(p_T || q_T) + (1 - alpha) * CE(z, targets)`` where
    ``q_T = softmax(z / T)`` is the student at temperature T and ``p_T = softmax(log p / T)`` is the teacher
    at temperature T computed from ``batch.teacher_probs`` p (the teacher's probabilities at T = 1, so
    ``p_T`` equals ``softmax(teacher_logits / T)`` exactly). KL is averaged over the batch
    (``F.kl_div(log q_T, p_T, reduction="batchmean")``); the T^2 factor keeps gradient scale independent
    of T. The CE part uses soft labels when present (mixup), else the hard labels; with ``alpha = 1`` no
    labels are needed.

    Parameters
    ----------
    temperature : float > 0
    alpha : float in [0, 1]
        Weight of the distillation term.
    """

    def __init__(self, *, temperature: float = 2.0, alpha: float = 0.5) -> None:
        super().__init__()
        if not _is_number(temperature) or temperature <= 0:
            _fail("distill", "temperature", "a float > 0", temperature)
        if not _is_number(alpha) or not 0 <= alpha <= 1:
            _fail("distill", "alpha", "a float in [0, 1]", alpha)
        self.temperature = float(temperature)
        self.alpha = float(alpha)

    def forward(self, outputs: Mapping[str, Tensor], batch: Batch) -> Tensor:
        logits = _logits(outputs, self.loss_name)
        teacher = getattr(batch, "teacher_probs", None)
        if teacher is None:
            raise ConfigError(
                "Loss 'distill' needs the teacher's class probabilities on batch.teacher_probs (B, C); "
                "the batch has none. Give the trainer a teacher (its predictions) or use another loss."
            )
        if teacher.shape != logits.shape:
            raise ConfigError(
                f"Loss 'distill': batch.teacher_probs has shape {tuple(teacher.shape)} but the logits are "
                f"{tuple(logits.shape)}: the teacher must use the same label set, in the same order."
            )
        t = self.temperature
        log_p = F.log_softmax(teacher.to(logits).clamp_min(1e-12).log() / t, dim=1)
        log_q = F.log_softmax(logits / t, dim=1)
        kl = (log_p.exp() * (log_p - log_q)).sum(dim=1).mean() * (t * t)
        if self.alpha == 1.0:
            return kl
        soft = _soft_targets(batch, logits.shape[1], self.loss_name)
        target = _hard_labels(batch, self.loss_name).to(logits.device) if soft is None else soft.to(logits)
        return self.alpha * kl + (1.0 - self.alpha) * F.cross_entropy(logits, target)


@register_loss("l1")
class L1Loss(SerLoss):
    """Mean absolute error between ``outputs["score"]`` and ``batch.scores`` (finite targets only).

    The Bi-GRU + multi-head attention paper trains its regression head with it.
    """

    task = "regression"

    def __init__(self) -> None:
        super().__init__()

    def forward(self, outputs: Mapping[str, Tensor], batch: Batch) -> Tensor:
        pred, target = _scores(outputs, batch, self.loss_name)
        if pred.numel() == 0:
            return outputs["score"].float().sum() * 0.0
        return F.l1_loss(pred, target)


@register_loss("mse")
class MSELoss(SerLoss):
    """Mean squared error between ``outputs["score"]`` and ``batch.scores`` (finite targets only)."""

    task = "regression"

    def __init__(self) -> None:
        super().__init__()

    def forward(self, outputs: Mapping[str, Tensor], batch: Batch) -> Tensor:
        pred, target = _scores(outputs, batch, self.loss_name)
        if pred.numel() == 0:
            return outputs["score"].float().sum() * 0.0
        return F.mse_loss(pred, target)


@register_loss("ccc")
class CCCLoss(SerLoss):
    """``1 - CCC`` with Lin's concordance correlation coefficient over the batch (finite targets only).

    ``CCC = 2 cov(x, y) / (var x + var y + (mean x - mean y)^2)`` with population (1/N) moments; 1 for
    identical predictions and targets, 0 for uncorrelated ones. A batch statistic: it needs at least two
    examples with scores (a batch of one gives loss 1 and no gradient). ``eps`` guards the denominator.

    Parameters
    ----------
    eps : float > 0
    """

    task = "regression"

    def __init__(self, *, eps: float = 1e-8) -> None:
        super().__init__()
        if not _is_number(eps) or eps <= 0:
            _fail("ccc", "eps", "a float > 0", eps)
        self.eps = float(eps)

    def forward(self, outputs: Mapping[str, Tensor], batch: Batch) -> Tensor:
        x, y = _scores(outputs, batch, self.loss_name)
        if x.numel() == 0:
            return outputs["score"].float().sum() * 0.0
        mx, my = x.mean(), y.mean()
        vx = (x - mx).pow(2).mean()
        vy = (y - my).pow(2).mean()
        cov = ((x - mx) * (y - my)).mean()
        ccc = 2.0 * cov / (vx + vy + (mx - my).pow(2) + self.eps)
        return 1.0 - ccc


def _sub_loss(spec: str | Mapping[str, Any], role: str) -> SerLoss:
    if isinstance(spec, str):
        loss = build_loss(spec)
    elif isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
        loss = build_loss(spec["name"], **{k: v for k, v in spec.items() if k != "name"})
    else:
        _fail("multitask", role, "a loss name or a mapping with 'name' and its parameters", spec)
    if loss.task != role:
        raise ParameterError(
            f"The {role!r} part of loss 'multitask' must be a {role} loss. Got '{loss.loss_name}', a "
            f"{loss.task} loss."
        )
    return loss


@register_loss("multitask")
class MultitaskLoss(SerLoss):
    """Weighted sum of a classification loss on the logits and a regression loss on the score.

    ``loss = classification_weight * L_cls + regression_weight * L_reg``. A batch without scores (or with
    only NaN scores) contributes the classification part only.

    Parameters
    ----------
    classification : str or {"name": str, ...}
        A classification loss (``ce``, ``weighted_ce``, ``focal``, ``distill``) and its parameters.
    regression : str or {"name": str, ...}
        A regression loss (``l1``, ``mse``, ``ccc``) and its parameters.
    classification_weight, regression_weight : float >= 0
    """

    task = "both"

    def __init__(
        self,
        *,
        classification: str | dict[str, Any] = "ce",
        regression: str | dict[str, Any] = "l1",
        classification_weight: float = 1.0,
        regression_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self.classification = _sub_loss(classification, "classification")
        self.regression = _sub_loss(regression, "regression")
        for name, v in (
            ("classification_weight", classification_weight),
            ("regression_weight", regression_weight),
        ):
            if not _is_number(v) or v < 0:
                _fail("multitask", name, "a float >= 0", v)
        self.classification_weight = float(classification_weight)
        self.regression_weight = float(regression_weight)

    def fit_weights(self, labels: Sequence[int] | np.ndarray | Tensor, num_classes: int) -> MultitaskLoss:
        self.classification.fit_weights(labels, num_classes)
        return self

    def forward(self, outputs: Mapping[str, Tensor], batch: Batch) -> Tensor:
        total = self.classification_weight * self.classification(outputs, batch)
        if batch.scores is not None:
            total = total + self.regression_weight * self.regression(outputs, batch)
        return total
