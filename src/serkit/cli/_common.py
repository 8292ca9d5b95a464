"""Shared CLI plumbing: error display, progress bars, key=value options."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

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

from serkit.errors import ParameterError, SerkitError

# Off a terminal (pipes, CI logs) rich would wrap tables at 80 columns; use the terminal size or 160.
console = Console(stderr=True, width=shutil.get_terminal_size((160, 24)).columns, soft_wrap=True)
out = Console(width=shutil.get_terminal_size((160, 24)).columns, soft_wrap=True)


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


#: What :func:`guard` says on Ctrl-C by default: for commands that keep finished work and resume.
RESUME_NOTE = "finished work was kept; run the same command to resume."
#: For commands that write their output only at the end (nothing to resume).
NOTHING_WRITTEN_NOTE = "nothing was written; run the same command to start again."


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill PID``, a job scheduler's stop), raised like Ctrl-C so the work stops the same clean way.

    A subclass of KeyboardInterrupt: worker pools are terminated, partial files are discarded, and
    finished work stays on disk, as on Ctrl-C. Without it SIGTERM would end the parent at once and leave
    its worker processes running.
    """


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


@contextmanager
def guard(interrupted: str = RESUME_NOTE) -> Iterator[None]:
    """Print a SerkitError as a one-line message and exit 2; Ctrl-C exits 130, SIGTERM 143, with ``interrupted``.

    ``interrupted`` must say what actually happens to the command's work (:data:`RESUME_NOTE` for
    commands that resume, :data:`NOTHING_WRITTEN_NOTE` for those that write only at the end).
    """
    # signal handlers can only be set from the main thread (a command run inside a thread keeps SIGTERM's default)
    catch_term = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if catch_term else None
    try:
        yield
    except SerkitError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt as exc:
        how = "terminated" if isinstance(exc, Terminated) else "interrupted"
        console.print(f"[yellow]{how}[/yellow]: {interrupted}", highlight=False)
        raise typer.Exit(code=143 if isinstance(exc, Terminated) else 130) from None
    finally:
        if catch_term:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def check_workers(workers: int | None, option: str = "--workers/-j") -> None:
    """A process count from the command line: None (default) or an int >= 1."""
    if workers is not None and workers < 1:
        raise ParameterError(
            f"The {option} option must be an int >= 1 (the number of processes). Got {workers} instead; "
            "leave it out to use the available cores."
        )


def check_output_file(
    path: Path, *, what: str, suffixes: Sequence[str] | None = None, example: str = "out", option: str = "-o"
) -> None:
    """Refuse, before any work starts, an output path that cannot be written as a file.

    Checks that ``path`` is not a folder or other non-file, its suffix (when ``suffixes`` is given),
    and that the nearest existing ancestor is a writable folder (in ``m.csv/x.json`` it is not).
    ``example`` is the file name suggested inside a folder given by mistake.

    Raises
    ------
    ParameterError
        Naming the path, what is wrong, and what to give instead.
    """
    if path.is_dir():
        raise ParameterError(
            f"The {what} path {path} ({option}) is an existing folder; give a file name, e.g. {path / example}."
        )
    if path.exists() and not path.is_file():
        raise ParameterError(
            f"The {what} path {path} ({option}) exists and is not a regular file; choose another path."
        )
    if suffixes and path.suffix not in suffixes:
        raise ParameterError(
            f"The {what} path {path} ({option}) must end in {', '.join(suffixes)}; got "
            f"{path.suffix or 'no suffix'!r}."
        )
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ParameterError(
            f"Cannot write the {what} {path}: {parent} is a file, not a folder. Choose another {option} path."
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ParameterError(
            f"Cannot write the {what} {path}: the folder {parent} is not writable. Choose another {option} "
            "path."
        )


@contextmanager
def writing(path: Path, what: str) -> Iterator[None]:
    """Turn an OSError while writing ``path`` into a one-line SerkitError naming it."""
    try:
        yield
    except OSError as exc:
        raise SerkitError(f"Cannot write the {what} {path}: {exc.strerror or exc}.") from exc


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
