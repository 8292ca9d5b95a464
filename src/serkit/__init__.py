"""serkit: speech emotion recognition toolkit."""

from serkit.errors import (
    AudioError,
    ConfigError,
    CorpusError,
    ManifestError,
    ParameterError,
    SerkitError,
    SplitLeakError,
)

__version__ = "0.1.0"

__all__ = [
    "AudioError",
    "ConfigError",
    "CorpusError",
    "ManifestError",
    "ParameterError",
    "SerkitError",
    "SplitLeakError",
    "__version__",
]
