"""Train an experiment fold by fold: checkpoints, test predictions and metrics, resumable across sessions.

Layout of a run folder ``OUT`` (``serkit train ... --out OUT``)::

    OUT/config.yaml            resolved configuration (its digest is cited by every result)
    OUT/summary.json           per-fold and mean test UA / WA / macro-F1 of the folds finished so far
    OUT/<fold>/log.jsonl       one JSON record per epoch (train loss, val loss/UA/WA, lr, seconds)
    OUT/<fold>/state/          resumable training state (removed once the fold is finished)
    OUT/<fold>/checkpoint/     model.safetensors + checkpoint.json (or a classic learner's files)
    OUT/<fold>/metrics.json    test metrics and per-utterance test predictions (written last, atomically)

:func:`train_folds` skips every fold whose ``metrics.json`` exists for the same configuration, so re-running
the same command after an interruption (or in another session) continues where it stopped; with
``resume=True`` a half-trained fold also continues from its last finished epoch.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from serkit._io import atomic_write_text
from serkit.errors import ConfigError
from serkit.train.config import (
    ExperimentConfig,
    config_digest,
    dump_config,
    load_config,
    save_config,
    with_overrides,
)
from serkit.train.data import (
    FeatureDataset,
    FoldData,
    apply_normaliser,
    default_cache_dir,
    label_classes,
    load_experiment_manifest,
    load_split,
    load_streams,
    prepare_fold,
    read_teacher_json,
    safe_name,
)
from serkit.train.loop import (
    Predictions,
    Trainer,
    classification_metrics,
    predict_dataset,
    seed_everything,
    set_threads,
)

__all__ = ["predict_checkpoint", "summarise", "train_fold", "train_folds"]

METRICS = "metrics.json"
SUMMARY = "summary.json"


def _is_classic(name: str) -> bool:
    return name.startswith("classic_")


def train_fold(
    config: ExperimentConfig,
    fold_name: str,
    out_dir: str | Path,
    *,
    resume: bool = False,
    quiet: bool = False,
    callbacks: list[Callable[..., None]] | None = None,
) -> dict[str, Any]:
    """Train ``config`` on fold ``fold_name``; write ``OUT/<fold>/checkpoint`` and ``metrics.json``.

    Parameters
    ----------
    config : ExperimentConfig
    fold_name : str
        A fold of the split file ``config.data.split``.
    out_dir : path
        The run folder (the fold's folder is ``out_dir/<fold name made filename-safe>``).
    resume : bool
        Continue from the fold's saved state (after a kill), and return an existing result of the same
        configuration without training again.
    quiet : bool
        No progress bar.
    callbacks : list of callable, optional
        Passed to :class:`~serkit.train.loop.Trainer` (``callback(trainer, epoch, record)``).

    Returns
    -------
    dict
        The content of ``metrics.json``: ``test`` (ua, wa, macro_f1), ``val``, ``best_epoch``,
        ``epochs_run``, ``seconds_per_epoch``, ``predictions`` (id, label, pred, probs[, score]), the split
        digest, fold, seed, config digest, ...

    Raises
    ------
    SplitLeakError
        The split leaks speakers or does not match the manifest: nothing is trained.
    ConfigError, TrainingError
    """
    set_threads(config.train.threads)
    fold_dir = Path(out_dir) / safe_name(fold_name)
    digest = config_digest(config)
    metrics_path = fold_dir / METRICS
    if resume and metrics_path.is_file():
        existing = json.loads(metrics_path.read_text(encoding="utf-8"))
        if existing.get("config_digest") == digest:
            return existing
    start = time.perf_counter()
    teacher = _teacher(config) if config.loss.teacher is not None else None
    data = prepare_fold(config, fold_name, teacher=teacher, quiet=quiet)
    if _is_classic(config.model.name):
        result = _train_classic(config, data, fold_dir)
    else:
        result = _train_network(config, data, fold_dir, resume=resume, quiet=quiet, callbacks=callbacks)
    result["seconds_total"] = time.perf_counter() - start
    atomic_write_text(metrics_path, json.dumps(result, indent=1, allow_nan=True) + "\n")
    return result


def _input_dims(config: ExperimentConfig, data: FoldData) -> tuple[dict[str, int], dict[str, str]]:
    from serkit.models import model_info

    info = model_info(config.model.name)
    streams = {role: config.model.streams.get(role, role) for role in info.inputs}
    dims = {}
    for role, kind in info.inputs.items():
        stream = streams[role]
        if stream not in data.infos:
            raise ConfigError(
                f"Model {config.model.name!r} reads a {kind} stream {stream!r} (role {role!r}); data.inputs has "
                f"{', '.join(data.infos)}. Name an input {stream!r}, or map the role with "
                f"model.streams.{role}=<input name>."
            )
        if data.infos[stream].kind != kind:
            raise ConfigError(
                f"Model {config.model.name!r} reads {stream!r} as a {kind} stream, but its frontend "
                f"{data.infos[stream].frontend} gives {data.infos[stream].kind}. Choose a {kind} frontend for it."
            )
        dims[role] = data.infos[stream].dim
    return dims, {r: s for r, s in streams.items() if r != s}


def build_model(config: ExperimentConfig, data: FoldData) -> Any:
    """The network of ``config`` for the fold's classes and feature dims (seeded first)."""
    from serkit.errors import ParameterError
    from serkit.models import create_model

    dims, stream_names = _input_dims(config, data)
    seed_everything(config.train.seed)
    try:
        return create_model(
            config.model.name,
            num_classes=len(data.classes),
            input_dims=dims,
            cfg=config.model.cfg,
            stream_names=stream_names or None,
        )
    except ParameterError as exc:
        raise ConfigError(f"model: {exc}") from None


def _loss_and_augment(
    config: ExperimentConfig, data: FoldData, train_labels: np.ndarray | None = None
) -> tuple[Any, Any]:
    from serkit.errors import ParameterError
    from serkit.train.augment import build_augment
    from serkit.train.losses import build_loss

    try:
        loss = build_loss(config.loss.name, **config.loss.cfg)
    except ParameterError as exc:
        raise ConfigError(f"loss: {exc}") from None
    if hasattr(loss, "fit_weights"):
        labels = data.train.labels if train_labels is None else train_labels
        loss.fit_weights(labels, len(data.classes))
    augment = None
    if config.train.augment:
        try:
            augment = build_augment(
                [a.model_dump() for a in config.train.augment],
                seed=config.train.seed,
                num_classes=len(data.classes),
            )
        except ParameterError as exc:
            raise ConfigError(f"train.augment: {exc}") from None
    return loss, augment


class _PretrainTrainer(Trainer):
    """Unsupervised epochs: the model's own ``reconstruction_loss`` on the training fold (labels unused)."""

    def compute_forward(self, batch: Any) -> dict[str, Any]:
        return {}

    def compute_loss(self, outputs: dict[str, Any], batch: Any) -> Any:
        return self.model.reconstruction_loss(batch)


def _pretrain(
    config: ExperimentConfig, data: FoldData, model: Any, fold_dir: Path, *, resume: bool, quiet: bool
) -> Trainer | None:
    epochs = config.train.pretrain_epochs
    if epochs == 0:
        return None
    if not hasattr(model, "reconstruction_loss"):
        raise ConfigError(
            f"train.pretrain_epochs={epochs}: model {config.model.name!r} has no unsupervised objective "
            "(reconstruction_loss); set train.pretrain_epochs=0 or use e.g. conv_autoencoder."
        )
    cfg = config.train.model_copy(update={"epochs": epochs, "fixed_epochs": True, "patience": None})
    trainer = _PretrainTrainer(
        model,
        lambda o, b: None,
        optim=config.optim,
        train=cfg,
        run_dir=fold_dir / "pretrain",
        crop_s=data.crop_s(config),
        quiet=quiet,
    )
    trainer.fit(data.train, None, resume=resume)
    if config.train.freeze_encoder:
        if not hasattr(model, "freeze_encoder"):
            raise ConfigError(f"train.freeze_encoder: model {config.model.name!r} cannot freeze an encoder.")
        model.freeze_encoder(True)
    return trainer


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _search(
    config: ExperimentConfig, data: FoldData, fold_dir: Path
) -> tuple[ExperimentConfig, dict[str, Any]]:
    """Random search on the training fold (inner speaker-grouped folds); the best values applied to ``config``.

    The result is saved in ``fold_dir/search.json`` and reused by a re-run with the same configuration.
    """
    from serkit.train.search import random_search

    search = config.search
    assert search is not None
    digest = config_digest(config)
    path = fold_dir / "search.json"
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("config_digest") == digest:
            return with_overrides(config, saved["best_params"], source="the saved search result"), saved
    base = with_overrides(config, search.overrides, source="search.overrides") if search.overrides else config

    def objective(params: dict[str, Any], train_ids: list[str], val_ids: list[str]) -> float:
        trial = with_overrides(base, params, source="a search trial")
        train_set, val_set = data.inner_datasets(trial, train_ids, val_ids)
        model = build_model(trial, data)
        loss, augment = _loss_and_augment(trial, data, train_set.labels)
        trainer = Trainer(
            model,
            loss,
            optim=trial.optim,
            train=trial.train,
            augment=augment,
            crop_s=data.crop_s(trial),
            quiet=True,
        )
        fit = trainer.fit(train_set, val_set)
        if fit.selection == "best-val-ua":
            return float(fit.best_val.get("val_ua", math.nan))
        return trainer.predict(val_set).metrics()["ua"]

    result = random_search(
        search.space,
        objective,
        data.train.ids,
        data.train.speakers,
        n_trials=search.n_trials,
        inner_folds=search.inner_folds,
        seed=config.train.seed,
        test_groups=data.fold.test_speakers,
    )
    saved = {
        "config_digest": digest,
        "best_params": result.best_params,
        "best_score": result.best_score,
        "trials": result.trials.to_dict(orient="records"),
    }
    saved = json.loads(json.dumps(saved, default=_jsonable))
    atomic_write_text(path, json.dumps(saved, indent=1, allow_nan=True) + "\n")
    return with_overrides(config, saved["best_params"], source="the search result"), saved


def _train_network(
    config: ExperimentConfig,
    data: FoldData,
    fold_dir: Path,
    *,
    resume: bool,
    quiet: bool,
    callbacks: list[Callable[..., None]] | None,
) -> dict[str, Any]:
    from serkit.train.checkpoint import save_checkpoint

    searched = None
    final = config
    if config.search is not None:
        final, searched = _search(config, data, fold_dir)
    model = build_model(final, data)
    pretrainer = _pretrain(final, data, model, fold_dir, resume=resume, quiet=quiet)
    loss, augment = _loss_and_augment(final, data)
    trainer = Trainer(
        model,
        loss,
        optim=final.optim,
        train=final.train,
        run_dir=fold_dir,
        augment=augment,
        crop_s=data.crop_s(final),
        quiet=quiet,
        callbacks=callbacks,
    )
    fit = trainer.fit(data.train, data.val, resume=resume)
    # The test set is touched only now, after the epoch was chosen.
    test = trainer.predict(data.test)
    metrics = test.metrics()
    result = _result(config, data, test, metrics)
    result.update(
        {
            "selection": fit.selection,
            "best_epoch": fit.best_epoch,
            "epochs_run": fit.epochs_run,
            "stopped_early": fit.stopped_early,
            "seconds_per_epoch": fit.seconds_per_epoch,
            "resumed_from_epoch": fit.resumed_from,
            "val": fit.best_val,
            "n_parameters": int(sum(p.numel() for p in model.parameters())),
            "device": str(trainer.device),
        }
    )
    if searched is not None:
        result["search"] = {k: searched[k] for k in ("best_params", "best_score", "trials")}
    if pretrainer is not None:
        result["pretrain_epochs"] = pretrainer.epoch
    meta = _checkpoint_meta(final, data, result)
    save_checkpoint(fold_dir / "checkpoint", model.cpu(), meta)
    trainer.clear_state()
    if pretrainer is not None:
        pretrainer.clear_state()
    return result


def _checkpoint_meta(config: ExperimentConfig, data: FoldData, result: dict[str, Any]) -> dict[str, Any]:
    norms = data.normaliser_dicts()
    return {
        "classes": list(data.classes),
        "streams": {
            name: {"frontend": info.frontend, "kind": info.kind, "dim": info.dim, "normaliser": norms[name]}
            for name, info in data.infos.items()
        },
        "config": dump_config(config),
        "config_digest": config_digest(config),
        "split": {
            "digest": data.split.digest,
            "protocol": data.split.protocol,
            "speaker_independent": data.split.speaker_independent,
            "manifest_digest": data.split.manifest_digest,
        },
        "fold": data.fold.name,
        "seed": config.train.seed,
        "training_data": {
            "n_train": len(data.train),
            "train_speakers": sorted(set(data.train.speakers)),
            "label_set": config.data.label_set,
            "manifests": [str(p) for p in config.data.manifest],
        },
        "metrics": {k: result[k] for k in ("test", "val", "best_epoch", "epochs_run") if k in result},
    }


def _result(
    config: ExperimentConfig, data: FoldData, test: Predictions, metrics: dict[str, float]
) -> dict[str, Any]:
    from serkit.train.checkpoint import git_commit

    preds = test.preds
    rows = []
    for i, uid in enumerate(test.ids):
        row: dict[str, Any] = {
            "id": uid,
            "speaker": data.test.speakers[i] if data.test.speakers else None,
            "label": data.classes[test.labels[i]] if test.labels[i] >= 0 else None,
            "pred": data.classes[int(preds[i])],
            "probs": [round(float(p), 6) for p in test.probs[i]],
        }
        if test.scores is not None:
            row["score"] = float(test.scores[i])
            if data.test.scores is not None:
                row["true_score"] = float(data.test.scores[i])
        rows.append(row)
    from serkit import __version__

    return {
        "format": "serkit-fold-result",
        "fold": data.fold.name,
        "experiment": config.name,
        "variant": config.variant,
        "model": config.model.name,
        "config_digest": config_digest(config),
        "split_digest": data.split.digest,
        "protocol": data.split.protocol,
        "speaker_independent": data.split.speaker_independent,
        "transductive": False,
        "seed": config.train.seed,
        "classes": list(data.classes),
        "frontends": {n: i.frontend for n, i in data.infos.items()},
        "n_train": len(data.train),
        "n_val": 0 if data.val is None else len(data.val),
        "n_test": len(data.test),
        "test_speakers": list(data.fold.test_speakers),
        "dropped": {k: v for k, v in data.dropped.items() if v},
        "test": metrics,
        "commit": git_commit(),
        "serkit_version": __version__,
        "predictions": rows,
    }


# ---------------------------------------------------------------------------------------------
# Classic learners (scikit-learn; serkit.models.classic)


def _vectors(data: FoldData, ds: FeatureDataset) -> np.ndarray:
    bad = [n for n, i in data.infos.items() if i.kind != "vector"]
    if bad:
        raise ConfigError(
            f"Classic learners read vector streams only; {', '.join(bad)} are frames streams. Use functionals "
            "(handcrafted, egemaps) or pooled encoders (whisper) as inputs."
        )
    return np.concatenate([np.stack(ds.streams[n]) for n in data.infos], axis=1)


def _train_classic(config: ExperimentConfig, data: FoldData, fold_dir: Path) -> dict[str, Any]:
    from serkit.errors import ParameterError
    from serkit.models.classic import save_classic, train_classic_fold

    cfg = dict(config.model.cfg)
    X_tr = _vectors(data, data.train)
    val = None
    if data.val is not None and len(data.val):
        val = (_vectors(data, data.val), data.val.labels, np.asarray(data.val.speakers), data.val.ids)
    start = time.perf_counter()
    try:
        out = train_classic_fold(
            config.model.name,
            (X_tr, data.train.labels, np.asarray(data.train.speakers)),
            (_vectors(data, data.test), data.test.ids),
            label_names=data.classes,
            val=val,
            seed=config.train.seed,
            feature_spec={n: i.frontend for n, i in data.infos.items()},
            **cfg,
        )
    except TypeError as exc:
        raise ConfigError(f"model.cfg of {config.model.name!r}: {exc}") from None
    except ParameterError as exc:
        raise ConfigError(f"model: {exc}") from None
    fit_s = time.perf_counter() - start
    n, c = len(data.test), len(data.classes)
    proba = out.get("proba")
    if proba is None:
        proba = np.zeros((n, c), dtype=np.float32)
        proba[np.arange(n), np.asarray(out["pred_index"])] = 1.0
    test = Predictions(
        ids=list(out["ids"]), probs=np.asarray(proba, dtype=np.float32), labels=data.test.labels
    )
    metrics = classification_metrics(test.labels, np.asarray(out["pred_index"]))
    result = _result(config, data, test, metrics)
    result["predictions"] = [{**row, "pred": out["pred"][i]} for i, row in enumerate(result["predictions"])]
    val_out = out.get("val")
    result.update(
        {
            # No search (search: none) means fixed hyperparameters: nothing was chosen by inner CV.
            "selection": "fixed" if cfg.get("search") == "none" else "inner-cv",
            "best_params": out.get("best_params"),
            "inner_cv_score": out.get("best_score"),
            "val": {} if not val_out else {"val_ua": val_out["balanced_accuracy"]},
            "epochs_run": 0,
            "best_epoch": 0,
            "seconds_per_epoch": math.nan,
            "fit_seconds": fit_s,
        }
    )
    meta = _checkpoint_meta(config, data, result)
    save_classic(
        out["model"],
        fold_dir / "checkpoint",
        label_names=data.classes,
        feature_spec={n: i.frontend for n, i in data.infos.items()},
        extra={k: v for k, v in meta.items() if k not in ("classes",)},
    )
    return result


# ---------------------------------------------------------------------------------------------
# Teachers and prediction from a checkpoint


def predict_checkpoint(
    directory: str | Path,
    manifest: Any,
    *,
    cache_dir: str | Path | None = None,
    workers: int | None = 1,
    batch_size: int = 64,
) -> Predictions:
    """Class probabilities of a saved network for every row of ``manifest`` (features from the cache).

    The frontends and normalisers come from the checkpoint, never from defaults.
    """
    from serkit.features.normalise import normaliser_from_dict
    from serkit.train.checkpoint import load_checkpoint

    model, meta = load_checkpoint(directory)
    inputs = {name: s["frontend"] for name, s in meta["streams"].items()}
    arrays, infos, _ = load_streams(
        manifest, inputs, cache_dir=Path(cache_dir) if cache_dir else default_cache_dir(), workers=workers
    )
    ids = [u for u in manifest["id"].astype(str) if u in next(iter(arrays.values()))]
    streams = {}
    for name, stream in meta["streams"].items():
        norm = normaliser_from_dict(stream["normaliser"]) if stream.get("normaliser") else None
        streams[name] = apply_normaliser(norm, [arrays[name][u] for u in ids])
    classes = meta["classes"]
    label_of = dict(zip(manifest["id"].astype(str), manifest["label"].astype(str), strict=True))
    labels = np.array([classes.index(label_of[u]) if label_of[u] in classes else -1 for u in ids])
    ds = FeatureDataset(ids, streams, labels, infos)
    return predict_dataset(model, ds, batch_size=batch_size)


def _teacher(config: ExperimentConfig) -> dict[str, np.ndarray]:
    _, labelled = load_experiment_manifest(config.data)
    classes = label_classes(config.data, labelled)
    path = Path(config.loss.teacher)  # type: ignore[arg-type]
    if path.is_dir():
        pred = predict_checkpoint(
            path, labelled, cache_dir=config.data.cache_dir, workers=config.data.workers
        )
        from serkit.train.checkpoint import read_checkpoint_meta

        t_classes = read_checkpoint_meta(path)["classes"]
        missing = [c for c in classes if c not in t_classes]
        if missing:
            raise ConfigError(
                f"loss.teacher={path}: the teacher has no class {missing[0]!r} (it has {t_classes})."
            )
        order = [t_classes.index(c) for c in classes]
        return {
            u: pred.probs[i, order] / max(float(pred.probs[i, order].sum()), 1e-12)
            for i, u in enumerate(pred.ids)
        }
    return read_teacher_json(path, classes)


# ---------------------------------------------------------------------------------------------
# All folds


def _fold_names(config: ExperimentConfig, folds: str | Sequence[str]) -> list[str]:
    split = load_split(config.data.split)
    if isinstance(folds, str):
        if folds == "all":
            return [f.name for f in split.folds]
        folds = [folds]
    for name in folds:
        split.fold(name)  # unknown names: ParameterError with close matches
    return list(folds)


def summarise(results: Sequence[dict[str, Any]], *, n_folds: int | None = None) -> dict[str, Any]:
    """Mean and std of test UA/WA/macro-F1 over fold results, plus UA/WA of all predictions pooled."""
    out: dict[str, Any] = {"n_folds_done": len(results), "n_folds": n_folds or len(results)}
    for key in ("ua", "wa", "macro_f1"):
        vals = [r["test"][key] for r in results if math.isfinite(r["test"].get(key, math.nan))]
        out[f"mean_{key}"] = float(np.mean(vals)) if vals else math.nan
        out[f"std_{key}"] = float(np.std(vals)) if vals else math.nan
    labels, preds = [], []
    for r in results:
        classes = r["classes"]
        for row in r["predictions"]:
            if row["label"] is not None:
                labels.append(classes.index(row["label"]))
                preds.append(classes.index(row["pred"]))
    pooled = classification_metrics(np.array(labels), np.array(preds)) if labels else {}
    out["pooled"] = pooled
    out["folds"] = {
        r["fold"]: {
            **{k: r["test"][k] for k in ("ua", "wa", "macro_f1")},
            "best_epoch": r.get("best_epoch"),
            "epochs_run": r.get("epochs_run"),
            "seconds_per_epoch": r.get("seconds_per_epoch"),
        }
        for r in results
    }
    if results:
        first = results[0]
        for key in (
            "experiment",
            "variant",
            "model",
            "config_digest",
            "split_digest",
            "protocol",
            "speaker_independent",
            "seed",
            "transductive",
        ):
            out[key] = first.get(key)
    return out


def train_folds(
    config: ExperimentConfig,
    folds: str | Sequence[str] = "all",
    out_dir: str | Path = "runs",
    *,
    resume: bool = False,
    quiet: bool = False,
    on_fold: Callable[[str, dict[str, Any], bool], None] | None = None,
) -> dict[str, Any]:
    """Train every requested fold into ``out_dir``, skipping folds already finished with this config.

    Parameters
    ----------
    folds : "all", a fold name, or a list of names
    out_dir : path
        Run folder; holds ``config.yaml`` of the one configuration it is for.
    resume : bool
        Continue half-trained folds from their saved state.
    on_fold : callable, optional
        ``on_fold(fold, result, skipped)`` after each fold (the CLI prints a line).

    Returns
    -------
    dict
        :func:`summarise` of the finished folds (also written to ``out_dir/summary.json``).

    Raises
    ------
    ConfigError
        ``out_dir`` holds results of another configuration.
    """
    out = Path(out_dir)
    digest = config_digest(config)
    saved = out / "config.yaml"
    if saved.is_file():
        previous = load_config(saved)
        if config_digest(previous) != digest:  # runtime settings (device, threads, ...) may differ
            raise ConfigError(
                f"{out} holds a run of another configuration (digest {config_digest(previous)}, this one is "
                f"{digest}). Use another --out, or delete {out} to start over."
            )
    names = _fold_names(config, folds)
    save_config(config, saved)
    results = []
    for name in names:
        path = out / safe_name(name) / METRICS
        if path.is_file():
            result = json.loads(path.read_text(encoding="utf-8"))
            if result.get("config_digest") == digest:
                results.append(result)
                if on_fold:
                    on_fold(name, result, True)
                continue
        result = train_fold(config, name, out, resume=resume, quiet=quiet)
        results.append(result)
        summary = summarise(results, n_folds=len(names))
        atomic_write_text(out / SUMMARY, json.dumps(summary, indent=1, allow_nan=True) + "\n")
        if on_fold:
            on_fold(name, result, False)
    summary = summarise(results, n_folds=len(names))
    atomic_write_text(out / SUMMARY, json.dumps(summary, indent=1, allow_nan=True) + "\n")
    return summary
