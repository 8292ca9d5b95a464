"""``serkit features``: list frontends and extract features for a manifest into a cache folder."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import typer
from rich.table import Table

from serkit.cli._common import console, guard, make_progress, out

app = typer.Typer(help="Feature frontends: list them, extract features for a manifest.", no_args_is_help=True)


@app.command("list")
def list_cmd(json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the frontends with their parameters (defaults) and origin."""
    from serkit.features import get_frontend_class, list_frontends

    rows = []
    for name in list_frontends():
        cls = get_frontend_class(name)
        params = {f.name: f.default for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        rows.append({"name": name, "output": cls.output, "paper": cls.paper, "params": params})
    if json_out:
        out.print_json(json.dumps(rows, default=str))
        return
    table = Table(title="Frontends (use as --frontend 'NAME(param=value, ...)')")
    for col in ("name", "output", "parameters (defaults)", "origin"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r["name"], r["output"], ", ".join(f"{k}={v!r}" for k, v in r["params"].items()), r["paper"]
        )
    out.print(table)


@app.command()
def extract(
    manifest_path: Path = typer.Argument(
        ..., metavar="MANIFEST", help="Manifest from `serkit data prepare`."
    ),
    frontend: str = typer.Option(
        ..., "--frontend", "-f", help="Frontend spec, e.g. 'logmel(n_mels=40, hop=200)'."
    ),
    output: Path = typer.Option(
        ..., "-o", "--output", help="Feature cache folder (entries keyed by audio content and spec)."
    ),
    workers: int = typer.Option(
        None, "--workers", "-j", help="Worker processes, one torch thread each (default: available cores)."
    ),
    batch_size: int = typer.Option(32, "--batch-size", help="Files per batch handed to the frontend."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Extract features for every utterance of MANIFEST into OUTPUT.

    A re-run reads what is already in OUTPUT (the cache is keyed by the audio's content and every frontend parameter), so an interrupted extraction resumes where it stopped and a changed parameter computes afresh. The index `OUTPUT/<frontend>-v<version>-<digest>/index.csv` maps ids to entries; runs with other manifests into the same OUTPUT add their rows to it (an id extracted again gets its latest row).
    """
    import warnings

    from serkit.data.manifest import read_manifest
    from serkit.data.prepare import default_workers
    from serkit.errors import ParameterError
    from serkit.features import build_frontend
    from serkit.features.cache import CacheCorruptionWarning
    from serkit.features.extract import extract_features

    with guard():
        if workers is not None and workers < 1:
            raise ParameterError(f"-j/--workers must be at least 1 (worker processes). Got {workers}.")
        if batch_size < 1:
            raise ParameterError(f"--batch-size must be at least 1 (files per batch). Got {batch_size}.")
        manifest = read_manifest(manifest_path)
        fe = build_frontend(frontend)
        # The bar starts when extract_features reports its first progress, after it has checked the
        # output paths, so an error there prints one line and no bar.
        progress = make_progress(quiet)
        task = None

        def advance(n: int, _seconds: float) -> None:
            nonlocal task
            if task is None:
                progress.start()
                task = progress.add_task(f"{fe.name}", total=len(manifest))
            progress.advance(task, n)

        try:
            with warnings.catch_warnings():
                # Reported below, one line per entry, from result.corrupt_entries.
                warnings.simplefilter("ignore", CacheCorruptionWarning)
                result = extract_features(
                    manifest,
                    fe,
                    cache_dir=output,
                    workers=workers or default_workers(),
                    batch_size=batch_size,
                    progress=advance,
                )
        finally:
            progress.stop()
    for p in result.problems[:20]:
        console.print(f"  {p.kind:10s} {p.path}: {p.reason}", markup=False, highlight=False)
    for p in result.corrupt_entries[:20]:
        console.print(
            f"  corrupt cache entry {p.path}: {p.reason}; recomputed", markup=False, highlight=False
        )
    corrupt = (
        f", {len(result.corrupt_entries)} corrupt cache entries recomputed" if result.corrupt_entries else ""
    )
    console.print(
        f"{fe.spec}: {result.n_computed} computed, {result.n_cached} from cache, {result.n_failed} failed"
        f"{corrupt}; index: {output / fe.cache_digest / 'index.csv'}",
        highlight=False,
        markup=False,
    )
    if result.n_failed:
        raise typer.Exit(code=1)
