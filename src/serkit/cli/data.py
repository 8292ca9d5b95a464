"""``serkit data``: list corpora, prepare manifests, show statistics, make speaker-independent splits."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import typer
from rich.table import Table

from serkit.cli._common import (
    NOTHING_WRITTEN_NOTE,
    check_output_file,
    check_workers,
    console,
    guard,
    make_progress,
    out,
    parse_options,
    writing,
)
from serkit.errors import CorpusError, SerkitError

MANIFEST_SUFFIXES = (".csv", ".tsv", ".parquet")
PREPARE_INTERRUPTED = (
    "nothing was written: prepare writes the manifest only once every file is decoded, and does not "
    "resume. Run the same command to start again."
)

app = typer.Typer(
    help="Corpora and manifests: list adapters, prepare a manifest, show statistics, make splits.",
    no_args_is_help=True,
)


@app.command("list")
def list_cmd(json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the corpora serkit has adapters for (name, language, task, licence)."""
    from serkit.data.corpora import list_corpora
    from serkit.data.corpora.base import get_corpus_class

    rows = []
    for name in list_corpora():
        cls = get_corpus_class(name)
        rows.append(
            {
                "name": name,
                "title": cls.title,
                "language": cls.language,
                "task": cls.task,
                "licence": cls.licence,
                "layout": cls.layout,
            }
        )
    if json_out:
        out.print_json(json.dumps(rows))
        return
    table = Table(title="Corpus adapters (serkit data prepare NAME ROOT)")
    for col in ("name", "title", "language", "task", "licence"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["title"], r["language"], r["task"], r["licence"])
    out.print(table)


def _prepare(corpus: str, root: Path, workers: int | None, allow_silent: bool, options: dict, quiet: bool):
    from serkit.data.corpora import get_corpus
    from serkit.data.prepare import prepare_corpus

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        adapter = get_corpus(corpus, **options)
        with make_progress(quiet) as progress:
            task = progress.add_task(f"decoding {corpus}", total=None)

            def wrap(it, total):
                progress.update(task, total=total)
                for item in it:
                    progress.advance(task)
                    yield item

            report = prepare_corpus(adapter, root, workers=workers, allow_silent=allow_silent, progress=wrap)
    for w in caught:
        console.print(f"[yellow]warning:[/yellow] {w.message}", highlight=False)
    return report


def _print_problems(report, limit: int = 20) -> None:
    if not report.problems:
        return
    console.print(f"[yellow]{len(report.problems)} file(s) left out of the manifest:[/yellow]")
    for p in report.problems[:limit]:
        console.print(f"  {p.kind:14s} {p.path}: {p.reason}", highlight=False, markup=False)
    if len(report.problems) > limit:
        console.print(f"  ... and {len(report.problems) - limit} more (see the problems file)")


