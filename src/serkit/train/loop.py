"""A small training loop with hooks: epochs, validation UA, early stopping, resumable state, JSON-lines logs.

In the manner of SpeechBrain's ``Brain`` (CONVENTIONS #13), minus its size: :class:`Trainer` has the hooks
``compute_forward``, ``compute_loss``, ``on_epoch_start`` and ``on_epoch_end`` for subclasses or callbacks.

* **Checkpoint choice on validation speakers only.** :meth:`Trainer.fit` sees the training and validation
  sets, never the test set; the epoch kept is the one with the best validation unweighted accuracy (UA,
  balanced accuracy), ties broken by lower validation loss. Without a validation set (protocols such as
  ``casia-text``) or with ``train.fixed_epochs``, every epoch runs and the last weights are kept.
* **Resumable, exactly.** At the end of every epoch the model, optimiser, scheduler, epoch, best-so-far
  weights, early-stopping counters and RNG states (torch, numpy, python, augmentation) are written
  atomically (safetensors tensors + a JSON commit file that names them; no pickle). Batch order and
  crops derive from ``(seed, epoch)``. A run killed at any point and resumed with ``resume=True`` ends
  with the same weights as an uninterrupted run.
* **Reproducible on CPU from one seed** (:func:`seed_everything`); ``torch.set_num_threads`` is set once.
* **A non-finite loss stops training** with a :class:`TrainingError` that says what to change.
* **CUDA** when asked (``device: cuda`` or ``auto``), with bfloat16 autocast when ``amp`` is on.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from serkit._io import atomic_path, atomic_write_text
from serkit.errors import ConfigError, TrainingError
from serkit.models.base import Batch
from serkit.train.config import OptimConfig, TrainConfig
from serkit.train.data import Crop, FeatureDataset, make_loader, set_loader_epoch

__all__ = [
    "FitResult",
    "Predictions",
    "Trainer",
    "TrainingError",
    "build_optimizer",
    "build_scheduler",
    "classification_metrics",
    "predict_dataset",
    "resolve_device",
    "seed_everything",
    "set_threads",
]

STATE_FILE = "state.json"
STATE_FORMAT = "serkit-train-state"


# ---------------------------------------------------------------------------------------------
# Process setup


_THREADS_SET: int | None = None


def set_threads(threads: int | None) -> None:
    """``torch.set_num_threads(threads)`` once per process (later different values are ignored)."""
    global _THREADS_SET
    if threads is None or _THREADS_SET is not None:
        return
    torch.set_num_threads(int(threads))
    _THREADS_SET = int(threads)


def seed_everything(seed: int) -> None:
    """Seed python's ``random``, NumPy's global RNG and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` (an error when there is none) or ``auto`` (cuda when available)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device='cuda' but torch sees no CUDA device; use train.device=cpu or auto.")
    return torch.device(name)


# ---------------------------------------------------------------------------------------------
# Optimiser and schedule


def build_optimizer(params: Iterable[nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    """The optimiser named by ``cfg`` (Adam, AdamW, SGD with momentum, RMSprop)."""
    params = [p for p in params if p.requires_grad]
    if cfg.name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, eps=cfg.eps)
    if cfg.name == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, eps=cfg.eps)
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    return torch.optim.RMSprop(
        params, lr=cfg.lr, alpha=cfg.alpha, eps=cfg.eps, momentum=cfg.momentum, weight_decay=cfg.weight_decay
    )


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: OptimConfig, epochs: int) -> Any:
    """An epoch-level schedule: linear warm-up, then cosine / step / none; or ``ReduceLROnPlateau``.

    The returned object has ``step(metric)`` (the metric is used by ``plateau`` only), ``state_dict()``
    and ``load_state_dict()``.
    """
    if cfg.schedule == "plateau":
        inner = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="max", factor=cfg.gamma, patience=cfg.plateau_patience, min_lr=cfg.min_lr
        )
        return _PlateauSchedule(inner)
    warm = cfg.warmup_epochs
    base = cfg.lr

    def factor(epoch: int) -> float:  # epoch: number of finished epochs
        if warm and epoch < warm:
            return (epoch + 1) / (warm + 1)
        e = epoch - warm
        if cfg.schedule == "cosine":
            total = max(1, epochs - warm)
            lo = cfg.min_lr / base
            return lo + (1 - lo) * 0.5 * (1 + math.cos(math.pi * min(e, total) / total))
        if cfg.schedule == "step":
            return max(cfg.gamma ** (e // cfg.step_epochs), cfg.min_lr / base)
        return 1.0

    return _LambdaSchedule(torch.optim.lr_scheduler.LambdaLR(optimizer, factor))


class _LambdaSchedule:
    def __init__(self, inner: torch.optim.lr_scheduler.LambdaLR) -> None:
        self.inner = inner

    def step(self, metric: float | None = None) -> None:
        self.inner.step()

    def state_dict(self) -> dict[str, Any]:
        state = self.inner.state_dict()
        state.pop("lr_lambdas", None)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.inner.load_state_dict({**state, "lr_lambdas": [None] * len(self.inner.lr_lambdas)})


class _PlateauSchedule:
    def __init__(self, inner: torch.optim.lr_scheduler.ReduceLROnPlateau) -> None:
        self.inner = inner

    def step(self, metric: float | None = None) -> None:
        if metric is not None and math.isfinite(metric):
            self.inner.step(metric)

    def state_dict(self) -> dict[str, Any]:
        return self.inner.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.inner.load_state_dict(state)


# ---------------------------------------------------------------------------------------------
# Metrics


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """UA (balanced accuracy: mean per-class recall over the classes present), WA (accuracy), macro-F1."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    keep = y_true >= 0
    y_true, y_pred = y_true[keep], y_pred[keep]
    if y_true.size == 0:
        return {"ua": math.nan, "wa": math.nan, "macro_f1": math.nan}
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true" on tiny sets
        return {
            "ua": float(balanced_accuracy_score(y_true, y_pred)),
            "wa": float(accuracy_score(y_true, y_pred)),
            "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        }


@dataclass
class Predictions:
    """Model outputs for a dataset, in dataset order."""

    ids: list[str]
    probs: np.ndarray  # (N, C) softmax probabilities
    labels: np.ndarray  # (N,) true class indices (-1 unknown)
    scores: np.ndarray | None = None  # (N,) regression head output
    loss: float = math.nan

    @property
    def preds(self) -> np.ndarray:
        return self.probs.argmax(axis=1)

    def metrics(self) -> dict[str, float]:
        return classification_metrics(self.labels, self.preds)


@dataclass
class FitResult:
    """What :meth:`Trainer.fit` did.

    Attributes
    ----------
    best_epoch : int
        Epoch (1-based) whose weights the model holds now.
    epochs_run : int
    selection : str
        ``"best-val-ua"`` or ``"last-epoch"`` (fixed-epoch mode).
    best_val : dict
        Validation metrics of ``best_epoch`` (empty without a validation set).
    stopped_early : bool
    seconds_per_epoch : float
        Mean wall time of the epochs run in this process.
    history : list of dict
        The JSON-lines log records.
    resumed_from : int
        Epochs already done when this call started (0 = fresh).
    """

    best_epoch: int
    epochs_run: int
    selection: str
    best_val: dict[str, float]
    stopped_early: bool
    seconds_per_epoch: float
    history: list[dict[str, Any]] = field(default_factory=list)
    resumed_from: int = 0


# ---------------------------------------------------------------------------------------------
# Flat tensor / JSON state (no pickle)


def _split_tensors(obj: Any, tensors: dict[str, Tensor], prefix: str) -> Any:
    """Replace every tensor in a nested dict/list with ``{"__tensor__": key}``; tensors go to ``tensors``."""
    if isinstance(obj, Tensor):
        key = prefix or "t"
        tensors[key] = obj.detach().cpu().contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, Mapping):
        if any(not isinstance(k, (str, int)) for k in obj):
            raise TypeError(f"state keys must be str or int at {prefix!r}")
        # int keys (optimizer state) are kept as {"__int_keys__": ...} so they come back as ints
        int_keys = [k for k in obj if isinstance(k, int)]
        out = {str(k): _split_tensors(v, tensors, f"{prefix}.{k}") for k, v in obj.items()}
        if int_keys:
            out["__int_keys__"] = [str(k) for k in int_keys]
        return out
    if isinstance(obj, tuple):
        return {"__tuple__": [_split_tensors(v, tensors, f"{prefix}.{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_split_tensors(v, tensors, f"{prefix}.{i}") for i, v in enumerate(obj)]
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    return obj


def _join_tensors(obj: Any, tensors: Mapping[str, Tensor]) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj and len(obj) == 1:
            return tensors[obj["__tensor__"]]
        if "__tuple__" in obj and len(obj) == 1:
            return tuple(_join_tensors(v, tensors) for v in obj["__tuple__"])
        if "__ndarray__" in obj:
            return np.asarray(obj["__ndarray__"], dtype=obj["dtype"])
        int_keys = set(obj.get("__int_keys__", []))
        return {
            (int(k) if k in int_keys else k): _join_tensors(v, tensors)
            for k, v in obj.items()
            if k != "__int_keys__"
        }
    if isinstance(obj, list):
        return [_join_tensors(v, tensors) for v in obj]
    return obj


def _save_tensors(tensors: Mapping[str, Tensor], path: Path) -> None:
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file(dict(tensors), str(tmp))


def _load_tensors(path: Path) -> dict[str, Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path))


def _state_dict_copy(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


@torch.no_grad()
def predict_dataset(
    model: nn.Module,
    dataset: FeatureDataset,
    *,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    amp: bool = False,
    forward: Callable[[Batch], dict[str, Tensor]] | None = None,
    with_loss: bool = False,
) -> Predictions:
    """Softmax probabilities (and regression scores) of ``model`` for every item of ``dataset``, in its order.

    Batches are length-sorted (little padding); ``with_loss`` adds the mean cross-entropy over labelled items.
    """
    device = torch.device(device)
    model.eval()
    forward = forward or model
    loader = make_loader(dataset, batch_size=batch_size, train=False, bucketing=True)
    n = len(dataset)
    probs: np.ndarray | None = None
    scores = np.full(n, np.nan, dtype=np.float32)
    has_scores = False
    pos = {u: i for i, u in enumerate(dataset.ids)}
    loss_total, loss_count = 0.0, 0
    autocast = (
        torch.autocast(device_type="cuda", dtype=torch.bfloat16) if amp and device.type == "cuda" else None
    )
    for batch in loader:
        batch = _move(batch, device)
        if autocast is not None:
            with autocast:
                outputs = forward(batch)
        else:
            outputs = forward(batch)
        logits = outputs["logits"].float()
        p = torch.softmax(logits, dim=-1).cpu().numpy()
        if probs is None:
            probs = np.zeros((n, p.shape[1]), dtype=np.float32)
        idx = [pos[u] for u in batch.ids]
        probs[idx] = p
        if "score" in outputs:
            scores[idx] = outputs["score"].float().cpu().numpy()
            has_scores = True
        if with_loss and batch.labels is not None and bool((batch.labels >= 0).all()):
            # Plain cross-entropy: comparable across losses, and needs no teacher or soft labels.
            loss = torch.nn.functional.cross_entropy(logits, batch.labels.to(logits.device), reduction="sum")
            loss_total += float(loss)
            loss_count += batch.batch_size
    if probs is None:
        probs = np.zeros((0, 0), dtype=np.float32)
    return Predictions(
        ids=list(dataset.ids),
        probs=probs,
        labels=dataset.labels.copy(),
        scores=scores if has_scores else None,
        loss=loss_total / loss_count if loss_count else math.nan,
    )


# ---------------------------------------------------------------------------------------------
# Trainer


def _move(batch: Batch, device: torch.device) -> Batch:
    """``batch.to(device)`` keeping extra attributes (``teacher_probs``, ``soft_labels``)."""
    if device.type == "cpu":
        return batch
    out = batch.to(device)
    for key, value in vars(batch).items():
        if not hasattr(out, key) or key not in out.__dataclass_fields__:
            setattr(out, key, value.to(device) if isinstance(value, Tensor) else value)
    return out


class Trainer:
    """Train one model on one fold's training set, choosing the epoch on its validation set.

    Parameters
    ----------
    model : nn.Module
        A :class:`~serkit.models.base.SerModel` (``forward(batch) -> {"logits": ..., ...}``).
    loss_fn : callable
        ``loss_fn(outputs, batch) -> scalar`` (a :mod:`serkit.train.losses` loss).
    optim : OptimConfig
    train : TrainConfig
    run_dir : Path, optional
        Where ``log.jsonl`` and the resumable ``state/`` go; None keeps everything in memory.
    augment : callable, optional
        Training-batch augmentation (``serkit.train.augment.AugmentPipeline``: ``set_epoch``,
        ``state_dict``); never applied to validation batches.
    crop_s : mapping, optional
        Training crop (seconds) per stream.
    quiet : bool
        No progress bar.
    callbacks : list of callable, optional
        Each called as ``callback(trainer, epoch, record)`` after an epoch's state is saved.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: Callable[[dict[str, Tensor], Batch], Tensor],
        *,
        optim: OptimConfig,
        train: TrainConfig,
        run_dir: str | Path | None = None,
        augment: Any = None,
        crop_s: Mapping[str, float | Crop | None] | None = None,
        quiet: bool = False,
        callbacks: list[Callable[[Trainer, int, dict[str, Any]], None]] | None = None,
    ) -> None:
        self.train_cfg = train
        self.optim_cfg = optim
        self.device = resolve_device(train.device)
        self.model = model.to(self.device)
        self.loss_fn = loss_fn.to(self.device) if isinstance(loss_fn, nn.Module) else loss_fn
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.augment = augment
        self.crop_s = dict(crop_s or {})
        self.quiet = quiet
        self.callbacks = list(callbacks or [])
        self.optimizer = build_optimizer(self.model.parameters(), optim)
        self.scheduler = build_scheduler(self.optimizer, optim, train.epochs)
        self.amp = bool(train.amp and self.device.type == "cuda")
        # early-stopping state
        self.epoch = 0
        self.best_epoch = 0
        self.best_key: tuple[float, float] | None = None
        self.best_val: dict[str, float] = {}
        self.best_weights: dict[str, Tensor] | None = None
        self.bad_epochs = 0
        self.history: list[dict[str, Any]] = []

    # ---- hooks -------------------------------------------------------------------------------
    def compute_forward(self, batch: Batch) -> dict[str, Tensor]:
        """The model's outputs for ``batch`` (override to add e.g. auxiliary inputs)."""
        return self.model(batch)

    def compute_loss(self, outputs: dict[str, Tensor], batch: Batch) -> Tensor:
        """The training objective (float32 scalar)."""
        return self.loss_fn(outputs, batch)

    def on_epoch_start(self, epoch: int) -> None:
        """Called before epoch ``epoch`` (1-based) trains."""

    def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> None:
        """Called after epoch ``epoch`` is validated, logged and saved."""
        for cb in self.callbacks:
            cb(self, epoch, record)

    # ---- steps -------------------------------------------------------------------------------
    def _autocast(self) -> Any:
        if self.amp:
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        import contextlib

        return contextlib.nullcontext()

    def _train_epoch(self, loader: Any, epoch: int, progress: Any) -> float:
        self.model.train()
        total, count = 0.0, 0
        for step, batch in enumerate(loader):
            if self.augment:
                batch = self.augment(batch)
            batch = _move(batch, self.device)
            with self._autocast():
                outputs = self.compute_forward(batch)
                loss = self.compute_loss({k: v.float() for k, v in outputs.items()}, batch)
            if not torch.isfinite(loss):
                raise TrainingError(
                    f"The training loss is {loss.item()} at epoch {epoch}, batch {step + 1} (first id "
                    f"{batch.ids[0] if batch.ids else '?'}). Lower optim.lr (now {self.optim_cfg.lr:g}), set "
                    "train.clip_grad (e.g. 5.0), or check the features (normaliser 'corpus' keeps them in range)."
                )
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.train_cfg.clip_grad is not None:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.train_cfg.clip_grad)
            self.optimizer.step()
            n = batch.batch_size
            total += float(loss.detach()) * n
            count += n
            if progress is not None:
                progress.advance(progress.task_ids[-1])
        return total / max(count, 1)

    def predict(self, dataset: FeatureDataset, *, with_loss: bool = False) -> Predictions:
        """Softmax probabilities (and regression scores) for every item of ``dataset``, in its order."""
        return predict_dataset(
            self.model,
            dataset,
            batch_size=self.train_cfg.eval_batch_size or 2 * self.train_cfg.batch_size,
            device=self.device,
            amp=self.amp,
            forward=self.compute_forward,
            with_loss=with_loss,
        )

    # ---- fit ---------------------------------------------------------------------------------
    def fit(
        self, train_set: FeatureDataset, val_set: FeatureDataset | None, *, resume: bool = False
    ) -> FitResult:
        """Train for up to ``train.epochs`` epochs; the model ends with the chosen epoch's weights.

        Parameters
        ----------
        train_set : FeatureDataset
            The fold's training utterances.
        val_set : FeatureDataset or None
            Validation utterances (speakers from the training side). None -> fixed-epoch mode.
        resume : bool
            Continue from ``run_dir/state`` when it exists (a fresh start when it does not).

        Raises
        ------
        TrainingError
            A non-finite loss, or a saved state that belongs to another run.
        """
        cfg = self.train_cfg
        fixed = cfg.fixed_epochs or val_set is None or len(val_set) == 0
        selection = "last-epoch" if fixed else "best-val-ua"
        resumed_from = 0
        if resume and self.run_dir is not None and (self.run_dir / "state" / STATE_FILE).is_file():
            resumed_from = self._load_state()
        elif self.run_dir is not None:
            self._reset_files()
        loader = make_loader(
            train_set,
            batch_size=cfg.batch_size,
            train=True,
            seed=cfg.seed,
            bucketing=cfg.bucketing,
            bucket_batches=cfg.bucket_batches,
            crop_s=self.crop_s,
        )
        stopped = self.bad_epochs >= (cfg.patience or 10**9) and not fixed
        times: list[float] = []
        progress = self._progress()
        with progress or _null():
            if progress is not None:
                progress.add_task("epochs", total=cfg.epochs, completed=self.epoch)
                progress.add_task("batches", total=len(loader.batch_sampler))  # type: ignore[arg-type]
            while self.epoch < cfg.epochs and not stopped:
                epoch = self.epoch + 1
                start = time.perf_counter()
                self.on_epoch_start(epoch)
                set_loader_epoch(loader, epoch)
                if self.augment and hasattr(self.augment, "set_epoch"):
                    self.augment.set_epoch(epoch)
                if progress is not None:
                    progress.reset(progress.task_ids[-1], total=len(loader.batch_sampler))  # type: ignore[arg-type]
                train_loss = self._train_epoch(loader, epoch, progress)
                record: dict[str, Any] = {
                    "epoch": epoch,
                    "train_loss": train_loss,
                    "lr": float(self.optimizer.param_groups[0]["lr"]),
                }
                val_ua = math.nan
                if val_set is not None and len(val_set):
                    pred = self.predict(val_set, with_loss=True)
                    m = pred.metrics()
                    val_ua = m["ua"]
                    record.update({"val_loss": pred.loss, "val_ua": m["ua"], "val_wa": m["wa"]})
                improved = False
                if fixed:
                    self.best_epoch = epoch
                    self.best_val = {k: record[k] for k in ("val_ua", "val_wa", "val_loss") if k in record}
                else:
                    val_loss = record.get("val_loss", math.nan)
                    key = (
                        val_ua if math.isfinite(val_ua) else -1.0,
                        -val_loss if math.isfinite(val_loss) else -math.inf,
                    )
                    if self.best_key is None or key > self.best_key:
                        improved = True
                        self.best_key = key
                        self.best_epoch = epoch
                        self.best_val = {k: record[k] for k in ("val_ua", "val_wa", "val_loss")}
                        self.best_weights = _state_dict_copy(self.model)
                        self.bad_epochs = 0
                    else:
                        self.bad_epochs += 1
                self.scheduler.step(val_ua if math.isfinite(val_ua) else -train_loss)
                self.epoch = epoch
                record["best_epoch"] = self.best_epoch
                record["seconds"] = time.perf_counter() - start
                times.append(record["seconds"])
                self.history.append(record)
                self._log(record)
                self._save_state(improved)
                if progress is not None:
                    ua = f" val UA {100 * val_ua:.1f}%" if math.isfinite(val_ua) else ""
                    progress.update(
                        progress.task_ids[0],
                        completed=epoch,
                        description=f"epoch {epoch}/{cfg.epochs} loss {train_loss:.4f}{ua}",
                    )
                self.on_epoch_end(epoch, record)
                if not fixed and cfg.patience is not None and self.bad_epochs >= cfg.patience:
                    stopped = True
        if not fixed and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
        return FitResult(
            best_epoch=self.best_epoch,
            epochs_run=self.epoch,
            selection=selection,
            best_val=dict(self.best_val),
            stopped_early=stopped and self.epoch < cfg.epochs,
            seconds_per_epoch=float(np.mean(times)) if times else math.nan,
            history=list(self.history),
            resumed_from=resumed_from,
        )

    # ---- progress and log ----------------------------------------------------------------------
    def _progress(self) -> Any:
        if self.quiet:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )

    def _log(self, record: dict[str, Any]) -> None:
        if self.run_dir is None:
            return
        path = self.run_dir / "log.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    # ---- state ---------------------------------------------------------------------------------
    def _reset_files(self) -> None:
        assert self.run_dir is not None
        log = self.run_dir / "log.jsonl"
        if log.exists():
            log.unlink()
        state = self.run_dir / "state"
        if state.is_dir():
            for f in state.iterdir():
                f.unlink()

    def _rng_state(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        tensors = {"rng.torch": torch.get_rng_state()}
        if torch.cuda.is_available() and self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        np_state = np.random.get_state()
        info = {
            "python": _split_tensors(random.getstate(), {}, ""),
            "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
        }
        return tensors, info

    def _save_state(self, improved: bool) -> None:
        if self.run_dir is None:
            return
        folder = self.run_dir / "state"
        folder.mkdir(parents=True, exist_ok=True)
        tensors: dict[str, Tensor] = {f"model.{k}": v for k, v in _state_dict_copy(self.model).items()}
        meta: dict[str, Any] = {
            "optimizer": _split_tensors(self.optimizer.state_dict(), tensors, "optim"),
            "scheduler": _split_tensors(self.scheduler.state_dict(), tensors, "sched"),
        }
        if self.augment and hasattr(self.augment, "state_dict"):
            meta["augment"] = _split_tensors(self.augment.state_dict(), tensors, "augment")
        rng_tensors, rng_info = self._rng_state()
        tensors.update(rng_tensors)
        name = f"state-e{self.epoch:04d}.safetensors"
        _save_tensors(tensors, folder / name)
        best_name = None
        if self.best_weights is not None:
            best_name = f"best-e{self.best_epoch:04d}.safetensors"
            if improved or not (folder / best_name).is_file():
                _save_tensors(self.best_weights, folder / best_name)
        state = {
            "format": STATE_FORMAT,
            "epoch": self.epoch,
            "tensors": name,
            "best_file": best_name,
            "best_epoch": self.best_epoch,
            "best_key": list(self.best_key) if self.best_key is not None else None,
            "best_val": self.best_val,
            "bad_epochs": self.bad_epochs,
            "history": self.history,
            "rng": rng_info,
            **meta,
        }
        atomic_write_text(folder / STATE_FILE, json.dumps(state))  # the commit point
        for f in folder.iterdir():  # files the new state no longer names
            if f.suffix == ".safetensors" and f.name not in (name, best_name):
                f.unlink()

    def _load_state(self) -> int:
        assert self.run_dir is not None
        folder = self.run_dir / "state"
        state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
        if state.get("format") != STATE_FORMAT:
            raise TrainingError(
                f"{folder / STATE_FILE} is not a serkit training state; delete it to start afresh."
            )
        tensors = _load_tensors(folder / state["tensors"])
        model_sd = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
        try:
            self.model.load_state_dict(model_sd)
            self.optimizer.load_state_dict(_join_tensors(state["optimizer"], tensors))
        except (RuntimeError, ValueError, KeyError) as exc:
            raise TrainingError(
                f"The saved state in {folder} does not fit this model ({exc}); it belongs to another "
                "configuration. Train without --resume (or use another --out)."
            ) from None
        self.scheduler.load_state_dict(_join_tensors(state["scheduler"], tensors))
        if "augment" in state and self.augment and hasattr(self.augment, "load_state_dict"):
            self.augment.load_state_dict(_join_tensors(state["augment"], tensors))
        torch.set_rng_state(tensors["rng.torch"])
        if "rng.cuda" in tensors and self.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng.cuda"], self.device)
        py = _join_tensors(state["rng"]["python"], {})
        random.setstate((py[0], tuple(py[1]), py[2]))
        np_state = state["rng"]["numpy"]
        np.random.set_state((np_state[0], np.asarray(np_state[1], dtype=np.uint32), *np_state[2:]))
        self.epoch = int(state["epoch"])
        self.best_epoch = int(state["best_epoch"])
        self.best_key = tuple(state["best_key"]) if state["best_key"] is not None else None  # type: ignore[assignment]
        self.best_val = dict(state["best_val"])
        self.bad_epochs = int(state["bad_epochs"])
        self.history = list(state["history"])
        self.best_weights = _load_tensors(folder / state["best_file"]) if state.get("best_file") else None
        log = self.run_dir / "log.jsonl"  # drop lines of epochs after the saved state (killed before commit)
        atomic_write_text(log, "".join(json.dumps(r) + "\n" for r in self.history))
        return self.epoch

    def clear_state(self) -> None:
        """Delete the resumable state (after the final checkpoint is written)."""
        if self.run_dir is None:
            return
        folder = self.run_dir / "state"
        if folder.is_dir():
            for f in folder.iterdir():
                f.unlink()
            folder.rmdir()


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None
