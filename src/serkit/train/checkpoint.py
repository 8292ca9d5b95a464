"""Checkpoints that describe themselves: ``model.safetensors`` + ``checkpoint.json`` (CONVENTIONS #11).

A checkpoint folder alone is enough to predict: the JSON holds the model's constructor arguments
(``create_model(**meta["model"])``), the class list in output order, the frontend spec string of every
input stream (``build_frontend`` rebuilds it exactly), each stream's fitted normaliser
(``to_dict()``), and where the weights came from (config, split digest, fold, seed, commit, serkit
version, metrics). Weights are read with safetensors only; nothing is unpickled.

Both files are written atomically (weights first, the JSON last), so a folder with a
``checkpoint.json`` always has the weights it describes.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from serkit._io import atomic_path, atomic_write_text
from serkit.errors import CheckpointError

__all__ = [
    "CHECKPOINT_FORMAT",
    "CheckpointError",
    "git_commit",
    "load_checkpoint",
    "read_checkpoint_meta",
    "save_checkpoint",
]

CHECKPOINT_FORMAT = "serkit-checkpoint"
CHECKPOINT_VERSION = 1
WEIGHTS = "model.safetensors"
META = "checkpoint.json"


def git_commit() -> str | None:
    """The commit of the serkit source tree (``+dirty`` when it has uncommitted changes), or None."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "") if head else None


def save_checkpoint(directory: str | Path, model: nn.Module, meta: Mapping[str, Any]) -> Path:
    """Write ``model.safetensors`` and ``checkpoint.json`` into ``directory`` (created), atomically.

    Parameters
    ----------
    directory : path
    model : SerModel
        Its ``config`` (name, num_classes, input_dims, cfg, stream_names) is stored as ``meta["model"]``.
    meta : mapping
        JSON-able description: ``classes``, ``streams`` (name -> {frontend, kind, dim, normaliser}),
        ``config``, ``split``, ``fold``, ``seed``, ``metrics``, ... ``format``, ``serkit_version``,
        ``commit`` and ``model`` are filled in.

    Returns
    -------
    Path
        ``directory``.
    """
    from safetensors.torch import save_model

    from serkit import __version__

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model_config = getattr(model, "config", None)
    if not isinstance(model_config, Mapping):
        raise CheckpointError(
            f"{type(model).__name__} has no 'config' mapping; only SerModel networks can be saved."
        )
    data = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "serkit_version": __version__,
        "commit": git_commit(),
        **dict(meta),
        "model": dict(model_config),
    }
    text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=True) + "\n"
    with atomic_path(directory / WEIGHTS) as tmp:
        save_model(model.cpu() if _on_gpu(model) else model, str(tmp))
    atomic_write_text(directory / META, text)
    return directory


def _on_gpu(model: nn.Module) -> bool:
    return any(p.device.type != "cpu" for p in model.parameters())


def read_checkpoint_meta(directory: str | Path) -> dict[str, Any]:
    """The ``checkpoint.json`` of ``directory`` (checked for format).

    Raises
    ------
    CheckpointError
        No checkpoint there, or a file of another format or a newer version.
    """
    path = Path(directory) / META
    if not path.is_file():
        raise CheckpointError(
            f"No checkpoint at {directory}: {META} is missing. Train one with `serkit train`."
        )
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"Cannot read {path}: {exc}.") from None
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a serkit checkpoint (format {meta.get('format')!r}).")
    if int(meta.get("format_version", 0)) > CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path} has format_version {meta['format_version']}, newer than this serkit reads "
            f"({CHECKPOINT_VERSION}); upgrade serkit."
        )
    return meta


def load_checkpoint(directory: str | Path, *, device: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model of a checkpoint folder and load its weights (safetensors; no pickle).

    Returns
    -------
    model : SerModel
        In eval mode, on ``device``.
    meta : dict
        The checkpoint JSON (classes, streams with frontend specs and normalisers, config, ...).

    Raises
    ------
    CheckpointError
        Missing files, or weights that do not match the model the JSON describes.
    """
    from safetensors.torch import load_model

    from serkit.models import create_model

    directory = Path(directory)
    meta = read_checkpoint_meta(directory)
    weights = directory / WEIGHTS
    if not weights.is_file():
        raise CheckpointError(f"The checkpoint {directory} has no {WEIGHTS}; it is incomplete.")
    model = create_model(**meta["model"])
    try:
        load_model(model, str(weights), strict=True, device=device)
    except (RuntimeError, KeyError) as exc:
        raise CheckpointError(
            f"The weights in {weights} do not match the model described by {META}: {str(exc).splitlines()[0]}"
        ) from None
    model.to(device)
    model.eval()
    return model, meta
