"""ONNX export: one graph from waveform to calibrated probabilities, run by onnxruntime without torch.

Tiny random checkpoints (real registered networks, real frontend specs, non-trivial normaliser
statistics and a temperature) are exported; onnxruntime must agree with serkit's torch path and with
``Recognizer`` within 1e-4 on 1 s, 3.3 s and 7 s waveforms.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import typer
from typer.testing import CliRunner

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import onnx

from serkit.errors import AudioError, CheckpointError, ParameterError
from serkit.features import build_frontend
from serkit.features.normalise import CorpusNormaliser, UtteranceNormaliser
from serkit.infer.export import (
    LogMelGraph,
    LogSpecGraph,
    MfccGraph,
    export_onnx,
    onnx_probabilities,
    reference_probabilities,
    test_waveform,
)
from serkit.infer.onnx_runtime import OnnxRecognizer
from serkit.models import create_model
from serkit.train.checkpoint import load_checkpoint, save_checkpoint

CLASSES = ["angry", "happy", "neutral", "sad"]
SECONDS = (1.0, 3.3, 7.0)
TOL = 1e-4

# name -> (model, cfg, role, frontend spec, normaliser)
CASES = {
    "mfcc_cnn1d": (
        "mfcc_cnn1d",
        {},
        "mfcc",
        "mfcc(n_mfcc=20, n_mels=40, delta_order=2)",
        "corpus",
    ),
    "mfcc_rnn_time": (
        "mfcc_rnn",
        {"sequence_axis": "time", "units": 8},
        "mfcc",
        "mfcc(n_mfcc=13, n_mels=40, n_fft=512, hop=160)",
        "utterance",
    ),
    "drsn_bigru": (
        "drsn_bigru",
        {"num_units": 2, "channels": [4, 8], "gru_hidden": 8, "attention_dim": 8},
        "mel",
        "logmel(n_mels=40)",
        "corpus",
    ),
    "bigru_mha": (
        "bigru_mha",
        {"cnn_channels": [4, 8], "gru_hidden": 8, "num_heads": 4, "fc_hidden": 8},
        "spec",
        "logspec",
        "utterance",
    ),
    "bigru_mha_baseline_cnn": (
        "bigru_mha_baseline_cnn",
        {"cnn_channels": [4, 8], "fc_hidden": 8},
        "spec",
        "logspec(fmax_hz=2000)",
        "corpus",
    ),
}


def _normaliser(kind: str, spec: str, rng: np.random.Generator) -> dict | None:
    if kind == "utterance":
        return UtteranceNormaliser().fit().to_dict()
    fe = build_frontend(spec)
    feats = [fe(test_waveform(0.5, rng)) for _ in range(3)]
    norm = CorpusNormaliser().fit(feats)
    # Statistics far from 0 / 1 so that a graph without them cannot agree by accident.
    norm.mean_ = norm.mean_ + rng.normal(0, 2.0, size=norm.mean_.shape)
    norm.var_ = norm.var_ * rng.uniform(0.3, 3.0, size=norm.var_.shape)
    norm.scale_ = np.maximum(np.sqrt(norm.var_), norm.std_floor)
    return norm.to_dict()


def make_checkpoint(
    directory: Path,
    case: str,
    *,
    temperature: float | None = 1.7,
    frontend: str | None = None,
    normaliser: dict | str | None = "default",
) -> Path:
    """A saved tiny random network with its stream description (what `serkit train` writes)."""
    name, cfg, role, spec, norm_kind = CASES[case]
    spec = frontend or spec
    rng = np.random.default_rng(abs(hash(case)) % 2**32)
    torch.manual_seed(0)
    dim = build_frontend(spec)(np.zeros(16000, np.float32)).shape[-1]
    model = create_model(name, num_classes=len(CLASSES), input_dims={role: dim}, **cfg)
    with torch.no_grad():
        for p in model.parameters():  # larger weights: probabilities far from uniform
            p.mul_(2.0)
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    model.eval()
    norm = _normaliser(norm_kind, spec, rng) if normaliser == "default" else normaliser
    meta = {
        "classes": CLASSES,
        "streams": {
            role: {
                "frontend": str(build_frontend(spec).spec),
                "kind": "frames",
                "dim": dim,
                "normaliser": norm,
            }
        },
    }
    if temperature is not None:
        meta["calibration"] = {"temperature": temperature, "uncertain_below": 0.3}
    return save_checkpoint(directory, model, meta)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """case -> (checkpoint folder, exported .onnx), exported once per module (with the built-in check)."""
    root = tmp_path_factory.mktemp("export")
    out = {}
    for case in CASES:
        ckpt = make_checkpoint(root / case, case)
        # The built-in check (onnx checker + parity) once; the tests below compare independently.
        out[case] = (ckpt, export_onnx(ckpt, root / f"{case}.onnx", check=case == "drsn_bigru"))
    return out


def _session(path: Path):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


# ---------------------------------------------------------------------------------------------------
# Parity


@pytest.mark.parametrize("case", list(CASES))
def test_onnx_matches_torch_and_recognizer_at_several_lengths(
    exported: dict[str, tuple[Path, Path]], case: str
) -> None:
    from serkit.infer import Recognizer

    ckpt, path = exported[case]
    model, meta = load_checkpoint(ckpt)
    session = _session(path)
    recognizer = Recognizer.load(ckpt)
    rng = np.random.default_rng(7)
    spread = []
    for seconds in SECONDS:
        wave = test_waveform(seconds, rng)
        got = onnx_probabilities(session, wave)
        ref = reference_probabilities(model, meta, wave)
        rec = recognizer.predict(wave, sample_rate=16000).probabilities
        rec = np.array([rec[c] for c in CLASSES])
        assert got.shape == (len(CLASSES),)
        assert np.max(np.abs(got - ref)) < TOL, (seconds, got, ref)
        assert np.max(np.abs(got - rec)) < TOL, (seconds, got, rec)
        spread.append(got.max() - got.min())
    # Not a degenerate model: the test would pass for any graph that outputs a constant.
    assert max(spread) > 0.05


def test_temperature_is_applied_in_the_graph(tmp_path: Path) -> None:
    wave = test_waveform(2.0, np.random.default_rng(3))
    probs = {}
    for t in (1.0, 3.0):
        ckpt = make_checkpoint(tmp_path / f"t{t}", "mfcc_cnn1d", temperature=t)
        probs[t] = onnx_probabilities(_session(export_onnx(ckpt, tmp_path / f"t{t}.onnx", check=False)), wave)
    logits = np.log(probs[1.0])
    expected = np.exp(logits / 3.0) / np.exp(logits / 3.0).sum()
    np.testing.assert_allclose(probs[3.0], expected, atol=1e-5)
    assert probs[3.0].max() < probs[1.0].max()


def test_metadata_describes_the_model(exported: dict[str, tuple[Path, Path]]) -> None:
    from serkit import __version__

    ckpt, path = exported["mfcc_cnn1d"]
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    saved = json.loads((ckpt / "checkpoint.json").read_text())
    assert json.loads(meta["classes"]) == CLASSES
    assert meta["sample_rate"] == "16000"
    assert json.loads(meta["calibration"]) == {"temperature": 1.7, "uncertain_below": 0.3}
    assert json.loads(meta["frontends"]) == {"mfcc": saved["streams"]["mfcc"]["frontend"]}
    assert meta["serkit_version"] == __version__
    assert meta["model"] == "mfcc_cnn1d"
    # deltas over 9 frames need 10 frames: 1 + n // 512 >= 10
    assert int(meta["min_samples"]) == 9 * 512


# ---------------------------------------------------------------------------------------------------
# Frontends: the export-side modules equal serkit's frontends


@pytest.mark.parametrize(
    "spec",
    [
        "logmel",
        "logmel(n_mels=64, n_fft=400, win_length=320, hop=160, window='hann', center=True, power_norm=False)",
        "logmel(preemph=0.0, window='rectangular', htk=False, mel_norm='slaney', fmin_hz=50.0, fmax_hz=7000.0)",
        "logspec",
        "logspec(center=True, window='hann', fmin_hz=100.0, fmax_hz=None)",
        "mfcc",
        "mfcc(n_mfcc=13, n_mels=40, delta_order=1, top_db=None, win_length=1600)",
        "mfcc(n_mfcc=20, delta_order=2, delta_width=5, center=False)",
    ],
)
def test_frontend_modules_equal_serkit_frontends(spec: str) -> None:
    fe = build_frontend(spec)
    module = {"logmel": LogMelGraph, "logspec": LogSpecGraph, "mfcc": MfccGraph}[fe.name](fe)
    rng = np.random.default_rng(0)
    for n in (1, 399, 5000, 16000, 16001, 37123):
        if fe.name == "mfcc" and fe.delta_order and len(fe(np.zeros(n, np.float32))) <= fe.delta_width:
            continue  # below min_samples (the runner refuses those)
        wave = test_waveform(n / 16000, rng)
        wave[n // 3 : 2 * n // 3] = 0.0  # digital silence: the log floors and the top_db clip
        ref = fe(wave)
        with torch.no_grad():
            got = module(torch.from_numpy(wave)[None])[0].numpy()
        assert got.shape == ref.shape, (n, got.shape, ref.shape)
        # Relative to each feature's own range (MFCC c0 is ~100x the deltas): float32 FFT noise only.
        scale = np.maximum(1.0, np.abs(ref).reshape(-1, ref.shape[-1]).max(axis=0))
        assert np.max(np.abs(got - ref) / scale) < 1e-4, (n, np.max(np.abs(got - ref) / scale))


# ---------------------------------------------------------------------------------------------------
# What cannot be exported


def _write_meta(directory: Path, streams: dict, model: str = "mfcc_cnn1d") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    meta = {
        "format": "serkit-checkpoint",
        "format_version": 1,
        "classes": CLASSES,
        "streams": streams,
        "model": {"name": model, "num_classes": 4, "input_dims": {"mfcc": 88}, "cfg": {}, "stream_names": {}},
    }
    (directory / "checkpoint.json").write_text(json.dumps(meta))
    return directory


@pytest.mark.parametrize(
    ("frontend", "words"),
    [("handcrafted", "handcrafted"), ("melimage", "melimage")],
)
def test_unexportable_frontend_names_stream_and_frontend(tmp_path: Path, frontend: str, words: str) -> None:
    ckpt = _write_meta(
        tmp_path / "c", {"feats": {"frontend": frontend, "kind": "frames", "normaliser": None}}
    )
    out = tmp_path / "m.onnx"
    with pytest.raises(CheckpointError, match=rf"stream 'feats'.*{words}"):
        export_onnx(ckpt, out)
    assert not out.exists()


def test_speaker_normaliser_and_classic_learners_are_refused(tmp_path: Path) -> None:
    norm = {"type": "SpeakerNormaliser", "params": {"transductive": False}, "state": None}
    ckpt = _write_meta(tmp_path / "s", {"mfcc": {"frontend": "mfcc", "kind": "frames", "normaliser": norm}})
    with pytest.raises(CheckpointError, match="SpeakerNormaliser"):
        export_onnx(ckpt, tmp_path / "s.onnx")
    classic = tmp_path / "classic"
    classic.mkdir()
    (classic / "classic.json").write_text("{}")
    with pytest.raises(CheckpointError, match="classic"):
        export_onnx(classic, tmp_path / "c.onnx")
    with pytest.raises(CheckpointError, match=r"checkpoint\.json is missing"):
        export_onnx(tmp_path / "nowhere", tmp_path / "n.onnx")
    with pytest.raises(ParameterError, match="opset"):
        export_onnx(ckpt, tmp_path / "o.onnx", opset=13)


# ---------------------------------------------------------------------------------------------------
# The runner


def test_runner_predicts_files_and_arrays_and_refuses_short_input(
    exported: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    from serkit.infer import Recognizer

    ckpt, path = exported["drsn_bigru"]
    rec = OnnxRecognizer(path, threads=1)
    assert rec.labels == CLASSES and rec.calibration["temperature"] == 1.7
    wave = test_waveform(2.0, np.random.default_rng(5))
    sf.write(tmp_path / "clip.wav", wave, 16000, subtype="FLOAT")
    label, probs = rec.predict(tmp_path / "clip.wav")
    torch_pred = Recognizer.load(ckpt).predict(tmp_path / "clip.wav")
    assert label == torch_pred.label
    assert max(abs(probs[c] - torch_pred.probabilities[c]) for c in CLASSES) < TOL
    # a 48 kHz stereo array is resampled and downmixed like a file
    stereo = np.stack([np.interp(np.arange(96000) / 3, np.arange(32000), wave)] * 2, axis=1).astype(
        np.float32
    )
    label48, _ = rec.predict(stereo, sample_rate=48000)
    assert label48 in [*CLASSES, "uncertain"]
    with pytest.raises(ParameterError, match="sample_rate"):
        rec.predict(wave)

    short = OnnxRecognizer(exported["mfcc_cnn1d"][1])
    assert short.min_samples == 9 * 512
    with pytest.raises(AudioError, match="at least 288 ms"):
        short.predict(wave[:4000], sample_rate=16000)


def test_runner_refuses_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="missing"):
        OnnxRecognizer(tmp_path / "none.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    with pytest.raises(CheckpointError, match="Cannot load"):
        OnnxRecognizer(tmp_path / "junk.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter, as export_onnx uses
        torch.onnx.export(
            torch.nn.Linear(3, 2), (torch.zeros(1, 3),), str(tmp_path / "plain.onnx"), dynamo=False
        )
    with pytest.raises(CheckpointError, match="not a serkit export"):
        OnnxRecognizer(tmp_path / "plain.onnx")


def test_runner_works_without_torch(exported: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    _, path = exported["bigru_mha"]
    wave = test_waveform(1.5, np.random.default_rng(9))
    sf.write(tmp_path / "clip.wav", wave, 16000, subtype="FLOAT")
    script = f"""
