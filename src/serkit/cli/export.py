"""``serkit export CHECKPOINT model.onnx``: frontend, normaliser and network in one ONNX graph."""

from __future__ import annotations

from pathlib import Path

import typer

from serkit.cli._common import NOTHING_WRITTEN_NOTE, check_output_file, console, guard, out


def export(
    checkpoint: str = typer.Argument(
        ..., help="A `serkit train` checkpoint folder (or its fold folder), or a shipped model: default."
    ),
    output: Path = typer.Argument(..., help="The .onnx file to write."),
    opset: int = typer.Option(17, "--opset", help="ONNX opset (>= 17: the first with STFT)."),
    check: bool = typer.Option(
        True, "--check/--no-check", help="Check the graph and its parity with torch before writing it."
    ),
) -> None:
    """Export a model as one ONNX graph: 16 kHz waveform in, calibrated class probabilities out.

    The file runs with onnxruntime and no torch (serkit.infer.onnx_runtime.OnnxRecognizer). Prints the
    path, its size and the largest difference from torch on a random 3 s input.
    """
    with guard(NOTHING_WRITTEN_NOTE):
        from serkit.infer.export import PARITY_TOLERANCE, export_onnx, parity
        from serkit.infer.shipped import resolve_model

        check_output_file(
            output, what="ONNX model", suffixes=[".onnx"], example="model.onnx", option="OUTPUT"
        )
        directory, name = resolve_model(checkpoint)
        with console.status(f"exporting {name}"):
            path = export_onnx(directory, output, opset=opset, check=check)
            diff = parity(directory, path, seconds=(3.0,), seed=1)
        size = path.stat().st_size
        verdict = "ok" if diff <= PARITY_TOLERANCE else f"ABOVE the {PARITY_TOLERANCE:g} tolerance"
        out.print(f"wrote {path} ({_size(size)})", highlight=False)
        out.print(
            f"parity on a random 3 s input: max |onnx - torch| = {diff:.2e} ({verdict})", highlight=False
        )


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"
