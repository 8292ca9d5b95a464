"""``serkit train``: train an experiment config on one fold or every fold of a split."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from serkit.cli._common import console, guard

INTERRUPTED = (
    "finished folds and epochs were kept; run the same command with --resume to continue where it stopped."
)


def train(
    config_path: Path = typer.Argument(..., metavar="CONFIG", help="Experiment YAML (see configs/)."),
    overrides: list[str] = typer.Argument(
        None, metavar="[KEY=VALUE]...", help="Config overrides, e.g. optim.lr=1e-4 variant=budget."
    ),
    split: Path = typer.Option(None, "--split", help="Split file (sets data.split)."),
    fold: str = typer.Option(None, "--fold", help="Fold name, or 'all' (default: data.fold, i.e. all)."),
    out_dir: Path = typer.Option(None, "--out", "-o", help="Run folder (default: runs/<config name>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue a half-trained fold from its last epoch."),
    device: str = typer.Option(None, "--device", help="cpu | cuda | auto (sets train.device)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Train CONFIG on the folds of its split; write checkpoints, per-fold metrics and a summary.

    Folds whose results already exist in the run folder for the same configuration are skipped, so the same command continues an interrupted run; add --resume to also continue a half-trained fold from its last finished epoch (the result equals an uninterrupted run). Example: `serkit train configs/drsn_bigru.yaml data.manifest=ravdess.csv --split ravdess-2fold.json variant=budget`.
    """
    from serkit.train.config import load_config
    from serkit.train.data import load_split
    from serkit.train.run import train_folds

    extra = list(overrides or [])
    if split is not None:
        extra.append(f"data.split={split}")
    if device is not None:
        extra.append(f"train.device={device}")
    with guard(INTERRUPTED):
        config = load_config(config_path, extra)
        load_split(config.data.split)  # a missing or malformed split file fails before anything starts
        folds = fold or config.data.fold
        run_dir = out_dir or Path("runs") / (config.name or config_path.stem)
        if not quiet:
            console.print(
                f"training {config.model.name} ({config.variant}) -> {run_dir}, folds: {folds}",
                highlight=False,
            )

        def report(name: str, result: dict, skipped: bool) -> None:
            test = result["test"]
            if result.get("selection") == "inner-cv":
                how = f"hyperparameters by inner CV: {result.get('best_params')}"
            elif result.get("selection") == "fixed":
                how = f"fixed hyperparameters: {result.get('best_params')}"
            else:
                how = f"best epoch {result.get('best_epoch')} of {result.get('epochs_run', 0)}"
            console.print(
                f"fold {name}: test UA {_pct(test['ua'])} WA {_pct(test['wa'])} F1 {_pct(test['macro_f1'])} "
                f"({how}{', done before, skipped' if skipped else ''})",
                highlight=False,
            )

        summary = train_folds(config, folds, run_dir, resume=resume, quiet=quiet, on_fold=report)
    console.print(
        f"{summary['n_folds_done']}/{summary['n_folds']} fold(s): mean test UA {_pct(summary['mean_ua'])} "
        f"(std {_pct(summary['std_ua'])}), WA {_pct(summary['mean_wa'])}, macro-F1 "
        f"{_pct(summary['mean_macro_f1'])}; results in {run_dir}",
        highlight=False,
    )


def _pct(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"
