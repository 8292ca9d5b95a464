"""Prediction speed of a model end to end: x-real-time on a folder, single-clip latency, cold start, memory.

For ``--model default``, ``--model whisper-base`` or any checkpoint folder (torch, through
:class:`serkit.infer.Recognizer`), or ``--onnx model.onnx`` (onnxruntime, through
:class:`serkit.infer.onnx_runtime.OnnxRecognizer`), with ``--threads`` threads (2 by default):

* **x real time**: audio seconds / wall seconds over the files of ``--folder`` (decode + resample +
  frontend + network; ``predict_batch`` with ``--batch-size``);
* **latency**: p50 / p95 of ``predict`` on one 3 s clip (an array) after loading, ``--runs`` times;
* **cold start**: a fresh ``python`` process that imports serkit, loads the model and predicts one
  clip (wall time from outside, median of 3);
* **peak RSS** of this process and of the cold-start process.

The table is printed and the numbers written to ``benchmarks/results/predict-<model>.json`` with the
commit, date, machine and command::

    python benchmarks/predict.py --model default --folder ../shared/corpora/ravdess
    python benchmarks/predict.py --model runs/x/fold-1/checkpoint --limit 50
    python benchmarks/predict.py --onnx model.onnx --limit 200
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _docs import git_commit

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")
SAMPLE_RATE = 16_000


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def _files(folder: Path, limit: int | None) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    return files[:limit] if limit else files


def _slug(args: argparse.Namespace) -> str:
    if args.onnx:
        return "onnx-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(args.onnx).stem)
    if args.model in ("default", "whisper-base"):
        return args.model
    path = Path(args.model)
    parts = [p for p in path.parts[-3:] if p not in ("checkpoint",)]
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", "-".join(parts)) or "checkpoint"


class _Runner:
    """The same calls for the torch Recognizer and the ONNX runner."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.onnx = bool(args.onnx)
        if self.onnx:
            from serkit.infer.onnx_runtime import OnnxRecognizer

            self.rec = OnnxRecognizer(args.onnx, threads=args.threads)
        else:
            import torch

            torch.set_num_threads(args.threads)
            from serkit.infer import Recognizer

            self.rec = Recognizer.load(args.model)
        self.batch_size = args.batch_size

    def batch(self, paths: list[Path]) -> int:
        """Predict every file; returns how many failed (bad files are skipped, as `serkit predict` does)."""
        if self.onnx:
            failed = 0
            for p in paths:
                try:
                    self.rec.predict(p)
                except Exception:  # a corrupt file must not stop a speed measurement
                    failed += 1
            return failed
        try:
            self.rec.predict_batch(paths, batch_size=self.batch_size)
            return 0
        except Exception:
            failed = 0
            for p in paths:
                try:
                    self.rec.predict(p)
                except Exception:
                    failed += 1
            return failed

    def one(self, wave: np.ndarray) -> None:
        self.rec.predict(wave, sample_rate=SAMPLE_RATE)


def _duration_s(paths: list[Path]) -> float:
    import soundfile as sf

    total = 0.0
    for p in paths:
        try:
            info = sf.info(str(p))
            total += info.frames / info.samplerate
        except Exception:  # unreadable: counted as failed by the run itself
            continue
    return total


