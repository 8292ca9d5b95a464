"""The installed ``serkit`` console script ([project.scripts] in pyproject.toml), run as a user runs it.

Not ``python -m serkit`` nor ``serkit.cli.main()``: what is tested is the entry point pip wrote next to
this environment's interpreter, so a wrong or missing entry point fails here.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path


def installed_serkit() -> Path:
    """This environment's ``serkit`` script: next to the interpreter (a venv's bin), else on PATH."""
    beside = Path(sys.executable).parent / "serkit"
    found = beside if beside.is_file() else shutil.which("serkit")
    assert found, (
        f"no 'serkit' console script beside {sys.executable} or on PATH: install serkit (pip install -e .)"
    )
    script = Path(found)
    shebang = script.read_bytes().splitlines()[0].decode(errors="replace")
    interpreter = Path(shebang.removeprefix("#!").split()[0])
    assert interpreter.parent == Path(sys.executable).parent, (
        f"{script} runs {interpreter}, not this environment's Python ({sys.executable}): reinstall serkit"
    )
    return script


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(installed_serkit()), *args], capture_output=True, text=True, cwd=cwd)


def test_console_script_version_and_error_exit_code(tmp_path):
    version = run("--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"serkit {importlib.metadata.version('serkit')}"
    err = run("data", "stats", "emodb", str(tmp_path), cwd=tmp_path)
    assert err.returncode == 2
    assert "No EmoDB" in err.stderr and "Traceback" not in err.stderr


def test_console_script_lists_the_corpus_adapters(tmp_path):
    listing = run("data", "list", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    for name in ("ravdess", "emodb", "iemocap", "generic"):
        assert name in listing.stdout
