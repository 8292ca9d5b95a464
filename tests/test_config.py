"""Typed YAML configuration: type rules, error messages, overrides, paths, round trip, digest."""

from __future__ import annotations

import enum
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serkit.config import config_digest, dump_config, load_config, save_config
from serkit.errors import ConfigError, ParameterError

# ---------------------------------------------------------------------------------------------
# Example schema (module level, so typing.get_type_hints resolves the string annotations)


@dataclass(frozen=True)
class DataConfig:
    corpus: str
    root: Path
    protocol: Literal["loso", "group-kfold"] = "loso"
    n_folds: int | None = None

    def __post_init__(self) -> None:
        if self.protocol == "group-kfold" and (self.n_folds is None or self.n_folds < 2):
            raise ParameterError(
                f"protocol 'group-kfold' needs n_folds >= 2. Got n_folds={self.n_folds} instead."
            )


@dataclass(frozen=True)
class OptimConfig:
    name: Literal["adam", "rmsprop"]
    lr: float
    batch_size: int = 64


@dataclass(frozen=True)
class ExperimentConfig:
    data: DataConfig
    optim: OptimConfig
    features: str
    seed: int = 0
    tags: tuple[str, ...] = ()


class Emotion(enum.Enum):
    ANGRY = "angry"
    HAPPY = "happy"
    NEUTRAL = "neutral"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass
class Kinds:
    """One field per supported annotation (not frozen: both kinds of dataclass must load)."""

    i: int = 0
    f: float = 0.0
    s: str = ""
    b: bool = False
    opt: int | None = None
    lit: Literal["a", "b", 3] = "a"
    tup: tuple[int, ...] = ()
    pair: tuple[int, str] = (0, "")
    names: list[str] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)
    path: Path | None = None
    paths: list[Path] = field(default_factory=list)
    emotion: Emotion = Emotion.NEUTRAL
    level: Level = Level.LOW
    num_or_name: int | str = 0
    anything: Any = None
    optim: OptimConfig | None = None


@dataclass(frozen=True)
class Unsupported:
    things: set[int] = field(default_factory=set)


EXAMPLE_YAML = """\
data:
  corpus: ravdess
  root: corpora/ravdess
  protocol: loso
optim:
  name: adam
  lr: 0.001
features: logmel(n_mels=40)
tags: [baseline, si]
"""


def write(tmp_path: Path, text: str, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_kinds(tmp_path: Path, **values: Any) -> Kinds:
    return load_config(Kinds, values, base_dir=tmp_path)


# ---------------------------------------------------------------------------------------------
# Loading


def test_load_example_file_gives_typed_nested_objects(tmp_path):
    cfg = load_config(ExperimentConfig, write(tmp_path, EXAMPLE_YAML))
    assert cfg == ExperimentConfig(
        data=DataConfig(corpus="ravdess", root=tmp_path / "corpora" / "ravdess"),
        optim=OptimConfig(name="adam", lr=0.001),
        features="logmel(n_mels=40)",
        tags=("baseline", "si"),
    )
    assert isinstance(cfg.data, DataConfig) and isinstance(cfg.optim, OptimConfig)
    assert isinstance(cfg.tags, tuple) and isinstance(cfg.data.root, Path)
    assert cfg.optim.batch_size == 64 and cfg.seed == 0 and cfg.data.n_folds is None  # defaults


def test_mapping_source_is_not_modified(tmp_path):
    source = {"data": {"corpus": "x", "root": "/abs"}, "optim": {"name": "adam", "lr": 1}, "features": "f"}
    before = json.dumps(source, sort_keys=True)
    cfg = load_config(ExperimentConfig, source, overrides=["optim.lr=0.5", "data.corpus=y"])
    assert json.dumps(source, sort_keys=True) == before
    assert cfg.optim.lr == 0.5 and cfg.data.corpus == "y"


# ---------------------------------------------------------------------------------------------
# Type rules


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("i", 3, 3),
        ("i", -7, -7),
        ("f", 2, 2.0),  # ints are accepted for floats and converted
        ("f", 0.25, 0.25),
        ("f", "1e-3", 0.001),  # PyYAML (YAML 1.1) reads 1e-3 as a string
        ("f", "-5E4", -50000.0),
        ("s", "hello", "hello"),
        ("b", True, True),
        ("b", False, False),
        ("opt", None, None),
        ("opt", 5, 5),
        ("lit", "b", "b"),
        ("lit", 3, 3),
        ("tup", [1, 2, 3], (1, 2, 3)),
        ("tup", [], ()),
        ("pair", [4, "x"], (4, "x")),
        ("names", ["a", "b"], ["a", "b"]),
        ("weights", {"angry": 2, "happy": 0.5}, {"angry": 2.0, "happy": 0.5}),
        ("emotion", "happy", Emotion.HAPPY),
        ("emotion", Emotion.ANGRY, Emotion.ANGRY),
        ("level", 2, Level.HIGH),
        ("num_or_name", 4, 4),
        ("num_or_name", "four", "four"),
        ("num_or_name", "1e3", "1e3"),  # a str member keeps a number-shaped string a string
        ("anything", {"k": [1, None]}, {"k": [1, None]}),
        ("optim", None, None),
        ("optim", {"name": "rmsprop", "lr": 1}, OptimConfig(name="rmsprop", lr=1.0)),
    ],
)
def test_accepted_values_are_converted(tmp_path, key, value, expected):
    got = getattr(load_kinds(tmp_path, **{key: value}), key)
    assert got == expected
    assert type(got) is type(expected)
    if isinstance(expected, list | tuple):
        assert [type(v) for v in got] == [type(v) for v in expected]
    if key == "weights":
        assert all(type(v) is float for v in got.values())


