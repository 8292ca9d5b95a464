"""Typed experiment configuration: plain YAML in, nested frozen dataclasses out (CONVENTIONS #12).

A configuration schema is an ordinary (frozen or not) dataclass whose fields may themselves be
dataclasses; :func:`load_config` reads a YAML file (with :func:`yaml.safe_load` only, so YAML tags
such as ``!!python/object`` or SpeechBrain's ``!new:`` are rejected, never executed), applies
``key.sub=value`` overrides, checks every value against the field annotations and returns an
instance. The code past the loader sees typed objects, never dicts of dicts. This is SpeechBrain's
``train.yaml`` minus its object graphs.

Type rules (annotations are read with :func:`typing.get_type_hints`):

=========================  ==========================================================================
``int``                    an int (not a bool, not a float such as ``3.0``)
``float``                  a float or an int (converted). YAML 1.1, which PyYAML follows, reads
                           ``1e-3`` (no dot) as a string; such a number-shaped string is accepted
``str``                    a string only; ``no``, ``on``, ``2020`` are not strings in YAML: quote them
``bool``                   ``true``/``false`` as YAML gives them; the strings ``"yes"``/``"1"`` are errors
``X | None``               ``null`` (or an absent key when the default is ``None``) or an ``X``
``Literal["a", "b"]``      one of the listed values (same type); the error lists them
``tuple[int, ...]``        a YAML list; ``tuple[int, str]`` is a list of exactly that shape
``list[str]``              a YAML list
``dict[str, float]``       a YAML mapping; keys and values are checked
nested dataclass           a YAML mapping (a section), checked recursively
``pathlib.Path``           a string. Relative paths are resolved against the folder of the YAML file
                           that holds them (so a config can name data next to itself); paths given
                           in overrides, or in a ``dict`` source, are resolved against the current
                           working directory (or ``base_dir``). ``~`` is expanded. Loaded paths
                           are therefore absolute and normalised
``Enum`` subclass          a member's value (``happy`` for ``Emotion.HAPPY = "happy"``)
``Any``                    anything YAML gives, unchecked
=========================  ==========================================================================

Fields without a default are required; an unknown key is an error that suggests close matches and
lists the valid keys. The dataclasses' ``__post_init__`` validation still runs; a ``ValueError``
(:class:`~serkit.errors.ParameterError` included) raised there is re-raised as a
:class:`~serkit.errors.ConfigError` naming the section. Every problem with a configuration raises
:class:`~serkit.errors.ConfigError` naming the full dotted key (``optim.lr``, ``tags[2]``), where the
value came from (the file, the override, or the mapping), the expected type and the value got.

A run saves its resolved configuration with :func:`save_config` (:func:`dump_config` gives the plain
data) and cites it in result files with :func:`config_digest`. ``load_config(cls, save_config(cfg,
path)) == cfg``. Because loaded paths are absolute, the digest of a configuration that names a data
folder depends on where that folder is.

Example
-------
>>> from dataclasses import dataclass
>>> from typing import Literal
>>> @dataclass(frozen=True)
... class Optim:
...     name: Literal["adam", "rmsprop"]
...     lr: float
...     batch_size: int = 64
>>> cfg = load_config(Optim, {"name": "adam", "lr": 0.01}, overrides=["lr=1e-3"])
>>> cfg
Optim(name='adam', lr=0.001, batch_size=64)
>>> dump_config(cfg)
{'name': 'adam', 'lr': 0.001, 'batch_size': 64}
>>> load_config(Optim, {"name": "adam", "lr": 0.01}, overrides=["batch_sise=32"])
Traceback (most recent call last):
...
serkit.errors.ConfigError: Unknown config key 'batch_sise' from override 'batch_sise=32'. Did you mean 'batch_size'? Valid keys of the top level (Optim): name, lr, batch_size.

Nested sections work the same way (``optim.lr=1e-3``); define the dataclasses at module level so
that :func:`typing.get_type_hints` can resolve their annotations.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import enum
import hashlib
import json
import os
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, Literal, TypeVar

import yaml

from serkit._io import atomic_write_text
from serkit.errors import ConfigError, ParameterError

__all__ = ["config_digest", "dump_config", "load_config", "save_config"]

T = TypeVar("T")

# YAML 1.2 / JSON number shapes that PyYAML (YAML 1.1) leaves as strings, such as 1e-3 or 5E4.
_FLOAT_STRING = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# ---------------------------------------------------------------------------------------------
# Context and messages


@dataclass(frozen=True)
class _Context:
    """Where values come from, for error messages and for resolving relative paths."""

    source: str  # "config file 'configs/exp.yaml'" or "the config mapping"
    base_dir: Path  # folder that relative paths in the source are resolved against
    overrides: Mapping[tuple[str, ...], str]  # key path -> the override text that set it

    def override_for(self, path: tuple[str, ...]) -> str | None:
        # A value inside an overridden section (optim={lr: 1}) also came from that override.
        for i in range(len(path), 0, -1):
            text = self.overrides.get(path[:i])
            if text is not None:
                return text
        return None

    def where(self, path: tuple[str, ...]) -> str:
        text = self.override_for(path)
        if text is not None:
            return f"from override {text!r}"
        return f"in {self.source}"

    def path_base(self, path: tuple[str, ...]) -> Path:
        # A path typed on the command line is meant relative to where the command runs.
        return Path.cwd() if self.override_for(path) is not None else self.base_dir


def _dotted(path: Sequence[str]) -> str:
    out = ""
    for part in path:
        if part.startswith("["):
            out += part
        else:
            out += ("." if out else "") + part
    return out


def _key_part(key: Any) -> str:
    """A path segment for a mapping key: ``name`` when it reads as one, else ``['a.b']``."""
    if isinstance(key, str) and _IDENTIFIER.fullmatch(key):
        return key
    return f"[{key!r}]"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _item_label(tp: Any) -> str:
    """``_type_label`` without its article, for container items: 'a list of int'."""
    label = _type_label(tp)
    for article in ("a ", "an "):
        if label.startswith(article):
            return label[len(article) :]
    return label


def _type_label(tp: Any) -> str:
    """A readable name for an annotation, used in messages."""
    if tp is type(None):
        return "null"
    if tp is Any:
        return "any value"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if _is_union(tp):
        return " or ".join(_type_label(a) for a in args)
    if origin in (tuple, list):
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            return f"a list of exactly {len(args)} items ({', '.join(_type_label(a) for a in args)})"
        item = args[0] if args else Any
        return f"a list of {_item_label(item)}"
    if origin is dict:
        key_tp, value_tp = args if args else (Any, Any)
        return f"a mapping of {_item_label(key_tp)} to {_item_label(value_tp)}"
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return f"a mapping (the {tp.__name__} section)"
        if issubclass(tp, enum.Enum):
            return f"one of {', '.join(repr(m.value) for m in tp)} ({tp.__name__})"
        if issubclass(tp, PurePath):
            return "a path string"
        if tp is bool:
            return "a bool (true or false)"
        if tp is float:
            return "a float (ints accepted)"
        if tp is int:
            return "an int"
        if tp is str:
            return "a str"
        return f"a {tp.__name__}"
    return str(tp)


def _type_error(ctx: _Context, path: tuple[str, ...], tp: Any, value: Any, fix: str = "") -> ConfigError:
    what = f"Config key '{_dotted(path)}'" if path else "The config"
    got = f"{_short(value)} ({type(value).__name__})"
    message = f"{what} {ctx.where(path)} must be {_type_label(tp)}. Got {got} instead."
    if not fix and isinstance(value, bool) and tp is not bool:
        fix = "YAML reads yes/no/on/off/true/false as booleans; quote the value to get a string."
    elif not fix and tp is str and isinstance(value, int | float):
        fix = f"Quote the value ('{value}') to get a string."
    error = ConfigError(message + (f" {fix}" if fix else ""))
    # Kept for unions: an error about this very value is rephrased with the union's type.
    error.key_path = path  # type: ignore[attr-defined]
    error.fix = fix  # type: ignore[attr-defined]
    return error


# ---------------------------------------------------------------------------------------------
# Conversion of plain data to typed values


def _is_union(tp: Any) -> bool:
    return isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except NameError as exc:
        raise ConfigError(
            f"The annotations of config class {cls.__qualname__} cannot be resolved ({exc}). "
            "Define config dataclasses at module level so their annotations can be evaluated."
        ) from exc


def _init_fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def _section_class(tp: Any) -> type | None:
    """The dataclass a key holds (also through ``X | None``), or None."""
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return tp
    if _is_union(tp):
        found = [a for a in typing.get_args(tp) if isinstance(a, type) and dataclasses.is_dataclass(a)]
        if len(found) == 1:
            return found[0]
    return None


def _unknown_key_error(
    ctx: _Context, path: tuple[str, ...], key: Any, cls: type, *, override: str | None = None
) -> ConfigError:
    valid = list(_init_fields(cls))
    close = difflib.get_close_matches(str(key), valid, n=3) if isinstance(key, str) else []
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    full = _dotted((*path, _key_part(key)))
    where = f"from override {override!r}" if override is not None else ctx.where(path)
    section = f"section '{_dotted(path)}'" if path else "the top level"
    return ConfigError(
        f"Unknown config key '{full}' {where}.{hint} Valid keys of {section} ({cls.__name__}): "
        f"{', '.join(valid) if valid else '(none)'}."
    )


def _convert(ctx: _Context, path: tuple[str, ...], tp: Any, value: Any) -> Any:
    """Check ``value`` against annotation ``tp`` and convert it (lists to tuples, str to Path...)."""
    if tp is Any:
        return value
    if tp is type(None):
        if value is None:
            return None
        raise _type_error(ctx, path, tp, value)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)

    if _is_union(tp):
        if value is None and type(None) in args:
            return None
        members = [a for a in args if a is not type(None)]
        if isinstance(value, str) and str in members:
            return value  # do not let the lenient float rule turn a str member's value into a float
        errors: list[ConfigError] = []
        for member in members:
            try:
                return _convert(ctx, path, member, value)
            except ConfigError as exc:
                errors.append(exc)
        for exc in errors:
            if getattr(exc, "key_path", None) != path:
                raise exc  # the value had this member's shape; the problem is deeper inside it
        fixes = [getattr(exc, "fix", "") for exc in errors]
        raise _type_error(ctx, path, tp, value, next((f for f in fixes if f), "")) from None

    if origin is Literal:
        for allowed in args:
            if type(value) is type(allowed) and value == allowed:
                return allowed
        close = (
            difflib.get_close_matches(value, [a for a in args if isinstance(a, str)], n=1)
            if isinstance(value, str)
            else []
        )
        raise _type_error(ctx, path, tp, value, f"Did you mean {close[0]!r}?" if close else "")

    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise _type_error(ctx, path, tp, value, "Write a YAML list such as [a, b].")
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                raise _type_error(ctx, path, tp, value)
            item_types = list(args)
        else:
            item_types = [args[0] if args else Any] * len(value)
        items = [
            _convert(ctx, (*path, f"[{i}]"), item_tp, item)
            for i, (item_tp, item) in enumerate(zip(item_types, value, strict=True))
        ]
        return tuple(items) if origin is tuple else items

    if origin is dict:
        if not isinstance(value, Mapping):
            raise _type_error(ctx, path, tp, value)
        key_tp, value_tp = args if args else (Any, Any)
        out = {}
        for key, item in value.items():
            key_path = (*path, _key_part(key))
            out[_convert(ctx, key_path, key_tp, key)] = _convert(ctx, key_path, value_tp, item)
        return out

    if origin is not None or not isinstance(tp, type):
        raise ConfigError(
            f"Config key '{_dotted(path)}' has the annotation {tp!r}, which load_config does not support. "
            "Use int, float, str, bool, X | None, Literal, tuple, list, dict, Path, an Enum or a dataclass."
        )

    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise _type_error(ctx, path, tp, value)
        return _build(ctx, path, tp, value)
    if issubclass(tp, enum.Enum):
        if isinstance(value, tp):
            return value
        for member in tp:
            if type(member.value) is type(value) and member.value == value:
                return member
        raise _type_error(ctx, path, tp, value)
    if issubclass(tp, PurePath):
        if not isinstance(value, str | os.PathLike) or (isinstance(value, str) and not value):
            raise _type_error(ctx, path, tp, value)
        raw = Path(value).expanduser()
        return tp(os.path.abspath(raw if raw.is_absolute() else ctx.path_base(path) / raw))
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _type_error(ctx, path, tp, value)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _type_error(ctx, path, tp, value)
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and _FLOAT_STRING.fullmatch(value.strip()):
            return float(value)
        raise _type_error(ctx, path, tp, value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise _type_error(ctx, path, tp, value)
    raise ConfigError(
        f"Config key '{_dotted(path)}' has the type {tp.__name__}, which load_config does not support. "
        "Use int, float, str, bool, X | None, Literal, tuple, list, dict, Path, an Enum or a dataclass."
    )


def _build(ctx: _Context, path: tuple[str, ...], cls: type[T], data: Mapping[Any, Any]) -> T:
    hints = _hints(cls)
    fields = _init_fields(cls)
    for key in data:
        if key not in fields:
            raise _unknown_key_error(ctx, path, key, cls)
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        key_path = (*path, name)
        if name in data:
            kwargs[name] = _convert(ctx, key_path, hints.get(name, Any), data[name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            section = f"section '{_dotted(path)}'" if path else "the top level"
            raise ConfigError(
                f"Required config key '{_dotted(key_path)}' is missing {ctx.where(path)} "
                f"({section}, {cls.__name__}). It must be {_type_label(hints.get(name, Any))}; "
                f"add '{name}: ...' there."
            )
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except ValueError as exc:
        section = f"section '{_dotted(path)}'" if path else "the top level"
        raise ConfigError(f"Config {section} ({cls.__name__}) {ctx.where(path)} is invalid: {exc}") from exc


# ---------------------------------------------------------------------------------------------
# Reading, overrides


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"Config file '{path}' does not exist. Check the path.") from None
    except IsADirectoryError:
        raise ConfigError(f"Config file '{path}' is a directory; give a YAML file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Config file '{path}' cannot be read: {exc}") from exc
    return _parse_yaml(text, f"config file '{path}'")


def _parse_yaml(text: str, what: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ConfigError(
            f"The {what}{where} uses a YAML tag that serkit does not accept: {exc.problem}. "
            "Configs are plain YAML read with yaml.safe_load; objects are never built from tags. "
            "Replace the tagged node with plain values."
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"The {what} is not valid YAML: {exc}") from None


def _parse_override(text: str) -> tuple[tuple[str, ...], Any]:
    if not isinstance(text, str) or "=" not in text:
        raise ConfigError(
            f"Config override {text!r} must have the form key.sub=value (for example optim.lr=1e-3)."
        )
    key, _, raw = text.partition("=")
    parts = tuple(key.strip().split("."))
    if not all(_IDENTIFIER.fullmatch(p) for p in parts):
        raise ConfigError(
            f"Config override {text!r} has the key {key.strip()!r}; a key is dotted names such as "
            "optim.lr (letters, digits, underscores)."
        )
    return parts, _parse_yaml(raw, f"value of config override {text!r}")


def _apply_override(ctx: _Context, data: dict[Any, Any], cls: type, text: str) -> list[tuple[str, ...]]:
    """Set one override in ``data`` (a deep copy), following the schema.

    Returns the key paths whose values now come from this override: the key itself and any
    section it had to create.
    """
    parts, value = _parse_override(text)
    touched: list[tuple[str, ...]] = []
    node: dict[Any, Any] = data
    node_cls: type | None = cls  # None: inside a dict[...] field, whose keys are free
    for depth, part in enumerate(parts):
        path = parts[:depth]
        last = depth == len(parts) - 1
        tp: Any = Any
        if node_cls is not None:
            fields = _init_fields(node_cls)
            if part not in fields:
                raise _unknown_key_error(ctx, path, part, node_cls, override=text)
            tp = _hints(node_cls).get(part, Any)
        if last:
            node[part] = value
            touched.append(parts)
            break
        section = _section_class(tp) if node_cls is not None else None
        is_mapping = typing.get_origin(tp) is dict or tp is Any
        if section is None and not is_mapping:
            raise ConfigError(
                f"Config override {text!r} sets a sub-key of '{_dotted((*path, part))}', which is "
                f"{_type_label(tp)}, not a section. Override the whole value: {_dotted((*path, part))}=..."
            )
        child = node.get(part)
        if child is None:
            child = node[part] = {}
            touched.append((*path, part))
        elif not isinstance(child, dict):
            raise _type_error(ctx, (*path, part), tp, child)
        node, node_cls = child, section
    return touched


# ---------------------------------------------------------------------------------------------
# Public API


def load_config(
    cls: type[T],
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    overrides: Sequence[str] = (),
    base_dir: str | os.PathLike[str] | None = None,
) -> T:
    """Read a YAML configuration into an instance of the dataclass ``cls``, checking every value.

    Parameters
    ----------
    cls : type
        A dataclass (frozen or not) whose fields, possibly nested dataclasses, form the schema;
        see the module docstring for the supported annotations.
    source : str or os.PathLike or Mapping
        Path of a YAML file whose top level is a mapping, or the plain data itself (a ``dict`` as
        ``yaml.safe_load`` would give; it is not modified).
    overrides : sequence of str
        ``"key.sub=value"`` strings applied in order before type checking, so they are checked
        too. The value is parsed with :func:`yaml.safe_load`: ``lr=1e-3``, ``layers=[1,2]``,
        ``name=foo``, ``flag=true``, ``optim={name: adam, lr: 0.1}``; an empty value is ``null``.
        A key may go through sections and into ``dict`` fields (``loss_weights.happy=2``), not
        into lists (override the whole list).
    base_dir : str or os.PathLike, optional
        Folder that relative paths of a mapping ``source`` are resolved against; the default is
        the current working directory. For a file ``source`` the file's folder is always used.

    Returns
    -------
    instance of ``cls``
        With absolute ``Path`` values, tuples for ``tuple`` fields and Enum members for Enum fields.

    Raises
    ------
    ConfigError
        The file is missing or not YAML, uses a YAML tag (``!!python/object``...), a key is unknown
        (close matches are suggested), a required key is missing, a value has the wrong type or is
        not an allowed ``Literal``/Enum value, an override is malformed or names an unknown key, or
        a dataclass's ``__post_init__`` rejects its section (``ValueError``/``ParameterError``).
        The message names the dotted key, where the value came from, what is allowed and what was got.
    ParameterError
        ``cls`` is not a dataclass type or ``source`` is neither a path nor a mapping.
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise ParameterError(
            f"The 'cls' parameter of load_config must be a dataclass type. Got {cls!r} instead."
        )
    if isinstance(source, Mapping):
        data: Any = copy.deepcopy(dict(source))
        base = Path(os.path.abspath(Path(base_dir).expanduser() if base_dir is not None else Path.cwd()))
        where = "the config mapping"
    elif isinstance(source, str | os.PathLike):
        file = Path(source).expanduser()
        data = _read_yaml(file)
        base = Path(os.path.abspath(file)).parent
        where = f"config file '{file}'"
        if data is None:
            data = {}  # an empty file: every required key is then reported missing
    else:
        raise ParameterError(
            "The 'source' parameter of load_config must be a path to a YAML file or a mapping. "
            f"Got {type(source).__name__} instead."
        )
    if isinstance(overrides, str):
        raise ParameterError(
            "The 'overrides' parameter of load_config must be a sequence of 'key=value' strings, "
            f"not one string. Got {overrides!r}; wrap it in a list."
        )
    ctx = _Context(source=where, base_dir=base, overrides={})
    if not isinstance(data, dict):
        raise _type_error(ctx, (), cls, data, "The top level of a config file must be a mapping of keys.")
    applied: dict[tuple[str, ...], str] = {}
    for text in overrides:
        for parts in _apply_override(ctx, data, cls, text):
            # A later override of a section replaces what earlier ones set inside it.
            for key in [k for k in applied if k[: len(parts)] == parts]:
                del applied[key]
            applied[parts] = text
    ctx = dataclasses.replace(ctx, overrides=applied)
    return _build(ctx, (), cls, data)


