"""eGeMAPS / GeMAPS features through openSMILE (optional, research-only extra).

The Geneva Minimalistic Acoustic Parameter Set (Eyben et al., "The Geneva Minimalistic Acoustic
Parameter Set (GeMAPS) for voice research and affective computing", IEEE Trans. Affective Computing
7(2), 2016) as computed by the ``opensmile`` Python package: eGeMAPSv02 gives 88 functionals over 25
low-level descriptors (LLDs), GeMAPSv01b 62 functionals over 18 LLDs. The multi-input paper
(MelSpec + GeMAPS, ``papers/multi-input-melspec-gemaps-focal-loss.txt``) feeds these to one branch.

openSMILE's licence allows research and education but forbids commercial products, so it is an
optional extra (``pip install 'serkit[opensmile]'``) and ``opensmile`` is imported only when a
frontend first extracts: ``import serkit`` and ``import serkit.features`` never import it.
Feature names are stored here, so :attr:`EGeMAPS.feature_names` works without the package.

openSMILE runs at roughly 30x real time per core; the extraction pipeline parallelises across
processes, so these frontends are cheap, picklable dataclasses and the ``opensmile.Smile`` object
is built lazily and cached once per (process, thread, feature set, level).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from serkit.errors import AudioError, OpenSmileMissingError
from serkit.features.frontend import SAMPLE_RATE, Frontend, check_param, register_frontend

__all__ = [
    "FEATURE_NAMES",
    "MIN_SAMPLES",
    "EGeMAPS",
    "GeMAPS",
    "OpenSmileMissingError",
    "opensmile_feature_names",
]

GEMAPS_PAPER = (
    "Eyben et al. 2016, The Geneva Minimalistic Acoustic Parameter Set (GeMAPS) for voice research and "
    "affective computing, IEEE Trans. Affective Computing 7(2); computed with openSMILE (research licence)"
)

MIN_SAMPLES = 960
"""Shortest input (60 ms at 16 kHz, openSMILE's F0 window) for which openSMILE returns finite values."""

FEATURE_SETS = ("eGeMAPSv02", "GeMAPSv01b")
LEVELS = ("functionals", "lld")

_F0 = "F0semitoneFrom27.5Hz_sma3nz"
_RICH = ["amean", "stddevNorm", "percentile20.0", "percentile50.0", "percentile80.0", "pctlrange0-2"]
_RICH += ["meanRisingSlope", "stddevRisingSlope", "meanFallingSlope", "stddevFallingSlope"]
_MS = ["amean", "stddevNorm"]


def _f(lld: str, stats: list[str]) -> list[str]:
    return [f"{lld}_{s}" for s in stats]


def _gemaps_functionals(extended: bool) -> list[str]:
    # Built in openSMILE's output order (verified against opensmile 2.6.0 by the tests).
    names = _f(_F0, _RICH) + _f("loudness_sma3", _RICH)
    if extended:
        names += _f("spectralFlux_sma3", _MS) + [n for k in range(1, 5) for n in _f(f"mfcc{k}_sma3", _MS)]
    names += _f("jitterLocal_sma3nz", _MS) + _f("shimmerLocaldB_sma3nz", _MS) + _f("HNRdBACF_sma3nz", _MS)
    names += _f("logRelF0-H1-H2_sma3nz", _MS) + _f("logRelF0-H1-A3_sma3nz", _MS)
    for k in (1, 2, 3):
        names += _f(f"F{k}frequency_sma3nz", _MS)
        if k == 1 or extended:
            names += _f(f"F{k}bandwidth_sma3nz", _MS)
        names += _f(f"F{k}amplitudeLogRelF0_sma3nz", _MS)
    voiced = ["alphaRatioV", "hammarbergIndexV", "slopeV0-500", "slopeV500-1500"]
    if extended:
        voiced += ["spectralFluxV"] + [f"mfcc{k}V" for k in range(1, 5)]
    names += [n for v in voiced for n in _f(f"{v}_sma3nz", _MS)]
    unvoiced = ["alphaRatioUV", "hammarbergIndexUV", "slopeUV0-500", "slopeUV500-1500"]
    if extended:
        unvoiced += ["spectralFluxUV"]
    names += [f"{u}_sma3nz_amean" for u in unvoiced]
    names += ["loudnessPeaksPerSec", "VoicedSegmentsPerSec", "MeanVoicedSegmentLengthSec"]
    names += ["StddevVoicedSegmentLengthSec", "MeanUnvoicedSegmentLength", "StddevUnvoicedSegmentLength"]
    if extended:
        names += ["equivalentSoundLevel_dBp"]
    return names


def _gemaps_llds(extended: bool) -> list[str]:
    names = [
        "Loudness_sma3",
        "alphaRatio_sma3",
        "hammarbergIndex_sma3",
        "slope0-500_sma3",
        "slope500-1500_sma3",
    ]
    if extended:
        names += ["spectralFlux_sma3"] + [f"mfcc{k}_sma3" for k in range(1, 5)]
    names += [_F0, "jitterLocal_sma3nz", "shimmerLocaldB_sma3nz", "HNRdBACF_sma3nz"]
    names += ["logRelF0-H1-H2_sma3nz", "logRelF0-H1-A3_sma3nz"]
    for k in (1, 2, 3):
        names += [f"F{k}frequency_sma3nz"]
        if k == 1 or extended:
            names += [f"F{k}bandwidth_sma3nz"]
        names += [f"F{k}amplitudeLogRelF0_sma3nz"]
    return names


FEATURE_NAMES: dict[tuple[str, str], tuple[str, ...]] = {
    ("eGeMAPSv02", "functionals"): tuple(_gemaps_functionals(True)),
    ("eGeMAPSv02", "lld"): tuple(_gemaps_llds(True)),
    ("GeMAPSv01b", "functionals"): tuple(_gemaps_functionals(False)),
    ("GeMAPSv01b", "lld"): tuple(_gemaps_llds(False)),
}
"""Column names per ``(feature_set, level)``: 88 / 25 for eGeMAPSv02, 62 / 18 for GeMAPSv01b."""


def _import_opensmile() -> Any:
    try:
        import opensmile
    except ImportError as exc:
        raise OpenSmileMissingError(
            "The eGeMAPS/GeMAPS frontends need the optional 'opensmile' package. Install it with "
            "pip install 'serkit[opensmile]'. Note: openSMILE's licence permits research and education "
            "only, not commercial products."
        ) from exc
    return opensmile


_SMILES: dict[tuple[int, int, str, str], Any] = {}


def _smile(feature_set: str, level: str) -> Any:
    """The ``opensmile.Smile`` for this configuration, built once per process and thread."""
    # Keyed by pid so a forked worker never reuses its parent's native handle, and by thread
    # because a Smile object keeps per-call state.
    key = (os.getpid(), threading.get_ident(), feature_set, level)
    smile = _SMILES.get(key)
    if smile is None:
        opensmile = _import_opensmile()
        smile = opensmile.Smile(
            feature_set=getattr(opensmile.FeatureSet, feature_set),
            feature_level=(
                opensmile.FeatureLevel.Functionals
                if level == "functionals"
                else opensmile.FeatureLevel.LowLevelDescriptors
            ),
        )
        _SMILES[key] = smile
    return smile


def opensmile_feature_names(feature_set: str, level: str) -> list[str]:
    """Feature names as the installed openSMILE reports them (imports ``opensmile``).

    Raises
    ------
    OpenSmileMissingError
        If ``opensmile`` is not installed.
    """
    return list(_smile(feature_set, level).feature_names)


class _OutputByLevel:
    """``output`` of a GeMAPS frontend: "vector" for functionals, "frames" for LLDs.

    On the class (no instance) it answers for the default level, functionals.
    """

    def __get__(self, obj: Any, objtype: Any = None) -> str:
        level = "functionals" if obj is None else obj.level
        return "vector" if level == "functionals" else "frames"


@register_frontend
@dataclass(frozen=True)
class EGeMAPS(Frontend):
    """eGeMAPS / GeMAPS acoustic parameters from openSMILE (research-only licence).

    Parameters
    ----------
    feature_set : {"eGeMAPSv02", "GeMAPSv01b"}
        Parameter set: extended GeMAPS v02 (88 functionals, 25 LLDs) or GeMAPS v01b (62, 18).
    level : {"functionals", "lld"}
        ``"functionals"``: one vector per utterance ``[shape=(88,)]`` (``output == "vector"``);
        ``"lld"``: low-level descriptors every 10 ms ``[shape=(n_frames, 25)]`` (``output == "frames"``).

    Notes
    -----
    Inputs shorter than :data:`MIN_SAMPLES` (60 ms) are rejected, because openSMILE fills them with
    NaN. Column names: :attr:`feature_names`.

    Raises
    ------
    ParameterError
        For an unknown feature set or level, or a sample rate other than 16 kHz.
    OpenSmileMissingError
        On extraction, if ``opensmile`` is not installed (``pip install 'serkit[opensmile]'``).
    AudioError
        For an empty, too short or non-finite waveform.

    Examples
    --------
    >>> fe = EGeMAPS()  # cheap: openSMILE is loaded on first use
    >>> len(fe.feature_names), fe.output
    (88, 'vector')
    """

    name: ClassVar[str] = "egemaps"
    paper: ClassVar[str] = GEMAPS_PAPER
    output: ClassVar[str] = _OutputByLevel()  # type: ignore[assignment]
    version: ClassVar[int] = 1
    aliases: ClassVar[dict[str, str]] = {"set": "feature_set"}

    feature_set: str = "eGeMAPSv02"
    level: str = "functionals"

    def __post_init__(self) -> None:
        where = f"frontend {self.name!r}"
        check_param(
            self.feature_set in FEATURE_SETS,
            where,
            "feature_set",
            f"one of {', '.join(repr(s) for s in FEATURE_SETS)}",
            self.feature_set,
        )
        check_param(
            self.level in LEVELS, where, "level", f"one of {', '.join(repr(s) for s in LEVELS)}", self.level
        )

    @property
    def feature_names(self) -> list[str]:
        """Column names, in output order (openSMILE's names)."""
        return list(FEATURE_NAMES[(self.feature_set, self.level)])

    @property
    def n_features(self) -> int:
        """Number of columns: 88/62 functionals or 25/18 LLDs."""
        return len(FEATURE_NAMES[(self.feature_set, self.level)])

    def _one(self, y: np.ndarray, sample_rate: int) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim != 1 or y.size == 0:
            raise AudioError(None, f"expected a non-empty 1-D waveform, got shape {y.shape}.", kind="empty")
        if y.size < MIN_SAMPLES:
            raise AudioError(
                None,
                f"openSMILE needs at least {MIN_SAMPLES} samples ({MIN_SAMPLES / SAMPLE_RATE:.3f} s); "
                f"got {y.size}.",
                kind="too-short",
            )
        if not np.all(np.isfinite(y)):
            raise AudioError(None, "the waveform contains NaN or infinite samples.", kind="non-finite")
        smile = _smile(self.feature_set, self.level)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            frame = smile.process_signal(y.astype(np.float32, copy=False), sample_rate)
        values = frame.to_numpy(dtype=np.float32)
        return values[0] if self.level == "functionals" else values

    def extract_batch(self, waveforms: Sequence[np.ndarray], *, sample_rate: int) -> list[np.ndarray]:
        """Features of each float32 mono 16 kHz waveform: ``(n_features,)`` or ``(n_frames, n_features)``.

        Raises
        ------
        ParameterError
            If ``sample_rate`` is not 16000.
        OpenSmileMissingError
            If ``opensmile`` is not installed.
        AudioError
            For an empty, too short (< 60 ms) or non-finite waveform.
        """
        check_param(
            sample_rate == SAMPLE_RATE,
            f"frontend {self.name!r}",
            "sample_rate",
            f"{SAMPLE_RATE} Hz (resample with serkit.audio.load first)",
            sample_rate,
        )
        return [self._one(y, sample_rate) for y in waveforms]


@register_frontend
@dataclass(frozen=True)
class GeMAPS(EGeMAPS):
    """:class:`EGeMAPS` with ``feature_set="GeMAPSv01b"`` by default (62 functionals / 18 LLDs)."""

    name: ClassVar[str] = "gemaps"

    feature_set: str = "GeMAPSv01b"
