"""Training: typed experiment configs, cached-feature batches, a resumable loop, self-describing checkpoints.

``serkit train CONFIG`` is :func:`train_folds` on :func:`load_config`; the pieces are importable:

========================  ==================================================================
:mod:`.config`            ``ExperimentConfig`` (pydantic) from YAML + ``key=value`` overrides
:mod:`.data`              manifest + split + feature cache -> normalised datasets and batches
:mod:`.loop`              ``Trainer``: epochs, validation UA, early stopping, resume, logs
:mod:`.checkpoint`        ``save_checkpoint`` / ``load_checkpoint`` (safetensors + JSON)
:mod:`.run`               ``train_fold`` / ``train_folds``: results per fold, resumable
:mod:`.losses`            losses by name (``build_loss``)
:mod:`.augment`           training-fold augmentations (``build_augment``)
========================  ==================================================================

Names are imported lazily so that reading a config does not import torch.
"""

from __future__ import annotations

from serkit._lazy import lazy_exports

_EXPORTS = {
    "ExperimentConfig": "config",
    "config_digest": "config",
    "dump_config": "config",
    "load_config": "config",
    "save_config": "config",
    "FeatureDataset": "data",
    "LengthBucketSampler": "data",
    "prepare_fold": "data",
    "FitResult": "loop",
    "Predictions": "loop",
    "Trainer": "loop",
    "TrainingError": "loop",
    "predict_dataset": "loop",
    "seed_everything": "loop",
    "CheckpointError": "checkpoint",
    "load_checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "predict_checkpoint": "run",
    "train_fold": "run",
    "train_folds": "run",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