@pytest.mark.parametrize(
    ("key", "value", "expected_text", "got_text"),
    [
        ("i", True, "must be an int", "Got True (bool)"),
        ("i", 3.0, "must be an int", "Got 3.0 (float)"),
        ("i", "3", "must be an int", "Got '3' (str)"),
        ("f", True, "must be a float (ints accepted)", "Got True (bool)"),
        ("f", "fast", "must be a float (ints accepted)", "Got 'fast' (str)"),
        ("f", [1.0], "must be a float", "Got [1.0] (list)"),
        ("s", 2020, "must be a str", "Got 2020 (int)"),
        ("s", False, "must be a str", "Got False (bool)"),
        ("b", "yes", "must be a bool (true or false)", "Got 'yes' (str)"),
        ("b", "true", "must be a bool", "Got 'true' (str)"),
        ("b", 1, "must be a bool", "Got 1 (int)"),
        ("opt", "x", "must be an int or null", "Got 'x' (str)"),
        ("lit", "c", "must be one of 'a', 'b', 3", "Got 'c' (str)"),
        ("lit", "3", "must be one of 'a', 'b', 3", "Got '3' (str)"),
        ("tup", "1,2", "must be a list of int", "Got '1,2' (str)"),
        ("pair", [1, "x", 2], "must be a list of exactly 2 items", "Got [1, 'x', 2] (list)"),
        ("names", "abc", "must be a list of str", "Got 'abc' (str)"),
        ("weights", [1.0], "must be a mapping of str to float (ints accepted)", "Got [1.0] (list)"),
        ("emotion", "sad", "must be one of 'angry', 'happy', 'neutral' (Emotion)", "Got 'sad' (str)"),
        ("level", "1", "must be one of 1, 2 (Level)", "Got '1' (str)"),
        ("path", 3, "must be a path string or null", "Got 3 (int)"),
        ("path", "", "must be a path string or null", "Got '' (str)"),
        ("num_or_name", 1.5, "must be an int or a str", "Got 1.5 (float)"),
        ("optim", "adam", "must be a mapping (the OptimConfig section) or null", "Got 'adam' (str)"),
    ],
)
def test_rejected_values_name_key_source_expected_and_got(tmp_path, key, value, expected_text, got_text):
    with pytest.raises(ConfigError) as info:
        load_kinds(tmp_path, **{key: value})
    message = str(info.value)
    assert message.startswith(f"Config key '{key}' in the config mapping ")
    assert expected_text in message
    assert got_text in message


