"""A real Ctrl-C during a multi-process extraction: finished work is kept, workers stop, a re-run resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd

from synth import tone, write

SCRIPT = textwrap.dedent(
    """
    import sys, time
    from dataclasses import dataclass
    from typing import ClassVar
    import numpy as np
    import pandas as pd
    from serkit.features import Frontend, register_frontend
    from serkit.features.extract import extract_features

    @register_frontend
    @dataclass(frozen=True)
    class Slow(Frontend):
        name: ClassVar[str] = "_test_slow"
        output: ClassVar[str] = "vector"
        def extract_batch(self, waveforms, *, sample_rate):
            time.sleep(0.15)
            return [np.array([y.mean()], np.float32) for y in waveforms]

    manifest = pd.read_csv(sys.argv[1])
    try:
        r = extract_features(manifest, "_test_slow", cache_dir=sys.argv[2], workers=2, batch_size=1)
    except KeyboardInterrupt:
        sys.exit(130)
    print(r.n_cached, r.n_computed)
    """
)


def test_sigint_keeps_finished_entries_and_rerun_resumes(tmp_path):
    paths = [write(tmp_path / "a" / f"{i}.wav", tone(100 + 10 * i, 0.1)) for i in range(40)]
    manifest = tmp_path / "m.csv"
    pd.DataFrame({"id": [f"u{i}" for i in range(40)], "path": [str(p) for p in paths]}).to_csv(
        manifest, index=False
    )
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    cache = tmp_path / "cache"
    proc = subprocess.Popen([sys.executable, str(script), str(manifest), str(cache)], start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(cache.rglob("*.npy"))) < 4:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # like Ctrl-C in a terminal: the whole process group
    assert proc.wait(timeout=20) == 130
    kept = len(list(cache.rglob("*.npy")))
    assert 4 <= kept < 40
    assert not list(cache.rglob("*.tmp"))  # atomic writes: no half-written entries
    done = subprocess.run(
        [sys.executable, str(script), str(manifest), str(cache)], capture_output=True, text=True
    )
    n_cached, n_computed = map(int, done.stdout.split())
    assert (n_cached, n_computed) == (kept, 40 - kept)
    assert json.loads((next(cache.iterdir()) / "spec.json").read_text())["name"] == "_test_slow"
