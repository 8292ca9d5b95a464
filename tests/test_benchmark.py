"""``serkit benchmark`` on a synthetic corpus: result files per job, resume, Ctrl-C, ensembles, tables, CLI.

The corpus is generated audio in the generic adapter's ``<speaker>/<label>/<file>.wav`` layout (high pitch =
happy, low pitch = sad), six speakers. Two trained systems: logistic regression on hand-crafted functionals and
the MFCC simple RNN for one epoch (two seeds, ensembled); a third system combines them without training.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import typer
import yaml
from typer.testing import CliRunner

from serkit.benchmark import executors, load_definition, load_results, plan, render, run, write_docs
from serkit.benchmark import results as R
from serkit.benchmark.runner import Selection
from serkit.benchmark.table import BEGIN, END
from serkit.cli.benchmark import benchmark
from serkit.errors import BusyError

from synth import voiced, write

cli = typer.Typer(pretty_exceptions_enable=False)
cli.command("benchmark")(benchmark)


@cli.callback()
def _root() -> None:
    """A local app: the lead registers `benchmark` on serkit's own."""


runner = CliRunner()

DEFINITION = """\
corpora_dir: corpora
work: work
results: results
docs: docs/benchmarks.md
cache_dir: {cache}
reference: lr
corpora:
  toy: {{adapter: generic, options: {{speaker_folders: true}}, title: Toy}}
protocols:
  si:
    title: Speaker-independent
    split: {{protocol: loso}}
    corpus_splits:
      toy: {{protocol: group-kfold, n_folds: 2}}
  sd:
    title: Speaker-dependent
    speaker_independent: false
    split: {{protocol: speaker-dependent, n_folds: 2}}
    systems: [lr]
systems:
  lr:
    title: Functionals + LR
    group: baseline
    config: lr.yaml
    cost: 1
  rnn:
    title: MFCC RNN
    group: seed-paper
    config: rnn.yaml
    seeds: 2
    ensemble: true
    cost: 5
    paper: test-paper
    reported:
      - {{corpus: toy, value: 91.0, metric: accuracy, protocol: random split, speaker_independent: false, source: Table 9}}
  combo:
    title: LR + RNN
    group: best
    combine: [lr, rnn]
targets:
  toy: {{best: 60, from_scratch: 95}}
quick:
  systems: [lr]
  corpora: [toy]
  folds: 1
  results: quick
"""

LR = """\
data:
  inputs:
    feats: {frontend: "handcrafted", normaliser: none}
model:
  name: classic_logreg
  cfg: {search: none, params: {C: 1.0}}
train: {seed: 0}
"""

RNN = """\
data:
  inputs:
    mfcc: {frontend: "mfcc(n_mfcc=13, n_mels=32, n_fft=512, hop_length=320)", normaliser: corpus}
model:
  name: mfcc_rnn
  cfg: {units: 4}
optim: {name: adam, lr: 0.01}
train: {epochs: 1, batch_size: 8, patience: null, seed: 0}
"""