@app.command()
def prepare(
    corpus: str = typer.Argument(
        ..., help="Adapter name (see `serkit data list`), e.g. ravdess, emodb, generic."
    ),
    root: Path = typer.Argument(..., help="The corpus folder, laid out as the adapter documents."),
    output: Path = typer.Option(..., "-o", "--output", help="Manifest to write: .csv, .tsv or .parquet."),
    workers: int = typer.Option(
        None, "--workers", "-j", help="Decoding processes (default: available cores)."
    ),
    allow_silent: bool = typer.Option(
        False, "--allow-silent", help="Keep all-silent files instead of reporting them."
    ),
    option: list[str] = typer.Option(
        None, "--option", help="Adapter option key=value (e.g. for generic: csv=labels.csv)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Decode every file of a corpus and write its manifest (one row per utterance).

    Every audio file ends in the manifest or in OUTPUT's sibling `<name>.problems.csv` with a kind and the reason: broken files (truncated, empty, not audio, silent, non-finite, out of range), names that do not follow the corpus layout, broken links, folders or pipes named like audio, and same-stem copies in another format (x.wav and x.flac: the first that decodes is kept, lossless formats first). A folder without one usable file is an error (exit 2). Prepare does not resume: an interrupted run writes nothing.
    """
    from serkit._io import atomic_path
    from serkit.data.manifest import write_manifest

    problems_file = output.with_name(output.stem + ".problems.csv")
    with guard(PREPARE_INTERRUPTED):
        check_workers(workers)
        check_output_file(output, what="manifest", suffixes=MANIFEST_SUFFIXES, example="manifest.csv")
        check_output_file(problems_file, what="problems file", example="problems.csv")
        report = _prepare(corpus, root, workers, allow_silent, parse_options(option), quiet)
        if report.problems:
            with writing(problems_file, "problems file"), atomic_path(problems_file) as tmp:
                report.problems_frame().to_csv(tmp, index=False)
        elif problems_file.exists():
            problems_file.unlink()
        if report.manifest.empty:
            _print_problems(report)
            old = f" The existing {output} was left as it was." if output.exists() else ""
            raise SerkitError(
                f"None of the {len(report.problems)} candidate file(s) under {root} can be used, so no "
                f"manifest was written; see {problems_file} for each file's problem.{old}"
            )
        with writing(output, "manifest"):
            write_manifest(report.manifest, output)
    _print_problems(report)
    console.print(
        f"wrote {output}: {len(report.manifest)} utterances, {report.manifest['speaker'].nunique()} speakers"
        + (f"; {len(report.problems)} problem file(s) in {problems_file}" if report.problems else ""),
        highlight=False,
    )


@app.command()
def stats(
    source: str = typer.Argument(
        ..., help="A manifest file (.csv/.tsv/.parquet), or a corpus name followed by ROOT."
    ),
    root: Path = typer.Argument(None, help="The corpus folder, when SOURCE is a corpus name."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON (machine-readable) instead of tables."),
    label_set: str = typer.Option(
        None, "--label-set", help="Apply a label set first, e.g. iemocap4 or 'neutral,happy+excited'."
    ),
    workers: int = typer.Option(None, "--workers", "-j", help="Decoding processes when preparing from ROOT."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Utterances, speakers, hours and the label distribution per speaker.

    `serkit data stats manifest.csv` reads a manifest; `serkit data stats ravdess PATH` prepares the corpus on the fly (decoding every file, so broken files are counted too).
    """
    from serkit.data.manifest import read_manifest
    from serkit.data.stats import manifest_stats
    from serkit.labels import get_label_set

    problems = []
    with guard(NOTHING_WRITTEN_NOTE):
        check_workers(workers)
        if root is not None:
            report = _prepare(source, root, workers, False, {}, quiet or json_out)
            manifest, problems = report.manifest, report.problems
        elif Path(source).is_file():
            manifest = read_manifest(source)
        else:
            raise CorpusError(
                f"{source!r} is not a manifest file. Give a manifest, or a corpus name and its folder: "
                f"`serkit data stats ravdess /data/ravdess`."
            )
        if label_set:
            manifest = get_label_set(label_set).apply(manifest)
        result = manifest_stats(manifest)
        result["problems"] = len(problems)
    if json_out:
        out.print_json(json.dumps(result))
        return
    summary = Table(title=f"{', '.join(result['corpora'])}", show_header=False)
    for key in ("utterances", "speakers", "labels", "hours", "problems"):
        summary.add_row(key, str(result[key]))
    summary.add_row("duration (s) min/mean/max", "{min} / {mean} / {max}".format(**result["duration_s"]))
    summary.add_row("genders", ", ".join(f"{k}: {v}" for k, v in result["gender_counts"].items()))
    out.print(summary)
    labels = list(result["label_counts"])
    table = Table(title="utterances per speaker and label")
    table.add_column("speaker")
    for lab in labels:
        table.add_column(lab, justify="right")
    table.add_column("total", justify="right")
    for spk, row in result["per_speaker"].items():
        table.add_row(spk, *[str(row.get(lab, 0)) for lab in labels], str(sum(row.values())))
    table.add_row(
        "total",
        *[str(result["label_counts"][lab]) for lab in labels],
        str(result["utterances"]),
        style="bold",
    )
    out.print(table)


@app.command()
def split(
    manifest_path: Path = typer.Argument(
        ..., metavar="MANIFEST", help="Manifest file from `serkit data prepare`."
    ),
    protocol: str = typer.Option(
        "loso",
        "--protocol",
        "-p",
        help="loso | loso-session | group-kfold | pair-folds | official | casia-text | speaker-dependent.",
    ),
    output: Path = typer.Option(..., "-o", "--output", help="Split file to write (JSON)."),
    n_folds: int = typer.Option(None, "--n-folds", help="Folds for group-kfold / speaker-dependent."),
    n_val_speakers: int = typer.Option(
        None, "--n-val-speakers", help="Validation speakers per fold, from the training side."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for the speaker assignment."),
    label_set: str = typer.Option(
        None,
        "--label-set",
        help="Apply a label set first (e.g. iemocap4); the split file records it, so checks take the original manifest.",
    ),
    option: list[str] = typer.Option(None, "--option", help="Extra protocol parameter key=value."),
) -> None:
    """Make an evaluation split and save it as JSON (speakers and utterance ids per fold).

    Every speaker-independent split is checked: a test speaker in training or validation is an error. `speaker-dependent` exists for comparison with papers only and is labelled so in the file.
    """
    from serkit.data.manifest import read_manifest
    from serkit.data.splits import make_split

    params = parse_options(option)
    if n_folds is not None:
        params["n_folds"] = n_folds
    if n_val_speakers is not None:
        params["n_val_speakers"] = n_val_speakers
    with guard(NOTHING_WRITTEN_NOTE):
        check_output_file(output, what="split file", example="split.json")
        manifest = read_manifest(manifest_path)
        if protocol not in ("official", "casia-text"):
            params.setdefault("seed", seed)
        result = make_split(manifest, protocol, label_set=label_set, **params)
        result.check(manifest)
        with writing(output, "split file"):
            result.to_json(output)
    kind = "speaker-independent" if result.speaker_independent else "SPEAKER-DEPENDENT (comparison only)"
    console.print(f"wrote {output}: {result.protocol}, {len(result.folds)} fold(s), {kind}", highlight=False)
    table = Table()
    for col in ("fold", "train", "val", "test", "test speakers"):
        table.add_column(col)
    for fold in result.folds:
        table.add_row(
            fold.name,
            str(len(fold.train)),
            str(len(fold.val)),
            str(len(fold.test)),
            ", ".join(fold.test_speakers)[:60],
        )
    out.print(table)
