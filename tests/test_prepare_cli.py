"""prepare_corpus on folders with broken files, and the `serkit data` / `serkit features` commands."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from serkit.cli import app
from serkit.data import prepare_corpus, read_manifest
from serkit.errors import CorpusError

from synth import tone, write

runner = CliRunner()


def _ravdess_mini(root, *, bad: bool):
    """Two actors x 3 emotions of RAVDESS-named files; optionally three broken ones."""
    for actor in ("01", "02"):
        for emo in ("01", "03", "05"):
            write(
                root / f"Actor_{actor}" / f"03-01-{emo}-01-01-01-{actor}.wav", tone(150 + int(emo) * 20, 0.4)
            )
    if bad:
        good = root / "Actor_01" / "03-01-01-01-01-01-01.wav"
        data = good.read_bytes()
        (root / "Actor_01" / "03-01-04-01-01-01-01.wav").write_bytes(data[: len(data) // 2])  # truncated
        (root / "Actor_02" / "03-01-04-01-01-01-02.wav").write_bytes(b"")  # zero length
        (root / "Actor_02" / "03-01-06-01-01-01-02.wav").write_text("a text file renamed .wav\n" * 50)
    return root


def test_broken_files_are_reported_and_the_rest_prepared(tmp_path):
    root = _ravdess_mini(tmp_path / "rav", bad=True)
    report = prepare_corpus("ravdess", root, workers=2)
    assert len(report.manifest) == 6
    kinds = {p.path.rsplit("/", 1)[1]: p.kind for p in report.problems}
    assert kinds == {
        "03-01-04-01-01-01-01.wav": "truncated",
        "03-01-04-01-01-01-02.wav": "empty",
        "03-01-06-01-01-01-02.wav": "corrupt",
    }


def test_cli_prepare_writes_manifest_and_problem_report(tmp_path):
    root = _ravdess_mini(tmp_path / "rav", bad=True)
    out = tmp_path / "m.csv"
    result = runner.invoke(app, ["data", "prepare", "ravdess", str(root), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert "3 file(s) left out" in result.output
    manifest = read_manifest(out)
    assert len(manifest) == 6 and set(manifest["label"]) == {"neutral", "happy", "angry"}
    problems = pd.read_csv(tmp_path / "m.problems.csv")
    assert sorted(problems["kind"]) == ["corrupt", "empty", "truncated"]


def test_cli_stats_json_from_manifest_and_from_root(tmp_path):
    root = _ravdess_mini(tmp_path / "rav", bad=False)
    out = tmp_path / "m.parquet"
    assert runner.invoke(app, ["data", "prepare", "ravdess", str(root), "-o", str(out), "-q"]).exit_code == 0
    for args in (["data", "stats", str(out), "--json"], ["data", "stats", "ravdess", str(root), "--json"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        stats = json.loads(result.stdout)
        assert (stats["utterances"], stats["speakers"], stats["labels"]) == (6, 2, 3)
        assert stats["per_speaker"]["01"] == {"angry": 1, "happy": 1, "neutral": 1}
        assert stats["gender_counts"] == {"f": 3, "m": 3}
    table = runner.invoke(app, ["data", "stats", str(out)])
    assert "utterances per speaker and label" in table.stdout


def test_cli_errors_are_one_clear_line(tmp_path):
    result = runner.invoke(app, ["data", "prepare", "ravdes", str(tmp_path), "-o", str(tmp_path / "m.csv")])
    assert result.exit_code == 2
    assert "Did you mean 'ravdess'" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["data", "stats", str(tmp_path / "none.csv")])
    assert result.exit_code == 2 and "not a manifest file" in result.output
    with pytest.raises(CorpusError, match="No RAVDESS"):
        prepare_corpus("ravdess", tmp_path)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["data"],
        ["features"],
        ["data", "prepare"],
        ["data", "stats"],
        ["data", "split"],
        ["data", "list"],
        ["features", "extract"],
        ["features", "list"],
    ],
)
def test_every_command_has_help(args):
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output and len(result.output) > 200


def test_cli_list_commands():
    result = runner.invoke(app, ["data", "list", "--json"])
    names = [row["name"] for row in json.loads(result.stdout)]
    assert {"ravdess", "emodb"} <= set(names)
    result = runner.invoke(app, ["features", "list", "--json"])
    assert result.exit_code == 0, result.output


@pytest.mark.corpus
def test_cli_stats_real_ravdess(ravdess_root):
    result = runner.invoke(app, ["data", "stats", "ravdess", str(ravdess_root), "--json"])
    stats = json.loads(result.stdout)
    assert (stats["utterances"], stats["speakers"], stats["labels"]) == (1440, 24, 8)
    assert stats["label_counts"] == {
        "angry": 192,
        "calm": 192,
        "disgust": 192,
        "fearful": 192,
        "happy": 192,
        "neutral": 96,
        "sad": 192,
        "surprised": 192,
    }
    assert abs(stats["hours"] - 1.480) < 0.005
