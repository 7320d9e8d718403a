"""Compute a report's analysis from its runs' records: the one place the report does statistics.

`analyse_bundle` returns the typed `StoredAnalysis` (evalkit.analysis.stored) that
evalkit.report.render draws (evalkit.analysis.stored.stored_analysis calls it when nothing is
stored for the same inputs).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from evalkit.analysis.bundle import ReportBundle
from evalkit.analysis.decision import decisions, rank_metric
from evalkit.analysis.judge_rows import judge_rows
from evalkit.analysis.metric_agreement import AgreementTable, agreement_tables
from evalkit.analysis.page_text import embed_json, finite, plural
from evalkit.analysis.report_comparisons import (
    every_baseline,
    loaded,
    summary_tables,
    task_baselines,
)
from evalkit.analysis.report_payload import build_payload
from evalkit.analysis.scorer_pareto import scorer_pareto
from evalkit.analysis.stored import (
    StoredAgreementRow,
    StoredAgreementTable,
    StoredAnalysis,
    StoredComparison,
    StoredCorrelation,
    StoredJudgeRow,
    StoredRun,
)


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


def stored_agreement(table: AgreementTable) -> StoredAgreementTable:
    rows = [
        StoredAgreementRow(
            metric=r.metric,
            scorer=r.scorer,
            seconds_per_1000=r.seconds_per_1000,
            by_dimension={
                d: {
                    level: StoredCorrelation(value=c.value, ci_low=c.ci_low, ci_high=c.ci_high)
                    for level, c in levels.items()
                }
                for d, levels in r.by_dimension.items()
            },
        )
        for r in table.rows
    ]
    best = [(d, level, m) for (d, level), m in table.best.items()]
    return StoredAgreementTable(
        task=table.task, dimensions=table.dimensions, rows=rows, best_metrics=best
    )


def analyse_bundle(
    bundle: ReportBundle,
    *,
    key: str = "",
    baseline: str | None = None,
    agreement: Sequence[AgreementTable] | None = None,
    n_resamples: int = 1000,
    max_samples: int | None = None,
) -> StoredAnalysis:
    """Everything the report of `bundle` shows; `baseline` (a model label) defaults to the first
    model; `max_samples` caps the outputs per task x model in the sample browser (statistics
    always use every record); `key`: `analysis_key` of the inputs, when it is to be stored."""
    models = bundle.models
    base = baseline if baseline in models else (models[0] if models else None)
    comparison = None
    data = loaded(bundle)  # one load: the summary and the comparisons share bootstrap statistics
    if base is not None and len(models) > 1:
        baselines = task_baselines(bundle, base)
        comparison = finite(every_baseline(bundle, baselines, n_resamples=n_resamples, data=data))
    if agreement is None:
        agreement = [t for r in bundle.runs for t in agreement_tables(r.run, r.digest.human_rated)]
    ranked_by = {t: (m, src) for t in bundle.tasks for m, src in [rank_metric(bundle, t)] if m}
    summary = summary_tables(
        bundle,
        n_resamples=n_resamples,
        rank_by={t: m for t, (m, _) in ranked_by.items()},
        data=data,
    )
    reports = [j for r in bundle.runs for j in r.run.judge_reports]
    browser = build_payload(bundle, comparison=None, max_samples=max_samples)
    del browser["comparison"]  # stored apart, typed
    return StoredAnalysis(
        key=key,
        title=_title(bundle),
        runs=[
            StoredRun(
                label=r.label,
                run=r.run,
                config_json=json.dumps(r.run.config, indent=2, sort_keys=True),
            )
            for r in bundle.runs
        ],
        n_outputs=f"{bundle.n_records:,}",
        n_models=len(models),
        n_tasks=len(bundle.tasks),
        summary=summary,
        decisions=decisions(bundle, summary, ranked_by),
        usage=bundle.usage,
        agreement=[stored_agreement(t) for t in agreement],
        judge_reports=[
            StoredJudgeRow.model_validate(j, from_attributes=True) for j in judge_rows(reports)
        ],
        pairwise=[r.run.pairwise for r in bundle.runs if r.run.pairwise.get("tasks")],
        comparison=None if comparison is None else StoredComparison.model_validate(comparison),
        scorer_pareto=scorer_pareto(agreement),
        browser_json=embed_json(browser),
    )
