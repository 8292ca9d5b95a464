"""Read a ``serkit train`` run folder, evaluate it, and compare two runs of the same split.

A run folder (see :mod:`serkit.train.run`) holds ``config.yaml``, ``summary.json`` and one folder per fold with
``metrics.json`` (format ``serkit-fold-result``: test predictions with class probabilities) and ``log.jsonl``.
Only finished folds (those with ``metrics.json``) are read; a half-trained fold is invisible here, as it is
to ``serkit train``'s resume. An ensemble folder (:func:`serkit.evaluate.average_runs`) has the same layout
with ``ensemble.json`` in place of ``config.yaml``.

Numbers are recomputed from the stored predictions with :func:`~serkit.evaluate.metrics.classification_metrics`
(the definitions the training loop uses), so they equal ``summary.json``'s; the standard deviation over
folds is the population one (``ddof=0``), as in ``summary.json``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from serkit.errors import ParameterError

__all__ = ["RunResult", "compare_runs", "evaluate_run", "load_run"]

FOLD_FORMAT = "serkit-fold-result"
RESULTS_FORMAT = "serkit-results"
COMPARISON_FORMAT = "serkit-comparison"
_DIGEST_LINE = re.compile(r"#\s*serkit resolved config, digest\s+([0-9a-f]+)")


@dataclass
class RunResult:
    """Everything a finished (or partly finished) run folder holds, in memory.

    Attributes
    ----------
    path : Path
    config : dict
        ``config.yaml`` as plain data (empty for an ensemble folder).
    classes : list of str
        The label order of every fold (the ``p_<class>`` columns follow it).
    folds : dict
        Fold name -> the fold's ``metrics.json`` content, in natural order (fold-2 before fold-10).
    predictions : pandas.DataFrame
        One row per test utterance of every finished fold: ``fold``, ``id``, ``speaker``, ``label`` (None
        when the utterance has no label in the label set), ``pred``, ``p_<class>`` per class, and ``score`` /
        ``true_score`` when the model has a regression head.
    logs : dict
        Fold name -> list of per-epoch records from ``log.jsonl`` (empty for classic learners).
    summary : dict or None
        ``summary.json`` when present (its ``n_folds`` is the number of folds the run was started for).
    ensemble : dict or None
        ``ensemble.json`` of an ensemble folder.
    config_text : str
        ``config.yaml`` as written (for reports).
    """

    path: Path
    config: dict[str, Any]
    classes: list[str]
    folds: dict[str, dict[str, Any]]
    predictions: Any
    logs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    summary: dict[str, Any] | None = None
    ensemble: dict[str, Any] | None = None
    config_text: str = ""

    def first(self, key: str, default: Any = None) -> Any:
        """``key`` of the first fold's metrics (the run-level facts every fold shares)."""
        for result in self.folds.values():
            return result.get(key, default)
        return default


