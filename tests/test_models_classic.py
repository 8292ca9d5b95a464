"""Classic learners: registry, speaker-grouped inner CV, equality with scikit-learn, saving, errors."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import skops.io as sio
from scipy.stats import loguniform
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_selection import VarianceThreshold
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    ParameterGrid,
    ParameterSampler,
    RandomizedSearchCV,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR
from threadpoolctl import threadpool_limits

from serkit.errors import CheckpointError, ParameterError
from serkit.features.normalise import NotFittedError
from serkit.models import classic
from serkit.models.classic import (
    CLASSIC_LEARNERS,
    META_FILE,
    MODEL_FILE,
    ClassicModel,
    ClassicSpec,
    classic_info,
    classic_param_grid,
    fit_classic,
    is_classic,
    list_classic,
    load_classic,
    make_classic_pipeline,
    save_classic,
    train_classic_fold,
)

from conftest import CORPORA

EXPECTED = [
    "classic_knn",
    "classic_lda",
    "classic_logreg",
    "classic_mlp",
    "classic_rf",
    "classic_svm_linear",
    "classic_svm_rbf",
]
LABELS = ["angry", "happy", "neutral", "sad"]
# Keeps the random forest quick in tests; the rest of its grid (max_depth x max_features) is searched.
FAST = {"classic_rf": {"n_estimators": 15}}


def make_data(
    n_speakers: int = 6, per_class: int = 5, n_features: int = 8, seed: int = 0, sep: float = 2.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A separable 4-class problem with speaker offsets: X, y (ints), speakers, ids."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(len(LABELS), n_features)) * sep
    offsets = rng.normal(size=(n_speakers, n_features)) * 0.5
    y = np.tile(np.repeat(np.arange(len(LABELS)), per_class), n_speakers)
    spk = np.repeat(np.arange(n_speakers), len(LABELS) * per_class)
    X = means[y] + offsets[spk] + rng.normal(size=(len(y), n_features))
    X[:, -1] = 3.0  # a constant column: the variance filter drops it
    groups = np.array([f"s{s}" for s in spk])
    ids = np.array([f"u{i:04d}" for i in range(len(y))])
    return X, y, groups, ids


@pytest.fixture(scope="module")
def data():
    return make_data()


# -- registry -------------------------------------------------------------------------------


def test_registry_names_and_info():
    assert list_classic() == EXPECTED
    assert all(is_classic(n) for n in EXPECTED) and not is_classic("drsn_bigru")
    info = classic_info("classic_svm_rbf")
    assert info.inputs == {"features": "vector"} and info.proba == "calibrated"
    assert info.grid["clf__C"] == [0.01, 0.1, 1.0, 10.0, 100.0]
    assert "scale" in info.grid["clf__gamma"]
    assert info.defaults["class_weight"] == "balanced"
    assert "survey" in info.paper
    json.dumps(info.defaults)
    with pytest.raises(ParameterError, match="Did you mean 'classic_svm_rbf'"):
        make_classic_pipeline("classic_svm_rbff")
    with pytest.raises(ParameterError, match="must start with 'classic_'"):
        classic.register_classic("svm", description="", grid={}, distributions={})


@pytest.mark.parametrize("name", EXPECTED)
def test_pipelines_scale_inside_and_grids_are_valid(name):
    pipe = make_classic_pipeline(name, seed=3)
    assert list(pipe.named_steps)[:2] == ["var", "scale"] and list(pipe.named_steps)[-1] == "clf"
    assert isinstance(pipe.named_steps["scale"], StandardScaler)
    clf = pipe.named_steps["clf"]
    if "class_weight" in clf.get_params():
        assert clf.class_weight == "balanced"
    for point in ParameterGrid(classic_param_grid(name)):
        pipe.set_params(**point)
    for point in ParameterSampler(classic_param_grid(name, search="random"), n_iter=10, random_state=0):
        pipe.set_params(**point)


# -- every learner fits and predicts --------------------------------------------------------


def _n_candidates(name: str, fixed: dict) -> int:
    grid = classic_param_grid(name)
    dicts = [grid] if isinstance(grid, dict) else grid
    return len(ParameterGrid([{k: v for k, v in d.items() if k[5:] not in fixed} for d in dicts]))


@pytest.mark.parametrize("name", EXPECTED)
def test_every_learner_fits_and_predicts(name, data):
    X, y, groups, _ = data
    test = groups == "s5"
    model = fit_classic(name, X[~test], y[~test], groups[~test], inner_folds=3, params=FAST.get(name))
    assert model.inner_folds_ == 3
    pred = model.predict(X[test])
    assert pred.shape == (int(test.sum()),) and set(pred) <= set(range(4))
    assert balanced_accuracy_score(y[test], pred) > 0.6  # chance: 0.25
    assert model.classes_.tolist() == [0, 1, 2, 3]
    proba = model.predict_proba(X[test])
    assert proba.shape == (int(test.sum()), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert len(model.cv_results_) == _n_candidates(name, fixed=FAST.get(name, {}))
    assert {r["rank"] for r in model.cv_results_} >= {1}
    json.dumps({"p": model.best_params_, "r": model.cv_results_, "s": model.best_score_})
    if name == "classic_rf":
        assert model.best_params_["clf__n_estimators"] == 15
    assert 0.0 <= model.best_score_ <= 1.0


# -- inner CV never sees test speakers ------------------------------------------------------


class _Spy(BaseEstimator, TransformerMixin):
    """Records the row ids (column 0) of every fit and transform, per fitted instance; drops column 0."""

    log: ClassVar[list[tuple[str, int, frozenset]]] = []
    _tokens = itertools.count()

    def fit(self, X, y=None):
        self.token_ = next(self._tokens)
        self.log.append(("fit", self.token_, frozenset(X[:, 0].astype(int).tolist())))
        return self

    def transform(self, X):
        self.log.append(("transform", self.token_, frozenset(X[:, 0].astype(int).tolist())))
        return X[:, 1:]

    def fit_transform(self, X, y=None):
        return self.fit(X, y)._drop(X)

    def _drop(self, X):
        return X[:, 1:]


def _spy_spec(proba: str = "calibrated") -> ClassicSpec:
    def build(seed: int) -> Pipeline:
        return Pipeline(
            [
                ("spy", _Spy()),
                ("var", VarianceThreshold()),
                ("scale", StandardScaler()),
                ("clf", SVC(kernel="rbf", class_weight="balanced")),
            ]
        )

    return ClassicSpec(
        "classic_spy",
        "spy",
        build,
        {"clf__C": [0.1, 10.0], "clf__gamma": ["scale", 0.01]},
        {"clf__C": loguniform(1e-2, 1e2)},
        proba,  # type: ignore[arg-type]
    )


def _check_spy_log(row_speaker: dict[int, str], train_rows: set[int], outer_rows: set[int]) -> list[set]:
    """Assert the leakage rules on _Spy.log; return the inner held-out parts (as speaker sets)."""
    fits = {tok: rows for kind, tok, rows in _Spy.log if kind == "fit"}
    assert fits, "the spy never fitted"
    held_out = []
    for rows in fits.values():
        assert rows <= train_rows, "a pipeline was fitted on rows outside the training fold"
    for kind, tok, rows in _Spy.log:
        if kind != "transform" or rows <= fits[tok]:
            continue
        fit_speakers = {row_speaker[r] for r in fits[tok]}
        other = {row_speaker[r] for r in rows - fits[tok]}
        assert not fit_speakers & other, f"speaker(s) {fit_speakers & other} on both sides of a split"
        if rows & outer_rows:
            assert fits[tok] == train_rows, (
                "test/val rows scored by a pipeline not refitted on the whole fold"
            )
        else:
            held_out.append(other)
    return held_out


@pytest.mark.parametrize("search", ["grid", "random"])
def test_inner_cv_never_sees_test_or_val_speakers(monkeypatch, search):
    monkeypatch.setitem(CLASSIC_LEARNERS, "classic_spy", _spy_spec())
    monkeypatch.setattr(_Spy, "log", [])
    X, y, groups, ids = make_data(n_speakers=8, per_class=3)
    X = np.column_stack([np.arange(len(y)), X])  # column 0: row id, read and dropped by the spy
    train = np.isin(groups, ["s0", "s1", "s2", "s3", "s4", "s5"])
    val, test = groups == "s6", groups == "s7"
    out = train_classic_fold(
        "classic_spy",
        (X[train], y[train], groups[train]),
        (X[test], ids[test]),
        val=(X[val], y[val], groups[val], ids[val]),
        label_names=LABELS,
        search=search,
        n_iter=3,
        inner_folds=4,
    )
    row_speaker = dict(enumerate(groups))
    train_rows = set(np.flatnonzero(train).tolist())
    outer_rows = set(np.flatnonzero(test | val).tolist())
    held_out = _check_spy_log(row_speaker, train_rows, outer_rows)
    # 4 inner folds over 6 speakers, for each candidate and for the SVM's probability calibration.
    n_candidates = 4 if search == "grid" else 3
    assert len(held_out) == 4 * n_candidates + 4
    assert {frozenset(h) for h in held_out} == {
        frozenset(test_part) for _, test_part in _groupkfold_speakers(groups[train], 4)
    }
    assert out["inner_folds"] == 4 and out["n_train_speakers"] == 6
    assert out["val"] is not None and out["val"]["ids"] == ids[val].tolist()


def _groupkfold_speakers(groups: np.ndarray, n: int):
    for tr, te in GroupKFold(n).split(np.zeros((len(groups), 1)), groups=groups):
        yield set(groups[tr]), set(groups[te])


def test_inner_folds_capped_at_training_speakers(monkeypatch):
    monkeypatch.setitem(CLASSIC_LEARNERS, "classic_spy", _spy_spec(proba="native"))
    monkeypatch.setattr(_Spy, "log", [])
    X, y, groups, _ = make_data(n_speakers=3)
    X = np.column_stack([np.arange(len(y)), X])
    model = fit_classic("classic_spy", X, y, groups, inner_folds=10, grid={"C": [1.0]})
    assert model.inner_folds_ == 3
    held_out = _check_spy_log(dict(enumerate(groups)), set(range(len(y))), set())
    assert sorted(sorted(h) for h in held_out) == [["s0"], ["s1"], ["s2"]]  # leave-one-speaker-out


# -- equal to scikit-learn's own search ------------------------------------------------------


@pytest.mark.parametrize("name", ["classic_svm_rbf", "classic_knn", "classic_lda"])
def test_grid_search_equals_direct_gridsearchcv(name, data):
    X, y, groups, _ = data
    # Imbalanced (class 3 has 2 of 5 rows per speaker): balanced accuracy differs from plain accuracy.
    keep = (y != 3) | (np.arange(len(y)) % 5 < 2)
    X, y, groups = X[keep], y[keep], groups[keep]
    test = groups == "s5"
    Xtr, ytr, gtr = X[~test], y[~test], groups[~test]
    model = fit_classic(name, Xtr, ytr, gtr, inner_folds=5, probability=False)
    with threadpool_limits(limits=1):
        ref = GridSearchCV(
            make_classic_pipeline(name),
            classic_param_grid(name),
            scoring="balanced_accuracy",
            cv=GroupKFold(5),
        ).fit(Xtr, ytr, groups=gtr)
    assert model.best_params_ == classic._jsonable(ref.best_params_)
    assert model.best_score_ == pytest.approx(ref.best_score_, abs=1e-12)
    np.testing.assert_allclose(
        [r["mean_test_score"] for r in model.cv_results_], ref.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(model.predict(X[test]), ref.predict(X[test]))
    if hasattr(ref, "predict_proba"):
        np.testing.assert_allclose(model.predict_proba(X[test]), ref.predict_proba(X[test]))


def test_random_search_equals_direct_randomizedsearchcv(data):
    X, y, groups, _ = data
    model = fit_classic("classic_logreg", X, y, groups, search="random", n_iter=6, seed=7, inner_folds=3)
    ref = RandomizedSearchCV(
        make_classic_pipeline("classic_logreg", seed=7),
        classic_param_grid("classic_logreg", search="random"),
        n_iter=6,
        random_state=7,
        scoring="balanced_accuracy",
        cv=GroupKFold(3),
    ).fit(X, y, groups=groups)
    assert model.best_params_ == classic._jsonable(ref.best_params_)
    assert [r["params"] for r in model.cv_results_] == classic._jsonable(ref.cv_results_["params"])
    np.testing.assert_allclose(model.predict_proba(X), ref.predict_proba(X))


def test_fixed_params_leave_the_search_and_accept_json_lists(data):
    X, y, groups, _ = data
    model = fit_classic("classic_svm_rbf", X, y, groups, params={"C": 10.0}, inner_folds=2, probability=False)
    assert model.best_params_["clf__C"] == 10.0
    assert {tuple(r["params"]) for r in model.cv_results_} == {("clf__gamma",)}
    assert len(model.cv_results_) == 4
    none = fit_classic(
        "classic_mlp", X, y, groups, search="none", params={"hidden_layer_sizes": [16], "alpha": 0.01}
    )
    assert none.pipeline_.named_steps["clf"].hidden_layer_sizes == (16,)
    assert none.best_params_ == {"clf__alpha": 0.01, "clf__hidden_layer_sizes": [16]}
    assert none.best_score_ is None and none.cv_results_ == [] and none.inner_folds_ == 0
    with pytest.raises(ParameterError, match="Did you mean 'n_neighbors'"):
        fit_classic("classic_knn", X, y, groups, params={"n_neighbour": 3})
    with pytest.raises(ParameterError, match="Unknown hyperparameter 'pca__foo'"):
        fit_classic("classic_knn", X, y, groups, grid={"pca__foo": [1]})


# -- train_classic_fold -----------------------------------------------------------------------


def test_train_classic_fold_labels_probabilities_and_val(data):
    X, y, groups, ids = data
    test, val = groups == "s5", groups == "s4"
    train = ~(test | val)
    # The training fold lacks 'happy' (index 1): its probability column must be 0, the others in label order.
    train &= y != 1
    names = np.array(LABELS)
    kw = {"label_names": LABELS, "inner_folds": 2}
    by_index = train_classic_fold(
        "classic_logreg", (X[train], y[train], groups[train]), (X[test], ids[test]), **kw
    )
    by_name = train_classic_fold(
        "classic_logreg",
        (X[train], names[y[train]], groups[train]),
        (X[test], ids[test]),
        val=(X[val], names[y[val]], groups[val], ids[val]),
        feature_spec="handcrafted",
        **kw,
    )
    assert by_index["pred"] == by_name["pred"] and by_index["ids"] == ids[test].tolist()
    assert set(by_index["pred"]) <= {"angry", "neutral", "sad"}
    proba = by_name["proba"]
    assert proba.shape == (int(test.sum()), 4)
    np.testing.assert_array_equal(proba[:, 1], 0.0)
    np.testing.assert_array_equal(np.array(LABELS)[proba.argmax(axis=1)], by_name["pred"])
    model = by_name["model"]
    np.testing.assert_allclose(proba[:, [0, 2, 3]], model.predict_proba(X[test]))
    assert by_name["val"]["balanced_accuracy"] == pytest.approx(
        balanced_accuracy_score(y[val], by_name["val"]["pred_index"])
    )
    assert by_name["fit_s"] > 0 and by_name["predict_s"] >= 0
    assert model.label_names_ == LABELS and model.feature_spec_ == "handcrafted"
    train = ~(test | val)
    merged = train_classic_fold(
        "classic_logreg",
        (X[train], y[train], groups[train]),
        (X[test], ids[test]),
        val=(X[val], y[val], groups[val], ids[val]),
        merge_val=True,
        **kw,
    )
    assert merged["val"] is None and merged["n_train"] == int(train.sum() + val.sum())
    assert merged["n_train_speakers"] == 5
    with pytest.raises(ParameterError, match="'surprised' is not in label_names"):
        train_classic_fold("classic_lda", (X, np.array(["surprised"] * len(y)), groups), (X, ids), **kw)
    with pytest.raises(ParameterError, match=r"indices in \[0, 4\)"):
        train_classic_fold("classic_lda", (X, y + 1, groups), (X, ids), **kw)
    with pytest.raises(ParameterError, match=r"'test X'.*fitted on 8"):
        train_classic_fold("classic_lda", (X, y, groups), (X[:, :3], ids), **kw)


# -- saving ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXPECTED)
def test_save_load_round_trip(name, data, tmp_path):
    X, y, groups, _ = data
    model = fit_classic(name, X, y, groups, search="none", params=FAST.get(name), inner_folds=3)
    model.feature_spec_ = "handcrafted"
    save_classic(model, tmp_path, label_names=LABELS, extra={"fold": "f1"})
    assert (tmp_path / MODEL_FILE).read_bytes()[:2] == b"PK"  # a skops zip, not a pickle
    loaded = load_classic(tmp_path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.name == name and loaded.best_params_ == model.best_params_
    assert loaded.label_names_ == LABELS and loaded.feature_spec_ == "handcrafted"
    assert loaded.meta_["extra"] == {"fold": "f1"} and loaded.n_features_in_ == X.shape[1]
    assert loaded.classes_.tolist() == model.classes_.tolist()


def test_save_load_keeps_searched_model_and_string_classes(data, tmp_path):
    X, y, groups, _ = data
    names = np.array(LABELS)[y]
    model = fit_classic("classic_svm_linear", X, names, groups, inner_folds=2)
    save_classic(model, tmp_path)
    loaded = load_classic(tmp_path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    meta = json.loads((tmp_path / META_FILE).read_text())
    assert meta["label_names"] == LABELS and meta["cv_results"] == model.cv_results_
    assert meta["best_params"] == model.best_params_ and meta["settings"]["search"] == "grid"


def _replace_model_file(model_dir: Path, obj) -> None:
    """What an attacker controlling both files can do: swap model.skops and fix the recorded digest."""
    sio.dump(obj, model_dir / MODEL_FILE)
    meta = json.loads((model_dir / META_FILE).read_text())
    meta["model_sha256"] = classic._sha256(model_dir / MODEL_FILE)
    (model_dir / META_FILE).write_text(json.dumps(meta))


@pytest.mark.parametrize(
    "evil",
    [
        pytest.param(lambda: _Spy(), id="foreign-class"),
        # SVR is trusted by skops's own defaults; serkit's allow-list is stricter.
        pytest.param(lambda: SVR(), id="skops-default-trusted"),
        pytest.param(lambda: time.sleep, id="function"),
    ],
)
def test_load_refuses_untrusted_types(evil, data, tmp_path, monkeypatch):
    X, y, groups, _ = data
    save_classic(fit_classic("classic_lda", X, y, groups, search="none"), tmp_path)
    obj = evil()
    if isinstance(obj, BaseEstimator):
        obj = obj.fit(X[:, 1:] if isinstance(obj, _Spy) else X, y)
    _replace_model_file(
        tmp_path, {"pipeline": Pipeline([("clf", make_classic_pipeline("classic_lda"))]), "x": obj}
    )

    def never(*args, **kwargs):
        raise AssertionError("skops.io.load was called on an untrusted file")

    monkeypatch.setattr(sio, "load", never)
    with pytest.raises(CheckpointError, match="does not trust"):
        load_classic(tmp_path)


def test_load_refuses_changed_or_foreign_files(data, tmp_path):
    X, y, groups, _ = data
    save_classic(fit_classic("classic_lda", X, y, groups, search="none"), tmp_path)
    with open(tmp_path / MODEL_FILE, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(CheckpointError, match="changed after it was saved"):
        load_classic(tmp_path)
    with pytest.raises(CheckpointError, match=r"No classic\.json"):
        load_classic(tmp_path / "nowhere")
    (tmp_path / META_FILE).write_text(json.dumps({"format": "pickle"}))
    with pytest.raises(CheckpointError, match="not a serkit classic model"):
        load_classic(tmp_path)
    with pytest.raises(ParameterError, match="fitted ClassicModel"):
        save_classic(ClassicModel("classic_lda"), tmp_path)


# -- errors ------------------------------------------------------------------------------------


def test_errors_say_what_to_do(data):
    X, y, groups, _ = data
    bad = X.copy()
    bad[7, 2] = np.nan
    with pytest.raises(ParameterError, match=r"NaN or infinite values in 1 row.*first: row 7"):
        fit_classic("classic_lda", bad, y, groups)
    with pytest.raises(ParameterError, match=r"must be 2-D"):
        fit_classic("classic_lda", X[:, :, None], y, groups)
    with pytest.raises(ParameterError, match=r"'y' parameter.*one entry per row"):
        fit_classic("classic_lda", X, y[:-1], groups)
    with pytest.raises(ParameterError, match="at least 2 emotion classes"):
        fit_classic("classic_lda", X, np.zeros_like(y), groups)
    one = np.full(len(y), "s0")
    with pytest.raises(ParameterError, match=r"at least 2 training speakers.*search='none'"):
        fit_classic("classic_lda", X, y, one)
    with pytest.raises(ParameterError, match="probability=False"):
        fit_classic("classic_svm_rbf", X, y, one, search="none")
    fit_classic("classic_svm_rbf", X, y, one, search="none", probability=False)  # no CV needed at all
    two = np.where(y < 2, "s0", "s1")  # each speaker has two emotions only
    with pytest.raises(ParameterError, match="inner fold 0 trains on speakers with one emotion"):
        fit_classic("classic_lda", X, np.where(two == "s0", 0, 1), two)
    with pytest.raises(ParameterError, match=r"'search' parameter.*'grid', 'random' or 'none'"):
        fit_classic("classic_lda", X, y, groups, search="bayes")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"'inner_folds'.*>= 2"):
        fit_classic("classic_lda", X, y, groups, inner_folds=1)
    with pytest.raises(ParameterError, match="Did you mean 'balanced_accuracy'"):
        fit_classic("classic_lda", X, y, groups, scoring="balanced_acuracy")
    model = ClassicModel("classic_svm_linear")
    with pytest.raises(NotFittedError, match="not fitted"):
        model.predict(X)
    assert not model.has_proba
    model = fit_classic("classic_svm_linear", X, y, groups, search="none", probability=False)
    assert not model.has_proba
    with pytest.raises(ParameterError, match="probability=False"):
        model.predict_proba(X)
    with pytest.raises(ParameterError, match="fitted on 8"):
        model.predict(X[:, :5])


# -- real corpus -------------------------------------------------------------------------------


@pytest.mark.corpus
@pytest.mark.slow
def test_real_emodb_handcrafted_leave_one_speaker_out():
    """A sanity check on real features: one EmoDB speaker held out, UA far above chance (1/7)."""
    root = CORPORA / "emodb"
    if not root.is_dir():
        pytest.skip(f"real corpus 'emodb' not present at {root}")
    from serkit.data.prepare import prepare_corpus
    from serkit.features.extract import extract_features

    manifest = prepare_corpus("emodb", root, workers=2).manifest
    res = extract_features(manifest, "handcrafted", return_arrays=True, workers=2)
    X = np.stack([res.arrays[i] for i in manifest["id"]])
    y, groups, ids = (manifest[c].to_numpy() for c in ("label", "speaker", "id"))
    labels = sorted(set(y))
    test = groups == "03"
    out = train_classic_fold(
        "classic_svm_rbf", (X[~test], y[~test], groups[~test]), (X[test], ids[test]), label_names=labels
    )
    ua = balanced_accuracy_score(y[test], out["pred"])
    assert out["n_train_speakers"] == 9 and out["inner_folds"] == 5
    assert ua > 0.45, ua