@pytest.mark.parametrize(
    ("key", "value", "path"),
    [
        ("tup", [1, "two"], "tup[1]"),
        ("pair", ["x", "y"], "pair[0]"),
        ("names", ["a", 2], "names[1]"),
        ("weights", {"happy": "lots"}, "weights.happy"),
        ("weights", {"a.b": "lots"}, "weights['a.b']"),
        ("weights", {1: 1.0}, "weights[1]"),
        ("paths", ["ok", None], "paths[1]"),
        ("optim", {"name": "adam", "lr": "x"}, "optim.lr"),  # the problem inside an X | None section
    ],
)
def test_errors_inside_containers_name_the_item(tmp_path, key, value, path):
    with pytest.raises(ConfigError, match=re.escape(f"Config key '{path}' in the config mapping must be")):
        load_kinds(tmp_path, **{key: value})


def test_bool_from_yaml_words_is_strict_about_strings(tmp_path):
    # YAML 1.1 itself turns `yes` into a bool, which is accepted; a quoted "yes" is a string, which is not.
    assert load_config(Kinds, write(tmp_path, "b: yes\n")).b is True
    with pytest.raises(ConfigError, match=r"'b' in config file .* must be a bool .* Got 'yes' \(str\)"):
        load_config(Kinds, write(tmp_path, 'b: "yes"\n'))


def test_yaml_boolean_word_for_a_string_field_says_to_quote_it(tmp_path):
    path = write(tmp_path, "data: {corpus: no, root: x}\noptim: {name: adam, lr: 1}\nfeatures: f\n")
    with pytest.raises(ConfigError, match=r"Got False \(bool\) instead. YAML reads yes/no/on/off"):
        load_config(ExperimentConfig, path)


def test_unsupported_annotation_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"'things' has the annotation .*set.* does not support"):
        load_config(Unsupported, {"things": [1]})


# ---------------------------------------------------------------------------------------------
# Error messages


def test_wrong_type_names_dotted_path_file_expected_and_got(tmp_path):
    path = write(tmp_path, EXAMPLE_YAML.replace("lr: 0.001", "lr: fast"))
    with pytest.raises(ConfigError) as info:
        load_config(ExperimentConfig, path)
    assert str(info.value) == (
        f"Config key 'optim.lr' in config file '{path}' must be a float (ints accepted). "
        "Got 'fast' (str) instead."
    )


def test_unknown_key_suggests_close_match_and_lists_valid_keys(tmp_path):
    path = write(tmp_path, EXAMPLE_YAML.replace("  lr: 0.001", "  lr: 0.001\n  batch_sise: 32"))
    with pytest.raises(ConfigError) as info:
        load_config(ExperimentConfig, path)
    assert str(info.value) == (
        f"Unknown config key 'optim.batch_sise' in config file '{path}'. Did you mean 'batch_size'? "
        "Valid keys of section 'optim' (OptimConfig): name, lr, batch_size."
    )


