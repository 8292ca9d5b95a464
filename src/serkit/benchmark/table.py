"""The benchmark tables, generated from the committed result files only (never typed by hand).

One Markdown table per protocol (speaker-independent first: the headline; speaker-dependent rows are
labelled and kept apart), a targets summary for speaker-independent protocols, and the papers' numbers.
:func:`write_docs` puts them between ``<!-- benchmark:begin -->`` and ``<!-- benchmark:end -->`` in
``docs/benchmarks.md`` (appending the markers when absent) and leaves every other line of the file alone.

Columns: UA and WA pooled over every test utterance of the finished folds, and their mean ± std over folds;
macro-F1 (pooled); training time (sum over folds); parameters; the number the system's paper reported, with
its metric and protocol; folds done / total; the p-value of a paired permutation test of UA against the
reference system (eGeMAPS + SVM) on the utterances both predicted; issue 11's target for the row's corpus.
The definition's ``claims`` (a paper's system against the baseline it says it beats) get their own table of
paired tests, adjusted together for the many comparisons.
"""

from __future__ import annotations

import math
import os
import platform
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from serkit._io import atomic_write_text
from serkit.benchmark import results as R
from serkit.benchmark.estimate import format_seconds
from serkit.benchmark.spec import BEST_GROUPS, FROM_SCRATCH_GROUPS, BenchmarkSpec

__all__ = ["BEGIN", "END", "RowStats", "load_results", "render", "row_stats", "stamp", "write_docs"]

BEGIN = "<!-- benchmark:begin -->"
END = "<!-- benchmark:end -->"
N_RESAMPLES = 10_000


def load_results(results: Path) -> list[dict[str, Any]]:
    """Every result document under ``results`` (``<protocol>/<corpus>/<system>.json``), sorted by path."""
    docs = []
    for path in sorted(Path(results).glob("*/*/*.json")):
        if path.name.startswith("_"):
            continue
        doc = R.read_result(path)
        if doc is not None:
            docs.append(doc)
    return docs


