"""The benchmark definition: corpora, evaluation protocols, systems and targets, read from YAML (pydantic v2).

A definition file (``configs/benchmark.yaml``) has these top-level keys; relative paths in it are resolved
against the file's folder, so the same file works from any working directory:

``corpora_dir``
    Folder holding the default corpora (``../../shared/corpora`` from ``configs/``).
``work``, ``results``, ``docs``
    Work folder (manifests, checkpoints, ensembles; not committed), the committed results folder, and the
    Markdown file whose ``<!-- benchmark:begin -->`` / ``<!-- benchmark:end -->`` block holds the tables.
``cache_dir``
    Feature cache (null: serkit's default, ``$SERKIT_CACHE_DIR`` or ``~/.cache/serkit/features``).
``overrides``
    Dotted config overrides applied to every system (``train.device=auto``).
``reference``
    The system every row is compared with (paired permutation test on pooled predictions).
``corpora``
    name -> ``{adapter, folder | root, label_set, options, title}``. ``--corpus NAME=PATH`` replaces a
    root, or adds a corpus whose NAME is any registered adapter (``serkit data list``).
``protocols``
    name -> ``{title, split, corpus_splits, many_speakers, systems, corpora, folds}``: how each corpus is
    split (``split`` is the default recipe, ``corpus_splits`` per-corpus recipes; a recipe is
    ``{protocol: NAME, PARAM: VALUE, ...}`` as ``serkit data split`` takes them, seed 0 by default),
    which systems and corpora it runs (``all`` or a list), and optionally only the first ``folds`` folds.
``systems``
    name -> :class:`SystemSpec`: a training config (``config``: a ``configs/*.yaml`` file) with dotted
    ``overrides``, ``seeds`` and whether the seeds are ``ensemble``-d, or a ``combine`` list of other
    systems whose class probabilities are averaged (no training); its ``group`` and the numbers its
    ``paper`` reported. ``train_corpora`` (a list, or ``all``) makes a system multi-corpus: every speaker
    of those other corpora joins each fold's training data, never its validation or test data.
``targets``
    corpus -> ``{best, from_scratch}``: issue 11's speaker-independent UA targets (percent).
``quick``
    What ``serkit benchmark --quick`` runs instead: a few systems, corpora, protocols, ``folds`` and extra
    ``overrides`` (``variant=budget``), into its own ``results`` folder.

Examples
--------
>>> spec = load_definition("configs/benchmark.yaml")  # doctest: +SKIP
>>> [s for s in spec.systems][:2]  # doctest: +SKIP
['egemaps_svm', 'whisper_logreg']
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from serkit.errors import ConfigError, ParameterError

__all__ = [
    "GROUPS",
    "BenchmarkSpec",
    "CorpusSpec",
    "PaperResult",
    "ProtocolSpec",
    "QuickSpec",
    "SplitRecipe",
    "SystemSpec",
    "TargetSpec",
    "load_definition",
]

#: System groups, in table order. ``seed-paper`` and ``from-scratch`` systems learn every weight from the
#: corpus; ``pretrained`` ones read a frozen pretrained encoder; ``best`` combines finished systems.
GROUPS = ("baseline", "seed-paper", "from-scratch", "pretrained", "best")
#: Groups whose rows count for the "from scratch" target of issue 11.
FROM_SCRATCH_GROUPS = ("seed-paper", "from-scratch")
#: Groups whose rows count for the "best" target (everything serkit builds; plain baselines do not).
BEST_GROUPS = ("seed-paper", "from-scratch", "pretrained", "best")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitRecipe(BaseModel):
    """``{protocol: group-kfold, n_folds: 6, seed: 0}``: a protocol name and its generator's parameters."""

    model_config = ConfigDict(extra="allow", frozen=True)

    protocol: str

    @field_validator("protocol")
    @classmethod
    def _known(cls, value: str) -> str:
        from serkit.data.splits import list_protocols

        names = list(list_protocols())
        key = value.strip().lower().replace("_", "-")
        aliases = {"speaker-dependent-random": "speaker-dependent", "leave-one-speaker-out": "loso"}
        key = aliases.get(key, key)
        if key not in names:
            raise ValueError(f"unknown split protocol {value!r}; known: {', '.join(names)}")
        return key

    @property
    def params(self) -> dict[str, Any]:
        """Generator parameters, with the seed 0 that ``serkit data split`` also uses by default."""
        params = dict(self.model_extra or {})
        if self.protocol not in ("official", "casia-text"):
            params.setdefault("seed", 0)
        return params

    def describe(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.protocol}({extra})" if extra else self.protocol


