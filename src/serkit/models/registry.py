"""Build any serkit model by name: ``@register_model``, ``create_model``, ``list_models``, ``model_info``.

A registered class takes ``num_classes`` and ``input_dims`` plus keyword-only, typed hyperparameters whose
defaults are its paper's values; those defaults are the model's ``defaults`` in :func:`model_info`. Unknown
names suggest close matches; unknown configuration keys are refused with the list of valid ones (timm's
``_registry.py``, without its pretrained-weight machinery).

Examples
--------
>>> model = create_model("mfcc_cnn1d", num_classes=8, input_dims={"mfcc": 40})
>>> sorted(model.config)
['cfg', 'input_dims', 'name', 'num_classes', 'stream_names']
"""

from __future__ import annotations

import collections.abc
import difflib
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from serkit.errors import ParameterError

__all__ = [
    "ModelInfo",
    "count_parameters",
    "create_model",
    "get_model_class",
    "list_models",
    "model_info",
    "register_model",
]

_STREAM_KINDS = ("frames", "vector")
_RESERVED = ("num_classes", "input_dims")
_REGISTRY: dict[str, ModelInfo] = {}

T = TypeVar("T")


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one model.

    Attributes
    ----------
    name : str
        Registered name.
    paper : str
        The paper (file stem under ``shared/papers/`` or citation) whose architecture it builds.
    inputs : dict[str, str]
        Stream role -> ``"frames"`` or ``"vector"``.
    defaults : dict[str, Any]
        Every hyperparameter with its default (the paper's value).
    cls : type
        The class ``create_model`` instantiates.
    description : str
        First line of the class docstring.
    typical_dims : dict[str, int]
        Feature dims used for parameter counts in docs and ``serkit models list``.
    typical_fps : dict[str, float]
        Frames per second of each frames stream at the paper's frontend (for step-time benchmarks).
    is_torch : bool
        True for ``torch.nn.Module`` models (classic scikit-learn learners are not).
    """

    name: str
    paper: str
    inputs: dict[str, str]
    defaults: dict[str, Any]
    cls: type = field(repr=False)
    description: str = ""
    typical_dims: dict[str, int] = field(default_factory=dict)
    typical_fps: dict[str, float] = field(default_factory=dict)
    is_torch: bool = True


def register_model(
    name: str,
    *,
    paper: str,
    inputs: Mapping[str, str],
    typical_dims: Mapping[str, int] | None = None,
    typical_fps: Mapping[str, float] | None = None,
) -> Callable[[type[T]], type[T]]:
    """Class decorator: register a model under ``name``.

    Parameters
    ----------
    name : str
        Unique registry name (lower_snake_case).
    paper : str
        The paper it implements (e.g. ``"drsn-bigru-mel-spectrogram"``).
    inputs : mapping str -> {"frames", "vector"}
        The stream roles the model reads.
    typical_dims : mapping str -> int, optional
        Feature dims for parameter counts (default 64 per role).
    typical_fps : mapping str -> float, optional
        Frame rate of each frames role at the paper's frontend (default 100).

    Raises
    ------
    ParameterError
        If ``name`` is taken, a kind is unknown, or the class's ``__init__`` lacks keyword-only
        ``num_classes``/``input_dims``.
    """
    inputs = dict(inputs)
    bad = {r: k for r, k in inputs.items() if k not in _STREAM_KINDS}
    if bad:
        raise ParameterError(
            f"register_model('{name}'): stream kinds must be one of {_STREAM_KINDS}. Got {bad}."
        )

    def decorator(cls: type[T]) -> type[T]:
        if name in _REGISTRY and _REGISTRY[name].cls is not cls:
            raise ParameterError(f"A model named '{name}' is already registered ({_REGISTRY[name].cls}).")
        params = inspect.signature(cls.__init__).parameters
        for r in _RESERVED:
            if r not in params:
                raise ParameterError(f"register_model('{name}'): {cls.__name__}.__init__ must accept '{r}'.")
        defaults = {
            p.name: p.default
            for p in params.values()
            if p.name != "self" and p.name not in _RESERVED and p.kind is inspect.Parameter.KEYWORD_ONLY
        }
        try:
            import torch.nn

            is_torch = issubclass(cls, torch.nn.Module)
        except ImportError:  # pragma: no cover - torch is a hard dependency
            is_torch = False
        # The class knows its own name and inputs (SerModel reads them); a subclass registered under
        # another name gets its own copies.
        cls.model_name = name  # type: ignore[attr-defined]
        cls.paper = paper  # type: ignore[attr-defined]
        cls.inputs = dict(inputs)  # type: ignore[attr-defined]
        doc = inspect.getdoc(cls) or ""
        _REGISTRY[name] = ModelInfo(
            name=name,
            paper=paper,
            inputs=dict(inputs),
            defaults=defaults,
            cls=cls,
            description=doc.splitlines()[0] if doc else "",
            typical_dims={r: int((typical_dims or {}).get(r, 64)) for r in inputs},
            typical_fps={
                r: float((typical_fps or {}).get(r, 100.0)) for r, k in inputs.items() if k == "frames"
            },
            is_torch=is_torch,
        )
        return cls

    return decorator


def _unknown_name(name: str) -> ParameterError:
    close = difflib.get_close_matches(str(name), list(_REGISTRY), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return ParameterError(
        f"Unknown model '{name}'.{hint} `serkit models list` prints every model ({len(_REGISTRY)} registered)."
    )


def model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of ``name``; unknown names raise ParameterError with close matches."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise _unknown_name(name) from None


def get_model_class(name: str) -> type:
    """The class registered as ``name``."""
    return model_info(name).cls


def list_models(*, torch_only: bool = False, paper: str | None = None) -> list[str]:
    """Registered names, sorted; ``torch_only`` drops non-torch (classic) learners; ``paper`` filters."""
    return sorted(
        n
        for n, i in _REGISTRY.items()
        if (not torch_only or i.is_torch) and (paper is None or i.paper == paper)
    )


def create_model(
    name: str,
    *,
    num_classes: int,
    input_dims: Mapping[str, int],
    cfg: Mapping[str, Any] | None = None,
    stream_names: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Any:
    """Build model ``name``.

    Parameters
    ----------
    name : str
        A name from :func:`list_models`.
    num_classes : int >= 1
        Classes of the logits.
    input_dims : mapping str -> int
        Feature dim F of each stream role the model reads (``model_info(name).inputs``); extra roles are
        ignored.
    cfg : mapping, optional
        Hyperparameters (as in ``model.config["cfg"]``); ``**overrides`` update it.
    stream_names : mapping str -> str, optional
        Role -> batch stream name, where they differ (default: the role's own name).
    **overrides
        Hyperparameters as keywords.

    Returns
    -------
    SerModel (or the registered class)

    Raises
    ------
    ParameterError
        Unknown name (with close matches), unknown hyperparameter (naming it and listing valid ones),
        missing input dims, unknown roles in ``stream_names``.
    """
    info = model_info(name)
    merged = {**dict(cfg or {}), **overrides}
    unknown = sorted(k for k in merged if k not in info.defaults)
    if unknown:
        hints = []
        for k in unknown:
            close = difflib.get_close_matches(k, list(info.defaults), n=1, cutoff=0.6)
            hints.append(f"'{k}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise ParameterError(
            f"Unknown configuration key(s) for model '{name}': {', '.join(hints)}. "
            f"Valid keys: {', '.join(sorted(info.defaults)) or '(none)'}."
        )
    missing = [r for r in info.inputs if r not in input_dims]
    if missing:
        raise ParameterError(
            f"Model '{name}' reads inputs {info.inputs}; input_dims lacks {missing}. Got {dict(input_dims)}."
        )
    _check_types(info, merged)
    dims = {r: input_dims[r] for r in info.inputs}
    model = info.cls(num_classes=num_classes, input_dims=dims, **merged)
    if stream_names:
        bad = sorted(set(stream_names) - set(info.inputs))
        if bad:
            raise ParameterError(
                f"stream_names for model '{name}' name unknown role(s) {bad}; its roles are {sorted(info.inputs)}."
            )
        model.stream_names.update(dict(stream_names))
    return model


def _check_types(info: ModelInfo, cfg: Mapping[str, Any]) -> None:
    """Refuse values that do not fit the annotated type (int, float, bool, str, Literal, sequences of int)."""
    try:
        hints = typing.get_type_hints(info.cls.__init__)
    except Exception:  # pragma: no cover - unresolvable annotations: let the class validate
        return
    for key, value in cfg.items():
        hint = hints.get(key)
        if hint is not None and not _fits(value, hint):
            raise ParameterError(
                f"The '{key}' parameter of model '{info.name}' must be {_describe(hint)}. Got {value!r} instead."
            )


def _fits(value: Any, hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin is typing.Literal:
        return value in args and type(value) in {type(a) for a in args}
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (collections.abc.Sequence, list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        inner = args[0] if args else Any
        return all(_fits(v, inner) for v in value)
    return True  # other annotations: the class checks


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (collections.abc.Sequence, list, tuple):
        return f"a list (each {_describe(args[0]) if args else 'a value'})"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    return {bool: "a bool", int: "an int", float: "a number", str: "a string", type(None): "null"}.get(
        hint, str(hint)
    )


def count_parameters(name: str, *, num_classes: int = 8, input_dims: Mapping[str, int] | None = None) -> int:
    """Parameters of ``name`` at its default config (``typical_dims`` unless ``input_dims`` is given)."""
    info = model_info(name)
    if not info.is_torch:
        return 0
    model = create_model(name, num_classes=num_classes, input_dims=dict(input_dims or info.typical_dims))
    return sum(p.numel() for p in model.parameters())
