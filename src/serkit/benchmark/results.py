"""The committed result files of the benchmark: one JSON per (protocol, corpus, system).

Layout under the results folder (``benchmarks/results/benchmark`` by default)::

    <protocol>/<corpus>/_split.json        the split every system of that row was evaluated on
    <protocol>/<corpus>/<system>.json      format ``serkit-benchmark-result`` (below)

A result file holds, per seed and fold, the test metrics (UA, WA, macro-F1), the number of test
utterances, training seconds, parameters, the config and split digests, and compact per-utterance
predictions ``[id, label, pred, [p_1, ..., p_C]]`` (probabilities rounded to 4 decimals), so paired tests,
ensembles and combinations can be recomputed from the committed files alone. ``final`` holds the fold
results that represent the system when they are not one seed's: the seed ensemble (``ensemble: true``) or
the combination of other systems (``combine``). Files are written atomically after every finished job.
"""

from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from serkit._io import atomic_write_text
from serkit.errors import ConfigError

__all__ = [
    "FORMAT",
    "average_entries",
    "fold_entry",
    "machine",
    "read_result",
    "result_path",
    "seed_key",
    "split_path",
    "system_folds",
    "write_result",
]

FORMAT = "serkit-benchmark-result"
FORMAT_VERSION = 1
PROB_DECIMALS = 4


def result_path(results: Path, protocol: str, corpus: str, system: str) -> Path:
    return Path(results) / protocol / corpus / f"{system}.json"


def split_path(results: Path, protocol: str, corpus: str) -> Path:
    return Path(results) / protocol / corpus / "_split.json"


def seed_key(seed: int) -> str:
    return f"seed-{seed}"


def machine() -> str:
    """``Linux-... x86_64, 16 CPUs`` (where a result was computed)."""
    import os

    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )


def _train_seconds(result: Mapping[str, Any]) -> float | None:
    fit = result.get("fit_seconds")
    if isinstance(fit, int | float) and math.isfinite(fit):
        return float(fit)
    per_epoch, epochs = result.get("seconds_per_epoch"), result.get("epochs_run")
    if isinstance(per_epoch, int | float) and math.isfinite(per_epoch) and epochs:
        return float(per_epoch) * int(epochs)
    total = result.get("seconds_total")
    return float(total) if isinstance(total, int | float) else None


