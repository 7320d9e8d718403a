"""Aggregate a run's per-sample columns into per task x model x metric values with bootstrap CIs,
and the run's usage totals and extraction counts.

The numbers come from `evalkit.store.columns.RunColumns` (compact arrays accumulated while
samples.jsonl
is written, or streamed from it), never from a list of records, so memory does not hold records.
Each metric aggregates by its `MetricSpec` (`metricspec.aggregate_values`: the mean, or a corpus
formula over summed sufficient statistics), the one path compare, gate and report use too.
Scores are put in data order (the sample index) first: the bootstrap draws rows by position, so a
resumed run, whose records were appended in another order, gets exactly the aggregates of an
uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from evalkit.config import RunConfig
from evalkit.protocols import Scorer
from evalkit.stages.metricspec import ScorerSpec, aggregate_values, specs_of_scorers
from evalkit.stats.significance import Statistic
from evalkit.store.columns import GENERATION_STATUSES, MEASUREMENTS, GroupColumns, RunColumns
from evalkit.types import Aggregate, ExtractionCount, MetricSpec, SampleRecord, UsageSummary

TaskMetrics = list[tuple[MetricSpec, Statistic | None, Scorer | None]]
"""A task's metrics in its scorers' order: the spec, the statistic that overrides the spec's
formula (a corpus metric whose spec names none: its scorer's `corpus_value`), and the scorer
whose own `aggregate` gives the value (aggregation "scorer")."""


def task_metrics(specs: Sequence[ScorerSpec], scorers: Sequence[Scorer]) -> TaskMetrics:
    """The metrics of scorers built from `specs`, as `aggregate_columns` takes them."""
    out: TaskMetrics = []
    by_name = {name: scorer for (name, _), scorer in zip(specs, scorers, strict=True)}
    for spec in specs_of_scorers(specs, scorers):
        statistic = None
        if spec.aggregation == "corpus" and spec.formula is None:
            statistic = by_name[spec.scorer].corpus_value
        scorer = by_name[spec.scorer] if spec.aggregation == "scorer" else None
        out.append((spec, statistic, scorer))
    return out


def aggregate_columns(
    columns: RunColumns,
    metrics_by_task: Mapping[str, TaskMetrics],
    *,
    seed: int,
    n_resamples: int,
    on_done: Callable[[int], None] | None = None,
) -> list[Aggregate]:
    """Per task (in `metrics_by_task`'s order) x model (in the order of its first record) x
    metric aggregates; `on_done(1)` after each task x model (progress)."""
    aggregates = []
    for task, metrics in metrics_by_task.items():
        for (group_task, model), group in columns.groups.items():
            if group_task != task:
                continue
            for spec, statistic, scorer in metrics:
                aggregates.append(
                    _aggregate_metric(
                        group, spec, (statistic, scorer), task, model, seed, n_resamples
                    )
                )
            if on_done is not None:
                on_done(1)
    return aggregates


def _aggregate_metric(
    group: GroupColumns,
    spec: MetricSpec,
    how: tuple[Statistic | None, Scorer | None],
    task: str,
    model: str,
    seed: int,
    n_resamples: int,
) -> Aggregate:
    found = group.metric_entries(spec.metric)
    empty = np.zeros(0, dtype=np.float64)
    if found is None:
        values, ok, truncated, stats = empty, empty.astype(bool), empty.astype(bool), None
    else:
        order, column = found
        values = np.frombuffer(column.values, dtype=np.float64)[order]
        ok = np.frombuffer(column.ok, dtype=np.bool_)[order]
        truncated = np.frombuffer(column.truncated, dtype=np.bool_)[order]
        matrix = column.stats_matrix()
        stats = matrix[order][ok] if matrix is not None else None
    return aggregate_values(
        spec, values, ok, truncated, stats, task=task, model=model, seed=seed,
        n_resamples=n_resamples, statistic=how[0], scorer=how[1],
    )  # fmt: skip


def aggregate_records(
    records: Iterable[SampleRecord],
    scorers_by_task: dict[str, list[Scorer]],
    config: RunConfig,
    on_done: Callable[[int], None] | None = None,
) -> list[Aggregate]:
    """`aggregate_columns` of `records` (the latest of each sample), each metric aggregated as
    its scorer declares it (see `task_metrics`)."""
    columns = RunColumns()
    columns.add_records(list(records))
    metrics = {
        task: task_metrics([(s.name, {}) for s in scorers], scorers)
        for task, scorers in scorers_by_task.items()
    }
    return aggregate_columns(
        columns,
        metrics,
        seed=config.seed,
        n_resamples=config.scoring.bootstrap_resamples,
        on_done=on_done,
    )


def _total(values: np.ndarray) -> float | None:
    """None when nothing or something unmeasured (NaN); else the sum in record order."""
    if not len(values) or bool(np.isnan(values).any()):
        return None
    return float(sum(values.tolist()))


def _percentile(values: np.ndarray, cached: np.ndarray, q: float) -> float | None:
    """Of fresh generations' measured values, or of all measured ones when none was fresh."""
    known = ~np.isnan(values)
    fresh = values[known & ~cached]
    pool = fresh if len(fresh) else values[known]
    return float(np.percentile(pool, q)) if len(pool) else None


def usage_of(columns: RunColumns) -> list[UsageSummary]:
    """Per task x model: what generating cost (as `usage.summarize_usage` of latest records)."""
    out = []
    for (task, model), group in columns.groups.items():
        rows, _, _ = group.latest()
        status = np.frombuffer(group.status, dtype=np.uint8)[rows]
        cached = np.frombuffer(group.cached, dtype=np.bool_)[rows]
        got = {m: group.measurement(m)[rows] for m in MEASUREMENTS}
        out.append(
            UsageSummary(
                task=task,
                model=model,
                n=len(rows),
                n_errors=int(np.frombuffer(group.failed, dtype=np.uint8)[rows].sum()),
                n_cached=int(cached.sum()),
                n_empty=int((status == GENERATION_STATUSES.index("empty")).sum()),
                n_truncated=int((status == GENERATION_STATUSES.index("truncated")).sum()),
                input_tokens=_total(got["input_tokens"]),
                output_tokens=_total(got["output_tokens"]),
                cost_usd=_total(got["cost_usd"]),
                latency_p50_s=_percentile(got["latency_s"], cached, 50),
                latency_p95_s=_percentile(got["latency_s"], cached, 95),
                ttft_p50_s=_percentile(got["time_to_first_token_s"], cached, 50),
            )
        )
    return out


def extraction_of(columns: RunColumns) -> list[ExtractionCount]:
    """Per task x model x extract pipeline: outputs and how many had no answer (latest records;
    in the order `extraction_scoring.count_no_answers` lists them)."""
    found: list[tuple[tuple[int, int], ExtractionCount]] = []
    for (task, model), group in columns.groups.items():
        _, rank, first = group.latest()
        for pipeline, column in group.pipelines.items():
            rows = np.frombuffer(column.rows, dtype=np.int64)
            kept = rank[rows] >= 0
            if not kept.any():
                continue
            no_answer = np.frombuffer(column.no_answer, dtype=np.bool_)[kept]
            where = np.flatnonzero(kept)
            places = np.frombuffer(column.place, dtype=np.int64)
            start = min(zip(first[rows[where]].tolist(), places[where].tolist(), strict=True))
            count = ExtractionCount(
                task=task,
                model=model,
                pipeline=pipeline,
                n=int(kept.sum()),
                n_no_answer=int(no_answer.sum()),
            )
            found.append((start, count))
    return [count for _, count in sorted(found, key=lambda pair: pair[0])]
