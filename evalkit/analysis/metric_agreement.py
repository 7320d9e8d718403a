"""Which metric should I trust for this task? Agreement with human ratings next to cost.

For every task whose outputs carry human ratings (SummEval's expert scores), each metric's Kendall
tau with each rated dimension at the summary level (per source document, then averaged; the
G-Eval convention) and at the system level (SummEval's convention), with 95% bootstrap CIs over
documents, beside the scorer's measured time per 1,000 samples. The report and the console show
the same table; the best metric per dimension is marked.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from evalkit.analysis.metaeval_sources import from_records
from evalkit.stats.metaeval import Correlation, Level, correlate
from evalkit.types import RunRecord, SampleRecord

LEVELS: tuple[Level, ...] = ("summary", "system")
METHOD = "kendall"


@dataclass(frozen=True)
class MetricAgreement:
    task: str
    metric: str
    scorer: str | None
    seconds_per_1000: float | None
    by_dimension: dict[str, dict[str, Correlation]]  # dimension -> level -> correlation


@dataclass(frozen=True)
class AgreementTable:
    task: str
    dimensions: list[str]
    rows: list[MetricAgreement]
    best: dict[tuple[str, str], str]  # (dimension, level) -> best metric


def _scorer_of_metric(run: RunRecord) -> dict[tuple[str, str], tuple[str, float | None]]:
    out = {}
    for timing in run.scorer_timings:
        for metric in timing.metrics:
            out[(timing.task, metric)] = (timing.scorer, timing.seconds_per_1000)
    return out


def agreement_tables(
    run: RunRecord, records: Iterable[SampleRecord], *, n_resamples: int = 1000
) -> list[AgreementTable]:
    series = from_records(records)
    costs = _scorer_of_metric(run)
    by_task: dict[str, dict[str, dict[str, dict[str, Correlation]]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for (task, metric, dimension), items in sorted(series.items()):
        by_task[task][metric][dimension] = {
            level: correlate(items, level, METHOD, seed=run.seed, n_resamples=n_resamples)
            for level in LEVELS
        }
    tables = []
    for task, metrics in by_task.items():
        dimensions = sorted({d for per_dim in metrics.values() for d in per_dim})
        rows = []
        for metric, per_dim in metrics.items():
            scorer, per_1000 = costs.get((task, metric), (None, None))
            rows.append(MetricAgreement(task, metric, scorer, per_1000, per_dim))
        best: dict[tuple[str, str], str] = {}
        for dimension in dimensions:
            for level in LEVELS:
                scored = [
                    (r.by_dimension[dimension][level].value, r.metric)
                    for r in rows
                    if dimension in r.by_dimension
                    and not math.isnan(r.by_dimension[dimension][level].value)
                ]
                if scored:
                    best[(dimension, level)] = max(scored)[1]
        tables.append(AgreementTable(task, dimensions, rows, best))
    return tables
