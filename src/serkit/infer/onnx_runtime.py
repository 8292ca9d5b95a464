"""Run an exported serkit model with onnxruntime alone: no torch is imported here or by what this imports.

``OnnxRecognizer("model.onnx")`` reads the class list, sample rate, calibration and the shortest
input it reproduces from the file's metadata (written by :func:`serkit.infer.export.export_onnx`).
Audio files are decoded by :func:`serkit.audio.load` (soundfile + soxr, 16 kHz mono); arrays at
another rate are resampled the same way.

Examples
--------
>>> rec = OnnxRecognizer("model.onnx")  # doctest: +SKIP
>>> label, probabilities = rec.predict("clip.wav")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from serkit.audio import SAMPLE_RATE, from_array, load
from serkit.errors import AudioError, CheckpointError, ParameterError

__all__ = ["UNCERTAIN", "OnnxRecognizer"]

_FORMAT = "serkit-onnx"
#: The label given when the calibrated top probability is below ``uncertain_below`` (as the torch recognizer).
UNCERTAIN = "uncertain"
#: 25 ms: the shortest recording the torch recognizer accepts.
_MIN_SAMPLES = 400


class OnnxRecognizer:
    """An exported serkit model (``serkit export``) run by onnxruntime.

    Parameters
    ----------
    path : str or Path
        The ``.onnx`` file.
    threads : int >= 1 or None
        onnxruntime intra-op threads (None: onnxruntime's default, every core).

    Attributes
    ----------
    labels : list[str]
        Class names in output order.
    calibration : dict
        ``temperature`` (already applied inside the graph) and, when fitted, ``uncertain_below``.
    metadata : dict[str, str]
        Every metadata entry of the file.
    min_samples : int
        Shortest input (16 kHz samples) the graph reproduces serkit's features on.

    Raises
    ------
    CheckpointError
        The file is missing, not ONNX, or not a serkit export.
    """

    def __init__(self, path: str | Path, *, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise CheckpointError(
                f"No ONNX model at {self.path}: the file is missing. Make one with `serkit export`."
            )
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ParameterError(f"The 'threads' parameter must be an int >= 1 or None. Got {threads!r}.")
        opts = ort.SessionOptions()
        if threads is not None:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                str(self.path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime's own exception types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(f"Cannot load the ONNX model {self.path}: {first}") from None
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        if self.metadata.get("format") != _FORMAT or "classes" not in self.metadata:
            raise CheckpointError(
                f"{self.path} is an ONNX model but not a serkit export (no serkit metadata); "
                "make one with `serkit export CHECKPOINT model.onnx`."
            )
        self.labels: list[str] = list(json.loads(self.metadata["classes"]))
        self.calibration: dict[str, Any] = json.loads(self.metadata.get("calibration", "{}"))
        self.sample_rate = int(self.metadata.get("sample_rate", SAMPLE_RATE))
        self.min_samples = int(self.metadata.get("min_samples", 1))
        self._input = self.metadata.get("input", self.session.get_inputs()[0].name)
        self._output = self.metadata.get("output", self.session.get_outputs()[0].name)

    def __repr__(self) -> str:
        return f"OnnxRecognizer({os.fspath(self.path)!r}, labels={self.labels})"

    # ------------------------------------------------------------------------------------------
    def waveform(self, audio: str | Path | np.ndarray, sample_rate: int | None = None) -> np.ndarray:
        """16 kHz mono float32 samples of a file or an array, checked as the torch recognizer checks them.

        Raises
        ------
        AudioError
            Unreadable, silent or non-finite audio, or shorter than the model needs (25 ms, or the
            export's ``min_samples``).
        ParameterError
            An array without ``sample_rate``, or a ``sample_rate`` given with a file.
        """
        if isinstance(audio, str | Path | os.PathLike):
            if sample_rate is not None:
                raise ParameterError(
                    f"sample_rate={sample_rate!r} was given with the file {audio}; a file's rate is read "
                    "from the file. Pass sample_rate only with an array."
                )
            wave, _ = load(audio, sample_rate=self.sample_rate)
            where: Any = audio
        else:
            wave = from_array(audio, sample_rate, target_sample_rate=self.sample_rate)
            where = None
        need = max(self.min_samples, _MIN_SAMPLES)
        if len(wave) < need:
            raise AudioError(
                where,
                f"it lasts {len(wave) / self.sample_rate * 1000:.0f} ms; this exported model needs at least "
                f"{need / self.sample_rate * 1000:.0f} ms.",
                kind="too-short",
            )
        return np.ascontiguousarray(wave, dtype=np.float32)

    def probabilities(self, waveform: np.ndarray) -> np.ndarray:
        """Calibrated probabilities ``(n_classes,)`` of a 16 kHz mono float32 waveform."""
        x = np.ascontiguousarray(waveform, dtype=np.float32)[None, :]
        return np.asarray(self.session.run([self._output], {self._input: x})[0][0], dtype=np.float64)

    def predict(
        self, audio: str | Path | np.ndarray, sample_rate: int | None = None
    ) -> tuple[str, dict[str, float]]:
        """Label and calibrated probabilities of one file or array.

        Parameters
        ----------
        audio : path or np.ndarray
            An audio file (any format :func:`serkit.audio.load` reads), or samples ``(n,)`` /
            ``(n, channels)``.
        sample_rate : int or None
            Rate of an array in Hz (required with an array); not allowed with a file.

        Returns
        -------
        label : str
            The most probable class, or ``"uncertain"`` when its calibrated probability is below the
            calibration's ``uncertain_below`` (as :class:`serkit.infer.Recognizer` decides).
        probabilities : dict[str, float]
            Class -> calibrated probability, in :attr:`labels` order.
        """
        probs = self.probabilities(self.waveform(audio, sample_rate))
        i = int(np.argmax(probs))
        below = self.calibration.get("uncertain_below")
        label = UNCERTAIN if below is not None and float(probs[i]) < float(below) else self.labels[i]
        return label, {c: float(p) for c, p in zip(self.labels, probs, strict=True)}

    def predict_batch(
        self, items: Iterable[str | Path | np.ndarray], sample_rate: int | None = None
    ) -> list[tuple[str, dict[str, float]]]:
        """:meth:`predict` of each item in turn (the graph takes one waveform at a time)."""
        return [self.predict(item, sample_rate) for item in items]
