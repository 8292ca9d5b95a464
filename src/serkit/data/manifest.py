"""The manifest: one row per utterance, the hand-over between corpora and everything downstream.

Columns (:data:`COLUMNS`): ``id, path, corpus, speaker, gender, label, raw_label, session, text_id,
duration, sample_rate, language``. ``id`` is ``<corpus>/<relative path without extension>`` so it does
not change when a corpus is re-encoded. ``duration`` is in seconds, ``sample_rate`` is the file's
original rate in Hz, ``gender`` is ``f``/``m`` or missing. Adapters may add columns (``intensity``,
``split``, ``score`` for sentiment regression, ...); they travel along untouched.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd

from serkit._io import atomic_path
from serkit.errors import ManifestError

__all__ = [
    "COLUMNS",
    "REQUIRED",
    "manifest_digest",
    "read_manifest",
    "speaker_keys",
    "validate_manifest",
    "write_manifest",
]

COLUMNS: dict[str, str] = {
    "id": "string",
    "path": "string",
    "corpus": "string",
    "speaker": "string",
    "gender": "string",
    "label": "string",
    "raw_label": "string",
    "session": "string",
    "text_id": "string",
    "duration": "float64",
    "sample_rate": "Int64",
    "language": "string",
}
#: Columns that may not be missing in any row.
REQUIRED = ("id", "path", "corpus", "speaker", "label", "duration", "sample_rate")


def validate_manifest(df: pd.DataFrame, *, source: str | Path | None = None) -> pd.DataFrame:
    """Check and coerce a manifest; returns a copy with the standard column order and dtypes.

    Raises
    ------
    ManifestError
        Missing columns, missing values in required columns, duplicate ids, bad genders or durations.
    """
    where = f" in {source}" if source else ""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ManifestError(
            f"The manifest{where} lacks the column(s) {', '.join(missing)}. A manifest needs: "
            f"{', '.join(COLUMNS)}. Create one with `serkit data prepare`."
        )
    out = df.copy()
    try:
        for col, dtype in COLUMNS.items():
            out[col] = out[col].astype(dtype)
    except (TypeError, ValueError) as exc:
        raise ManifestError(f"The manifest{where} has a value of the wrong type: {exc}") from exc
    for col in REQUIRED:
        nulls = out[col].isna()
        if nulls.any():
            first = out.index[nulls][0]
            raise ManifestError(
                f"The manifest{where} has {int(nulls.sum())} row(s) without {col!r} (first at row {first})."
            )
    dup = out["id"].duplicated()
    if dup.any():
        raise ManifestError(
            f"The manifest{where} has duplicate ids, e.g. {out.loc[dup, 'id'].iloc[0]!r}; ids must be unique."
        )
    bad_gender = out["gender"].notna() & ~out["gender"].isin(["f", "m"])
    if bad_gender.any():
        raise ManifestError(
            f"The manifest{where} has gender {out.loc[bad_gender, 'gender'].iloc[0]!r}; allowed: 'f', 'm' or empty."
        )
    if (out["duration"] <= 0).any():
        raise ManifestError(f"The manifest{where} has non-positive durations.")
    extras = [c for c in out.columns if c not in COLUMNS]
    return out[[*COLUMNS, *extras]].reset_index(drop=True)


def write_manifest(df: pd.DataFrame, path: str | Path) -> Path:
    """Validate and write a manifest as CSV (``.csv``) or Parquet (``.parquet``), atomically."""
    path = Path(path)
    df = validate_manifest(df)
    if path.suffix == ".parquet":
        with atomic_path(path) as tmp:
            df.to_parquet(tmp, index=False)
    elif path.suffix in (".csv", ".tsv"):
        sep = "\t" if path.suffix == ".tsv" else ","
        with atomic_path(path) as tmp:
            df.to_csv(tmp, index=False, sep=sep)
    else:
        raise ManifestError(f"Cannot write a manifest to {path}: use a .csv, .tsv or .parquet file name.")
    return path


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Read and validate a manifest written by :func:`write_manifest` (or by hand with the same columns).

    Relative audio paths are resolved against the manifest's folder.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"No manifest file at {path}.")
    try:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(
                path,
                sep="\t" if path.suffix == ".tsv" else ",",
                dtype={"speaker": str, "session": str, "text_id": str, "id": str},
            )
    except Exception as exc:  # pandas raises many types for unreadable files
        raise ManifestError(f"Cannot read the manifest {path}: {exc}") from exc
    df = validate_manifest(df, source=path)
    base = path.resolve().parent
    df["path"] = [p if os.path.isabs(p) else str(base / p) for p in df["path"]]
    df["path"] = df["path"].astype("string")
    return df


def speaker_keys(df: pd.DataFrame) -> pd.Series:
    """Speaker identity across corpora: ``<corpus>/<speaker>`` (speaker ids repeat between corpora)."""
    return (df["corpus"].astype(str) + "/" + df["speaker"].astype(str)).astype("string")


def manifest_digest(df: pd.DataFrame) -> str:
    """A short hash of the ids, speakers and labels, stored in split files to detect a changed manifest."""
    cols = df[["id", "corpus", "speaker", "label"]].astype(str).sort_values("id")
    blob = "\n".join("\t".join(row) for row in cols.itertuples(index=False))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
