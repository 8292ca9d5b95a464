"""Frontend specifications: a name plus typed parameters, parsed from text and hashed stably.

``FrontendSpec.parse("logmel(n_mels=40, hop_length=200)")`` gives a spec whose ``str()`` is canonical
(sorted parameters) and whose :attr:`FrontendSpec.digest` keys the feature cache.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from serkit.errors import ParameterError

__all__ = ["FrontendSpec"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _literal(value: Any) -> Any:
    """Normalise a parameter value to a hashable JSON-friendly literal."""
    if isinstance(value, list | tuple):
        return tuple(_literal(v) for v in value)
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    raise ParameterError(
        f"Frontend parameters must be numbers, strings, booleans, None or tuples of them. Got {value!r}."
    )


@dataclass(frozen=True)
class FrontendSpec:
    """A frontend name and its parameters (sorted by name).

    Parameters
    ----------
    name : str
        Registered frontend name, e.g. ``"logmel"``.
    params : tuple of (str, value) pairs
        Parameter overrides; parameters not given take the frontend's defaults.
    """

    name: str
    params: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, name: str, **params: Any) -> FrontendSpec:
        return cls(name, tuple(sorted((k, _literal(v)) for k, v in params.items())))

    @classmethod
    def parse(cls, text: str) -> FrontendSpec:
        """Parse ``"name"`` or ``"name(key=value, ...)"``; values are Python literals.

        Raises
        ------
        ParameterError
            If the text is not of that form.
        """
        text = text.strip()
        if _NAME.match(text):
            return cls(text)
        try:
            node = ast.parse(text, mode="eval").body
        except SyntaxError as exc:
            raise ParameterError(
                f"Cannot parse frontend spec {text!r}: expected NAME or NAME(key=value, ...), "
                f"e.g. 'logmel(n_mels=40, hop_length=200)'."
            ) from exc
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args):
            raise ParameterError(
                f"Cannot parse frontend spec {text!r}: expected NAME(key=value, ...) with keyword "
                f"arguments only, e.g. 'mfcc(n_mfcc=80)'."
            )
        params: dict[str, Any] = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise ParameterError(f"Frontend spec {text!r}: '**' is not allowed.")
            try:
                params[kw.arg] = ast.literal_eval(kw.value)
            except ValueError as exc:
                raise ParameterError(
                    f"Frontend spec {text!r}: the value of {kw.arg!r} must be a literal "
                    f"(number, string, True/False, None or a tuple)."
                ) from exc
        return cls.of(node.func.id, **params)

    def __str__(self) -> str:
        if not self.params:
            return self.name
        inner = ", ".join(f"{k}={v!r}" for k, v in self.params)
        return f"{self.name}({inner})"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": {k: v for k, v in self.params}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrontendSpec:
        return cls.of(data["name"], **data.get("params", {}))

    @property
    def digest(self) -> str:
        """A stable 16-hex-digit hash of the name and parameters."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