def make_toy(root: Path, n_speakers: int = 6, n_utts: int = 2) -> Path:
    for s in range(n_speakers):
        for label, f0 in (("happy", 260.0), ("sad", 110.0)):
            for k in range(n_utts):
                y = voiced(f0 * (1 + 0.03 * s), 0.5 + 0.1 * k, seed=100 * s + 10 * k + (label == "sad"))
                write(root / f"spk{s}" / label / f"u{k}.wav", y)
    return root


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Audio and a feature cache made once for the module (extraction is the slow part)."""
    base = tmp_path_factory.mktemp("bench-shared")
    make_toy(base / "corpora" / "toy")
    (base / "cache").mkdir()
    return base


@pytest.fixture
def bench(shared: Path, tmp_path: Path) -> Path:
    """A benchmark folder: definition, configs, the shared corpus and cache (linked), fresh work/results."""
    (tmp_path / "corpora").mkdir()
    (tmp_path / "corpora" / "toy").symlink_to(shared / "corpora" / "toy", target_is_directory=True)
    (tmp_path / "bench.yaml").write_text(DEFINITION.format(cache=shared / "cache"), encoding="utf-8")
    (tmp_path / "lr.yaml").write_text(LR, encoding="utf-8")
    (tmp_path / "rnn.yaml").write_text(RNN, encoding="utf-8")
    return tmp_path


class Counter:
    """Wraps executors.run_job: counts calls, and raises KeyboardInterrupt on call number ``interrupt_at``."""

    def __init__(self, interrupt_at: int | None = None) -> None:
        self.calls: list[str] = []
        self.interrupt_at = interrupt_at
        self.real = executors.run_job

    def __call__(self, job):
        self.calls.append(job.name)
        if self.interrupt_at is not None and len(self.calls) == self.interrupt_at:
            raise KeyboardInterrupt
        return self.real(job)


def _run(folder: Path, **kw):
    spec = load_definition(folder / "bench.yaml")
    the_plan = plan(spec, Selection(**kw))
    return the_plan, run(the_plan)


def test_results_per_job_then_a_rerun_skips_every_finished_job(bench: Path, monkeypatch) -> None:
    counter = Counter()
    monkeypatch.setattr(executors, "run_job", counter)
    the_plan, outcome = _run(bench)
    # si: lr (2 folds) + rnn (2 seeds x 2 folds); sd: lr (2 folds)
    assert len(counter.calls) == outcome["done"] == 8 and not outcome["failed"]
    assert [j.system for j in the_plan.pending[:2]] == ["lr", "lr"]  # cheap first
    results = bench / "results"
    for protocol, system in (("si", "lr"), ("si", "rnn"), ("si", "combo"), ("sd", "lr")):
        assert R.result_path(results, protocol, "toy", system).is_file(), (protocol, system)
    assert not (results / "sd" / "toy" / "rnn.json").exists()
    sd = json.loads((results / "sd" / "toy" / "lr.json").read_text())
    assert sd["speaker_independent"] is False and sd["split"]["protocol"] == "speaker-dependent-random"
    # a second run finds every job finished
    counter.calls.clear()
    stamp = (results / "si" / "toy" / "rnn.json").stat().st_mtime_ns
    the_plan, outcome = _run(bench)
    assert counter.calls == [] and outcome["done"] == 0 and len(the_plan.finished) == 8
    assert (results / "si" / "toy" / "rnn.json").stat().st_mtime_ns == stamp  # nothing rewritten
    # a changed configuration makes that system's jobs pending again (and only those)
    (bench / "lr.yaml").write_text(LR.replace("C: 1.0", "C: 0.5"), encoding="utf-8")
    the_plan = plan(load_definition(bench / "bench.yaml"), Selection())
    assert {j.system for j in the_plan.pending} == {"lr"} and len(the_plan.pending) == 4


def test_ctrl_c_keeps_finished_jobs_and_the_next_run_does_the_rest(bench: Path, monkeypatch) -> None:
    counter = Counter(interrupt_at=3)
    monkeypatch.setattr(executors, "run_job", counter)
    spec = load_definition(bench / "bench.yaml")
    first = plan(spec, Selection(protocols=["si"]))
    with pytest.raises(KeyboardInterrupt):
        run(first)
    done = [j.name for j in first.pending[:2]]
    assert counter.calls[:2] == done
    again = plan(spec, Selection(protocols=["si"]))
    assert {j.name for j in again.finished} == set(done)
    assert len(again.pending) == len(first.pending) - 2
    counter2 = Counter()
    monkeypatch.setattr(executors, "run_job", counter2)
    run(again)
    assert sorted(counter2.calls) == sorted(j.name for j in again.pending)


def test_result_file_content(bench: Path) -> None:
    _run(bench, protocols=["si"])
    split = json.loads((bench / "results" / "si" / "toy" / "_split.json").read_text())
    doc = json.loads((bench / "results" / "si" / "toy" / "lr.json").read_text())
    assert doc["format"] == "serkit-benchmark-result" and doc["system"] == "lr" and doc["corpus"] == "toy"
    assert doc["split"]["digest"] == split["digest"] and doc["folds"] == ["fold-1", "fold-2"]
    assert doc["config"]["model"] == "classic_logreg" and doc["speaker_independent"] is True
    run_dir = bench / "work" / "runs" / "si" / "toy" / "lr" / "seed-0"
    for fold in ("fold-1", "fold-2"):
        entry = doc["runs"]["seed-0"][fold]
        full = json.loads((run_dir / fold / "metrics.json").read_text())
        assert entry["config_digest"] == full["config_digest"] and entry["split_digest"] == split["digest"]
        assert entry["n_test"] == len(entry["predictions"]) == len(full["predictions"]) > 0
        assert {k for k in ("ua", "wa", "macro_f1") if math.isclose(entry[k], full["test"][k])} == {
            "ua",
            "wa",
            "macro_f1",
        }
        assert entry["train_seconds"] >= 0 and entry["machine"] and entry["classes"] == ["happy", "sad"]
        for (uid, label, pred, probs), row in zip(entry["predictions"], full["predictions"], strict=True):
            assert (uid, label, pred) == (row["id"], row["label"], row["pred"])
            assert probs == [round(p, 4) for p in row["probs"]] and abs(sum(probs) - 1) < 1e-3
    # the networks record their parameter count
    rnn = json.loads((bench / "results" / "si" / "toy" / "rnn.json").read_text())
    assert rnn["runs"]["seed-1"]["fold-1"]["n_parameters"] > 0
    assert rnn["runs"]["seed-0"]["fold-1"]["job_digest"] != rnn["runs"]["seed-1"]["fold-1"]["job_digest"]
    # one prediction per line in the file (readable diffs), the rest indented
    text = (bench / "results" / "si" / "toy" / "lr.json").read_text()
    assert sum(line.lstrip().startswith('["generic/') for line in text.splitlines()) == 24


def test_seed_ensemble_and_combination_average_probabilities(bench: Path) -> None:
    _run(bench, protocols=["si"])
    rnn = json.loads((bench / "results" / "si" / "toy" / "rnn.json").read_text())
    combo = json.loads((bench / "results" / "si" / "toy" / "combo.json").read_text())
    lr = json.loads((bench / "results" / "si" / "toy" / "lr.json").read_text())
    for fold in ("fold-1", "fold-2"):
        final = rnn["final"][fold]
        assert final["members"] == ["seed-0", "seed-1"]
        assert final["method"] == "serkit.evaluate.ensemble.average_runs"
        seeds = [
            {r[0]: np.array(r[3]) for r in rnn["runs"][s][fold]["predictions"]} for s in ("seed-0", "seed-1")
        ]
        for uid, _label, pred, probs in final["predictions"]:
            mean = (seeds[0][uid] + seeds[1][uid]) / 2
            assert np.allclose(probs, mean, atol=2e-4) and pred == ["happy", "sad"][int(np.argmax(probs))]
        assert final["n_parameters"] == sum(
            rnn["runs"][s][fold]["n_parameters"] for s in ("seed-0", "seed-1")
        )
        # the combination: mean of lr's and the rnn ensemble's probabilities, from the result files
        members = [
            {r[0]: np.array(r[3]) for r in d[fold]["predictions"]}
            for d in (lr["runs"]["seed-0"], rnn["final"])
        ]
        rows = combo["final"][fold]["predictions"]
        assert len(rows) == len(members[0])
        for uid, _label, _pred, probs in rows:
            assert np.allclose(probs, (members[0][uid] + members[1][uid]) / 2, atol=2e-4)
        y = [r[1] for r in rows]
        p = [r[2] for r in rows]
        ua = np.mean([np.mean([pi == c for yi, pi in zip(y, p, strict=True) if yi == c]) for c in set(y)])
        assert math.isclose(combo["final"][fold]["ua"], ua)
    assert combo["combine"] == ["lr", "rnn"] and combo["runs"] == {}


def test_combination_waits_for_every_member(bench: Path) -> None:
    _run(bench, protocols=["si"], systems=["lr", "combo"], seeds=None)  # combo pulls its members in
    assert (bench / "results" / "si" / "toy" / "combo.json").is_file()
    shutil.rmtree(bench / "results")
    spec = load_definition(bench / "bench.yaml")
    the_plan = plan(spec, Selection(protocols=["si"], systems=["lr"]))
    run(the_plan)
    assert not (bench / "results" / "si" / "toy" / "combo.json").exists()


GOLDEN_SPEC = """\
corpora_dir: corpora
work: work
results: results
reference: ref
corpora:
  toy: {adapter: generic, title: Toy}
protocols:
  si: {title: Speaker-independent, split: {protocol: loso}}
systems:
  ref: {title: Ref SVM, group: baseline, config: x.yaml}
  net:
    title: Net
    group: seed-paper
    config: x.yaml
    paper: p
    reported:
      - {corpus: toy, value: 88.5, metric: UA, protocol: LOSO, speaker_independent: true, source: Table 2}
      - {corpus: other, value: 70.0, metric: WA, protocol: random, speaker_independent: false, source: Table 3}