class RowStats:
    """Metrics of one result document (one table row)."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        from serkit.train.loop import classification_metrics

        self.doc = doc
        folds = R.system_folds(doc)
        order = list(doc.get("folds") or folds)
        self.folds = {f: folds[f] for f in order if f in folds}
        self.n_total = len(order)
        self.n_done = len(self.folds)
        entries = [e for es in self.folds.values() for e in es]
        # one configuration per seed, or the row mixes folds of an older configuration with new ones
        self.mixed = any(
            len({e.get("job_digest", e.get("config_digest")) for e in seed.values()}) > 1
            for seed in doc.get("runs", {}).values()
        )
        n_seeds = max((len(es) for es in self.folds.values()), default=0)
        pooled = []
        for k in range(n_seeds):
            rows = [r for es in self.folds.values() if len(es) > k for r in es[k]["predictions"]]
            classes = sorted({r[1] for r in rows if r[1] is not None} | {r[2] for r in rows})
            index = {c: i for i, c in enumerate(classes)}
            y = np.array([index.get(r[1], -1) if r[1] is not None else -1 for r in rows])
            p = np.array([index[r[2]] for r in rows])
            pooled.append(classification_metrics(y, p))
        self.pooled = {k: _mean([m[k] for m in pooled]) for k in ("ua", "wa", "macro_f1")}
        self.fold_mean = {k: _mean([e.get(k) for e in entries]) for k in ("ua", "wa", "macro_f1")}
        self.fold_std = {k: _std([e.get(k) for e in entries]) for k in ("ua", "wa", "macro_f1")}
        self.train_seconds = sum(
            _mean([e.get("train_seconds") for e in es]) or 0.0 for es in self.folds.values()
        )
        # where the folds trained: a GPU's seconds are not comparable with a CPU's
        self.devices = {"GPU" if str(e.get("device", "cpu")).startswith("cuda") else "CPU" for e in entries}
        params = [e.get("n_parameters") for e in entries if e.get("n_parameters") is not None]
        self.n_parameters = int(np.median(params)) if params else None
        # seed 0 (or the ensemble / combination) predictions, for the paired test
        self.predictions = {r[0]: (r[1], r[2]) for es in self.folds.values() for r in es[0]["predictions"]}

    @property
    def complete(self) -> bool:
        return self.n_total > 0 and self.n_done == self.n_total


def row_stats(doc: Mapping[str, Any]) -> RowStats:
    return RowStats(doc)


def _finite(values: Sequence[Any]) -> list[float]:
    return [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]


def _mean(values: Sequence[Any]) -> float | None:
    vals = _finite(values)
    return float(np.mean(vals)) if vals else None


def _std(values: Sequence[Any]) -> float | None:
    vals = _finite(values)
    return float(np.std(vals)) if vals else None


def _pct(x: float | None) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{100 * x:.1f}"


def _pm(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "—"
    return f"{100 * mean:.1f} ± {100 * (std or 0.0):.1f}"


def _seconds(s: float) -> str:
    return "—" if s <= 0 else format_seconds(s)


def _params(n: int | None) -> str:
    if n is None:
        return "—"
    if n >= 1_000_000:
        return f"{n / 1e6:.2f} M"
    if n >= 10_000:
        return f"{n / 1e3:.0f} k"
    return str(n)


def _p(p: float | None) -> str:
    if p is None:
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _default_paired_test() -> Callable[..., Mapping[str, Any]] | None:
    try:
        from serkit.evaluate.compare import paired_permutation_test
    except ImportError:
        return None
    return paired_permutation_test


def _paired(
    row: RowStats, ref: RowStats | None, test: Callable[..., Mapping[str, Any]] | None
) -> float | None:
    if ref is None or test is None or row is ref:
        return None
    ids = [u for u in row.predictions if u in ref.predictions and row.predictions[u][0] is not None]
    if not ids:
        return None
    y = np.array([row.predictions[u][0] for u in ids], dtype=object)
    a = np.array([row.predictions[u][1] for u in ids], dtype=object)
    b = np.array([ref.predictions[u][1] for u in ids], dtype=object)
    classes = sorted(set(y) | set(a) | set(b))
    out = test(y, a, b, classes=classes, statistic="ua", n_resamples=N_RESAMPLES, seed=0)
    return float(out["p_value"])


def _target_text(value: float | None, goal: float | None, complete: bool) -> str:
    if goal is None or value is None:
        return "—"
    if not complete:
        return f"≥ {goal:g}: partial"
    gap = 100 * value - goal
    return f"≥ {goal:g}: met (+{gap:.1f})" if gap >= 0 else f"≥ {goal:g}: missed by {-gap:.1f}"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def stamp() -> dict[str, str]:
    """Date, commit and machine of the table generation."""
    from serkit.train.checkpoint import git_commit

    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "commit": git_commit() or "unknown",
        "machine": f"{platform.system()} {platform.machine()} ({_cpu_model()}), {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
    }


def _fold_entries(docs: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """Every finished fold's entry of ``docs`` (all seeds)."""
    for d in docs:
        for seed in d.get("runs", {}).values():
            yield from seed.values()


def _run_values(docs: Sequence[Mapping[str, Any]], key: str) -> list[str]:
    """The distinct values of ``key`` (commit, machine) over every finished job of ``docs``, sorted."""
    return sorted({e.get(key) for e in _fold_entries(docs) if e.get(key)})


def _commits_line(docs: Sequence[Mapping[str, Any]], *, max_listed: int = 3) -> str:
    """Which commits computed the results: listed when few, else counted with the first and the last.

    A long-running benchmark collects dozens of commits (one per session that added rows); listing them
    all buries the table under hashes, and each fold keeps its own in the result files anyway.
    """
    first: dict[str, str] = {}
    last: dict[str, str] = {}
    for e in _fold_entries(docs):
        c, t = e.get("commit"), str(e.get("finished") or "")
        if c:
            first[c] = min(first.get(c, t), t)
            last[c] = max(last.get(c, t), t)
    if not first:
        return "commit(s) —"
    if len(first) <= max_listed:
        return "commit(s) " + ", ".join(f"`{c}`" for c in sorted(first))
    oldest = min(first, key=lambda c: (first[c], c))
    newest = max(last, key=lambda c: (last[c], c))
    return (
        f"{len(first)} commits (each fold's is in its result file), the first `{oldest}`, "
        f"the latest `{newest}`"
    )


