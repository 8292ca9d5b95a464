"""``serkit report``: Markdown + self-contained HTML + results JSON for a training run folder."""

from __future__ import annotations

from pathlib import Path

import typer

from serkit.cli._common import console, guard

INTERRUPTED = "files already written are whole (each is written atomically); run the same command again."


def report(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="Run folder of `serkit train -o RUN_DIR`."),
    out_dir: Path = typer.Option(None, "--out", "-o", help="Output folder (default: RUN_DIR/report)."),
    compare: Path = typer.Option(
        None,
        "--compare",
        help="Another run folder of the same split: add paired tests (permutation, McNemar).",
    ),
    title: str = typer.Option(None, "--title", help="Page title (default: experiment, model and protocol)."),
    n_resamples: int = typer.Option(10000, "--resamples", help="Resamples of the paired permutation test."),
    seed: int = typer.Option(0, "--seed", help="Seed of the permutation test."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
) -> None:
    """Write report.md, report.html (one file, figures embedded) and results.json for RUN_DIR.

    The report states the protocol, speaker independence, any transductive step, the split file and digest, the configuration, pooled and per-fold UA/WA/macro-F1 (mean ± std), per-class metrics, the confusion matrix, learning curves, the command that reproduces the run and the commit. Example: `serkit report runs/drsn_bigru --compare runs/egemaps_svm`.
    """
    from serkit.evaluate.report import report_command, write_report

    made_with = report_command(run_dir, out_dir, compare, title)
    if n_resamples != 10000:
        made_with += f" --resamples {n_resamples}"
    if seed != 0:
        made_with += f" --seed {seed}"
    with guard(INTERRUPTED):
        if n_resamples < 1:
            from serkit.errors import ParameterError

            raise ParameterError(f"The --resamples option must be an int >= 1. Got {n_resamples} instead.")
        paths = write_report(
            run_dir,
            out_dir,
            compare=compare,
            title=title,
            n_resamples=n_resamples,
            seed=seed,
            command=made_with,
        )
    if not quiet:
        console.print(
            f"report written: {paths['markdown']}, {paths['html']}, {paths['results']}", highlight=False
        )