def _natural(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParameterError(f"Cannot read the {what} {path}: {exc}.") from None


def read_log(path: Path) -> list[dict[str, Any]]:
    """The per-epoch records of a fold's ``log.jsonl`` (empty when there is none; a line cut by a kill is
    skipped)."""
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a kill mid-write: the epochs before it are still good
        if isinstance(record, dict):
            records.append(record)
    return records


def _config(run: Path) -> tuple[dict[str, Any], str, str | None]:
    import yaml

    path = run / "config.yaml"
    if not path.is_file():
        return {}, "", None
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(f"Cannot read the run configuration {path}: {exc}".splitlines()[0]) from None
    match = _DIGEST_LINE.search(text.splitlines()[0]) if text else None
    return (data if isinstance(data, dict) else {}), text, (match.group(1) if match else None)


def load_run(run_dir: str | Path) -> RunResult:
    """Read the finished folds of a run folder.

    Parameters
    ----------
    run_dir : path
        A folder written by ``serkit train -o RUN_DIR`` (or by :func:`~serkit.evaluate.average_runs`).

    Returns
    -------
    RunResult

    Raises
    ------
    ParameterError
        The folder is missing or not a folder, has no finished fold, a ``metrics.json`` is unreadable or
        of another format, or the folds disagree on the split, the classes or the configuration.
    """
    import pandas as pd

    run = Path(run_dir)
    if not run.exists():
        raise ParameterError(f"The run folder {run} does not exist.")
    if not run.is_dir():
        raise ParameterError(f"The run folder {run} is not a folder; give the -o folder of `serkit train`.")
    config, config_text, digest = _config(run)
    folds: dict[str, dict[str, Any]] = {}
    logs: dict[str, list[dict[str, Any]]] = {}
    for metrics_path in sorted(run.glob("*/metrics.json"), key=lambda p: _natural(p.parent.name)):
        result = _read_json(metrics_path, "fold result")
        if not isinstance(result, dict) or result.get("format") != FOLD_FORMAT:
            raise ParameterError(
                f"{metrics_path} is not a serkit fold result (format {FOLD_FORMAT!r}); remove it or give "
                "another run folder."
            )
        if digest and result.get("config_digest") != digest:
            raise ParameterError(
                f"{metrics_path} was trained with configuration {result.get('config_digest')}, but "
                f"{run / 'config.yaml'} is {digest}: the folder mixes two runs. Move that fold away."
            )
        name = str(result.get("fold", metrics_path.parent.name))
        if name in folds:
            raise ParameterError(f"Fold {name!r} appears twice in {run} (second: {metrics_path}).")
        folds[name] = result
        logs[name] = read_log(metrics_path.parent / "log.jsonl")
    if not folds:
        raise ParameterError(
            f"The run folder {run} has no finished fold (no <fold>/metrics.json); train into it with "
            f"`serkit train CONFIG -o {run}` first."
        )
    first_name, first = next(iter(folds.items()))
    classes = list(first.get("classes") or [])
    for name, result in folds.items():
        if result.get("split_digest") != first.get("split_digest"):
            raise ParameterError(
                f"Folds {first_name!r} and {name!r} of {run} come from different split files (digests "
                f"{first.get('split_digest')} and {result.get('split_digest')})."
            )
        if list(result.get("classes") or []) != classes:
            raise ParameterError(
                f"Folds {first_name!r} and {name!r} of {run} have different classes "
                f"({classes} and {result.get('classes')})."
            )
    rows = []
    for name, result in folds.items():
        for row in result.get("predictions") or []:
            probs = row.get("probs") or [math.nan] * len(classes)
            entry: dict[str, Any] = {
                "fold": name,
                "id": str(row["id"]),
                "speaker": row.get("speaker"),
                "label": row.get("label"),
                "pred": row.get("pred"),
            }
            entry.update({f"p_{c}": float(p) for c, p in zip(classes, probs, strict=False)})
            for key in ("score", "true_score"):
                if key in row:
                    entry[key] = row[key]
            rows.append(entry)
    columns = ["fold", "id", "speaker", "label", "pred", *(f"p_{c}" for c in classes)]
    predictions = pd.DataFrame(rows, columns=list(dict.fromkeys([*columns, *(k for r in rows for k in r)])))
    summary_path = run / "summary.json"
    summary = _read_json(summary_path, "run summary") if summary_path.is_file() else None
    ensemble_path = run / "ensemble.json"
    ensemble = _read_json(ensemble_path, "ensemble description") if ensemble_path.is_file() else None
    return RunResult(
        path=run,
        config=config,
        classes=classes,
        folds=folds,
        predictions=predictions,
        logs=logs,
        summary=summary if isinstance(summary, dict) else None,
        ensemble=ensemble if isinstance(ensemble, dict) else None,
        config_text=config_text,
    )


def _labelled(frame: Any) -> Any:
    return frame[frame["label"].notna()]


def _fold_stats(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.nan, math.nan
    return float(np.mean(finite)), float(np.std(finite))


def _sum(values: list[Any]) -> float | None:
    nums = [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]
    return float(sum(nums)) if nums else None


def evaluate_run(run_dir: str | Path | RunResult) -> dict[str, Any]:
    """Pooled and per-fold metrics of a run folder, with the facts a result must cite.

    Parameters
    ----------
    run_dir : path or RunResult

    Returns
    -------
    dict
        Format ``serkit-results``: ``run``, ``experiment``, ``variant``, ``model``, ``protocol``,
        ``speaker_independent``, ``transductive`` (true when any fold used a transductive step),
        ``split`` (the split file of the config, when known), ``split_digest``, ``config_digest``,
        ``classes``, ``n_folds`` (finished), ``n_folds_planned`` (from ``summary.json``), ``complete``,
        ``n`` (labelled test utterances), ``pooled`` (:func:`classification_metrics` over every test
        utterance of every fold), ``per_fold`` ({fold: {ua, wa, macro_f1, n, test_speakers}}),
        ``mean_ua``/``std_ua``, ``mean_wa``/``std_wa``, ``mean_macro_f1``/``std_macro_f1`` (over folds,
        ddof=0), ``regression`` (:func:`regression_metrics` pooled, when predictions carry scores),
        ``seeds``, ``commit`` (first fold's) and ``commits`` (all distinct), ``train_seconds`` (sum of the
        folds' ``seconds_total``), ``fit_seconds``, ``n_parameters``.

    Raises
    ------
    ParameterError
        As :func:`load_run`.
    """
    from serkit.evaluate.metrics import classification_metrics, regression_metrics

    run = run_dir if isinstance(run_dir, RunResult) else load_run(run_dir)
    preds = _labelled(run.predictions)
    pooled = classification_metrics(preds["label"].tolist(), preds["pred"].tolist(), classes=run.classes)
    per_fold: dict[str, dict[str, Any]] = {}
    for name, result in run.folds.items():
        rows = preds[preds["fold"] == name]
        m = classification_metrics(rows["label"].tolist(), rows["pred"].tolist(), classes=run.classes)
        per_fold[name] = {
            "ua": m["ua"],
            "wa": m["wa"],
            "macro_f1": m["macro_f1"],
            "n": m["n"],
            "test_speakers": list(result.get("test_speakers") or []),
            "best_epoch": result.get("best_epoch"),
            "epochs_run": result.get("epochs_run"),
        }
    out: dict[str, Any] = {
        "format": RESULTS_FORMAT,
        "run": str(run.path),
        "experiment": run.first("experiment"),
        "variant": run.first("variant"),
        "model": run.first("model"),
        "protocol": run.first("protocol"),
        "speaker_independent": run.first("speaker_independent"),
        "transductive": any(bool(r.get("transductive")) for r in run.folds.values()),
        "split": (run.config.get("data") or {}).get("split") if run.config else None,
        "split_digest": run.first("split_digest"),
        "config_digest": run.first("config_digest"),
        "classes": list(run.classes),
        "n_folds": len(run.folds),
        "n_folds_planned": (run.summary or {}).get("n_folds", len(run.folds)),
        "n": pooled["n"],
        "pooled": pooled,
        "per_fold": per_fold,
    }
    out["complete"] = out["n_folds"] >= (out["n_folds_planned"] or 0)
    for key in ("ua", "wa", "macro_f1"):
        mean, std = _fold_stats([f[key] for f in per_fold.values()])
        out[f"mean_{key}"] = mean
        out[f"std_{key}"] = std
    if "score" in preds and "true_score" in preds:
        scored = preds[preds["score"].notna() & preds["true_score"].notna()]
        if len(scored):
            out["regression"] = regression_metrics(
                scored["true_score"].to_numpy(), scored["score"].to_numpy()
            )
    commits = [r.get("commit") for r in run.folds.values()]
    out["seeds"] = sorted({r.get("seed") for r in run.folds.values() if r.get("seed") is not None})
    out["commit"] = commits[0]
    out["commits"] = sorted({c for c in commits if c})
    out["train_seconds"] = _sum([r.get("seconds_total") for r in run.folds.values()])
    out["fit_seconds"] = _sum([r.get("fit_seconds") for r in run.folds.values()])
    params = [r.get("n_parameters") for r in run.folds.values() if r.get("n_parameters") is not None]
    out["n_parameters"] = int(params[0]) if params else None
    return out


def compare_runs(
    run_a: str | Path | RunResult,
    run_b: str | Path | RunResult,
    *,
    statistic: str = "ua",
    n_resamples: int = 10000,
    seed: int = 0,
    allow_partial: bool = False,
) -> dict[str, Any]:
    """Paired tests of two runs on the same test utterances (same split file), pooled over folds.

    Predictions are aligned by (fold, utterance id). The permutation test swaps the two runs' predictions per
    utterance and recomputes pooled ``statistic``; McNemar compares per-utterance correctness.

    Parameters
    ----------
    run_a, run_b : path or RunResult
    statistic : {"ua", "accuracy"}
    n_resamples, seed : int
        Of :func:`~serkit.evaluate.compare.paired_permutation_test`.
    allow_partial : bool
        Compare on the folds both runs have finished (default: both must have finished the same folds).

    Returns
    -------
    dict
        Format ``serkit-comparison``: ``a`` and ``b`` (run paths), ``split_digest``, ``folds``, ``n``,
        ``a_metrics`` / ``b_metrics`` (pooled ua, wa, macro_f1 on the compared utterances), ``permutation``
        (:func:`paired_permutation_test`) and ``mcnemar`` (:func:`mcnemar_test`).

    Raises
    ------
    ParameterError
        Different split digests or classes, different finished folds (unless ``allow_partial``), no common
        fold, or a fold whose test utterances differ.
    """
    from serkit.evaluate.compare import mcnemar_test, paired_permutation_test
    from serkit.evaluate.metrics import classification_metrics

    a = run_a if isinstance(run_a, RunResult) else load_run(run_a)
    b = run_b if isinstance(run_b, RunResult) else load_run(run_b)
    da, db = a.first("split_digest"), b.first("split_digest")
    if da != db:
        raise ParameterError(
            f"{a.path} and {b.path} were not evaluated on the same split (split digests {da} and {db}); a "
            "paired test needs the same test utterances."
        )
    if sorted(a.classes) != sorted(b.classes):
        raise ParameterError(f"{a.path} has classes {a.classes} but {b.path} has {b.classes}.")
    only_a = [f for f in a.folds if f not in b.folds]
    only_b = [f for f in b.folds if f not in a.folds]
    if (only_a or only_b) and not allow_partial:
        raise ParameterError(
            f"The runs have not finished the same folds ({a.path} only: {only_a or 'none'}; {b.path} only: "
            f"{only_b or 'none'}). Finish both, or compare the common folds with allow_partial=True."
        )
    folds = [f for f in a.folds if f in b.folds]
    if not folds:
        raise ParameterError(f"{a.path} and {b.path} have no finished fold in common.")
    pa = _labelled(a.predictions)
    pb = _labelled(b.predictions)
    pa = pa[pa["fold"].isin(folds)]
    pb = pb[pb["fold"].isin(folds)]
    for fold in folds:
        ia = set(pa.loc[pa["fold"] == fold, "id"])
        ib = set(pb.loc[pb["fold"] == fold, "id"])
        if ia != ib:
            extra = sorted(ia ^ ib)
            raise ParameterError(
                f"Fold {fold!r} tests different utterances in {a.path} and {b.path} ({len(extra)} differ, "
                f"e.g. {extra[0]!r}); a paired test needs the same test utterances."
            )
    merged = pa[["fold", "id", "label", "pred"]].merge(
        pb[["fold", "id", "label", "pred"]], on=["fold", "id"], suffixes=("_a", "_b"), validate="one_to_one"
    )
    if not (merged["label_a"] == merged["label_b"]).all():
        uid = merged.loc[merged["label_a"] != merged["label_b"], "id"].iloc[0]
        raise ParameterError(f"Utterance {uid!r} has different true labels in {a.path} and {b.path}.")
    y = merged["label_a"].tolist()
    ya, yb = merged["pred_a"].tolist(), merged["pred_b"].tolist()
    classes = list(a.classes)

    def short(pred: list[Any]) -> dict[str, Any]:
        m = classification_metrics(y, pred, classes=classes)
        return {k: m[k] for k in ("ua", "wa", "macro_f1", "n")}

    return {
        "format": COMPARISON_FORMAT,
        "a": str(a.path),
        "b": str(b.path),
        "a_model": a.first("model"),
        "b_model": b.first("model"),
        "split_digest": da,
        "protocol": a.first("protocol"),
        "folds": folds,
        "n": len(merged),
        "a_metrics": short(ya),
        "b_metrics": short(yb),
        "permutation": paired_permutation_test(
            y, ya, yb, classes=classes, statistic=statistic, n_resamples=n_resamples, seed=seed
        ),
        "mcnemar": mcnemar_test(y, ya, yb),
    }
