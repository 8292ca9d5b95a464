"""Plan and run the benchmark: manifests, splits, (system, corpus, seed, fold) jobs, result files.

:func:`plan` prepares (or reuses) each corpus's manifest in the work folder, makes or checks each
(protocol, corpus) split (saved beside the results, so every row cites the same folds), resolves every
system's configuration and lists the jobs, marking those whose result is already in the result file.
:func:`run` extracts the features the pending jobs need once (all cores), sends the jobs in the plan's
order (cheapest cost hint first; the CLI reorders by measured estimates, :mod:`serkit.benchmark.estimate`) to
an executor, and after each finished job rewrites that system's result file atomically, then the seed
ensemble and the combinations that depend on it. A second run skips finished jobs; Ctrl-C keeps them.

Work folder layout (``benchmarks/work`` by default, not committed)::

    manifests/<corpus>.csv (+ .json: adapter, root; + .problems.csv)
    runs/<protocol>/<corpus>/<system>/seed-<k>/<fold>/     train_fold output (checkpoints, logs)
    runs/<protocol>/<corpus>/<system>/ensemble/            serkit.evaluate.ensemble.average_runs output
    failures.jsonl                                         jobs that raised (with tracebacks)
    locks/<protocol>/<corpus>/<system>.lock                held (flock) by the run training that row
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from serkit._io import atomic_write_text
from serkit.benchmark import results as R
from serkit.benchmark.executors import EXECUTORS, JobFailure
from serkit.benchmark.spec import BenchmarkSpec
from serkit.errors import BusyError, ConfigError, CorpusError, ParameterError, SerkitError, SplitLeakError

__all__ = ["Cell", "Job", "Plan", "Reporter", "Selection", "plan", "refresh", "run"]


@dataclass(frozen=True)
class Job:
    """One training job: a system's resolved config on one fold of one corpus with one seed."""

    protocol: str
    corpus: str
    system: str
    seed: int
    fold: str
    fold_index: int
    config: dict[str, Any]
    digest: str
    job_digest: str
    run_dir: str
    cost: float

    @property
    def name(self) -> str:
        return f"{self.system} on {self.corpus} [{self.protocol}] seed {self.seed} {self.fold}"


@dataclass
class Cell:
    """One (protocol, corpus): its split, the systems that run on it, and their configs per seed."""

    protocol: str
    corpus: str
    split: Any
    split_file: Path
    folds: list[str]
    systems: list[str]
    configs: dict[tuple[str, int], tuple[dict[str, Any], str]] = field(default_factory=dict)
    seeds: dict[str, int] = field(default_factory=dict)


@dataclass
class Selection:
    """What to run: protocol, system and corpus names (None = all the definition has), seed count."""

    protocols: Sequence[str] | None = None
    systems: Sequence[str] | None = None
    corpora: Sequence[str] | None = None
    seeds: int | None = None
    folds: int | None = None
    overrides: Sequence[str] = ()
    system_overrides: dict[str, Sequence[str]] = field(default_factory=dict)
    explicit_corpora: Sequence[str] = ()
    #: Where networks train: cpu, cuda or auto. A runtime setting: it is left out of every digest, so a
    #: row finished on one device is resumed on another.
    device: str = "cpu"


@dataclass
class Plan:
    spec: BenchmarkSpec
    work: Path
    results: Path
    cells: list[Cell]
    pending: list[Job]
    finished: list[Job]
    manifests: dict[str, Path]
    notes: list[str] = field(default_factory=list)
    threads: int = 1

    def cell(self, protocol: str, corpus: str) -> Cell:
        return next(c for c in self.cells if c.protocol == protocol and c.corpus == corpus)


class Reporter:
    """What the runner tells its user; the CLI shows a progress bar, the default says nothing."""

    def note(self, text: str) -> None:
        pass

    def warn(self, text: str) -> None:
        pass

    def stage(self, text: str, total: int | None = None) -> Callable[[int], None]:
        """Start a stage with ``total`` steps; returns ``advance(n)``."""
        return lambda n: None

    def jobs(self, total: int) -> None:
        pass

    def job_started(self, job: Job) -> None:
        pass

    def job_finished(self, job: Job, failure: JobFailure | None) -> None:
        pass


def audio_hours(frame: pd.DataFrame) -> float:
    """Hours of audio in a manifest (at least a few seconds, so a cost hint is never 0)."""
    return max(float(frame["duration"].sum()) / 3600, 1e-3)


