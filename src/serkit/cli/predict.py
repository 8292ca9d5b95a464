"""``serkit predict``: the emotion of audio files, folders or globs with a shipped or trained model.

Output is a table (default), JSON lines (``--json``: one object per file) or CSV (``--csv``), on stdout or
into ``--output FILE``. With an existing output file of the same format, the files already in it are
skipped and new results appended, so an interrupted folder run resumes where it stopped (a line cut
short by the interruption is dropped first). A file that cannot be decoded gives an error entry
(``{"path": ..., "error": ...}``) and the run goes on.

Exit codes: 0 every file was predicted; 1 some files failed (their error entries are in the output);
2 bad arguments (no PATH, unknown model or label, an output file of another format); 130 interrupted
(Ctrl-C), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
from pathlib import Path
from typing import Any

import typer

from serkit.cli._common import console, guard, make_progress
from serkit.errors import ParameterError, SerkitError

INTERRUPTED = "results written so far are kept; run the same command with the same --output to resume."
_JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
_GLOB_CHARS = set("*?[")


# ---------------------------------------------------------------------------------------------
# Finding files


def expand_paths(paths: list[str], *, recursive: bool = True) -> tuple[list[str], list[dict[str, str]]]:
    """Audio files named by ``paths`` (files, folders, globs), in order without repeats, and error entries
    for names that match nothing.

    Folders contribute the audio files below them (by extension, :data:`serkit.audio.AUDIO_EXTENSIONS`;
    recursively unless ``recursive`` is False); files named directly are kept whatever their extension
    (a bad one gets an error entry when it is read).
    """
    from serkit.data.corpora.base import find_audio

    files: list[str] = []
    errors: list[dict[str, str]] = []
    seen: set[str] = set()

    def add(p: str) -> None:
        if p not in seen:
            seen.add(p)
            files.append(p)

    def add_folder(folder: Path) -> None:
        for f in find_audio(folder, "**/*" if recursive else "*"):
            add(str(f))

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            add_folder(path)
        elif os.path.lexists(raw):
            add(raw)
        elif _GLOB_CHARS & set(raw):
            matches = sorted(glob.glob(raw, recursive=recursive))
            if not matches:
                errors.append({"path": raw, "error": "no file matches this pattern."})
            for m in matches:
                if Path(m).is_dir():
                    add_folder(Path(m))
                else:
                    add(m)
        else:
            errors.append({"path": raw, "error": "the file does not exist."})
    return files, errors


# ---------------------------------------------------------------------------------------------
# Output formats


def _format_of(as_json: bool, as_csv: bool, output: Path | None) -> str:
    if as_json and as_csv:
        raise ParameterError("Choose one of --json and --csv.")
    if as_json:
        return "json"
    if as_csv:
        return "csv"
    if output is not None:
        suffix = output.suffix.lower()
        if suffix in _JSON_SUFFIXES:
            return "json"
        if suffix == ".csv":
            return "csv"
        raise ParameterError(
            f"Cannot tell the format of --output {output} from its suffix; add --json or --csv, or name a "
            ".jsonl or .csv file."
        )
    return "table"


def _csv_header(labels: list[str], timeline: bool) -> list[str]:
    probs = [f"p_{c}" for c in labels]
    if timeline:
        return ["path", "start_s", "end_s", "label", *probs, "error"]
    return ["path", "label", "duration_s", "uncertain", *probs, "error"]


def _csv_rows(entry: dict[str, Any], labels: list[str], timeline: bool) -> list[list[Any]]:
    n = len(labels)
    if "error" in entry:
        blanks = [""] * (n + 3)
        return [[entry["path"], *blanks, entry["error"]]]
    if timeline:
        return [
            [
                entry["path"],
                s["start"],
                s["end"],
                s["label"],
                *(round(s["probabilities"][c], 6) for c in labels),
                "",
            ]
            for s in entry["timeline"]["segments"]
        ]
    p = entry["probabilities"]
    return [
        [
            entry["path"],
            entry["label"],
            round(entry["duration_s"], 3),
            entry["uncertain"],
            *(round(p[c], 6) for c in labels),
            "",
        ]
    ]


def _csv_text(rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _json_text(entry: dict[str, Any]) -> str:
    return json.dumps(entry, ensure_ascii=False) + "\n"


def _drop_partial_line(path: Path) -> None:
    """Cut a last line without its newline (written when a run was killed mid-line)."""
    with path.open("rb+") as fh:
        data = fh.read()
        if data and not data.endswith(b"\n"):
            fh.truncate(data.rfind(b"\n") + 1)


def read_done(output: Path, fmt: str, header: list[str]) -> dict[str, bool]:
    """Paths already in an existing output file of format ``fmt`` -> whether their entry is an error
    (after dropping a cut last line).

    Raises
    ------
    ParameterError
        The file is of another format, or a CSV with other columns (another model or label set).
    """
    if not output.is_file() or output.stat().st_size == 0:
        return {}
    _drop_partial_line(output)
    text = output.read_text(encoding="utf-8")
    done: dict[str, bool] = {}
    if fmt == "json":
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                entry = None
            if not isinstance(entry, dict) or "path" not in entry:
                raise ParameterError(
                    f"--output {output} exists and line {i} is not a serkit predict JSON object; choose another "
                    "file, or delete it to start again."
                )
            done[str(entry["path"])] = "error" in entry
        return done
    rows = list(csv.reader(io.StringIO(text)))
    if rows and rows[0] != header:
        raise ParameterError(
            f"--output {output} exists with other columns ({','.join(rows[0][:6])}...) than this run writes "
            f"({','.join(header[:6])}...): another model, label set or --timeline. Choose another file, or "
            "delete it to start again."
        )
    for r in rows[1:]:
        if r:
            done[r[0]] = bool(r[-1])
    return done


# ---------------------------------------------------------------------------------------------
# Printing


def _short(path: str, width: int = 60) -> str:
    return path if len(path) <= width else "..." + path[-(width - 3) :]


def _common_folder(paths: list[str]) -> str:
    """The folder every path lies in (shown once as the table's title), or "" when there is none."""
    import os

    parents = [os.path.dirname(os.path.abspath(p)) for p in paths if p]
    try:
        return os.path.commonpath(parents) if parents else ""
    except ValueError:  # different drives
        return ""


def _print_table(entries: list[dict[str, Any]], labels: list[str]) -> None:
    import os

    from rich.table import Table

    from serkit.cli._common import out

    # Long absolute paths would crowd out the probabilities: show each file relative to the folder they
    # share, and that folder once above the table (--json / --csv keep the full paths).
    folder = _common_folder([e["path"] for e in entries])
    table = Table(
        show_edge=False, pad_edge=False, title=f"in {folder}" if folder else None, title_justify="left"
    )

    def shown(path: str) -> str:
        return _short(os.path.relpath(os.path.abspath(path), folder) if folder else path)

    table.add_column("file", overflow="fold", min_width=12)
    table.add_column("label")
    for c in labels:
        table.add_column(c, justify="right")
    table.add_column("seconds", justify="right")
    for e in entries:
        if "error" in e:
            table.add_row(
                shown(e["path"]), "[red]error[/red]", f"[red]{e['error']}[/red]", *[""] * len(labels)
            )
            continue
        p = e["probabilities"]
        top = max(p, key=p.__getitem__)
        cells = [f"[bold]{p[c]:.2f}[/bold]" if c == top else f"{p[c]:.2f}" for c in labels]
        label = f"[yellow]{e['label']}[/yellow]" if e["uncertain"] else f"[bold]{e['label']}[/bold]"
        table.add_row(shown(e["path"]), label, *cells, f"{e['duration_s']:.2f}")
    out.print(table)


def _print_timeline(entry: dict[str, Any], labels: list[str]) -> None:
    from rich.table import Table

    from serkit.cli._common import out

    tl = entry["timeline"]
    speech = sum(e - s for s, e in tl["speech"])
    out.print(
        f"\n[bold]{entry['path']}[/bold]: {len(tl['segments'])} segment(s), {speech:.1f} s of speech in "
        f"{tl['duration_s']:.1f} s (VAD: {tl['vad']})",
        highlight=False,
    )
    if not tl["segments"]:
        out.print("  no speech found", highlight=False)
        return
    table = Table(show_edge=False, pad_edge=False)
    for name in ("start", "end", "label", *labels):
        table.add_column(name, justify="left" if name == "label" else "right")
    for s in tl["segments"]:
        p = s["probabilities"]
        table.add_row(f"{s['start']:.2f}", f"{s['end']:.2f}", s["label"], *(f"{p[c]:.2f}" for c in labels))
    out.print(table)


# ---------------------------------------------------------------------------------------------
# Running


def _predict_files(
    recognizer: Any,
    files: list[str],
    *,
    batch_size: int,
    timeline: bool,
    timeline_args: dict[str, Any],
) -> list[dict[str, Any]]:
    """Entries (prediction or error) for one batch of files, in order; one bad file never stops the others."""
    waves: list[Any] = []
    entries: list[dict[str, Any] | None] = []
    for f in files:
        try:
            y, _ = recognizer.load_audio(f)
        except SerkitError as exc:
            entries.append({"path": f, "error": str(exc)})
            waves.append(None)
        else:
            entries.append(None)
            waves.append(y)
    good = [i for i, w in enumerate(waves) if w is not None]
    probs: dict[int, Any] = {}
    try:
        batch = recognizer.probabilities([waves[i] for i in good], batch_size=batch_size)
        probs = dict(zip(good, batch, strict=True))
    except Exception:  # one waveform the model cannot take must not cost the batch: retry one by one
        for i in good:
            try:
                probs[i] = recognizer.probabilities([waves[i]])[0]
            except Exception as exc:  # any failure of frontend or model is this file's error entry
                entries[i] = {"path": files[i], "error": f"prediction failed: {exc}"}
    for i, p in probs.items():
        pred = recognizer._prediction(p, len(waves[i]), files[i])
        entry = pred.to_dict()
        if timeline:
            try:
                tl = recognizer.predict_timeline(
                    waves[i], sample_rate=recognizer.sample_rate, **timeline_args
                )
                entry["timeline"] = {k: v for k, v in tl.to_dict().items() if k != "path"}
            except Exception as exc:  # the file's prediction stands; its timeline failed
                entry = {"path": files[i], "error": f"timeline failed: {exc}"}
        entries[i] = entry
    return [e for e in entries if e is not None]


def predict(
    paths: list[str] = typer.Argument(
        None,
        metavar="[PATH]...",
        help="Audio files, folders (searched for audio files) or globs ('calls/*.wav').",
    ),
    model: str = typer.Option(
        "default",
        "--model",
        "-m",
        help="'default', 'whisper-base', or a checkpoint folder from `serkit train`.",
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file per line."),
    as_csv: bool = typer.Option(False, "--csv", help="CSV: one row per file (per segment with --timeline)."),
    timeline: bool = typer.Option(False, "--timeline", "-t", help="Also give each file's emotion timeline."),
    plot: Path = typer.Option(
        None, "--plot", help="Draw one file's timeline under its waveform into this PNG."
    ),
    labels: str = typer.Option(
        None, "--labels", "-l", help="Restrict/merge the labels, e.g. 'neutral+calm,happy,sad,angry'."
    ),
    batch_size: int = typer.Option(16, "--batch-size", "-b", help="Files per forward pass."),
    output: Path = typer.Option(
        None, "--output", "-o", help="Write results here (.jsonl or .csv); an existing file is resumed."
    ),
    recursive: bool = typer.Option(True, "--recursive/--no-recursive", help="Search folders recursively."),
    example: bool = typer.Option(False, "--example", help="Predict the example clip shipped with serkit."),
    vad: str = typer.Option("auto", "--vad", help="Timeline speech detector: auto | silero | energy | none."),
    window: float = typer.Option(2.0, "--window", help="Timeline window length (s)."),
    hop: float = typer.Option(0.25, "--hop", help="Timeline step between windows (s)."),
    change_penalty: float = typer.Option(
        1.0,
        "--change-penalty",
        help="Timeline: evidence a change of emotion needs (s of probability lead); 0 = each window alone.",
    ),
    device: str = typer.Option("cpu", "--device", help="Torch device (cpu, cuda)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
) -> None:
    """Predict the emotion of each PATH: label, calibrated probabilities and duration per file.

    Folders are searched for audio files; globs are expanded. A file that cannot be read gives an error entry and the run goes on (exit code 1 when any file failed, 2 for bad arguments). With --output, re-running the same command after an interruption appends only the files not yet in the file. Try `serkit predict --example`.
    """
    from serkit.infer.vad import VAD_METHODS

    with guard(INTERRUPTED):
        fmt = _format_of(as_json, as_csv, output)
        if isinstance(batch_size, bool) or batch_size < 1:
            raise ParameterError(f"--batch-size must be an int >= 1. Got {batch_size}.")
        if vad not in VAD_METHODS:
            raise ParameterError(f"--vad must be one of {', '.join(VAD_METHODS)}. Got {vad!r}.")
        if plot is not None:
            from serkit.cli._common import check_output_file

            check_output_file(plot, what="plot", suffixes=[".png"], example="timeline.png", option="--plot")
        if output is not None:
            from serkit.cli._common import check_output_file

            check_output_file(output, what="output", example="predictions.jsonl", option="--output")
        names = list(paths or [])
        if example:
            from serkit.infer.shipped import example_clip

            names.append(str(example_clip()))
            timeline = True
        if not names:
            raise ParameterError(
                "No PATH given: name audio files, folders or globs (serkit predict recording.wav), or try "
                "`serkit predict --example`."
            )
        files, missing = expand_paths(names, recursive=recursive)
        if not files and not missing:
            raise ParameterError(f"No audio files found in {', '.join(names)}.")
        if plot is not None and len(files) != 1:
            raise ParameterError(f"--plot draws one file's timeline; {len(files)} files were given.")

        from serkit.infer import Recognizer

        recognizer = Recognizer.load(model, device=device)
        if labels:
            recognizer = recognizer.restrict(labels)
        names_out = recognizer.labels
        header = _csv_header(names_out, timeline)
        done: dict[str, bool] = {}
        if output is not None:
            done = read_done(output, fmt, header)
        todo = [f for f in files if f not in done]
        missing = [m for m in missing if m["path"] not in done]
        # Files that failed in an earlier run of this output still count: the exit code covers them all.
        failed_before = sum(done.get(f, False) for f in [*files, *(m["path"] for m in missing)])
        timeline_args = {"window_s": window, "hop_s": hop, "vad": vad, "change_penalty": change_penalty}
        if timeline or plot is not None:
            from serkit.infer.timeline import check_settings
            from serkit.infer.vad import resolve_vad

            # Bad settings or 'silero' without its packages fail now, not file by file.
            check_settings(window_s=window, hop_s=hop, change_penalty=change_penalty)
            resolve_vad(vad)

        sink = _Sink(fmt, output, header, names_out, timeline)
        n_ok = n_failed = 0
        shown: list[dict[str, Any]] = []
        try:
            sink.write(missing)
            n_failed += len(missing)
            shown += missing
            with make_progress(quiet or not todo) as progress:
                task = progress.add_task("predict", total=len(todo))
                for start in range(0, len(todo), batch_size):
                    chunk = todo[start : start + batch_size]
                    entries = _predict_files(
                        recognizer,
                        chunk,
                        batch_size=batch_size,
                        timeline=timeline,
                        timeline_args=timeline_args,
                    )
                    sink.write(entries)
                    n_failed += sum("error" in e for e in entries)
                    n_ok += sum("error" not in e for e in entries)
                    if fmt == "table":
                        shown += entries
                    progress.advance(task, len(chunk))
        finally:
            sink.close()
        if fmt == "table":
            _print_table(shown, names_out)
            if timeline:
                for entry in shown:
                    if "timeline" in entry:
                        _print_timeline(entry, names_out)
        if plot is not None and n_ok:
            _plot(recognizer, todo[0] if todo else files[0], plot, timeline_args)
            if not quiet:
                console.print(f"timeline plot: {plot}", highlight=False)
        if not quiet:
            skipped = len(files) - len(todo)
            where = f" -> {output}" if output is not None else ""
            note = f", {skipped} already in {output}" if skipped else ""
            if failed_before:
                note += f" ({failed_before} of them errors)"
            console.print(
                f"{n_ok} predicted, {n_failed} failed{note} ({recognizer.name} model){where}", highlight=False
            )
    if n_failed or failed_before:
        raise typer.Exit(code=1)


def _plot(recognizer: Any, path: str, png: Path, timeline_args: dict[str, Any]) -> None:
    from serkit.infer.plot import plot_timeline

    y, _ = recognizer.load_audio(path)
    tl = recognizer.predict_timeline(y, sample_rate=recognizer.sample_rate, **timeline_args)
    tl.path = path
    plot_timeline(tl, y, recognizer.sample_rate, png)


class _Sink:
    """Where entries go: stdout (JSON/CSV streamed), an output file (appended, flushed per batch), or a table."""

    def __init__(self, fmt: str, output: Path | None, header: list[str], labels: list[str], timeline: bool):
        self.fmt, self.labels, self.timeline = fmt, labels, timeline
        self.fh: Any = None
        if fmt == "table":
            return
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
            new = not output.is_file() or output.stat().st_size == 0
            self.fh = output.open("a", encoding="utf-8", newline="")
            if fmt == "csv" and new:
                self.fh.write(_csv_text([header]))
                self.fh.flush()
        elif fmt == "csv":
            typer.echo(_csv_text([header]), nl=False)

    def write(self, entries: list[dict[str, Any]]) -> None:
        if self.fmt == "table" or not entries:
            return
        if self.fmt == "json":
            text = "".join(_json_text(e) for e in entries)
        else:
            text = _csv_text([row for e in entries for row in _csv_rows(e, self.labels, self.timeline)])
        if self.fh is not None:
            self.fh.write(text)
            self.fh.flush()  # each batch reaches the file before the next starts: the resume point
        else:
            typer.echo(text, nl=False)

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
