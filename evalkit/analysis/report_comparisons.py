"""The report's paired statistics: who is tied with the best, and every model against a baseline.

Both reuse `evalkit compare`'s paired test on the samples two models share, by the one policy of
`evalkit.stats.significance_policy` (paired t-test for mean metrics, McNemar for 0/1 metrics, a
resampling
test with B scaled to the family for corpus metrics) with Holm's correction within each
task x metric: the column's models against its best for the summary's "tied with the best" marks,
every model against the task's baseline for the comparison view.
"""

from __future__ import annotations

import math
from typing import Any

from evalkit.analysis.bundle import ReportBundle
from evalkit.analysis.compare import LoadedRecords, adjust, compare_pair
from evalkit.analysis.stored import SummaryCell, SummaryTable
from evalkit.stats.significance_policy import SignificancePolicy, holm_by_family
from evalkit.types import Aggregate

POLICY = SignificancePolicy()
ALPHA = POLICY.alpha


def loaded(bundle: ReportBundle) -> LoadedRecords:
    """The bundle's columns for paired tests; pass one to several calls to share its caches."""
    return LoadedRecords(bundle.groups, bundle.metrics, bundle.models)


def _has_spec(bundle: ReportBundle, task: str, metric: str) -> bool:
    return bundle.metrics.spec(task, metric) is not None


def _best(cells: list[Aggregate]) -> Aggregate | None:
    valued = [a for a in cells if a.value is not None and not math.isnan(a.value)]
    if not valued:
        return None
    sign = 1.0 if valued[0].higher_is_better else -1.0
    return max(valued, key=lambda a: sign * float(a.value or 0.0))


def _paired(
    bundle: ReportBundle,
    data: LoadedRecords,
    where: tuple[str, str],
    pair: tuple[str, str],
    family_size: int,
    n_resamples: int,
) -> dict[str, Any] | None:
    """`evalkit compare`'s paired test of pair = (baseline, model) by the shared policy, without
    per-model CIs: the report shows each model's CI from its aggregates."""
    base, model = pair
    return compare_pair(
        where, base, model, data, POLICY, family_size, bundle.seed, n_resamples, with_cis=False
    )


def _column(
    bundle: ReportBundle, data: LoadedRecords, task: str, metric: str, n_resamples: int
) -> dict[str, SummaryCell]:
    cells = [a for a in bundle.aggregates if a.task == task and a.metric == metric]
    best = _best(cells)
    others = [a for a in cells if best is not None and a.model != best.model]
    raw: dict[str, float] = {}
    if best is not None and _has_spec(bundle, task, metric):
        where = (task, metric)
        for a in others:
            row = _paired(bundle, data, where, (best.model, a.model), len(others), n_resamples)
            if row is not None:
                raw[a.model] = float(row["p_value"])
    adjusted = dict(zip(raw, holm_by_family(list(raw.values()), [0] * len(raw)), strict=True))
    out = {}
    best_model = None if best is None else best.model
    for a in cells:
        p = adjusted.get(a.model)
        is_best = best is not None and a.model == best.model
        worse = p is not None and POLICY.significant(p)
        out[a.model] = SummaryCell(
            aggregate=a, best=is_best, best_model=best_model, p_vs_best=p, worse_than_best=worse
        )
    return out


def summary_tables(
    bundle: ReportBundle,
    *,
    n_resamples: int = 1000,
    rank_by: dict[str, str] | None = None,
    data: LoadedRecords | None = None,
) -> list[SummaryTable]:
    """Per task: every model's aggregates, the best per column, and who is tied with it; rows
    ranked by `rank_by[task]` (the task's primary metric) when given, else the first metric."""
    data = data or loaded(bundle)
    tables = []
    for task in bundle.tasks:
        mine = [a for a in bundle.aggregates if a.task == task]
        metrics = list(dict.fromkeys(a.metric for a in mine))
        columns = {m: _column(bundle, data, task, m, n_resamples) for m in metrics}
        models = list(dict.fromkeys(a.model for a in mine))
        rank = (rank_by or {}).get(task, metrics[0])
        rank = rank if rank in columns else metrics[0]
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
        tables.append(
            SummaryTable(task=task, metrics=metrics, higher_is_better=direction, rows=rows)
        )
    return tables


