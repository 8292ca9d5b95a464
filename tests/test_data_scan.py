"""Scanning a corpus folder: every candidate file ends in the manifest or in the problems list.

Same-stem copies in two formats, dangling links, link loops, folders and pipes named like audio,
linked folders and macOS ``._`` files; adapter options checked against the constructor.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from serkit.audio import AUDIO_EXTENSIONS
from serkit.data import prepare_corpus
from serkit.data.corpora import get_corpus
from serkit.data.corpora.base import Corpus, ScanResult, find_audio, utterance_id
from serkit.errors import CorpusError, ParameterError

from synth import tone, write

pytestmark = pytest.mark.filterwarnings("ignore:unknown speaker")


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _labels(root: Path, n: int = 2) -> None:
    for label in ("angry", "sad"):
        for i in range(n):
            write(root / label / f"u{i}.wav", tone(200 + 40 * i, 0.3))


def _by_name(problems) -> dict[str, tuple[str, str]]:
    return {Path(p.path).name: (p.kind, p.reason) for p in problems}


def _candidates(root: Path) -> set[str]:
    """Every entry under ``root`` with an audio extension (links not followed), by path."""
    found = set()
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            if Path(name).suffix.lower() in AUDIO_EXTENSIONS:
                found.add(str(Path(folder) / name))
    return found


def test_a_broken_wav_gives_way_to_the_same_recording_as_flac(tmp_path):
    root = tmp_path / "c"
    _labels(root)
    _truncate(write(root / "angry" / "x.wav", tone(300, 0.5)))
    write(root / "angry" / "x.flac", tone(300, 0.5))
    report = prepare_corpus("generic", root, workers=1)
    row = report.manifest.set_index("id").loc["generic/angry/x"]
    assert Path(row["path"]).name == "x.flac" and row["duration"] == pytest.approx(0.5)
    problems = _by_name(report.problems)
    assert list(problems) == ["x.wav"]
    kind, reason = problems["x.wav"]
    assert kind == "truncated" and "x.flac" in reason and "instead" in reason


def test_two_good_copies_keep_the_preferred_format_and_report_the_other(tmp_path):
    root = tmp_path / "c"
    _labels(root)
    write(root / "sad" / "y.flac", tone(300, 0.5))
    write(root / "sad" / "y.wav", tone(300, 0.5))
    write(root / "sad" / "z.mp3", tone(300, 0.5))
    write(root / "sad" / "z.ogg", tone(300, 0.5))
    write(root / "stray.wav", tone(300, 0.5))  # not at <label>/<file>: unmatched, and so is its copy
    write(root / "stray.flac", tone(300, 0.5))
    report = prepare_corpus("generic", root, workers=1)
    paths = dict(zip(report.manifest["id"], report.manifest["path"], strict=True))
    assert Path(paths["generic/sad/y"]).name == "y.wav"  # lossless wav before flac
    assert Path(paths["generic/sad/z"]).name == "z.ogg"  # AUDIO_EXTENSIONS order: ogg before mp3
    problems = _by_name(report.problems)
    assert set(problems) == {"y.flac", "z.mp3", "stray.wav", "stray.flac"}
    assert problems["stray.wav"][0] == "unmatched"
    assert problems["stray.flac"][0] == "duplicate-stem" and "stray.wav" in problems["stray.flac"][1]
    assert problems["y.flac"][0] == "duplicate-stem" and "y.wav" in problems["y.flac"][1]
    assert problems["z.mp3"][0] == "duplicate-stem" and "z.ogg" in problems["z.mp3"][1]


def test_when_every_copy_is_broken_each_is_reported_with_its_own_kind(tmp_path):
    root = tmp_path / "c"
    _labels(root)
    _truncate(write(root / "angry" / "x.wav", tone(300, 0.5)))
    (root / "angry" / "x.flac").write_bytes(b"")
    (root / "angry" / "x.ogg").write_text("not audio\n" * 30)
    report = prepare_corpus("generic", root, workers=1)
    assert "generic/angry/x" not in set(report.manifest["id"])
    kinds = {name: kind for name, (kind, _) in _by_name(report.problems).items()}
    assert kinds == {"x.wav": "truncated", "x.flac": "empty", "x.ogg": "corrupt"}


def test_links_folders_pipes_and_metadata_files_are_reported(tmp_path):
    root = tmp_path / "c"
    _labels(root)
    angry = root / "angry"
    (angry / "dangling.wav").symlink_to(angry / "nowhere.wav")
    (angry / "loop.wav").symlink_to(angry / "loop.wav")
    (angry / "dir.wav").mkdir()
    os.mkfifo(angry / "pipe.wav")
    (angry / "._u0.wav").write_bytes(b"\0" * 4096)
    outside = write(tmp_path / "elsewhere" / "w.wav", tone(250, 0.3))
    (root / "sad" / "linked").symlink_to(outside.parent)
    (angry / "good-link.wav").symlink_to(root / "sad" / "u0.wav")  # a link to a file is a file
    report = prepare_corpus("generic", root, workers=1)
    kinds = {name: kind for name, (kind, _) in _by_name(report.problems).items()}
    assert kinds == {
        "dangling.wav": "broken-link",
        "loop.wav": "broken-link",
        "dir.wav": "not-a-file",
        "pipe.wav": "not-a-file",
        "._u0.wav": "not-audio",
        "linked": "linked-folder",
    }
    reasons = {name: reason for name, (_, reason) in _by_name(report.problems).items()}
    assert "loop" in reasons["loop.wav"] and "does not exist" in reasons["dangling.wav"]
    assert "generic/angry/good-link" in set(report.manifest["id"])
    # Nothing with an audio extension is unaccounted for.
    accounted = set(report.manifest["path"].astype(str)) | {p.path for p in report.problems}
    assert _candidates(root) <= accounted


def test_direct_scan_records_what_find_audio_passed_over(tmp_path):
    root = tmp_path / "c"
    _labels(root)
    write(root / "angry" / "u0.flac", tone(200, 0.3))
    (root / "angry" / "dangling.wav").symlink_to(root / "nowhere.wav")
    result = get_corpus("generic").scan(root)
    kept = (root / "angry" / "u0.wav").resolve()
    assert result.alternates == {kept: [kept.with_suffix(".flac")]}
    assert [(p.name, kind) for p, kind, _ in result.skipped] == [("dangling.wav", "broken-link")]
    # Outside a scan, find_audio records nothing and returns the same files.
    assert find_audio(root.resolve()) == sorted(Path(r["path"]) for r in result.rows)


def test_a_user_adapter_gets_the_same_bookkeeping(tmp_path):
    class Flat(Corpus):  # not registered: used as an instance
        name = "flat"

        def scan(self, root: Path) -> ScanResult:
            root = self.check_root(root)
            result = ScanResult()
            for path in find_audio(root, "*"):
                result.rows.append(
                    {
                        "id": utterance_id(self.name, root, path),
                        "path": str(path),
                        "speaker": path.stem[0],
                        "label": "neutral",
                    }
                )
            return result

    root = tmp_path / "flat"
    write(root / "a1.wav", tone(200, 0.3))
    _truncate(write(root / "b1.wav", tone(200, 0.3)))
    write(root / "b1.au", tone(200, 0.3))
    (root / "c1.wav").mkdir()
    report = prepare_corpus(Flat(), root, workers=1)
    assert sorted(Path(p).name for p in report.manifest["path"]) == ["a1.wav", "b1.au"]
    assert {name: kind for name, (kind, _) in _by_name(report.problems).items()} == {
        "b1.wav": "truncated",
        "c1.wav": "not-a-file",
    }


def test_duplicates_through_a_named_adapter(tmp_path):
    # RAVDESS names; the adapter itself is unchanged: the bookkeeping comes from find_audio and scan.
    actor = tmp_path / "rav" / "Actor_01"
    for emo in ("01", "03"):
        write(actor / f"03-01-{emo}-01-01-01-01.wav", tone(200, 0.3))
    _truncate(write(actor / "03-01-05-01-01-01-01.wav", tone(220, 0.3)))
    write(actor / "03-01-05-01-01-01-01.flac", tone(220, 0.3))
    report = prepare_corpus("ravdess", tmp_path / "rav", workers=1)
    assert len(report.manifest) == 3
    assert _by_name(report.problems)["03-01-05-01-01-01-01.wav"][0] == "truncated"


def test_workers_must_be_positive(tmp_path):
    root = tmp_path / "c"
    _labels(root)
    for bad in (0, -3):
        with pytest.raises(ParameterError, match=rf"int >= 1\. Got {bad}"):
            prepare_corpus("generic", root, workers=bad)


def test_unknown_adapter_options_list_the_valid_ones():
    with pytest.raises(
        CorpusError,
        match=r"Unknown option 'foo' for corpus 'generic'\. Valid options: csv, language, label_map, "
        r"speaker_folders\.",
    ):
        get_corpus("generic", foo="bar")
    with pytest.raises(CorpusError, match=r"Did you mean 'label_map'\?"):
        get_corpus("generic", label_mpa="a=b")
    with pytest.raises(CorpusError, match=r"Unknown option 'foo' for corpus 'ravdess': it takes no options"):
        get_corpus("ravdess", foo=1)
    assert get_corpus("generic", speaker_folders="true").speaker_folders is True
