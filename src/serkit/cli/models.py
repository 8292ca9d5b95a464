"""``serkit models``: the registered networks (and classic learners) with paper, size and inputs."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from serkit.cli._common import guard, out

app = typer.Typer(help="Models: list the registered architectures.", no_args_is_help=True)


def _rows() -> list[dict]:
    from serkit.models import count_parameters, list_models, model_info

    rows = []
    for name in list_models():
        info = model_info(name)
        rows.append(
            {
                "name": name,
                "paper": info.paper,
                "parameters": count_parameters(name) if info.is_torch else None,
                "inputs": dict(info.inputs),
                "parameter_dims": dict(info.typical_dims),
                "description": info.description,
            }
        )
    try:
        from serkit.models.classic import classic_info, list_classic
    except ImportError:  # pragma: no cover - classic learners are part of serkit
        return rows
    known = {r["name"] for r in rows}
    for name in list_classic():
        if name in known:
            continue
        info = classic_info(name)
        rows.append(
            {
                "name": name,
                "paper": info.paper,
                "parameters": None,
                "inputs": dict(info.inputs),
                "parameter_dims": {},
                "description": info.description,
            }
        )
    return sorted(rows, key=lambda r: r["name"])


@app.command("list")
def list_cmd(json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List every model: name, paper, parameters at its default config, inputs (stream role: kind).

    Parameter counts use each model's typical feature dims (shown with --json) and 8 classes.
    """
    with guard():
        rows = _rows()
    if json_out:
        out.print_json(json.dumps(rows))
        return
    table = Table(title="Models (config: model.name=NAME; hyperparameters under model.cfg)")
    for col in ("name", "paper", "parameters", "inputs"):
        table.add_column(col, overflow="fold")
    for r in rows:
        params = "-" if r["parameters"] is None else f"{r['parameters']:,}"
        inputs = ", ".join(f"{k}: {v}" for k, v in r["inputs"].items())
        table.add_row(r["name"], r["paper"], params, inputs)
    out.print(table)
