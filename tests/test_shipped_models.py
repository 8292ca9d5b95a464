"""The two models inside the package: they load, predict the example clip, carry their calibration and
their licence, and `serkit predict` gives one result per file of a real corpus folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from serkit.cli import app
from serkit.infer import Recognizer
from serkit.labels import get_label_set

from conftest import corpus_root

MODELS = Path(__file__).resolve().parents[1] / "src" / "serkit" / "infer" / "models"
EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "serkit" / "infer" / "data" / "example.flac"
CORE5 = list(get_label_set("core5").classes)


def _meta(name: str) -> dict:
    return json.loads((MODELS / name / "checkpoint.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["default", "whisper-base"])
def test_shipped_checkpoints_carry_calibration_licence_and_core5(name: str) -> None:
    meta = _meta(name)
    assert meta["classes"] == CORE5
    cal = meta["calibration"]
    assert 0.05 < cal["temperature"] < 20 and 1 / len(CORE5) <= cal["uncertain_below"] <= 0.5
    assert "non-commercial" in meta["shipped"]["licence"]
    assert set(meta["shipped"]["trained_on"]) == {"ravdess", "emodb", "emovo", "casia", "turev-db"}
    # the leave-one-corpus-out numbers of the model card travel with the model
    assert set(meta["shipped"]["loco"]) == set(meta["shipped"]["trained_on"])


def test_default_model_predicts_the_example_clip() -> None:
    rec = Recognizer.load()
    assert rec.labels == CORE5 and rec.temperature == _meta("default")["calibration"]["temperature"]
    p = rec.predict(EXAMPLE)
    assert p.label in [*CORE5, "uncertain"]
    assert abs(sum(p.probabilities.values()) - 1.0) < 1e-5
    assert p.uncertain == (max(p.probabilities.values()) < rec.uncertain_below)
    assert 9.5 < p.duration_s < 10.5


def test_predict_example_cli_prints_label_probabilities_and_timeline() -> None:
    result = CliRunner().invoke(app, ["predict", "--example"])
    assert result.exit_code == 0, result.output
    assert "example.flac" in result.output and "segment(s)" in result.output
    assert all(c in result.output for c in CORE5)


@pytest.mark.weights
def test_whisper_base_model_predicts_the_example_clip() -> None:
    rec = Recognizer.load("whisper-base")
    p = rec.predict(EXAMPLE)
    assert rec.labels == CORE5 and p.label in [*CORE5, "uncertain"]
    assert abs(sum(p.probabilities.values()) - 1.0) < 1e-5


@pytest.mark.corpus
@pytest.mark.slow
def test_predict_a_real_corpus_folder_gives_one_result_per_file(tmp_path: Path) -> None:
    root = corpus_root("emovo")
    out = tmp_path / "emovo.jsonl"
    result = CliRunner().invoke(app, ["predict", str(root), "--json", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 588 and all("error" not in r for r in rows)
    probs = np.array([[r["probabilities"][c] for c in CORE5] for r in rows])
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