def dump_config(obj: Any) -> dict[str, Any]:
    """The plain data of a configuration dataclass instance, as YAML and JSON can hold it.

    Nested dataclasses become dicts (in field order), ``Path`` values strings, Enum members their
    values and tuples lists. ``load_config(type(obj), dump_config(obj)) == obj`` for a loaded config.

    Parameters
    ----------
    obj : dataclass instance
        A configuration, usually from :func:`load_config`.

    Returns
    -------
    dict
        Built of dict, list, str, int, float, bool and None only.

    Raises
    ------
    ParameterError
        ``obj`` is not a dataclass instance.
    ConfigError
        A field holds a value of a type that has no plain form (named by its dotted key).
    """
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise ParameterError(
            f"The 'obj' parameter of dump_config must be a dataclass instance. Got {type(obj).__name__} instead."
        )
    return _plain(obj, ())


def _plain(value: Any, path: tuple[str, ...]) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name), (*path, f.name))
            for f in dataclasses.fields(value)
            if f.init
        }
    if isinstance(value, enum.Enum):
        return _plain(value.value, path)
    if isinstance(value, PurePath):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v, (*path, f"[{i}]")) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        return {_plain(k, path): _plain(v, (*path, _key_part(k))) for k, v in value.items()}
    raise ConfigError(
        f"Config key '{_dotted(path)}' holds {_short(value)} ({type(value).__name__}), which has no "
        "plain YAML form. Use int, float, str, bool, None, Path, an Enum, a list, tuple, dict or dataclass."
    )