targets:
  toy: {best: 80, from_scratch: 60}
"""


def _doc(system: str, group: str, folds: dict[str, list[tuple[str, str, str]]], n_total: int) -> dict:
    runs = {}
    for i, (fold, rows) in enumerate(folds.items()):
        y = [r[1] for r in rows]
        p = [r[2] for r in rows]
        acc = float(np.mean([a == b for a, b in zip(y, p, strict=True)]))
        recalls = [np.mean([b == c for a, b in zip(y, p, strict=True) if a == c]) for c in sorted(set(y))]
        runs[fold] = {
            "fold": fold,
            "config_digest": "c0",
            "ua": float(np.mean(recalls)),
            "wa": acc,
            "macro_f1": 0.5,
            "n_test": len(rows),
            "train_seconds": 30.0 + i,
            "n_parameters": 1234 if system == "net" else None,
            "classes": ["happy", "sad"],
            "commit": "abc123",
            "machine": "M1",
            "predictions": [[u, a, b, [0.9, 0.1] if b == "happy" else [0.2, 0.8]] for u, a, b in rows],
        }
    return {
        "format": R.FORMAT,
        "system": system,
        "title": {"ref": "Ref SVM", "net": "Net"}[system],
        "group": group,
        "corpus": "toy",
        "protocol": "si",
        "speaker_independent": True,
        "split": {"protocol": "loso", "params": {"n_val_speakers": 1}, "digest": "d1", "n_folds": n_total},
        "folds": [f"toy/s{i}" for i in range(n_total)],
        "seeds": 1,
        "ensemble": False,
        "runs": {"seed-0": runs},
    }


GOLDEN = """\
## Benchmark

Generated DATE by `serkit benchmark --table` at commit `COMMIT` on MACHINE, from the result files alone (never typed by hand).
Run: `serkit benchmark` (resumable: finished jobs are skipped). One row: `serkit benchmark --protocol PROTOCOL --systems SYSTEM --corpora CORPUS`.
Results computed at commit(s) `abc123`; on M1.

UA: unweighted accuracy (mean per-class recall); WA: accuracy. *Pooled*: over every test utterance of the finished folds; *mean ± std*: over folds (and seeds). Macro-F1 is pooled. Time: training, summed over folds, on CPU unless marked (GPU) or (CPU+GPU) (the device is recorded per fold). p: paired permutation test of pooled UA against Ref SVM on the same utterances (10,000 resamples). Rows with folds missing are partial: their numbers cover the finished folds only.

### Speaker-independent (`si`; headline)

Splits: toy: loso(n_val_speakers=1), 2 folds, split `d1`.

| System | Group | Corpus | UA pooled | UA mean ± std | WA pooled | WA mean ± std | Macro-F1 | Time | Params | Paper (metric; protocol) | Folds | p vs ref | Target (issue 11) |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
| Ref SVM (`ref`) | baseline | toy | 50.0 | 50.0 ± 0.0 | 50.0 | 50.0 ± 0.0 | 33.3 | 61 s | — | — | 2/2 | ref | — |
| Net (`net`) | seed-paper | toy | 75.0 | 75.0 ± 25.0 | 75.0 | 75.0 ± 25.0 | 73.3 | 61 s (CPU+GPU) | 1234 | 88.5 UA; SI: LOSO | 2/2 | 0.012 | ≥ 60: met (+15.0) |

Targets of issue 11 (speaker-independent UA pooled, complete rows only):

| Corpus | Best system | UA | Best target | Best from scratch | UA | From-scratch target | vs Ref SVM |
|---|---|---|---|---|---|---|---|
| toy | `net` | 75.0 | ≥ 80: missed by 5.0 | `net` | 75.0 | ≥ 60: met (+15.0) | beats it (p 0.012) |

### Coverage

Finished folds per row of the definition: 2 of 2 rows complete, 0 partial, 0 not started (—). The same command resumes them.

| `si` | toy |
|---|---|
| `ref` | 2/2 |
| `net` | 2/2 |

Numbers reported by the papers (and documented reference measurements), as the table cites them:

