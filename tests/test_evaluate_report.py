"""``serkit report``: Markdown, a self-contained HTML page, results JSON, figures; CLI errors."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from serkit.cli.report import report
from serkit.evaluate import evaluate_run, write_report
from test_evaluate_runs import make_runs

PNG = b"\x89PNG\r\n\x1a\n"
runner = CliRunner()
app = typer.Typer()
app.command("report")(report)


@app.callback()
def _main() -> None:
    """A local app with the report command (the lead registers it in serkit.cli)."""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    return make_runs(tmp_path_factory.mktemp("runs"))


def test_report_files_and_content(runs: dict[int, Path], tmp_path: Path) -> None:
    out = tmp_path / "rep"
    paths = write_report(runs[0], out, compare=runs[1], title="Tiny <net> & co", n_resamples=500)
    assert {p.name for p in out.iterdir()} == {"report.md", "report.html", "results.json", "figures"}
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert figures == ["confusion.png", "learning_curves.png", "per_class.png", "per_fold.png"]
    assert all((out / "figures" / f).read_bytes().startswith(PNG) for f in figures)
    res = evaluate_run(runs[0])
    md = paths["markdown"].read_text()
    split = json.loads((runs[0] / "config.yaml").parent.joinpath("summary.json").read_text())["split_digest"]
    for needle in (
        "# Tiny <net> & co",
        "Protocol: group-kfold, speaker-independent",
        "Transductive step: none",
        split,
        res["split"],
        res["commit"],
        f"serkit train {runs[0] / 'config.yaml'} --split {res['split']} -o {runs[0]}",
        f"serkit report {runs[0]} --out {out} --compare {runs[1]} --title 'Tiny <net> & co'",
        "train:\n  epochs: 2",  # the configuration, as YAML
        "| fold-1 |",
        "| happy |",
        "Paired permutation test (ua, 500 resamples",
        "McNemar (exact binomial)",
        "](figures/confusion.png)",
    ):
        assert needle in md, needle
    assert f"{100 * res['pooled']['ua']:.1f}%" in md
    assert f"{100 * res['mean_ua']:.1f} ± {100 * res['std_ua']:.1f}%" in md
    # every figure caption states the protocol and the transductive step
    captions = re.findall(r"^\*([^*].*[^*])\*$", md, flags=re.M)
    assert len(captions) == 4
    assert all("Protocol: group-kfold, speaker-independent" in c and "transductive" in c for c in captions)
    saved = json.loads(paths["results"].read_text())
    assert saved["pooled"] == json.loads(json.dumps(res["pooled"])) and saved["format"] == "serkit-results"
    assert (
        saved["comparison"]["b"] == str(runs[1]) and saved["comparison"]["permutation"]["n_resamples"] == 500
    )
    assert saved["reproduce"][0].startswith("serkit train ")


def test_html_is_self_contained(runs: dict[int, Path], tmp_path: Path) -> None:
    paths = write_report(runs[0], tmp_path / "rep", title="A <b>bold</b> title")
    html = paths["html"].read_text()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "<title>A &lt;b&gt;bold&lt;/b&gt; title</title>" in html  # escaped
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(sources) == 4 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert all(base64.b64decode(s.split(",", 1)[1]).startswith(PNG) for s in sources)
    assert "<link" not in html and "<script" not in html and "url(" not in html
    assert html.count("<figcaption>") == 4 and "Transductive step: none" in html
    assert "Paired comparison" not in html  # no --compare


def test_transductive_and_speaker_dependent_runs_say_so(runs: dict[int, Path], tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(runs[0], run, ignore=shutil.ignore_patterns("checkpoint", "report"))
    for fold in ("fold-1", "fold-2"):
        path = run / fold / "metrics.json"
        data = json.loads(path.read_text())
        data.update(transductive=True, speaker_independent=False, protocol="speaker-dependent")
        path.write_text(json.dumps(data))
    (run / "fold-2" / "log.jsonl").unlink()
    (run / "fold-1" / "log.jsonl").unlink()
    paths = write_report(run)
    assert paths["markdown"].parent == run / "report"
    md = paths["markdown"].read_text()
    assert "**Transductive step: YES" in md and "SPEAKER-DEPENDENT" in md
    captions = re.findall(r"^\*([^*].*[^*])\*$", md, flags=re.M)
    assert len(captions) == 3  # no logs: no learning curves
    assert all("SPEAKER-DEPENDENT" in c and "transductive step used" in c for c in captions)
    html = paths["html"].read_text()
    assert '<p class="warn">Transductive step: YES' in html


def test_report_of_an_ensemble(runs: dict[int, Path], tmp_path: Path) -> None:
    from serkit.evaluate import average_runs

    ens = average_runs([runs[0], runs[1]], tmp_path / "ens")
    md = write_report(ens)["markdown"].read_text()
    assert "average_runs(" in md and "No config.yaml" in md and "ensemble(" in md


def test_cli_writes_report(runs: dict[int, Path], tmp_path: Path) -> None:
    out = tmp_path / "cli"
    result = runner.invoke(app, ["report", str(runs[0]), "--out", str(out), "--compare", str(runs[1])])
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "results.json").read_text())
    assert saved["report_command"] == f"serkit report {runs[0]} --out {out} --compare {runs[1]}"
    assert "comparison" in saved and (out / "report.html").is_file()


def test_cli_errors_are_one_line_exit_2(runs: dict[int, Path], tmp_path: Path) -> None:
    missing = runner.invoke(app, ["report", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(app, ["report", str(tmp_path / "empty")])
    assert empty.exit_code == 2 and "no finished fold" in empty.output
    other = tmp_path / "other"
    shutil.copytree(runs[1], other, ignore=shutil.ignore_patterns("checkpoint", "report"))
    for fold in ("fold-1", "fold-2"):
        path = other / fold / "metrics.json"
        data = json.loads(path.read_text())
        data["split_digest"] = "0" * 16
        path.write_text(json.dumps(data))
    mismatch = runner.invoke(
        app, ["report", str(runs[0]), "-o", str(tmp_path / "r"), "--compare", str(other)]
    )
    assert mismatch.exit_code == 2 and "not evaluated on the same split" in mismatch.output
    bad = runner.invoke(app, ["report", str(runs[0]), "--resamples", "0"])
    assert bad.exit_code == 2 and "--resamples" in bad.output
    for result in (missing, empty, mismatch, bad):
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) <= 2  # one message (rich may wrap a long path)
