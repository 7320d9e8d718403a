"""The data the report's script draws from: samples and outputs in columns, chart series, heatmaps.

Columns instead of one object per output keep the embedded JSON small and quick to parse: each
sample's prompt and references are stored once, however many models answered it. Nothing here is
markup: the page's script puts every string into the DOM as text.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from evalkit.analysis.bundle import ReportBundle
from evalkit.stats.pareto import pareto_front
from evalkit.stats.rankcorr import spearman_table
from evalkit.types import Aggregate, SampleRecord, UsageSummary

AXES = ("lat50", "lat95", "cost1k")


def _num(value: float | None, digits: int = 6) -> float | None:
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return float(f"{value:.{digits}g}")


def _prompt_text(record: SampleRecord) -> str:
    messages = record.request.messages
    if len(messages) == 1:
        return messages[0].content
    return "\n\n".join(f"[{m.role}] {m.content}" for m in messages)


def _metrics(bundle: ReportBundle) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, dict[str, bool]] = defaultdict(dict)
    for a in bundle.aggregates:
        out[a.task].setdefault(a.metric, a.higher_is_better)
    return {task: [{"name": m, "higher": h} for m, h in ms.items()] for task, ms in out.items()}


def _aggregate_row(a: Aggregate) -> dict[str, Any]:
    return {
        "task": a.task,
        "model": a.model,
        "metric": a.metric,
        "value": _num(a.value),
        "lo": _num(a.ci_low),
        "hi": _num(a.ci_high),
        "n": a.n,
        "nf": a.n_failed,
    }


def _usage_row(u: UsageSummary) -> dict[str, Any]:
    cost1k = None if u.cost_usd is None or not u.n else 1000 * u.cost_usd / u.n
    return {
        "task": u.task,
        "model": u.model,
        "lat50": _num(u.latency_p50_s),
        "lat95": _num(u.latency_p95_s),
        "ttft50": _num(u.ttft_p50_s),
        "cost1k": _num(cost1k),
        "n": u.n,
    }


def _frontiers(bundle: ReportBundle, usage: list[dict[str, Any]]) -> dict[str, Any]:
    """task -> metric -> axis -> the models on the quality/cost Pareto frontier."""
    out: dict[str, Any] = {}
    for task in bundle.tasks:
        rows = [u for u in usage if u["task"] == task]
        for a_metric in dict.fromkeys(a.metric for a in bundle.aggregates if a.task == task):
            cells = {
                a.model: a for a in bundle.aggregates if a.task == task and a.metric == a_metric
            }
            if not cells:
                continue
            higher = next(iter(cells.values())).higher_is_better
            quality = [cells[u["model"]].value if u["model"] in cells else None for u in rows]
            for axis in AXES:
                flags = pareto_front([u[axis] for u in rows], quality, higher_is_better=higher)
                front = [u["model"] for u, on in zip(rows, flags, strict=True) if on]
                out.setdefault(task, {}).setdefault(a_metric, {})[axis] = front
    return out


def _heatmaps(bundle: ReportBundle) -> dict[str, Any]:
    """Spearman correlation between every pair of metrics (and human ratings) over outputs: one
    row per latest record of the task with its `ok` scores and the human ratings its output
    carries, read from the bundle's columns in the records' order (run, then as written)."""
    human: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in bundle.human_rated:
        ratings = r.generation.metadata.get("human")
        if isinstance(ratings, dict):
            human[(r.task, r.model, r.sample_id)] = ratings
    out = {}
    for task in bundle.tasks:
        blocks = [
            _heatmap_block(bundle, (task, model), human) for model in bundle.task_models(task)
        ]
        columns = list(dict.fromkeys(c for block in blocks for c in block.values))
        if len(columns) < 2:
            continue
        ordered = sorted(columns, key=lambda c: (c.startswith("human: "), c))
        n = sum(block.n for block in blocks)
        table = np.full((n, len(ordered)), math.nan)
        start = 0
        for block in blocks:
            for name, values in block.values.items():
                table[start : start + block.n, ordered.index(name)] = values
            start += block.n
        order = np.lexsort(
            (
                np.concatenate([block.first for block in blocks]),
                np.concatenate([np.full(block.n, block.run) for block in blocks]),
            )
        )
        corr = spearman_table(table[order], min_periods=10)
        matrix = [[_num(v, 3) for v in line] for line in corr]
        out[task] = {"labels": ordered, "matrix": matrix, "n": n}
    return out


@dataclass(frozen=True)
class _HeatmapBlock:
    """One task x model's latest records for the heatmap: how many, its run's place in the
    bundle, each record's first place in samples.jsonl, and column name -> values."""

    n: int
    run: int
    first: np.ndarray
    values: dict[str, np.ndarray]


