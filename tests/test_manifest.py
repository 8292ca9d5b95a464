from __future__ import annotations

import pandas as pd
import pytest

from serkit.data.manifest import COLUMNS, manifest_digest, read_manifest, validate_manifest, write_manifest
from serkit.errors import ManifestError


def _manifest(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"c/{i}" for i in range(n)],
            "path": [f"/x/{i}.wav" for i in range(n)],
            "corpus": "c",
            "speaker": ["01", "01", "02", "02"][:n],
            "gender": ["m", "m", "f", None][:n],
            "label": ["happy", "sad", "happy", "sad"][:n],
            "raw_label": ["h", "s", "h", "s"][:n],
            "session": None,
            "text_id": ["001", "002", "001", "002"][:n],
            "duration": [1.0, 2.0, 3.0, 4.0][:n],
            "sample_rate": 16000,
            "language": "en",
            "intensity": ["a", "b", "c", "d"][:n],
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".tsv"])
def test_round_trip_keeps_dtypes_and_extras(tmp_path, suffix):
    df = _manifest()
    path = write_manifest(df, tmp_path / f"m{suffix}")
    back = read_manifest(path)
    assert list(back.columns) == [*COLUMNS, "intensity"]
    # speaker and text ids keep their leading zeros
    assert list(back["speaker"]) == ["01", "01", "02", "02"]
    assert list(back["text_id"]) == ["001", "002", "001", "002"]
    assert back["gender"].isna().sum() == 1
    assert manifest_digest(back) == manifest_digest(validate_manifest(df))


def test_relative_paths_resolve_against_manifest_folder(tmp_path):
    df = _manifest()
    df["path"] = [f"audio/{i}.wav" for i in range(4)]
    (tmp_path / "sub").mkdir()
    write_manifest(df, tmp_path / "sub" / "m.csv")
    back = read_manifest(tmp_path / "sub" / "m.csv")
    assert back["path"].iloc[0] == str((tmp_path / "sub" / "audio" / "0.wav").resolve())


def test_errors_name_the_problem(tmp_path):
    df = _manifest()
    with pytest.raises(ManifestError, match="lacks the column"):
        validate_manifest(df.drop(columns=["speaker"]))
    dup = df.copy()
    dup.loc[1, "id"] = "c/0"
    with pytest.raises(ManifestError, match="duplicate ids"):
        validate_manifest(dup)
    bad = df.copy()
    bad.loc[0, "gender"] = "x"
    with pytest.raises(ManifestError, match="gender"):
        validate_manifest(bad)
    missing = df.copy()
    missing.loc[2, "label"] = None
    with pytest.raises(ManifestError, match="without 'label'"):
        validate_manifest(missing)
    with pytest.raises(ManifestError, match="No manifest file"):
        read_manifest(tmp_path / "nope.csv")
    with pytest.raises(ManifestError, match=r"\.csv, \.tsv or \.parquet"):
        write_manifest(df, tmp_path / "m.txt")


def test_digest_changes_with_labels():
    df = validate_manifest(_manifest())
    changed = df.copy()
    changed.loc[0, "label"] = "angry"
    assert manifest_digest(df) != manifest_digest(changed)
    assert manifest_digest(df) == manifest_digest(df.iloc[::-1])  # order does not matter