def render(
    spec: BenchmarkSpec,
    docs: Sequence[Mapping[str, Any]],
    *,
    header: Mapping[str, str],
    command: str = "serkit benchmark",
    paired_test: Callable[..., Mapping[str, Any]] | str | None = "default",
    title: str = "Benchmark",
    coverage_systems: Sequence[str] | None = None,
    coverage_corpora: Sequence[str] | None = None,
    coverage_protocols: Sequence[str] | None = None,
) -> str:
    """The Markdown block (without the markers) for ``docs``.

    Parameters
    ----------
    header : mapping
        ``date``, ``commit``, ``machine`` of this generation (:func:`stamp`).
    paired_test : callable, None or "default"
        ``f(y_true, pred_a, pred_b, *, classes, statistic, n_resamples, seed) -> {"p_value": ...}``;
        "default" is :func:`serkit.evaluate.compare.paired_permutation_test`; None leaves p blank.
    coverage_systems, coverage_corpora, coverage_protocols : sequence of str or None
        The rows the coverage section counts (None: every row of the definition), e.g. the quick subset.
    """
    test = _default_paired_test() if paired_test == "default" else paired_test
    protocols = [p for p in spec.protocols if any(d["protocol"] == p for d in docs)]
    protocols += sorted({d["protocol"] for d in docs} - set(protocols))
    corpus_order = {c: i for i, c in enumerate(spec.corpora)}
    system_order = {s: i for i, s in enumerate(spec.systems)}
    ref_name = spec.reference
    ref_title = spec.systems[ref_name].title if ref_name in spec.systems else "the reference"
    machines = _run_values(docs, "machine")
    lines = [
        f"## {title}",
        "",
        f"Generated {header['date']} by `serkit benchmark --table` at commit `{header['commit']}` on "
        f"{header['machine']}, from the result files alone (never typed by hand).",
        f"Run: `{command}` (resumable: finished jobs are skipped). One row: "
        "`serkit benchmark --protocol PROTOCOL --systems SYSTEM --corpora CORPUS`.",
        f"Results computed at {_commits_line(docs)}; on {'; '.join(machines) or '—'}.",
        "",
        "UA: unweighted accuracy (mean per-class recall); WA: accuracy. *Pooled*: over every test utterance of "
        "the finished folds; *mean ± std*: over folds (and seeds). Macro-F1 is pooled. Time: training, summed "
        "over folds, on CPU unless marked (GPU) or (CPU+GPU) (the device is recorded per fold). p: paired "
        f"permutation test of pooled UA against {ref_title} on the same utterances "
        f"({N_RESAMPLES:,} resamples). Rows with folds missing are partial: their numbers cover the finished "
        "folds only.",
    ]
    multi = sorted(
        {d["system"] for d in docs if d.get("train_corpora")}, key=lambda s: system_order.get(s, 999)
    )
    if multi:
        lines[-1] += (
            f" Multi-corpus systems ({', '.join(f'`{s}`' for s in multi)}) also train on every speaker of the other "
            "corpora (utterances with a label the evaluated corpus has); those speakers are never tested, and "
            "validation and test parts are the single-corpus split's, so p compares the same utterances."
        )
    all_stats = {(d["protocol"], d["corpus"], d["system"]): RowStats(d) for d in docs}
    for protocol in protocols:
        pdocs = [d for d in docs if d["protocol"] == protocol]
        pspec = spec.protocols.get(protocol)
        independent = all(d.get("speaker_independent") for d in pdocs)
        heading = pspec.title if pspec else protocol
        label = "headline" if independent else "SPEAKER-DEPENDENT: comparison with papers only"
        lines += ["", f"### {heading} (`{protocol}`; {label})", ""]
        if pspec and pspec.note:
            lines += [pspec.note, ""]
        splits = {}
        for d in pdocs:
            s = d.get("split", {})
            params = ", ".join(
                f"{k}={v}" for k, v in sorted((s.get("params") or {}).items()) if k != "groups"
            )
            splits[d["corpus"]] = (
                f"{d['corpus']}: {s.get('protocol')}({params}), {s.get('n_folds')} folds, split `{s.get('digest')}`"
            )
        lines += [
            "Splits: "
            + "; ".join(splits[c] for c in sorted(splits, key=lambda c: corpus_order.get(c, 99)))
            + ".",
            "",
        ]
        pdocs.sort(
            key=lambda d: (corpus_order.get(d["corpus"], 99), system_order.get(d["system"], 999), d["system"])
        )
        stats = {(d["corpus"], d["system"]): all_stats[(protocol, d["corpus"], d["system"])] for d in pdocs}
        header_row = [
            "System",
            "Group",
            "Corpus",
            "UA pooled",
            "UA mean ± std",
            "WA pooled",
            "WA mean ± std",
            "Macro-F1",
            "Time",
            "Params",
            "Paper (metric; protocol)",
            "Folds",
            "p vs ref",
        ]
        if independent:
            header_row.append("Target (issue 11)")
        lines += ["| " + " | ".join(header_row) + " |", "|" + "---|" * len(header_row)]
        for d in pdocs:
            row = stats[(d["corpus"], d["system"])]
            sspec = spec.systems.get(d["system"])
            ref = stats.get((d["corpus"], ref_name)) if ref_name else None
            p = _paired(row, ref, test)
            reported = sspec.reported_on(d["corpus"]) if sspec else None
            paper = "—"
            # a speaker-dependent table cites only speaker-dependent numbers (the others stand in the headline)
            if reported is not None and (independent or not reported.speaker_independent):
                kind = "SI" if reported.speaker_independent else "SD"
                paper = f"{reported.value:.1f} {reported.metric}; {kind}: {reported.protocol}"
            folds = f"{row.n_done}/{row.n_total}" + ("" if row.complete else " (partial)")
            if row.mixed:
                folds += " (mixed configs)"
            cells = [
                f"{d.get('title', d['system'])} (`{d['system']}`)",
                d.get("group", "—"),
                d["corpus"],
                _pct(row.pooled["ua"]),
                _pm(row.fold_mean["ua"], row.fold_std["ua"]),
                _pct(row.pooled["wa"]),
                _pm(row.fold_mean["wa"], row.fold_std["wa"]),
                _pct(row.pooled["macro_f1"]),
                _seconds(row.train_seconds)
                + ("" if row.devices <= {"CPU"} else f" ({'+'.join(sorted(row.devices))})"),
                _params(row.n_parameters),
                paper,
                folds,
                "ref" if d["system"] == ref_name else _p(p),
            ]
            if independent:
                goal = spec.targets.get(d["corpus"])
                group = d.get("group")
                value = (
                    None if goal is None else (goal.from_scratch if group in FROM_SCRATCH_GROUPS else None)
                )
                if goal is not None and group in ("pretrained", "best"):
                    value = goal.best
                cells.append(_target_text(row.pooled["ua"], value, row.complete))
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        if independent and spec.targets:
            lines += ["", *_targets(spec, pdocs, stats, test, ref_name, ref_title)]
        if spec.claims:
            lines += _claims(spec, stats, test, independent=independent)
        if not independent:
            lines += _dependence_gap(spec, protocol, all_stats)
    scope = (coverage_protocols, coverage_systems, coverage_corpora)
    lines += ["", *_coverage(spec, all_stats, *scope), "", *_papers(spec, docs)]
    return "\n".join(lines) + "\n"


