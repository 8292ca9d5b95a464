"""Classic learners on utterance feature vectors, with speaker-grouped hyperparameter search.

The survey (Pinto, Balasubramani R and Martis, "Exploring emotional signals: a study on audio-based
emotion classification", ``papers/survey-audio-emotion-classification.txt``, sec. 3 and Table 1) reviews
SVMs (linear, RBF, quadratic), k-nearest neighbours, multi-class LDA, random forests, logistic
regression and small neural networks (ANN / MLP) on hand-crafted functionals (MFCC, prosody, spectral and
wavelet statistics). This module builds each of them as a scikit-learn :class:`~sklearn.pipeline.Pipeline`
on a "vector" stream (``handcrafted``, ``egemaps``; several vector streams are concatenated column-wise by
the caller) and chooses hyperparameters by **inner speaker-grouped cross-validation on the training fold
only**:

* every pipeline starts with ``VarianceThreshold(0)`` (drops features constant on the training fold) and
  ``StandardScaler``; both are fitted *inside* the pipeline, so in the inner CV they see only the inner
  training part and in the final refit only the outer training fold -- never validation or test rows;
* the inner folds are :class:`~sklearn.model_selection.GroupKFold` over the training speakers
  (``min(inner_folds, n_speakers)`` folds), so no speaker is on both sides of an inner split;
* the search is scikit-learn's own :class:`~sklearn.model_selection.GridSearchCV` or
  :class:`~sklearn.model_selection.RandomizedSearchCV` (``refit=True``), so results equal a direct call
  of those with the same ``GroupKFold`` (the tests check this).

Registered learners (:func:`list_classic`; grids in :func:`classic_info` / :func:`classic_param_grid`):

================== ========================================================= ===============================
name               pipeline                                                  grid (``search="grid"``)
================== ========================================================= ===============================
classic_svm_linear var + scaler + ``SVC(linear, class_weight="balanced")``   C in 10^[-2..2]
classic_svm_rbf    var + scaler + ``SVC(rbf, class_weight="balanced")``      C in 10^[-2..2] x gamma in
                                                                             {"scale", 1e-3, 1e-2, 1e-1}
classic_knn        var + scaler + PCA + ``KNeighborsClassifier``             k in {1,3,5,9,15} x weights x
                                                                             PCA {all, 95 % variance}
classic_lda        var + scaler + ``LinearDiscriminantAnalysis``             svd, or lsqr with shrinkage in
                                                                             {auto (Ledoit-Wolf), .1, .5, .9}
classic_rf         var + scaler + ``RandomForestClassifier(balanced)``       n_estimators {100, 300} x
                                                                             max_depth {None, 16} x
                                                                             max_features {sqrt, 0.2}
classic_logreg     var + scaler + ``LogisticRegression(balanced, lbfgs)``    C in 10^[-3..2]
classic_mlp        var + scaler + ``MLPClassifier(adam, early stopping)``    hidden {(64,), (128,), (128, 64)}
                                                                             x alpha in 10^[-4..-1]
================== ========================================================= ===============================

``class_weight="balanced"`` is set where the estimator supports it (SVMs, random forest, logistic
regression); kNN, LDA (class priors from the training fold) and the MLP have no class weights. The MLP's
early stopping holds out 10 % of the rows it is fitted on (a random, not speaker-grouped, part of the
*training* data; never test rows).

**Probabilities.** kNN, LDA, random forest, logistic regression and the MLP have native
``predict_proba``. For the two SVMs, probabilities come from
:class:`~sklearn.calibration.CalibratedClassifierCV` (``method="sigmoid"``, ``ensemble=False``) fitted
after the search on the training fold with the *same speaker-grouped inner folds*: per-class Platt
scaling of out-of-fold decision values, then one SVM refitted on the whole training fold. We do not use
``SVC(probability=True)`` (its internal 5-fold CV is not speaker-grouped and is randomised) nor a softmax
of ``decision_function`` (one-vs-one vote counts are not probabilities). ``predict`` for SVMs is the tuned
SVM's own decision (identical to ``GridSearchCV.predict``); ``argmax(predict_proba)`` can differ from it on
a few borderline rows. Pass ``probability=False`` to skip the calibration.

**Threads.** Fitting and prediction run with BLAS / OpenMP limited to one thread (``threadpoolctl``):
the matrices are small (hundreds to a few thousand utterances x 88-147 functionals), and on the 2 shared
cores of the benchmark machine multi-threaded BLAS/OpenMP made the kNN search 60x and LDA 19x slower
(spin-waiting threads). Parallelism comes from ``n_jobs`` (joblib processes over candidates x folds).

**Saving** (:func:`save_classic` / :func:`load_classic`): the fitted scikit-learn objects are written
with ``skops.io`` (no pickle), and loading refuses any file that contains a type outside
:data:`TRUSTED_TYPES`, an explicit allow-list of the scikit-learn, NumPy and builtin types our pipelines
consist of. We do not store "hyperparameters + a reference to the training fold and refit" because a
checkpoint alone must be enough to predict (no corpus, cache or split needed), and a refit of a random
forest or MLP is only identical under the same library versions and thread settings. The chosen
hyperparameters are still recorded in the JSON metadata, so ``fit_classic(..., search="none",
params=best_params)`` reproduces the model from the same training data.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> y = np.repeat([0, 1], 40)
>>> X = rng.normal(size=(80, 5)) + y[:, None]
>>> groups = np.tile(["s1", "s2", "s3", "s4"], 20)
>>> model = fit_classic("classic_logreg", X, y, groups, inner_folds=2)
>>> model.predict(X[:3]).shape, sorted(model.best_params_)
((3,), ['clf__C'])
"""

from __future__ import annotations

import difflib
import hashlib
import json
import time
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import sklearn
from scipy.stats import loguniform, randint
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_selection import VarianceThreshold
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, get_scorer_names
from sklearn.model_selection import GridSearchCV, GroupKFold, RandomizedSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from serkit._io import atomic_path, atomic_write_text
from serkit.errors import CheckpointError, ParameterError
from serkit.features.normalise import NotFittedError

