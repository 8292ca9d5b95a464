"""Shared CLI plumbing: error display, progress bars, key=value options."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from serkit.errors import SerkitError

# Off a terminal (pipes, CI logs) rich would wrap tables at 80 columns; use the terminal size or 160.
console = Console(stderr=True, width=shutil.get_terminal_size((160, 24)).columns, soft_wrap=True)
out = Console(width=shutil.get_terminal_size((160, 24)).columns)


def run_app(app: typer.Typer) -> None:
    """Run ``app``, turning serkit errors into one clear line and exit code 2 (no traceback)."""
    try:
        app(standalone_mode=True)
    except SerkitError as exc:  # raised outside a command body (rare)
        console.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        sys.exit(2)


def fail(exc: Exception) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}", highlight=False)
    return typer.Exit(code=2)


@contextmanager
def guard() -> Iterator[None]:
    """Print a SerkitError as a one-line message and exit 2; Ctrl-C exits 130 with a note."""
    try:
        yield
    except SerkitError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/yellow]: finished work was kept; run the same command to resume.")
        raise typer.Exit(code=130) from None


def make_progress(quiet: bool = False) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=quiet,
        transient=False,
    )


def tracked(iterable: Iterable, *, total: int, description: str, quiet: bool = False) -> Iterator:
    """Iterate with a progress bar on stderr."""
    with make_progress(quiet) as progress:
        task = progress.add_task(description, total=total)
        for item in iterable:
            yield item
            progress.advance(task)


def parse_options(pairs: list[str] | None) -> dict[str, object]:
    """``["key=value", ...]`` -> dict; values are parsed as int, float, bool or kept as text."""
    options: dict[str, object] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise typer.BadParameter(f"expected key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        parsed: object = value
        for cast in (int, float):
            try:
                parsed = cast(value)
                break
            except ValueError:
                continue
        if value.lower() in ("true", "false"):
            parsed = value.lower() == "true"
        options[key.strip().replace("-", "_")] = parsed
    return options
