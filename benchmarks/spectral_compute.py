"""Compute speed of the spectral frontends on one CPU thread, in x real time.

Usage: ``python benchmarks/spectral_compute.py [--n-utts 200] [--dur-s 3.7] [--batch 32] [--repeats 3]``

Synthetic utterances (decoding excluded) go through ``extract_batch`` in batches. The process's CPU
time (not wall time) of the best of ``--repeats`` passes is reported: with one torch thread it is
the cost on one core, and other processes on a shared machine only ever slow a pass down.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from serkit.features import build_frontend
from serkit.features import spectral as _spectral  # noqa: F401  (registers the frontends)

SPECS = ("logmel", "mfcc", "mfcc(delta_order=2)", "melimage", "logspec")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-utts", type=int, default=200)
    parser.add_argument("--dur-s", type=float, default=3.7)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--specs", nargs="*", default=list(SPECS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    # Lengths vary +-20 % around the mean, as real utterances do.
    lengths = (args.dur_s * 16000 * rng.uniform(0.8, 1.2, args.n_utts)).astype(int)
    utts = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in lengths]
    total_s = lengths.sum() / 16000
    print(f"{args.n_utts} utterances, {total_s:.0f} s of audio, batch {args.batch}, 1 torch thread")
    for spec in args.specs:
        fe = build_frontend(spec)
        fe.extract_batch(utts[: args.batch], sample_rate=16000)  # warm caches
        best = float("inf")
        for _ in range(args.repeats):
            t0 = time.process_time()
            for b in range(0, len(utts), args.batch):
                fe.extract_batch(utts[b : b + args.batch], sample_rate=16000)
            best = min(best, time.process_time() - t0)
        print(f"{spec:24s} {total_s / best:8.0f} x real time  ({best * 1e3:.0f} ms CPU)")


if __name__ == "__main__":
    main()