def _predictions(rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    return [
        [r["id"], r.get("label"), r["pred"], [round(float(p), PROB_DECIMALS) for p in r.get("probs") or []]]
        for r in rows
    ]


def fold_entry(result: Mapping[str, Any]) -> dict[str, Any]:
    """The compact record of one finished fold from a ``serkit-fold-result`` (``metrics.json``)."""
    test = result["test"]
    entry = {
        "fold": result["fold"],
        "seed": result.get("seed"),
        "config_digest": result.get("config_digest"),
        "split_digest": result.get("split_digest"),
        "ua": test.get("ua"),
        "wa": test.get("wa"),
        "macro_f1": test.get("macro_f1"),
        "n_train": result.get("n_train"),
        "n_test": result.get("n_test"),
        "train_seconds": _train_seconds(result),
        "seconds_total": result.get("seconds_total"),
        "n_parameters": result.get("n_parameters"),
        "selection": result.get("selection"),
        "best_epoch": result.get("best_epoch"),
        "epochs_run": result.get("epochs_run"),
        "best_params": result.get("best_params"),
        "test_speakers": list(result.get("test_speakers") or []),
        "commit": result.get("commit"),
        "machine": machine(),
        "device": result.get("device", "cpu"),
        "classes": list(result["classes"]),
        "predictions": _predictions(result["predictions"]),
    }
    return {k: v for k, v in entry.items() if v is not None or k in ("ua", "wa", "macro_f1")}


def read_result(path: Path) -> dict[str, Any] | None:
    """The result document at ``path``, or None when there is none yet.

    Raises
    ------
    ConfigError
        The file exists but is not a benchmark result (never silently overwritten).
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"The benchmark result file {path} is not valid JSON ({exc}); delete it to rerun."
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ConfigError(
            f"{path} is not a benchmark result file (format {FORMAT!r}); move it away to rerun."
        )
    return doc


def write_result(path: Path, doc: Mapping[str, Any]) -> bool:
    """Write ``doc`` atomically, one prediction per line; False (nothing written) when unchanged."""
    rows: list[list[Any]] = []

    def swap(entries: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        for fold, entry in entries.items():
            entry = dict(entry)
            marks = []
            for row in entry.get("predictions", []):
                marks.append(f"@@row{len(rows)}@@")
                rows.append(row)
            entry["predictions"] = marks
            out[fold] = entry
        return out

    staged = dict(doc)
    staged["runs"] = {seed: swap(folds) for seed, folds in doc.get("runs", {}).items()}
    if "final" in doc:
        staged["final"] = swap(doc["final"])
    text = json.dumps(staged, indent=1, ensure_ascii=False, allow_nan=True)
    for i, row in enumerate(rows):
        text = text.replace(f'"@@row{i}@@"', json.dumps(row, ensure_ascii=False, separators=(",", ":")), 1)
    text += "\n"
    path = Path(path)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    atomic_write_text(path, text)
    return True


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def system_folds(doc: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Fold -> the entries that represent the system on it: ``final`` (ensemble / combination) when the
    document has it, else one entry per seed (several for a multi-seed system that is not ensembled)."""
    if doc.get("ensemble") or doc.get("combine"):
        return {fold: [entry] for fold, entry in doc.get("final", {}).items()}
    out: dict[str, list[dict[str, Any]]] = {}
    for seed in sorted(doc.get("runs", {}), key=lambda s: int(s.split("-")[-1])):
        for fold, entry in doc["runs"][seed].items():
            out.setdefault(fold, []).append(entry)
    return out


def average_entries(entries: Sequence[Mapping[str, Any]], *, fold: str) -> dict[str, Any]:
    """Average the class probabilities of several fold entries (same utterances) per utterance.

    Classes are aligned by name (the first entry's order); an utterance missing from any entry is left out.
    """
    from serkit.train.loop import classification_metrics

    classes = list(entries[0]["classes"])
    for e in entries[1:]:
        if sorted(e["classes"]) != sorted(classes):
            raise ConfigError(
                f"Cannot average fold {fold!r}: the systems predict different classes ({classes} vs {e['classes']})."
            )
    tables = []
    for e in entries:
        order = [list(e["classes"]).index(c) for c in classes]
        tables.append(
            {row[0]: (row[1], np.asarray(row[3], dtype=np.float64)[order]) for row in e["predictions"]}
        )
    ids = [row[0] for row in entries[0]["predictions"] if all(row[0] in t for t in tables)]
    probs = np.stack([np.mean([t[u][1] for t in tables], axis=0) for u in ids]) if ids else np.zeros((0, 1))
    labels = [tables[0][u][0] for u in ids]
    pred_idx = probs.argmax(axis=1) if ids else np.zeros(0, dtype=int)
    y_true = np.array([classes.index(lab) if lab in classes else -1 for lab in labels], dtype=int)
    metrics = classification_metrics(y_true, pred_idx)
    params = [e.get("n_parameters") for e in entries]
    seconds = [e.get("train_seconds") for e in entries]
    return {
        "fold": fold,
        "ua": metrics["ua"],
        "wa": metrics["wa"],
        "macro_f1": metrics["macro_f1"],
        "n_test": len(ids),
        "train_seconds": float(sum(s for s in seconds if s is not None)),
        "n_parameters": int(sum(p for p in params if p is not None))
        if any(p is not None for p in params)
        else None,
        "split_digest": entries[0].get("split_digest"),
        "classes": classes,
        "predictions": [
            [u, labels[i], classes[int(pred_idx[i])], [round(float(p), PROB_DECIMALS) for p in probs[i]]]
            for i, u in enumerate(ids)
        ],
    }