def _heatmap_block(
    bundle: ReportBundle,
    key: tuple[str, str],
    human: dict[tuple[str, str, str], dict[str, Any]],
) -> _HeatmapBlock:
    """A metric's values where it scored ok (NaN elsewhere; a metric never ok has no column),
    and `human: DIMENSION` for the ratings outputs carry."""
    group = bundle.groups[key]
    rows, rank, first = group.latest()
    values: dict[str, np.ndarray] = {}
    for metric, column in group.metrics.items():
        at = rank[np.frombuffer(column.rows, dtype=np.int64)]
        ok = np.frombuffer(column.ok, dtype=np.uint8).astype(bool) & (at >= 0)
        if ok.any():
            filled = np.full(len(rows), math.nan)
            filled[at[ok]] = np.frombuffer(column.values, dtype=np.float64)[ok]
            values[metric] = filled
    if human and group.ids is not None:
        task, model = key
        for place, row in enumerate(rows):
            for dimension, rating in human.get((task, model, group.ids[int(row)]), {}).items():
                name = f"human: {dimension}"
                if name not in values:
                    values[name] = np.full(len(rows), math.nan)
                values[name][place] = float(rating)
    return _HeatmapBlock(len(rows), bundle.group_runs.get(key, 0), first[rows], values)


def _human_ratings(record: SampleRecord) -> dict[str, float]:
    """The expert ratings replayed with an output (SummEval's `human` metadata), numbers only."""
    human = record.generation.metadata.get("human")
    if not isinstance(human, dict):
        return {}
    return {
        str(k): float(v)
        for k, v in human.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }


def _capped(records: list[SampleRecord], max_samples: int | None) -> list[SampleRecord]:
    if max_samples is None:
        return records
    counts: dict[tuple[str, str], int] = defaultdict(int)
    kept = []
    for r in records:
        counts[(r.task, r.model)] += 1
        if counts[(r.task, r.model)] <= max_samples:
            kept.append(r)
    return kept


def _samples_and_outputs(
    bundle: ReportBundle, max_samples: int | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    tasks, models = bundle.tasks, bundle.models
    metric_index = {
        t: {m["name"]: i for i, m in enumerate(ms)} for t, ms in _metrics(bundle).items()
    }
    sample_of: dict[tuple[str, str], int] = {}
    samples: dict[str, list[Any]] = {"task": [], "id": [], "index": [], "input": [], "refs": []}
    outputs: dict[str, Any] = {
        "s": [], "m": [], "t": [], "v": [], "e": {}, "f": {}, "x": {}, "a": {}, "h": {}
    }  # fmt: skip
    position = {t: i for i, t in enumerate(tasks)}
    ordered = sorted(bundle.shown, key=lambda r: (position.get(r.task, 0), r.index))
    ordered = _capped(ordered, max_samples)
    model_position = {m: i for i, m in enumerate(models)}
    for r in ordered:
        key = (r.task, r.sample_id)
        if key not in sample_of:
            sample_of[key] = len(samples["id"])
            for name, value in zip(
                samples,
                (position.get(r.task, 0), r.sample_id, r.index, _prompt_text(r), r.references),
                strict=True,
            ):
                samples[name].append(value)
        i = len(outputs["s"])
        positions = metric_index.get(r.task, {})
        values: list[float | None] = [None] * len(positions)
        for score in r.scores:
            k = positions.get(score.name)
            if k is None:
                continue
            if score.status == "ok":
                values[k] = _num(score.value)
                if score.explanation:
                    outputs["x"].setdefault(str(i), []).append([k, score.explanation])
            else:
                outputs["f"].setdefault(str(i), []).append(
                    [k, score.status, score.explanation or ""]
                )
        outputs["s"].append(sample_of[key])
        outputs["m"].append(model_position[r.model])
        outputs["t"].append(r.generation.text)
        if r.extracted:  # the task's extract pipelines' answers, shown next to the raw text
            outputs["a"][str(i)] = [[a.pipeline, a.answer] for a in r.extracted]
        outputs["v"].append(values)
        if r.generation.error:
            outputs["e"][str(i)] = r.generation.error
        human = _human_ratings(r)
        if human:
            outputs["h"][str(i)] = human
    return samples, outputs


def build_payload(
    bundle: ReportBundle,
    *,
    comparison: dict[str, Any] | None = None,
    max_samples: int | None = None,
) -> dict[str, Any]:
    """Everything the page's script needs, as plain JSON-able values."""
    usage = [_usage_row(u) for u in bundle.usage]
    samples, outputs = _samples_and_outputs(bundle, max_samples)
    return {
        "tasks": bundle.tasks,
        "models": bundle.models,
        "taskModels": {t: bundle.task_models(t) for t in bundle.tasks},
        "metrics": _metrics(bundle),
        "aggregates": [_aggregate_row(a) for a in bundle.aggregates],
        "usage": usage,
        "frontiers": _frontiers(bundle, usage),
        "heatmaps": _heatmaps(bundle),
        "samples": samples,
        "outputs": outputs,
        "comparison": comparison,
    }
