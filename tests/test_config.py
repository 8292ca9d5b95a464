"""The experiment config loader (serkit.train.config): types, errors, overrides, paths, round trip, digest."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from serkit.errors import ConfigError
from serkit.train.config import (
    ExperimentConfig,
    config_digest,
    digest_data,
    dump_config,
    load_config,
    parse_overrides,
    save_config,
)

BASE = """\
data:
  manifest: corpus/manifest.csv
  split: corpus/split.json
  inputs:
    mel: {frontend: "logmel(n_mels=40)", normaliser: corpus}
model: {name: drsn_bigru, cfg: {num_units: 5}}
optim: {name: rmsprop, lr: 1e-4}
train: {epochs: 160, batch_size: 64}
"""


@pytest.fixture
def cfg_file(tmp_path: Path) -> Path:
    path = tmp_path / "conf" / "exp.yaml"
    path.parent.mkdir()
    path.write_text(BASE, encoding="utf-8")
    return path


def test_types_defaults_and_paths(cfg_file: Path) -> None:
    cfg = load_config(cfg_file)
    assert isinstance(cfg, ExperimentConfig)
    assert cfg.name == "exp"  # the file's stem
    assert cfg.optim.lr == pytest.approx(1e-4) and isinstance(
        cfg.optim.lr, float
    )  # YAML 1.1: "1e-4" is a str
    assert cfg.train.epochs == 160 and cfg.train.batch_size == 64
    assert cfg.train.patience == 10 and cfg.loss.name == "ce" and cfg.variant == "faithful"
    # one manifest becomes a list; relative paths in a file resolve against the file's folder
    assert cfg.data.manifest == [cfg_file.parent / "corpus" / "manifest.csv"]
    assert cfg.data.split == cfg_file.parent / "corpus" / "split.json"
    assert cfg.data.inputs["mel"].normaliser == "corpus"
    assert cfg.model.cfg == {"num_units": 5}


def test_overrides_are_yaml_scalars_and_resolve_against_cwd(
    cfg_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = load_config(
        cfg_file,
        [
            "optim.lr=3e-3",
            "train.fixed_epochs=true",
            "train.patience=",  # empty = null
            "data.manifest=[a.csv, b.csv]",
            "data.split=s.json",
            "model.cfg.channels=[8, 8]",
            "data.inputs.mel.frontend=logmel(n_mels=64)",
            "train.augment=['specaugment(time_masks=1)', {name: mixup, cfg: {alpha: 0.2}}]",
        ],
    )
    assert cfg.optim.lr == pytest.approx(3e-3)
    assert cfg.train.fixed_epochs is True and cfg.train.patience is None
    assert cfg.data.manifest == [tmp_path / "a.csv", tmp_path / "b.csv"]
    assert cfg.data.split == tmp_path / "s.json"
    assert cfg.model.cfg == {"num_units": 5, "channels": [8, 8]}
    assert cfg.data.inputs["mel"].frontend == "logmel(n_mels=64)"
    assert [(a.name, a.cfg) for a in cfg.train.augment] == [
        ("specaugment", {"time_masks": 1}),
        ("mixup", {"alpha": 0.2}),
    ]


def test_budget_block_applies_only_to_the_budget_variant(cfg_file: Path) -> None:
    cfg_file.write_text(BASE + "budget:\n  train.epochs: 30\n  train.patience: 5\n", encoding="utf-8")
    faithful = load_config(cfg_file)
    assert faithful.train.epochs == 160 and faithful.variant == "faithful"
    budget = load_config(cfg_file, ["variant=budget"])
    assert budget.variant == "budget" and (budget.train.epochs, budget.train.patience) == (30, 5)
    # the command line wins over the budget block
    assert load_config(cfg_file, ["variant=budget", "train.epochs=7"]).train.epochs == 7
    cfg_file.write_text(BASE + "variant: budget\nbudget: {train.epoch: 3}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'train\.epoch'.*budget section.*Did you mean 'epochs'"):
        load_config(cfg_file)


@pytest.mark.parametrize(
    ("override", "pattern"),
    [
        (
            "train.batch_sise=32",
            r"Unknown config key 'train\.batch_sise'.*Did you mean 'batch_size'\?.*Valid keys",
        ),
        ("optim.lr=-1", r"config key 'optim\.lr' from override 'optim\.lr=-1'.*greater than 0.*Got -1"),
        ("train.epochs=many", r"'train\.epochs'.*valid integer.*Got 'many'"),
        ("optim.name=adagrad", r"'optim\.name'.*'adam', 'adamw', 'sgd' or 'rmsprop'.*Got 'adagrad'"),
        ("data.inputs.mel.frontend=logmell", r"'data\.inputs\.mel\.frontend'.*Did you mean 'logmel'"),
        ("data.inputs.mel.normaliser=speaker", r"'data\.inputs\.mel\.normaliser'.*Got 'speaker'"),
        ("data.inputs.mel.crop=3", r"Unknown config key 'data\.inputs\.mel\.crop'.*Did you mean 'crop_s'"),
        ("variant=cheap", r"'variant'.*'faithful' or 'budget'.*Got 'cheap'"),
        ("model.cfg=3", r"'model\.cfg'.*valid dictionary"),
    ],
)
def test_errors_name_key_value_and_source(cfg_file: Path, override: str, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern) as info:
        load_config(cfg_file, [override])
    message = str(info.value)
    assert "\n" not in message
    assert str(cfg_file) in message  # the file is named, also for overrides


def test_error_in_the_file_names_the_file(cfg_file: Path) -> None:
    cfg_file.write_text(BASE.replace("batch_size: 64", "batch_size: 64, shuffle: true"), encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"'train\.shuffle' in config file {cfg_file}"):
        load_config(cfg_file)


def test_missing_required_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'data\.manifest' is required.*data\.manifest=PATH"):
        load_config({"data": {"inputs": {"m": {"frontend": "mfcc"}}}, "model": {"name": "x"}})
    with pytest.raises(ConfigError, match=r"'model' is required"):
        load_config({"data": {"manifest": "m.csv", "inputs": {"m": {"frontend": "mfcc"}}}})


@pytest.mark.parametrize(
    "text",
    [
        "data: !!python/object/apply:os.system ['echo pwned']\n",
        "model: !new:serkit.models.Foo {}\n",
        "train: !!python/name:os.system\n",
    ],
)
def test_yaml_tags_are_refused_never_executed(tmp_path: Path, text: str) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"YAML tags .* are not allowed"):
        load_config(path)


def test_malformed_files_and_overrides(tmp_path: Path, cfg_file: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"not valid YAML.*line"):
        load_config(bad)
    bad.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(bad)
    with pytest.raises(ConfigError, match="No config file"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not key=value"):
        load_config(cfg_file, ["train.epochs"])
    with pytest.raises(ConfigError, match="empty key part"):
        load_config(cfg_file, ["train..epochs=3"])
    with pytest.raises(ConfigError, match="not a section"):
        load_config(cfg_file, ["train.epochs.max=3"])


def test_parse_overrides() -> None:
    assert parse_overrides(["a.b=1e-3", "c=[1, 2]", "d=", "e=x=y"]) == [
        (("a", "b"), 1e-3, "a.b=1e-3"),
        (("c",), [1, 2], "c=[1, 2]"),
        (("d",), None, "d="),
        (("e",), "x=y", "e=x=y"),
    ]


def test_round_trip_and_digest(cfg_file: Path, tmp_path: Path) -> None:
    cfg = load_config(cfg_file, ["train.augment=[{name: mixup}]", "model.cfg.channels=[8, 8]"])
    saved = save_config(cfg, tmp_path / "run" / "config.yaml")
    assert saved.read_text(encoding="utf-8").startswith(
        f"# serkit resolved config, digest {config_digest(cfg)}"
    )
    again = load_config(saved)
    assert again == cfg
    assert config_digest(again) == config_digest(cfg) == cfg.digest
    assert yaml.safe_load(saved.read_text(encoding="utf-8")) == dump_config(cfg)
    # any value change, also of a default, changes the digest
    assert config_digest(load_config(cfg_file, ["train.seed=1"])) != config_digest(load_config(cfg_file))
    assert len(config_digest(cfg)) == 16


def test_options_added_later_leave_digests_unchanged_at_their_neutral_value(cfg_file: Path) -> None:
    import hashlib
    import json

    cfg = load_config(cfg_file)
    # The digest a config had before crop_fraction / crop_whole_p existed: its dump without them.
    before = dump_config(cfg)
    for key in ("crop_fraction", "crop_whole_p"):
        del before["data"]["inputs"]["mel"][key]
    blob = json.dumps(digest_data(before), sort_keys=True, separators=(",", ":"))
    assert config_digest(cfg) == hashlib.sha256(blob.encode()).hexdigest()[:16]
    # A value other than the neutral one is a different experiment.
    changed = load_config(cfg_file, ["data.inputs.mel.crop_whole_p=0.2"])
    assert config_digest(changed) != config_digest(cfg)
    # where and how fast a run goes is not part of what it computes
    same = load_config(
        cfg_file, ["train.device=auto", "train.threads=2", "data.workers=4", "data.cache_dir=/tmp/c"]
    )
    assert config_digest(same) == config_digest(load_config(cfg_file))


def test_config_is_frozen(cfg_file: Path) -> None:
    cfg = load_config(cfg_file)
    with pytest.raises(Exception, match="frozen"):
        cfg.train.epochs = 3  # type: ignore[misc]


# Experiment configs (configs/benchmark.yaml is the benchmark definition, tested in test_benchmark.py).
CONFIGS = sorted(
    p for p in (Path(__file__).resolve().parents[1] / "configs").glob("*.yaml") if p.stem != "benchmark"
)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_shipped_configs_load_and_fit_their_models(path: Path) -> None:
    from serkit.features.frontend import build_frontend
    from serkit.models import model_info
    from serkit.models.classic import classic_info

    text = path.read_text(encoding="utf-8")
    assert text.startswith("#") and "faithful" in text and "budget" in text  # documented at the top
    faithful = load_config(path, ["data.manifest=m.csv"])
    budget = load_config(path, ["data.manifest=m.csv", "variant=budget"])
    assert faithful.model.name == budget.model.name  # same architecture
    assert budget.variant == "budget"
    if budget.model.name.startswith("classic_"):
        classic_info(budget.model.name)  # an unknown learner raises
        assert all(build_frontend(i.frontend).output == "vector" for i in budget.data.inputs.values())
        return
    # early stopping, or a fixed number of epochs chosen without any validation speaker
    assert budget.train.patience is not None or budget.train.fixed_epochs
    assert budget.train.epochs <= faithful.train.epochs
    info = model_info(faithful.model.name)
    for role, kind in info.inputs.items():
        stream = faithful.model.streams.get(role, role)
        assert stream in faithful.data.inputs, f"{path.name}: no input for the model's {role!r} stream"
        assert build_frontend(faithful.data.inputs[stream].frontend).output == kind
    assert set(faithful.model.cfg) <= set(info.defaults)
    assert set(budget.model.cfg) <= set(info.defaults)


def test_every_paper_setup_has_a_config() -> None:
    names = {p.stem for p in CONFIGS}
    assert {
        "drsn_bigru",
        "melspec_gemaps_focal",
        "bigru_mha",
        "mfcc_cnn1d",
        "mfcc_rnn",
        "survey_svm",
        "whisper_head",
    } <= names
