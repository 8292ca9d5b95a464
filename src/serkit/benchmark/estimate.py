"""How long the pending jobs of a plan will train, from the folds the result files already hold.

A pending job's estimate is, in order of trust:

1. ``measured``: the mean CPU training seconds of the finished folds of the same row (protocol, corpus,
   system), whatever their configuration;
2. ``epoch timing``: for a row with no finished fold but epochs logged in the work folder (a fold in
   progress, or stopped), the mean seconds of those epochs times the epochs the system's finished folds ran
   (their mean, over every corpus; else the configuration's ``train.epochs``);
3. ``cost hint``: the job's cost hint (``cost`` × hours of audio it trains on) times seconds per cost unit,
   the median of that ratio over the same system's measured rows, else over every measured row. Measured
   rows are the plan's and, where the work folder holds the manifests to cost them, the results folder's
   other rows (so ``--dry-run --systems X --corpora Y`` is calibrated by X's rows on other corpora).

Folds trained on a GPU are left out: their seconds say nothing of a CPU's. Times are training seconds of one
job on the threads it ran with (results record them per fold); with ``--workers N`` the wall time is about
the total over N. A job with no measured CPU fold anywhere in the plan has no estimate (``None``).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serkit.benchmark import results as R
from serkit.benchmark.runner import Job, Plan, audio_hours, cost_hint, run_dir_current
from serkit.errors import SerkitError
from serkit.evaluate.runs import read_log

__all__ = ["Estimate", "cheapest_first", "estimate", "summary"]


@dataclass(frozen=True)
class Estimate:
    """Seconds of one pending job, and how they were reached (``measured``, ``epoch timing``, ``cost hint``
    or ``none``)."""

    seconds: float | None
    source: str


def _cpu_folds(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        e
        for seed in doc.get("runs", {}).values()
        for e in seed.values()
        if isinstance(e.get("train_seconds"), int | float)
        and e["train_seconds"] > 0
        and not str(e.get("device", "cpu")).startswith("cuda")
    ]


def _epoch_seconds(job: Job) -> float | None:
    """Mean seconds of the epochs logged in the job's seed run folder (every fold of its row, this
    configuration only); None where none is logged."""
    if not run_dir_current(job):
        return None
    seconds = [
        float(record["seconds"])
        for log in sorted(Path(job.run_dir).glob("*/log.jsonl"))
        for record in read_log(log)
        if "epoch" in record and isinstance(record.get("seconds"), int | float)
    ]
    return statistics.fmean(seconds) if seconds else None


def _epochs(job: Job, ran: Mapping[str, list[float]]) -> float | None:
    if ran.get(job.system):
        return statistics.fmean(ran[job.system])
    epochs = job.config.get("train", {}).get("epochs") if isinstance(job.config, Mapping) else None
    return float(epochs) if isinstance(epochs, int | float) and epochs > 0 else None


def _costs_outside(plan: Plan, known: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], float]:
    """Cost hints of the results folder's rows outside the plan, for those whose system is in the definition
    and whose corpora have a manifest in the work folder (an earlier run prepared it)."""
    from serkit.data.manifest import read_manifest

    spec = plan.spec
    if spec is None:
        return {}
    hours: dict[str, float | None] = {}

    def has_hours(corpus: str) -> bool:
        if corpus not in hours:
            try:
                hours[corpus] = audio_hours(read_manifest(plan.work / "manifests" / f"{corpus}.csv"))
            except (OSError, ValueError, KeyError, SerkitError):  # no usable manifest: the row stays uncosted
                hours[corpus] = None
        return hours[corpus] is not None

    out = {}
    for path in sorted(plan.results.glob("*/*/*.json")):
        key = (path.parent.parent.name, path.parent.name, path.stem)
        system = spec.systems.get(key[2])
        if key in known or system is None or not system.trained:
            continue
        if all(has_hours(c) for c in (key[1], *spec.extra_corpora(key[2], key[1]))):
            out[key] = cost_hint(spec, key[2], key[1], {c: h for c, h in hours.items() if h is not None})
    return out


def estimate(plan: Plan) -> list[Estimate]:
    """An :class:`Estimate` for every pending job of ``plan``, in the order of ``plan.pending``."""
    rows: dict[tuple[str, str, str], Job] = {}
    for job in [*plan.finished, *plan.pending]:
        rows.setdefault((job.protocol, job.corpus, job.system), job)
    costs = {key: job.cost for key, job in rows.items()}
    costs.update(_costs_outside(plan, set(rows)))
    measured: dict[tuple[str, str, str], float] = {}
    per_cost: dict[str, list[float]] = {}
    ran: dict[str, list[float]] = {}  # epochs run by each system's measured folds
    for key, cost in costs.items():
        folds = _cpu_folds(R.read_result(R.result_path(plan.results, *key)) or {})
        if folds:
            measured[key] = statistics.fmean(float(e["train_seconds"]) for e in folds)
            per_cost.setdefault(key[2], []).append(measured[key] / cost)
            ran.setdefault(key[2], []).extend(
                float(e["epochs_run"]) for e in folds if isinstance(e.get("epochs_run"), int | float)
            )
    every = [r for ratios in per_cost.values() for r in ratios]
    per_epoch: dict[tuple[str, str, str], float | None] = {}
    out = []
    for job in plan.pending:
        key = (job.protocol, job.corpus, job.system)
        if key not in measured and key not in per_epoch:
            per_epoch[key] = _epoch_seconds(job)
        epochs = _epochs(job, ran) if per_epoch.get(key) is not None else None
        if key in measured:
            out.append(Estimate(measured[key], "measured"))
        elif epochs is not None:
            out.append(Estimate(per_epoch[key] * epochs, "epoch timing"))
        elif per_cost.get(job.system) or every:
            out.append(Estimate(job.cost * statistics.median(per_cost.get(job.system) or every), "cost hint"))
        else:
            out.append(Estimate(None, "none"))
    return out


def cheapest_first(plan: Plan) -> list[Estimate]:
    """Reorder ``plan.pending`` by estimated seconds, shortest first (the cost hints' order breaks ties and
    stands where nothing is measured), so that cheap rows finish early; returns the estimates in the new
    order."""
    estimates = estimate(plan)
    order = sorted(
        range(len(estimates)), key=lambda i: (estimates[i].seconds or 0.0, i)
    )  # stable: a row's folds stay together
    plan.pending[:] = [plan.pending[i] for i in order]
    return [estimates[i] for i in order]


def summary(estimates: list[Estimate], workers: int) -> str:
    """One line: the estimated training time of the pending jobs, in all and over ``workers``."""
    known = [e.seconds for e in estimates if e.seconds is not None]
    counts = {
        k: sum(e.source == k for e in estimates) for k in ("measured", "epoch timing", "cost hint", "none")
    }
    total = sum(known)
    sources = [f"{counts['measured']} from the same row's measured folds"]
    if counts["epoch timing"]:
        sources.append(f"{counts['epoch timing']} from the row's logged epochs")
    sources.append(f"{counts['cost hint']} from cost hints")
    if counts["none"]:
        sources.append(f"{counts['none']} without an estimate")
    return (
        f"estimated training time of the pending jobs: {format_seconds(total)} for one worker, about "
        f"{format_seconds(total / max(1, workers))} with {workers} worker(s) ({', '.join(sources)})"
    )


def format_seconds(s: float | None) -> str:
    """``42 s``, ``12.5 min``, ``3.1 h``; ``?`` for no estimate."""
    if s is None:
        return "?"
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"
