"""Lazy package exports (PEP 562): names are imported from their submodule on first use.

Packages whose submodules pull in heavy libraries (torch, pandas, scikit-learn, matplotlib) use this, so
that importing one light piece of them, or the package itself, stays cheap (``serkit predict``'s cold start).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for ``package``; ``exports`` maps name -> submodule (relative).

    Usage, in ``package/__init__.py``::

        __all__, __getattr__, __dir__ = lazy_exports(__name__, {"load_config": "config"})
    """
    names = dict(exports)

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        vars(importlib.import_module(package))[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(importlib.import_module(package)), *names})

    return sorted(names), __getattr__, __dir__
