"""``serkit report``: a run folder as Markdown, a self-contained HTML page and a results JSON.

:func:`write_report` writes into ``OUT`` (default ``RUN_DIR/report``)::

    OUT/report.md        Markdown; figures linked from OUT/figures/
    OUT/report.html      one file: inline style, figures embedded as PNG data URIs, no external asset
    OUT/results.json     evaluate_run(RUN_DIR) (+ "comparison": compare_runs(RUN_DIR, OTHER) with --compare)
    OUT/figures/*.png    confusion matrix (counts + row-normalised), per-class recall/F1, per-fold UA/WA,
                         learning curves (train loss, validation UA per epoch) when the folds have logs

Each page states the protocol, whether it is speaker-independent and whether any transductive step was used
(in a visible line, and in every figure caption), the split file and digest, the configuration, pooled and
per-fold metrics, the command that reproduces the run and the one that made the report, and the commit.
Plots use matplotlib's Agg canvas directly (imported only here), never pyplot's global state.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import json
import math
import shlex
from pathlib import Path
from typing import Any

from serkit._io import atomic_write_bytes, atomic_write_text

__all__ = ["write_report"]


# ---------------------------------------------------------------------------------------------
# Wording


def _pct(x: Any) -> str:
    return "n/a" if not isinstance(x, int | float) or not math.isfinite(x) else f"{100 * x:.1f}%"


def _pm(mean: Any, std: Any) -> str:
    if not isinstance(mean, int | float) or not math.isfinite(mean):
        return "n/a"
    return f"{100 * mean:.1f} ± {100 * std:.1f}%" if math.isfinite(std) else _pct(mean)


def _num(x: Any) -> str:
    return "n/a" if not isinstance(x, int | float) or not math.isfinite(x) else f"{x:.3f}"


def _pts(x: Any) -> str:
    return "n/a" if not isinstance(x, int | float) or not math.isfinite(x) else f"{100 * x:+.1f}"


def _pval(p: Any) -> str:
    if not isinstance(p, int | float) or not math.isfinite(p):
        return "n/a"
    return f"{p:.2e}" if p < 1e-3 else f"{p:.4f}"


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or not math.isfinite(seconds):
        return "n/a"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def protocol_line(results: dict[str, Any]) -> str:
    """One sentence: protocol, speaker independence, folds and test utterances."""
    independent = (
        "speaker-independent (no test speaker is in training or validation)"
        if results.get("speaker_independent")
        else "SPEAKER-DEPENDENT (test speakers also appear in training; not comparable to "
        "speaker-independent results)"
    )
    done = f"{results['n_folds']} of {results['n_folds_planned']} folds"
    return (
        f"Protocol: {results.get('protocol')}, {independent}; {done}, {results['n']} test utterances pooled."
    )


def transductive_line(results: dict[str, Any]) -> str:
    """Whether any fold used statistics of its test utterances (e.g. per-speaker normalisation)."""
    if results.get("transductive"):
        return (
            "Transductive step: YES - at least one fold used statistics computed from its test utterances "
            "(e.g. per-speaker normalisation fitted on the test speakers)."
        )
    return "Transductive step: none - no statistic was computed from test utterances."


def _caption_suffix(results: dict[str, Any]) -> str:
    independent = "speaker-independent" if results.get("speaker_independent") else "SPEAKER-DEPENDENT"
    transductive = "transductive step used" if results.get("transductive") else "no transductive step"
    return (
        f"Protocol: {results.get('protocol')}, {independent}, {results['n_folds']} fold(s), {transductive}."
    )


# ---------------------------------------------------------------------------------------------
# Figures


def _png(fig: Any, stamp: str) -> bytes:
    """PNG bytes of ``fig``, with ``stamp`` (protocol, transductive step) printed in the image itself."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.text(0.5, -0.02, stamp, ha="center", va="top", fontsize=7, color="#444")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def _confusion_figure(results: dict[str, Any], stamp: str) -> bytes:
    import numpy as np
    from matplotlib.figure import Figure

    classes = results["classes"]
    counts = np.asarray(results["pooled"]["confusion"], dtype=float)
    norm = np.asarray(results["pooled"]["confusion_normalised"], dtype=float)
    k = len(classes)
    size = max(3.2, 0.55 * k + 1.8)
    fig = Figure(figsize=(2 * size + 0.8, size))
    for ax, data, title, fmt in zip(
        fig.subplots(1, 2),
        (counts, norm),
        ("counts", "row-normalised (recall on the diagonal)"),
        ("{:.0f}", "{:.2f}"),
        strict=True,
    ):
        image = ax.imshow(data, cmap="Blues", vmin=0, vmax=max(float(data.max()), 1e-9))
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(k), classes, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(k), classes, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        top = data.max() if data.size else 0
        for i in range(k):
            for j in range(k):
                ax.text(
                    j,
                    i,
                    fmt.format(data[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if top and data[i, j] > 0.6 * top else "black",
                )
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return _png(fig, stamp)


def _per_class_figure(results: dict[str, Any], stamp: str) -> bytes:
    import numpy as np
    from matplotlib.figure import Figure

    classes = results["classes"]
    per = results["pooled"]["per_class"]
    x = np.arange(len(classes))
    fig = Figure(figsize=(max(5.0, 0.7 * len(classes) + 2), 3.4))
    ax = fig.subplots()
    width = 0.38
    ax.bar(x - width / 2, [100 * per[c]["recall"] for c in classes], width, label="recall")
    ax.bar(x + width / 2, [100 * per[c]["f1"] for c in classes], width, label="F1")
    ua = results["pooled"]["ua"]
    if isinstance(ua, float) and math.isfinite(ua):
        ax.axhline(100 * ua, color="k", linestyle="--", linewidth=1, label=f"UA {100 * ua:.1f}%")
    ax.set_xticks(x, classes, rotation=30, ha="right")
    ax.set_ylabel("%")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return _png(fig, stamp)


def _per_fold_figure(results: dict[str, Any], stamp: str) -> bytes:
    import numpy as np
    from matplotlib.figure import Figure

    names = list(results["per_fold"])
    x = np.arange(len(names))
    fig = Figure(figsize=(max(5.0, 0.5 * len(names) + 2.5), 3.2))
    ax = fig.subplots()
    width = 0.38
    ax.bar(x - width / 2, [100 * results["per_fold"][n]["ua"] for n in names], width, label="UA")
    ax.bar(x + width / 2, [100 * results["per_fold"][n]["wa"] for n in names], width, label="WA")
    mean = results.get("mean_ua")
    if isinstance(mean, float) and math.isfinite(mean):
        ax.axhline(100 * mean, color="k", linestyle="--", linewidth=1, label=f"mean UA {100 * mean:.1f}%")
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("%")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return _png(fig, stamp)


def _curves_figure(logs: dict[str, list[dict[str, Any]]], stamp: str) -> bytes | None:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    def series(records: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
        xs, ys = [], []
        for rec in records:
            value = rec.get(key)
            if isinstance(value, int | float) and math.isfinite(value) and "epoch" in rec:
                xs.append(rec["epoch"])
                ys.append(value)
        return xs, ys

    if not any(series(records, "train_loss")[0] for records in logs.values()):
        return None
    fig = Figure(figsize=(9.5, 3.4))
    ax_loss, ax_ua = fig.subplots(1, 2)
    for fold, records in logs.items():
        xs, ys = series(records, "train_loss")
        if xs:
            ax_loss.plot(xs, ys, marker=".", label=fold)
        xs, ys = series(records, "val_ua")
        if xs:
            ax_ua.plot(xs, [100 * y for y in ys], marker=".", label=fold)
    ax_loss.set_title("training loss", fontsize=10)
    ax_loss.set_xlabel("epoch")
    ax_ua.set_title("validation UA (validation speakers, not test)", fontsize=10)
    ax_ua.set_xlabel("epoch")
    ax_ua.set_ylabel("%")
    for ax in (ax_loss, ax_ua):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(logs) <= 12:
        ax_loss.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig, stamp)


# ---------------------------------------------------------------------------------------------
# Commands


def reproduce_commands(run: Any) -> list[str]:
    """The command(s) that recreate the run folder (``serkit train`` on the saved resolved config)."""
    if run.config:
        split = (run.config.get("data") or {}).get("split")
        parts = ["serkit", "train", str(run.path / "config.yaml")]
        if split:
            parts += ["--split", str(split)]
        parts += ["-o", str(run.path)]
        return [shlex.join(parts)]
    if run.ensemble:
        members = [str(m) for m in run.ensemble.get("members", [])]
        call = (
            f"from serkit.evaluate import average_runs; average_runs({members!r}, {str(run.path)!r}, "
            f"name={run.ensemble.get('name')!r})"
        )
        lines = [f"# train each member (see its config.yaml), then:\npython -c {shlex.quote(call)}"]
        return lines
    return ["# no config.yaml in the run folder: the training command cannot be reconstructed"]


def report_command(
    run_dir: str | Path, out_dir: str | Path | None, compare: str | Path | None, title: str | None
) -> str:
    """``serkit report ...`` with exactly the given options."""
    parts = ["serkit", "report", str(run_dir)]
    if out_dir is not None:
        parts += ["--out", str(out_dir)]
    if compare is not None:
        parts += ["--compare", str(compare)]
    if title is not None:
        parts += ["--title", title]
    return shlex.join(parts)


# ---------------------------------------------------------------------------------------------
# The report


def write_report(
    run_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    compare: str | Path | None = None,
    title: str | None = None,
    n_resamples: int = 10000,
    seed: int = 0,
    command: str | None = None,
) -> dict[str, Path]:
    """Write ``report.md``, ``report.html``, ``results.json`` and ``figures/`` for a run folder.

    Parameters
    ----------
    run_dir : path
        A ``serkit train`` (or ensemble) run folder with at least one finished fold.
    out_dir : path, optional
        Default ``run_dir/report``.
    compare : path, optional
        Another run folder of the same split: adds paired tests (permutation on pooled UA, McNemar) of this
        run (A) against it (B), on the folds both have finished.
    title : str, optional
        Default ``"<experiment>: <model> (<protocol>)"``.
    n_resamples, seed : int
        Of the permutation test.
    command : str, optional
        The command line to print as "made with" (default: ``serkit report`` with these arguments).

    Returns
    -------
    dict
        ``markdown``, ``html``, ``results`` -> the written paths, and ``figures`` -> the figure folder.

    Raises
    ------
    ParameterError
        The run folder is missing or has no finished fold (:func:`~serkit.evaluate.load_run`), or the other
        run is not of the same split (:func:`~serkit.evaluate.compare_runs`).
    """
    import jinja2

    from serkit import __version__
    from serkit.evaluate._report_templates import HTML, MARKDOWN
    from serkit.evaluate.runs import compare_runs, evaluate_run, load_run

    run = load_run(run_dir)
    results = evaluate_run(run)
    comparison = None
    if compare is not None:
        comparison = compare_runs(run, compare, n_resamples=n_resamples, seed=seed, allow_partial=True)
    out = Path(out_dir) if out_dir is not None else run.path / "report"
    given_title = title
    title = title or f"{results.get('experiment')}: {results.get('model')} ({results.get('protocol')})"
    suffix = _caption_suffix(results)
    figures = [
        (
            "confusion",
            _confusion_figure(results, suffix),
            f"Confusion matrix pooled over every test utterance ({results['n']}): counts and row-normalised. "
            + suffix,
        ),
        (
            "per_class",
            _per_class_figure(results, suffix),
            "Per-class recall and F1, pooled over every test utterance; dashed line: pooled UA. " + suffix,
        ),
        ("per_fold", _per_fold_figure(results, suffix), "UA and WA of each fold's test speakers. " + suffix),
    ]
    curves = _curves_figure(run.logs, suffix)
    if curves is not None:
        figures.append(
            (
                "learning_curves",
                curves,
                "Learning curves per fold: training loss and validation UA (on the validation speakers; "
                "the test speakers are never used to choose an epoch). " + suffix,
            )
        )
    reproduce = reproduce_commands(run)
    made_with = command or report_command(run_dir, out_dir, compare, given_title)
    results_out = dict(results)
    if comparison is not None:
        results_out["comparison"] = comparison
    results_out["reproduce"] = reproduce
    results_out["report_command"] = made_with
    atomic_write_text(out / "results.json", json.dumps(results_out, indent=1, allow_nan=True) + "\n")
    fig_entries = []
    for name, png, caption in figures:
        path = atomic_write_bytes(out / "figures" / f"{name}.png", png)
        fig_entries.append(
            {
                "file": f"figures/{path.name}",
                "alt": name.replace("_", " "),
                "caption": caption,
                "b64": base64.b64encode(png).decode("ascii"),
            }
        )
    context = {
        "title": title,
        "r": {"regression": None, **results},
        "c": comparison,
        "protocol_line": protocol_line(results),
        "transductive_line": transductive_line(results),
        "params": f"{results['n_parameters']:,}" if results.get("n_parameters") else "n/a",
        "train_time": _duration(results.get("train_seconds")),
        "figures": fig_entries,
        "reproduce": reproduce,
        "report_command": made_with,
        "config_text": run.config_text.strip(),
        "ensemble": run.ensemble,
        "version": __version__,
        "generated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "pct": _pct,
        "pm": _pm,
        "num": _num,
        "pts": _pts,
        "pval": _pval,
    }
    markdown = jinja2.Environment(
        autoescape=False, keep_trailing_newline=True, undefined=jinja2.StrictUndefined
    )
    html = jinja2.Environment(autoescape=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    md_path = atomic_write_text(out / "report.md", markdown.from_string(MARKDOWN).render(**context))
    html_path = atomic_write_text(out / "report.html", html.from_string(HTML).render(**context))
    return {
        "markdown": md_path,
        "html": html_path,
        "results": out / "results.json",
        "figures": out / "figures",
    }
