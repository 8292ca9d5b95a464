"""Run folders of ``serkit train``: loading, evaluation, paired comparison of runs, seed ensembles.

Two real runs (seeds 0 and 1 of a tiny network, 2 epochs, the synthetic 2-fold split of the training tests)
are trained once per module; format and error cases use copies or hand-written ``metrics.json`` files.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score

from serkit.errors import ParameterError
from serkit.evaluate import average_runs, compare_runs, evaluate_run, load_run
from test_train_helpers import make_corpus, make_split, registered_tiny, write_config


def make_runs(root: Path, seeds: tuple[int, ...] = (0, 1)) -> dict[int, Path]:
    """Train the tiny network for each seed on the synthetic 2-fold split: ``root/run<seed>``."""
    from serkit.train.config import load_config
    from serkit.train.run import train_folds

    manifest = make_corpus(root)
    make_split(root, manifest)
    runs = {}
    with registered_tiny():
        for seed in seeds:
            cfg = load_config(write_config(root), ["train.epochs=2", f"train.seed={seed}"])
            train_folds(cfg, "all", root / f"run{seed}", quiet=True)
            runs[seed] = root / f"run{seed}"
    return runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    return make_runs(tmp_path_factory.mktemp("runs"))


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("checkpoint"))
    return dst


def _edit(path: Path, **changes: object) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_load_run_reads_every_fold(runs: dict[int, Path]) -> None:
    run = load_run(runs[0])
    assert list(run.folds) == ["fold-1", "fold-2"] and run.classes == ["happy", "sad"]
    assert run.config["train"]["seed"] == 0 and run.config_text.startswith("# serkit resolved config")
    df = run.predictions
    assert list(df.columns[:7]) == ["fold", "id", "speaker", "label", "pred", "p_happy", "p_sad"]
    assert len(df) == sum(r["n_test"] for r in run.folds.values()) == 36
    np.testing.assert_allclose(df[["p_happy", "p_sad"]].sum(axis=1), 1.0, atol=1e-5)
    first = run.folds["fold-1"]["predictions"][0]
    row = df[(df["fold"] == "fold-1") & (df["id"] == first["id"])].iloc[0]
    assert (row["label"], row["pred"], row["p_sad"]) == (first["label"], first["pred"], first["probs"][1])
    assert [r["epoch"] for r in run.logs["fold-1"]] == [1, 2] and "train_loss" in run.logs["fold-1"][0]
    assert run.summary is not None and run.summary["n_folds"] == 2


def test_evaluate_run_matches_summary_and_scikit_learn(runs: dict[int, Path]) -> None:
    res = evaluate_run(runs[0])
    summary = json.loads((runs[0] / "summary.json").read_text())
    df = load_run(runs[0]).predictions
    assert res["format"] == "serkit-results"
    assert res["pooled"]["ua"] == pytest.approx(balanced_accuracy_score(df["label"], df["pred"]))
    assert res["pooled"]["wa"] == pytest.approx(accuracy_score(df["label"], df["pred"]))
    assert res["pooled"]["ua"] == pytest.approx(summary["pooled"]["ua"])
    for key in ("ua", "wa", "macro_f1"):
        assert res[f"mean_{key}"] == pytest.approx(summary[f"mean_{key}"])
        assert res[f"std_{key}"] == pytest.approx(summary[f"std_{key}"])
        for fold, m in res["per_fold"].items():
            assert m[key] == pytest.approx(summary["folds"][fold][key])
    assert (res["protocol"], res["speaker_independent"], res["transductive"]) == ("group-kfold", True, False)
    assert res["split_digest"] == summary["split_digest"] and res["config_digest"] == summary["config_digest"]
    assert res["split"].endswith("split.json") and res["n_folds"] == res["n_folds_planned"] == 2
    assert res["complete"] and res["n"] == 36 and res["seeds"] == [0]
    assert (
        res["n_parameters"] > 0
        and res["train_seconds"] > 0
        and res["commit"] == summary.get("commit", res["commit"])
    )
    assert "regression" not in res  # scores are predicted, but the config names no true score column
    json.dumps(res, allow_nan=True)  # plain data


def test_regression_metrics_when_predictions_carry_true_scores(runs: dict[int, Path], tmp_path: Path) -> None:
    from serkit.evaluate import regression_metrics

    run = _copy(runs[0], tmp_path / "run")
    truth, scores = [], []
    for fold in ("fold-1", "fold-2"):
        path = run / fold / "metrics.json"
        data = json.loads(path.read_text())
        for row in data["predictions"]:
            row["true_score"] = 1.0 if row["label"] == "happy" else -1.0
            truth.append(row["true_score"])
            scores.append(row["score"])
        path.write_text(json.dumps(data))
    assert evaluate_run(run)["regression"] == pytest.approx(regression_metrics(truth, scores), nan_ok=True)


def test_partial_and_transductive_runs(runs: dict[int, Path], tmp_path: Path) -> None:
    run = _copy(runs[0], tmp_path / "run")
    shutil.rmtree(run / "fold-2")
    _edit(run / "fold-1" / "metrics.json", transductive=True)
    res = evaluate_run(run)
    assert res["n_folds"] == 1 and res["n_folds_planned"] == 2 and not res["complete"]
    assert res["transductive"] is True and res["std_ua"] == 0.0


def test_load_run_errors(runs: dict[int, Path], tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="does not exist"):
        load_run(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ParameterError, match="is not a folder"):
        load_run(tmp_path / "file")
    (tmp_path / "empty" / "fold-1").mkdir(parents=True)
    with pytest.raises(ParameterError, match="no finished fold"):
        load_run(tmp_path / "empty")
    bad = _copy(runs[0], tmp_path / "bad")
    (bad / "fold-2" / "metrics.json").write_text("{not json")
    with pytest.raises(ParameterError, match=r"Cannot read the fold result .*fold-2"):
        load_run(bad)
    mixed = _copy(runs[0], tmp_path / "mixed")
    shutil.copy(runs[1] / "fold-2" / "metrics.json", mixed / "fold-2" / "metrics.json")  # seed 1's fold
    with pytest.raises(ParameterError, match="mixes two runs"):
        load_run(mixed)
    other = _copy(runs[0], tmp_path / "other")
    _edit(other / "fold-2" / "metrics.json", split_digest="0" * 16)
    with pytest.raises(ParameterError, match="different split files"):
        load_run(other)


def test_compare_runs_aligns_by_utterance(runs: dict[int, Path], tmp_path: Path) -> None:
    out = compare_runs(runs[0], runs[1], n_resamples=2000)
    a, b = evaluate_run(runs[0]), evaluate_run(runs[1])
    assert out["folds"] == ["fold-1", "fold-2"] and out["n"] == 36
    assert out["a_metrics"]["ua"] == pytest.approx(a["pooled"]["ua"])
    assert out["b_metrics"]["ua"] == pytest.approx(b["pooled"]["ua"])
    assert out["permutation"]["difference"] == pytest.approx(a["pooled"]["ua"] - b["pooled"]["ua"])
    assert 0 < out["permutation"]["p_value"] <= 1 and set(out["mcnemar"]) >= {"b", "c", "p_value"}
    # the order of predictions in a file does not matter: they are matched by id
    shuffled = _copy(runs[1], tmp_path / "shuffled")
    path = shuffled / "fold-1" / "metrics.json"
    data = json.loads(path.read_text())
    data["predictions"] = data["predictions"][::-1]
    path.write_text(json.dumps(data))
    assert compare_runs(runs[0], shuffled, n_resamples=2000) == {
        **out,
        "b": str(shuffled),
    }
    # another split, other utterances, unfinished folds
    other = _copy(runs[1], tmp_path / "other")
    for fold in ("fold-1", "fold-2"):
        _edit(other / fold / "metrics.json", split_digest="f" * 16)
    with pytest.raises(ParameterError, match="not evaluated on the same split"):
        compare_runs(runs[0], other)
    fewer = _copy(runs[1], tmp_path / "fewer")
    data = json.loads((fewer / "fold-1" / "metrics.json").read_text())
    data["predictions"] = data["predictions"][1:]
    (fewer / "fold-1" / "metrics.json").write_text(json.dumps(data))
    with pytest.raises(ParameterError, match="tests different utterances"):
        compare_runs(runs[0], fewer)
    partial = _copy(runs[1], tmp_path / "partial")
    shutil.rmtree(partial / "fold-2")
    with pytest.raises(ParameterError, match="not finished the same folds"):
        compare_runs(runs[0], partial)
    assert compare_runs(runs[0], partial, allow_partial=True, n_resamples=100)["folds"] == ["fold-1"]


def test_ensemble_averages_probabilities_and_resumes(runs: dict[int, Path], tmp_path: Path) -> None:
    member_b = _copy(runs[1], tmp_path / "b")
    shutil.rmtree(member_b / "fold-2")  # not finished yet
    out = tmp_path / "ens"
    assert average_runs([runs[0], member_b], out, name="seeds") == out
    assert (out / "fold-1" / "metrics.json").is_file() and not (out / "fold-2").exists()
    stamp = (out / "fold-1" / "metrics.json").stat().st_mtime_ns
    # the member finishes its second fold; the same call adds it and keeps fold-1 as it was
    shutil.copytree(runs[1] / "fold-2", member_b / "fold-2", ignore=shutil.ignore_patterns("checkpoint"))
    average_runs([runs[0], member_b], out, name="seeds")
    assert (out / "fold-1" / "metrics.json").stat().st_mtime_ns == stamp
    ens = load_run(out)
    assert list(ens.folds) == ["fold-1", "fold-2"] and ens.ensemble["members"][1] == str(member_b.resolve())
    r0, r1 = load_run(runs[0]).predictions, load_run(runs[1]).predictions
    merged = ens.predictions.merge(r0, on=["fold", "id"], suffixes=("", "_0")).merge(
        r1, on=["fold", "id"], suffixes=("", "_1")
    )
    assert len(merged) == 36
    np.testing.assert_allclose(merged["p_sad"], (merged["p_sad_0"] + merged["p_sad_1"]) / 2, atol=2e-6)
    pred = np.where(merged["p_sad"] > merged["p_happy"], "sad", "happy")
    assert (merged["pred"] == pred).all()
    summary = json.loads((out / "summary.json").read_text())
    res = evaluate_run(out)
    assert summary["n_folds_done"] == 2 and summary["pooled"]["ua"] == pytest.approx(res["pooled"]["ua"])
    assert ens.folds["fold-1"]["variant"] == "ensemble" and ens.folds["fold-1"]["seeds"] == [0, 1]
    assert res["n_parameters"] == 2 * evaluate_run(runs[0])["n_parameters"]
    # the ensemble is a run of the same split: it can be compared with a member
    assert compare_runs(out, runs[0], n_resamples=100)["n"] == 36


def test_ensemble_refuses_mismatched_members(runs: dict[int, Path], tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="at least 2"):
        average_runs([runs[0]], tmp_path / "e1")
    with pytest.raises(ParameterError, match="appears twice"):
        average_runs([runs[0], runs[0]], tmp_path / "e2")
    other = _copy(runs[1], tmp_path / "other")
    for fold in ("fold-1", "fold-2"):
        _edit(other / fold / "metrics.json", split_digest="a" * 16)
    with pytest.raises(ParameterError, match="another split"):
        average_runs([runs[0], other], tmp_path / "e3")
    classes = _copy(runs[1], tmp_path / "classes")
    for fold in ("fold-1", "fold-2"):
        _edit(classes / fold / "metrics.json", classes=["sad", "happy"])
    with pytest.raises(ParameterError, match="same classes"):
        average_runs([runs[0], classes], tmp_path / "e4")
    average_runs([runs[0], runs[1]], tmp_path / "e5")
    with pytest.raises(ParameterError, match="other members"):
        average_runs([runs[0], _copy(runs[1], tmp_path / "copy")], tmp_path / "e5")
    (tmp_path / "e6").mkdir()
    (tmp_path / "e6" / "notes.txt").write_text("mine")
    with pytest.raises(ParameterError, match="not an ensemble folder"):
        average_runs([runs[0], runs[1]], tmp_path / "e6")
    assert not math.isnan(evaluate_run(tmp_path / "e5")["pooled"]["ua"])