__all__ = [
    "CLASSIC_LEARNERS",
    "META_FILE",
    "MODEL_FILE",
    "SURVEY",
    "TRUSTED_TYPES",
    "ClassicInfo",
    "ClassicModel",
    "ClassicSpec",
    "classic_info",
    "classic_param_grid",
    "fit_classic",
    "is_classic",
    "list_classic",
    "load_classic",
    "make_classic_pipeline",
    "register_classic",
    "save_classic",
    "train_classic_fold",
]

# The paper's file name under shared/papers, as the torch models give it (sec. 3 and Table 1 of the
# survey: SVM, kNN, LDA, random forest, logistic regression, ANN).
SURVEY = "survey-audio-emotion-classification"

PREFIX = "classic_"
MODEL_FILE = "model.skops"
META_FILE = "classic.json"
FORMAT = "serkit-classic"
FORMAT_VERSION = 1

SearchKind = Literal["grid", "random", "none"]
Grid = dict[str, Any] | list[dict[str, Any]]


# --------------------------------------------------------------------------------------------
# registry


@dataclass(frozen=True)
class ClassicSpec:
    """One registered classic learner.

    ``build(seed)`` returns an unfitted pipeline whose last step is named ``"clf"``; ``grid`` is a
    :class:`~sklearn.model_selection.ParameterGrid` spec (a dict or a list of dicts of candidate lists,
    keys in pipeline form ``step__param``), ``distributions`` the matching
    :class:`~sklearn.model_selection.ParameterSampler` spec for ``search="random"``; ``proba`` is
    ``"native"`` or ``"calibrated"`` (SVMs).
    """

    name: str
    description: str
    build: Callable[[int], Pipeline]
    grid: Grid
    distributions: Grid
    proba: Literal["native", "calibrated"]
    paper: str = SURVEY


@dataclass(frozen=True)
class ClassicInfo:
    """What :func:`classic_info` reports: ``inputs`` maps a role to a stream kind (as ``model_info``)."""

    name: str
    paper: str
    description: str
    inputs: dict[str, str]
    grid: Grid
    distributions: Grid
    defaults: dict[str, Any]
    proba: str


CLASSIC_LEARNERS: dict[str, ClassicSpec] = {}
"""Registered classic learners by name (all names start with ``classic_``)."""


def register_classic(
    name: str,
    *,
    description: str,
    grid: Grid,
    distributions: Grid,
    proba: Literal["native", "calibrated"] = "native",
    paper: str = SURVEY,
) -> Callable[[Callable[[int], Pipeline]], Callable[[int], Pipeline]]:
    """Decorator registering a pipeline builder ``build(seed) -> Pipeline`` as a classic learner.

    Raises
    ------
    ParameterError
        If ``name`` does not start with ``classic_`` or is already registered.
    """
    if not name.startswith(PREFIX):
        raise ParameterError(f"A classic learner's name must start with {PREFIX!r}. Got {name!r}.")

    def deco(build: Callable[[int], Pipeline]) -> Callable[[int], Pipeline]:
        if name in CLASSIC_LEARNERS:
            raise ParameterError(f"The classic learner {name!r} is already registered; pick another name.")
        CLASSIC_LEARNERS[name] = ClassicSpec(name, description, build, grid, distributions, proba, paper)
        return build

    return deco


def _base_steps() -> list[tuple[str, Any]]:
    return [("var", VarianceThreshold(threshold=0.0)), ("scale", StandardScaler())]


_C_GRID = [0.01, 0.1, 1.0, 10.0, 100.0]  # 10^[-2..2], the survey's / libsvm guide's usual range


@register_classic(
    "classic_svm_linear",
    description="linear-kernel SVM (libsvm, one-vs-one), class_weight='balanced'",
    grid={"clf__C": _C_GRID},
    distributions={"clf__C": loguniform(1e-2, 1e2)},
    proba="calibrated",
)
def _svm_linear(seed: int) -> Pipeline:
    # libsvm rather than liblinear's LinearSVC: on EmoDB functionals (430 x 147) LinearSVC took 0.5-3 s per
    # fit for C >= 1 (primal and dual), SVC(kernel="linear") 0.02-0.05 s; libsvm is also deterministic.
    clf = SVC(kernel="linear", C=1.0, class_weight="balanced")
    return Pipeline([*_base_steps(), ("clf", clf)])


@register_classic(
    "classic_svm_rbf",
    description="RBF-kernel SVM (libsvm, one-vs-one), class_weight='balanced'",
    grid={"clf__C": _C_GRID, "clf__gamma": ["scale", 1e-3, 1e-2, 1e-1]},
    distributions=[
        {"clf__C": loguniform(1e-2, 1e2), "clf__gamma": ["scale"]},
        {"clf__C": loguniform(1e-2, 1e2), "clf__gamma": loguniform(1e-4, 1e0)},
    ],
    proba="calibrated",
)
def _svm_rbf(seed: int) -> Pipeline:
    clf = SVC(kernel="rbf", C=1.0, gamma="scale", class_weight="balanced")
    return Pipeline([*_base_steps(), ("clf", clf)])


@register_classic(
    "classic_knn",
    description="k-nearest neighbours (Euclidean) after optional PCA",
    grid={
        "clf__n_neighbors": [1, 3, 5, 9, 15],
        "clf__weights": ["uniform", "distance"],
        "pca__n_components": [None, 0.95],
    },
    distributions={
        "clf__n_neighbors": randint(1, 31),
        "clf__weights": ["uniform", "distance"],
        "pca__n_components": [None, 0.8, 0.9, 0.95, 0.99],
    },
)
def _knn(seed: int) -> Pipeline:
    # PCA(None) keeps every component (a rotation: Euclidean distances unchanged); a float keeps the
    # components explaining that fraction of the training fold's variance.
    pca = PCA(n_components=None, random_state=seed)
    return Pipeline([*_base_steps(), ("pca", pca), ("clf", KNeighborsClassifier(n_neighbors=5))])