- `net` on toy: 88.50 UA, LOSO (speaker-independent); p, Table 2.
- `net` on other: 70.00 WA, random (speaker-dependent); p, Table 3.
"""


def test_table_golden_text_from_hand_made_result_files(tmp_path: Path) -> None:
    (tmp_path / "def.yaml").write_text(GOLDEN_SPEC, encoding="utf-8")
    spec = load_definition(tmp_path / "def.yaml")
    ref = _doc(
        "ref",
        "baseline",
        {
            "toy/s0": [("a", "happy", "happy"), ("b", "sad", "happy")],
            "toy/s1": [("c", "happy", "happy"), ("d", "sad", "happy")],
        },
        2,
    )
    net = _doc(
        "net",
        "seed-paper",
        {
            "toy/s0": [("a", "happy", "happy"), ("b", "sad", "sad")],
            "toy/s1": [("c", "happy", "happy"), ("d", "sad", "happy")],
        },
        2,
    )
    net["runs"]["seed-0"]["toy/s1"]["device"] = "cuda"  # one fold trained on a GPU: its time is marked
    for doc in (ref, net):
        R.write_result(R.result_path(tmp_path / "results", "si", "toy", doc["system"]), doc)
    calls = []

    def fake_test(y, a, b, **kw):
        calls.append((list(y), list(a), list(b), kw))
        return {"p_value": 0.0123}

    docs = load_results(tmp_path / "results")
    header = {"date": "DATE", "commit": "COMMIT", "machine": "MACHINE"}
    text = render(spec, docs, header=header, paired_test=fake_test)
    assert text == GOLDEN
    # the paired test saw the pooled, aligned predictions of both systems
    y, a, b, kw = calls[0]
    assert y == ["happy", "sad", "happy", "sad"] and a == ["happy", "sad", "happy", "happy"]
    assert b == ["happy", "happy", "happy", "happy"]
    assert kw == {"classes": ["happy", "sad"], "statistic": "ua", "n_resamples": 10000, "seed": 0}
    # a partial row says so, and targets wait for complete rows
    partial = _doc("net", "seed-paper", {"toy/s0": [("a", "happy", "happy"), ("b", "sad", "sad")]}, 2)
    text = render(spec, [ref, partial], header=header, paired_test=None)
    assert "| 1/2 (partial) |" in text and "≥ 60: partial" in text and "| toy | — | — |" in text
    assert "| `net` | 1/2 |" in text and "1 of 2 rows complete, 1 partial, 0 not started" in text
    assert "| `net` | — |" in render(spec, [ref], header=header, paired_test=None)
    # a speaker-dependent row never stands beside a speaker-independent paper number (nor the reverse label)
    sd = {**net, "protocol": "sd", "speaker_independent": False}
    sd_text = render(spec, [ref, net, sd], header=header, paired_test=None)
    sd_part = sd_text.split("### sd")[1].split("### Coverage")[0]
    assert "88.5" not in sd_part and "| seed-paper | toy |" in sd_part and "88.5 UA; SI: LOSO" in sd_text
    assert "Multi-corpus systems" not in sd_text
    multi = render(spec, [ref, {**net, "train_corpora": ["emodb"]}], header=header, paired_test=None)
    assert "Multi-corpus systems (`net`) also train on every speaker of the other corpora" in multi


def test_table_counts_many_commits_and_names_the_first_and_latest(tmp_path: Path) -> None:
    (tmp_path / "def.yaml").write_text(GOLDEN_SPEC, encoding="utf-8")
    spec = load_definition(tmp_path / "def.yaml")
    rows = [("a", "happy", "happy"), ("b", "sad", "sad")]
    ref = _doc("ref", "baseline", {"toy/s0": rows, "toy/s1": rows}, 2)
    net = _doc("net", "seed-paper", {"toy/s0": rows, "toy/s1": rows}, 2)
    # four commits; the hash order differs from the time order, which is what "first" and "latest" follow
    stamps = [
        (ref, "toy/s0", "ccc", "2026-01-02T00:00:00+0000"),
        (ref, "toy/s1", "aaa", "2026-01-04T00:00:00+0000"),
        (net, "toy/s0", "ddd", "2026-01-01T00:00:00+0000"),
        (net, "toy/s1", "bbb", "2026-01-03T00:00:00+0000"),
    ]
    for doc, fold, commit, finished in stamps:
        doc["runs"]["seed-0"][fold].update(commit=commit, finished=finished)
    header = {"date": "d", "commit": "c", "machine": "m"}
    text = render(spec, [ref, net], header=header, paired_test=None)
    line = "4 commits (each fold's is in its result file), the first `ddd`, the latest `aaa`; on M1."
    assert f"Results computed at {line}" in text
    net["runs"]["seed-0"]["toy/s1"]["commit"] = "ddd"  # three commits are still listed, sorted
    text = render(spec, [ref, net], header=header, paired_test=None)
    assert "Results computed at commit(s) `aaa`, `ccc`, `ddd`; on M1." in text


def test_table_sets_each_speaker_dependent_row_beside_its_speaker_independent_one(tmp_path: Path) -> None:
    (tmp_path / "def.yaml").write_text(GOLDEN_SPEC, encoding="utf-8")
    spec = load_definition(tmp_path / "def.yaml")
    right = [("a", "happy", "happy"), ("b", "sad", "sad"), ("c", "sad", "sad"), ("d", "happy", "happy")]
    wrong_one = [*right[:3], ("d", "happy", "sad")]  # UA 3/4 of the classes' recalls: (0.5 + 1) / 2
    si_net = _doc("net", "seed-paper", {"toy/s0": right[:2] + wrong_one[3:], "toy/s1": right[2:3]}, 2)
    sd_net = {**_doc("net", "seed-paper", {"toy/s0": right[:2], "toy/s1": right[2:]}, 2), "protocol": "sd"}
    sd_net["speaker_independent"] = False
    sd_ref = {**_doc("ref", "baseline", {"toy/s0": right}, 2), "protocol": "sd", "speaker_independent": False}
    si_ref = _doc("ref", "baseline", {"toy/s0": right, "toy/s1": right}, 2)
    header = {"date": "d", "commit": "c", "machine": "m"}
    text = render(spec, [si_ref, si_net, sd_net, sd_ref], header=header, paired_test=None)
    gap = text.split("### sd")[1].split("### Coverage")[0]
    assert "Speaker-dependent against speaker-independent (`sd` against `si`)" in gap
    assert "| `net` | toy | 100.0 | 75.0 | +25.0 |" in gap
    assert "`ref`" not in gap.split("Speaker-dependent against")[1]  # its sd row is partial: left out
    # a speaker-independent table never carries the comparison, and no complete pair means no section
    assert "Speaker-dependent against" not in text.split("### sd")[0]
    text = render(spec, [si_ref, sd_net], header=header, paired_test=None)
    assert "Speaker-dependent against" not in text


def test_table_uses_the_real_paired_permutation_test(tmp_path: Path) -> None:
    pytest.importorskip("serkit.evaluate.compare")
    (tmp_path / "def.yaml").write_text(GOLDEN_SPEC, encoding="utf-8")
    spec = load_definition(tmp_path / "def.yaml")
    rows_ref = [(f"u{i}", "happy" if i % 2 else "sad", "happy") for i in range(40)]
    rows_net = [(u, y, y) for u, y, _ in rows_ref]
    ref = _doc("ref", "baseline", {"toy/s0": rows_ref[:20], "toy/s1": rows_ref[20:]}, 2)
    net = _doc("net", "seed-paper", {"toy/s0": rows_net[:20], "toy/s1": rows_net[20:]}, 2)
    text = render(spec, [ref, net], header={"date": "d", "commit": "c", "machine": "m"})
    line = next(line for line in text.splitlines() if line.startswith("| Net"))
    assert "| < 0.001 |" in line  # 20 of 40 utterances differ, all in net's favour


def test_table_tests_each_papers_claim_and_adjusts_the_p_values_together(tmp_path: Path) -> None:
    claims = """\
claims:
  - {system: net, baseline: ref, claim: "Net beats Ref", source: "Table 2"}
  - {system: ref, baseline: net, claim: "Ref beats Net"}