import json, sys

class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")
        return None

sys.meta_path.insert(0, NoTorch())
from serkit.infer.onnx_runtime import OnnxRecognizer
label, probs = OnnxRecognizer({str(path)!r}).predict({str(tmp_path / "clip.wav")!r})
assert not any(m == "torch" or m.startswith("torch.") for m in sys.modules), "torch was imported"
print(json.dumps({{"label": label, "probs": probs}}))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    label, probs = OnnxRecognizer(path).predict(tmp_path / "clip.wav")
    assert result["label"] == label
    assert max(abs(result["probs"][c] - probs[c]) for c in CLASSES) < 1e-6


# ---------------------------------------------------------------------------------------------------
# CLI


def _app() -> typer.Typer:
    from serkit.cli.export import export

    app = typer.Typer()
    app.command("export")(export)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps typer's sub-command parsing
        pass

    return app


def test_cli_exports_and_reports_size_and_parity(
    exported: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    ckpt, _ = exported["mfcc_rnn_time"]
    out = tmp_path / "sub" / "model.onnx"
    result = CliRunner().invoke(_app(), ["export", str(ckpt), str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file()
    assert str(out) in result.output and "KB" in result.output
    diff = float(result.output.split("max |onnx - torch| = ")[1].split()[0])
    assert diff < TOL
    assert OnnxRecognizer(out).labels == CLASSES


def test_cli_bad_checkpoint_is_one_line_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(_app(), ["export", str(tmp_path / "nope"), str(tmp_path / "m.onnx")])
    assert result.exit_code == 2
    assert "error:" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    ckpt = _write_meta(tmp_path / "hc", {"feats": {"frontend": "handcrafted", "kind": "frames"}})
    result = runner.invoke(_app(), ["export", str(ckpt), str(tmp_path / "m.onnx")])
    assert result.exit_code == 2 and "handcrafted" in result.output
    assert not (tmp_path / "m.onnx").exists()
    result = runner.invoke(_app(), ["export", str(ckpt), str(tmp_path / "m.txt")])
    assert result.exit_code == 2 and ".onnx" in result.output