def save_config(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write a resolved configuration as YAML, atomically (a temporary file, then ``os.replace``).

    A reader never sees a half-written file, and an existing file is replaced only once the new one
    is complete. Missing parent folders are created. The first line is a comment naming the class
    and :func:`config_digest`.

    Parameters
    ----------
    obj : dataclass instance
        The configuration to save.
    path : str or os.PathLike
        Destination file, conventionally ``<run_dir>/config.yaml``.

    Returns
    -------
    Path
        ``path``, so that ``load_config(cls, save_config(cfg, path)) == cfg``.

    Raises
    ------
    ParameterError, ConfigError
        As :func:`dump_config`.
    """
    data = dump_config(obj)
    cls = type(obj)
    header = f"# serkit config {cls.__module__}.{cls.__qualname__}, digest {_digest(data)}\n"
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    if yaml.safe_load(body) != data:
        # PyYAML writes some characters (NEL, U+0085) raw in unicode mode and reads them back as line
        # breaks; escaping everything outside ASCII is always faithful, if less readable.
        body = yaml.safe_dump(data, sort_keys=False, allow_unicode=False, default_flow_style=False)
    return atomic_write_text(path, header + body)


def config_digest(obj: Any) -> str:
    """A stable short hash of a configuration, for result files to cite.

    The first 16 hex digits of the SHA-256 of the canonical JSON (sorted keys, no spaces) of
    :func:`dump_config`. Equal configurations give equal digests in any process; any change of a
    value (also of a default that was not written in the YAML) changes it. Paths are absolute after
    loading, so a config naming a data folder hashes differently where that folder lives elsewhere.

    Parameters
    ----------
    obj : dataclass instance
        The configuration.

    Returns
    -------
    str
        16 lowercase hex characters.

    Raises
    ------
    ParameterError, ConfigError
        As :func:`dump_config`.
    """
    return _digest(dump_config(obj))


def _digest(data: dict[str, Any]) -> str:
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
