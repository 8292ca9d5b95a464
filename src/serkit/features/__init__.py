"""Feature frontends: audio at 16 kHz in, model inputs out, built by name from a spec string."""

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
