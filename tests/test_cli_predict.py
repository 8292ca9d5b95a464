"""``serkit predict``: files, folders and globs; JSON lines / CSV / table; bad files; resume by appending."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from serkit.cli.predict import expand_paths, predict
from serkit.infer import shipped as shipped_mod

from synth import tone, voiced, write

CLASSES = ["neutral", "calm", "happy", "sad", "angry"]
FRONTEND = "logmel(n_mels=16, hop_length=320)"

app = typer.Typer(pretty_exceptions_enable=False)
app.command("predict")(predict)


@app.callback()
def _root() -> None:
    """Local app: `predict` stays a subcommand, as under `serkit`."""


runner = CliRunner()


def make_checkpoint(directory: Path) -> Path:
    """A tiny random network on a 16-band log-mel (see tests/test_infer_recognizer.py)."""
    from serkit.features import build_frontend
    from serkit.features.normalise import CorpusNormaliser
    from serkit.models import create_model
    from serkit.train.checkpoint import save_checkpoint

    fe = build_frontend(FRONTEND)
    torch.manual_seed(0)
    model = create_model("mfcc_cnn1d", num_classes=5, input_dims={"mfcc": 16}, cfg={"sequence_axis": "time"})
    norm = CorpusNormaliser().fit([fe(voiced(150, 1.0, seed=i)) for i in range(2)])
    meta = {
        "classes": CLASSES,
        "streams": {
            "mfcc": {"frontend": FRONTEND, "kind": "frames", "dim": 16, "normaliser": norm.to_dict()}
        },
    }
    return save_checkpoint(directory, model.eval(), meta)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> str:
    return str(make_checkpoint(tmp_path_factory.mktemp("model") / "checkpoint"))


def corpus(root: Path, n_good: int = 3, *, bad: bool = True) -> tuple[list[Path], list[Path]]:
    good = [
        write(root / f"spk{i % 2}" / f"good{i}.wav", voiced(120 + 20 * i, 0.6 + 0.2 * i, seed=i))
        for i in range(n_good)
    ]
    broken = []
    if bad:
        corrupt = root / "spk0" / "corrupt.wav"
        corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage that is not audio")
        empty = root / "spk1" / "empty.flac"
        empty.write_bytes(b"")
        broken = [corrupt, empty]
    (root / "notes.txt").write_text("not audio, not listed")
    return good, broken


def invoke(*args: str):
    return runner.invoke(app, ["predict", *args])


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


def test_folder_with_bad_files_gives_error_entries_and_the_rest(tmp_path, ckpt):
    good, broken = corpus(tmp_path / "c")
    result = invoke(str(tmp_path / "c"), "-m", ckpt, "--json", "-q")
    assert result.exit_code == 1, result.output
    entries = json_lines(result.stdout)
    assert len(entries) == 5
    by_path = {Path(e["path"]).name: e for e in entries}
    for path in good:
        e = by_path[path.name]
        assert set(e) == {"path", "label", "probabilities", "duration_s", "uncertain"}
        assert list(e["probabilities"]) == CLASSES and abs(sum(e["probabilities"].values()) - 1) < 1e-6
        assert e["label"] in CLASSES and e["uncertain"] is False
    assert by_path["good2.wav"]["duration_s"] == pytest.approx(1.0)
    for path in broken:
        e = by_path[path.name]
        assert set(e) == {"path", "error"} and path.name in e["error"]
    assert "notes.txt" not in by_path


def test_all_good_exits_0_and_no_recursion_on_request(tmp_path, ckpt):
    corpus(tmp_path / "c", bad=False)
    write(tmp_path / "c" / "top.wav", voiced(200, 0.5))
    result = invoke(str(tmp_path / "c"), "-m", ckpt, "--json")
    assert result.exit_code == 0, result.output
    assert len(json_lines(result.stdout)) == 4
    assert "4 predicted, 0 failed" in result.stderr
    flat = invoke(str(tmp_path / "c"), "-m", ckpt, "--json", "--no-recursive", "-q")
    assert [Path(e["path"]).name for e in json_lines(flat.stdout)] == ["top.wav"]


def test_batches_give_the_same_results(tmp_path, ckpt):
    corpus(tmp_path / "c", n_good=5, bad=False)
    one = json_lines(invoke(str(tmp_path / "c"), "-m", ckpt, "--json", "-b", "1", "-q").stdout)
    many = json_lines(invoke(str(tmp_path / "c"), "-m", ckpt, "--json", "-b", "4", "-q").stdout)
    assert [e["path"] for e in one] == [e["path"] for e in many]
    for a, b in zip(one, many, strict=True):
        assert a["probabilities"] == pytest.approx(b["probabilities"], abs=1e-5)


def test_globs_files_and_missing_names(tmp_path, ckpt):
    good, _ = corpus(tmp_path / "c", bad=False)
    pattern = str(tmp_path / "c" / "spk0" / "*.wav")
    result = invoke(
        pattern,
        str(good[1]),
        str(tmp_path / "nope.wav"),
        str(tmp_path / "z*.wav"),
        "-m",
        ckpt,
        "--json",
        "-q",
    )
    assert result.exit_code == 1
    entries = json_lines(result.stdout)
    errors = {Path(e["path"]).name: e["error"] for e in entries if "error" in e}
    assert errors == {"nope.wav": "the file does not exist.", "z*.wav": "no file matches this pattern."}
    assert sorted(Path(e["path"]).name for e in entries if "label" in e) == [
        "good0.wav",
        "good1.wav",
        "good2.wav",
    ]


def test_expand_paths_dedupes_and_keeps_order(tmp_path):
    good, _ = corpus(tmp_path / "c", bad=False)
    files, missing = expand_paths([str(good[2]), str(tmp_path / "c"), str(good[2])])
    assert files[0] == str(good[2]) and len(files) == 3 and missing == []


def test_csv_and_table_output(tmp_path, ckpt):
    good, _ = corpus(tmp_path / "c")
    result = invoke(str(tmp_path / "c"), "-m", ckpt, "--csv", "-q")
    assert result.exit_code == 1
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 5
    assert list(rows[0]) == [
        "path",
        "label",
        "duration_s",
        "uncertain",
        *[f"p_{c}" for c in CLASSES],
        "error",
    ]
    assert sum(1 for r in rows if r["error"]) == 2
    ok = [r for r in rows if not r["error"]]
    assert all(abs(sum(float(r[f"p_{c}"]) for c in CLASSES) - 1) < 1e-4 for r in ok)
    table = invoke(str(good[0]), "-m", ckpt)
    assert table.exit_code == 0
    assert "good0.wav" in table.stdout and "neutral" in table.stdout and "seconds" in table.stdout


def test_labels_restrict_and_merge(tmp_path, ckpt):
    good, _ = corpus(tmp_path / "c", n_good=1, bad=False)
    full = json_lines(invoke(str(good[0]), "-m", ckpt, "--json", "-q").stdout)[0]["probabilities"]
    merged = json_lines(
        invoke(str(good[0]), "-m", ckpt, "--json", "-q", "--labels", "neutral+calm,happy,sad").stdout
    )[0]
    total = full["neutral"] + full["calm"] + full["happy"] + full["sad"]
    assert list(merged["probabilities"]) == ["neutral", "happy", "sad"]
    assert merged["probabilities"]["neutral"] == pytest.approx(
        (full["neutral"] + full["calm"]) / total, abs=1e-6
    )
    bad = invoke(str(good[0]), "-m", ckpt, "--labels", "neutral,bored")
    assert bad.exit_code == 2 and "no class 'bored'" in bad.output and "Traceback" not in bad.output


def test_resume_appends_only_new_files(tmp_path, ckpt):
    root = tmp_path / "c"
    _, broken = corpus(root)
    out = tmp_path / "res" / "predictions.jsonl"
    first = invoke(str(root), "-m", ckpt, "-o", str(out), "-q")
    assert first.exit_code == 1 and first.stdout == ""
    before = out.read_text()
    assert len(before.splitlines()) == 5
    # An interrupted later run: two more files arrived, and a line was cut short.
    write(root / "spk1" / "new1.wav", voiced(300, 0.7))
    write(root / "spk0" / "new2.wav", voiced(260, 0.9))
    out.write_text(before + '{"path": "cut sho')
    second = invoke(str(root), "-m", ckpt, "-o", str(out))
    assert second.exit_code == 1  # the two bad files of the first run still count
    after = out.read_text()
    assert after.startswith(before)  # nothing rewritten
    lines = json_lines(after)
    assert len(lines) == 7 and len({e["path"] for e in lines}) == 7
    assert {Path(e["path"]).name for e in lines[5:]} == {"new1.wav", "new2.wav"}
    assert "2 predicted, 0 failed, 5 already in" in second.stderr and "(2 of them errors)" in second.stderr
    for bad in broken:
        bad.unlink()
    third = invoke(str(root), "-m", ckpt, "-o", str(out), "-q")
    assert out.read_text() == after and third.exit_code == 0


def test_resume_csv_and_format_mismatch(tmp_path, ckpt):
    root = tmp_path / "c"
    corpus(root, bad=False)
    out = tmp_path / "p.csv"
    assert invoke(str(root), "-m", ckpt, "-o", str(out), "-q").exit_code == 0
    text = out.read_text()
    write(root / "more.wav", voiced(200, 0.5))
    assert invoke(str(root), "-m", ckpt, "-o", str(out), "-q").exit_code == 0
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert out.read_text().startswith(text) and len(rows) == 1 + 4 and rows.count(rows[0]) == 1
    other = invoke(str(root), "-m", ckpt, "-o", str(out), "--labels", "neutral,happy")
    assert other.exit_code == 2 and "other columns" in other.output
    notjson = tmp_path / "x.jsonl"
    notjson.write_text("path,label\n")
    result = invoke(str(root), "-m", ckpt, "-o", str(notjson))
    assert result.exit_code == 2 and "not a serkit predict JSON object" in result.output


def test_timeline_output(tmp_path, ckpt):
    y = np.concatenate([voiced(130, 3.0, seed=1), np.zeros(16000, np.float32), voiced(230, 2.5, seed=2)])
    path = write(tmp_path / "long.wav", y)
    result = invoke(str(path), "-m", ckpt, "--json", "--timeline", "--vad", "energy", "-q")
    assert result.exit_code == 0, result.output
    entry = json_lines(result.stdout)[0]
    tl = entry["timeline"]
    assert tl["vad"] == "energy" and len(tl["speech"]) == 2 and tl["segments"]
    assert all(s["label"] in CLASSES for s in tl["segments"])
    table = invoke(str(path), "-m", ckpt, "--timeline", "--vad", "energy")
    assert "segment(s)" in table.stdout and "start" in table.stdout
    rows = list(
        csv.DictReader(
            io.StringIO(invoke(str(path), "-m", ckpt, "--csv", "-t", "--vad", "energy", "-q").stdout)
        )
    )
    assert len(rows) == len(tl["segments"]) and list(rows[0])[:4] == ["path", "start_s", "end_s", "label"]


def test_plot(tmp_path, ckpt):
    pytest.importorskip("matplotlib")
    path = write(
        tmp_path / "a.wav", np.concatenate([voiced(130, 2.5), np.zeros(8000, np.float32), voiced(200, 2.0)])
    )
    png = tmp_path / "plots" / "timeline.png"
    result = invoke(str(path), "-m", ckpt, "--plot", str(png), "--vad", "energy", "-q")
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    other = write(tmp_path / "b.wav", voiced(180, 1.0))
    two = invoke(str(path), str(other), "-m", ckpt, "--plot", str(png))
    assert two.exit_code == 2 and "one file" in two.output
    wrong = invoke(str(path), "-m", ckpt, "--plot", str(tmp_path / "t.jpg"))
    assert wrong.exit_code == 2 and ".png" in wrong.output


def test_example_clip(ckpt):
    result = invoke("--example", "-m", ckpt, "--vad", "energy")
    assert result.exit_code == 0, result.output
    assert "example.flac" in result.stdout and "segment(s)" in result.stdout


def test_example_clip_is_small_16k_mono_speech():
    import soundfile as sf

    from serkit.infer import example_clip

    path = example_clip()
    info = sf.info(str(path))
    assert info.samplerate == 16000 and info.channels == 1 and info.format == "FLAC"
    assert 3.0 <= info.duration <= 15.0 and path.stat().st_size < 200_000


def test_bad_arguments_exit_2_with_one_line(tmp_path, ckpt, monkeypatch):
    cases = [
        ((), "serkit predict --example"),
        ((str(tmp_path), "-m", ckpt), "No audio files found"),
        (("x.wav", "-m", str(tmp_path / "nomodel")), "neither a shipped model"),
        (("x.wav", "-m", ckpt, "--json", "--csv"), "one of --json and --csv"),
        (("x.wav", "-m", ckpt, "-b", "0"), "--batch-size"),
        (("x.wav", "-m", ckpt, "--vad", "loud"), "--vad"),
        (("x.wav", "-m", ckpt, "--timeline", "--hop", "-1"), "hop_s"),
        (("x.wav", "-m", ckpt, "--timeline", "--change-penalty", "-1"), "change_penalty"),
        (("x.wav", "-m", ckpt, "-o", str(tmp_path / "out.txt")), "suffix"),
    ]
    for args, words in cases:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output and "Traceback" not in result.output, (args, result.output)
    monkeypatch.setattr(shipped_mod, "models_dir", lambda: tmp_path / "none")
    missing = invoke(str(write(tmp_path / "a.wav", tone(200, 0.5))))
    assert missing.exit_code == 2 and "is not installed" in missing.output