def cost_hint(spec: BenchmarkSpec, system: str, corpus: str, hours: Mapping[str, float]) -> float:
    """``system``'s cost × the hours of audio it trains on for ``corpus``: the corpus's own and, for a
    multi-corpus system, the other corpora's (absent ones count 0)."""
    trained_on = (corpus, *spec.extra_corpora(system, corpus))
    return spec.systems[system].cost * sum(hours.get(c, 0.0) for c in trained_on)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------------------------
# Selection


def _pick(names: Sequence[str] | None, known: Sequence[str], what: str, option: str) -> list[str]:
    import difflib

    if names is None:
        return list(known)
    out = []
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ParameterError(f"{option}: unknown {what} {name!r}.{hint} Known: {', '.join(known)}.")
        out.append(name)
    return out


def _combo_members(spec: BenchmarkSpec, systems: Sequence[str]) -> list[str]:
    """``systems`` plus the members of the combinations among them (they must run first)."""
    out = list(systems)
    for name in systems:
        for member in spec.systems[name].combine or []:
            if member not in out:
                out.append(member)
    return [s for s in spec.systems if s in out]


# ---------------------------------------------------------------------------------------------
# Manifests and splits


def _prepare_manifest(spec: BenchmarkSpec, corpus: str, work: Path, reporter: Reporter) -> Path:
    """The corpus manifest, prepared once into ``work/manifests`` and reused while adapter and root match."""
    from serkit.data.corpora import get_corpus
    from serkit.data.manifest import write_manifest
    from serkit.data.prepare import prepare_corpus

    cspec = spec.corpora[corpus]
    root = spec.corpus_root(corpus)
    path = work / "manifests" / f"{corpus}.csv"
    meta_path = path.with_suffix(".json")
    meta = {"adapter": cspec.adapter, "root": str(Path(root).resolve()), "options": cspec.options}
    if path.is_file() and meta_path.is_file():
        try:
            saved = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            saved = None
        if saved is not None and {k: saved.get(k) for k in meta} == meta:
            return path
    if not Path(root).is_dir():
        raise CorpusError(
            f"Corpus {corpus!r}: no folder at {root}. Give its folder with --corpus {corpus}=PATH."
        )
    reporter.note(f"preparing the manifest of {corpus} from {root}")

    def wrap(it, total):
        step = reporter.stage(f"decoding {corpus}", total)
        for item in it:
            step(1)
            yield item

    report = prepare_corpus(get_corpus(cspec.adapter, **cspec.options), root, progress=wrap)
    problems = path.with_name(f"{corpus}.problems.csv")
    if report.problems:
        from serkit._io import atomic_path

        with atomic_path(problems) as tmp:
            report.problems_frame().to_csv(tmp, index=False)
        reporter.warn(f"{corpus}: {len(report.problems)} file(s) left out of the manifest (see {problems})")
    if report.manifest.empty:
        raise CorpusError(f"Corpus {corpus!r} at {root}: no usable audio file (see {problems}).")
    write_manifest(report.manifest, path)
    atomic_write_text(meta_path, json.dumps({**meta, "n_rows": len(report.manifest)}, indent=1) + "\n")
    return path


def _split(
    spec: BenchmarkSpec, protocol: str, corpus: str, manifest: pd.DataFrame, results: Path, *, write: bool
) -> tuple[Any, Path]:
    """The split of (protocol, corpus): the saved one (checked against the manifest) or a new one."""
    from serkit.data.manifest import speaker_keys
    from serkit.data.splits import Split, make_split

    path = R.split_path(results, protocol, corpus)
    recipe = spec.protocols[protocol].recipe(corpus, int(speaker_keys(manifest).nunique()))
    cspec = spec.corpora[corpus]
    if path.is_file():
        split = Split.from_json(path)
        try:
            split.check(manifest)
        except SplitLeakError as exc:
            raise SplitLeakError(
                f"The saved split {path} does not fit the corpus {corpus!r} at {spec.corpus_root(corpus)} "
                f"({exc}). That corpus differs from the one the saved results were computed on: write to "
                "another folder with --results DIR (or delete the saved split and results to start over)."
            ) from None
        if not _same_recipe(split, recipe):
            raise SplitLeakError(
                f"The saved split {path} was made as {split.protocol} (seed {split.seed}, {split.params}), but "
                f"the definition asks for {recipe.describe()}; delete it (and the results beside it) to change "
                "the protocol."
            )
        return split, path
    try:
        split = make_split(manifest, recipe.protocol, label_set=cspec.label_set, **recipe.params)
    except (ParameterError, ValueError) as exc:
        raise ParameterError(f"Split {recipe.describe()} of corpus {corpus!r}: {exc}") from None
    split.check(manifest)
    if write:
        split.to_json(path)
    return split, path


