"""The ``serkit`` command-line tool (typer): ``serkit predict``, ``data ...``, ``features ...``, ``models ...``,
``train``, ``report``, ``benchmark``, ``export``."""

from __future__ import annotations

import typer

from serkit import __version__
from serkit.cli.benchmark import benchmark as benchmark_command
from serkit.cli.data import app as data_app
from serkit.cli.export import export as export_command
from serkit.cli.features import app as features_app
from serkit.cli.models import app as models_app
from serkit.cli.predict import predict as predict_command
from serkit.cli.report import report as report_command
from serkit.cli.train import train as train_command

app = typer.Typer(
    name="serkit",
    help="Speech emotion recognition toolkit: corpora, speaker-independent splits, feature frontends, models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("predict")(predict_command)
app.add_typer(data_app, name="data")
app.add_typer(features_app, name="features")
app.add_typer(models_app, name="models")
app.command("train")(train_command)
app.command("report")(report_command)
app.command("export")(export_command)
app.command("benchmark")(benchmark_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"serkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Speech emotion recognition toolkit."""


def main() -> None:
    """Entry point of the ``serkit`` console script."""
    from serkit.cli._common import run_app

    run_app(app)


__all__ = ["app", "main"]