def _dependence_gap(
    spec: BenchmarkSpec, protocol: str, all_stats: Mapping[tuple[str, str, str], RowStats]
) -> list[str]:
    """Each system's speaker-dependent UA beside its speaker-independent UA on the same corpus.

    Only complete rows on both sides; the speaker-independent side is the first speaker-independent
    protocol (the headline). The difference is what testing on training speakers adds to a score.
    """
    independent = [p for p, ps in spec.protocols.items() if ps.speaker_independent]
    if not independent:
        return []
    headline = independent[0]
    corpus_order = {c: i for i, c in enumerate(spec.corpora)}
    system_order = {s: i for i, s in enumerate(spec.systems)}
    pairs = []
    for (p, corpus, system), dep in all_stats.items():
        ind = all_stats.get((headline, corpus, system))
        if p != protocol or ind is None or not (dep.complete and ind.complete):
            continue
        if dep.pooled["ua"] is None or ind.pooled["ua"] is None:
            continue
        pairs.append((corpus_order.get(corpus, 99), system_order.get(system, 999), corpus, system, dep, ind))
    if not pairs:
        return []
    lines = [
        "",
        f"Speaker-dependent against speaker-independent (`{protocol}` against `{headline}`), UA pooled, "
        "complete rows on both sides only: what testing on the training speakers adds to a score.",
        "",
        f"| System | Corpus | UA `{protocol}` | UA `{headline}` | Difference (points) |",
        "|---|---|---|---|---|",
    ]
    for *_, corpus, system, dep, ind in sorted(pairs, key=lambda x: x[:4]):
        a, b = _pct(dep.pooled["ua"]), _pct(ind.pooled["ua"])
        cells = [f"`{system}`", corpus, a, b, f"{float(a) - float(b):+.1f}"]  # of the shown numbers
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _coverage(
    spec: BenchmarkSpec,
    found: Mapping[tuple[str, str, str], RowStats],
    protocols: Sequence[str] | None = None,
    systems: Sequence[str] | None = None,
    corpora: Sequence[str] | None = None,
) -> list[str]:
    """Finished folds of every (protocol, system, corpus) row the definition asks for (within the given
    names, None: all): what is left to run."""
    lines = ["### Coverage", ""]
    counts = {"complete": 0, "partial": 0, "not started": 0}
    tables: list[str] = []
    for protocol in spec.protocols:
        if protocols is not None and protocol not in protocols:
            continue
        these = [c for c in spec.protocol_corpora(protocol) if corpora is None or c in corpora]
        if not these:
            continue
        tables += ["", f"| `{protocol}` | " + " | ".join(these) + " |", "|---|" + "---|" * len(these)]
        for system in spec.protocol_systems(protocol):
            if systems is not None and system not in systems:
                continue
            cells = []
            for corpus in these:
                row = found.get((protocol, corpus, system))
                if row is None:
                    counts["not started"] += 1
                    cells.append("—")
                else:
                    counts["complete" if row.complete else "partial"] += 1
                    cells.append(f"{row.n_done}/{row.n_total}")
            tables.append(f"| `{system}` | " + " | ".join(cells) + " |")
    total = sum(counts.values())
    whole = protocols is None and systems is None and corpora is None
    lines.append(
        f"Finished folds per row {'of the definition' if whole else 'asked for'}: "
        f"{counts['complete']} of {total} rows complete, "
        f"{counts['partial']} partial, {counts['not started']} not started (—). The same command resumes them."
    )
    return lines + tables


