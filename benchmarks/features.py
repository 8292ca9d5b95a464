"""Feature-extraction throughput and peak memory, per frontend, for 1 and 2 worker processes.

    python benchmarks/features.py --corpus ravdess ../shared/corpora/ravdess

Each configuration runs in a fresh subprocess (so its peak RSS, parent and workers, is its own), after a
warm-up pass that puts the files in the OS page cache. Throughput is audio seconds per wall second
("x real time"), end to end: decoding (soundfile), resampling if needed, features; no cache writes.
``decode`` is the decoding alone through the same pipeline and workers: the ceiling for the others.
``librosa_logmel`` computes the same 40-band log-mel with librosa on the same decoded audio.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from serkit.features import Frontend, register_frontend

DEFAULT_FRONTENDS = [
    "decode",
    "logmel",
    "mfcc",
    "melimage",
    "logspec",
    "librosa_logmel",
    "librosa_melimage",
    "handcrafted",
    "egemaps",
]
# Slow frontends run on a subset of files (openSMILE runs at about 30x real time per core).
SUBSET = {"egemaps": 160, "handcrafted": 400}


@register_frontend
@dataclass(frozen=True)
class LibrosaLogMel(Frontend):
    """The same 40-band log-mel computed with librosa, one file at a time: the reference rate."""

    name: ClassVar[str] = "librosa_logmel"
    output: ClassVar[str] = "frames"

    def extract_batch(self, waveforms, *, sample_rate):
        import librosa

        out = []
        for y in waveforms:
            y = np.append(y[:1], y[1:] - 0.97 * y[:-1])
            mel = librosa.feature.melspectrogram(
                y=y, sr=sample_rate, n_fft=512, hop_length=200, window="hamming", n_mels=40, power=2.0
            )
            out.append(np.log(mel.T / 512 + 1e-10).astype(np.float32))
        return out


@register_frontend
@dataclass(frozen=True)
class LibrosaMelImage(Frontend):
    """The multi-input paper's 128 x 376 mel images computed with librosa: the reference rate."""

    name: ClassVar[str] = "librosa_melimage"
    output: ClassVar[str] = "frames"

    def extract_batch(self, waveforms, *, sample_rate):
        import librosa

        from serkit.features import build_frontend

        starts_of = build_frontend("melimage").window_starts
        out = []
        for y in waveforms:
            images = []
            for start in starts_of(len(y)):
                clip = np.pad(y[start : start + 48000], (0, max(0, start + 48000 - len(y))))
                mel = librosa.feature.melspectrogram(y=clip, sr=sample_rate, hop_length=128, n_mels=128)
                images.append(librosa.power_to_db(mel))
            out.append(np.stack(images).astype(np.float32))
        return out


def run_one(corpus: str, root: str, frontend: str, workers: int, repeat: int, limit: int | None) -> dict:
    from serkit.data import prepare_corpus
    from serkit.features.extract import extract_features

    manifest = prepare_corpus(corpus, root, workers=2).manifest
    if limit:
        manifest = manifest.sample(n=min(limit, len(manifest)), random_state=0).reset_index(drop=True)
    spec = None if frontend == "decode" else frontend
    audio_s = float(manifest["duration"].sum())
    extract_features(manifest.iloc[: 4 * workers], spec, workers=workers)  # warm-up (imports, pools)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = extract_features(manifest, spec, workers=workers, batch_size=32)
        times.append(time.perf_counter() - start)
        if result.n_failed:
            raise SystemExit(f"{frontend}: {result.n_failed} files failed: {result.problems[:3]}")
    wall = statistics.median(times)
    peak_kib = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    return {
        "frontend": frontend,
        "workers": workers,
        "files": len(manifest),
        "audio_s": round(audio_s, 1),
        "wall_s": round(wall, 3),
        "x_real_time": round(audio_s / wall, 1),
        "peak_rss_mib": round(peak_kib / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", nargs=2, metavar=("NAME", "ROOT"), required=True)
    parser.add_argument("--frontends", nargs="+", default=DEFAULT_FRONTENDS)
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    parser.add_argument(
        "--repeat", type=int, default=3, help="Timed runs per configuration (median reported)."
    )
    parser.add_argument("--json", help="Also write the results to this JSON file.")
    parser.add_argument("--_one", nargs=3, help=argparse.SUPPRESS)  # frontend workers limit (child mode)
    args = parser.parse_args()
    corpus, root = args.corpus
    if args._one:
        frontend, workers, limit = args._one
        print(json.dumps(run_one(corpus, root, frontend, int(workers), args.repeat, int(limit) or None)))
        return

    # Warm the page cache so the first configuration does not pay for disk reads.
    subprocess.run(
        [sys.executable, __file__, "--corpus", corpus, root, "--repeat", "1", "--_one", "decode", "2", "0"],
        check=True,
        capture_output=True,
    )
    rows = []
    header = f"{'frontend':<16}{'workers':>8}{'files':>7}{'audio s':>9}{'wall s':>8}{'x real time':>13}{'peak MiB':>10}"
    print(header)
    for frontend in args.frontends:
        for workers in args.workers:
            limit = SUBSET.get(frontend, 0)
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--corpus",
                    corpus,
                    root,
                    "--repeat",
                    str(args.repeat if not limit else 1),
                    "--_one",
                    frontend,
                    str(workers),
                    str(limit),
                ],
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                print(f"{frontend:<16}{workers:>8}  failed: {proc.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append(r)
            print(
                f"{r['frontend']:<16}{r['workers']:>8}{r['files']:>7}{r['audio_s']:>9}{r['wall_s']:>8}"
                f"{r['x_real_time']:>13}{r['peak_rss_mib']:>10}",
                flush=True,
            )
    decode = {r["workers"]: r["x_real_time"] for r in rows if r["frontend"] == "decode"}
    if decode:
        print("\nratio to decode-only with the same workers:")
        for r in rows:
            if r["frontend"] != "decode" and r["workers"] in decode:
                print(
                    f"  {r['frontend']:<16} {r['workers']} worker(s): {r['x_real_time'] / decode[r['workers']]:.2f}"
                )
    if args.json:
        meta = {
            "machine": f"{platform.node()} {platform.processor() or platform.machine()}",
            "python": platform.python_version(),
            "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        with open(args.json, "w") as fh:
            json.dump({"meta": meta, "rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
