"""The frontend base class and the registry that builds frontends by name.

A frontend is a frozen dataclass whose fields are its parameters (with units in their names and
defaults only in the signature), registered under a short name::

    @register_frontend
    @dataclass(frozen=True)
    class LogMel(Frontend):
        name: ClassVar[str] = "logmel"
        n_mels: int = 40
        def extract_batch(self, waveforms, *, sample_rate): ...

``build_frontend("logmel(n_mels=64)")`` returns ``LogMel(n_mels=64)``. Its :attr:`Frontend.spec`
holds *every* parameter (defaults resolved), so the cache key changes when a default changes, and
``version`` is part of the key so that a numerical fix invalidates old cache entries.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from serkit.errors import ParameterError
from serkit.features.spec import FrontendSpec

__all__ = [
    "Frontend",
    "build_frontend",
    "get_frontend_class",
    "list_frontends",
    "register_frontend",
]

SAMPLE_RATE = 16_000

_REGISTRY: dict[str, type[Frontend]] = {}


class Frontend:
    """Base class of every frontend (subclasses are frozen dataclasses).

    Class attributes
    ----------------
    name : str
        Registry name used in specs.
    paper : str
        Where the representation comes from (paper or reference), for the docs.
    output : str
        ``"frames"`` for time-major arrays ``(n_frames, n_features)`` (or higher rank, documented per
        frontend), ``"vector"`` for one fixed-length vector per utterance.
    version : int
        Bumped when the numbers a frontend produces change; part of the cache key.
    aliases : dict
        Alternative parameter names accepted in specs (``{"hop": "hop_length"}``).
    """

    name: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    output: ClassVar[str] = "frames"
    version: ClassVar[int] = 1
    aliases: ClassVar[dict[str, str]] = {}

    def extract_batch(self, waveforms: Sequence[np.ndarray], *, sample_rate: int) -> list[np.ndarray]:
        """Features of each waveform (float32 mono at ``sample_rate`` Hz); one array per input."""
        raise NotImplementedError

    def __call__(self, waveform: np.ndarray, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
        """Features of one waveform ``[shape=(n_samples,)]``."""
        return self.extract_batch([waveform], sample_rate=sample_rate)[0]

    @property
    def spec(self) -> FrontendSpec:
        """The full spec: every parameter with its value, defaults included, plus the version."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        return FrontendSpec.of(self.name, **values)

    @property
    def cache_digest(self) -> str:
        """Key of this frontend's output in the feature cache (spec digest + version)."""
        return f"{self.name}-v{self.version}-{self.spec.digest}"


def register_frontend(cls: type[Frontend]) -> type[Frontend]:
    """Class decorator: make ``cls`` buildable by ``cls.name``."""
    if not dataclasses.is_dataclass(cls) or not cls.name:
        raise TypeError(f"{cls.__name__} must be a dataclass with a non-empty 'name' class attribute.")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"A frontend named {cls.name!r} is already registered.")
    _REGISTRY[cls.name] = cls
    return cls


def _ensure_builtin_frontends() -> None:
    # Importing the package registers its frontends (the modules decorate their classes).
    import serkit.features  # noqa: F401


def list_frontends() -> list[str]:
    """Names of all registered frontends, sorted."""
    _ensure_builtin_frontends()
    return sorted(_REGISTRY)


def get_frontend_class(name: str) -> type[Frontend]:
    _ensure_builtin_frontends()
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ParameterError(
            f"Unknown frontend {name!r}.{hint} Known frontends: {', '.join(sorted(_REGISTRY))}."
        ) from None


def _coerce(cls: type[Frontend], field: dataclasses.Field, value: Any) -> Any:
    """Check a spec value against the field's annotation; ints are accepted for floats."""
    hints = typing.get_type_hints(cls)
    expected = hints.get(field.name, Any)
    allowed: tuple[Any, ...] = (expected,)
    if isinstance(expected, types.UnionType) or typing.get_origin(expected) is typing.Union:
        allowed = typing.get_args(expected)
    for typ in allowed:
        if typ is Any:
            return value
        if typ is type(None) and value is None:
            return None
        if typ is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if typ is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if typ is bool and isinstance(value, bool):
            return value
        if typ is str and isinstance(value, str):
            return value
        origin = typing.get_origin(typ)
        if origin is tuple and isinstance(value, tuple | list):
            return tuple(value)
    raise ParameterError(
        f"The {field.name!r} parameter of frontend {cls.name!r} must be of type {expected}. "
        f"Got {value!r} instead."
    )


def build_frontend(spec: str | FrontendSpec | Frontend, **overrides: Any) -> Frontend:
    """Build a frontend from a spec string (``"mfcc(n_mfcc=80)"``), a :class:`FrontendSpec` or an instance.

    Raises
    ------
    ParameterError
        Unknown frontend name, unknown parameter (with the list of valid ones) or a value of the wrong type.
    """
    if isinstance(spec, Frontend):
        return dataclasses.replace(spec, **overrides) if overrides else spec  # type: ignore[type-var]
    if isinstance(spec, str):
        spec = FrontendSpec.parse(spec)
    cls = get_frontend_class(spec.name)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in [*spec.params, *overrides.items()]:
        key = cls.aliases.get(key, key)
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=2)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ParameterError(
                f"Frontend {cls.name!r} has no parameter {key!r}.{hint} Its parameters: {', '.join(fields)}."
            )
        kwargs[key] = _coerce(cls, fields[key], value)
    return cls(**kwargs)


def check_param(ok: bool, frontend: str, name: str, rule: str, value: Any) -> None:
    """Raise the standard ParameterError message when ``ok`` is false."""
    if not ok:
        raise ParameterError(f"The {name!r} parameter of {frontend} must be {rule}. Got {value!r} instead.")


FrontendFactory = Callable[..., Frontend]
