"""serkit.train.augment: masks stay on real frames, SNR math, speed changes lengths, mixup, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from serkit.errors import ParameterError
from serkit.models.base import Batch
from serkit.train.augment import AddNoise, Mixup, SpecAugment, SpeedPerturb, build_augment
from serkit.train.losses import build_loss

LENGTHS = [40, 25, 7, 33]


def _batch(seed: int = 0, lengths=LENGTHS, n_bins: int = 12) -> Batch:
    g = torch.Generator().manual_seed(seed)
    t = max(lengths)
    x = torch.zeros(len(lengths), t, n_bins)
    for i, n in enumerate(lengths):
        x[i, :n] = 3.0 + torch.randn(n, n_bins, generator=g)
    return Batch(
        streams={"mel": x, "gemaps": torch.randn(len(lengths), 5, generator=g)},
        lengths={"mel": torch.tensor(lengths)},
        labels=torch.tensor([0, 1, 2, 1]),
        scores=torch.tensor([0.1, 0.5, -0.3, 0.9]),
        ids=[f"u{i}" for i in range(len(lengths))],
    )


def _padding(x: torch.Tensor, lengths) -> torch.Tensor:
    return torch.cat([x[i, n:].reshape(-1) for i, n in enumerate(lengths)])


def test_specaugment_time_masks_stay_on_real_frames():
    aug = SpecAugment(time_masks=3, time_width=10, freq_masks=0, max_time_fraction=0.2, fill="mean")
    g = torch.Generator().manual_seed(0)
    seen_masked = 0
    for _ in range(50):
        batch = _batch(seed=int(torch.randint(0, 1000, (1,), generator=g)))
        out = aug(batch, g)
        x, y = batch.streams["mel"], out.streams["mel"]
        assert torch.equal(_padding(y, LENGTHS), torch.zeros_like(_padding(y, LENGTHS)))
        changed = (y != x).any(dim=2)  # (B, T) frames touched
        for i, n in enumerate(LENGTHS):
            assert not changed[i, n:].any()
            # whole frames only (time masks), at most 3 masks of at most min(10, floor(0.2 n)) frames
            assert bool(((y[i] != x[i]).all(dim=1) == changed[i]).all())
            assert int(changed[i].sum()) <= 3 * min(10, math.floor(0.2 * n))
        seen_masked += int(changed.sum())
    assert seen_masked > 0
    assert torch.equal(out.streams["gemaps"], batch.streams["gemaps"])  # vector stream untouched


def test_specaugment_time_masks_land_on_a_short_examples_real_frames():
    # length 5 in a batch padded to 100: every mask of width >= 1 must fall inside the 5 real frames,
    # so the example is masked whenever w >= 1 (w ~ U{0..5}: 5 times in 6), not only by chance.
    batch = _batch(lengths=[5, 100])
    aug = SpecAugment(time_masks=1, time_width=5, freq_masks=0, max_time_fraction=1.0)
    g = torch.Generator().manual_seed(0)
    hits = sum(
        bool((aug(batch, g).streams["mel"][0, :5] != batch.streams["mel"][0, :5]).any()) for _ in range(120)
    )
    assert hits > 80


def test_specaugment_freq_masks_cover_real_frames_only_with_mean_fill():
    batch = _batch()
    out = SpecAugment(time_masks=0, freq_masks=2, freq_width=4, fill="mean")(
        batch, torch.Generator().manual_seed(1)
    )
    x, y = batch.streams["mel"], out.streams["mel"]
    for i, n in enumerate(LENGTHS):
        bins = (y[i, :n] != x[i, :n]).any(dim=0)
        assert 0 < int(bins.sum()) <= 8
        assert bool((y[i, :n][:, bins] == x[i, :n].mean()).all())  # whole band, all real frames, mean value
        assert not y[i, n:].any()


def test_addnoise_known_case_ln_and_db():
    x = torch.zeros(1, 4, 3)  # power 1 everywhere
    b = Batch(streams={"mel": x}, lengths={"mel": torch.tensor([4])})
    out = AddNoise(snr_db=0.0, scale="ln")(b, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out.streams["mel"], torch.full((1, 4, 3), math.log(2.0)))
    b = Batch(streams={"mel": torch.full((1, 4, 3), 30.0)}, lengths={"mel": torch.tensor([4])})
    out = AddNoise(snr_db=10.0, scale="db")(b, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out.streams["mel"], torch.full((1, 4, 3), 10 * math.log10(1100.0)))


@pytest.mark.parametrize("snr", [0.0, 12.5, 30.0])
def test_addnoise_measured_snr_equals_requested(snr):
    batch = _batch()
    out = AddNoise(snr_db=snr)(batch, torch.Generator().manual_seed(0))
    x, y = batch.streams["mel"].double(), out.streams["mel"].double()
    for i, n in enumerate(LENGTHS):
        p, p_noisy = x[i, :n].exp(), y[i, :n].exp()
        measured = 10 * math.log10(float(p.mean() / (p_noisy - p).mean()))
        assert measured == pytest.approx(snr, abs=1e-3)
        noise = p_noisy - p  # flat: the same power added to every real cell
        assert float(noise.std() / noise.mean()) < 1e-3
    assert not _padding(out.streams["mel"], LENGTHS).any()


def test_addnoise_snr_range_draws_per_example():
    batch = _batch()
    out = AddNoise(snr_db=[5.0, 25.0])(batch, torch.Generator().manual_seed(3))
    got = []
    for i, n in enumerate(LENGTHS):
        p, q = batch.streams["mel"][i, :n].double().exp(), out.streams["mel"][i, :n].double().exp()
        got.append(10 * math.log10(float(p.mean() / (q - p).mean())))
    assert all(5.0 - 1e-3 <= s <= 25.0 + 1e-3 for s in got)
    assert len({round(s, 2) for s in got}) == len(got)


@pytest.mark.parametrize("factor", [0.8, 1.25])
def test_speed_changes_lengths_by_the_factor_and_interpolates(factor):
    lengths = [40, 25, 7, 33]
    t = max(lengths)
    ramp = torch.zeros(4, t, 2)
    for i, n in enumerate(lengths):
        ramp[i, :n, 0] = torch.arange(n, dtype=torch.float32)
        ramp[i, :n, 1] = torch.arange(n, dtype=torch.float32) ** 2
    batch = Batch(streams={"mel": ramp}, lengths={"mel": torch.tensor(lengths)})
    out = SpeedPerturb(factors=[factor])(batch, torch.Generator().manual_seed(0))
    want = [math.floor(n / factor + 0.5) for n in lengths]
    assert out.lengths["mel"].tolist() == want
    assert out.lengths["mel"].dtype == torch.int64
    y = out.streams["mel"]
    assert y.shape[1] == max(want)
    for i, (n, m) in enumerate(zip(lengths, want, strict=True)):
        grid = np.linspace(0, n - 1, m)  # align_corners: first and last real frame kept
        np.testing.assert_allclose(y[i, :m, 0].numpy(), grid, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(
            y[i, :m, 1].numpy(), np.interp(grid, np.arange(n), np.arange(n) ** 2), rtol=1e-5, atol=1e-3
        )
        assert not y[i, m:].any()


def test_speed_uses_one_factor_per_example_for_all_streams():
    batch = _batch()
    batch.streams["mfcc"] = batch.streams["mel"][:, :, :4].clone()
    batch.lengths["mfcc"] = batch.lengths["mel"].clone()
    out = SpeedPerturb(factors=[0.5, 1.0, 2.0])(batch, torch.Generator().manual_seed(5))
    assert torch.equal(out.lengths["mel"], out.lengths["mfcc"])
    assert len(set(out.lengths["mel"].tolist()) - set(LENGTHS)) > 0  # some example was stretched


def test_mixup_is_a_convex_combination_with_soft_labels():
    batch = _batch()
    mix = Mixup(alpha=0.4, num_classes=3)
    lam, perm, _ = mix.sample(4, torch.Generator().manual_seed(11))
    assert 0.0 < lam < 1.0 and sorted(perm.tolist()) == [0, 1, 2, 3] and perm.tolist() != [0, 1, 2, 3]
    out = mix(batch, torch.Generator().manual_seed(11))
    for name in ("mel", "gemaps"):
        x = batch.streams[name]
        torch.testing.assert_close(out.streams[name], lam * x + (1 - lam) * x[perm])
    torch.testing.assert_close(
        out.lengths["mel"], torch.maximum(batch.lengths["mel"], batch.lengths["mel"][perm])
    )
    onehot = F.one_hot(batch.labels, 3).float()
    torch.testing.assert_close(out.soft_labels, lam * onehot + (1 - lam) * onehot[perm])
    torch.testing.assert_close(out.soft_labels.sum(1), torch.ones(4))
    torch.testing.assert_close(out.scores, lam * batch.scores + (1 - lam) * batch.scores[perm])
    # cross-entropy on the soft labels = lam * CE(y_i) + (1 - lam) * CE(y_j)
    logits = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    got = build_loss("ce")({"logits": logits}, out)
    want = lam * F.cross_entropy(logits, batch.labels) + (1 - lam) * F.cross_entropy(
        logits, batch.labels[perm]
    )
    torch.testing.assert_close(got, want)
    assert not hasattr(batch, "soft_labels") or batch.soft_labels is None  # input left alone


def test_pipeline_is_deterministic_given_seed_and_never_mutates_input():
    specs = [
        {"name": "speed", "factors": [0.9, 1.0, 1.1]},
        {"name": "specaugment", "time_masks": 2, "freq_masks": 2},
        {"name": "noise", "cfg": {"snr_db": [10, 30]}},  # the trainer config's {name, cfg} form
        "mixup",
    ]
    batch = _batch()
    before = batch.streams["mel"].clone()

    def run(seed: int) -> list[Batch]:
        pipe = build_augment(specs, seed=seed, num_classes=3)
        return [pipe(batch), pipe(batch)]

    a, b, c = run(7), run(7), run(8)
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x.streams["mel"], y.streams["mel"]) and torch.equal(x.soft_labels, y.soft_labels)
    assert not torch.equal(a[0].streams["mel"], a[1].streams["mel"])  # the generator advances
    assert not torch.equal(a[0].streams["mel"], c[0].streams["mel"])
    assert torch.equal(batch.streams["mel"], before)


def test_pipeline_epoch_seeding_and_state_resume():
    pipe = build_augment([{"name": "specaugment"}], seed=3)
    pipe.set_epoch(2)
    first = pipe(_batch())
    state = pipe.state_dict()
    second = pipe(_batch())
    pipe.set_epoch(2)
    assert torch.equal(pipe(_batch()).streams["mel"], first.streams["mel"])
    pipe.load_state_dict(state)
    assert torch.equal(pipe(_batch()).streams["mel"], second.streams["mel"])


def test_build_errors_name_the_problem():
    with pytest.raises(ParameterError, match="'specaugment'"):
        build_augment(["specaugmnt"], seed=0)
    with pytest.raises(ParameterError, match="'time_masks'"):
        build_augment([{"name": "specaugment", "time_mask": 2}], seed=0)
    with pytest.raises(ParameterError, match="snr_db"):
        AddNoise(snr_db=[30, 10])
    with pytest.raises(ParameterError, match="factors"):
        SpeedPerturb(factors=[0.0])
    with pytest.raises(ParameterError, match="'fill'"):
        SpecAugment(fill="noise")
    assert len(build_augment(None, seed=0)) == 0