class ManySpeakers(_Strict):
    """Corpora with more than ``threshold`` speakers use ``split`` instead (LOSO would be one fold each)."""

    threshold: int = Field(12, ge=2)
    split: SplitRecipe


class ProtocolSpec(_Strict):
    title: str
    speaker_independent: bool = True
    split: SplitRecipe
    corpus_splits: dict[str, SplitRecipe] = Field(default_factory=dict)
    many_speakers: ManySpeakers | None = None
    systems: list[str] | Literal["all"] = "all"
    corpora: list[str] | Literal["all"] = "all"
    folds: int | None = Field(None, ge=1, description="Only the first N folds of each split.")
    note: str = ""

    def recipe(self, corpus: str, n_speakers: int | None = None) -> SplitRecipe:
        if corpus in self.corpus_splits:
            return self.corpus_splits[corpus]
        if self.many_speakers and n_speakers is not None and n_speakers > self.many_speakers.threshold:
            return self.many_speakers.split
        return self.split


class CorpusSpec(_Strict):
    adapter: str
    title: str = ""
    folder: str | None = Field(None, description="Folder under corpora_dir (default: the corpus name).")
    root: Path | None = Field(None, description="Explicit corpus folder (instead of corpora_dir/folder).")
    label_set: str | None = Field(None, description="data.label_set of every system on this corpus.")
    options: dict[str, Any] = Field(default_factory=dict, description="Adapter options (generic: csv=...).")

    @field_validator("adapter")
    @classmethod
    def _adapter(cls, value: str) -> str:
        from serkit.data.corpora import list_corpora

        names = list(list_corpora())
        if value not in names:
            close = difflib.get_close_matches(value, names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown corpus adapter {value!r}.{hint} Adapters: {', '.join(names)}")
        return value


class PaperResult(_Strict):
    """A number a paper (or a documented measurement) reported for a system on one corpus."""

    corpus: str = Field(description="Benchmark corpus name (or another corpus, e.g. iemocap).")
    value: float = Field(description="Percent.")
    metric: str = Field(description="What the paper calls it: UA, WA, accuracy, ...")
    protocol: str = Field(description="The paper's evaluation protocol, in words.")
    speaker_independent: bool
    source: str = Field(description="Where in the paper: section, table.")
    note: str = ""


class SystemSpec(_Strict):
    title: str
    group: Literal["baseline", "seed-paper", "from-scratch", "pretrained", "best"]
    config: Path | None = Field(None, description="Experiment YAML (configs/*.yaml).")
    overrides: list[str] = Field(default_factory=list, description="Dotted key=value overrides.")
    seeds: int = Field(1, ge=1, description="Training seeds 0..seeds-1 (train.seed).")
    ensemble: bool = Field(False, description="Average the seeds' class probabilities per utterance.")
    combine: list[str] | None = Field(None, description="Average these systems' probabilities (no training).")
    cost: float = Field(1.0, gt=0, description="Relative cost per fold; cheaper jobs run first.")
    train_corpora: list[str] = Field(
        default_factory=list,
        description=(
            "Multi-corpus training: every speaker of these other corpora joins each fold's training data "
            "(utterances whose label the evaluated corpus lacks are left out); they are never tested. "
            "'all' in a definition file is resolved to its corpora when the file is read."
        ),
    )
    paper: str | None = Field(None, description="The paper (shared/papers/<stem>.txt) or reference.")
    reported: list[PaperResult] = Field(default_factory=list)
    note: str = ""

    @model_validator(mode="after")
    def _config_or_combine(self) -> SystemSpec:
        if (self.config is None) == (self.combine is None):
            raise ValueError("a system needs exactly one of 'config' (trained) or 'combine' (combination)")
        if self.combine is not None and len(self.combine) < 2:
            raise ValueError("'combine' needs at least two systems")
        if self.ensemble and self.seeds < 2:
            raise ValueError("'ensemble: true' needs seeds >= 2")
        if self.train_corpora and self.combine is not None:
            raise ValueError("'train_corpora' needs a trained system ('config'), not a combination")
        return self

    @property
    def trained(self) -> bool:
        return self.combine is None

    def reported_on(self, corpus: str) -> PaperResult | None:
        return next((r for r in self.reported if r.corpus == corpus), None)


class TargetSpec(_Strict):
    best: float | None = None
    from_scratch: float | None = None


class ClaimSpec(_Strict):
    """A paper's claim that its system beats a baseline, tested on every corpus where both rows are complete."""

    system: str = Field(description="The paper's system (expected to be better).")
    baseline: str = Field(description="The system the paper says it beats.")
    claim: str = Field(description="The claim, in words.")
    source: str = Field("", description="Where the paper makes it: section, table.")


class QuickSpec(_Strict):
    systems: list[str]
    corpora: list[str]
    protocols: list[str] = Field(default_factory=lambda: ["si"])
    folds: int = Field(2, ge=1)
    overrides: list[str] = Field(default_factory=list, description="Overrides of every quick system.")
    system_overrides: dict[str, list[str]] = Field(default_factory=dict, description="Per quick system.")
    results: Path


class BenchmarkSpec(_Strict):
    source: Path | None = Field(None, description="The definition file (set by load_definition).")
    corpora_dir: Path
    work: Path
    results: Path
    docs: Path | None = None
    cache_dir: Path | None = None
    overrides: list[str] = Field(default_factory=list)
    reference: str | None = None
    corpora: dict[str, CorpusSpec]
    protocols: dict[str, ProtocolSpec]
    systems: dict[str, SystemSpec]
    targets: dict[str, TargetSpec] = Field(default_factory=dict)
    claims: list[ClaimSpec] = Field(default_factory=list)
    quick: QuickSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _resolve_all_corpora(cls, data: Any) -> Any:
        """``train_corpora: all`` means the corpora of the definition file, fixed when it is read, so that a
        corpus added later with ``--corpus`` never changes (and re-runs) the finished rows of the others."""
        if not isinstance(data, dict) or not isinstance(data.get("systems"), dict):
            return data
        names = list(data.get("corpora") or {})
        systems = {
            name: {**system, "train_corpora": names}
            if isinstance(system, dict) and system.get("train_corpora") == "all"
            else system
            for name, system in data["systems"].items()
        }
        return {**data, "systems": systems}

    @model_validator(mode="after")
    def _names(self) -> BenchmarkSpec:
        for name in [*self.systems, *self.corpora]:
            if not name or name.startswith(("_", ".")) or "/" in name or name != name.strip():
                raise ValueError(f"{name!r} is not usable as a file name (no '/', no leading '_' or '.')")
        if self.reference is not None:
            _known(self.reference, self.systems, "reference system")
        for name, system in self.systems.items():
            for member in system.combine or []:
                _known(member, self.systems, f"combine member of {name!r}")
                if not self.systems[member].trained:
                    raise ValueError(f"system {name!r} combines {member!r}, itself a combination")
            for c in system.train_corpora:
                _known(c, self.corpora, f"train_corpora entry of {name!r}")
        for claim in self.claims:
            _known(claim.system, self.systems, "claim system")
            _known(claim.baseline, self.systems, "claim baseline")
        for pname, protocol in self.protocols.items():
            if protocol.systems != "all":
                for s in protocol.systems:
                    _known(s, self.systems, f"system of protocol {pname!r}")
            if protocol.corpora != "all":
                for c in protocol.corpora:
                    _known(c, self.corpora, f"corpus of protocol {pname!r}")
        if self.quick is not None:
            for s in self.quick.systems:
                _known(s, self.systems, "quick system")
            for c in self.quick.corpora:
                _known(c, self.corpora, "quick corpus")
            for p in self.quick.protocols:
                _known(p, self.protocols, "quick protocol")
            for s in self.quick.system_overrides:
                _known(s, self.quick.systems, "quick.system_overrides system")
        return self

    # Selection helpers ---------------------------------------------------------------------------

    def corpus_root(self, name: str) -> Path:
        corpus = self.corpora[name]
        if corpus.root is not None:
            return corpus.root
        return self.corpora_dir / (corpus.folder or name)

    def protocol_systems(self, protocol: str) -> list[str]:
        wanted = self.protocols[protocol].systems
        return list(self.systems) if wanted == "all" else [s for s in self.systems if s in wanted]

    def extra_corpora(self, system: str, corpus: str) -> list[str]:
        """The other corpora whose speakers join ``system``'s training data on ``corpus`` (in definition
        order; empty for a single-corpus system)."""
        wanted = self.systems[system].train_corpora
        return [c for c in self.corpora if c in wanted and c != corpus]

    def protocol_corpora(self, protocol: str) -> list[str]:
        wanted = self.protocols[protocol].corpora
        return list(self.corpora) if wanted == "all" else [c for c in self.corpora if c in wanted]

    def with_corpus(self, name: str, root: Path) -> BenchmarkSpec:
        """This definition with corpus ``name`` read from ``root`` (a new corpus when ``name`` is unknown:
        its adapter is ``name``)."""
        if name in self.corpora:
            corpus = self.corpora[name].model_copy(update={"root": root})
        else:
            try:
                corpus = CorpusSpec(adapter=name, root=root, title=name)
            except ValidationError as exc:
                message = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
                raise ParameterError(
                    f"--corpus {name}={root}: {name!r} is neither a corpus of the benchmark "
                    f"({', '.join(self.corpora)}) nor {message[0].lower()}{message[1:]}."
                ) from None
        return self.model_copy(update={"corpora": {**self.corpora, name: corpus}})


def _known(name: str, names: Any, what: str) -> None:
    if name not in names:
        close = difflib.get_close_matches(name, list(names), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown {what} {name!r}.{hint}")


def _absolute(value: Path | None, base: Path) -> Path | None:
    if value is None:
        return None
    value = Path(os.path.expanduser(value))
    return value if value.is_absolute() else Path(os.path.normpath(base / value))


def load_definition(path: str | os.PathLike[str]) -> BenchmarkSpec:
    """Read a benchmark definition YAML (safe loader; relative paths against the file's folder).

    Raises
    ------
    ConfigError
        Missing file, invalid YAML, or a value the schema refuses (one line naming the key).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"No benchmark definition at {path}.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"The benchmark definition {path} is not valid YAML: {exc}.") from None
    if not isinstance(data, dict):
        raise ConfigError(f"The benchmark definition {path} must hold a mapping at the top.")
    try:
        spec = BenchmarkSpec.model_validate({**data, "source": path})
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise ConfigError(f"Benchmark definition {path}, key {key!r}: {msg}.") from None
    base = path.resolve().parent
    corpora = {n: c.model_copy(update={"root": _absolute(c.root, base)}) for n, c in spec.corpora.items()}
    systems = {n: s.model_copy(update={"config": _absolute(s.config, base)}) for n, s in spec.systems.items()}
    quick = spec.quick
    if quick is not None:
        quick = quick.model_copy(update={"results": _absolute(quick.results, base)})
    return spec.model_copy(
        update={
            "source": path.resolve(),
            "corpora_dir": _absolute(spec.corpora_dir, base),
            "work": _absolute(spec.work, base),
            "results": _absolute(spec.results, base),
            "docs": _absolute(spec.docs, base),
            "cache_dir": _absolute(spec.cache_dir, base),
            "corpora": corpora,
            "systems": systems,
            "quick": quick,
        }
    )