def test_unknown_top_level_key_without_close_match(tmp_path):
    path = write(tmp_path, EXAMPLE_YAML + "zzz: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(ExperimentConfig, path)
    message = str(info.value)
    assert "Unknown config key 'zzz'" in message and "Did you mean" not in message
    assert "Valid keys of the top level (ExperimentConfig): data, optim, features, seed, tags." in message


def test_missing_required_key_is_named_with_its_section(tmp_path):
    path = write(tmp_path, EXAMPLE_YAML.replace("  name: adam\n", ""))
    with pytest.raises(ConfigError) as info:
        load_config(ExperimentConfig, path)
    assert str(info.value) == (
        f"Required config key 'optim.name' is missing in config file '{path}' (section 'optim', "
        "OptimConfig). It must be one of 'adam', 'rmsprop'; add 'name: ...' there."
    )


def test_missing_section_and_empty_file(tmp_path):
    with pytest.raises(ConfigError, match=r"Required config key 'data' is missing .*the top level"):
        load_config(ExperimentConfig, write(tmp_path, "optim: {name: adam, lr: 1}\nfeatures: f\n"))
    with pytest.raises(ConfigError, match="Required config key 'data' is missing"):
        load_config(ExperimentConfig, write(tmp_path, "# nothing yet\n", "empty.yaml"))
    with pytest.raises(ConfigError, match=r"'optim' in config file .* must be a mapping .* Got None"):
        load_config(ExperimentConfig, write(tmp_path, "data: {corpus: a, root: b}\noptim:\nfeatures: f\n"))


def test_bad_literal_lists_allowed_values_and_suggests(tmp_path):
    path = write(tmp_path, EXAMPLE_YAML.replace("protocol: loso", "protocol: group_kfold"))
    with pytest.raises(ConfigError) as info:
        load_config(ExperimentConfig, path)
    assert str(info.value) == (
        f"Config key 'data.protocol' in config file '{path}' must be one of 'loso', 'group-kfold'. "
        "Got 'group_kfold' (str) instead. Did you mean 'group-kfold'?"
    )


@pytest.mark.parametrize(
    "tagged",
    [
        "!!python/object/apply:builtins.open [{marker}, w]",
        "!!python/object/new:pathlib.Path [{marker}]",
        "!!python/name:os.system",
        "!new:torch.nn.Linear {{in_features: 1, out_features: 2}}",  # SpeechBrain / HyperPyYAML style
        "!ref <features>",
    ],
)
def test_yaml_object_tags_are_rejected_and_never_executed(tmp_path, tagged):
    marker = tmp_path / "created-by-yaml"
    path = write(tmp_path, EXAMPLE_YAML.replace("name: adam", "name: " + tagged.format(marker=str(marker))))
    with pytest.raises(ConfigError) as info:
        load_config(ExperimentConfig, path)
    message = str(info.value)
    assert f"config file '{path}' (line 6," in message
    assert "yaml.safe_load" in message and "never built from tags" in message
    assert not marker.exists()


def test_unreadable_sources(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(ExperimentConfig, tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(ExperimentConfig, tmp_path)
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_config(ExperimentConfig, write(tmp_path, "data: [unclosed\n"))
    with pytest.raises(ConfigError, match=r"The config in config file .* must be a mapping .* Got \[1, 2\]"):
        load_config(ExperimentConfig, write(tmp_path, "- 1\n- 2\n"))


def test_api_misuse_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match="'cls' parameter of load_config must be a dataclass type"):
        load_config(dict, {})
    with pytest.raises(ParameterError, match="'source' parameter"):
        load_config(Kinds, 42)
    with pytest.raises(ParameterError, match="not one string"):
        load_config(Kinds, {}, overrides="i=1")
    with pytest.raises(ParameterError, match="dataclass instance"):
        dump_config(Kinds)
    with pytest.raises(ConfigError, match=r"'anything' holds .*object.* no plain YAML form"):
        dump_config(Kinds(anything=object()))


def test_post_init_errors_become_config_errors_naming_the_section(tmp_path):
    path = write(tmp_path, EXAMPLE_YAML.replace("protocol: loso", "protocol: group-kfold"))
    with pytest.raises(ConfigError) as info:
        load_config(ExperimentConfig, path)
    assert str(info.value) == (
        f"Config section 'data' (DataConfig) in config file '{path}' is invalid: "
        "protocol 'group-kfold' needs n_folds >= 2. Got n_folds=None instead."
    )
    assert isinstance(info.value.__cause__, ParameterError)
    cfg = load_config(ExperimentConfig, path, overrides=["data.n_folds=5"])
    assert cfg.data.n_folds == 5 and cfg.data.protocol == "group-kfold"


# ---------------------------------------------------------------------------------------------
# Overrides


def test_overrides_set_nested_typed_values(tmp_path):
    cfg = load_config(
        ExperimentConfig,
        write(tmp_path, EXAMPLE_YAML),
        overrides=["optim.lr=1e-3", "optim.batch_size=16", "seed=7", "tags=[a, b]", "optim.name=rmsprop"],
    )
    assert cfg.optim == OptimConfig(name="rmsprop", lr=0.001, batch_size=16)
    assert cfg.seed == 7 and cfg.tags == ("a", "b")


def test_override_values_are_parsed_as_yaml(tmp_path):
    cfg = load_config(
        Kinds,
        {},
        overrides=[
            "b=true",
            "s=foo",
            "tup=[1,2]",
            "weights={happy: 2}",
            "weights.angry=0.5",  # into a dict field
            "emotion=angry",
            "optim={name: adam, lr: 1e-2}",
            "optim.batch_size=8",  # into a section an earlier override created
            "opt=",  # an empty value is null
        ],
    )
    assert cfg.b is True and cfg.s == "foo" and cfg.tup == (1, 2)
    assert cfg.weights == {"happy": 2.0, "angry": 0.5}
    assert cfg.emotion is Emotion.ANGRY and cfg.opt is None
    assert cfg.optim == OptimConfig(name="adam", lr=0.01, batch_size=8)


def test_override_creates_an_absent_optional_section(tmp_path):
    cfg = load_config(Kinds, {}, overrides=["optim.name=adam", "optim.lr=3"])
    assert cfg.optim == OptimConfig(name="adam", lr=3.0)
    # ... and a section created that way is checked like any other
    with pytest.raises(
        ConfigError, match=r"Required config key 'optim.lr' is missing from override 'optim.name=adam'"
    ):
        load_config(Kinds, {}, overrides=["optim.name=adam"])


def test_overrides_are_type_checked_and_named_in_errors(tmp_path):
    path = write(tmp_path, EXAMPLE_YAML)
    with pytest.raises(ConfigError) as info:
        load_config(ExperimentConfig, path, overrides=["optim.lr=fast"])
    assert str(info.value) == (
        "Config key 'optim.lr' from override 'optim.lr=fast' must be a float (ints accepted). "
        "Got 'fast' (str) instead."
    )
    with pytest.raises(
        ConfigError, match=r"'data.protocol' from override 'data.protocol=kfold' must be one of"
    ):
        load_config(ExperimentConfig, path, overrides=["data.protocol=kfold"])
    with pytest.raises(ConfigError, match=re.escape("'optim.lr' from override 'optim={name: adam, lr: x}'")):
        load_config(ExperimentConfig, path, overrides=["optim={name: adam, lr: x}"])


def test_unknown_override_key_suggests(tmp_path):
    path = write(tmp_path, EXAMPLE_YAML)
    with pytest.raises(ConfigError) as info:
        load_config(ExperimentConfig, path, overrides=["optim.learning_rat=0.1"])
    assert str(info.value) == (
        "Unknown config key 'optim.learning_rat' from override 'optim.learning_rat=0.1'. "
        "Valid keys of section 'optim' (OptimConfig): name, lr, batch_size."
    )
    with pytest.raises(ConfigError, match=r"Unknown config key 'optm' .* Did you mean 'optim'"):
        load_config(ExperimentConfig, path, overrides=["optm.lr=0.1"])


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("seed", "must have the form key.sub=value"),
        ("=3", "a key is dotted names"),
        ("optim..lr=3", "a key is dotted names"),
        ("seed.x=3", "sets a sub-key of 'seed', which is an int, not a section"),
        ("tags.0=x", "a key is dotted names"),
        ("seed=[1, 2", "value of config override 'seed=\\[1, 2' is not valid YAML"),
        ("seed=!!python/name:os.system", "uses a YAML tag that serkit does not accept"),
    ],
)
def test_malformed_overrides(tmp_path, override, match):
    with pytest.raises(ConfigError, match=match):
        load_config(ExperimentConfig, write(tmp_path, EXAMPLE_YAML), overrides=[override])


