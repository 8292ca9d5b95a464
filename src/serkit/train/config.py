"""Typed experiment configuration (pydantic v2): plain YAML in, a validated ``ExperimentConfig`` out.

A configuration file is read with :func:`yaml.safe_load` only, so YAML tags (``!!python/object``,
SpeechBrain's ``!new:``) are refused, never executed (CONVENTIONS #12). ``key.sub=value`` overrides
are applied on top; each value is parsed as a YAML scalar (``optim.lr=1e-4``, ``train.augment=[]``,
``data.inputs.mel.frontend=logmel(n_mels=64)``). Every section forbids unknown keys, so a typo is an
error that suggests the close match instead of a silently ignored setting.

Sections (the full schema is the pydantic models below; ``serkit train --help`` links here):

``data``
    ``manifest`` (a path or a list of paths: several corpora, one label set, speakers become
    ``corpus/speaker``), ``roots`` (optional corpus -> folder for relative audio paths), ``split``
    (split file from ``serkit data split``), ``fold`` (a fold name or ``all``), ``label_set``
    (:mod:`serkit.labels` name or ``"neutral,happy+excited,sad,angry"``), ``score`` (manifest column
    of a continuous target), ``inputs`` (stream name -> ``{frontend, normaliser, crop_s}``),
    ``cache_dir`` and ``workers`` of the feature extraction (it runs once; later runs read the cache).
``model``
    ``name`` (``serkit models list``) and ``cfg`` (its hyperparameters; defaults are the paper's).
``loss``
    ``name`` and ``cfg`` for :func:`serkit.train.losses.build_loss`; ``teacher`` names the soft labels
    of a ``distill`` loss (a checkpoint folder or a JSON file ``{id: [p_1, ..., p_C]}``).
``optim``
    ``name`` (adam, adamw, sgd, rmsprop), ``lr``, ``weight_decay``, ``momentum``, ``alpha``/``eps``
    (RMSprop), ``schedule`` (none, cosine, plateau, step) with ``step_epochs``, ``gamma``,
    ``plateau_patience``, ``min_lr``, ``warmup_epochs``.
``train``
    ``epochs``, ``batch_size``, ``patience`` (early stopping on validation UA; null = none),
    ``fixed_epochs`` (train exactly ``epochs`` and keep the last weights), ``clip_grad``, ``seed``,
    ``bucketing``, ``crop_s`` (random fixed-length training crops), ``augment``, ``device``
    (cpu, cuda, auto), ``amp``, ``threads``, ``pretrain_epochs`` / ``freeze_encoder`` (autoencoders).
``search`` (optional)
    Random search over dotted keys with speaker-grouped inner folds of the training fold
    (:class:`SearchConfig`).
``variant``
    ``faithful`` (the paper's settings) or ``budget``. A file may hold a top-level ``budget:`` mapping
    of dotted overrides (``train.epochs: 30``) applied when ``variant`` is ``budget``; it is a loader
    directive, not part of the resolved configuration.

Relative paths in a file are resolved against the file's folder; relative paths in overrides (and in
a mapping source) against the current working directory. Loaded paths are absolute. Every problem is
one :class:`~serkit.errors.ConfigError` line naming the dotted key, the value and where it came from.

Examples
--------
>>> cfg = load_config({"data": {"manifest": "m.csv", "inputs": {"mel": {"frontend": "logmel"}}},
...                    "model": {"name": "drsn_bigru"}}, overrides=["train.epochs=3"])
>>> cfg.train.epochs, cfg.optim.name
(3, 'adam')
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from serkit._io import atomic_write_text
from serkit.errors import ConfigError, ParameterError

__all__ = [
    "AugmentConfig",
    "DataConfig",
    "ExperimentConfig",
    "InputConfig",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "SearchConfig",
    "TrainConfig",
    "config_digest",
    "dump_config",
    "load_config",
    "parse_overrides",
    "save_config",
    "with_overrides",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def _check_frontend(text: str) -> str:
    from serkit.features.frontend import build_frontend

    try:
        build_frontend(text)
    except ParameterError as exc:
        raise ValueError(str(exc)) from None
    return text.strip()


class InputConfig(_Section):
    """One input stream: how its features are computed and normalised."""

    frontend: str = Field(description="Frontend spec, e.g. 'logmel(n_mels=40)' (`serkit features list`).")
    normaliser: Literal["none", "utterance", "corpus"] = Field(
        "corpus", description="none; utterance (per-utterance z-norm); corpus (training-fold statistics)."
    )
    crop_s: float | None = Field(
        None, gt=0, description="Random fixed-length training crop of this stream, in seconds."
    )
    crop_fraction: tuple[float, float] | None = Field(
        None,
        description=(
            "Random training crop of a fraction of each utterance, drawn uniformly from [low, high] "
            "(e.g. [0.4, 1.0]); instead of crop_s."
        ),
    )
    crop_whole_p: float = Field(
        0.0, ge=0, le=1, description="Probability that a training example is kept whole (with crop_fraction)."
    )

    @field_validator("frontend")
    @classmethod
    def _frontend(cls, value: str) -> str:
        return _check_frontend(value)

    @field_validator("crop_fraction")
    @classmethod
    def _crop_fraction(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not 0 < value[0] <= value[1] <= 1:
            raise ValueError(f"crop_fraction={list(value)} must satisfy 0 < low <= high <= 1")
        return value

    @model_validator(mode="after")
    def _one_crop(self) -> InputConfig:
        if self.crop_s is not None and self.crop_fraction is not None:
            raise ValueError("give crop_s or crop_fraction, not both")
        return self


class DataConfig(_Section):
    """Where examples come from and how they become feature streams."""

    manifest: list[Path] = Field(min_length=1, description="Manifest file(s); several = multi-corpus.")
    roots: dict[str, Path] = Field(
        default_factory=dict,
        description="corpus -> folder that the manifest's relative audio paths are relative to.",
    )
    split: Path | None = Field(None, description="Split file (`serkit data split`).")
    fold: str = Field("all", description="Fold name, or 'all'.")
    label_set: str | None = Field(None, description="Label set name or 'a,b+c,d'; null = manifest labels.")
    score: str | None = Field(None, description="Manifest column of a continuous target (regression head).")
    inputs: dict[str, InputConfig] = Field(min_length=1, description="Stream name -> input.")
    cache_dir: Path | None = Field(
        None, description="Feature cache; default $SERKIT_CACHE_DIR or ~/.cache/serkit/features."
    )
    workers: int | None = Field(
        None, ge=1, description="Extraction processes for features not yet cached; null = available cores."
    )

    @field_validator("manifest", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | os.PathLike) else value


class ModelConfig(_Section):
    name: str = Field(description="Registered model name (`serkit models list`).")
    cfg: dict[str, Any] = Field(default_factory=dict, description="Hyperparameters (paper defaults).")
    streams: dict[str, str] = Field(
        default_factory=dict, description="Model input role -> data.inputs name, where they differ."
    )


class LossConfig(_Section):
    name: str = Field("ce", description="Loss name for serkit.train.losses.build_loss.")
    cfg: dict[str, Any] = Field(default_factory=dict)
    teacher: Path | None = Field(
        None, description="Soft labels for 'distill': a checkpoint folder or a JSON {id: [probs]} file."
    )


class OptimConfig(_Section):
    name: Literal["adam", "adamw", "sgd", "rmsprop"] = "adam"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    momentum: float = Field(0.0, ge=0, lt=1)
    alpha: float = Field(0.99, gt=0, lt=1, description="RMSprop smoothing constant (Keras rho: 0.9).")
    eps: float = Field(1e-8, gt=0)
    schedule: Literal["none", "cosine", "plateau", "step"] = "none"
    step_epochs: int = Field(30, ge=1, description="step: decay every this many epochs.")
    gamma: float = Field(0.1, gt=0, le=1, description="step/plateau: lr factor.")
    plateau_patience: int = Field(5, ge=0)
    min_lr: float = Field(0.0, ge=0)
    warmup_epochs: int = Field(0, ge=0, description="Linear warm-up epochs before the schedule.")


class AugmentConfig(_Section):
    """One training-fold augmentation: a name from serkit.train.augment and its parameters."""

    name: str
    cfg: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):  # "specaugment(time_masks=2)" as in frontend specs
            from serkit.features.spec import FrontendSpec

            try:
                spec = FrontendSpec.parse(value)
            except ParameterError as exc:
                raise ValueError(str(exc)) from None
            return {"name": spec.name, "cfg": dict(spec.params)}
        return value


class TrainConfig(_Section):
    epochs: int = Field(50, ge=1)
    batch_size: int = Field(32, ge=1)
    patience: int | None = Field(10, ge=1, description="Epochs without a better validation UA; null = none.")
    fixed_epochs: bool = Field(False, description="Train all epochs and keep the last (no early stopping).")
    train_on_val: bool = Field(
        False,
        description="The fold's validation speakers (training side) join training; needs fixed_epochs.",
    )
    clip_grad: float | None = Field(None, gt=0, description="Max global gradient norm.")
    seed: int = 0
    bucketing: bool = Field(True, description="Batch examples of similar length together.")
    bucket_batches: int = Field(8, ge=1, description="Batches per length bucket (shuffled inside).")
    crop_s: float | None = Field(None, gt=0, description="Random training crop of every frames stream (s).")
    augment: list[AugmentConfig] = Field(default_factory=list)
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    amp: bool = Field(True, description="Mixed precision (bfloat16 autocast) on CUDA; ignored on CPU.")
    threads: int | None = Field(None, ge=1, description="torch CPU threads (set once); null = torch default.")
    eval_batch_size: int | None = Field(None, ge=1, description="Default: 2 x batch_size.")
    pretrain_epochs: int = Field(
        0, ge=0, description="Unsupervised epochs first (models with reconstruction_loss, e.g. autoencoders)."
    )
    freeze_encoder: bool = Field(False, description="After pretraining, train only the head.")

    @model_validator(mode="after")
    def _val_needs_fixed_epochs(self) -> TrainConfig:
        if self.train_on_val and not self.fixed_epochs:
            raise ValueError(
                "train_on_val=true trains on the validation speakers, so nothing can be chosen on them: "
                "set fixed_epochs=true too"
            )
        return self


class SearchConfig(_Section):
    """Random hyperparameter search on the training fold (speaker-grouped inner folds; serkit.train.search).

    ``space`` maps dotted config keys to a distribution: ``{optim.lr: {loguniform: [1e-4, 1e-2]},
    model.cfg.units: {choice: [8, 16, 32]}}``. Each trial trains on the inner training speakers and is
    scored by UA on the inner held-out speakers; the best values then train the fold's final model.
    """

    space: dict[str, dict[str, Any]] = Field(min_length=1)
    n_trials: int = Field(10, ge=1)
    inner_folds: int = Field(3, ge=2)
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Dotted overrides for the trials only (e.g. train.epochs: 30)."
    )

    @field_validator("space", "overrides")
    @classmethod
    def _no_data_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        bad = [k for k in value if k.split(".")[0] in ("data", "search", "variant")]
        if bad:
            raise ValueError(
                f"{bad[0]!r}: a search varies model, loss, optim and train settings only (features are fixed)"
            )
        return value


class ExperimentConfig(_Section):
    """The whole experiment; ``dump_config(cfg)`` is what a run saves beside its results."""

    name: str | None = Field(None, description="Experiment name (default: the config file's stem).")
    description: str = ""
    data: DataConfig
    model: ModelConfig
    loss: LossConfig = Field(default_factory=LossConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    variant: Literal["faithful", "budget"] = "faithful"
    search: SearchConfig | None = None

    @property
    def digest(self) -> str:
        return config_digest(self)


# ---------------------------------------------------------------------------------------------
# Loading


def parse_overrides(pairs: Sequence[str]) -> list[tuple[tuple[str, ...], Any, str]]:
    """``["train.epochs=3", ...]`` -> ``[(("train", "epochs"), 3, "train.epochs=3"), ...]``.

    Values are parsed as YAML (``1e-4`` -> float, ``[a, b]`` -> list, an empty value -> null).

    Raises
    ------
    ConfigError
        A pair without ``=``, an empty key part, or a value that is not valid YAML.
    """
    out = []
    for text in pairs:
        if "=" not in text:
            raise ConfigError(f"Override {text!r} is not key=value (e.g. train.epochs=30).")
        key, raw = text.split("=", 1)
        parts = tuple(p.strip() for p in key.strip().split("."))
        if not all(parts):
            raise ConfigError(f"Override {text!r} has an empty key part; write section.key=value.")
        try:
            value = _parse_value(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(
                f"Override {text!r}: the value is not valid YAML ({_yaml_problem(exc)})."
            ) from None
        out.append((parts, value, text))
    return out


def _parse_value(raw: str) -> Any:
    if raw.strip() == "":
        return None
    value = yaml.safe_load(raw)
    if isinstance(value, str) and _looks_like_float(value):
        return float(value)  # YAML 1.1 reads 1e-4 (no dot) as a string
    return value


def _looks_like_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity")


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"No config file at {path}.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.constructor.ConstructorError as exc:
        raise ConfigError(
            f"Config file {path}: YAML tags such as {_tag(exc)} are not allowed ({_yaml_problem(exc)}); serkit "
            "configs are plain data. Write the value itself."
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config file {path} is not valid YAML: {_yaml_problem(exc)}.") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Config file {path} is not UTF-8 text: {exc}.") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {path} must hold a mapping at the top. Got {type(data).__name__}.")
    return data


def _tag(exc: yaml.constructor.ConstructorError) -> str:
    problem = exc.problem or ""
    start = problem.find("'!")
    return problem[start : problem.find("'", start + 1) + 1] if start >= 0 else "'!...'"


def _set(data: dict[str, Any], parts: tuple[str, ...], value: Any, text: str) -> None:
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            where = ".".join(parts[: i + 1])
            raise ConfigError(
                f"Override {text!r}: {where} is {child!r}, not a section, so it has no key {parts[i + 1]!r}."
            )
        node = child
    node[parts[-1]] = value


def load_config(
    source: str | os.PathLike[str] | Mapping[str, Any],
    overrides: Sequence[str] = (),
    *,
    base_dir: str | os.PathLike[str] | None = None,
) -> ExperimentConfig:
    """Read and check an experiment configuration.

    Parameters
    ----------
    source : path or mapping
        A YAML file (top-level mapping) or the plain data itself.
    overrides : sequence of str
        ``"section.key=value"`` strings, applied after the file (and after its ``budget:`` block when
        ``variant`` is ``budget``). They may reach into ``dict`` fields (``model.cfg.n_blocks=3``).
    base_dir : path, optional
        Folder that relative paths of a mapping ``source`` are resolved against (default: the current
        working directory). A file's relative paths are resolved against its folder.

    Returns
    -------
    ExperimentConfig
        Frozen; paths absolute.

    Raises
    ------
    ConfigError
        One line: the dotted key, the value, where it came from (file or override) and what is allowed;
        unknown keys suggest close matches.
    """
    import copy

    if isinstance(source, Mapping):
        data = copy.deepcopy(dict(source))
        origin = "the config mapping"
        file_base = Path(base_dir) if base_dir is not None else Path.cwd()
    else:
        path = Path(source)
        data = _read_yaml(path)
        origin = f"config file {path}"
        file_base = path.resolve().parent
    budget = data.pop("budget", None) or {}
    if not isinstance(budget, dict):
        raise ConfigError(f"{origin}: 'budget' must be a mapping of dotted overrides (train.epochs: 30).")
    cli = parse_overrides(list(overrides))
    sources: dict[tuple[str, ...], str] = {}
    for parts, value, _ in cli:  # first pass: learn the variant
        if parts == ("variant",):
            data["variant"] = value
    if data.get("variant") == "budget":
        for key, value in budget.items():
            parts = tuple(str(key).split("."))
            text = f"{key}={value!r} (budget section of {origin})"
            _set(data, parts, value, text)
            sources[parts] = text
    for parts, value, text in cli:
        _set(data, parts, value, text)
        sources[parts] = f"override {text!r} (on {origin})"
    if data.get("name") is None and not isinstance(source, Mapping):
        data["name"] = Path(source).stem
    cwd_paths = {parts for parts, _, _ in cli}  # paths typed on a command line: relative to the cwd
    try:
        cfg = ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_message(exc, origin, sources)) from None
    return _absolute(cfg, file_base, cwd_paths)


def _absolute(cfg: ExperimentConfig, file_base: Path, cwd_paths: set[tuple[str, ...]]) -> ExperimentConfig:
    def fix(p: Path | None, key: tuple[str, ...]) -> Path | None:
        if p is None:
            return None
        p = p.expanduser()
        if not p.is_absolute():
            from_cli = any(key[: len(c)] == c for c in cwd_paths)
            p = (Path.cwd() if from_cli else file_base) / p
        return Path(os.path.normpath(p))

    d = cfg.data
    data = d.model_copy(
        update={
            "manifest": [fix(p, ("data", "manifest")) for p in d.manifest],
            "roots": {k: fix(v, ("data", "roots", k)) for k, v in d.roots.items()},
            "split": fix(d.split, ("data", "split")),
            "cache_dir": fix(d.cache_dir, ("data", "cache_dir")),
        }
    )
    loss = cfg.loss.model_copy(update={"teacher": fix(cfg.loss.teacher, ("loss", "teacher"))})
    return cfg.model_copy(update={"data": data, "loss": loss})


def with_overrides(config: ExperimentConfig, values: Mapping[str, Any], *, source: str) -> ExperimentConfig:
    """``config`` with dotted keys set to ``values`` (Python values, not text), validated again.

    Raises
    ------
    ConfigError
        A key or value the schema refuses; the message names ``source``.
    """
    data = dump_config(config)
    sources: dict[tuple[str, ...], str] = {}
    for key, value in values.items():
        parts = tuple(str(key).split("."))
        text = f"{key}={value!r} ({source})"
        _set(data, parts, value, text)
        sources[parts] = text
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_message(exc, source, sources)) from None


# ---------------------------------------------------------------------------------------------
# Error messages


def _unwrap(annotation: Any) -> Any:
    """The BaseModel / dict / list inside ``X | None``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _model_at(loc: Sequence[Any]) -> tuple[type[BaseModel] | None, str]:
    """The section model that holds the last element of ``loc``, and its dotted name."""
    current: Any = ExperimentConfig
    name = "the top level"
    for i, part in enumerate(loc[:-1]):
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None, name
            current = field.annotation
            name = _dotted(loc[: i + 1])
        elif typing.get_origin(current) in (dict, list):
            current = typing.get_args(current)[-1]
            name = _dotted(loc[: i + 1])
        else:
            return None, name
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current, name
    return None, name