def _clip(paths: list[Path], seconds: float = 3.0) -> np.ndarray:
    """A 3 s 16 kHz clip: the first decodable file, cut or zero-padded (a tone when there are none)."""
    from serkit.audio import load

    n = round(seconds * SAMPLE_RATE)
    for p in paths:
        try:
            y, _ = load(p)
        except Exception:
            continue
        return np.pad(y[:n], (0, max(0, n - len(y[:n])))).astype(np.float32)
    t = np.arange(n) / SAMPLE_RATE
    return (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


_COLD = """
import resource, sys, time
import numpy as np
t0 = time.perf_counter()
onnx, model, clip = sys.argv[1], sys.argv[2], sys.argv[3]
if onnx:
    from serkit.infer.onnx_runtime import OnnxRecognizer
    rec = OnnxRecognizer(onnx, threads=int(sys.argv[4]))
else:
    import torch
    torch.set_num_threads(int(sys.argv[4]))
    from serkit.infer import Recognizer
    rec = Recognizer.load(model)
rec.predict(clip)
print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def _cold_start(args: argparse.Namespace, clip_path: Path, repeats: int = 3) -> tuple[float, float, float]:
    """(median wall seconds from outside, median seconds inside the process, peak RSS MB)."""
    outside, inside, rss = [], [], []
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    cmd = [sys.executable, "-c", _COLD, args.onnx or "", args.model, str(clip_path), str(args.threads)]
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        outside.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"cold-start run failed:\n{proc.stderr.strip()[-2000:]}")
        a, b = proc.stdout.strip().splitlines()[-1].split()
        inside.append(float(a))
        rss.append(float(b))
    return statistics.median(outside), statistics.median(inside), max(rss)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="default", help="default, whisper-base or a checkpoint folder.")
    parser.add_argument("--onnx", default=None, help="Measure this exported .onnx with onnxruntime instead.")
    parser.add_argument("--folder", type=Path, default=REPO.parent / "shared" / "corpora" / "ravdess")
    parser.add_argument("--limit", type=int, default=None, help="At most this many files (sorted by path).")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=100, help="Single-clip latency runs.")
    parser.add_argument("--out", type=Path, default=None, help="JSON path (default benchmarks/results/).")
    parser.add_argument("--no-cold", action="store_true", help="Skip the cold-start measurement.")
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="Only regenerate docs/benchmarks.md's table from the JSON files.",
    )
    args = parser.parse_args()
    if args.write_docs:
        print(write_docs())
        return
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    paths = _files(args.folder, args.limit)
    if not paths:
        raise SystemExit(f"No audio files under {args.folder}.")
    audio_s = _duration_s(paths)

    t0 = time.perf_counter()
    runner = _Runner(args)
    load_s = time.perf_counter() - t0
    clip = _clip(paths)
    runner.one(clip)  # warm-up: first-call allocations are not steady-state cost

    t0 = time.perf_counter()
    failed = runner.batch(paths)
    wall = time.perf_counter() - t0

    latencies = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        runner.one(clip)
        latencies.append((time.perf_counter() - t0) * 1000)
    p50 = float(np.percentile(latencies, 50))
    p95 = float(np.percentile(latencies, 95))

    cold = (float("nan"), float("nan"), float("nan"))
    if not args.no_cold:
        import tempfile

        import soundfile as sf

        with tempfile.TemporaryDirectory() as tmp:
            clip_path = Path(tmp) / "clip.wav"
            sf.write(str(clip_path), clip, SAMPLE_RATE, subtype="FLOAT")
            cold = _cold_start(args, clip_path)

    name = _slug(args)
    result = {
        "benchmark": "predict",
        "model": args.onnx or args.model,
        "runner": "onnxruntime" if args.onnx else "torch",
        "folder": str(args.folder),
        "n_files": len(paths),
        "n_failed": failed,
        "audio_seconds": round(audio_s, 3),
        "wall_seconds": round(wall, 3),
        "x_real_time": round(audio_s / wall, 1) if wall > 0 else None,
        "load_seconds": round(load_s, 3),
        "latency_3s_ms": {"p50": round(p50, 2), "p95": round(p95, 2), "runs": args.runs},
        "cold_start_seconds": round(cold[0], 3),
        "cold_start_inside_seconds": round(cold[1], 3),
        "cold_start_peak_rss_mb": round(cold[2], 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "threads": args.threads,
        "batch_size": args.batch_size,
        "commit": git_commit(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "command": "python benchmarks/predict.py " + shlex.join(sys.argv[1:]),
    }
    rows = [
        ("model", f"{result['model']} ({result['runner']})"),
        ("files", f"{len(paths)} ({failed} failed), {audio_s:.1f} s of audio"),
        ("end to end", f"{result['x_real_time']}x real time ({wall:.2f} s wall)"),
        ("3 s clip latency", f"p50 {p50:.2f} ms, p95 {p95:.2f} ms ({args.runs} runs)"),
        ("cold start", f"{cold[0]:.2f} s (inside the process {cold[1]:.2f} s)"),
        ("peak RSS", f"{result['peak_rss_mb']:.0f} MB (cold-start process {cold[2]:.0f} MB)"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")

    from serkit._io import atomic_write_text

    out = args.out or RESULTS / f"predict-{name}.json"
    atomic_write_text(out, json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")


BEGIN = "<!-- predict:begin (generated by benchmarks/predict.py --write-docs) -->"
END = "<!-- predict:end -->"


def write_docs() -> Path:
    """The prediction-speed table of docs/benchmarks.md, from benchmarks/results/predict-*.json."""
    from _docs import write_block

    lines = [
        BEGIN,
        "| model | runner | files | x real time (end to end) | 3 s clip p50 / p95 | cold start | peak RSS | "
        "commit | date | machine | command |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for path in sorted(RESULTS.glob("predict-*.json")):
        r = json.loads(path.read_text(encoding="utf-8"))
        lat = r["latency_3s_ms"]
        lines.append(
            f"| {r['model']} | {r['runner']} | {r['n_files']} ({r['n_failed']} failed) | {r['x_real_time']}x | "
            f"{lat['p50']:.1f} / {lat['p95']:.1f} ms | {r['cold_start_seconds']:.2f} s | "
            f"{r['peak_rss_mb']:.0f} MB | {r['commit'][:10]} | {r['date'][:10]} | {r['machine']} | "
            f"`{r['command']}` |"
        )
    lines.append(END)
    block = "\n".join(lines)
    return write_block(
        BEGIN,
        END,
        block,
        heading="Prediction speed (`serkit predict`, issue 12)",
        intro=(
            "End to end = decode + frontend + network over a folder of RAVDESS files, batched, 2 threads; latency = one 3 s clip after loading; cold start = a fresh process importing serkit, loading the model and predicting one clip."
        ),
    )


if __name__ == "__main__":
    main()