"""
    spec_text = GOLDEN_SPEC.replace(
        "  toy: {adapter: generic, title: Toy}", "  toy: {adapter: generic}\n  toy2: {adapter: generic}"
    )
    (tmp_path / "def.yaml").write_text(spec_text + claims, encoding="utf-8")
    spec = load_definition(tmp_path / "def.yaml")
    rows = [("a", "happy", "happy"), ("b", "sad", "sad"), ("c", "sad", "happy"), ("d", "happy", "happy")]
    ref = _doc(
        "ref",
        "baseline",
        {"toy/s0": [*rows[:2], ("c", "sad", "happy")], "toy/s1": [("d", "happy", "sad")]},
        2,
    )
    net = _doc("net", "seed-paper", {"toy/s0": rows[:3], "toy/s1": rows[3:]}, 2)  # UA 75.0 against 50.0
    partial = {**_doc("net", "seed-paper", {"toy/s0": rows[:2]}, 2), "corpus": "toy2"}
    ref2 = {**ref, "corpus": "toy2"}
    header = {"date": "d", "commit": "c", "machine": "m"}

    def table(p_net: float, p_ref: float, docs: list[dict] | None = None) -> list[str]:
        def fake_test(y, a, b, **kw):  # the claims' order: net against ref, then ref against net
            return {"p_value": p_net if list(a) == ["happy", "sad", "happy", "happy"] else p_ref}

        text = render(spec, docs or [ref, net, ref2, partial], header=header, paired_test=fake_test)
        part = text.split("The papers' claims")[1].split("### Coverage")[0]
        return [line for line in part.splitlines() if line.startswith("| ")][1:]  # under the header

    # one row per claim and corpus where both rows are complete (toy2's net is partial: no row)
    first, second = table(0.01, 0.04)
    assert (
        first
        == "| Net beats Ref (Table 2) | `net` | `ref` | toy | 75.0 | 50.0 | +25.0 | 0.010 | 0.020 | holds |"
    )
    assert (
        second
        == "| Ref beats Net | `ref` | `net` | toy | 50.0 | 75.0 | -25.0 | 0.040 | 0.040 | reversed: the baseline is better |"
    )
    # Benjamini-Hochberg over the table: p 0.03 beside p 0.2 becomes q 0.06, no longer significant
    first, second = table(0.03, 0.2)
    assert first.endswith("| 0.030 | 0.060 | no significant difference |")
    assert second.endswith("| 0.200 | 0.200 | no significant difference |")
    # a claim tested on two corpora names itself on its first row only
    rows = table(0.01, 0.04, [ref, net, ref2, {**net, "corpus": "toy2"}])
    assert [r.split(" | ")[:5] for r in rows] == [
        ["| Net beats Ref (Table 2)", "`net`", "`ref`", "toy", "75.0"],
        ["| ", "", "", "toy2", "75.0"],
        ["| Ref beats Net", "`ref`", "`net`", "toy", "50.0"],
        ["| ", "", "", "toy2", "50.0"],
    ]
    # under a speaker-dependent protocol the claims get their own table, labelled so
    sd = [{**d, "protocol": "sd", "speaker_independent": False} for d in (ref, net)]
    text = render(spec, [ref, net, *sd], header=header, paired_test=None)
    assert "The papers' claims, tested speaker-independently" in text.split("### sd")[0]
    assert "The papers' claims, tested SPEAKER-DEPENDENTLY" in text.split("### sd")[1]
    # a claim naming an unknown system is refused when the definition is read
    (tmp_path / "def.yaml").write_text(
        spec_text + claims.replace("baseline: ref,", "baseline: reff,"), encoding="utf-8"
    )
    with pytest.raises(Exception, match=r"unknown claim baseline 'reff'\. Did you mean 'ref'"):
        load_definition(tmp_path / "def.yaml")


def test_reproduce_script_tells_identical_reproduced_and_different_reruns(monkeypatch) -> None:
    import importlib.util

    scripts = Path(__file__).resolve().parents[1] / "benchmarks"
    monkeypatch.syspath_prepend(str(scripts))
    spec = importlib.util.spec_from_file_location("reproduce", scripts / "reproduce.py")
    reproduce = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reproduce)
    truth = [(f"u{i}", "happy" if i % 2 else "sad") for i in range(40)]

    def doc(wrong: set[int]) -> dict:
        rows = [
            (u, y, ("sad" if y == "happy" else "happy") if i in wrong else y)
            for i, (u, y) in enumerate(truth)
        ]
        return _doc("net", "seed-paper", {"toy/s0": rows[:20], "toy/s1": rows[20:]}, 2)

    committed = doc({0, 1, 2, 3, 4, 5, 20, 21})  # fold UAs 70 and 90: std 10 points
    same = reproduce.compare(committed, doc({0, 1, 2, 3, 4, 5, 20, 21}))
    assert same["verdict"] == "identical" and same["same_predictions"] == 1.0 and same["ua_difference"] == 0
    near = reproduce.compare(committed, doc({0, 1, 2, 3, 4, 20, 21, 22}))  # one error moved between folds
    assert near["verdict"] == "reproduces (within fold noise)"
    assert near["same_predictions"] == 38 / 40 and math.isclose(near["max_fold_difference"], 0.05)
    far = reproduce.compare(committed, doc(set(range(0, 40, 3)) | set(range(1, 40, 4))))
    assert far["verdict"] == "DOES NOT reproduce" and far["p_value"] < 0.05
    # no difference the paired test can see, but more than the folds' spread (which is zero here)
    flat = reproduce.compare(doc({0, 1, 20, 21}), doc({0, 1, 2, 20, 21}))
    assert (
        flat["fold_std_committed"] == 0 and flat["p_value"] > 0.5 and flat["verdict"] == "DOES NOT reproduce"
    )
    other = {**doc({0, 1, 2, 3, 4, 5, 20, 21}), "split": {**committed["split"], "digest": "d2"}}
    assert reproduce.compare(committed, other)["verdict"] == "identical (different split)"


def test_dry_run_estimates_come_from_measured_cpu_folds_then_calibrated_cost_hints(tmp_path: Path) -> None:
    from serkit.benchmark import Job, Plan
    from serkit.benchmark.estimate import cheapest_first, estimate, summary

    def job(system: str, corpus: str, fold: str, cost: float) -> Job:
        return Job("si", corpus, system, 0, fold, 0, {}, "d", "j", str(tmp_path), cost)

    def result(system: str, corpus: str, folds: dict[str, tuple[float, str]]) -> None:
        runs = {f: {"fold": f, "train_seconds": s, "device": dev} for f, (s, dev) in folds.items()}
        doc = {
            "format": R.FORMAT,
            "system": system,
            "corpus": corpus,
            "protocol": "si",
            "runs": {"seed-0": runs},
        }
        R.write_result(R.result_path(tmp_path, "si", corpus, system), doc)

    # net: measured on a (two CPU folds, one GPU fold: left out) -> 60 s per cost unit 2.0 -> ratio 30
    result("net", "a", {"f1": (50.0, "cpu"), "f2": (70.0, "cpu"), "f3": (1.0, "cuda")})
    result("svm", "a", {"f1": (10.0, "cpu")})  # ratio 10 per cost unit 1.0
    finished = [job("net", "a", "f1", 2.0), job("svm", "a", "f1", 1.0)]
    pending = [
        job("net", "a", "f4", 2.0),  # the same row: its measured mean
        job("net", "b", "f1", 3.0),  # net elsewhere: 3.0 x net's ratio 30
        job("new", "b", "f1", 4.0),  # never measured: 4.0 x the median ratio of every row (30, 10 -> 20)
    ]
    the_plan = Plan(None, tmp_path, tmp_path, [], pending, finished, {})
    got = estimate(the_plan)
    assert [(e.seconds, e.source) for e in got] == [
        (60.0, "measured"),
        (90.0, "cost hint"),
        (80.0, "cost hint"),
    ]
    # the run order follows the estimates, not the cost hints alone
    ordered = cheapest_first(the_plan)
    assert [(j.system, j.corpus) for j in the_plan.pending] == [("net", "a"), ("new", "b"), ("net", "b")]
    assert [e.seconds for e in ordered] == [60.0, 80.0, 90.0]
    line = summary(got, workers=2)
    assert line.startswith("estimated training time of the pending jobs: 3.8 min for one worker, about 115 s")
    assert line.endswith("(1 from the same row's measured folds, 2 from cost hints)")
    # nothing measured anywhere: no estimate, said so
    (tmp_path / "si").rename(tmp_path / "gone")
    got = estimate(the_plan)
    assert {(e.seconds, e.source) for e in got} == {(None, "none")}
    assert summary(got, workers=1).endswith("0 from cost hints, 3 without an estimate)")


def test_a_row_with_a_fold_in_progress_is_estimated_from_its_logged_epochs(tmp_path: Path) -> None:
    from serkit.benchmark import Job, Plan
    from serkit.benchmark.estimate import estimate, summary
    from serkit.train.config import config_digest, load_config, save_config

    config = load_config({**yaml.safe_load(RNN), "name": "net"}, ["data.manifest=m.csv"])
    run_dir = tmp_path / "work" / "net"
    results = tmp_path / "results"

    def job(corpus: str, fold: str, digest: str = config_digest(config)) -> Job:
        return Job("si", corpus, "net", 0, fold, 0, config.model_dump(), digest, "j", str(run_dir), 1.0)

    def log(fold: str, *seconds: float) -> None:
        (run_dir / fold).mkdir(parents=True, exist_ok=True)
        lines = [json.dumps({"epoch": i + 1, "train_loss": 1.0, "seconds": s}) for i, s in enumerate(seconds)]
        (run_dir / fold / "log.jsonl").write_text("\n".join([*lines, '{"epoch": 9, "seco']), encoding="utf-8")

    save_config(config, run_dir / "config.yaml")
    log("f1", 10.0, 20.0)  # a fold in progress (the last line cut by a kill) ...
    log("f2", 30.0)  # ... and one stopped: 20 s an epoch
    pending = [job("b", "f1"), job("b", "f2")]
    the_plan = Plan(None, tmp_path, results, [], pending, [], {})
    # nothing finished anywhere: the configuration's epochs (1) x 20 s
    assert [(e.seconds, e.source) for e in estimate(the_plan)] == [(20.0, "epoch timing")] * 2
    # the system's finished folds elsewhere ran 3 and 5 epochs: 4 x 20 s (their 999 s are another corpus's)
    runs = {f: {"fold": f, "train_seconds": 999.0, "epochs_run": n} for f, n in (("a1", 3), ("a2", 5))}
    doc = {"format": R.FORMAT, "system": "net", "corpus": "a", "protocol": "si", "runs": {"seed-0": runs}}
    R.write_result(R.result_path(results, "si", "a", "net"), doc)
    the_plan.finished.append(job("a", "a1"))
    got = estimate(the_plan)
    assert [(e.seconds, e.source) for e in got] == [(80.0, "epoch timing")] * 2
    assert summary(got, workers=1).endswith(
        "(0 from the same row's measured folds, 2 from the row's logged epochs, 0 from cost hints)"
    )
    # logs of another configuration of the system say nothing: back to the cost hint (999 per cost unit)
    the_plan.pending[:] = [job("b", "f1", digest="other")]
    assert [(e.seconds, e.source) for e in estimate(the_plan)] == [(999.0, "cost hint")]


def test_write_docs_touches_only_the_marked_block(tmp_path: Path) -> None:
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Title\n\nkeep me\n", encoding="utf-8")
    write_docs(docs, "TABLE 1\n")
    assert docs.read_text() == f"# Title\n\nkeep me\n\n{BEGIN}\nTABLE 1\n{END}\n"
    docs.write_text(docs.read_text() + "after\n", encoding="utf-8")
    write_docs(docs, "TABLE 2")
    assert docs.read_text() == f"# Title\n\nkeep me\n\n{BEGIN}\nTABLE 2\n{END}\nafter\n"


def test_cli_runs_lists_tabulates_and_refuses_bad_names(bench: Path) -> None:
    base = ["benchmark", "--definition", str(bench / "bench.yaml"), "-q"]
    listed = runner.invoke(cli, [*base, "--list"])
    assert listed.exit_code == 0 and "combo" in listed.output and "toy" in listed.output
    dry = runner.invoke(cli, [*base, "--dry-run", "--protocol", "si"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.count("pending  ") == 6 and "0 finished" in dry.output
    assert dry.output.count("(no estimate)") == 6 and "6 without an estimate)" in dry.output
    assert not (bench / "results").exists()  # a dry run writes no split and no result
    done = runner.invoke(cli, [*base, "--protocol", "si", "--systems", "lr"])
    assert done.exit_code == 0, done.output
    dry = runner.invoke(cli, [*base, "--dry-run", "--protocol", "si"])  # lr's folds now calibrate the rest
    assert "cost hint)" in dry.output and "(no estimate)" not in dry.output, dry.output
    # a plan of rnn alone is calibrated by lr's row, outside the plan but in the results folder
    dry = runner.invoke(cli, [*base, "--dry-run", "--protocol", "si", "--systems", "rnn"])
    assert dry.output.count("cost hint)") == 4 and "(no estimate)" not in dry.output, dry.output
    text = (bench / "docs" / "benchmarks.md").read_text()
    assert (
        BEGIN in text
        and "Functionals + LR (`lr`)" in text
        and "`serkit benchmark --protocol si --systems lr`" in text
    )
    (bench / "docs" / "benchmarks.md").write_text("intro\n", encoding="utf-8")
    again = runner.invoke(cli, [*base, "--table"])
    assert again.exit_code == 0 and (bench / "docs" / "benchmarks.md").read_text().startswith(
        "intro\n\n" + BEGIN
    )
    quick = runner.invoke(cli, [*base, "--quick"])
    assert quick.exit_code == 0, quick.output
    assert (
        "Quick benchmark (1 fold(s)" in quick.output
        and (bench / "quick" / "si" / "toy" / "lr.json").is_file()
    )
    coverage = quick.output.split("### Coverage")[1]  # of the quick subset only, not the whole definition
    assert "1 of 1 rows complete" in coverage and "`rnn`" not in coverage and "`sd`" not in coverage
    assert json.loads((bench / "quick" / "si" / "toy" / "lr.json").read_text())["folds"] == ["fold-1"]
    for args, needle in (
        (["--systems", "lrr"], "unknown system 'lrr'. Did you mean 'lr'?"),
        (["--corpora", "toys"], "unknown corpus 'toys'"),
        (["--protocol", "xx"], "unknown protocol 'xx'"),
        (["--corpus", f"toy={bench / 'missing'}"], "no folder at"),
        (["--corpus", f"nosuch={bench}"], "'nosuch' is neither a corpus of the benchmark"),
        (["--corpus", "toy"], "expected NAME=PATH"),
        (["--executor", "spark"], "--executor must be local or ray"),
        (["--device", "tpu"], "--device must be cpu, cuda or auto; got 'tpu'"),
    ):
        bad = runner.invoke(cli, [*base, *args])
        assert bad.exit_code == 2, (args, bad.output)
        assert needle in bad.output and "Traceback" not in bad.output
        assert len(bad.output.strip().splitlines()) == 1, bad.output


HOLD_LOCK = """\
import fcntl, os, sys, time
fh = open(sys.argv[1], "a+")
fcntl.flock(fh, fcntl.LOCK_EX)
fh.truncate(0)
fh.write(f"{os.getpid()}\\n")
fh.flush()
print("held", flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="row locks use flock")
def test_a_row_another_run_is_training_is_refused_and_other_rows_go_on(bench: Path, monkeypatch) -> None:
    counter = Counter()
    monkeypatch.setattr(executors, "run_job", counter)
    lock = bench / "work" / "locks" / "si" / "toy" / "rnn.lock"
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lock)], stdout=subprocess.PIPE, text=True)
    spec = load_definition(bench / "bench.yaml")
    try:
        assert holder.stdout.readline().strip() == "held"
        busy = rf"rnn on toy \[si\] is being trained by another serkit benchmark \(pid {holder.pid}\)"
        with pytest.raises(BusyError, match=busy):
            run(plan(spec, Selection(protocols=["si"])))
        assert counter.calls == []  # refused before any job
        assert run(plan(spec, Selection(protocols=["si"], systems=["lr"])))["done"] == 2  # other rows go on
        base = ["benchmark", "--definition", str(bench / "bench.yaml"), "-q", "--protocol", "si"]
        refused = runner.invoke(cli, [*base, "--systems", "rnn"])
        assert refused.exit_code == 2 and f"(pid {holder.pid})" in refused.output, refused.output
        assert len(refused.output.strip().splitlines()) == 1 and "Traceback" not in refused.output
    finally:
        holder.kill()
        holder.wait()
    # the lock ends with the process that held it
    assert run(plan(spec, Selection(protocols=["si"], systems=["rnn"])))["done"] == 4
    assert lock.read_text().strip() == str(os.getpid())


