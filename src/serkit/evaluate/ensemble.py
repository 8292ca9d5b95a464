"""Ensembles of finished runs: the mean of their class probabilities, per fold and per utterance.

Typical use is several seeds of one system, or several systems, trained on the *same* split file: each
member's model never saw the fold's test speakers, so the average of their test probabilities is a fair
(speaker-independent, if the split is) prediction of the ensemble. The output is a run folder of the same
format as ``serkit train`` writes, so :func:`~serkit.evaluate.evaluate_run`, ``serkit report`` and the paired
tests read it unchanged::

    OUT/ensemble.json        members, their config digests, the split digest, the method
    OUT/summary.json         serkit.train.run.summarise of the folds written so far
    OUT/<fold>/metrics.json  format serkit-fold-result (variant "ensemble"), predictions with mean probabilities

A fold is written only when every member has finished it; running the same call again later adds the folds
the members have finished since (folds already written for the same members are kept as they are).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from serkit._io import atomic_write_text
from serkit.errors import ParameterError

__all__ = ["average_runs"]

ENSEMBLE_FORMAT = "serkit-ensemble"


def _member_digest(members: list[tuple[str, str | None]]) -> str:
    blob = json.dumps(members, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _probs(row: dict[str, Any], n_classes: int, where: str) -> np.ndarray:
    probs = np.asarray(row.get("probs") or [], dtype=float)
    if probs.shape != (n_classes,) or not np.isfinite(probs).all():
        raise ParameterError(
            f"Utterance {row.get('id')!r} in {where} has no usable class probabilities (got {row.get('probs')!r});"
            " an ensemble averages probabilities."
        )
    return probs


def average_runs(run_dirs: Sequence[str | Path], out_dir: str | Path, *, name: str | None = None) -> Path:
    """Average the test-set class probabilities of runs of one split into a new run folder.

    Parameters
    ----------
    run_dirs : sequence of path, at least 2
        Run folders (``serkit train -o``) trained on the same split file with the same classes.
    out_dir : path
        The ensemble's run folder; created if needed. An existing one must be for the same members.
    name : str, optional
        Experiment name written in the results (default ``"ensemble-of-<n>"``).

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    ParameterError
        Fewer than 2 members, a member appears twice, members of different split files or classes, a fold
        whose members tested different utterances, or ``out_dir`` holding an ensemble of other members.
    """
    from serkit.evaluate.metrics import classification_metrics
    from serkit.evaluate.runs import load_run
    from serkit.train.checkpoint import git_commit
    from serkit.train.run import summarise

    paths = [Path(p) for p in run_dirs]
    if len(paths) < 2:
        raise ParameterError(f"An ensemble needs at least 2 run folders; got {len(paths)}.")
    resolved = [p.resolve() for p in paths]
    if len(set(resolved)) != len(resolved):
        raise ParameterError(
            f"A run folder appears twice among the ensemble members: {[str(p) for p in paths]}."
        )
    out = Path(out_dir)
    if out.resolve() in resolved:
        raise ParameterError(
            f"The ensemble folder {out} is one of its members; choose another output folder."
        )
    runs = [load_run(p) for p in paths]
    first = runs[0]
    split_digest = first.first("split_digest")
    for run in runs[1:]:
        if run.first("split_digest") != split_digest:
            raise ParameterError(
                f"{run.path} was trained on another split than {first.path} (split digests "
                f"{run.first('split_digest')} and {split_digest}); ensemble members must share one split file."
            )
        if run.classes != first.classes:
            raise ParameterError(
                f"{run.path} has classes {run.classes} but {first.path} has {first.classes}; ensemble members "
                "must predict the same classes in the same order."
            )
    classes = list(first.classes)
    members = [(str(r.path.resolve()), r.first("config_digest")) for r in runs]
    digest = _member_digest(members)
    name = name or f"ensemble-of-{len(runs)}"
    description_path = out / "ensemble.json"
    if description_path.is_file():
        try:
            saved = json.loads(description_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ParameterError(f"Cannot read {description_path}: {exc}.") from None
        if saved.get("ensemble_digest") != digest:
            raise ParameterError(
                f"{out} holds an ensemble of other members ({saved.get('members')}). Use another output "
                f"folder, or delete {out} to start over."
            )
    elif out.exists() and any(out.iterdir()):
        raise ParameterError(f"{out} exists and is not an ensemble folder; choose an empty or new folder.")
    common = [f for f in first.folds if all(f in r.folds for r in runs[1:])]
    planned = max(int((r.summary or {}).get("n_folds") or len(r.folds)) for r in runs)
    description = {
        "format": ENSEMBLE_FORMAT,
        "name": name,
        "method": "mean of class probabilities; prediction = argmax",
        "members": [m[0] for m in members],
        "member_config_digests": [m[1] for m in members],
        "member_models": [r.first("model") for r in runs],
        "ensemble_digest": digest,
        "split_digest": split_digest,
        "classes": classes,
    }
    atomic_write_text(description_path, json.dumps(description, indent=1) + "\n")
    results = []
    for fold in common:
        path = out / _fold_folder(runs[0], fold) / "metrics.json"
        if path.is_file():
            existing = json.loads(path.read_text(encoding="utf-8"))
            if existing.get("config_digest") == digest:
                results.append(existing)
                continue
        results.append(_average_fold(runs, fold, classes, name, digest, git_commit(), classification_metrics))
        atomic_write_text(path, json.dumps(results[-1], indent=1, allow_nan=True) + "\n")
    summary = summarise(results, n_folds=planned)
    summary["members"] = description["members"]
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1, allow_nan=True) + "\n")
    return out


def _fold_folder(run: Any, fold: str) -> str:
    from serkit.train.data import safe_name

    return safe_name(fold)


def _average_fold(
    runs: list[Any],
    fold: str,
    classes: list[str],
    name: str,
    digest: str,
    commit: str | None,
    metrics_fn: Any,
) -> dict[str, Any]:
    results = [r.folds[fold] for r in runs]
    base = results[0]
    order = [str(p["id"]) for p in base["predictions"]]
    rows_by_member = []
    for run, result in zip(runs, results, strict=True):
        rows = {str(p["id"]): p for p in result["predictions"]}
        if set(rows) != set(order) or len(rows) != len(result["predictions"]):
            diff = sorted(set(rows) ^ set(order))
            raise ParameterError(
                f"Fold {fold!r} of {run.path} tested other utterances than {runs[0].path} "
                f"({len(diff)} differ{', e.g. ' + repr(diff[0]) if diff else ''}); members must share one split."
            )
        rows_by_member.append(rows)
    k = len(classes)
    predictions = []
    for uid in order:
        member_rows = [rows[uid] for rows in rows_by_member]
        mean = np.mean([_probs(r, k, f"fold {fold!r}") for r in member_rows], axis=0)
        label = member_rows[0].get("label")
        row: dict[str, Any] = {
            "id": uid,
            "speaker": member_rows[0].get("speaker"),
            "label": label,
            "pred": classes[int(np.argmax(mean))],
            "probs": [round(float(p), 6) for p in mean],
        }
        scores = [r.get("score") for r in member_rows]
        if all(isinstance(s, int | float) for s in scores):
            row["score"] = float(np.mean(scores))
            if "true_score" in member_rows[0]:
                row["true_score"] = member_rows[0]["true_score"]
        predictions.append(row)
    labelled = [p for p in predictions if p["label"] is not None]
    m = metrics_fn([p["label"] for p in labelled], [p["pred"] for p in labelled], classes=classes)
    from serkit import __version__

    def total(key: str) -> float | None:
        vals = [r.get(key) for r in results]
        nums = [float(v) for v in vals if isinstance(v, int | float) and math.isfinite(v)]
        return float(sum(nums)) if nums else None

    params = [r.get("n_parameters") for r in results]
    return {
        "format": "serkit-fold-result",
        "fold": fold,
        "experiment": name,
        "variant": "ensemble",
        "model": "ensemble(" + ", ".join(str(r.get("model")) for r in results) + ")",
        "config_digest": digest,
        "split_digest": base.get("split_digest"),
        "protocol": base.get("protocol"),
        "speaker_independent": all(bool(r.get("speaker_independent")) for r in results),
        "transductive": any(bool(r.get("transductive")) for r in results),
        "seed": None,
        "seeds": [r.get("seed") for r in results],
        "classes": classes,
        "members": [str(run.path.resolve() / _fold_folder(run, fold)) for run in runs],
        "n_train": base.get("n_train"),
        "n_val": base.get("n_val"),
        "n_test": len(predictions),
        "test_speakers": list(base.get("test_speakers") or []),
        "test": {key: m[key] for key in ("ua", "wa", "macro_f1")},
        "selection": "ensemble",
        "best_epoch": None,
        "epochs_run": None,
        "seconds_per_epoch": math.nan,
        "fit_seconds": total("fit_seconds"),
        "seconds_total": total("seconds_total"),
        "n_parameters": int(sum(params)) if all(isinstance(p, int) for p in params) else None,
        "commit": commit,
        "serkit_version": __version__,
        "predictions": predictions,
    }
