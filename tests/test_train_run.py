"""End to end: ``serkit train`` on a synthetic 2-fold split, checkpoints, leaks, resumable runs, teachers."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from serkit.cli import app
from serkit.data.manifest import read_manifest, write_manifest
from serkit.data.splits import Split, speaker_group_kfold
from serkit.errors import ConfigError, SplitLeakError
from serkit.features.normalise import CorpusNormaliser, normaliser_from_dict
from serkit.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from serkit.train.config import load_config
from serkit.train.data import FeatureDataset, load_streams
from serkit.train.run import predict_checkpoint, train_fold
from test_train_helpers import make_corpus, make_split, registered_tiny, write_config


@pytest.fixture
def tiny_model() -> Iterator[str]:
    with registered_tiny() as name:
        yield name


runner = CliRunner()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    manifest = make_corpus(root)
    make_split(root, manifest)
    return root


@pytest.fixture
def workdir(corpus: Path, tmp_path: Path) -> Path:
    """The corpus (audio, manifest, split, shared feature cache) plus a fresh config in a test folder."""
    for name in ("manifest.csv", "split.json"):
        shutil.copy(corpus / name, tmp_path / name)
    (corpus / "cache").mkdir(exist_ok=True)
    (tmp_path / "cache").symlink_to(corpus / "cache", target_is_directory=True)  # extraction runs once
    # the manifest's audio paths are absolute (the corpus folder), so the copied manifest works as it is
    return tmp_path


def test_cli_trains_every_fold_then_skips_finished_ones(workdir: Path, tiny_model: str) -> None:
    cfg = write_config(workdir)
    out = workdir / "runs"
    args = [
        "train",
        str(cfg),
        "--split",
        str(workdir / "split.json"),
        "--out",
        str(out),
        "-q",
        "train.epochs=2",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_folds_done"] == summary["n_folds"] == 2
    assert summary["speaker_independent"] is True and summary["protocol"] == "group-kfold"
    for fold in ("fold-1", "fold-2"):
        metrics = json.loads((out / fold / "metrics.json").read_text())
        assert metrics["epochs_run"] == 2 and metrics["selection"] == "best-val-ua"
        assert set(metrics["test"]) == {"ua", "wa", "macro_f1"}
        assert metrics["n_test"] == len(metrics["predictions"]) > 0
        assert {p["speaker"] for p in metrics["predictions"]} == set(metrics["test_speakers"])
        assert (out / fold / "checkpoint" / "model.safetensors").is_file()
        assert not (out / fold / "state").exists()  # resumable state removed once the fold is done
        log = (out / fold / "log.jsonl").read_text().splitlines()
        assert [json.loads(line)["epoch"] for line in log] == [1, 2]
    assert load_config(out / "config.yaml").train.epochs == 2
    stamp = (out / "fold-1" / "metrics.json").stat().st_mtime_ns
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and again.output.count("skipped") == 2
    assert (out / "fold-1" / "metrics.json").stat().st_mtime_ns == stamp
    # another configuration into the same folder is refused
    other = runner.invoke(app, [*args[:-1], "train.epochs=3"])
    assert other.exit_code == 2 and "another configuration" in other.output


def test_cli_errors_are_one_line_exit_2(workdir: Path, tiny_model: str) -> None:
    cfg = write_config(workdir)
    result = runner.invoke(app, ["train", str(cfg), "train.epochs=0", "-q"])
    assert result.exit_code == 2
    assert "'train.epochs'" in result.output and "Got 0" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["train", str(cfg), "--fold", "fold-9", "-q", "--out", str(workdir / "r")])
    assert result.exit_code == 2 and "no fold 'fold-9'" in result.output


def test_models_list_cli(tiny_model: str) -> None:
    result = runner.invoke(app, ["models", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows[tiny_model]["inputs"] == {"mel": "frames"} and rows[tiny_model]["parameters"] > 0
    assert "drsn_bigru" in rows and rows["drsn_bigru"]["paper"]
    table = runner.invoke(app, ["models", "list"])
    assert table.exit_code == 0 and "drsn_bigru" in table.output


def test_validation_never_reads_test_utterances(
    workdir: Path, tiny_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = load_config(write_config(workdir), ["train.epochs=3"])
    split = Split.from_json(workdir / "split.json")
    fold = split.folds[0]
    touched: dict[str, set[str]] = {"fit": set(), "after": set()}
    phase = ["before"]
    real_getitem = FeatureDataset.__getitem__

    def spy(self: FeatureDataset, i: int):
        item = real_getitem(self, i)
        touched.setdefault(phase[0], set()).add(item[0])
        return item

    from serkit.train import loop

    real_fit = loop.Trainer.fit

    def fit(self, train_set, val_set, **kw):
        phase[0] = "fit"
        out = real_fit(self, train_set, val_set, **kw)
        phase[0] = "after"
        return out

    monkeypatch.setattr(FeatureDataset, "__getitem__", spy)
    monkeypatch.setattr(loop.Trainer, "fit", fit)
    result = train_fold(cfg, fold.name, workdir / "runs", quiet=True)
    assert touched["fit"] == set(fold.train) | set(fold.val)  # validation speakers are used ...
    assert not touched["fit"] & set(fold.test)  # ... test speakers never, while training and choosing
    assert touched["after"] == set(fold.test)
    assert result["val"]["val_ua"] is not None and result["selection"] == "best-val-ua"


def test_normaliser_is_fitted_on_training_speakers_only(workdir: Path, tiny_model: str) -> None:
    cfg = load_config(write_config(workdir), ["train.epochs=1"])
    fold = Split.from_json(workdir / "split.json").folds[1]
    train_fold(cfg, fold.name, workdir / "runs", quiet=True)
    _, meta = load_checkpoint(workdir / "runs" / fold.name / "checkpoint")
    saved = normaliser_from_dict(meta["streams"]["mel"]["normaliser"])
    manifest = read_manifest(workdir / "manifest.csv")
    arrays, _, _ = load_streams(manifest, cfg.data.inputs, cache_dir=workdir / "cache")
    train_only = CorpusNormaliser().fit([arrays["mel"][u] for u in fold.train])
    np.testing.assert_allclose(saved.mean_, train_only.mean_, rtol=1e-10)
    assert saved.n_frames_seen_ == sum(arrays["mel"][u].shape[0] for u in fold.train)
    with_val = CorpusNormaliser().fit([arrays["mel"][u] for u in (*fold.train, *fold.val)])
    assert not np.allclose(saved.mean_, with_val.mean_)
    assert meta["split"]["digest"] == Split.from_json(workdir / "split.json").digest
    assert meta["fold"] == fold.name and meta["seed"] == 0
    assert (
        meta["streams"]["mel"]["frontend"].startswith("logmel(")
        and "n_mels=16" in meta["streams"]["mel"]["frontend"]
    )
    assert meta["classes"] == ["happy", "sad"] and meta["serkit_version"]
    assert set(meta["training_data"]["train_speakers"]) == set(fold.train_speakers)


def test_checkpoint_reloads_to_identical_predictions(workdir: Path, tiny_model: str) -> None:
    cfg = load_config(write_config(workdir), ["train.epochs=2"])
    fold = Split.from_json(workdir / "split.json").folds[0]
    result = train_fold(cfg, fold.name, workdir / "runs", quiet=True)
    ckpt = workdir / "runs" / fold.name / "checkpoint"
    manifest = read_manifest(workdir / "manifest.csv")
    test_rows = manifest[manifest["id"].isin(fold.test)]
    pred = predict_checkpoint(ckpt, test_rows, cache_dir=workdir / "cache")
    saved = {p["id"]: p["probs"] for p in result["predictions"]}
    assert sorted(pred.ids) == sorted(saved)
    np.testing.assert_allclose(pred.probs, np.array([saved[u] for u in pred.ids]), atol=2e-6)
    # save -> load -> save gives the same weights and the same predictions
    model, meta = load_checkpoint(ckpt)
    again = save_checkpoint(workdir / "copy", model, {k: v for k, v in meta.items() if k != "model"})
    pred2 = predict_checkpoint(again, test_rows, cache_dir=workdir / "cache")
    np.testing.assert_array_equal(pred.probs, pred2.probs)
    (again / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(Exception):  # noqa: B017  (safetensors' own error type)
        load_checkpoint(again)
    (again / "checkpoint.json").unlink()
    with pytest.raises(CheckpointError, match="No checkpoint"):
        load_checkpoint(again)


def test_a_leaking_split_stops_before_training(workdir: Path, tiny_model: str) -> None:
    data = json.loads((workdir / "split.json").read_text())
    fold = data["folds"][0]
    leaked = fold["test"][0]
    fold["train"].append(leaked)
    fold["test"].remove(leaked)
    fold["train"].append(fold["test"][0])  # one utterance in two partitions
    del data["digest"]  # accept the hand edit; the leak check must still refuse it
    (workdir / "split.json").write_text(json.dumps(data))
    cfg = write_config(workdir)
    result = runner.invoke(app, ["train", str(cfg), "-q", "--out", str(workdir / "runs")])
    assert result.exit_code == 2 and "appears twice" in result.output
    assert not (workdir / "runs" / "fold-1").exists()
    with pytest.raises(SplitLeakError):
        train_fold(load_config(cfg), "fold-1", workdir / "runs2", quiet=True)


def test_fixed_epochs_without_validation_part(workdir: Path, tiny_model: str) -> None:
    manifest = read_manifest(workdir / "manifest.csv")
    speaker_group_kfold(manifest, n_folds=2, n_val_speakers=0, seed=0).to_json(workdir / "noval.json")
    cfg = load_config(write_config(workdir), ["train.epochs=2", f"data.split={workdir / 'noval.json'}"])
    result = train_fold(cfg, "fold-1", workdir / "runs", quiet=True)
    assert (result["selection"], result["epochs_run"], result["best_epoch"], result["n_val"]) == (
        "last-epoch",
        2,
        2,
        0,
    )


def test_resume_through_train_fold_matches_uninterrupted(workdir: Path, tiny_model: str) -> None:
    cfg = load_config(write_config(workdir), ["train.epochs=3", "train.patience=null"])
    full = train_fold(cfg, "fold-1", workdir / "full", quiet=True)

    class Killed(Exception):
        pass

    def kill(trainer, epoch, record):
        if epoch == 1:
            raise Killed

    with pytest.raises(Killed):
        train_fold(cfg, "fold-1", workdir / "cut", quiet=True, callbacks=[kill])
    assert not (workdir / "cut" / "fold-1" / "metrics.json").exists()
    resumed = train_fold(cfg, "fold-1", workdir / "cut", resume=True, quiet=True)
    assert resumed["resumed_from_epoch"] == 1
    assert [p["probs"] for p in resumed["predictions"]] == [p["probs"] for p in full["predictions"]]
    a, _ = load_checkpoint(workdir / "full" / "fold-1" / "checkpoint")
    b, _ = load_checkpoint(workdir / "cut" / "fold-1" / "checkpoint")
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and (va == vb).all(), ka
    # a finished fold is returned as it is with resume=True
    assert train_fold(cfg, "fold-1", workdir / "cut", resume=True, quiet=True) == resumed


def test_multi_corpus_with_label_set(tmp_path: Path, tiny_model: str) -> None:
    make_corpus(tmp_path / "a", n_speakers=3, n_utts=2, corpus="alpha")
    b = make_corpus(tmp_path / "b", n_speakers=3, n_utts=2, corpus="beta")
    b.loc[b.index[:2], "label"] = "neutral"  # dropped by the label set
    write_manifest(b, tmp_path / "b" / "manifest.csv")
    both = pd.concat(
        [read_manifest(tmp_path / "a" / "manifest.csv"), read_manifest(tmp_path / "b" / "manifest.csv")]
    )
    from serkit.labels import get_label_set

    labelled = get_label_set("happy,sad").apply(both.reset_index(drop=True))
    speaker_group_kfold(labelled, n_folds=2, n_val_speakers=1, seed=0).to_json(tmp_path / "split.json")
    cfg = load_config(
        {
            "data": {
                "manifest": ["a/manifest.csv", "b/manifest.csv"],
                "split": "split.json",
                "label_set": "happy,sad",
                "cache_dir": "cache",
                "workers": 1,
                "inputs": {"mel": {"frontend": "logmel(n_mels=16, hop_length=320)"}},
            },
            "model": {"name": tiny_model},
            "train": {"epochs": 1, "batch_size": 4},
        },
        base_dir=tmp_path,
    )
    result = train_fold(cfg, "fold-1", tmp_path / "runs", quiet=False)  # progress bars on stderr
    assert result["classes"] == ["happy", "sad"]
    _, meta = load_checkpoint(tmp_path / "runs" / "fold-1" / "checkpoint")
    corpora = {s.split("/")[0] for s in meta["training_data"]["train_speakers"]}
    assert corpora == {"alpha", "beta"}
    assert all(p["label"] in ("happy", "sad") for p in result["predictions"])


def test_distillation_reads_teacher_soft_labels(workdir: Path, tiny_model: str) -> None:
    from serkit.train.losses import list_losses

    if "distill" not in list_losses():
        pytest.skip("no distill loss registered")
    teacher_cfg = load_config(write_config(workdir), ["train.epochs=1"])
    train_fold(teacher_cfg, "fold-1", workdir / "teacher", quiet=True)
    ckpt = workdir / "teacher" / "fold-1" / "checkpoint"
    student = load_config(
        write_config(workdir),
        ["train.epochs=1", "loss.name=distill", f"loss.teacher={ckpt}", "loss.cfg={alpha: 1.0}"],
    )
    result = train_fold(student, "fold-1", workdir / "student", quiet=True)
    assert result["epochs_run"] == 1
    # soft labels from a JSON file: a teacher without a needed class is refused
    (workdir / "t.json").write_text(json.dumps({"classes": ["happy"], "probs": {}}))
    bad = load_config(write_config(workdir), ["loss.name=distill", f"loss.teacher={workdir / 't.json'}"])
    with pytest.raises(ConfigError, match="no class 'sad'"):
        train_fold(bad, "fold-1", workdir / "bad", quiet=True)


def test_classic_learners_are_dispatched_to_scikit_learn(workdir: Path) -> None:
    cfg = load_config(
        write_config(workdir),
        [
            "model.name=classic_logreg",
            "model.cfg={inner_folds: 2}",
            "data.inputs={feats: {frontend: handcrafted}}",
        ],
    )
    result = train_fold(cfg, "fold-1", workdir / "runs", quiet=True)
    assert result["selection"] == "inner-cv" and result["best_params"]
    fixed = load_config(
        write_config(workdir),
        [
            "model.name=classic_logreg",
            "model.cfg={search: none, params: {C: 0.01}}",
            "data.inputs={feats: {frontend: handcrafted}}",
        ],
    )
    fixed_result = train_fold(fixed, "fold-1", workdir / "runs-fixed", quiet=True)
    assert fixed_result["selection"] == "fixed" and fixed_result["best_params"] == {"clf__C": 0.01}
    assert result["n_test"] == len(result["predictions"]) and result["test"]["ua"] >= 0.5
    meta = json.loads((workdir / "runs" / "fold-1" / "checkpoint" / "classic.json").read_text())
    assert meta["label_names"] == ["happy", "sad"]
    frames = load_config(write_config(workdir), ["model.name=classic_logreg"])  # a frames stream
    with pytest.raises(ConfigError, match="vector streams only"):
        train_fold(frames, "fold-1", workdir / "runs2", quiet=True)


def test_random_search_uses_training_speakers_only(workdir: Path, tiny_model: str) -> None:
    space = "{optim.lr: {loguniform: [0.001, 0.1]}, model.cfg.hidden: {choice: [4, 8]}}"
    cfg = load_config(
        write_config(workdir),
        [
            "train.epochs=1",
            f"search={{space: {space}, n_trials: 2, inner_folds: 2, overrides: {{train.epochs: 1}}}}",
        ],
    )
    fold = Split.from_json(workdir / "split.json").fold("fold-1")
    result = train_fold(cfg, "fold-1", workdir / "runs", quiet=True)
    search = result["search"]
    assert set(search["best_params"]) == {"optim.lr", "model.cfg.hidden"} and len(search["trials"]) == 2
    _, meta = load_checkpoint(workdir / "runs" / "fold-1" / "checkpoint")
    assert meta["model"]["cfg"]["hidden"] == search["best_params"]["model.cfg.hidden"]
    assert meta["config"]["optim"]["lr"] == pytest.approx(search["best_params"]["optim.lr"])
    saved = json.loads((workdir / "runs" / "fold-1" / "search.json").read_text())
    assert saved["best_params"] == search["best_params"]
    assert result["config_digest"] == cfg.digest  # results cite the config as written
    # a re-run reuses the saved search (no new trials) and trains with its best values
    (workdir / "runs" / "fold-1" / "metrics.json").unlink()
    import serkit.train.search

    def no_search(*args, **kwargs):
        raise AssertionError("the search ran again")

    real = serkit.train.search.random_search
    serkit.train.search.random_search = no_search
    try:
        again = train_fold(cfg, "fold-1", workdir / "runs", quiet=True)
    finally:
        serkit.train.search.random_search = real
    _, meta = load_checkpoint(workdir / "runs" / "fold-1" / "checkpoint")
    assert meta["model"]["cfg"]["hidden"] == search["best_params"]["model.cfg.hidden"]
    assert again["search"]["best_params"] == search["best_params"]
    assert (
        fold.test_speakers
    )  # the search's leak guard gets the test speakers (random_search raises on overlap)
    with pytest.raises(ConfigError, match="features are fixed"):
        load_config(write_config(workdir), ["search={space: {data.workers: {choice: [1, 2]}}}"])


def test_autoencoder_pretraining_then_classification(workdir: Path) -> None:
    cfg = load_config(
        write_config(workdir, model="conv_autoencoder"),
        [
            "data.inputs={feats: {frontend: 'logmel(n_mels=16, hop_length=320)'}}",
            "model.cfg={channels: [8, 4], head_hidden: 8}",
            "train.epochs=1",
            "train.pretrain_epochs=2",
            "train.freeze_encoder=true",
        ],
    )
    result = train_fold(cfg, "fold-1", workdir / "runs", quiet=True)
    assert result["pretrain_epochs"] == 2 and result["epochs_run"] == 1
    log = (workdir / "runs" / "fold-1" / "pretrain" / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in log] == [1, 2]
    assert not (workdir / "runs" / "fold-1" / "pretrain" / "state").exists()
    with registered_tiny():
        bad = load_config(write_config(workdir), ["train.pretrain_epochs=1"])
        with pytest.raises(ConfigError, match="no unsupervised objective"):
            train_fold(bad, "fold-1", workdir / "runs2", quiet=True)


def test_model_and_loss_errors_name_the_setting(workdir: Path, tiny_model: str) -> None:
    base = write_config(workdir)
    renamed = ["data.inputs={spec: {frontend: 'logmel(n_mels=16, hop_length=320)'}}", "train.epochs=1"]
    with pytest.raises(ConfigError, match=r"reads a frames stream 'mel'.*model\.streams\.mel=<input name>"):
        train_fold(load_config(base, renamed), "fold-1", workdir / "r1", quiet=True)
    mapped = train_fold(
        load_config(base, [*renamed, "model.streams={mel: spec}"]), "fold-1", workdir / "r2", quiet=True
    )
    assert mapped["epochs_run"] == 1
    vector = ["data.inputs={mel: {frontend: handcrafted, normaliser: none}}"]
    with pytest.raises(ConfigError, match="gives vector"):
        train_fold(load_config(base, vector), "fold-1", workdir / "r3", quiet=True)
    with pytest.raises(ConfigError, match=r"model: .*hiden"):
        train_fold(load_config(base, ["model.cfg={hiden: 3}"]), "fold-1", workdir / "r4", quiet=True)
    with pytest.raises(ConfigError, match=r"loss: Unknown loss 'focall'"):
        train_fold(load_config(base, ["loss.name=focall"]), "fold-1", workdir / "r5", quiet=True)
    with pytest.raises(ConfigError, match=r"train.augment: .*'specaugmnt'"):
        train_fold(load_config(base, ["train.augment=[specaugmnt]"]), "fold-1", workdir / "r6", quiet=True)


def test_checkpoint_format_is_checked(tmp_path: Path) -> None:
    from serkit.train.checkpoint import read_checkpoint_meta

    (tmp_path / "checkpoint.json").write_text('{"format": "something-else"}')
    with pytest.raises(CheckpointError, match="not a serkit checkpoint"):
        read_checkpoint_meta(tmp_path)
    (tmp_path / "checkpoint.json").write_text('{"format": "serkit-checkpoint", "format_version": 99}')
    with pytest.raises(CheckpointError, match="newer than this serkit reads"):
        read_checkpoint_meta(tmp_path)
    (tmp_path / "checkpoint.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="Cannot read"):
        read_checkpoint_meta(tmp_path)
    with pytest.raises(CheckpointError, match="only SerModel networks"):
        save_checkpoint(tmp_path / "x", torch.nn.Linear(2, 2), {})


def test_train_on_val_adds_the_validation_speakers_and_needs_fixed_epochs(
    workdir: Path, tiny_model: str
) -> None:
    fold = Split.from_json(workdir / "split.json").folds[0]
    assert fold.val
    with pytest.raises(ConfigError, match="fixed_epochs"):
        load_config(write_config(workdir), ["train.train_on_val=true"])
    cfg = load_config(
        write_config(workdir), ["train.epochs=1", "train.fixed_epochs=true", "train.train_on_val=true"]
    )
    result = train_fold(cfg, fold.name, workdir / "runs", quiet=True)
    assert (result["n_train"], result["n_val"]) == (len(fold.train) + len(fold.val), 0)
    _, meta = load_checkpoint(workdir / "runs" / fold.name / "checkpoint")
    saved = normaliser_from_dict(meta["streams"]["mel"]["normaliser"])
    manifest = read_manifest(workdir / "manifest.csv")
    arrays, _, _ = load_streams(manifest, cfg.data.inputs, cache_dir=workdir / "cache")
    with_val = CorpusNormaliser().fit([arrays["mel"][u] for u in (*fold.train, *fold.val)])
    np.testing.assert_allclose(saved.mean_, with_val.mean_, rtol=1e-10)
    assert {p["id"] for p in result["predictions"]} == set(fold.test)
    assert set(meta["training_data"]["train_speakers"]) == set(fold.train_speakers) | set(fold.val_speakers)