def test_jobs_another_run_finished_after_the_plan_are_not_trained_again(bench: Path, monkeypatch) -> None:
    spec = load_definition(bench / "bench.yaml")
    sel = Selection(protocols=["si"], systems=["lr"])
    stale = plan(spec, sel)
    assert len(stale.pending) == 2
    run(plan(spec, sel))  # another run finishes the row between this plan and its run
    counter = Counter()
    monkeypatch.setattr(executors, "run_job", counter)
    assert run(stale)["done"] == 0 and counter.calls == []
    # a fold the file holds for another configuration is still trained
    (bench / "lr.yaml").write_text(LR.replace("C: 1.0", "C: 0.5"), encoding="utf-8")
    assert run(plan(spec, sel))["done"] == 2 and len(counter.calls) == 2


def test_corpus_option_evaluates_a_corpus_outside_the_definition(bench: Path, tmp_path: Path) -> None:
    """``--corpus emodb=PATH``: any registered adapter, its default split (LOSO), the same systems."""
    args = ["benchmark", "--definition", str(bench / "bench.yaml"), "-q", "--no-table"]
    args += ["--corpora", "emodb", "--systems", "lr", "--protocol", "si"]
    root = tmp_path / "my-emodb"
    for s, spk in enumerate(("03", "08", "09")):
        for code, f0 in (("F", 260.0), ("T", 110.0)):
            for k, text in enumerate(("a01", "a02")):
                write(
                    root / "wav" / f"{spk}{text}{code}a.wav",
                    voiced(f0 * (1 + 0.03 * s), 0.5, seed=10 * s + k),
                )
    result = runner.invoke(cli, [*args, "--corpus", f"emodb={root}"])
    assert result.exit_code == 0, result.output
    doc = json.loads((bench / "results" / "si" / "emodb" / "lr.json").read_text())
    assert doc["split"]["protocol"] == "loso" and len(doc["runs"]["seed-0"]) == 3
    assert doc["classes"] == ["happy", "sad"]
    # the saved split refuses another corpus under the same name (the committed results are not mixed)
    other = tmp_path / "other-emodb"
    shutil.copytree(root, other)
    (other / "wav" / "03a01Fa.wav").unlink()
    clash = runner.invoke(cli, [*args, "--corpus", f"emodb={other}"])
    assert clash.exit_code == 2 and "--results DIR" in clash.output
    # ... which that folder takes, with its own table whose coverage counts its own corpus only
    mine = [a for a in args if a != "--no-table"] + [
        "--corpus",
        f"emodb={other}",
        "--results",
        str(tmp_path / "r"),
    ]
    assert runner.invoke(cli, mine).exit_code == 0
    coverage = (tmp_path / "r" / "benchmark.md").read_text().split("### Coverage")[1]
    assert "asked for: 1 of 1 rows complete" in coverage and "| `si` | emodb |" in coverage, coverage
    assert "toy" not in coverage and "`sd`" not in coverage