def _same_recipe(split: Any, recipe: Any) -> bool:
    names = {"speaker-dependent": "speaker-dependent-random"}
    if split.protocol != names.get(recipe.protocol, recipe.protocol):
        return False
    for key, value in recipe.params.items():
        saved = split.seed if key == "seed" else split.params.get(key, value)
        if saved != value:
            return False
    return True


def _multi_corpus(
    spec: BenchmarkSpec,
    cell: Cell,
    system: str,
    others: Sequence[str],
    frames: dict[str, pd.DataFrame],
    work: Path,
) -> tuple[Path, Any, Path]:
    """A multi-corpus system's training data on ``cell``: the corpus plus every utterance of ``others``
    whose label the corpus has, and the cell's split with those utterances added to each fold's training
    part (validation and test parts unchanged, so the rows compare with the single-corpus ones utterance by
    utterance). Written to ``work/multi-corpus/<protocol>/<corpus>/<system>/``; returns (manifest, split,
    split file).
    """
    from dataclasses import replace

    from serkit.data.manifest import manifest_digest, read_manifest, speaker_keys, write_manifest
    from serkit.data.splits import Split

    corpus = cell.corpus
    labelled = [c for c in (corpus, *others) if spec.corpora[c].label_set]
    if labelled:
        raise ConfigError(
            f"System {system!r} trains on several corpora, but corpus {labelled[0]!r} has a label_set; "
            "multi-corpus training maps no labels yet: remove train_corpora or the label_set."
        )
    target = frames[corpus]
    classes = set(target["label"].astype(str))
    added = pd.concat(
        [frames[c][frames[c]["label"].astype(str).isin(classes)] for c in others], ignore_index=True
    )
    raw = pd.concat([target, added], ignore_index=True)
    clash = raw["id"][raw["id"].duplicated()]
    if len(clash):
        raise ConfigError(
            f"System {system!r}: utterance id {clash.iloc[0]!r} is in corpus {corpus!r} and in one of "
            f"{', '.join(others)}; multi-corpus training needs distinct ids (distinct corpus names)."
        )
    folder = work / "multi-corpus" / cell.protocol / corpus / system
    manifest = write_manifest(raw, folder / "manifest.csv")
    combined = read_manifest(manifest)  # digests are of the manifest as the trainer reads it back
    ids = tuple(added["id"].astype(str))
    speakers = tuple(sorted(set(speaker_keys(added).astype(str))))
    split = cell.split
    folds = tuple(
        replace(
            f,
            train=tuple(sorted(f.train + ids)),
            train_speakers=tuple(sorted(f.train_speakers + speakers)),
        )
        for f in split.folds
    )
    derived = Split(
        protocol=split.protocol,
        folds=folds,
        speaker_independent=split.speaker_independent,
        manifest_digest=manifest_digest(combined),
        seed=split.seed,
        params={**split.params, "train_only_speakers": list(speakers)},
        description=(
            f"{split.description} Multi-corpus training: {len(ids)} utterances of {len(speakers)} speakers of "
            f"{', '.join(others)} (labels {corpus} has) join every fold's training part; they are never tested."
        ),
        label_set=split.label_set,
    )
    derived.check(combined)
    split_file = folder / "split.json"
    derived.to_json(split_file)
    return manifest, derived, split_file


# ---------------------------------------------------------------------------------------------
# Configurations


def _config(
    spec: BenchmarkSpec,
    system: str,
    corpus: str,
    seed: int,
    manifest: Path,
    split_file: Path,
    threads: int,
    extra: Sequence[str],
    device: str,
) -> tuple[dict[str, Any], str]:
    from serkit.train.config import config_digest, dump_config, load_config

    sspec = spec.systems[system]
    assert sspec.config is not None
    label_set = spec.corpora[corpus].label_set
    fixed = [
        f"name={system}",
        f"data.manifest={json.dumps(str(manifest))}",
        f"data.split={json.dumps(str(split_file))}",
        f"data.label_set={json.dumps(label_set) if label_set else ''}",
        "data.fold=all",
        "data.workers=1",
        f"train.threads={threads}",
        f"train.device={device}",
        f"train.seed={seed}",
    ]
    if spec.cache_dir is not None:
        fixed.append(f"data.cache_dir={json.dumps(str(spec.cache_dir))}")
    overrides = [*spec.overrides, *sspec.overrides, *extra, *fixed]
    try:
        config = load_config(sspec.config, overrides)
    except ConfigError as exc:
        raise ConfigError(f"System {system!r} ({sspec.config.name}): {exc}") from None
    _check_model(system, sspec.config.name, config.model.name, config.model.cfg)
    return dump_config(config), config_digest(config)


