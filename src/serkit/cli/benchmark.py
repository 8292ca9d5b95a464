"""``serkit benchmark``: run the benchmark definition (configs/benchmark.yaml) and tabulate its result files."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import typer
from rich.markup import escape
from rich.table import Table

from serkit.cli._common import RESUME_NOTE, console, guard, make_progress, out
from serkit.errors import CorpusError, ParameterError

DEFINITION = Path("configs") / "benchmark.yaml"


def _definition_path(given: Path | None) -> Path:
    if given is not None:
        return given
    if DEFINITION.is_file():
        return DEFINITION
    import serkit

    repo = Path(serkit.__file__).resolve().parents[2] / DEFINITION  # an editable install's repository
    if repo.is_file():
        return repo
    raise ParameterError(
        f"No benchmark definition: {DEFINITION} is not in the current folder. Run from the serkit repository "
        "or give --definition FILE."
    )


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise ParameterError(f"Expected comma-separated names, got {text!r}.")
    return names


def _corpus_pairs(pairs: list[str] | None) -> list[tuple[str, Path]]:
    out_pairs = []
    for pair in pairs or []:
        if "=" not in pair:
            raise ParameterError(f"--corpus {pair!r}: expected NAME=PATH (e.g. --corpus emodb=/data/emodb).")
        name, path = pair.split("=", 1)
        root = Path(path).expanduser()
        if not root.is_dir():
            raise CorpusError(f"--corpus {pair}: no folder at {root}.")
        out_pairs.append((name.strip(), root.resolve()))
    return out_pairs


class _Progress:
    """Reporter showing a rich progress bar over jobs (the current job's name) and one per stage."""

    def __init__(self, progress: Any, quiet: bool) -> None:
        self.progress = progress
        self.quiet = quiet
        self.task = None
        self.failed = 0

    def note(self, text: str) -> None:
        if not self.quiet:
            console.print(text, highlight=False, markup=False)

    def warn(self, text: str) -> None:
        console.print(f"[yellow]warning:[/yellow] {text}", highlight=False)

    def stage(self, text: str, total: int | None = None):
        task = self.progress.add_task(escape(text), total=total)
        return lambda n: self.progress.advance(task, n)

    def jobs(self, total: int) -> None:
        self.task = self.progress.add_task("jobs", total=total)

    def job_started(self, job: Any) -> None:
        if self.task is not None:
            self.progress.update(self.task, description=escape(job.name))

    def job_finished(self, job: Any, failure: Any) -> None:
        if failure is not None:
            self.failed += 1
            console.print(f"[red]failed[/red] {escape(job.name)}: {escape(str(failure))}", highlight=False)
        if self.task is not None:
            self.progress.update(self.task, advance=1, description=f"done: {escape(job.name)}")


def _list(spec: Any) -> None:
    systems = Table(title="Benchmark systems (--systems)")
    for col in ("name", "group", "system", "how", "seeds", "paper reported"):
        systems.add_column(col)
    for name, s in spec.systems.items():
        if s.trained:
            how = f"{s.config.name} {' '.join(s.overrides)}".strip()
        else:
            how = "mean probabilities of " + " + ".join(s.combine)
        seeds = "" if not s.trained else f"{s.seeds}{' ensembled' if s.ensemble else ''}"
        reported = "; ".join(f"{r.corpus} {r.value:.1f} {r.metric}" for r in s.reported) or "—"
        systems.add_row(name, s.group, s.title, how, seeds, reported)
    out.print(systems)
    corpora = Table(title="Benchmark corpora (--corpora; --corpus NAME=PATH)")
    for col in ("name", "adapter", "root", "present", *spec.protocols):
        corpora.add_column(col)
    for name, c in spec.corpora.items():
        root = spec.corpus_root(name)
        splits = []
        for pname, p in spec.protocols.items():
            splits.append(p.recipe(name).describe() if name in spec.protocol_corpora(pname) else "—")
        corpora.add_row(name, c.adapter, str(root), "yes" if Path(root).is_dir() else "no", *splits)
    out.print(corpora)


def _command(args: dict[str, Any]) -> str:
    parts = ["serkit benchmark"]
    for flag, value in args.items():
        if value in (None, False, [], ()):
            continue
        if value is True:
            parts.append(flag)
        elif isinstance(value, list):
            parts += [f"{flag} {v}" for v in value]
        else:
            parts.append(f"{flag} {value}")
    return " ".join(parts)


def benchmark(
    quick: bool = typer.Option(
        False, "--quick", help="A few cheap systems, 2 folds of one small corpus, budget configs (minutes)."
    ),
    systems: str = typer.Option(None, "--systems", help="Comma-separated system names (default: all)."),
    corpora: str = typer.Option(None, "--corpora", help="Comma-separated corpus names (default: all)."),
    corpus: list[str] = typer.Option(
        None, "--corpus", help="NAME=PATH: read corpus NAME from PATH (a new NAME must be an adapter name)."
    ),
    protocol: str = typer.Option("all", "--protocol", help="si | sd | all (speaker-(in)dependent)."),
    seeds: int = typer.Option(None, "--seeds", help="Seeds per system (default: each system's own)."),
    workers: int = typer.Option(1, "--workers", "-j", help="Jobs at a time (torch threads = cores / N)."),
    executor: str = typer.Option("local", "--executor", help="local | ray (optional extra)."),
    device: str = typer.Option(
        "cpu", "--device", help="cpu | cuda | auto: where networks train (results stay comparable)."
    ),
    work: Path = typer.Option(None, "--work", help="Work folder (default: benchmarks/work)."),
    results: Path = typer.Option(None, "--results", help="Results folder (default: benchmarks/results/...)."),
    table: bool = typer.Option(
        None,
        "--table/--no-table",
        help="--table: only regenerate the table from the result files; --no-table: run without writing it.",
    ),
    list_: bool = typer.Option(False, "--list", help="Print the systems and corpora, then stop."),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Print the pending jobs with estimated training times (from the finished folds), then stop.",
    ),
    definition: Path = typer.Option(None, "--definition", help="Benchmark definition YAML."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Train every benchmark system on every corpus fold by fold, then tabulate the result files.

    Each (system, corpus, seed, fold) result is written to benchmarks/results/benchmark/<protocol>/<corpus>/<system>.json as soon as it finishes, so the same command resumes an interrupted run (also in another session); the table in docs/benchmarks.md is generated from those files. `--quick` runs a small subset into its own results folder and prints its table. Example: `serkit benchmark --systems egemaps_svm,whisper_logreg --corpora emodb --workers 2`.
    """
    from serkit.benchmark import runner as bench
    from serkit.benchmark.spec import load_definition
    from serkit.train.config import TrainConfig

    with guard(RESUME_NOTE):
        spec = load_definition(_definition_path(definition))
        pairs = _corpus_pairs(corpus)
        for name, root in pairs:
            spec = spec.with_corpus(name, root)
        if executor not in ("local", "ray"):
            raise ParameterError(f"--executor must be local or ray; got {executor!r}.")
        devices = get_args(TrainConfig.model_fields["device"].annotation)  # the config's own choices
        if device not in devices:
            raise ParameterError(
                f"--device must be {', '.join(devices[:-1])} or {devices[-1]}; got {device!r}."
            )
        if workers < 1:
            raise ParameterError(f"--workers must be an int >= 1 (jobs at a time); got {workers}.")
        if seeds is not None and seeds < 1:
            raise ParameterError(f"--seeds must be an int >= 1; got {seeds}.")
        if list_:
            _list(spec)
            return
        protocols = None if protocol == "all" else _names(protocol)
        selection = bench.Selection(
            protocols=protocols,
            systems=_names(systems),
            corpora=_names(corpora),
            seeds=seeds,
            explicit_corpora=[n for n, _ in pairs],
            device=device,
        )
        results_dir = results
        docs_path = spec.docs
        if quick:
            if spec.quick is None:
                raise ParameterError(f"The definition {spec.source} has no 'quick' section.")
            q = spec.quick
            selection.systems = selection.systems or q.systems
            selection.corpora = selection.corpora or q.corpora
            selection.protocols = selection.protocols or q.protocols
            selection.folds = q.folds
            selection.overrides = q.overrides
            selection.system_overrides = dict(q.system_overrides)
            results_dir = results or q.results
            docs_path = None
        results_dir = Path(results_dir or spec.results)
        if results is not None and not quick:
            docs_path = (
                results_dir / "benchmark.md"
            )  # results of other corpora do not go into the project docs
        command = _command(
            {
                "--quick": quick,
                "--protocol": None if protocol == "all" else protocol,
                "--systems": systems,
                "--corpora": corpora,
                "--corpus": list(corpus or []),
                "--seeds": seeds,
                "--results": results,
            }
        )
        if table:
            _write_table(spec, selection, results_dir, docs_path, command, quick)
            return
        with make_progress(quiet) as progress:
            reporter = _Progress(progress, quiet)
            the_plan = bench.plan(
                spec,
                selection,
                work=work,
                results=results_dir,
                workers=workers,
                reporter=reporter,
                write_splits=not dry_run,
            )
            from serkit.benchmark.estimate import cheapest_first, format_seconds, summary

            estimates = cheapest_first(the_plan)  # measured folds, not only the hints, set the order
            if dry_run:
                progress.stop()
                for job, est in zip(the_plan.pending, estimates, strict=True):
                    when = (
                        f"~{format_seconds(est.seconds)}, {est.source}"
                        if est.seconds is not None
                        else "no estimate"
                    )
                    out.print(f"pending  {job.name}  ({when})", highlight=False, markup=False)
                out.print(
                    f"{len(the_plan.pending)} job(s) pending, {len(the_plan.finished)} finished; results in "
                    f"{results_dir}",
                    highlight=False,
                )
                if estimates:
                    out.print(summary(estimates, workers), highlight=False, markup=False)
                return
            outcome = bench.run(the_plan, executor=executor, workers=workers, reporter=reporter)
        console.print(
            f"{outcome['done']} job(s) run, {len(the_plan.finished)} finished before; results in {results_dir}",
            highlight=False,
        )
        if table is None:
            _write_table(spec, selection, results_dir, docs_path, command, quick)
    if outcome["failed"]:
        console.print(
            f"[red]{len(outcome['failed'])} job(s) failed[/red] (tracebacks in {the_plan.work / 'failures.jsonl'}):",
            highlight=False,
        )
        for name, message in outcome["failed"][:20]:
            console.print(f"  {name}: {message}", highlight=False, markup=False)
        raise typer.Exit(code=1)


def _write_table(
    spec: Any, selection: Any, results_dir: Path, docs_path: Path | None, command: str, quick: bool
) -> None:
    from serkit.benchmark import table as tables

    docs = tables.load_results(results_dir)
    if not docs:
        raise ParameterError(f"No result files under {results_dir}; run `serkit benchmark` first.")
    scope: dict[str, Any] = {}
    if quick:  # coverage of the quick subset, not of the whole definition
        scope = {
            "coverage_systems": selection.systems,
            "coverage_corpora": selection.corpora,
            "coverage_protocols": selection.protocols,
        }
    elif docs_path != spec.docs:  # another results folder (e.g. other corpora): its own corpora only
        found = {d["corpus"] for d in docs} | set(selection.explicit_corpora) | set(selection.corpora or ())
        scope = {
            "coverage_corpora": sorted(found),
            "coverage_systems": selection.systems,
            "coverage_protocols": selection.protocols,
        }
    text = tables.render(
        spec,
        docs,
        header=tables.stamp(),
        command=command,
        title=f"Quick benchmark ({selection.folds} fold(s), budget configs)" if quick else "Benchmark",
        **scope,
    )
    if quick or docs_path is None:
        out.print(text, highlight=False, markup=False, soft_wrap=True)
        return
    tables.write_docs(docs_path, text)
    console.print(f"wrote the tables ({len(docs)} rows) into {docs_path}", highlight=False)
