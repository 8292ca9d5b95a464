"""Every parameter of every registered frontend is part of its cache key.

For each frontend and each of its dataclass fields, other valid values are derived from the field's
type (numbers, text, booleans, None, tuples); each one that the frontend accepts must change
``cache_digest``, and equal specifications must give equal digests. A field with no valid
alternative value fails the test, so a new parameter cannot slip by untested.
"""

from __future__ import annotations

import dataclasses
import types
import typing

import pytest

from serkit.errors import ParameterError
from serkit.features import FrontendSpec, build_frontend, get_frontend_class, list_frontends
from serkit.features.cache import FeatureCache

# Parameters a frontend needs before it can be built at all (construction never loads weights:
# whisper, hf_encoder and egemaps load their models or openSMILE on the first extract_batch call).
BASE: dict[str, dict[str, typing.Any]] = {"hf_encoder": {"model": "/models/wav2vec2-base"}}

# Text values tried for str fields; a frontend rejects those that are not among its choices.
WORDS = (
    "hann",
    "hamming",
    "blackman",
    "slaney",
    "htk",
    "mean",
    "mean+std",
    "none",
    "all",
    "lld",
    "functionals",
    "GeMAPSv01b",
    "eGeMAPSv02",
    "db2",
    "sym5",
    "align",
    "pad",
    "drop",
    "tiny.en",
    "base",
    "/models/other",
)


def _members(annotation: typing.Any) -> tuple[typing.Any, ...]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return typing.get_args(annotation)
    return (annotation,)


def _candidates(annotation: typing.Any, default: typing.Any) -> list[typing.Any]:
    """Values of the annotated type other than ``default`` (some may be refused by the frontend)."""
    out: list[typing.Any] = []
    members = _members(annotation)
    if type(None) in members and default is not None:
        out.append(None)
    for typ in members:
        origin = typing.get_origin(typ)
        if typ is bool:
            out += [True, False]
        elif typ is int:
            base = default if isinstance(default, int) and not isinstance(default, bool) else 0
            out += [base + 1, base * 2, base - 1, 1, 2, 3, 64, 256, 400]
        elif typ is float:
            base = float(default) if isinstance(default, int | float) and default is not True else 0.0
            out += [base + 0.01, base * 0.5, base * 1.5, 0.5, 1.0, 2.0, 100.0, 1000.0, 7000.0]
        elif typ is str:
            out += list(WORDS)
        elif origin is tuple:
            (item, *_rest) = typing.get_args(typ) or (typing.Any,)
            if isinstance(default, tuple) and default:
                out += [default[:-1], default[1:], default + default[:1]]
            out += [(0,), (-1,), (0, 1)] if item is int else [("mean",), ("mean", "std")]
    return [v for v in out if not (type(v) is type(default) and v == default)]


def _build(name: str, **params: typing.Any):
    return build_frontend(FrontendSpec.of(name, **{**BASE.get(name, {}), **params}))


def _kind(value: typing.Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "text" if isinstance(value, str) else "tuple"


def _variations(name: str):
    """``(field, default, value, frontend)`` for every valid other value of every field of ``name``."""
    cls = get_frontend_class(name)
    hints = typing.get_type_hints(cls)
    reference = _build(name)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        default = getattr(reference, f.name)
        for value in _candidates(hints[f.name], default):
            try:
                other = _build(name, **{f.name: value})
            except (ParameterError, ValueError, TypeError):
                continue  # not a valid value for this frontend
            got = getattr(other, f.name)
            if got == default and type(got) is type(default):
                continue  # coerced to the same value (e.g. 1 -> 1.0)
            yield f.name, default, value, other


@pytest.mark.parametrize("name", list_frontends())
def test_every_parameter_changes_the_cache_digest(name, tmp_path):
    reference = _build(name)
    cache = FeatureCache(tmp_path)
    varied = set()
    for field, default, value, other in _variations(name):
        varied.add(field)
        assert other.cache_digest != reference.cache_digest, (
            f"{name}: changing {field} from {default!r} to {value!r} leaves the cache key "
            f"{reference.cache_digest} unchanged"
        )
        assert cache.folder(other) != cache.folder(reference)
        # ...and equal specs give equal digests, however they are written
        assert _build(name, **{field: value}).cache_digest == other.cache_digest
        assert build_frontend(str(other.spec)).cache_digest == other.cache_digest
    untested = [f.name for f in dataclasses.fields(type(reference)) if f.name not in varied]  # type: ignore[arg-type]
    assert not untested, f"{name}: no valid other value found for {untested}; add one to WORDS or BASE"


@pytest.mark.parametrize("name", list_frontends())
def test_equal_specs_give_equal_digests(name):
    a = _build(name)
    params = dict(a.spec.params)
    # every parameter spelled out, in reverse order, ints for integral floats
    spelled = {k: (int(v) if isinstance(v, float) and v.is_integer() else v) for k, v in params.items()}
    b = build_frontend(FrontendSpec(name, tuple(reversed(list(spelled.items())))))
    assert b.cache_digest == a.cache_digest
    assert build_frontend(str(a.spec)).cache_digest == a.cache_digest
    assert a.cache_digest.startswith(f"{name}-v{type(a).version}-")


def test_frontends_have_distinct_digests_and_all_value_kinds_are_varied():
    digests = [_build(name).cache_digest for name in list_frontends()]
    assert len(set(digests)) == len(digests)
    kinds = set()
    for name in list_frontends():
        for _field, default, value, _other in _variations(name):
            kinds |= {_kind(default), _kind(value)}
    assert kinds >= {"number", "text", "bool", "None", "tuple"}, kinds