@register_classic(
    "classic_lda",
    description="multi-class linear discriminant analysis (svd, or shrinkage covariance)",
    grid=[
        {"clf__solver": ["svd"]},
        {"clf__solver": ["lsqr"], "clf__shrinkage": ["auto", 0.1, 0.5, 0.9]},
    ],
    distributions=[
        {"clf__solver": ["svd"]},
        {"clf__solver": ["lsqr"], "clf__shrinkage": ["auto"]},
        {"clf__solver": ["lsqr"], "clf__shrinkage": loguniform(1e-3, 1.0)},
    ],
)
def _lda(seed: int) -> Pipeline:
    return Pipeline([*_base_steps(), ("clf", LinearDiscriminantAnalysis(solver="svd"))])


@register_classic(
    "classic_rf",
    description="random forest, class_weight='balanced'",
    grid={
        "clf__n_estimators": [100, 300],
        "clf__max_depth": [None, 16],
        "clf__max_features": ["sqrt", 0.2],
    },
    distributions={
        "clf__n_estimators": [100, 200, 300, 500],
        "clf__max_depth": [None, 8, 16, 32],
        "clf__max_features": ["sqrt", "log2", 0.1, 0.2, 0.4],
        "clf__min_samples_leaf": [1, 2, 4],
    },
)
def _rf(seed: int) -> Pipeline:
    clf = RandomForestClassifier(n_estimators=300, class_weight="balanced", random_state=seed, n_jobs=1)
    return Pipeline([*_base_steps(), ("clf", clf)])


@register_classic(
    "classic_logreg",
    description="multinomial logistic regression (L2, lbfgs), class_weight='balanced'",
    grid={"clf__C": [0.001, 0.01, 0.1, 1.0, 10.0, 100.0]},
    distributions={"clf__C": loguniform(1e-3, 1e2)},
)
def _logreg(seed: int) -> Pipeline:
    clf = LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000, random_state=seed)
    return Pipeline([*_base_steps(), ("clf", clf)])


@register_classic(
    "classic_mlp",
    description="multi-layer perceptron (ReLU, Adam, early stopping on 10 % of its training rows)",
    grid={
        "clf__hidden_layer_sizes": [(64,), (128,), (128, 64)],
        "clf__alpha": [1e-4, 1e-3, 1e-2, 1e-1],
    },
    distributions={
        "clf__hidden_layer_sizes": [(32,), (64,), (128,), (256,), (64, 32), (128, 64), (256, 128)],
        "clf__alpha": loguniform(1e-5, 1.0),
        "clf__learning_rate_init": loguniform(1e-4, 1e-2),
    },
)
def _mlp(seed: int) -> Pipeline:
    clf = MLPClassifier(
        hidden_layer_sizes=(128,),
        alpha=1e-3,
        max_iter=300,
        early_stopping=True,
        n_iter_no_change=10,
        random_state=seed,
    )
    return Pipeline([*_base_steps(), ("clf", clf)])


def list_classic() -> list[str]:
    """Names of all registered classic learners, sorted."""
    return sorted(CLASSIC_LEARNERS)


def is_classic(name: str) -> bool:
    """Whether ``name`` names a classic learner (the ``classic_`` prefix the trainer dispatches on)."""
    return isinstance(name, str) and name.startswith(PREFIX)


def _spec(name: str, func: str) -> ClassicSpec:
    try:
        return CLASSIC_LEARNERS[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), list(CLASSIC_LEARNERS), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ParameterError(
            f"The 'name' parameter of {func} must be a classic learner. Got {name!r}.{hint} "
            f"Known: {', '.join(list_classic())}."
        ) from None


def make_classic_pipeline(name: str, *, seed: int = 0) -> Pipeline:
    """A fresh, unfitted pipeline of the classic learner ``name`` (default hyperparameters).

    Raises
    ------
    ParameterError
        For an unknown name (with close matches).
    """
    return _spec(name, "make_classic_pipeline").build(seed)


def _copy_grid(grid: Grid) -> Grid:
    if isinstance(grid, Mapping):
        return {k: (list(v) if isinstance(v, list | tuple) else v) for k, v in grid.items()}
    return [_copy_grid(g) for g in grid]  # type: ignore[misc]


def classic_param_grid(name: str, *, search: Literal["grid", "random"] = "grid") -> Grid:
    """A copy of the learner's documented search space (``step__param`` keys).

    ``search="grid"``: candidate lists for ``GridSearchCV``; ``"random"``: lists or scipy
    distributions for ``RandomizedSearchCV``.
    """
    spec = _spec(name, "classic_param_grid")
    if search not in ("grid", "random"):
        raise ParameterError(
            f"The 'search' parameter of classic_param_grid must be 'grid' or 'random'. Got {search!r}."
        )
    return _copy_grid(spec.grid if search == "grid" else spec.distributions)


def classic_info(name: str) -> ClassicInfo:
    """Paper, description, input kind, search spaces and default (estimator) hyperparameters of ``name``."""
    spec = _spec(name, "classic_info")
    clf = spec.build(0).named_steps["clf"]
    return ClassicInfo(
        name=spec.name,
        paper=spec.paper,
        description=spec.description,
        inputs={"features": "vector"},
        grid=_copy_grid(spec.grid),
        distributions=_copy_grid(spec.distributions),
        defaults=_jsonable(clf.get_params(deep=False)),
        proba=spec.proba,
    )


# --------------------------------------------------------------------------------------------
# validation helpers