def test_multi_corpus_system_trains_on_other_corpora_and_tests_its_own(bench: Path) -> None:
    """``train_corpora``: every fold's training part gains the other corpus's utterances with shared labels;
    validation and test parts stay the single-corpus split's, so the rows compare utterance by utterance."""
    root = bench / "corpora" / "emodb"
    for s, spk in enumerate(("03", "08")):
        for code, f0 in (("F", 260.0), ("T", 110.0), ("W", 180.0)):  # happy, sad, angry (toy has no angry)
            write(root / "wav" / f"{spk}a01{code}a.wav", voiced(f0 * (1 + 0.03 * s), 0.5, seed=7 * s))
    text = (bench / "bench.yaml").read_text(encoding="utf-8")
    text = text.replace("corpora:\n", "corpora:\n  emodb: {adapter: emodb, title: E}\n", 1)
    text = text.replace(
        "  combo:",
        "  lr_mc:\n    {title: LR multi, group: best, config: lr.yaml, train_corpora: all}\n  combo:",
    )
    (bench / "mc.yaml").write_text(text, encoding="utf-8")
    spec = load_definition(bench / "mc.yaml")
    # "all" is the definition's corpora: one added with --corpus trains with them but never joins their rows
    added = spec.with_corpus("casia", bench / "nowhere")
    assert added.extra_corpora("lr_mc", "toy") == ["emodb"]
    assert added.extra_corpora("lr_mc", "casia") == ["emodb", "toy"]
    the_plan = plan(spec, Selection(protocols=["si"], systems=["lr", "lr_mc"], corpora=["toy"]))
    assert not the_plan.notes and len(the_plan.pending) == 4
    cost = {j.system: j.cost for j in the_plan.pending}  # same cost hint; lr_mc trains on emodb's hours too
    assert cost["lr_mc"] > cost["lr"]
    outcome = run(the_plan)
    assert outcome["done"] == 4 and not outcome["failed"]
    lr = json.loads((bench / "results" / "si" / "toy" / "lr.json").read_text())
    mc = json.loads((bench / "results" / "si" / "toy" / "lr_mc.json").read_text())
    assert mc["train_corpora"] == ["emodb"] and "train_corpora" not in lr
    assert mc["split"] == lr["split"] and mc["classes"] == ["happy", "sad"]
    single = {f.name: f for f in the_plan.cell("si", "toy").split.folds}
    from serkit.data.splits import Split

    derived = Split.from_json(bench / "work" / "multi-corpus" / "si" / "toy" / "lr_mc" / "split.json")
    added = {f"emodb/wav/{spk}a01{code}a" for spk in ("03", "08") for code in "FT"}
    for fold in derived.folds:
        assert set(fold.train) == set(single[fold.name].train) | added  # angry (W) left out
        assert (fold.val, fold.test) == (single[fold.name].val, single[fold.name].test)
        assert mc["runs"]["seed-0"][fold.name]["n_train"] == lr["runs"]["seed-0"][fold.name]["n_train"] + 4
        tested = [r[0] for r in mc["runs"]["seed-0"][fold.name]["predictions"]]
        assert tested == [r[0] for r in lr["runs"]["seed-0"][fold.name]["predictions"]]
    # without the other corpus's folder the system is skipped with a note, never run on less data
    shutil.rmtree(root)
    again = plan(spec, Selection(protocols=["si"], systems=["lr_mc"], corpora=["toy"]))
    assert not again.pending and any("lr_mc" in n and "emodb" in n for n in again.notes)


