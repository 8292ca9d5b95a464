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


def test_cli_features_extract_then_cache_hits(tmp_path):
    root = _ravdess_mini(tmp_path / "rav", bad=False)
    manifest = tmp_path / "m.csv"
    assert (
        runner.invoke(app, ["data", "prepare", "ravdess", str(root), "-o", str(manifest), "-q"]).exit_code
        == 0
    )
    args = ["features", "extract", str(manifest), "--frontend", "logmel(n_mels=40, hop=200, preemph=0.97)"]
    args += ["-o", str(tmp_path / "feats"), "-j", "1", "-q"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "6 computed, 0 from cache, 0 failed" in first.output
    second = runner.invoke(app, args)
    assert "0 computed, 6 from cache, 0 failed" in second.output
    index = next((tmp_path / "feats").glob("logmel-v1-*/index.csv"))
    frame = pd.read_csv(index)
    assert list(frame["status"]) == ["cached"] * 6
    # 0.4 s at hop 200 without centring: 1 + (6400 - 512) // 200 = 30 frames of 40 bands
    assert set(frame["shape"]) == {"30x40"}
    bad = runner.invoke(
        app, ["features", "extract", str(manifest), "--frontend", "logmel(n_mel=40)", "-o", "x"]
    )
    assert bad.exit_code == 2 and "Did you mean 'n_mels'" in bad.output


def test_cli_split_writes_checked_json(tmp_path):
    root = tmp_path / "rav"
    for actor in ("01", "02", "03", "04"):
        for emo in ("01", "03"):
            write(root / f"Actor_{actor}" / f"03-01-{emo}-01-01-01-{actor}.wav", tone(200, 0.2))
    manifest = tmp_path / "m.csv"
    assert (
        runner.invoke(app, ["data", "prepare", "ravdess", str(root), "-o", str(manifest), "-q"]).exit_code
        == 0
    )
    result = runner.invoke(
        app,
        [
            "data",
            "split",
            str(manifest),
            "-p",
            "group-kfold",
            "--n-folds",
            "2",
            "-o",
            str(tmp_path / "s.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 fold(s), speaker-independent" in result.output
    data = json.loads((tmp_path / "s.json").read_text())
    for fold in data["folds"]:
        assert not set(fold["test_speakers"]) & set(fold["train_speakers"] + fold["val_speakers"])
    unknown = runner.invoke(
        app, ["data", "split", str(manifest), "-p", "lsoo", "-o", str(tmp_path / "t.json")]
    )
    assert unknown.exit_code == 2 and "loso" in unknown.output


def test_console_script_version_and_error_exit_code(tmp_path):
    import subprocess
    import sys

    serkit = [sys.executable, "-c", "from serkit.cli import main; main()"]
    version = subprocess.run([*serkit, "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("serkit ")
    err = subprocess.run([*serkit, "data", "stats", "emodb", str(tmp_path)], capture_output=True, text=True)
    assert err.returncode == 2
    assert "No EmoDB" in err.stderr and "Traceback" not in err.stderr
