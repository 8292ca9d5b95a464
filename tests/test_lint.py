"""Repository checks: the code base stays ruff-clean (lint rules and format in pyproject.toml), and CI
(``.ci/run``) runs the README's test command with nothing skipped for want of corpora or weights.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

import conftest

REPO = Path(__file__).resolve().parents[1]
PATHS = ["src", "tests", "benchmarks", "scripts"]
# ruff also formats the Python blocks of Markdown: the README's and the docs' examples stay formatted too.
FORMAT_PATHS = [*PATHS, "README.md", "docs"]


def _ruff() -> str:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    # ruff comes with the 'test' extra, which the README's test command installs: missing is an error.
    assert Path(ruff).exists(), "ruff is not installed: pip install -e '.[test]'"
    return ruff


def test_ruff_check_is_clean():
    proc = subprocess.run([_ruff(), "check", *PATHS], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_is_clean():
    proc = subprocess.run(
        [_ruff(), "format", "--check", *FORMAT_PATHS], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, f"run `ruff format {' '.join(FORMAT_PATHS)}`:\n" + proc.stdout + proc.stderr


# -- CI ------------------------------------------------------------------------------------------


def _readme_commands() -> list[str]:
    """The README's first two code blocks: the install command and the test command, one line each."""
    blocks = re.findall(r"```(\w*)\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    first_two = blocks[:2]
    assert [lang for lang, _ in first_two] == ["bash", "bash"], "the README starts with two bash commands"
    commands = [body.strip() for _, body in first_two]
    assert all("\n" not in c for c in commands), commands
    return commands


def test_ci_runs_exactly_the_readme_test_command():
    test_command = _readme_commands()[1]
    assert "pytest" in test_command and "'.[test,whisper]'" in test_command
    lines = [
        line.strip()
        for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[-1] == test_command, "the last command of .ci/run is the README's test command, verbatim"


def _fake_python(bin_dir: Path, record: Path) -> None:
    """A ``python3`` that writes SERKIT_REQUIRE_* to ``record`` and fails, so .ci/run stops there."""
    bin_dir.mkdir(parents=True)
    script = bin_dir / "python3"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "corpora=$SERKIT_REQUIRE_CORPORA weights=$SERKIT_REQUIRE_WEIGHTS" > "{record}"\n'
        "exit 1\n"
    )
    script.chmod(0o755)


def _run_ci_copy(tmp_path: Path, *, corpora: bool) -> tuple[subprocess.CompletedProcess, Path]:
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy2(REPO / ".ci" / "run", repo / ".ci" / "run")
    if corpora:
        (tmp_path / "shared" / "corpora").mkdir(parents=True)
    record = tmp_path / "python3-was-run"
    _fake_python(tmp_path / "bin", record)
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    env = {k: v for k, v in env.items() if not k.startswith("SERKIT_REQUIRE_")}
    proc = subprocess.run(
        ["bash", str(repo / ".ci" / "run")], capture_output=True, text=True, env=env, timeout=60
    )
    return proc, record


def test_ci_fails_at_once_without_the_corpora(tmp_path):
    proc, record = _run_ci_copy(tmp_path, corpora=False)
    assert proc.returncode != 0
    assert "../shared/corpora is missing" in proc.stderr
    assert not record.exists(), ".ci/run must stop before creating the venv or installing anything"


def test_ci_requires_corpora_and_weights_in_the_test_run(tmp_path):
    proc, record = _run_ci_copy(tmp_path, corpora=True)
    assert proc.returncode != 0  # the fake python3 fails
    assert record.read_text().split() == ["corpora=1", "weights=1"]


_PROBE = """
import pytest
from conftest import corpus_root


@pytest.mark.corpus
def test_corpus_root():
    corpus_root("ravdess")


@pytest.mark.corpus
@pytest.mark.skipif(True, reason="no flac files")
def test_corpus_skipif():
    pass


@pytest.mark.weights
def test_weights():
    pytest.skip("weights not installed")


def test_unrelated_skip():
    pytest.skip("unrelated")


@pytest.mark.corpus
@pytest.mark.xfail(reason="known", strict=True)
def test_corpus_xfail():
    raise AssertionError
"""


def _probe(tmp_path: Path, **require: str) -> tuple[int, str, dict[str, str]]:
    """Run the probe tests under a copy of conftest.py whose ../shared/corpora is tmp_path's.

    Returns the exit code, the output and each test's outcome (passed, failed, error, skipped, xfail).
    """
    repo = tmp_path / "repo"
    if not repo.exists():
        (repo / "tests").mkdir(parents=True)
        shutil.copy2(REPO / "tests" / "conftest.py", repo / "tests" / "conftest.py")
        (repo / "tests" / "test_probe.py").write_text(_PROBE)
        (repo / "pytest.ini").write_text(
            "[pytest]\naddopts = --strict-markers -p no:cacheprovider\nmarkers =\n    corpus: c\n    weights: w\n"
        )
    report = tmp_path / "report.xml"
    report.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERKIT_REQUIRE_", "PYTEST_", "COV_"))}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # no xdist, cov, ...: only conftest.py's hooks
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", f"--junitxml={report}", "tests"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**env, **require},
        timeout=120,
    )
    outcomes = {}
    if report.exists():
        for case in ElementTree.parse(report).iter("testcase"):
            children = {child.tag: child for child in case}
            if "skipped" in children:
                xfail = children["skipped"].get("type") == "pytest.xfail"
                outcomes[case.get("name")] = "xfail" if xfail else "skipped"
            else:
                outcomes[case.get("name")] = next(
                    (tag for tag in ("failure", "error") if tag in children), "passed"
                )
    return proc.returncode, proc.stdout + proc.stderr, outcomes