def test_ray_executor_gives_the_same_results_as_local(bench: Path) -> None:
    ray = pytest.importorskip("ray")
    spec = load_definition(bench / "bench.yaml")
    sel = Selection(protocols=["si"], systems=["lr", "rnn"], seeds=1)
    run(plan(spec, sel, results=bench / "local"))
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        run(plan(spec, sel, results=bench / "ray", work=bench / "work-ray"), executor="ray")
    finally:
        ray.shutdown()
    for system in ("lr", "rnn"):
        a = json.loads((bench / "local" / "si" / "toy" / f"{system}.json").read_text())
        b = json.loads((bench / "ray" / "si" / "toy" / f"{system}.json").read_text())
        for fold in ("fold-1", "fold-2"):
            ea, eb = a["runs"]["seed-0"][fold], b["runs"]["seed-0"][fold]
            assert ea["predictions"] == eb["predictions"]
            assert (ea["ua"], ea["wa"], ea["job_digest"]) == (eb["ua"], eb["wa"], eb["job_digest"])


def test_a_wrong_model_setting_stops_the_plan_before_any_job(bench: Path) -> None:
    from serkit.errors import ConfigError

    (bench / "rnn.yaml").write_text(
        RNN.replace("cfg: {units: 4}", "cfg: {units: 4, num_heads: 8}"), encoding="utf-8"
    )
    with pytest.raises(
        ConfigError, match=r"System 'rnn' \(rnn.yaml\): model 'mfcc_rnn' has no setting\(s\) num_heads"
    ):
        plan(load_definition(bench / "bench.yaml"), Selection(protocols=["si"]))


def test_worker_processes_give_the_same_results_as_one_process(bench: Path) -> None:
    spec = load_definition(bench / "bench.yaml")
    sel = Selection(protocols=["si"], systems=["lr"])
    run(plan(spec, sel, results=bench / "one"))
    pooled = plan(spec, sel, results=bench / "two", work=bench / "work-two", workers=2)
    assert pooled.threads == max(1, len(os.sched_getaffinity(0)) // 2)  # torch threads per worker
    outcome = run(pooled, workers=2)
    assert outcome["done"] == 2 and not outcome["failed"]
    a = json.loads((bench / "one" / "si" / "toy" / "lr.json").read_text())["runs"]
    b = json.loads((bench / "two" / "si" / "toy" / "lr.json").read_text())["runs"]
    for fold in ("fold-1", "fold-2"):
        assert a["seed-0"][fold]["predictions"] == b["seed-0"][fold]["predictions"]
        assert a["seed-0"][fold]["job_digest"] == b["seed-0"][fold]["job_digest"]


def test_device_is_a_runtime_setting_finished_rows_stay_finished_on_another_device(bench: Path) -> None:
    spec = load_definition(bench / "bench.yaml")
    run(plan(spec, Selection(protocols=["si"], systems=["rnn"]), results=bench / "res"))
    other = plan(spec, Selection(protocols=["si"], systems=["rnn"], device="auto"), results=bench / "res")
    assert not other.pending and len(other.finished) == 4  # 2 folds x 2 seeds
    job = other.finished[0]
    assert job.config["train"]["device"] == "auto"  # reaches the training config ...
    cpu = plan(spec, Selection(protocols=["si"], systems=["rnn"]), results=bench / "res").finished[0]
    assert job.job_digest == cpu.job_digest  # ... and no digest
