"""A real Ctrl-C (or SIGTERM) during a two-process extraction: finished work is kept, workers stop, a re-run resumes.

Deterministic: the test frontend hands out call tickets (files created with O_EXCL, so the two worker
processes agree on the order). Calls with a ticket below ``N_DONE`` return at once; the next calls
mark themselves blocked and wait. Each worker writes its finished entries before it takes its next
file, so once both workers are blocked exactly ``N_DONE`` entries are on disk, and only then does
the test send SIGINT (to the process group, as a terminal does) or SIGTERM (to the parent alone, as
``kill PID`` does). The gate is switched on by an environment variable, not a frontend
parameter, so the re-run (in the test process) uses the same cache key.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from serkit.features import Frontend, register_frontend
from serkit.features.cache import ENTRY_SUFFIX, FeatureCache
from serkit.features.extract import extract_features

from synth import tone, write

N_FILES = 10
N_DONE = 4

SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from dataclasses import dataclass
    from pathlib import Path
    from typing import ClassVar
    import numpy as np
    import pandas as pd
    import typer
    from serkit.cli._common import guard
    from serkit.features import Frontend, register_frontend
    from serkit.features.extract import extract_features

    N_DONE = int(sys.argv[3])

    def ticket(gate):
        n = 0
        while True:
            try:
                os.close(os.open(gate / f"ticket-{n}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                return n
            except FileExistsError:
                n += 1

    @dataclass(frozen=True)
    class Gated(Frontend):
        name: ClassVar[str] = "_test_gated"
        output: ClassVar[str] = "vector"
        def extract_batch(self, waveforms, *, sample_rate):
            gate = Path(os.environ["SERKIT_TEST_GATE"])
            if ticket(gate) >= N_DONE:
                (gate / f"blocked-{os.getpid()}").touch()
                deadline = time.monotonic() + 120  # only a safety net: SIGINT ends the run first
                while time.monotonic() < deadline:
                    time.sleep(0.02)
                raise RuntimeError("never interrupted")
            return [np.array([y.mean(), y.std()], np.float32) for y in waveforms]

    register_frontend(Gated)
    manifest = pd.read_csv(sys.argv[1])
    try:
        with guard():  # as every serkit command runs
            extract_features(manifest, "_test_gated", cache_dir=sys.argv[2], workers=2, batch_size=1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    """
)


def _alive(pid: int, *, group: bool = False) -> bool:
    """Whether the process (or any process of the group) ``pid`` still exists."""
    try:
        (os.killpg if group else os.kill)(pid, 0)
    except ProcessLookupError:
        return False
    return True


@register_frontend
@dataclass(frozen=True)
class _Ungated(Frontend):
    """The script's frontend without the gate: same name, no parameters, so the same cache key."""

    name: ClassVar[str] = "_test_gated"
    output: ClassVar[str] = "vector"

    def extract_batch(self, waveforms, *, sample_rate):
        return [np.array([y.mean(), y.std()], np.float32) for y in waveforms]


@pytest.mark.parametrize(
    ("how", "exit_code", "message"),
    [("sigint-group", 130, "interrupted"), ("sigterm-parent", 143, "terminated")],
)
def test_a_stopped_extraction_keeps_finished_entries_stops_its_workers_and_resumes(
    tmp_path, how, exit_code, message
):
    paths = [write(tmp_path / "a" / f"{i}.wav", tone(100 + 10 * i, 0.1)) for i in range(N_FILES)]
    manifest = tmp_path / "m.csv"
    ids = [f"u{i}" for i in range(N_FILES)]
    pd.DataFrame({"id": ids, "path": [str(p) for p in paths]}).to_csv(manifest, index=False)
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    cache = tmp_path / "cache"
    gate = tmp_path / "gate"
    gate.mkdir()
    command = [sys.executable, str(script), str(manifest), str(cache), str(N_DONE)]
    log = tmp_path / "stderr.txt"  # a file, not a pipe: orphaned workers would hold a pipe open
    with log.open("w") as stderr_file:
        proc = subprocess.Popen(
            command,
            start_new_session=True,
            env={**os.environ, "SERKIT_TEST_GATE": str(gate)},
            stderr=stderr_file,
        )
    try:
        # Wait for a state, not for a time: both workers blocked (the deadline only ends a broken run).
        deadline = time.monotonic() + 120
        while len(list(gate.glob("blocked-*"))) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(list(gate.glob("blocked-*"))) == 2, f"workers never blocked; exit code {proc.poll()}"
        if how == "sigint-group":
            os.killpg(proc.pid, signal.SIGINT)  # like Ctrl-C in a terminal: the whole process group
        else:
            os.kill(proc.pid, signal.SIGTERM)  # like `kill PID`: the parent alone
        proc.wait(timeout=60)
        stderr = log.read_text()
        assert proc.returncode == exit_code, stderr
        assert f"{message}: finished work was kept" in stderr
        assert "Traceback" not in stderr
        # the parent stopped its workers before it exited (they would otherwise wait out their 120 s)
        workers = [int(p.name.removeprefix("blocked-")) for p in gate.glob("blocked-*")]
        assert not [pid for pid in workers if _alive(pid)]
    finally:
        if _alive(proc.pid, group=True):  # a broken run's parent or orphaned workers
            os.killpg(proc.pid, signal.SIGKILL)
    entries = list(cache.rglob(f"*{ENTRY_SUFFIX}"))
    assert len(entries) == N_DONE
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp")]  # no half-written files
    # the index, written on the way out, points only at finished entries (those the parent had
    # received when the signal came: how many is up to the scheduler, so only a subset is checked)
    folder = next(p for p in cache.iterdir() if p.is_dir())
    assert (folder / "index.csv").is_file()
    indexed = FeatureCache(cache)._read_index_file(folder / "index.csv")
    assert set(indexed["status"]) <= {"computed"}
    assert {cache / e for e in indexed["entry"]} <= set(entries)

    # the re-run (here in the test process, two workers again) computes only the rest
    rerun = extract_features(pd.read_csv(manifest), "_test_gated", cache_dir=cache, workers=2, batch_size=1)
    assert (rerun.n_cached, rerun.n_computed, rerun.n_failed) == (N_DONE, N_FILES - N_DONE, 0)
    assert len(list(cache.rglob(f"*{ENTRY_SUFFIX}"))) == N_FILES
    assert json.loads((folder / "spec.json").read_text())["name"] == "_test_gated"
    assert sorted(pd.read_csv(folder / "index.csv")["id"]) == sorted(ids)