def _jsonable(value: Any) -> Any:
    """Plain JSON data: numpy scalars -> Python, tuples -> lists, non-data objects -> repr."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def _check_X(X: Any, func: str, what: str = "X", n_features: int | None = None) -> np.ndarray:
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"The '{what}' parameter of {func} must be a numeric (n_rows, n_features) array. Got {exc}."
        ) from None
    if arr.ndim != 2:
        raise ParameterError(
            f"The '{what}' parameter of {func} must be 2-D (n_rows, n_features): one functional vector per "
            f"utterance. Got shape {arr.shape}; stack the utterance vectors (np.stack) first."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ParameterError(f"The '{what}' parameter of {func} is empty. Got shape {arr.shape}.")
    if n_features is not None and arr.shape[1] != n_features:
        raise ParameterError(
            f"The '{what}' parameter of {func} has {arr.shape[1]} features, but the model was fitted on "
            f"{n_features}. Use the same feature frontend(s) as in training."
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        raise ParameterError(
            f"The '{what}' parameter of {func} contains NaN or infinite values in {len(rows)} row(s) "
            f"(first: row {int(rows[0])}). Drop those utterances (e.g. silent or too-short audio) or fix "
            f"the frontend that produced them."
        )
    return arr


def _check_1d(values: Any, func: str, what: str, n: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ParameterError(
            f"The '{what}' parameter of {func} must be 1-D with one entry per row of X ({n}). "
            f"Got shape {arr.shape}."
        )
    return arr


def _pipeline_keys(pipe: Pipeline) -> list[str]:
    return sorted(k for k in pipe.get_params(deep=True) if "__" in k and k.split("__", 1)[0] != "steps")


def _resolve_key(key: str, valid: list[str], func: str, what: str) -> str:
    """``C`` -> ``clf__C``; ``pca__n_components`` stays; anything else is an error with close matches."""
    full = key if "__" in key else f"clf__{key}"
    if full in valid:
        return full
    bare = [v.split("__", 1)[1] if v.startswith("clf__") else v for v in valid]
    close = difflib.get_close_matches(key, sorted(set(bare) | set(valid)), n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ParameterError(
        f"Unknown hyperparameter {key!r} in the '{what}' parameter of {func}.{hint} Use an estimator "
        f"parameter (e.g. 'C') or a pipeline key 'step__param' (steps: var, scale, [pca,] clf)."
    )


def _resolve_params(params: Mapping[str, Any] | None, valid: list[str], func: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (params or {}).items():
        # JSON turns tuples (MLP hidden_layer_sizes) into lists; a single value is never a list.
        out[_resolve_key(str(key), valid, func, "params")] = (
            tuple(value) if isinstance(value, list) else value
        )
    return out


def _resolve_grid(grid: Grid, valid: list[str], func: str, fixed: Mapping[str, Any]) -> list[dict[str, Any]]:
    dicts = [grid] if isinstance(grid, Mapping) else list(grid)
    out: list[dict[str, Any]] = []
    for d in dicts:
        if not isinstance(d, Mapping):
            raise ParameterError(
                f"The 'grid' parameter of {func} must be a dict (or list of dicts) of candidate lists. "
                f"Got {d!r}."
            )
        resolved = {}
        for key, cands in d.items():
            full = _resolve_key(str(key), valid, func, "grid")
            if full in fixed:
                continue  # a fixed hyperparameter is not searched
            if isinstance(cands, list | tuple) and len(cands) == 0:
                raise ParameterError(
                    f"The grid entry {key!r} of {func} has no candidates; give at least one."
                )
            # JSON configs give tuples (MLP hidden_layer_sizes) as lists: candidates become tuples again.
            resolved[full] = (
                [tuple(c) if isinstance(c, list) else c for c in cands]
                if isinstance(cands, list | tuple)
                else cands
            )
        if resolved not in out:
            out.append(resolved)
    return out or [{}]


def _inner_splits(
    y: np.ndarray, groups: np.ndarray, inner_folds: int, func: str
) -> list[tuple[np.ndarray, np.ndarray]]:
    speakers = np.unique(groups)
    if len(speakers) < 2:
        raise ParameterError(
            f"{func} chooses hyperparameters by speaker-grouped inner cross-validation and needs at least 2 "
            f"training speakers. Got {len(speakers)} ({', '.join(map(str, speakers[:3]))}). Add training "
            f"speakers, or pass search='none' with fixed params (and probability=False for SVMs)."
        )
    n_splits = min(inner_folds, len(speakers))
    splits = list(GroupKFold(n_splits=n_splits).split(np.zeros((len(y), 1)), y, groups))
    for i, (tr, _) in enumerate(splits):
        if len(np.unique(y[tr])) < 2:
            raise ParameterError(
                f"{func}: inner fold {i} trains on speakers with one emotion only. Use fewer inner folds "
                f"(inner_folds < {n_splits}) or add speakers with several emotions."
            )
    return splits


# --------------------------------------------------------------------------------------------
# the model


class ClassicModel:
    """A classic learner with hyperparameters chosen by speaker-grouped inner CV.

    Follows the scikit-learn contract: ``__init__`` stores its arguments, :meth:`fit` returns ``self``
    and sets the trailing-underscore attributes, :meth:`predict` checks that ``fit`` ran.

    Parameters
    ----------
    name : str
        A registered learner (:func:`list_classic`).
    params : mapping, optional
        Fixed hyperparameters: estimator names (``C``) or pipeline keys (``pca__n_components``). They are
        set on the pipeline and removed from the search space.
    grid : dict or list of dicts, optional
        Replaces the learner's search space (candidate lists, or scipy distributions for random search).
    search : {"grid", "random", "none"}
        ``GridSearchCV``, ``RandomizedSearchCV`` (``n_iter`` draws, ``random_state=seed``), or no search
        (defaults + ``params``).
    inner_folds : int >= 2
        Inner ``GroupKFold`` folds, capped at the number of training speakers.
    n_iter : int >= 1
        Candidates drawn by the random search.
    seed : int >= 0
        Seeds the estimators (random forest, MLP, PCA) and the random search.
    scoring : str
        A scikit-learn scorer name; ``"balanced_accuracy"`` is unweighted accuracy (UA).
    n_jobs : int
        Parallel jobs of the search and calibration (joblib).
    probability : bool
        Fit :meth:`predict_proba` for the SVMs (speaker-grouped sigmoid calibration); other learners
        always have it.

    Attributes
    ----------
    classes_ : np.ndarray [shape=(n_classes,)]
        Sorted class labels seen in ``fit``.
    best_params_ : dict
        The chosen hyperparameters (pipeline keys, JSON-able), including fixed ``params``.
    best_score_ : float or None
        Mean inner-CV score of the chosen candidate (None for ``search="none"``).
    cv_results_ : list of dict
        One row per candidate: ``params``, ``mean_test_score``, ``std_test_score``, ``rank``.
    inner_folds_ : int
        Inner folds actually used (0 without a search).
    pipeline_ : Pipeline
        The tuned pipeline refitted on the whole training fold.
    calibrated_ : CalibratedClassifierCV or None
        The SVMs' probability model.
    n_features_in_ : int
    fit_time_s_ : float
    """

    def __init__(
        self,
        name: str,
        *,
        params: Mapping[str, Any] | None = None,
        grid: Grid | None = None,
        search: SearchKind = "grid",
        inner_folds: int = 5,
        n_iter: int = 20,
        seed: int = 0,
        scoring: str = "balanced_accuracy",
        n_jobs: int = 1,
        probability: bool = True,
    ) -> None:
        self.name = name
        self.params = params
        self.grid = grid
        self.search = search
        self.inner_folds = inner_folds
        self.n_iter = n_iter
        self.seed = seed
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.probability = probability

    def __repr__(self) -> str:
        state = f", best_params_={self.best_params_}" if self._fitted() else ""
        return f"ClassicModel({self.name!r}, search={self.search!r}{state})"

    def _fitted(self) -> bool:
        return hasattr(self, "pipeline_")

    def _check_settings(self, func: str) -> None:
        if self.search not in ("grid", "random", "none"):
            raise ParameterError(
                f"The 'search' parameter of {func} must be 'grid', 'random' or 'none'. Got {self.search!r}."
            )
        for what, value, low in (("inner_folds", self.inner_folds, 2), ("n_iter", self.n_iter, 1)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise ParameterError(
                    f"The '{what}' parameter of {func} must be an int >= {low}. Got {value!r}."
                )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer) or self.seed < 0:
            raise ParameterError(f"The 'seed' parameter of {func} must be an int >= 0. Got {self.seed!r}.")
        if self.scoring not in get_scorer_names():
            close = difflib.get_close_matches(str(self.scoring), get_scorer_names(), n=3)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ParameterError(
                f"The 'scoring' parameter of {func} must be a scikit-learn scorer name. "
                f"Got {self.scoring!r}.{hint}"
            )

    def fit(self, X: Any, y: Any, groups: Any) -> ClassicModel:
        """Choose hyperparameters by inner speaker-grouped CV on ``(X, y, groups)`` and refit on all of it.

        Parameters
        ----------
        X : np.ndarray [shape=(n_rows, n_features)]
            Training-fold feature vectors, finite.
        y : array-like [shape=(n_rows,)]
            Class labels (ints or strings), at least two distinct.
        groups : array-like [shape=(n_rows,)]
            Speaker of each row; inner folds never split a speaker.

        Returns
        -------
        self

        Raises
        ------
        ParameterError
            Wrong shapes, NaN/inf features, one class, fewer than 2 speakers for the inner CV, unknown
            learner or hyperparameter.
        """
        func = "fit_classic"
        spec = _spec(self.name, func)
        self._check_settings(func)
        X = _check_X(X, func)
        y = _check_1d(y, func, "y", X.shape[0])
        groups = _check_1d(groups, func, "groups", X.shape[0])
        classes = np.unique(y)
        if len(classes) < 2:
            raise ParameterError(
                f"{func} needs at least 2 emotion classes in the training fold. Got only {classes.tolist()}."
            )

        pipe = spec.build(int(self.seed))
        valid = _pipeline_keys(pipe)
        fixed = _resolve_params(self.params, valid, func)
        pipe.set_params(**fixed)
        calibrate = self.probability and spec.proba == "calibrated"
        need_cv = self.search != "none" or calibrate
        splits = _inner_splits(y, groups, int(self.inner_folds), func) if need_cv else []

        start = time.perf_counter()
        if self.search == "none":
            with threadpool_limits(limits=1):
                best = clone(pipe).fit(X, y)
            self.best_params_ = _jsonable(fixed)
            self.best_score_ = None
            self.cv_results_ = []
        else:
            space = _resolve_grid(
                self.grid
                if self.grid is not None
                else (spec.grid if self.search == "grid" else spec.distributions),
                valid,
                func,
                fixed,
            )
            if self.search == "grid":
                searcher: GridSearchCV | RandomizedSearchCV = GridSearchCV(
                    pipe, space, scoring=self.scoring, cv=splits, refit=True, n_jobs=self.n_jobs
                )
            else:
                searcher = RandomizedSearchCV(
                    pipe,
                    space,
                    n_iter=int(self.n_iter),
                    scoring=self.scoring,
                    cv=splits,
                    refit=True,
                    n_jobs=self.n_jobs,
                    random_state=int(self.seed),
                )
            with warnings.catch_warnings(), threadpool_limits(limits=1):
                # A total grid smaller than n_iter: the random search then tries each candidate once.
                warnings.filterwarnings("ignore", message="The total space of parameters")
                searcher.fit(X, y)
            best = searcher.best_estimator_
            self.best_params_ = _jsonable({**fixed, **searcher.best_params_})
            self.best_score_ = float(searcher.best_score_)
            res = searcher.cv_results_
            self.cv_results_ = [
                {
                    "params": _jsonable(res["params"][i]),
                    "mean_test_score": float(res["mean_test_score"][i]),
                    "std_test_score": float(res["std_test_score"][i]),
                    "rank": int(res["rank_test_score"][i]),
                }
                for i in range(len(res["params"]))
            ]
        self.calibrated_ = None
        if calibrate:
            # Platt scaling of out-of-fold decision values over the same speaker-grouped inner folds,
            # then one SVM (same hyperparameters) on the whole training fold.
            with threadpool_limits(limits=1):
                self.calibrated_ = CalibratedClassifierCV(
                    clone(best), method="sigmoid", cv=splits, ensemble=False, n_jobs=self.n_jobs
                ).fit(X, y)
        self.fit_time_s_ = time.perf_counter() - start
        self.pipeline_ = best
        self.classes_ = best.classes_
        self.n_features_in_ = X.shape[1]
        self.inner_folds_ = len(splits) if self.search != "none" else 0
        return self

    def _check_predict(self, X: Any, func: str) -> np.ndarray:
        if not self._fitted():
            raise NotFittedError(f"This ClassicModel({self.name!r}) is not fitted yet; call fit() first.")
        return _check_X(X, func, n_features=self.n_features_in_)

    def predict(self, X: Any) -> np.ndarray:
        """Class labels ``[shape=(n_rows,)]`` (values of :attr:`classes_`) for feature vectors ``X``."""
        X = self._check_predict(X, "ClassicModel.predict")
        with threadpool_limits(limits=1):
            return self.pipeline_.predict(X)

    @property
    def has_proba(self) -> bool:
        """Whether :meth:`predict_proba` is available (False only for SVMs fitted with probability=False)."""
        if not self._fitted():
            return False
        return self.calibrated_ is not None or hasattr(self.pipeline_, "predict_proba")

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``[shape=(n_rows, n_classes)]``, columns in :attr:`classes_` order.

        Raises
        ------
        ParameterError
            For an SVM fitted with ``probability=False``.
        """
        X = self._check_predict(X, "ClassicModel.predict_proba")
        if not self.has_proba:
            raise ParameterError(
                f"{self.name} was fitted with probability=False, so it has no predict_proba. "
                f"Refit with probability=True."
            )
        with threadpool_limits(limits=1):
            if self.calibrated_ is not None:
                return self.calibrated_.predict_proba(X)
            return self.pipeline_.predict_proba(X)


