"""The feature store: entries bound to their key, the public reader, index merging across (concurrent)
runs, file modes under the umask, and output paths checked before any audio is decoded."""

from __future__ import annotations

import fcntl
import hashlib
import io
import multiprocessing
import os
import stat
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import serkit._io
from serkit._io import atomic_write_text, current_umask
from serkit.cli import app
from serkit.data.manifest import write_manifest
from serkit.errors import CacheError
from serkit.features import Frontend, build_frontend, register_frontend
from serkit.features.cache import (
    ENTRY_SUFFIX,
    INDEX_COLUMNS,
    CacheCorruptionWarning,
    FeatureCache,
    file_digest,
    read_entry,
)
from serkit.features.extract import extract_features

from synth import tone, write

runner = CliRunner()


@register_frontend
@dataclass(frozen=True)
class _Peak(Frontend):
    """Mean and peak of |waveform| times ``gain``."""

    name: ClassVar[str] = "_test_cache_peak"
    output: ClassVar[str] = "vector"
    gain: float = 1.0

    def extract_batch(self, waveforms, *, sample_rate):
        return [self.gain * np.array([np.abs(y).mean(), np.abs(y).max()], np.float32) for y in waveforms]


FE = "_test_cache_peak"


def _manifest(tmp_path: Path, n: int = 6, prefix: str = "u", start: int = 0) -> pd.DataFrame:
    rows = []
    for i in range(start, start + n):
        path = write(tmp_path / "audio" / f"{prefix}{i}.wav", tone(200 + 37 * i, 0.2))
        rows.append(
            {
                "id": f"{prefix}{i}",
                "path": str(path),
                "corpus": "synthetic",
                "speaker": f"s{i % 2}",
                "gender": "f",
                "label": "neutral",
                "raw_label": "N",
                "session": None,
                "text_id": None,
                "duration": 0.2,
                "sample_rate": 16000,
                "language": "en",
            }
        )
    return pd.DataFrame(rows)


def _expected(path: str, gain: float = 1.0) -> np.ndarray:
    import soundfile as sf

    y, _ = sf.read(path, dtype="float32")
    return gain * np.array([np.abs(y).mean(), np.abs(y).max()], np.float32)


