"""A self-contained report.html: leaderboards with CIs, provenance, and a sample table.

Jinja autoescaping is on for every value, so model text can never become markup; the page loads
nothing from the network and its Content-Security-Policy forbids scripts altogether.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import jinja2

from evalkit.leaderboard import build_leaderboards, format_cell
from evalkit.metric_agreement import AgreementTable, agreement_tables
from evalkit.types import RunRecord, SampleRecord

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("evalkit.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
_ENV.filters["cell"] = format_cell


def _sample_rows(records: Iterable[SampleRecord], per_group: int) -> list[SampleRecord]:
    counts: dict[tuple[str, str], int] = {}
    rows = []
    for record in records:
        key = (record.task, record.model)
        if counts.get(key, 0) < per_group:
            counts[key] = counts.get(key, 0) + 1
            rows.append(record)
    return rows


def render_report(
    run: RunRecord,
    records: Sequence[SampleRecord],
    *,
    max_samples: int,
    agreement: Sequence[AgreementTable] | None = None,
) -> str:
    """`agreement` tables are computed from `records` when not given."""
    template = _ENV.get_template("report.html.j2")
    samples = _sample_rows(records, max_samples)
    return template.render(
        run=run,
        boards=build_leaderboards(run.aggregates),
        agreement=agreement_tables(run, records) if agreement is None else agreement,
        samples=samples,
        config_json=json.dumps(run.config, indent=2, sort_keys=True),
    )