def test_missing_corpora_skip_for_users_and_are_a_usage_error_when_required(tmp_path):
    code, output, outcomes = _probe(tmp_path)
    assert code == 0, output
    assert outcomes == {
        "test_corpus_root": "skipped",
        "test_corpus_skipif": "skipped",
        "test_weights": "skipped",
        "test_unrelated_skip": "skipped",
        "test_corpus_xfail": "xfail",
    }, output
    code, output, _ = _probe(tmp_path, SERKIT_REQUIRE_CORPORA="1")
    assert code == pytest.ExitCode.USAGE_ERROR, output
    assert "the corpora ravdess, emodb, emovo, turev-db, casia are missing" in output
    for name in ("emodb", "emovo", "turev-db", "casia"):
        (tmp_path / "shared" / "corpora" / name).mkdir(parents=True)
    code, output, _ = _probe(tmp_path, SERKIT_REQUIRE_CORPORA="1")
    assert code == pytest.ExitCode.USAGE_ERROR and "the corpora ravdess are missing" in output, output


def test_required_data_turns_skips_into_failures(tmp_path):
    for name in ("ravdess", "emodb", "emovo", "turev-db", "casia"):
        (tmp_path / "shared" / "corpora" / name).mkdir(parents=True)
    code, output, outcomes = _probe(tmp_path, SERKIT_REQUIRE_CORPORA="1", SERKIT_REQUIRE_WEIGHTS="1")
    whisper_extra = all(importlib.util.find_spec(m) for m in conftest.WEIGHT_MODULES)
    if not whisper_extra:  # without the extra, requiring the weights is a usage error
        assert code == pytest.ExitCode.USAGE_ERROR and "SERKIT_REQUIRE_WEIGHTS is set" in output, output
        code, output, outcomes = _probe(tmp_path, SERKIT_REQUIRE_CORPORA="1")
    assert code == pytest.ExitCode.TESTS_FAILED, output
    assert outcomes == {
        "test_corpus_root": "passed",  # ravdess is there (empty)
        "test_corpus_skipif": "error",  # a skip in setup, turned into a failure, reports as an error
        "test_weights": "failure" if whisper_extra else "skipped",
        "test_unrelated_skip": "skipped",
        "test_corpus_xfail": "xfail",
    }, output
    assert "SERKIT_REQUIRE_CORPORA is set, but this corpus test was skipped: no flac files" in output


def _raised(call) -> BaseException | None:
    """What ``call()`` raised (skip and fail included: they must not escape into this test's outcome)."""
    try:
        call()
    except BaseException as exc:
        return exc
    return None


def test_corpus_root_fails_instead_of_skipping_when_required(tmp_path, monkeypatch):
    monkeypatch.setattr(conftest, "CORPORA", tmp_path)
    monkeypatch.delenv("SERKIT_REQUIRE_CORPORA", raising=False)
    skipped = _raised(lambda: conftest.corpus_root("ravdess"))
    assert isinstance(skipped, pytest.skip.Exception) and "real corpus 'ravdess' not present" in str(skipped)
    monkeypatch.setenv("SERKIT_REQUIRE_CORPORA", "1")
    failed = _raised(lambda: conftest.corpus_root("ravdess"))
    assert isinstance(failed, pytest.fail.Exception) and "SERKIT_REQUIRE_CORPORA is set" in str(failed)
    (tmp_path / "ravdess").mkdir()
    assert conftest.corpus_root("ravdess") == tmp_path / "ravdess"