def fit_classic(
    name: str,
    X: Any,
    y: Any,
    groups: Any,
    *,
    params: Mapping[str, Any] | None = None,
    grid: Grid | None = None,
    search: SearchKind = "grid",
    inner_folds: int = 5,
    n_iter: int = 20,
    seed: int = 0,
    scoring: str = "balanced_accuracy",
    n_jobs: int = 1,
    probability: bool = True,
) -> ClassicModel:
    """Fit the classic learner ``name`` on one training fold; see :class:`ClassicModel` for the options.

    Hyperparameters are chosen by ``GridSearchCV`` / ``RandomizedSearchCV`` over
    ``GroupKFold(min(inner_folds, n_speakers))`` on ``(X, y, groups)`` only, then the pipeline
    (variance filter, scaler, estimator) is refitted on all of it.

    Returns
    -------
    ClassicModel
        Fitted: ``predict``, ``predict_proba``, ``classes_``, ``best_params_``, ``best_score_``,
        ``cv_results_``.
    """
    return ClassicModel(
        name,
        params=params,
        grid=grid,
        search=search,
        inner_folds=inner_folds,
        n_iter=n_iter,
        seed=seed,
        scoring=scoring,
        n_jobs=n_jobs,
        probability=probability,
    ).fit(X, y, groups)