def _check_model(system: str, config_name: str, model: str, cfg: dict[str, Any]) -> None:
    """A network's name and model.cfg keys, checked before hours of other jobs run (classic learners check
    theirs when fitted)."""
    if model.startswith("classic_"):
        return
    from serkit.models import model_info

    try:
        info = model_info(model)
    except ParameterError as exc:
        raise ConfigError(f"System {system!r} ({config_name}): {exc}") from None
    unknown = sorted(k for k in cfg if k not in info.defaults)
    if unknown:
        raise ConfigError(
            f"System {system!r} ({config_name}): model {model!r} has no setting(s) {', '.join(unknown)} in "
            f"model.cfg (valid: {', '.join(sorted(info.defaults))}); replace model.cfg in the system's "
            'overrides ("model.cfg={...}").'
        )


def job_digest(config: dict[str, Any], split: Any) -> str:
    """What a result is of: the configuration with its manifest and split files replaced by their content
    digests, runtime settings left out. Unlike the training run's config digest it does not change when the
    repository, the work folder or the corpus moves, so committed results stay finished anywhere."""
    import copy
    import hashlib

    from serkit.train.config import digest_data

    data = copy.deepcopy(config)
    data["data"]["manifest"] = [split.manifest_digest]
    data["data"]["split"] = split.digest
    data["data"].pop("roots", None)
    data = digest_data(data)
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _frontends(config: dict[str, Any]) -> list[str]:
    return [inp["frontend"] for inp in config["data"]["inputs"].values()]


def _unavailable(config: dict[str, Any]) -> str | None:
    """Why a config's frontends cannot run here (an optional extra missing), or None."""
    from serkit.errors import OpenSmileMissingError, WeightsError
    from serkit.features.frontend import build_frontend

    for spec in _frontends(config):
        try:
            build_frontend(spec)
        except (OpenSmileMissingError, WeightsError, ImportError) as exc:
            return f"{spec}: {exc}"
    return None


# ---------------------------------------------------------------------------------------------
# Planning


