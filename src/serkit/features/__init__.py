"""Feature frontends: audio at 16 kHz in, model inputs out, built by name from a spec string.

Importing this package registers the built-in frontends. None of them imports an optional
dependency (openSMILE, transformers) until it is used.
"""

from serkit.features import encoders, functionals, normalise, opensmile, spectral  # noqa: F401  (registers frontends)
from serkit.features.frontend import (
    Frontend,
    build_frontend,
    get_frontend_class,
    list_frontends,
    register_frontend,
)
from serkit.features.spec import FrontendSpec

__all__ = [
    "Frontend",
    "FrontendSpec",
    "build_frontend",
    "get_frontend_class",
    "list_frontends",
    "register_frontend",
]