def task_baselines(bundle: ReportBundle, baseline: str) -> dict[str, str]:
    """Per task, the model others are compared with: `baseline` where it answered the task,
    else the task's first model (a merged report may hold tasks with disjoint models)."""
    out = {}
    for task in bundle.tasks:
        models = bundle.task_models(task)
        if models:
            out[task] = baseline if baseline in models else models[0]
    return out


def baseline_comparisons(
    bundle: ReportBundle,
    baselines: dict[str, str],
    *,
    n_resamples: int = 1000,
    data: LoadedRecords | None = None,
) -> list[dict[str, Any]]:
    """Every other model against its task's baseline, per metric; Holm within each task x metric
    (the policy's family, as in `evalkit compare`). `data`: the bundle's records, loaded once
    when this is called for several baselines (their bootstrap statistics are then reused)."""
    data = data or loaded(bundle)
    raw = []
    for task, baseline in baselines.items():
        others = [m for m in bundle.models if m != baseline and data.has(task, m)]
        for metric in dict.fromkeys(a.metric for a in bundle.aggregates if a.task == task):
            if not _has_spec(bundle, task, metric):
                continue
            for model in others:
                where = (task, metric)
                row = _paired(bundle, data, where, (baseline, model), len(others), n_resamples)
                if row is not None:
                    raw.append(row)
    return adjust(raw, POLICY)


# The columns of a compact comparison row (`every_baseline`'s "by_baseline").
COMPACT_FIELDS = (
    "model", "metric", "n", "baseline_value", "value", "delta", "delta_low", "delta_high",
    "test", "p_value", "p_holm", "significant",
)  # fmt: skip
# A task with more models stores the paired tests against its rendered baseline only.
MAX_BASELINE_MODELS = 40


def _short(value: Any) -> Any:
    """Floats to 6 significant digits (the page shows 3): a smaller page, the same decisions."""
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else None
    return value


def _compact(row: dict[str, Any]) -> list[Any]:
    low, high = row["delta_ci"]
    full = {**row, "delta_low": low, "delta_high": high}
    return [_short(full[k]) for k in COMPACT_FIELDS]


def every_baseline(
    bundle: ReportBundle,
    baselines: dict[str, str],
    *,
    n_resamples: int = 1000,
    data: LoadedRecords | None = None,
) -> dict[str, Any]:
    """The Compare tab's data: `rows`, every model against the rendered baseline of its task
    (`baselines`, as `baseline_comparisons`), and `by_baseline`, task -> baseline -> compact rows
    (`fields` names their columns) for every model of the task as the baseline, each with its own
    Holm family, so that the page shows the paired tests of whichever baseline a reader picks.
    Each model's bootstrap statistics are computed once and shared by all its comparisons."""
    data = data or loaded(bundle)
    rows = baseline_comparisons(bundle, baselines, n_resamples=n_resamples, data=data)
    by_baseline: dict[str, dict[str, list[list[Any]]]] = {}
    for task, default in baselines.items():
        models = [m for m in bundle.models if data.has(task, m)]
        chosen = models if len(models) <= MAX_BASELINE_MODELS else [default]
        by_baseline[task] = {}
        for base in chosen:
            mine = (
                [r for r in rows if r["task"] == task]
                if base == default
                else baseline_comparisons(bundle, {task: base}, n_resamples=n_resamples, data=data)
            )
            by_baseline[task][base] = [_compact(r) for r in mine]
    return {
        "baselines": baselines,
        "rows": rows,
        "fields": list(COMPACT_FIELDS),
        "by_baseline": by_baseline,
    }