def plan(
    spec: BenchmarkSpec,
    selection: Selection | None = None,
    *,
    work: Path | None = None,
    results: Path | None = None,
    workers: int = 1,
    reporter: Reporter | None = None,
    write_splits: bool = True,
) -> Plan:
    """Resolve what to run: manifests, splits, configurations, and which jobs are finished.

    Raises
    ------
    ParameterError
        Unknown protocol, system or corpus names.
    CorpusError
        A requested corpus has no folder.
    ConfigError, SplitLeakError
        A system's configuration is invalid; a saved split does not fit the corpus.
    """
    from serkit.data.manifest import read_manifest

    sel = selection or Selection()
    reporter = reporter or Reporter()
    work = Path(work or spec.work)
    results = Path(results or spec.results)
    protocols = _pick(sel.protocols, list(spec.protocols), "protocol", "--protocol")
    systems = _pick(sel.systems, list(spec.systems), "system", "--systems")
    corpora = _pick(sel.corpora, list(spec.corpora), "corpus", "--corpora")
    threads = max(1, _cores() // max(1, workers))
    notes: list[str] = []

    wanted: dict[str, list[tuple[str, list[str]]]] = {}
    for protocol in protocols:
        p_systems = _combo_members(spec, [s for s in spec.protocol_systems(protocol) if s in systems])
        for corpus in spec.protocol_corpora(protocol):
            if corpus in corpora and p_systems:
                wanted.setdefault(corpus, []).append((protocol, p_systems))
    if not wanted:
        raise ParameterError(
            "Nothing to run: no protocol of the selection includes these systems and corpora "
            f"(protocols {', '.join(protocols)}; systems {', '.join(systems)}; corpora {', '.join(corpora)})."
        )

    manifests: dict[str, Path] = {}
    frames: dict[str, pd.DataFrame] = {}
    for corpus in list(wanted):
        root = spec.corpus_root(corpus)
        explicit = corpus in sel.explicit_corpora or sel.corpora is not None
        if not Path(root).is_dir() and not explicit:
            notes.append(
                f"skipped corpus {corpus}: no folder at {root} (give it with --corpus {corpus}=PATH)"
            )
            reporter.warn(notes[-1])
            del wanted[corpus]
            continue
        manifests[corpus] = _prepare_manifest(spec, corpus, work, reporter)
        frames[corpus] = read_manifest(manifests[corpus])
    if not wanted:
        raise CorpusError("None of the benchmark's corpora is present: " + "; ".join(notes))
    unavailable: dict[str, str] = {}
    needed = {
        other
        for corpus, entries in wanted.items()
        for _, p_systems in entries
        for system in p_systems
        for other in spec.extra_corpora(system, corpus)
    }
    for other in sorted(needed - set(frames), key=list(spec.corpora).index):
        if Path(spec.corpus_root(other)).is_dir():
            manifests[other] = _prepare_manifest(spec, other, work, reporter)
            frames[other] = read_manifest(manifests[other])
            continue
        for system in systems:
            if other in spec.systems[system].train_corpora:
                unavailable.setdefault(
                    system,
                    f"trains on corpus {other} too, which has no folder at {spec.corpus_root(other)} "
                    f"(give it with --corpus {other}=PATH)",
                )

    cells: list[Cell] = []
    pending: list[Job] = []
    finished: list[Job] = []
    hours = {c: audio_hours(frames[c]) for c in frames}
    for corpus, entries in wanted.items():
        for protocol, p_systems in entries:
            split, split_file = _split(spec, protocol, corpus, frames[corpus], results, write=write_splits)
            n_folds = sel.folds or spec.protocols[protocol].folds
            folds = [f.name for f in split.folds][:n_folds] if n_folds else [f.name for f in split.folds]
            cell = Cell(protocol, corpus, split, split_file, folds, p_systems)
            cells.append(cell)
            for system in p_systems:
                sspec = spec.systems[system]
                if not sspec.trained:
                    continue
                n_seeds = sel.seeds or sspec.seeds
                cell.seeds[system] = n_seeds
                doc = R.read_result(R.result_path(results, protocol, corpus, system)) or {}
                if doc.get("split", {}).get("digest") not in (None, split.digest):
                    doc = {}  # computed on another split: every job runs again
                data = (manifests[corpus], split, split_file)
                others = spec.extra_corpora(system, corpus)
                if others and system not in unavailable:
                    data = _multi_corpus(spec, cell, system, others, frames, work)
                for seed in range(n_seeds):
                    extra = [*sel.overrides, *sel.system_overrides.get(system, ())]
                    config, digest = _config(
                        spec, system, corpus, seed, data[0], data[2], threads, extra, sel.device
                    )
                    jdigest = job_digest(config, data[1])
                    cell.configs[(system, seed)] = (config, digest, jdigest)
                    if system not in unavailable:
                        why = _unavailable(config)
                        if why:
                            unavailable[system] = why
                    run_dir = work / "runs" / protocol / corpus / system / R.seed_key(seed)
                    for i, fold in enumerate(folds):
                        job = Job(
                            protocol,
                            corpus,
                            system,
                            seed,
                            fold,
                            i,
                            config,
                            digest,
                            jdigest,
                            str(run_dir),
                            cost_hint(spec, system, corpus, hours),
                        )
                        (finished if _finished(doc, job) else pending).append(job)
    for system, why in unavailable.items():
        notes.append(f"skipped system {system}: {why}")
        reporter.warn(notes[-1])
    pending = [j for j in pending if j.system not in unavailable]
    order = {n: i for i, n in enumerate(spec.systems)}
    corpus_order = {n: i for i, n in enumerate(spec.corpora)}
    proto_order = {n: i for i, n in enumerate(spec.protocols)}
    pending.sort(
        key=lambda j: (
            j.cost,
            proto_order[j.protocol],
            corpus_order[j.corpus],
            order[j.system],
            j.seed,
            j.fold_index,
        )
    )
    return Plan(spec, work, results, cells, pending, finished, manifests, notes, threads)


# ---------------------------------------------------------------------------------------------
# Running


def _base_doc(plan_: Plan, cell: Cell, system: str) -> dict[str, Any]:
    spec = plan_.spec
    sspec = spec.systems[system]
    protocol = spec.protocols[cell.protocol]
    doc: dict[str, Any] = {
        "format": R.FORMAT,
        "format_version": R.FORMAT_VERSION,
        "system": system,
        "title": sspec.title,
        "group": sspec.group,
        "corpus": cell.corpus,
        "protocol": cell.protocol,
        "protocol_title": protocol.title,
        "speaker_independent": bool(cell.split.speaker_independent),
        "split": {
            "file": _rel(cell.split_file, plan_.results),
            "protocol": cell.split.protocol,
            "params": cell.split.params,
            "digest": cell.split.digest,
            "manifest_digest": cell.split.manifest_digest,
            "n_folds": len(cell.split.folds),
        },
        "folds": list(cell.folds),
    }
    if sspec.trained:
        config, _digest, jdigest = cell.configs[(system, 0)]
        doc["config"] = {
            "file": _rel(sspec.config, spec.source.parent.parent if spec.source else Path.cwd()),
            "overrides": [*spec.overrides, *sspec.overrides],
            "variant": config.get("variant"),
            "model": config["model"]["name"],
            "frontends": _frontends(config),
            "job_digest_seed_0": jdigest,
        }
        doc["seeds"] = cell.seeds[system]
        doc["ensemble"] = bool(sspec.ensemble)
        others = spec.extra_corpora(system, cell.corpus)
        if others:
            doc["train_corpora"] = others
    else:
        doc["combine"] = list(sspec.combine or [])
    return doc


def _rel(path: Path | None, base: Path) -> str | None:
    if path is None:
        return None
    try:
        return str(Path(path).resolve().relative_to(Path(base).resolve()))
    except ValueError:
        return str(path)


def run_dir_current(job: Job) -> bool:
    """Whether the job's seed run folder holds a config.yaml of the job's configuration (its logs, states
    and checkpoints belong to this job, not to an older configuration of the system)."""
    from serkit.train.config import config_digest, load_config

    saved = Path(job.run_dir) / "config.yaml"
    if not saved.is_file():
        return False
    try:
        return config_digest(load_config(saved)) == job.digest
    except SerkitError:
        return False


def _ensure_run_dir(job: Job) -> None:
    """Write the seed run folder's config.yaml; a folder of another configuration starts afresh."""
    from serkit.train.config import ExperimentConfig, save_config

    run_dir = Path(job.run_dir)
    if run_dir_current(job):
        return
    if (run_dir / "config.yaml").is_file():
        shutil.rmtree(run_dir)  # checkpoints and states of an older configuration of this system
    save_config(ExperimentConfig.model_validate(job.config), run_dir / "config.yaml")


def _record(plan_: Plan, job: Job, result: dict[str, Any]) -> None:
    if result.get("config_digest") != job.digest:
        raise ConfigError(
            f"{job.name}: the fold result cites config {result.get('config_digest')}, expected {job.digest}."
        )
    cell = plan_.cell(job.protocol, job.corpus)
    path = R.result_path(plan_.results, job.protocol, job.corpus, job.system)
    doc = R.read_result(path) or {}
    if doc.get("split", {}).get("digest") != cell.split.digest:
        doc = {}
    base = _base_doc(plan_, cell, job.system)
    runs = doc.get("runs", {})
    entry = R.fold_entry(result)
    entry["job_digest"] = job.job_digest
    entry["finished"] = R.now()
    runs.setdefault(R.seed_key(job.seed), {})[job.fold] = entry
    new = {**base, "classes": entry["classes"], "runs": _sorted_runs(runs, cell)}
    if "final" in doc:
        new["final"] = doc["final"]
    R.write_result(path, new)


def _sorted_runs(runs: dict[str, dict[str, Any]], cell: Cell) -> dict[str, dict[str, Any]]:
    index = {f.name: i for i, f in enumerate(cell.split.folds)}
    out = {}
    for seed in sorted(runs, key=lambda s: int(s.split("-")[-1])):
        out[seed] = {f: runs[seed][f] for f in sorted(runs[seed], key=lambda f: index.get(f, len(index)))}
    return out


def _ensemble(plan_: Plan, cell: Cell, system: str) -> None:
    """Average the seeds' probabilities of every fold all seeds finished (``average_runs``)."""
    sspec = plan_.spec.systems[system]
    if not sspec.trained or not sspec.ensemble:
        return
    path = R.result_path(plan_.results, cell.protocol, cell.corpus, system)
    doc = R.read_result(path)
    if doc is None:
        return
    n_seeds = cell.seeds[system]
    seeds = [R.seed_key(k) for k in range(n_seeds)]
    runs = doc.get("runs", {})
    final = dict(doc.get("final", {}))
    ready = []
    for fold in cell.folds:
        members = [runs.get(s, {}).get(fold) for s in seeds]
        if any(
            m is None or m.get("job_digest") != cell.configs[(system, k)][2] for k, m in enumerate(members)
        ):
            continue
        digests = [m["job_digest"] for m in members]
        if final.get(fold, {}).get("member_digests") == digests:
            continue
        ready.append((fold, members, digests))
    if not ready:
        return
    work = plan_.work / "runs" / cell.protocol / cell.corpus / system
    run_dirs = [work / s for s in seeds]
    ens_dir = work / "ensemble"
    averaged = _average_runs(run_dirs, ens_dir, system)
    for fold, members, digests in ready:
        entry = None
        if averaged:
            from serkit.train.data import safe_name

            metrics = ens_dir / safe_name(fold) / "metrics.json"
            if metrics.is_file():
                entry = R.fold_entry(json.loads(metrics.read_text(encoding="utf-8")))
                entry["method"] = "serkit.evaluate.ensemble.average_runs"
        if entry is None:  # the work folder lacks the seed runs (results merged from elsewhere)
            entry = R.average_entries(members, fold=fold)
            entry["method"] = "mean of the result files' probabilities"
        entry["members"] = seeds
        entry["member_digests"] = digests
        entry["train_seconds"] = float(sum(m.get("train_seconds") or 0.0 for m in members))
        params = [m.get("n_parameters") for m in members]
        entry["n_parameters"] = int(sum(params)) if all(p is not None for p in params) else None
        final[fold] = entry
    index = {f.name: i for i, f in enumerate(cell.split.folds)}
    doc["final"] = {f: final[f] for f in sorted(final, key=lambda f: index.get(f, len(index)))}
    R.write_result(path, doc)


def _average_runs(run_dirs: list[Path], out_dir: Path, name: str) -> bool:
    """``serkit.evaluate.ensemble.average_runs`` over the seed run folders; False when it cannot run here."""
    try:
        from serkit.evaluate.ensemble import average_runs
    except ImportError:
        return False
    if len(run_dirs) < 2 or not all(d.is_dir() for d in run_dirs):
        return False
    try:
        average_runs(run_dirs, out_dir, name=f"{name}-ensemble")
    except ParameterError:
        # an ensemble of an older configuration of the seeds: computed again from scratch
        shutil.rmtree(out_dir, ignore_errors=True)
        try:
            average_runs(run_dirs, out_dir, name=f"{name}-ensemble")
        except ParameterError:
            return False
    return True


def _current_folds(cell: Cell, system: str, doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Fold -> the member's entries computed with its current configuration (stale ones are left out)."""
    n_seeds = cell.seeds[system]
    digests = [cell.configs[(system, k)][2] for k in range(n_seeds)]
    if doc.get("ensemble"):
        return {f: [e] for f, e in doc.get("final", {}).items() if e.get("member_digests") == digests}
    out: dict[str, list[dict[str, Any]]] = {}
    for k, digest in enumerate(digests):
        for fold, entry in doc.get("runs", {}).get(R.seed_key(k), {}).items():
            if entry.get("job_digest") == digest:
                out.setdefault(fold, []).append(entry)
    return out


def _combine(plan_: Plan, cell: Cell, system: str) -> None:
    """A combination system: average its members' per-utterance probabilities fold by fold (no training)."""
    sspec = plan_.spec.systems[system]
    if sspec.trained:
        return
    members = {}
    for member in sspec.combine or []:
        doc = R.read_result(R.result_path(plan_.results, cell.protocol, cell.corpus, member))
        if doc is None or doc.get("split", {}).get("digest") != cell.split.digest:
            return
        members[member] = _current_folds(cell, member, doc)
    final = {}
    for fold in cell.folds:
        entries = [members[m].get(fold) for m in members]
        if any(not e for e in entries):
            continue
        # a member with several un-ensembled seeds contributes the mean of its seeds
        per_member = [e[0] if len(e) == 1 else R.average_entries(e, fold=fold) for e in entries]  # type: ignore[union-attr]
        entry = R.average_entries(per_member, fold=fold)
        entry["method"] = "mean of the members' probabilities (result files)"
        entry["members"] = list(members)
        final[fold] = entry
    if not final:
        return
    doc = {**_base_doc(plan_, cell, system), "classes": next(iter(final.values()))["classes"], "runs": {}}
    doc["final"] = final
    R.write_result(R.result_path(plan_.results, cell.protocol, cell.corpus, system), doc)


def refresh(plan_: Plan) -> None:
    """Recompute seed ensembles and combinations of every cell from what is finished."""
    for cell in plan_.cells:
        for system in cell.systems:
            _ensemble(plan_, cell, system)
        for system in cell.systems:
            _combine(plan_, cell, system)


def _extract(plan_: Plan, jobs: Sequence[Job], reporter: Reporter) -> set[tuple[str, str]]:
    """Compute the features of the pending jobs once, with every core; (corpus, frontend) pairs that failed."""
    from serkit.data.manifest import read_manifest
    from serkit.data.prepare import default_workers
    from serkit.features.extract import extract_features
    from serkit.train.data import default_cache_dir

    needed: dict[tuple[str, str, str], None] = {}
    for job in jobs:
        cache = job.config["data"].get("cache_dir") or str(default_cache_dir())
        for fe in _frontends(job.config):
            needed[(job.corpus, fe, cache)] = None
    failed = set()
    for corpus, fe, cache in needed:
        manifest = read_manifest(plan_.manifests[corpus])
        step = reporter.stage(f"features {fe} on {corpus}", len(manifest))

        def progress(n: int, _s: float, step=step) -> None:
            step(n)  # files finished since the last call

        try:
            extract_features(manifest, fe, cache_dir=cache, workers=default_workers(), progress=progress)
        except SerkitError as exc:
            failed.add((corpus, fe))
            reporter.warn(f"features {fe} on {corpus} failed ({exc}); the systems that need them are skipped")
    return failed


def _finished(doc: dict[str, Any], job: Job) -> bool:
    """Whether a result document holds ``job``'s fold for its exact configuration and split (job digest)."""
    entry = doc.get("runs", {}).get(R.seed_key(job.seed), {}).get(job.fold)
    return entry is not None and entry.get("job_digest") == job.job_digest


def _still_pending(plan_: Plan) -> list[Job]:
    """The plan's pending jobs less those another run finished since the plan was made (read under the locks)."""
    docs: dict[tuple[str, str, str], dict[str, Any]] = {}
    jobs = []
    for job in plan_.pending:
        key = (job.protocol, job.corpus, job.system)
        if key not in docs:
            docs[key] = R.read_result(R.result_path(plan_.results, *key)) or {}
        if not _finished(docs[key], job):
            jobs.append(job)
    return jobs


@contextmanager
def _row_lock(path: Path, row: str) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (released when the process ends, however it ends)."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; concurrent runs of one row are the user's to avoid there
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            raise BusyError(
                f"{row} is being trained by another serkit benchmark (pid {holder}); wait for it to finish, "
                "or leave that system or corpus out of this run (--systems, --corpora)."
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        yield


def run(
    plan_: Plan,
    *,
    executor: str = "local",
    workers: int = 1,
    reporter: Reporter | None = None,
    extract: bool = True,
) -> dict[str, Any]:
    """Run the plan's pending jobs; returns ``{"done": n, "failed": [(job name, message)], ...}``.

    Result files are updated after every job; Ctrl-C (KeyboardInterrupt) leaves every finished job recorded.
    """
    reporter = reporter or Reporter()
    if executor not in EXECUTORS:
        raise ParameterError(f"--executor must be one of {', '.join(EXECUTORS)}; got {executor!r}.")
    if workers < 1:
        raise ParameterError(f"--workers must be an int >= 1; got {workers}.")
    with ExitStack() as locks:
        # two runs training one row would share its fold folders and rewrite its result file in turn
        for protocol, corpus, system in sorted({(j.protocol, j.corpus, j.system) for j in plan_.pending}):
            row = f"{system} on {corpus} [{protocol}]"
            locks.enter_context(_row_lock(plan_.work / "locks" / protocol / corpus / f"{system}.lock", row))
        return _run_locked(plan_, executor=executor, workers=workers, reporter=reporter, extract=extract)


def _run_locked(
    plan_: Plan, *, executor: str, workers: int, reporter: Reporter, extract: bool
) -> dict[str, Any]:
    refresh(plan_)  # combinations of systems finished in earlier runs
    jobs = _still_pending(plan_)
    failed: list[tuple[str, str]] = []
    if jobs and extract:
        bad = _extract(plan_, jobs, reporter)
        if bad:
            keep = []
            for job in jobs:
                if any((job.corpus, fe) in bad for fe in _frontends(job.config)):
                    failed.append((job.name, "features could not be computed"))
                else:
                    keep.append(job)
            jobs = keep
    for job in jobs:
        _ensure_run_dir(job)
    reporter.jobs(len(jobs))
    done = 0
    log = plan_.work / "failures.jsonl"
    run_jobs = EXECUTORS[executor]
    for job, outcome in run_jobs(jobs, workers=workers, on_start=reporter.job_started):
        if isinstance(outcome, JobFailure):
            failed.append((job.name, str(outcome)))
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a", encoding="utf-8") as fh:
                fh.write(
                    json.dumps(
                        {
                            "job": job.name,
                            "time": R.now(),
                            "error": str(outcome),
                            "traceback": outcome.traceback,
                        }
                    )
                    + "\n"
                )
            reporter.job_finished(job, outcome)
            continue
        _record(plan_, job, outcome)
        cell = plan_.cell(job.protocol, job.corpus)
        _ensemble(plan_, cell, job.system)
        for system in cell.systems:
            if job.system in (plan_.spec.systems[system].combine or []):
                _combine(plan_, cell, system)
        done += 1
        reporter.job_finished(job, None)
    return {"done": done, "failed": failed, "skipped": list(plan_.notes), "time": time.time()}