def test_override_into_a_section_that_is_not_a_mapping(tmp_path):
    path = write(tmp_path, EXAMPLE_YAML.replace("optim:\n  name: adam\n  lr: 0.001\n", "optim: 3\n"))
    with pytest.raises(
        ConfigError, match=f"'optim' in config file '{re.escape(str(path))}' must be a mapping"
    ):
        load_config(ExperimentConfig, path, overrides=["optim.lr=1"])


# ---------------------------------------------------------------------------------------------
# Paths


def test_relative_paths_resolve_against_the_yaml_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "path: ../data/./x\npaths: [a, /abs/b, ~/c]\n", name="sub/cfg.yaml")
    cfg = load_config(Kinds, Path("sub/cfg.yaml"))  # a relative path to the YAML file itself
    assert cfg.path == tmp_path / "data" / "x"
    assert cfg.paths == [path.parent / "a", Path("/abs/b"), Path("~/c").expanduser()]
    assert all(p.is_absolute() for p in cfg.paths)


def test_override_and_mapping_paths_resolve_against_cwd_or_base_dir(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    yaml_path = write(tmp_path, "path: from_yaml\n", name="cfgs/exp.yaml")
    assert load_config(Kinds, yaml_path).path == yaml_path.parent / "from_yaml"
    assert load_config(Kinds, yaml_path, overrides=["path=typed"]).path == cwd / "typed"
    assert load_config(Kinds, {"path": "m"}).path == cwd / "m"
    assert load_config(Kinds, {"path": "m"}, base_dir=tmp_path).path == tmp_path / "m"
    assert load_config(Kinds, {"path": Path("/x/y")}).path == Path("/x/y")


# ---------------------------------------------------------------------------------------------
# Dump, save, round trip


def full_kinds(tmp_path: Path) -> Kinds:
    return Kinds(
        i=-3,
        f=1e-10,
        s="no",  # a string YAML would otherwise read as a bool
        b=True,
        opt=4,
        lit=3,
        tup=(1, 2),
        pair=(5, "1e-3"),
        names=["null", "x: y", "ünïcødé"],
        weights={"angry": 2.0, "a.b": 0.5},
        path=tmp_path / "p q",
        paths=[tmp_path],
        emotion=Emotion.HAPPY,
        level=Level.HIGH,
        num_or_name="007",
        anything={"k": [1, 2.5, None]},
        optim=OptimConfig(name="rmsprop", lr=float("inf"), batch_size=1),
    )


def test_dump_config_gives_plain_data(tmp_path):
    data = dump_config(full_kinds(tmp_path))
    assert data["path"] == str(tmp_path / "p q") and data["paths"] == [str(tmp_path)]
    assert data["emotion"] == "happy" and data["level"] == 2 and type(data["level"]) is int
    assert data["tup"] == [1, 2] and data["pair"] == [5, "1e-3"]
    assert data["optim"] == {"name": "rmsprop", "lr": float("inf"), "batch_size": 1}
    assert list(data) == [f for f in Kinds.__dataclass_fields__]  # field order kept
    yaml.safe_dump(data)  # plain data: the safe dumper needs no tags


def test_save_then_load_round_trips(tmp_path):
    cfg = full_kinds(tmp_path)
    out = save_config(cfg, tmp_path / "run" / "config.yaml")
    assert out == tmp_path / "run" / "config.yaml"
    first_line = out.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == f"# serkit config {__name__}.Kinds, digest {config_digest(cfg)}"
    assert load_config(Kinds, out) == cfg
    assert load_config(Kinds, dump_config(cfg)) == cfg


def test_saved_file_keeps_unicode_readable_and_escapes_what_pyyaml_misreads(tmp_path):
    cfg = Kinds(s="ünïcødé")
    path = save_config(cfg, tmp_path / "u.yaml")
    assert "s: ünïcødé" in path.read_text(encoding="utf-8")
    assert load_config(Kinds, path) == cfg
    # PyYAML writes NEL (U+0085) raw in unicode mode and reads it back as a line break.
    cfg = Kinds(s="ünï\x85cødé", names=["a\x85", "\u2028"])
    assert load_config(Kinds, save_config(cfg, path)) == cfg


def test_save_is_atomic_and_replaces(tmp_path):
    target = tmp_path / "config.yaml"
    target.write_text("old", encoding="utf-8")
    cfg = load_config(ExperimentConfig, write(tmp_path, EXAMPLE_YAML))
    save_config(cfg, target)
    assert load_config(ExperimentConfig, target) == cfg
    assert sorted(os.listdir(tmp_path)) == ["config.yaml", "exp.yaml"]  # no temp file left behind
    with pytest.raises(ConfigError):
        save_config(Kinds(anything=object()), target)  # a failing save leaves the old file intact
    assert load_config(ExperimentConfig, target) == cfg
    assert sorted(os.listdir(tmp_path)) == ["config.yaml", "exp.yaml"]


_segment = st.from_regex(r"[A-Za-z0-9_-]{1,8}", fullmatch=True)
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
_finite = st.floats(allow_nan=False, allow_infinity=False)

experiment_configs = st.builds(
    ExperimentConfig,
    data=st.builds(
        DataConfig,
        corpus=_text,
        root=st.lists(_segment, min_size=1, max_size=4).map(lambda parts: Path("/", *parts)),
        protocol=st.just("loso"),
        n_folds=st.none() | st.integers(min_value=-(2**40), max_value=2**40),
    )
    | st.builds(
        DataConfig,
        corpus=_text,
        root=st.just(Path("/data")),
        protocol=st.just("group-kfold"),
        n_folds=st.integers(min_value=2, max_value=50),
    ),
    optim=st.builds(
        OptimConfig, name=st.sampled_from(["adam", "rmsprop"]), lr=_finite, batch_size=st.integers()
    ),
    features=_text,
    seed=st.integers(min_value=0, max_value=2**63),
    tags=st.lists(_text, max_size=4).map(tuple),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cfg=experiment_configs)
def test_round_trip_property(tmp_path, cfg):
    path = save_config(cfg, tmp_path / "config.yaml")
    loaded = load_config(ExperimentConfig, path)
    assert loaded == cfg
    assert config_digest(loaded) == config_digest(cfg)


# ---------------------------------------------------------------------------------------------
# Digest


def test_digest_is_sha256_of_canonical_json(tmp_path):
    cfg = ExperimentConfig(
        data=DataConfig(corpus="ravdess", root=Path("/data/ravdess")),
        optim=OptimConfig(name="adam", lr=0.001),
        features="logmel",
    )
    # The canonical form does not depend on key order: build the dict in another order.
    expected = {
        "tags": [],
        "seed": 0,
        "features": "logmel",
        "optim": {"batch_size": 64, "lr": 0.001, "name": "adam"},
        "data": {"n_folds": None, "protocol": "loso", "root": "/data/ravdess", "corpus": "ravdess"},
    }
    blob = json.dumps(expected, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert config_digest(cfg) == hashlib.sha256(blob.encode()).hexdigest()[:16]
    assert config_digest(cfg) == "29be183a4f380783"  # pinned: a change breaks every cited result
    assert re.fullmatch(r"[0-9a-f]{16}", config_digest(cfg))


def test_digest_changes_with_every_field_including_defaults(tmp_path):
    base = load_config(ExperimentConfig, write(tmp_path, EXAMPLE_YAML))
    variants = [
        ["data.corpus=crema-d"],
        ["data.root=/elsewhere"],
        ["data.protocol=group-kfold", "data.n_folds=5"],
        ["data.n_folds=3"],
        ["optim.name=rmsprop"],
        ["optim.lr=0.0010000001"],
        ["optim.batch_size=65"],
        ["features=mfcc"],
        ["seed=1"],
        ["tags=[si, baseline]"],  # order matters
        ["tags=[baseline]"],
    ]
    digests = {config_digest(base)}
    for overrides in variants:
        digests.add(
            config_digest(load_config(ExperimentConfig, write(tmp_path, EXAMPLE_YAML), overrides=overrides))
        )
    assert len(digests) == len(variants) + 1
    # Writing a default explicitly, or loading the saved file, changes nothing.
    explicit = load_config(ExperimentConfig, write(tmp_path, EXAMPLE_YAML + "seed: 0\n", "explicit.yaml"))
    assert config_digest(explicit) == config_digest(base)
    assert config_digest(
        load_config(ExperimentConfig, save_config(base, tmp_path / "saved.yaml"))
    ) == config_digest(base)
