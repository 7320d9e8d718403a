"""Aggregate stored sample records into per task x model x metric values with bootstrap CIs.

Records are re-read from samples.jsonl and put in data order (the sample index) first: the
bootstrap draws rows by position, so a resumed run, whose records were appended in another
order, gets exactly the aggregates of an uninterrupted one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from evalkit.config import RunConfig
from evalkit.protocols import Scorer
from evalkit.types import Aggregate, SampleRecord, Score


def aggregate_records(
    records: Iterable[SampleRecord],
    scorers_by_task: dict[str, list[Scorer]],
    config: RunConfig,
    on_done: Callable[[int], None] | None = None,
) -> list[Aggregate]:
    """Per task x model x metric aggregates; `on_done(1)` after each task x model (progress)."""
    grouped: dict[tuple[str, str], list[tuple[int, list[Score]]]] = defaultdict(list)
    for record in records:
        grouped[(record.task, record.model)].append((record.index, record.scores))
    aggregates = []
    for task, scorers in scorers_by_task.items():
        models = [m for (t, m) in grouped if t == task]
        for model in models:
            rows = sorted(grouped[(task, model)], key=lambda row: row[0])
            aggregates.extend(_aggregate_one(task, model, rows, scorers, config))
            if on_done is not None:
                on_done(1)
    return aggregates


def _aggregate_one(
    task: str,
    model: str,
    rows: list[tuple[int, list[Score]]],
    scorers: list[Scorer],
    config: RunConfig,
) -> list[Aggregate]:
    by_metric: dict[str, list[Score]] = defaultdict(list)
    for _, scores in rows:
        for score in scores:
            by_metric[score.name].append(score)
    out = []
    for scorer in scorers:
        for metric in scorer.metrics:
            out.append(
                scorer.aggregate(
                    metric,
                    by_metric.get(metric, []),
                    task=task,
                    model=model,
                    seed=config.seed,
                    n_resamples=config.scoring.bootstrap_resamples,
                )
            )
    return out
