"""The data the report's script draws from: samples and outputs in columns, chart series, heatmaps.

Columns instead of one object per output keep the embedded JSON small and quick to parse: each
sample's prompt and references are stored once, however many models answered it. Nothing here is
markup: the page's script puts every string into the DOM as text.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from evalkit.analysis.bundle import ReportBundle
from evalkit.stats.pareto import pareto_front
from evalkit.stats.rankcorr import spearman_matrix
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
    """Spearman correlation between every pair of metrics (and human ratings) over outputs."""
    rows: dict[str, list[dict[str, float]]] = defaultdict(list)
    for r in bundle.records:
        row = {s.name: s.value for s in r.scores if s.status == "ok"}
        human = r.generation.metadata.get("human")
        if isinstance(human, dict):
            row.update({f"human: {k}": float(v) for k, v in human.items()})
        rows[r.task].append(row)
    out = {}
    for task, task_rows in rows.items():
        columns = list(dict.fromkeys(c for row in task_rows for c in row))
        if len(columns) < 2:
            continue
        ordered = sorted(columns, key=lambda c: (c.startswith("human: "), c))
        corr = spearman_matrix(task_rows, ordered, min_periods=10)
        matrix = [[_num(v, 3) for v in line] for line in corr]
        out[task] = {"labels": ordered, "matrix": matrix, "n": len(task_rows)}
    return out


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
    ordered = sorted(bundle.records, key=lambda r: (position.get(r.task, 0), r.index))
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
        "taskModels": {
            t: list(dict.fromkeys(r.model for r in bundle.records if r.task == t))
            for t in bundle.tasks
        },
        "metrics": _metrics(bundle),
        "aggregates": [_aggregate_row(a) for a in bundle.aggregates],
        "usage": usage,
        "frontiers": _frontiers(bundle, usage),
        "heatmaps": _heatmaps(bundle),
        "samples": samples,
        "outputs": outputs,
        "comparison": comparison,
    }
