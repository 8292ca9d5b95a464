"""Shared pieces of the training tests: a tiny registered network and a synthetic two-emotion corpus.

The corpus is generated audio (``synth.voiced``): "happy" utterances have a high pitch, "sad" ones a
low pitch, so a tiny model learns it in a few epochs. Six speakers; the split is speaker-grouped 2-fold
with one validation speaker per fold.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from serkit.data.manifest import write_manifest
from serkit.data.splits import speaker_group_kfold
from serkit.models import registry
from serkit.models.base import Batch, SerModel

from synth import voiced, write

TINY = "_tiny_train_test"


class TinyNet(SerModel):
    """Masked mean + std pooling of one frames stream, dropout, a linear layer (and a score head)."""

    def __init__(
        self, *, num_classes: int, input_dims: dict[str, int], hidden: int = 8, dropout: float = 0.3
    ) -> None:
        super().__init__(num_classes=num_classes, input_dims=input_dims)
        dim = self.input_dims["mel"]
        self.proj = nn.Linear(2 * dim, hidden)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, num_classes)
        self.score = nn.Linear(hidden, 1)

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        x, lengths = self.frames(batch, "mel")
        mask = (torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]).unsqueeze(-1).float()
        n = mask.sum(1).clamp(min=1)
        mean = (x * mask).sum(1) / n
        std = (((x - mean[:, None]) ** 2) * mask).sum(1).div(n).clamp(min=1e-6).sqrt()
        h = self.drop(torch.relu(self.proj(torch.cat([mean, std], dim=-1))))
        return {"logits": self.out(h), "score": self.score(h).squeeze(-1)}


@contextmanager
def registered_tiny() -> Iterator[str]:
    """Register :class:`TinyNet` and one torch thread for one test; both undone afterwards.

    Test modules wrap it in a ``tiny_model`` fixture; registering at test time (not import time) keeps the
    model out of the registry that other modules' parametrised tests enumerate.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # a shared 2-core machine: tiny models train far faster without contention
    registry.register_model(TINY, paper="test", inputs={"mel": "frames"})(TinyNet)
    try:
        yield TINY
    finally:
        registry._REGISTRY.pop(TINY, None)
        torch.set_num_threads(before)


def make_corpus(root: Path, *, n_speakers: int = 6, n_utts: int = 3, corpus: str = "synth") -> pd.DataFrame:
    """Write a two-emotion corpus under ``root`` and return its manifest (also saved as manifest.csv)."""
    rows = []
    for s in range(n_speakers):
        for label, f0 in (("happy", 260.0), ("sad", 110.0)):
            for k in range(n_utts):
                uid = f"{corpus}/s{s}/{label}{k}"
                dur = 0.6 + 0.15 * ((s + k) % 3)
                y = voiced(f0 * (1 + 0.03 * s), dur, seed=100 * s + 10 * k + (label == "sad"))
                path = write(root / "audio" / f"s{s}_{label}{k}.wav", y)
                rows.append(
                    {
                        "id": uid,
                        "path": str(path),
                        "corpus": corpus,
                        "speaker": f"s{s}",
                        "gender": "f" if s % 2 else "m",
                        "label": label,
                        "raw_label": label,
                        "session": None,
                        "text_id": None,
                        "duration": dur,
                        "sample_rate": 16000,
                        "language": "en",
                        "score": 1.0 if label == "happy" else -1.0,
                    }
                )
    df = pd.DataFrame(rows)
    write_manifest(df, root / "manifest.csv")
    return df


def make_split(root: Path, manifest: pd.DataFrame, *, n_val_speakers: int = 1) -> Path:
    split = speaker_group_kfold(manifest, n_folds=2, n_val_speakers=n_val_speakers, seed=0)
    return split.to_json(root / "split.json")


def write_config(root: Path, model: str = TINY, **sections: str) -> Path:
    """A small experiment YAML next to the corpus (relative paths: resolved against this folder)."""
    text = f"""\
data:
  manifest: manifest.csv
  split: split.json
  cache_dir: cache
  workers: 1
  inputs:
    mel: {{frontend: "logmel(n_mels=16, hop_length=320)", normaliser: corpus}}
model: {{name: {model}}}
optim: {{name: adam, lr: 0.01}}
train: {{epochs: 3, batch_size: 4, patience: 5, seed: 0}}
"""
    path = root / "exp.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def random_dataset(n: int = 24, dim: int = 6, seed: int = 0, classes: int = 2):
    """A FeatureDataset of random variable-length frames whose class shifts the mean (no audio)."""
    from serkit.train.data import FeatureDataset, StreamInfo

    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    arrays = [
        (rng.standard_normal((int(rng.integers(5, 30)), dim)) + 1.5 * labels[i]).astype(np.float32)
        for i in range(n)
    ]
    info = {"mel": StreamInfo("mel", "logmel", "frames", dim, 0.01)}
    return FeatureDataset(
        [f"u{i:03d}" for i in range(n)],
        {"mel": arrays},
        labels,
        info,
        speakers=[f"c/s{i % 4}" for i in range(n)],
    )