def _targets(
    spec: BenchmarkSpec,
    pdocs: Sequence[Mapping[str, Any]],
    stats: Mapping[tuple[str, str], RowStats],
    test: Callable[..., Mapping[str, Any]] | None,
    ref_name: str | None,
    ref_title: str,
) -> list[str]:
    lines = [
        "Targets of issue 11 (speaker-independent UA pooled, complete rows only):",
        "",
        f"| Corpus | Best system | UA | Best target | Best from scratch | UA | From-scratch target | vs {ref_title} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    corpora = [c for c in spec.corpora if any(d["corpus"] == c for d in pdocs)]
    for corpus in corpora:
        goal = spec.targets.get(corpus)
        rows = [(d, stats[(corpus, d["system"])]) for d in pdocs if d["corpus"] == corpus]
        complete = [(d, s) for d, s in rows if s.complete and s.pooled["ua"] is not None]
        best = max(
            (x for x in complete if x[0].get("group") in BEST_GROUPS),
            key=lambda x: x[1].pooled["ua"],
            default=None,
        )
        scratch = max(
            (x for x in complete if x[0].get("group") in FROM_SCRATCH_GROUPS),
            key=lambda x: x[1].pooled["ua"],
            default=None,
        )
        ref = stats.get((corpus, ref_name)) if ref_name else None
        versus = "—"
        if scratch is not None and ref is not None and ref.complete:
            p = _paired(scratch[1], ref, test)
            better = (scratch[1].pooled["ua"] or 0) > (ref.pooled["ua"] or 0)
            if p is None:
                versus = "p n/a"
            else:
                verdict = "beats it" if better and p < 0.05 else "does not beat it"
                versus = f"{verdict} (p {_p(p)})"
        cells = [
            corpus,
            f"`{best[0]['system']}`" if best else "—",
            _pct(best[1].pooled["ua"]) if best else "—",
            _target_text(best[1].pooled["ua"], goal.best, True) if best and goal else "—",
            f"`{scratch[0]['system']}`" if scratch else "—",
            _pct(scratch[1].pooled["ua"]) if scratch else "—",
            _target_text(scratch[1].pooled["ua"], goal.from_scratch, True) if scratch and goal else "—",
            versus,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def _claims(
    spec: BenchmarkSpec,
    stats: Mapping[tuple[str, str], RowStats],
    test: Callable[..., Mapping[str, Any]] | None,
    *,
    independent: bool = True,
) -> list[str]:
    """Each paper's claim that its system beats a baseline, on every corpus where both rows are complete.

    Under a speaker-dependent protocol (most papers' own) the table is labelled so, to be read beside the
    speaker-independent one.

    p is the paired permutation test of pooled UA on the same utterances; q adjusts the p-values of this
    table together (Benjamini-Hochberg), since many claims on many corpora are tested at once, and the
    verdict follows q.
    """
    from scipy.stats import false_discovery_control

    found = []
    for claim in spec.claims:
        for corpus in spec.corpora:
            a, b = stats.get((corpus, claim.system)), stats.get((corpus, claim.baseline))
            if a is None or b is None or not (a.complete and b.complete):
                continue
            if a.pooled["ua"] is None or b.pooled["ua"] is None:
                continue
            found.append((claim, corpus, a, b, _paired(a, b, test)))
    if not found:
        return []
    known = [i for i, x in enumerate(found) if x[4] is not None]
    q: dict[int, float] = {}
    if known:
        adjusted = false_discovery_control([found[i][4] for i in known], method="bh")
        q = dict(zip(known, (float(v) for v in adjusted), strict=True))
    lines = [
        "",
        "The papers' claims, tested "
        + ("speaker-independently" if independent else "SPEAKER-DEPENDENTLY (most papers' own protocol)")
        + " (complete rows only; UA pooled; p: paired "
        "permutation test on the same utterances; q: p adjusted over this table (Benjamini-Hochberg); "
        "the verdict follows q < 0.05):",
        "",
        "| Claim | Paper's system | Baseline | Corpus | UA system | UA baseline | Difference (points) | p | q | Verdict |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    shown = None
    for i, (claim, corpus, a, b, p) in enumerate(found):
        named, shown = claim is shown, claim  # the claim's text only on its first row
        ua_a, ua_b = _pct(a.pooled["ua"]), _pct(b.pooled["ua"])
        diff = float(ua_a) - float(ua_b)  # of the shown numbers
        if i not in q:
            verdict = "untested"
        elif q[i] >= 0.05:
            verdict = "no significant difference"
        else:
            verdict = "holds" if a.pooled["ua"] > b.pooled["ua"] else "reversed: the baseline is better"
        source = f" ({claim.source})" if claim.source else ""
        cells = [
            "" if named else f"{claim.claim}{source}",
            "" if named else f"`{claim.system}`",
            "" if named else f"`{claim.baseline}`",
            corpus,
            ua_a,
            ua_b,
            f"{diff:+.1f}",
            _p(p),
            _p(q.get(i)),
            verdict,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def _papers(spec: BenchmarkSpec, docs: Sequence[Mapping[str, Any]]) -> list[str]:
    shown = {(d["system"], d["corpus"]) for d in docs}
    systems = {d["system"] for d in docs}
    lines = [
        "Numbers reported by the papers (and documented reference measurements), as the table cites them:",
        "",
    ]
    for name, system in spec.systems.items():
        if name not in systems:
            continue
        for r in system.reported:
            if (name, r.corpus) not in shown and r.corpus in spec.corpora:
                continue  # a benchmarked corpus this table has no row for
            kind = "speaker-independent" if r.speaker_independent else "speaker-dependent"
            note = f" {r.note}" if r.note else ""
            lines.append(
                f"- `{name}` on {r.corpus}: {r.value:.2f} {r.metric}, {r.protocol} ({kind}); "
                f"{system.paper or 'reference'}, {r.source}.{note}"
            )
    if len(lines) == 2:
        return []
    return lines


def write_docs(path: Path, block: str) -> Path:
    """Put ``block`` between the benchmark markers of ``path`` (markers appended when absent)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    inner = f"{BEGIN}\n{block.rstrip()}\n{END}"
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if pattern.search(text):
        new = pattern.sub(lambda _m: inner, text, count=1)
    elif not text:
        new = inner + "\n"
    else:
        new = text + ("\n" if text.endswith("\n") else "\n\n") + inner + "\n"
    return atomic_write_text(path, new)