# --------------------------------------------------------------------------------------------
# one fold for `serkit train`


def _label_indices(y: Any, label_names: list[str], what: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.dtype.kind in "iu":
        bad = (arr < 0) | (arr >= len(label_names))
        if bad.any():
            raise ParameterError(
                f"train_classic_fold: {what} labels must be indices in [0, {len(label_names)}) of label_names. "
                f"Got {int(arr[bad][0])}."
            )
        return arr.astype(np.int64)
    index = {name: i for i, name in enumerate(label_names)}
    out = np.empty(arr.shape[0], dtype=np.int64)
    for i, lab in enumerate(arr.tolist()):
        if lab not in index:
            raise ParameterError(
                f"train_classic_fold: {what} label {lab!r} is not in label_names {label_names}. "
                f"Map the corpus labels onto the label set first."
            )
        out[i] = index[lab]
    return out


def _predict_block(model: ClassicModel, X: np.ndarray, n_labels: int) -> tuple[np.ndarray, np.ndarray | None]:
    pred = model.predict(X).astype(np.int64)
    if not model.has_proba:
        return pred, None
    proba = np.zeros((X.shape[0], n_labels), dtype=np.float64)
    proba[:, model.classes_.astype(np.int64)] = model.predict_proba(X)  # classes absent in training: 0
    return pred, proba


def train_classic_fold(
    name: str,
    train: tuple[Any, Any, Any],
    test: tuple[Any, Sequence[str]],
    *,
    label_names: Sequence[str],
    val: tuple[Any, Any, Any, Sequence[str]] | None = None,
    merge_val: bool = False,
    params: Mapping[str, Any] | None = None,
    grid: Grid | None = None,
    search: SearchKind = "grid",
    inner_folds: int = 5,
    n_iter: int = 20,
    seed: int = 0,
    scoring: str = "balanced_accuracy",
    n_jobs: int = 1,
    probability: bool = True,
    feature_spec: str | Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Train a classic learner on one outer fold and predict its test part.

    Parameters
    ----------
    name : str
        A classic learner (``classic_svm_rbf``, ...).
    train : (X, y, groups)
        ``X`` [shape=(n_train, n_features)]; ``y`` class indices into ``label_names`` or label strings;
        ``groups`` the speaker of each row.
    test : (X, ids)
        Test feature vectors and their utterance ids. Never used in fitting or selection.
    label_names : sequence of str
        The label set, in index order (probability columns follow it).
    val : (X, y, groups, ids), optional
        The fold's validation speakers (training side). By default they are only predicted and scored
        (the inner CV already chooses hyperparameters); with ``merge_val=True`` they join the training
        rows instead.
    feature_spec : str or mapping, optional
        Frontend spec(s) of the feature columns, recorded on the model for :func:`save_classic`.
    params, grid, search, inner_folds, n_iter, seed, scoring, n_jobs, probability
        As :func:`fit_classic`.

    Returns
    -------
    dict
        ``name``, ``label_names``, ``ids`` (test ids), ``pred`` (label names), ``pred_index`` (int
        array), ``proba`` (``(n_test, n_labels)`` float array in label_names order, or None),
        ``best_params``, ``best_score`` (inner CV), ``cv_results``, ``inner_folds``, ``n_train``,
        ``n_train_speakers``, ``fit_s``, ``predict_s``, ``val`` (None, or ``ids``/``pred``/``pred_index``/
        ``proba``/``balanced_accuracy``), and ``model`` (the fitted :class:`ClassicModel`, for
        :func:`save_classic`).
    """
    func = "train_classic_fold"
    labels = [str(s) for s in label_names]
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise ParameterError(
            f"The 'label_names' parameter of {func} must be >= 2 distinct names. Got {labels}."
        )
    try:
        X_tr, y_tr, g_tr = train
        X_te, ids_te = test
    except (TypeError, ValueError):
        raise ParameterError(f"{func}: 'train' must be (X, y, groups) and 'test' must be (X, ids).") from None
    X_tr = _check_X(X_tr, func, "train X")
    y_tr = _label_indices(_check_1d(y_tr, func, "train y", X_tr.shape[0]), labels, "train")
    g_tr = _check_1d(g_tr, func, "train groups", X_tr.shape[0])
    X_te = _check_X(X_te, func, "test X", n_features=X_tr.shape[1])
    ids_te = [str(i) for i in _check_1d(np.asarray(ids_te, dtype=object), func, "test ids", X_te.shape[0])]

    val_block = None
    if val is not None:
        try:
            X_va, y_va, g_va, ids_va = val
        except (TypeError, ValueError):
            raise ParameterError(f"{func}: 'val' must be (X, y, groups, ids).") from None
        X_va = _check_X(X_va, func, "val X", n_features=X_tr.shape[1])
        y_va = _label_indices(_check_1d(y_va, func, "val y", X_va.shape[0]), labels, "val")
        g_va = _check_1d(g_va, func, "val groups", X_va.shape[0])
        ids_va = [str(i) for i in _check_1d(np.asarray(ids_va, dtype=object), func, "val ids", X_va.shape[0])]
        if merge_val:
            X_tr = np.concatenate([X_tr, X_va])
            y_tr = np.concatenate([y_tr, y_va])
            g_tr = np.concatenate([g_tr.astype(object), g_va.astype(object)])
        else:
            val_block = (X_va, y_va, ids_va)

    model = fit_classic(
        name,
        X_tr,
        y_tr,
        g_tr,
        params=params,
        grid=grid,
        search=search,
        inner_folds=inner_folds,
        n_iter=n_iter,
        seed=seed,
        scoring=scoring,
        n_jobs=n_jobs,
        probability=probability,
    )
    model.label_names_ = labels
    model.feature_spec_ = None if feature_spec is None else _jsonable(feature_spec)

    start = time.perf_counter()
    pred, proba = _predict_block(model, X_te, len(labels))
    predict_s = time.perf_counter() - start
    val_out = None
    if val_block is not None:
        X_va, y_va, ids_va = val_block
        vpred, vproba = _predict_block(model, X_va, len(labels))
        val_out = {
            "ids": ids_va,
            "pred": [labels[i] for i in vpred],
            "pred_index": vpred,
            "proba": vproba,
            "balanced_accuracy": float(balanced_accuracy_score(y_va, vpred)),
        }
    return {
        "name": name,
        "label_names": labels,
        "ids": ids_te,
        "pred": [labels[i] for i in pred],
        "pred_index": pred,
        "proba": proba,
        "best_params": model.best_params_,
        "best_score": model.best_score_,
        "cv_results": model.cv_results_,
        "inner_folds": model.inner_folds_,
        "n_train": int(X_tr.shape[0]),
        "n_train_speakers": len(np.unique(g_tr.astype(str))),
        "fit_s": model.fit_time_s_,
        "predict_s": predict_s,
        "val": val_out,
        "model": model,
    }


# --------------------------------------------------------------------------------------------
# saving (skops, explicit allow-list)

TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        # containers and scalars skops writes
        "builtins.dict",
        "builtins.list",
        "builtins.tuple",
        "builtins.str",
        "numpy.ndarray",
        "numpy.float64",
        "numpy.int64",
        "numpy.random.mtrand.RandomState",
        # pipeline steps
        "sklearn.pipeline.Pipeline",
        "sklearn.feature_selection._variance_threshold.VarianceThreshold",
        "sklearn.preprocessing._data.StandardScaler",
        "sklearn.preprocessing._label.LabelBinarizer",
        "sklearn.decomposition._pca.PCA",
        # estimators
        "sklearn.svm._classes.SVC",
        "sklearn.neighbors._classification.KNeighborsClassifier",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.discriminant_analysis.LinearDiscriminantAnalysis",
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.tree._classes.DecisionTreeClassifier",
        "sklearn.tree._tree.Tree",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.neural_network._multilayer_perceptron.MLPClassifier",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        # SVM probability calibration
        "sklearn.calibration.CalibratedClassifierCV",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
    }
)
"""Every type a saved classic model may contain (``module.qualname``); :func:`load_classic` refuses others."""


def _schema_types(path: Path) -> set[str]:
    """All ``module.class`` names in a skops file's schema (default-trusted types included)."""
    try:
        with zipfile.ZipFile(path) as zf:
            schema = json.loads(zf.read("schema.json"))
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise ParameterError(
            f"'{path}' is not a readable skops file ({exc}). Save it again with save_classic."
        ) from None
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "__module__" in node and "__class__" in node:
                found.add(f"{node['__module__']}.{node['__class__']}")
            content = node.get("content")
            if isinstance(content, dict) and "module_path" in content:  # a function / method reference
                found.add(f"{content['module_path']}.{content.get('function', '?')}")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    return found


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_classic(
    model: ClassicModel,
    out_dir: str | Path,
    *,
    label_names: Sequence[str] | None = None,
    feature_spec: str | Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a fitted classic model to ``out_dir``: ``model.skops`` (skops.io, no pickle) + ``classic.json``.

    ``classic.json`` holds the learner name, search settings, chosen and fixed hyperparameters, inner-CV
    summary, classes, ``label_names`` (default: those set by :func:`train_classic_fold`, else the
    classes as strings), ``feature_spec``, ``extra`` (JSON-able, e.g. split digest, fold), library
    versions and the SHA-256 of ``model.skops``. Both files are written atomically.

    Returns
    -------
    Path
        ``out_dir``.
    """
    import skops.io as sio

    if not isinstance(model, ClassicModel) or not model._fitted():
        raise ParameterError(
            "save_classic needs a fitted ClassicModel (from fit_classic or train_classic_fold)."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if label_names is None:
        label_names = getattr(model, "label_names_", None) or [str(c) for c in model.classes_]
    if feature_spec is None:
        feature_spec = getattr(model, "feature_spec_", None)
    with atomic_path(out / MODEL_FILE) as tmp:
        sio.dump({"pipeline": model.pipeline_, "calibrated": model.calibrated_}, tmp)
        digest = _sha256(tmp)
    from serkit import __version__

    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": model.name,
        "settings": _jsonable(
            {
                "params": dict(model.params or {}),
                "search": model.search,
                "inner_folds": model.inner_folds,
                "n_iter": model.n_iter,
                "seed": model.seed,
                "scoring": model.scoring,
                "probability": model.probability,
            }
        ),
        "best_params": model.best_params_,
        "best_score": model.best_score_,
        "inner_folds_used": model.inner_folds_,
        "cv_results": model.cv_results_,
        "classes": _jsonable(model.classes_),
        "label_names": [str(s) for s in label_names],
        "feature_spec": _jsonable(feature_spec),
        "n_features_in": int(model.n_features_in_),
        "fit_time_s": model.fit_time_s_,
        "model_file": MODEL_FILE,
        "model_sha256": digest,
        "versions": {"serkit": __version__, "sklearn": sklearn.__version__, "numpy": np.__version__},
        "extra": _jsonable(dict(extra or {})),
    }
    atomic_write_text(out / META_FILE, json.dumps(meta, indent=2) + "\n")
    return out


def load_classic(model_dir: str | Path) -> ClassicModel:
    """Load a model written by :func:`save_classic`, refusing files with types outside :data:`TRUSTED_TYPES`.

    The returned model predicts as the saved one; its metadata is in ``meta_`` (the ``classic.json``
    dict), ``label_names_`` and ``feature_spec_``.

    Raises
    ------
    CheckpointError
        Missing or foreign files, a ``model.skops`` changed since saving (SHA-256 mismatch), or a type
        not on the allow-list (the file could run code when loaded: it is never loaded).
    """
    import skops.io as sio

    root = Path(model_dir)
    meta_path = root / META_FILE
    if not meta_path.is_file():
        raise CheckpointError(f"No {META_FILE} in '{root}'. Pass the folder that save_classic wrote.")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"'{meta_path}' is not valid JSON ({exc}). Save the model again.") from None
    if (
        not isinstance(meta, dict)
        or meta.get("format") != FORMAT
        or meta.get("format_version") != FORMAT_VERSION
    ):
        raise CheckpointError(
            f"'{meta_path}' is not a serkit classic model (format {FORMAT!r} v{FORMAT_VERSION}). "
            f"Got {meta.get('format') if isinstance(meta, dict) else meta!r}."
        )
    path = root / str(meta.get("model_file", MODEL_FILE))
    if not path.is_file() or path.parent != root:
        raise CheckpointError(f"The model file '{path}' is missing. Save the model again.")
    if _sha256(path) != meta.get("model_sha256"):
        raise CheckpointError(
            f"'{path}' changed after it was saved (SHA-256 differs from {META_FILE}). Refusing to load it; "
            f"save the model again from its training run."
        )
    found = _schema_types(path)
    untrusted = set(sio.get_untrusted_types(file=path))
    refused = sorted((found | untrusted) - TRUSTED_TYPES)
    if refused:
        raise CheckpointError(
            f"Refusing to load '{path}': it contains type(s) serkit does not trust: {', '.join(refused)}. "
            f"A classic model holds only scikit-learn pipelines; do not load files from unknown sources."
        )
    obj = sio.load(path, trusted=sorted(untrusted))
    if (
        not isinstance(obj, dict)
        or not isinstance(obj.get("pipeline"), Pipeline)
        or not isinstance(obj.get("calibrated"), CalibratedClassifierCV | None)
    ):
        raise CheckpointError(f"'{path}' does not hold a serkit classic model. Save the model again.")
    saved_version = meta.get("versions", {}).get("sklearn")
    if saved_version and saved_version.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        warnings.warn(
            f"'{path}' was saved with scikit-learn {saved_version}; this is {sklearn.__version__}. "
            f"Predictions may differ slightly; retrain to be sure.",
            UserWarning,
            stacklevel=2,
        )
    settings = meta.get("settings", {})
    model = ClassicModel(
        str(meta["name"]),
        params=settings.get("params") or None,
        search=settings.get("search", "grid"),
        inner_folds=settings.get("inner_folds", 5),
        n_iter=settings.get("n_iter", 20),
        seed=settings.get("seed", 0),
        scoring=settings.get("scoring", "balanced_accuracy"),
        probability=settings.get("probability", True),
    )
    model.pipeline_ = obj["pipeline"]
    model.calibrated_ = obj.get("calibrated")
    model.classes_ = model.pipeline_.classes_
    model.best_params_ = meta.get("best_params", {})
    model.best_score_ = meta.get("best_score")
    model.cv_results_ = meta.get("cv_results", [])
    model.inner_folds_ = meta.get("inner_folds_used", 0)
    model.n_features_in_ = int(meta["n_features_in"])
    model.fit_time_s_ = meta.get("fit_time_s", 0.0)
    model.label_names_ = meta.get("label_names")
    model.feature_spec_ = meta.get("feature_spec")
    model.meta_ = meta
    return model