def _entry(cache_dir: Path, audio_path: str) -> Path:
    return FeatureCache(cache_dir).entry_path(build_frontend(FE), file_digest(audio_path))


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any audio is decoded."""

    def refuse(*args, **kwargs):
        raise AssertionError("audio was decoded before the output paths were checked")

    monkeypatch.setattr("serkit.features.extract.load", refuse)


# --------------------------------------------------------------------------------------------------
# Entries: key binding, reader, old format
# --------------------------------------------------------------------------------------------------


def test_entry_copied_over_another_is_detected_and_recomputed(tmp_path):
    manifest = _manifest(tmp_path, 2)
    cache_dir = tmp_path / "feats"
    extract_features(manifest, FE, cache_dir=cache_dir)
    a, b = (_entry(cache_dir, p) for p in manifest["path"])
    b.write_bytes(a.read_bytes())  # a valid entry, but of another audio file
    with pytest.warns(CacheCorruptionWarning, match="another key"):
        result = extract_features(manifest, FE, cache_dir=cache_dir, return_arrays=True)
    assert (result.n_cached, result.n_computed) == (1, 1)
    np.testing.assert_array_equal(result.arrays["u1"], _expected(manifest["path"][1]))
    assert [(p.path, p.kind) for p in result.corrupt_entries] == [(str(b), "corrupt-cache")]
    assert read_entry(b).audio_digest == file_digest(manifest["path"][1])  # rewritten with its own key


def test_entry_of_another_frontend_is_not_served(tmp_path):
    manifest = _manifest(tmp_path, 1)
    cache_dir = tmp_path / "feats"
    extract_features(manifest, f"{FE}(gain=2)", cache_dir=cache_dir)
    cache = FeatureCache(cache_dir)
    digest = file_digest(manifest["path"][0])
    other = cache.entry_path(build_frontend(f"{FE}(gain=2)"), digest)
    mine = cache.entry_path(build_frontend(FE), digest)
    mine.parent.mkdir(parents=True)
    mine.write_bytes(other.read_bytes())  # same audio, other spec
    with pytest.warns(CacheCorruptionWarning, match="another key"):
        result = extract_features(manifest, FE, cache_dir=cache_dir, return_arrays=True)
    assert result.n_computed == 1
    np.testing.assert_array_equal(result.arrays["u0"], _expected(manifest["path"][0]))


def test_read_entry_returns_key_and_array(tmp_path):
    manifest = _manifest(tmp_path, 1)
    cache_dir = tmp_path / "feats"
    result = extract_features(manifest, FE, cache_dir=cache_dir)
    path = cache_dir / result.index["entry"][0]
    assert path.suffix == ENTRY_SUFFIX == ".sfeat"
    entry = read_entry(path)
    assert entry.audio_digest == file_digest(manifest["path"][0])
    assert entry.frontend == build_frontend(FE).cache_digest
    np.testing.assert_array_equal(entry.array, _expected(manifest["path"][0]))
    # the documented layout: magic, checksum, header length, JSON header, then .npy bytes
    data = path.read_bytes()
    assert data[:8] == b"SERKITF2"
    n = int.from_bytes(data[24:28], "little")
    assert hashlib.blake2b(data[28:], digest_size=16).digest() == data[8:24]
    np.testing.assert_array_equal(np.load(io.BytesIO(data[28 + n :])), entry.array)


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "empty"])
def test_read_entry_refuses_damaged_files(tmp_path, damage):
    manifest = _manifest(tmp_path, 1)
    cache_dir = tmp_path / "feats"
    extract_features(manifest, FE, cache_dir=cache_dir)
    path = _entry(cache_dir, manifest["path"][0])
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[40] ^= 0x01  # inside the JSON header
    elif damage == "truncate":
        data = data[:-3]
    elif damage == "garbage":
        data = bytearray(b"x" * 200)
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    with pytest.raises(CacheError, match=str(path.name)):
        read_entry(path)
    with pytest.warns(CacheCorruptionWarning, match="Corrupted feature cache entry"):
        assert FeatureCache(cache_dir).get(build_frontend(FE), file_digest(manifest["path"][0])) is None
    assert not path.exists()
    with pytest.raises(CacheError, match="Cannot read"):
        read_entry(path)


def _first_format(array: np.ndarray) -> bytes:
    """An entry as the first cache format wrote it: b'SERKITF1' + BLAKE2b-128 + .npy payload."""
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    payload = buf.getvalue()
    return b"SERKITF1" + hashlib.blake2b(payload, digest_size=16).digest() + payload


def test_first_format_entries_are_misses_not_crashes(tmp_path):
    manifest = _manifest(tmp_path, 2)
    cache_dir = tmp_path / "feats"
    fe = build_frontend(FE)
    cache = FeatureCache(cache_dir)
    old = []
    for p in manifest["path"]:
        entry = cache.entry_path(fe, file_digest(p))
        entry.parent.mkdir(parents=True, exist_ok=True)
        npy = entry.with_suffix(".npy")
        npy.write_bytes(_first_format(np.full(2, 7.0, np.float32)))  # wrong values on purpose
        old.append(npy)
    # an old-format file under the new name, too
    entry0 = cache.entry_path(fe, file_digest(manifest["path"][0]))
    entry0.write_bytes(_first_format(np.full(2, 7.0, np.float32)))
    # and an old index pointing at the .npy files, for ids this run does not cover
    stale = pd.DataFrame({"id": ["gone"], "path": ["x.wav"], "audio_digest": ["00"], "status": ["computed"]})
    stale["shape"], stale["entry"] = "2", str(old[0].relative_to(cache_dir))
    stale.to_csv(cache.index_path(fe), index=False)
    with pytest.warns(CacheCorruptionWarning, match="current format"):
        result = extract_features(manifest, FE, cache_dir=cache_dir, return_arrays=True)
    assert (result.n_cached, result.n_computed) == (0, 2)
    for i, p in enumerate(manifest["path"]):
        np.testing.assert_array_equal(result.arrays[f"u{i}"], _expected(p))
    assert not any(p.exists() for p in old)  # replaced by .sfeat entries
    index = cache.read_index(fe)
    assert sorted(index["id"]) == ["u0", "u1"]  # the row pointing at a first-format entry is gone
    assert all(str(e).endswith(".sfeat") for e in index["entry"])


# --------------------------------------------------------------------------------------------------
# The index: runs merge, concurrent runs keep every row
# --------------------------------------------------------------------------------------------------


def test_later_runs_merge_into_the_index(tmp_path):
    a = _manifest(tmp_path, 3, prefix="a")
    b = _manifest(tmp_path, 2, prefix="b")
    cache_dir = tmp_path / "feats"
    fe = build_frontend(FE)
    extract_features(a, FE, cache_dir=cache_dir)
    run_b = extract_features(b, FE, cache_dir=cache_dir)
    assert list(run_b.index["id"]) == ["b0", "b1"]  # the result holds this run's rows only
    index = FeatureCache(cache_dir).read_index(fe)
    assert sorted(index["id"]) == ["a0", "a1", "a2", "b0", "b1"]
    for _, row in index.iterrows():  # every row reaches its entry
        np.testing.assert_array_equal(read_entry(cache_dir / row["entry"]).array, _expected(row["path"]))
    # an empty manifest changes nothing; a re-run of an id replaces its row (no duplicates)
    extract_features(a.iloc[:0], FE, cache_dir=cache_dir)
    extract_features(a.iloc[:1], FE, cache_dir=cache_dir)
    index = FeatureCache(cache_dir).read_index(fe)
    assert sorted(index["id"]) == ["a0", "a1", "a2", "b0", "b1"]
    assert index.set_index("id").loc["a0", "status"] == "cached"
    assert list(index.columns) == INDEX_COLUMNS


def test_cli_runs_with_other_manifests_keep_earlier_rows(tmp_path):
    a = _manifest(tmp_path, 2, prefix="a")
    b = _manifest(tmp_path, 2, prefix="b")
    for name, frame in (("a", a), ("b", b), ("empty", a.iloc[:0])):
        write_manifest(frame, tmp_path / f"{name}.csv")
    out = tmp_path / "feats"
    for name in ("a", "b", "empty"):
        result = runner.invoke(
            app,
            ["features", "extract", str(tmp_path / f"{name}.csv"), "-f", "logmel", "-o", str(out), "-j", "1"],
        )
        assert result.exit_code == 0, result.output
    index = pd.read_csv(next(out.glob("logmel-v1-*/index.csv")))
    assert sorted(index["id"]) == ["a0", "a1", "b0", "b1"]


def _rows(prefix: str, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"{prefix}{i}" for i in range(n)],
            "path": [f"/x/{prefix}{i}.wav" for i in range(n)],
            "audio_digest": [f"{prefix}{i}" * 4 for i in range(n)],
            "status": "computed",
            "shape": "2",
            "entry": [f"e/{prefix}{i}.sfeat" for i in range(n)],
        }
    )


def test_concurrent_index_updates_keep_both_runs_rows(tmp_path, monkeypatch):
    """Process B updates the index while process A is between reading and writing it.

    The interleaving is forced, not timed: A, having read the index, waits until B has either read
    the index too (no lock: B's rows or A's would be lost) or is waiting for the lock (B must then
    read the index A writes).
    """
    ctx = multiprocessing.get_context("fork")
    a_has_read = ctx.Event()
    b_moved = ctx.Event()  # B has read the index, or is blocked on the lock
    fe = build_frontend(FE)
    cache = FeatureCache(tmp_path / "feats")
    cache.prepare(fe)
    cache.merge_index(fe, _rows("old", 2))

    real_flock = fcntl.flock

    def flock(fd, op):
        if op == fcntl.LOCK_EX:
            try:
                return real_flock(fd, op | fcntl.LOCK_NB)
            except BlockingIOError:
                b_moved.set()  # someone holds the lock: wait for it
        return real_flock(fd, op)

    real_read = FeatureCache._read_index_file
    role = {"me": "A"}

    def read(self, path):
        frame = real_read(self, path)
        if role["me"] == "A":
            a_has_read.set()
            assert b_moved.wait(120), "process B neither read the index nor waited for the lock"
        else:
            b_moved.set()
        return frame

    monkeypatch.setattr(fcntl, "flock", flock)
    monkeypatch.setattr(FeatureCache, "_read_index_file", read)

    def process_b():
        role["me"] = "B"
        assert a_has_read.wait(120)
        cache.merge_index(fe, _rows("b", 3))

    b = ctx.Process(target=process_b)
    b.start()
    try:
        cache.merge_index(fe, _rows("a", 3))
    finally:
        b.join(120)
    assert b.exitcode == 0
    monkeypatch.setattr(FeatureCache, "_read_index_file", real_read)
    ids = sorted(cache.read_index(fe)["id"])
    assert ids == ["a0", "a1", "a2", "b0", "b1", "b2", "old0", "old1"]


def _merge_many(root: str, prefix: str, n: int) -> None:
    cache = FeatureCache(root)
    fe = build_frontend(FE)
    for i in range(n):
        cache.merge_index(fe, _rows(f"{prefix}{i}_", 1))


def test_two_processes_updating_one_index_keep_the_union(tmp_path):
    fe = build_frontend(FE)
    cache = FeatureCache(tmp_path / "feats")
    cache.prepare(fe)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_merge_many, args=(str(cache.root), p, 15)) for p in ("p", "q")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    ids = cache.read_index(fe)["id"]
    assert len(ids) == 30 and set(ids) == {f"{p}{i}_0" for p in "pq" for i in range(15)}
    assert not list(cache.folder(fe).glob("*.tmp"))


# --------------------------------------------------------------------------------------------------
# File modes follow the umask
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_files_follow_the_umask(tmp_path, umask):
    manifest = _manifest(tmp_path, 2)
    previous = os.umask(umask)
    try:
        assert current_umask() == umask
        atomic_write_text(tmp_path / "plain.txt", "x")
        write_manifest(manifest, tmp_path / "m.csv")
        extract_features(manifest, FE, cache_dir=tmp_path / "feats")
    finally:
        os.umask(previous)
    folder = FeatureCache(tmp_path / "feats").folder(build_frontend(FE))
    files = [tmp_path / "plain.txt", tmp_path / "m.csv", folder / "index.csv", folder / "spec.json"]
    files += [folder / "index.lock", *folder.rglob(f"*{ENTRY_SUFFIX}")]
    assert len(files) == 7
    modes = {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert set(modes.values()) == {oct(0o666 & ~umask)}, modes


def test_umask_fallback_without_proc(monkeypatch, tmp_path):
    monkeypatch.setattr(serkit._io, "_umask_from_proc", lambda: None)
    monkeypatch.setattr(serkit._io, "_umask_fallback", None)
    previous = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        assert os.umask(0o027) == 0o027  # read and restored, not left at 0
        atomic_write_text(tmp_path / "f.txt", "x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o640


# --------------------------------------------------------------------------------------------------
# Output paths: one-line errors before any decoding
# --------------------------------------------------------------------------------------------------


def _one_line_error(result, *needles):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_cli_output_that_is_a_file_is_refused_before_decoding(tmp_path, no_decoding):
    manifest = tmp_path / "m.csv"
    write_manifest(_manifest(tmp_path, 2), manifest)
    before = manifest.read_bytes()
    result = runner.invoke(app, ["features", "extract", str(manifest), "-f", "logmel", "-o", str(manifest)])
    _one_line_error(result, str(manifest), "not a folder")
    result = runner.invoke(
        app, ["features", "extract", str(manifest), "-f", "logmel", "-o", str(manifest / "sub")]
    )
    _one_line_error(result, str(manifest), "not a folder")
    assert manifest.read_bytes() == before


@pytest.mark.parametrize("name", ["index.csv", "spec.json", "index.lock"])
def test_folder_where_a_cache_file_belongs_is_refused_before_decoding(tmp_path, no_decoding, name):
    cache = FeatureCache(tmp_path / "feats")
    (cache.folder(build_frontend(FE)) / name).mkdir(parents=True)
    with pytest.raises(CacheError, match=name):
        extract_features(_manifest(tmp_path, 1), FE, cache_dir=cache.root)


def test_folder_at_an_entry_path_is_an_error_and_nothing_is_touched(tmp_path, monkeypatch):
    manifest = tmp_path / "m.csv"
    frame = _manifest(tmp_path, 3)
    write_manifest(frame, manifest)
    out = tmp_path / "feats"
    assert (
        runner.invoke(
            app, ["features", "extract", str(manifest), "-f", FE, "-o", str(out), "-j", "1"]
        ).exit_code
        == 0
    )
    index = next(out.glob(f"{FE}-v1-*/index.csv"))
    index_before = index.read_bytes()
    corrupt, _, blocked = (_entry(out, p) for p in frame["path"])
    corrupt.write_bytes(corrupt.read_bytes()[:-1])  # found first (u0), and must not be deleted
    blocked.unlink()
    blocked.mkdir()
    monkeypatch.setattr("serkit.features.extract.load", lambda *a, **k: pytest.fail("decoded"))
    result = runner.invoke(app, ["features", "extract", str(manifest), "-f", FE, "-o", str(out), "-j", "1"])
    _one_line_error(result, str(blocked), "is a folder")
    assert corrupt.exists() and index.read_bytes() == index_before
    for entry in pd.read_csv(index)["entry"]:
        assert (out / entry).exists()


@pytest.mark.parametrize("args", [["-j", "0"], ["-j", "-3"], ["--workers", "0"], ["--batch-size", "0"]])
def test_cli_refuses_bad_worker_and_batch_counts(tmp_path, no_decoding, args):
    manifest = tmp_path / "m.csv"
    write_manifest(_manifest(tmp_path, 1), manifest)
    out = tmp_path / "feats"
    result = runner.invoke(app, ["features", "extract", str(manifest), "-f", "logmel", "-o", str(out), *args])
    _one_line_error(result, args[-1])
    assert not out.exists()


# --------------------------------------------------------------------------------------------------
# Corruption reports: a warning category in the API, one clean line each in the CLI
# --------------------------------------------------------------------------------------------------


def test_cli_reports_corrupt_entries_in_clean_lines(tmp_path):
    manifest = tmp_path / "m.csv"
    frame = _manifest(tmp_path, 3)
    write_manifest(frame, manifest)
    out = tmp_path / "feats"
    assert extract_features(frame, "logmel", cache_dir=out).n_computed == 3
    fe = build_frontend("logmel")
    entries = [FeatureCache(out).entry_path(fe, file_digest(p)) for p in frame["path"]]
    entries[0].write_bytes(entries[0].read_bytes()[:-5])
    entries[1].write_bytes(entries[2].read_bytes())

    def show(message, category, filename, lineno, file=None, line=None):
        # what Python does outside pytest: print the warning, with its source line, on stderr
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        result = runner.invoke(
            app, ["features", "extract", str(manifest), "-f", "logmel", "-o", str(out), "-j", "1", "-q"]
        )
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Warning" not in text and "warnings.warn" not in text and ".py:" not in text, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 3, text
    assert lines[0].startswith(f"  corrupt cache entry {entries[0]}: checksum mismatch")
    assert lines[1].startswith(f"  corrupt cache entry {entries[1]}: it holds the entry of another key")
    assert "2 computed, 1 from cache, 0 failed, 2 corrupt cache entries recomputed" in lines[2]