def _dotted(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _source_of(loc: tuple[str, ...], sources: Mapping[tuple[str, ...], str], origin: str) -> str:
    for i in range(len(loc), 0, -1):
        if loc[:i] in sources:
            return f"from {sources[loc[:i]]}"
    return f"in {origin}"


def _message(exc: ValidationError, origin: str, sources: Mapping[tuple[str, ...], str]) -> str:
    errors = exc.errors(include_url=False)
    err = errors[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))  # drop union tags
    key = _dotted(loc) or "(top level)"
    where = _source_of(tuple(str(p) for p in loc), sources, origin)
    more = f" ({len(errors) - 1} more problem(s) after this one)" if len(errors) > 1 else ""
    kind = err["type"]
    if kind == "extra_forbidden":
        section, section_name = _model_at(loc)
        valid = list(section.model_fields) if section is not None else []
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return (
            f"Unknown config key {key!r} {where}.{hint} Valid keys of {section_name}: "
            f"{', '.join(valid)}.{more}"
        )
    if kind == "missing":
        example = "PATH" if loc and loc[-1] in ("manifest", "split") else "VALUE"
        return f"The config key {key!r} is required but missing {where}; add it (or {key}={example}).{more}"
    value = err.get("input")
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    msg = msg.rstrip(".")
    return f"Bad value for config key {key!r} {where}: {msg}. Got {value!r}.{more}"


