"""Jinja2 templates of ``serkit report``: Markdown (figures beside it) and one self-contained HTML page.

The HTML page has no external asset: the style is inline and every figure is a PNG ``data:`` URI, so the
file can be mailed or archived alone. Both templates read the same context (see ``report._context``).
"""

from __future__ import annotations

MARKDOWN = """\
# {{ title }}

{{ protocol_line }}

**{{ transductive_line }}**

| | |
|---|---|
| Run | `{{ r.run }}` |
| Experiment | {{ r.experiment }} ({{ r.variant }}) |
| Model | {{ r.model }} |
| Protocol | {{ r.protocol }}{% if r.speaker_independent %} (speaker-independent){% else %} (SPEAKER-DEPENDENT){% endif %} |
| Split file | `{{ r.split or "unknown" }}` |
| Split digest | `{{ r.split_digest }}` |
| Config digest | `{{ r.config_digest }}` |
| Folds | {{ r.n_folds }} finished of {{ r.n_folds_planned }}{% if not r.complete %} (INCOMPLETE run){% endif %} |
| Test utterances | {{ r.n }} |
| Seeds | {{ r.seeds | join(", ") if r.seeds else "n/a" }} |
| Parameters | {{ params }} |
| Training time | {{ train_time }} |
| Commit | `{{ r.commit }}`{% if r.commits | length > 1 %} (folds from {{ r.commits | length }} commits: {{ r.commits | join(", ") }}){% endif %} |

## Results

UA = unweighted accuracy (mean per-class recall), WA = accuracy, macro-F1 = mean per-class F1.
*Pooled*: one score over every test utterance of every fold. *Fold mean ± std*: over the {{ r.n_folds }}
fold scores (population std).

| | UA | WA | macro-F1 |
|---|---|---|---|
| Pooled | {{ pct(r.pooled.ua) }} | {{ pct(r.pooled.wa) }} | {{ pct(r.pooled.macro_f1) }} |
| Fold mean ± std | {{ pm(r.mean_ua, r.std_ua) }} | {{ pm(r.mean_wa, r.std_wa) }} | {{ pm(r.mean_macro_f1, r.std_macro_f1) }} |

### Per fold

| Fold | Test speakers | n | UA | WA | macro-F1 | Best epoch |
|---|---|---|---|---|---|---|
{% for name, f in r.per_fold.items() -%}
| {{ name }} | {{ f.test_speakers | join(", ") }} | {{ f.n }} | {{ pct(f.ua) }} | {{ pct(f.wa) }} | {{ pct(f.macro_f1) }} | {{ f.best_epoch if f.best_epoch is not none else "" }}{% if f.epochs_run %} of {{ f.epochs_run }}{% endif %} |
{% endfor %}
### Per class (pooled)

| Class | Precision | Recall | F1 | Support |
|---|---|---|---|---|
{% for c, m in r.pooled.per_class.items() -%}
| {{ c }} | {{ pct(m.precision) }} | {{ pct(m.recall) }} | {{ pct(m.f1) }} | {{ m.support }} |
{% endfor %}
### Confusion matrix (pooled counts; rows = true class, columns = predicted)

| true / predicted | {{ r.classes | join(" | ") }} |
|---|{% for c in r.classes %}---|{% endfor %}
{% for row in r.pooled.confusion -%}
| **{{ r.classes[loop.index0] }}** | {{ row | join(" | ") }} |
{% endfor %}
{% if r.regression %}
### Regression head (pooled)

| MAE | Pearson r | CCC | Acc-2 (non-zero) | F1 (weighted, non-zero) | Acc-5 |
|---|---|---|---|---|---|
| {{ num(r.regression.mae) }} | {{ num(r.regression.pearson_r) }} | {{ num(r.regression.ccc) }} | {{ pct(r.regression.acc2) }} | {{ pct(r.regression.f1) }} | {{ pct(r.regression.acc5) }} |
{% endif %}
{% if c %}
## Paired comparison

A = this run (`{{ c.a }}`, {{ c.a_model }}), B = `{{ c.b }}` ({{ c.b_model }}); same split (digest
`{{ c.split_digest }}`), {{ c.n }} test utterances of folds {{ c.folds | join(", ") }}.

| | UA | WA | macro-F1 |
|---|---|---|---|
| A | {{ pct(c.a_metrics.ua) }} | {{ pct(c.a_metrics.wa) }} | {{ pct(c.a_metrics.macro_f1) }} |
| B | {{ pct(c.b_metrics.ua) }} | {{ pct(c.b_metrics.wa) }} | {{ pct(c.b_metrics.macro_f1) }} |

- Paired permutation test ({{ c.permutation.statistic }}, {{ c.permutation.n_resamples }} resamples, seed
  {{ c.permutation.seed }}): difference A - B = {{ pts(c.permutation.difference) }} points, two-sided
  p = {{ pval(c.permutation.p_value) }}.
- McNemar ({{ "exact binomial" if c.mcnemar.exact else "chi-square, continuity-corrected" }}): b = {{ c.mcnemar.b }}
  (A right, B wrong), c = {{ c.mcnemar.c }} (A wrong, B right), p = {{ pval(c.mcnemar.p_value) }}.
{% endif %}
## Figures

{% for fig in figures -%}
![{{ fig.alt }}]({{ fig.file }})

*{{ fig.caption }}*

{% endfor -%}
## Reproduce

{% for cmd in reproduce -%}
```
{{ cmd }}
```
{% endfor %}
This report was made with:

```
{{ report_command }}
```

Commit `{{ r.commit }}`; serkit {{ version }}; report written {{ generated }}.

## Configuration

{% if config_text %}
```yaml
{{ config_text }}
```
{% else %}
No config.yaml in the run folder{% if ensemble %} (an ensemble of {{ ensemble.members | length }} runs: {{ ensemble.members | join(", ") }}){% endif %}.
{% endif %}
"""

