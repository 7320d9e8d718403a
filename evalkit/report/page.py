"""Render one self-contained report.html from any number of runs.

Self-contained: the stylesheet, the charting library (plotly.js's official "basic" partial bundle,
vendored under static/vendor/ by scripts/fetch_plotly_bundle.sh, about 1.2 MB instead of the full
4.8 MB) and the page's own script are inlined, so the file opens from disk with no network.
Safe: every value the server renders goes through Jinja's autoescaping; the data the script draws
from sits in a
`type="application/json"` block (never executed) whose `<`, `>` and `&` are written as `\\u003c`...,
so no `</script>` in model text can close it; the script only ever puts data into the DOM as text;
and the Content-Security-Policy allows exactly the inlined scripts (by hash), no network at all.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import jinja2

from evalkit.leaderboard import format_cell
from evalkit.metric_agreement import AgreementTable, agreement_tables
from evalkit.report.bundle import LoadedRun, ReportBundle, bundle_runs
from evalkit.report.comparisons import every_baseline, loaded, summary_tables, task_baselines
from evalkit.report.decision import decisions, rank_metric
from evalkit.report.judges_view import format_value, judge_rows
from evalkit.report.payload import build_payload
from evalkit.report.scorer_pareto import scorer_pareto
from evalkit.report.template_cache import TemplateCache
from evalkit.types import RunRecord, SampleRecord

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("evalkit.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    bytecode_cache=TemplateCache(),
)
_ENV.filters["cell"] = format_cell


def plural(count: int | str, noun: str) -> str:
    """'1 model', '2 models', '49,664 outputs'."""
    return f"{count} {noun}" if str(count) == "1" else f"{count} {noun}s"


_ENV.filters["plural"] = plural
_ENV.filters["fmt"] = format_value

_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def finite(value: Any) -> Any:
    """NaN and infinities (no JSON for them) as null, in nested lists, tuples and dicts."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def embed_json(value: Any) -> str:
    """JSON that is safe inside a <script> element: nothing in it can end the element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in _JSON_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text


@cache
def _static(name: str) -> str:
    return resources.files("evalkit.report").joinpath("static", name).read_text(encoding="utf-8")


@cache
def _plotly_js() -> str:
    """The vendored plotly.js partial bundle, checked against the sha256 recorded beside it.

    Raises RuntimeError when the file differs from the record (scripts/fetch_plotly_bundle.sh
    re-fetches it).
    """
    vendor = resources.files("evalkit.report").joinpath("static", "vendor")
    record = json.loads(vendor.joinpath("plotly-basic.json").read_text(encoding="utf-8"))
    data = vendor.joinpath(record["file"]).read_bytes()
    if hashlib.sha256(data).hexdigest() != record["sha256"]:
        raise RuntimeError(
            f"static/vendor/{record['file']} does not match its recorded sha256; "
            "re-run scripts/fetch_plotly_bundle.sh"
        )
    return data.decode("utf-8")


def _script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(scripts: Sequence[str]) -> str:
    hashes = " ".join(_script_hash(s) for s in scripts)
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; "
        "img-src data: blob:; font-src data:; base-uri 'none'; form-action 'none'"
    )


def _scripts() -> list[str]:
    scripts = [_plotly_js(), _static("report.js")]
    for script in scripts:
        if "</script" in script.lower():
            raise RuntimeError("an inlined script contains '</script'; it would end its element")
    return scripts


def _listed(names: Sequence[str], limit: int = 4) -> str:
    """'a, b, c' or 'a, b, c, d and 3 more'."""
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"


def _title(bundle: ReportBundle) -> str:
    """The demo (suite demo, its own tasks) keeps its short title; anything else names its tasks
    and models."""
    suites = [r.run.config.get("suite", {}) for r in bundle.runs]
    demo = all(
        s.get("name") == "demo" and set(bundle.tasks) <= {str(t) for t in s.get("tasks", [])}
        for s in suites
    )
    if demo:
        return f"demo · {plural(len(bundle.models), 'model')}"
    return f"{_listed(bundle.tasks)} · {_listed(bundle.models)}"


def render_bundle(
    bundle: ReportBundle,
    *,
    baseline: str | None = None,
    agreement: Sequence[AgreementTable] | None = None,
    n_resamples: int = 1000,
    max_samples: int | None = None,
) -> str:
    """The report of `bundle`; `baseline` (a model label) defaults to the first model.

    `max_samples` caps the outputs per task x model in the sample browser (statistics always use
    every record).
    """
    models = bundle.models
    base = baseline if baseline in models else (models[0] if models else None)
    comparison = None
    data = loaded(bundle)  # one load: the summary and the comparisons share bootstrap statistics
    if base is not None and len(models) > 1:
        baselines = task_baselines(bundle, base)
        comparison = finite(every_baseline(bundle, baselines, n_resamples=n_resamples, data=data))
    if agreement is None:
        agreement = [t for r in bundle.runs for t in agreement_tables(r.run, r.records)]
    ranked_by = {t: (m, src) for t in bundle.tasks for m, src in [rank_metric(bundle, t)] if m}
    summary = summary_tables(
        bundle,
        n_resamples=n_resamples,
        rank_by={t: m for t, (m, _) in ranked_by.items()},
        data=data,
    )
    scripts = _scripts()
    judge_reports = [j for r in bundle.runs for j in r.run.judge_reports]
    pairwise = [r.run.pairwise for r in bundle.runs if r.run.pairwise.get("tasks")]
    return _ENV.get_template("report.html.j2").render(
        title=_title(bundle),
        csp=content_security_policy(scripts),
        css=_static("report.css"),
        runs=[
            {
                "label": r.label,
                "run": r.run,
                "config_json": json.dumps(r.run.config, indent=2, sort_keys=True),
            }
            for r in bundle.runs
        ],
        n_outputs=f"{len(bundle.records):,}",
        n_models=len(models),
        n_tasks=len(bundle.tasks),
        summary=summary,
        decisions=decisions(bundle, summary, ranked_by),
        usage=bundle.usage,
        agreement=agreement,
        has_judges=bool(judge_reports or pairwise),
        judge_reports=judge_rows(judge_reports),
        pairwise=pairwise,
        data_json=embed_json(
            {
                **build_payload(bundle, comparison=comparison, max_samples=max_samples),
                "scorerPareto": scorer_pareto(agreement),
                "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        ),
        scripts=scripts,
    )


def render_runs(
    runs: Sequence[LoadedRun],
    *,
    baseline: str | None = None,
    agreement: Sequence[AgreementTable] | None = None,
    max_samples: int | None = None,
) -> str:
    return render_bundle(
        bundle_runs(runs), baseline=baseline, agreement=agreement, max_samples=max_samples
    )


def render_report(
    run: RunRecord,
    records: list[SampleRecord],
    *,
    label: str = "run",
    agreement: Sequence[AgreementTable] | None = None,
) -> str:
    """The report of one run, as `evalkit run` and `evalkit judge` write it."""
    max_samples = run.config.get("report", {}).get("max_samples")
    return render_runs(
        [LoadedRun(label, run, records)],
        agreement=agreement,
        max_samples=None if max_samples is None else int(max_samples),
    )
