"""The report's paired statistics: who is tied with the best, and every model against a baseline.

Both reuse `evalkit compare`'s paired test on the samples two models share (corpus metrics resampled
as sufficient statistics, McNemar for binary metrics), with Holm's correction: within each
task x metric column for the summary's "tied with the best" marks, across the whole table for the
comparison view.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from evalkit.compare import LoadedRecords, compare_pair
from evalkit.protocols import Scorer
from evalkit.report.bundle import ReportBundle
from evalkit.significance import holm
from evalkit.types import Aggregate, SampleRecord

ALPHA = 0.05


@dataclass(frozen=True)
class SummaryCell:
    aggregate: Aggregate
    best: bool
    p_vs_best: float | None  # Holm-adjusted within the column; None for the best itself
    worse_than_best: bool  # significantly, by the paired test


@dataclass(frozen=True)
class SummaryTable:
    task: str
    metrics: list[str]
    higher_is_better: dict[str, bool]
    rows: list[tuple[str, dict[str, SummaryCell]]]  # model -> metric -> cell, ranked


def _loaded(bundle: ReportBundle) -> LoadedRecords:
    records: dict[tuple[str, str], dict[str, SampleRecord]] = defaultdict(dict)
    for record in bundle.records:
        records[(record.task, record.model)][record.sample_id] = record
    return LoadedRecords(dict(records), bundle.scorers, bundle.models)


def _scorer_of(bundle: ReportBundle, task: str, metric: str) -> Scorer | None:
    for scorer in bundle.scorers.get(task, []):
        if metric in scorer.metrics:
            return scorer
    return None


def _best(cells: list[Aggregate]) -> Aggregate | None:
    valued = [a for a in cells if a.value is not None and not math.isnan(a.value)]
    if not valued:
        return None
    sign = 1.0 if valued[0].higher_is_better else -1.0
    return max(valued, key=lambda a: sign * float(a.value or 0.0))


def _paired(
    bundle: ReportBundle,
    data: LoadedRecords,
    where: tuple[str, str, Scorer],
    base: str,
    model: str,
    n_resamples: int,
) -> dict[str, Any] | None:
    """`evalkit compare`'s paired bootstrap (McNemar for binary metrics), without per-model CIs:
    the report shows each model's CI from its aggregates."""
    task, metric, scorer = where
    return compare_pair(
        task, metric, scorer, base, model, data, "bootstrap", bundle.seed, n_resamples,
        with_cis=False,
    )  # fmt: skip


def _column(
    bundle: ReportBundle, data: LoadedRecords, task: str, metric: str, n_resamples: int
) -> dict[str, SummaryCell]:
    cells = [a for a in bundle.aggregates if a.task == task and a.metric == metric]
    best = _best(cells)
    scorer = _scorer_of(bundle, task, metric)
    others = [a for a in cells if best is not None and a.model != best.model]
    raw: dict[str, float] = {}
    if best is not None and scorer is not None:
        for a in others:
            row = _paired(bundle, data, (task, metric, scorer), best.model, a.model, n_resamples)
            if row is not None:
                raw[a.model] = float(row["p_value"])
    adjusted = dict(zip(raw, holm(list(raw.values())), strict=True))
    out = {}
    for a in cells:
        p = adjusted.get(a.model)
        is_best = best is not None and a.model == best.model
        out[a.model] = SummaryCell(a, is_best, p, p is not None and p < ALPHA)
    return out


def summary_tables(bundle: ReportBundle, *, n_resamples: int = 1000) -> list[SummaryTable]:
    """Per task: every model's aggregates, the best per column, and who is tied with it."""
    data = _loaded(bundle)
    tables = []
    for task in bundle.tasks:
        mine = [a for a in bundle.aggregates if a.task == task]
        metrics = list(dict.fromkeys(a.metric for a in mine))
        columns = {m: _column(bundle, data, task, m, n_resamples) for m in metrics}
        models = list(dict.fromkeys(a.model for a in mine))
        rank = metrics[0]
        sign = 1.0 if columns[rank][models[0]].aggregate.higher_is_better else -1.0

        ranked = columns[rank]

        def key(model: str, ranked: dict[str, SummaryCell] = ranked, sign: float = sign) -> float:
            cell = ranked.get(model)
            value = None if cell is None else cell.aggregate.value
            return math.inf if value is None or math.isnan(value) else -sign * value

        rows = [
            (m, {k: c[m] for k, c in columns.items() if m in c}) for m in sorted(models, key=key)
        ]
        direction = {a.metric: a.higher_is_better for a in mine}
        tables.append(SummaryTable(task, metrics, direction, rows))
    return tables


def task_baselines(bundle: ReportBundle, baseline: str) -> dict[str, str]:
    """Per task, the model others are compared with: `baseline` where it answered the task,
    else the task's first model (a merged report may hold tasks with disjoint models)."""
    out = {}
    for task in bundle.tasks:
        models = list(dict.fromkeys(r.model for r in bundle.records if r.task == task))
        if models:
            out[task] = baseline if baseline in models else models[0]
    return out


def baseline_comparisons(
    bundle: ReportBundle, baselines: dict[str, str], *, n_resamples: int = 1000
) -> list[dict[str, Any]]:
    """Every other model against its task's baseline, per metric; Holm across the whole table."""
    data = _loaded(bundle)
    raw = []
    for task, baseline in baselines.items():
        for metric in dict.fromkeys(a.metric for a in bundle.aggregates if a.task == task):
            scorer = _scorer_of(bundle, task, metric)
            if scorer is None:
                continue
            for model in bundle.models:
                if model == baseline or (task, model) not in data.records:
                    continue
                row = _paired(bundle, data, (task, metric, scorer), baseline, model, n_resamples)
                if row is not None:
                    raw.append(row)
    adjusted = holm([r["p_value"] for r in raw])
    return [
        {**r, "p_holm": p, "significant": p < ALPHA} for r, p in zip(raw, adjusted, strict=True)
    ]
