"""eGeMAPS / GeMAPS frontends through openSMILE (optional extra; skipped when it is absent)."""

from __future__ import annotations

import multiprocessing
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from serkit.errors import AudioError, ParameterError
from serkit.features import build_frontend
from serkit.features import opensmile as osm

from synth import SR, voiced

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
EMODB_FILES = sorted((CORPORA / "emodb" / "wav").glob("*.flac"))[:2]

COMBOS = [
    ("eGeMAPSv02", "functionals", 88),
    ("GeMAPSv01b", "functionals", 62),
    ("eGeMAPSv02", "lld", 25),
    ("GeMAPSv01b", "lld", 18),
]


def _opensmile():
    return pytest.importorskip("opensmile")


# ---------------------------------------------------------------------------------------------
# no opensmile needed


def test_default_imports_do_not_import_opensmile() -> None:
    code = (
        "import sys, serkit, serkit.features, serkit.features.opensmile\n"
        "from serkit.features import build_frontend, list_frontends\n"
        "list_frontends(); fe = build_frontend('egemaps'); fe.feature_names; fe.spec\n"
        "print('opensmile' in sys.modules, 'audinterface' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_missing_opensmile_raises_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opensmile", None)  # makes `import opensmile` fail
    monkeypatch.setattr(osm, "_SMILES", {})
    fe = osm.EGeMAPS()
    with pytest.raises(osm.OpenSmileMissingError, match=r"pip install 'serkit\[opensmile\]'") as info:
        fe(voiced())
    assert isinstance(info.value, ImportError)
    assert "research" in str(info.value) and "commercial" in str(info.value)


def test_frontends_parameters_and_outputs() -> None:
    fe = build_frontend("egemaps")
    assert (fe.feature_set, fe.level, fe.output, fe.n_features) == ("eGeMAPSv02", "functionals", "vector", 88)
    lld = build_frontend("egemaps(level='lld')")
    assert (lld.output, lld.n_features) == ("frames", 25)
    gemaps = build_frontend("gemaps")
    assert isinstance(gemaps, osm.GeMAPS) and gemaps.feature_set == "GeMAPSv01b" and gemaps.n_features == 62
    assert build_frontend("gemaps(level='lld')").n_features == 18
    assert osm.EGeMAPS.output == "vector"  # class-level answer is for the default level
    assert fe.spec != gemaps.spec and fe.cache_digest != lld.cache_digest
    assert "GeMAPS" in osm.EGeMAPS.paper


@pytest.mark.parametrize(
    ("spec", "match"),
    [("egemaps(feature_set='ComParE_2016')", "feature_set"), ("egemaps(level='frames')", "level")],
)
def test_bad_parameters(spec: str, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        build_frontend(spec)


def test_frontend_is_picklable_and_holds_no_smile() -> None:
    fe = osm.EGeMAPS(level="lld")
    clone = pickle.loads(pickle.dumps(fe))
    assert clone == fe and clone.cache_digest == fe.cache_digest
    assert len(pickle.dumps(fe)) < 1000  # just the parameters


# ---------------------------------------------------------------------------------------------
# with opensmile


@pytest.mark.parametrize(("feature_set", "level", "n"), COMBOS)
def test_feature_names_match_opensmile(feature_set: str, level: str, n: int) -> None:
    _opensmile()
    names = osm.opensmile_feature_names(feature_set, level)
    assert len(names) == n
    assert osm.EGeMAPS(feature_set=feature_set, level=level).feature_names == names


@pytest.mark.parametrize(("feature_set", "level", "n"), COMBOS)
def test_shapes_finite_and_equal_to_opensmile(feature_set: str, level: str, n: int) -> None:
    opensmile = _opensmile()
    y = voiced(dur_s=1.5)
    fe = osm.EGeMAPS(feature_set=feature_set, level=level)
    (out,) = fe.extract_batch([y], sample_rate=SR)
    assert out.dtype == np.float32
    assert np.all(np.isfinite(out))
    if level == "functionals":
        assert out.shape == (n,)
    else:
        # LLDs every 10 ms from 20/60 ms windows: openSMILE reports (n_samples - 960) // 160 + 2 frames.
        assert out.shape == ((y.size - 960) // 160 + 2, n)
    smile = opensmile.Smile(
        feature_set=getattr(opensmile.FeatureSet, feature_set),
        feature_level=getattr(
            opensmile.FeatureLevel, "Functionals" if level == "functionals" else "LowLevelDescriptors"
        ),
    )
    ref = smile.process_signal(y, SR)
    assert list(ref.columns) == fe.feature_names
    np.testing.assert_array_equal(out, ref.to_numpy(np.float32).reshape(out.shape))


def test_voiced_pitch_is_sensible() -> None:
    _opensmile()
    fe = osm.EGeMAPS()
    col = dict(zip(fe.feature_names, fe(voiced(f0_hz=140.0, dur_s=1.5)), strict=True))
    # F0 in semitones from 27.5 Hz: 140 Hz is 12 * log2(140 / 27.5) = 28.2 semitones.
    assert col["F0semitoneFrom27.5Hz_sma3nz_amean"] == pytest.approx(12 * np.log2(140 / 27.5), abs=1.5)


def test_short_and_silent_inputs() -> None:
    _opensmile()
    fe = osm.EGeMAPS()
    with pytest.raises(AudioError, match="960 samples") as info:
        fe(voiced(dur_s=0.05))
    assert info.value.kind == "too-short"
    assert np.all(np.isfinite(fe(np.zeros(osm.MIN_SAMPLES, dtype=np.float32))))
    assert np.all(np.isfinite(osm.EGeMAPS(level="lld")(np.zeros(SR, dtype=np.float32))))
    with pytest.raises(ParameterError, match="sample_rate"):
        fe.extract_batch([voiced()], sample_rate=8000)
    bad = voiced()
    bad[3] = np.inf
    with pytest.raises(AudioError, match="NaN or infinite"):
        fe(bad)


def _extract(args: tuple[osm.EGeMAPS, np.ndarray]) -> np.ndarray:
    fe, y = args
    return fe(y)


def test_parallel_workers_match_serial() -> None:
    _opensmile()
    fe = osm.EGeMAPS()
    ys = [voiced(f0_hz=f, dur_s=0.8, seed=i) for i, f in enumerate((110.0, 180.0))]
    serial = [fe(y) for y in ys]  # the parent now holds a cached Smile; children must build their own
    with multiprocessing.get_context("fork").Pool(2) as pool:
        parallel = pool.map(_extract, [(fe, y) for y in ys])
    for a, b in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.corpus
@pytest.mark.skipif(len(EMODB_FILES) < 2, reason="EmoDB corpus not available under ../shared/corpora")
@pytest.mark.parametrize("index", [0, 1])
def test_real_emodb_files(index: int) -> None:
    _opensmile()
    import soundfile as sf

    y, sr = sf.read(str(EMODB_FILES[index]), dtype="float32")
    assert sr == SR and y.ndim == 1
    for feature_set, n in (("eGeMAPSv02", 88), ("GeMAPSv01b", 62)):
        out = osm.EGeMAPS(feature_set=feature_set)(y)
        assert out.shape == (n,) and np.all(np.isfinite(out))
    lld = osm.EGeMAPS(level="lld")(y)
    assert lld.shape[1] == 25 and abs(lld.shape[0] - y.size / 160) < 10 and np.all(np.isfinite(lld))
