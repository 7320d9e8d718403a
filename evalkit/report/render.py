"""Draw report.html from a stored analysis (evalkit.analysis.stored): markup only, no statistics.

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
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from importlib import resources

import jinja2

from evalkit.analysis.judge_rows import format_value
from evalkit.analysis.leaderboard import format_cell
from evalkit.analysis.page_text import embed_json, plural
from evalkit.analysis.stored import StoredAnalysis
from evalkit.report.template_cache import TemplateCache

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("evalkit.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    bytecode_cache=TemplateCache(),
)
_ENV.filters["cell"] = format_cell


_ENV.filters["plural"] = plural
_ENV.filters["fmt"] = format_value


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


def render_analysis(analysis: StoredAnalysis, *, generated_at: str | None = None) -> str:
    """report.html of a stored analysis; `generated_at` (ISO 8601, UTC) defaults to now."""
    scripts = _scripts()
    rest = {
        "comparison": None if analysis.comparison is None else analysis.comparison.model_dump(),
        "scorerPareto": analysis.scorer_pareto,
        "generated_at": generated_at or datetime.now(UTC).isoformat(timespec="seconds"),
    }
    # The stored object's members, then these: the text embed_json gives the whole object.
    data_json = f"{analysis.browser_json[:-1]},{embed_json(rest)[1:]}"
    return _ENV.get_template("report.html.j2").render(
        title=analysis.title,
        csp=content_security_policy(scripts),
        css=_static("report.css"),
        runs=analysis.runs,
        n_outputs=analysis.n_outputs,
        n_models=analysis.n_models,
        n_tasks=analysis.n_tasks,
        summary=analysis.summary,
        decisions=analysis.decisions,
        usage=analysis.usage,
        agreement=analysis.agreement,
        has_judges=bool(analysis.judge_reports or analysis.pairwise),
        judge_reports=analysis.judge_reports,
        pairwise=analysis.pairwise,
        data_json=data_json,
        scripts=scripts,
    )
