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


# --------------------------------------------------------------------------------------------
# Bad input: one line naming the value, exit code 2, checked before any decoding
# --------------------------------------------------------------------------------------------


def _one_error_line(result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail loudly if a command decodes audio or reads the manifest before checking its output path."""
    import serkit.data.manifest
    import serkit.data.prepare

    def boom(*args, **kwargs):
        raise AssertionError("work started before the output path was checked")

    monkeypatch.setattr(serkit.data.prepare, "probe_audio", boom)
    monkeypatch.setattr(serkit.data.manifest, "read_manifest", boom)


def test_bad_output_paths_are_refused_before_any_work(tmp_path, no_decoding):
    root = _ravdess_mini(tmp_path / "rav", bad=False)
    manifest = tmp_path / "m.csv"
    manifest.write_text("not read\n")
    folder = tmp_path / "EXISTING_DIR"
    folder.mkdir()
    split = ["data", "split", str(manifest), "-o"]
    prepare = ["data", "prepare", "ravdess", str(root), "-q", "-o"]
    cases = [
        (split, folder, ("EXISTING_DIR", "existing folder", "split.json")),
        (split, manifest / "x.json", ("m.csv/x.json", "is a file, not a folder")),
        (split, manifest / "sub" / "x.json", ("m.csv/sub/x.json", "is a file, not a folder")),
        (prepare, folder, ("EXISTING_DIR", "existing folder", "manifest.csv")),
        (prepare, manifest / "x.csv", ("m.csv/x.csv", "is a file, not a folder")),
        (prepare, tmp_path / "m.txt", ("m.txt", ".csv, .tsv, .parquet")),
    ]
    for args, target, words in cases:
        _one_error_line(runner.invoke(app, [*args, str(target)]), *words)


@pytest.mark.parametrize("jobs", ["0", "-3"])
def test_workers_below_one_are_refused(tmp_path, jobs, no_decoding):
    root = _ravdess_mini(tmp_path / "rav", bad=False)
    for args in (
        ["data", "prepare", "ravdess", str(root), "-o", str(tmp_path / "m.csv"), "-j", jobs],
        ["data", "stats", "ravdess", str(root), "-j", jobs],
    ):
        _one_error_line(runner.invoke(app, args), "--workers/-j", f"Got {jobs}")
    assert not (tmp_path / "m.csv").exists()


def test_unknown_corpus_option_names_the_valid_ones(tmp_path, no_decoding):
    root = _ravdess_mini(tmp_path / "rav", bad=False)
    out = ["-o", str(tmp_path / "m.csv")]
    result = runner.invoke(app, ["data", "prepare", "generic", str(root), *out, "--option", "foo=bar"])
    _one_error_line(result, "'foo'", "'generic'", "Valid options: csv, language, label_map, speaker_folders")
    result = runner.invoke(app, ["data", "prepare", "ravdess", str(root), *out, "--option", "foo=bar"])
    _one_error_line(result, "'foo'", "'ravdess'", "takes no options")


def test_a_folder_of_only_bad_files_is_an_error_with_the_problems_file(tmp_path):
    root = tmp_path / "bad"
    (root / "angry").mkdir(parents=True)
    (root / "angry" / "a.wav").write_bytes(b"")
    (root / "angry" / "b.wav").write_text("not audio\n" * 40)
    out = tmp_path / "m.csv"
    out.write_text("an older manifest\n")
    result = runner.invoke(app, ["data", "prepare", "generic", str(root), "-o", str(out), "-q"])
    assert result.exit_code == 2, result.output
    error = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "None of the 2 candidate file(s)" in error[0] and "no manifest" in error[0]
    assert "m.problems.csv" in error[0] and "left as it was" in error[0]
    assert "Traceback" not in result.output
    assert out.read_text() == "an older manifest\n"
    problems = pd.read_csv(tmp_path / "m.problems.csv")
    assert sorted(problems["kind"]) == ["corrupt", "empty"]


def test_ctrl_c_during_prepare_says_what_happens(tmp_path, monkeypatch):
    import serkit.data.prepare

    root = _ravdess_mini(tmp_path / "rav", bad=False)

    def interrupted(*args, **kwargs):  # deterministic: the "signal" arrives while decoding
        raise KeyboardInterrupt

    monkeypatch.setattr(serkit.data.prepare, "probe_audio", interrupted)
    out = tmp_path / "m.csv"
    result = runner.invoke(app, ["data", "prepare", "ravdess", str(root), "-o", str(out), "-q"])
    assert result.exit_code == 130
    assert "interrupted" in result.output and "nothing was written" in result.output
    assert "does not resume" in result.output and "to resume" not in result.output
    assert not out.exists()


def test_cli_split_records_the_label_set_and_explains_two_speakers(tmp_path):
    from serkit.data.splits import Split

    root = _ravdess_mini(tmp_path / "rav", bad=False)  # 2 speakers x neutral, happy, angry
    manifest = tmp_path / "m.csv"
    assert (
        runner.invoke(app, ["data", "prepare", "ravdess", str(root), "-o", str(manifest), "-q"]).exit_code
        == 0
    )
    result = runner.invoke(app, ["data", "split", str(manifest), "-o", str(tmp_path / "s.json")])
    _one_error_line(result, "only 2 speakers", "--n-val-speakers 0")
    args = ["data", "split", str(manifest), "-o", str(tmp_path / "s.json"), "--n-val-speakers", "0"]
    result = runner.invoke(app, [*args, "--label-set", "neutral,angry"])
    assert result.exit_code == 0, result.output
    split = Split.from_json(tmp_path / "s.json")
    assert split.label_set == {"name": "neutral,angry", "classes": ["neutral", "angry"], "merge": {}}
    assert sum(len(f.test) for f in split.folds) == 4  # the happy rows are left out
    split.check(read_manifest(manifest))  # the original manifest, no allow_changed_manifest