# ---------------------------------------------------------------------------------------------
# Saving and citing


def dump_config(config: ExperimentConfig) -> dict[str, Any]:
    """Plain data (dict, list, str, int, float, bool, None) of ``config``; paths become strings."""
    return config.model_dump(mode="json")


#: Settings that say where and how fast a run goes, not what it computes: left out of the digest, so a run
#: continued with ``--device cuda``, more threads or another cache folder is still the same experiment.
RUNTIME_KEYS: tuple[tuple[str, str], ...] = (
    ("train", "device"),
    ("train", "threads"),
    ("train", "eval_batch_size"),
    ("data", "workers"),
    ("data", "cache_dir"),
)


#: Options added after results were committed, with the value that does what serkit did before they
#: existed: at that value they are left out of digests, so a new option does not make every finished
#: result stale. Paths into :func:`dump_config`'s dict; ``*`` matches every key (e.g. every input stream).
ADDED_OPTIONS: tuple[tuple[tuple[str, ...], Any], ...] = (
    (("data", "inputs", "*", "crop_fraction"), None),
    (("data", "inputs", "*", "crop_whole_p"), 0.0),
)


def digest_data(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (from :func:`dump_config`, modified in place) without :data:`RUNTIME_KEYS` and without the
    :data:`ADDED_OPTIONS` that hold their neutral value: what digests are computed from."""
    for section, key in RUNTIME_KEYS:
        data.get(section, {}).pop(key, None)
    for path, neutral in ADDED_OPTIONS:
        nodes = [data]
        for part in path[:-1]:
            nodes = [
                child
                for node in nodes
                for child in (node.values() if part == "*" else [node.get(part)])
                if isinstance(child, dict)
            ]
        for node in nodes:
            if path[-1] in node and node[path[-1]] == neutral:
                del node[path[-1]]
    return data


def config_digest(config: ExperimentConfig) -> str:
    """16 hex characters of the SHA-256 of the canonical JSON of :func:`dump_config`; results cite it.

    :data:`RUNTIME_KEYS` (device, threads, evaluation batch size, extraction workers, cache folder) are left
    out, and so are :data:`ADDED_OPTIONS` at their neutral values; every other value counts, defaults
    included.
    """
    data = digest_data(dump_config(config))
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def save_config(config: ExperimentConfig, path: str | os.PathLike[str]) -> Path:
    """Write the resolved configuration as YAML atomically; ``load_config(path) == config``.

    The first line is a comment with :func:`config_digest`.
    """
    data = dump_config(config)
    header = f"# serkit resolved config, digest {config_digest(config)}\n"
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=False, default_flow_style=False)
    return atomic_write_text(path, header + body)