HTML = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 70rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.6rem 0 1.2rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f2f2f2; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 0.9em; }
pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; }
.warn { background: #fff3cd; border: 1px solid #e0c060; padding: 0.5rem 0.8rem; font-weight: 600; }
.ok { background: #eef6ee; border: 1px solid #9c9; padding: 0.5rem 0.8rem; font-weight: 600; }
figure { margin: 1rem 0 2rem; }
figure img { max-width: 100%; }
figcaption { font-style: italic; color: #444; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="{{ 'ok' if r.speaker_independent else 'warn' }}">{{ protocol_line }}</p>
<p class="{{ 'warn' if r.transductive else 'ok' }}">{{ transductive_line }}</p>
<table>
<tr><th>Run</th><td><code>{{ r.run }}</code></td></tr>
<tr><th>Experiment</th><td>{{ r.experiment }} ({{ r.variant }})</td></tr>
<tr><th>Model</th><td>{{ r.model }}</td></tr>
<tr><th>Protocol</th><td>{{ r.protocol }}{% if r.speaker_independent %} (speaker-independent){% else %} (SPEAKER-DEPENDENT){% endif %}</td></tr>
<tr><th>Split file</th><td><code>{{ r.split or "unknown" }}</code></td></tr>
<tr><th>Split digest</th><td><code>{{ r.split_digest }}</code></td></tr>
<tr><th>Config digest</th><td><code>{{ r.config_digest }}</code></td></tr>
<tr><th>Folds</th><td>{{ r.n_folds }} finished of {{ r.n_folds_planned }}{% if not r.complete %} (INCOMPLETE run){% endif %}</td></tr>
<tr><th>Test utterances</th><td>{{ r.n }}</td></tr>
<tr><th>Seeds</th><td>{{ r.seeds | join(", ") if r.seeds else "n/a" }}</td></tr>
<tr><th>Parameters</th><td>{{ params }}</td></tr>
<tr><th>Training time</th><td>{{ train_time }}</td></tr>
<tr><th>Commit</th><td><code>{{ r.commit }}</code></td></tr>
</table>

<h2>Results</h2>
<p>UA = unweighted accuracy (mean per-class recall), WA = accuracy, macro-F1 = mean per-class F1.
<em>Pooled</em>: one score over every test utterance of every fold. <em>Fold mean ± std</em>: over the
{{ r.n_folds }} fold scores (population std).</p>
<table>
<tr><th></th><th>UA</th><th>WA</th><th>macro-F1</th></tr>
<tr><td>Pooled</td><td>{{ pct(r.pooled.ua) }}</td><td>{{ pct(r.pooled.wa) }}</td><td>{{ pct(r.pooled.macro_f1) }}</td></tr>
<tr><td>Fold mean ± std</td><td>{{ pm(r.mean_ua, r.std_ua) }}</td><td>{{ pm(r.mean_wa, r.std_wa) }}</td><td>{{ pm(r.mean_macro_f1, r.std_macro_f1) }}</td></tr>
</table>

<h3>Per fold</h3>
<table>
<tr><th>Fold</th><th>Test speakers</th><th>n</th><th>UA</th><th>WA</th><th>macro-F1</th><th>Best epoch</th></tr>
{% for name, f in r.per_fold.items() %}<tr><td>{{ name }}</td><td>{{ f.test_speakers | join(", ") }}</td><td>{{ f.n }}</td><td>{{ pct(f.ua) }}</td><td>{{ pct(f.wa) }}</td><td>{{ pct(f.macro_f1) }}</td><td>{{ f.best_epoch if f.best_epoch is not none else "" }}{% if f.epochs_run %} of {{ f.epochs_run }}{% endif %}</td></tr>
{% endfor %}</table>

<h3>Per class (pooled)</h3>
<table>
<tr><th>Class</th><th>Precision</th><th>Recall</th><th>F1</th><th>Support</th></tr>
{% for c, m in r.pooled.per_class.items() %}<tr><td>{{ c }}</td><td>{{ pct(m.precision) }}</td><td>{{ pct(m.recall) }}</td><td>{{ pct(m.f1) }}</td><td>{{ m.support }}</td></tr>
{% endfor %}</table>

<h3>Confusion matrix (pooled counts; rows = true class, columns = predicted)</h3>
<table>
<tr><th>true / predicted</th>{% for c in r.classes %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in r.pooled.confusion %}<tr><th>{{ r.classes[loop.index0] }}</th>{% for v in row %}<td>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% if r.regression %}
<h3>Regression head (pooled)</h3>
<table>
<tr><th>MAE</th><th>Pearson r</th><th>CCC</th><th>Acc-2 (non-zero)</th><th>F1 (weighted, non-zero)</th><th>Acc-5</th></tr>
<tr><td>{{ num(r.regression.mae) }}</td><td>{{ num(r.regression.pearson_r) }}</td><td>{{ num(r.regression.ccc) }}</td><td>{{ pct(r.regression.acc2) }}</td><td>{{ pct(r.regression.f1) }}</td><td>{{ pct(r.regression.acc5) }}</td></tr>
</table>
{% endif %}
{% if c %}
<h2>Paired comparison</h2>
<p>A = this run (<code>{{ c.a }}</code>, {{ c.a_model }}), B = <code>{{ c.b }}</code> ({{ c.b_model }}); same split
(digest <code>{{ c.split_digest }}</code>), {{ c.n }} test utterances of folds {{ c.folds | join(", ") }}.</p>
<table>
<tr><th></th><th>UA</th><th>WA</th><th>macro-F1</th></tr>
<tr><td>A</td><td>{{ pct(c.a_metrics.ua) }}</td><td>{{ pct(c.a_metrics.wa) }}</td><td>{{ pct(c.a_metrics.macro_f1) }}</td></tr>
<tr><td>B</td><td>{{ pct(c.b_metrics.ua) }}</td><td>{{ pct(c.b_metrics.wa) }}</td><td>{{ pct(c.b_metrics.macro_f1) }}</td></tr>
</table>
<ul>
<li>Paired permutation test ({{ c.permutation.statistic }}, {{ c.permutation.n_resamples }} resamples, seed
{{ c.permutation.seed }}): difference A - B = {{ pts(c.permutation.difference) }} points, two-sided
p = {{ pval(c.permutation.p_value) }}.</li>
<li>McNemar ({{ "exact binomial" if c.mcnemar.exact else "chi-square, continuity-corrected" }}): b = {{ c.mcnemar.b }}
(A right, B wrong), c = {{ c.mcnemar.c }} (A wrong, B right), p = {{ pval(c.mcnemar.p_value) }}.</li>
</ul>
{% endif %}
<h2>Figures</h2>
{% for fig in figures %}<figure>
<img alt="{{ fig.alt }}" src="data:image/png;base64,{{ fig.b64 }}">
<figcaption>{{ fig.caption }}</figcaption>
</figure>
{% endfor %}
<h2>Reproduce</h2>
{% for cmd in reproduce %}<pre>{{ cmd }}</pre>
{% endfor %}
<p>This report was made with:</p>
<pre>{{ report_command }}</pre>
<p>Commit <code>{{ r.commit }}</code>; serkit {{ version }}; report written {{ generated }}.</p>

<h2>Configuration</h2>
{% if config_text %}<pre>{{ config_text }}</pre>
{% else %}<p>No config.yaml in the run folder{% if ensemble %} (an ensemble of {{ ensemble.members | length }} runs:
{{ ensemble.members | join(", ") }}){% endif %}.</p>
{% endif %}
</body>
</html>
"""
