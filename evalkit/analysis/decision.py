"""The decision block at the top of the report: per task, one sentence a reader can repeat.

"summeval: M23 is best on rouge1 (0.47 [0.45, 0.49]); M22 and M17 are not significantly different
(paired test, Holm, α = 0.05); latency p50 0.80 s, $2.00 per 1,000 samples."

The ranking metric is the task's declared primary metric (RunRecord.primary_metrics, when the run
recorded one and scored it), else the task's first metric. "Not significantly different" is the
summary table's verdict: the shared significance policy's paired test of each model against the
column's best on shared samples, Holm-corrected within the column
(evalkit.analysis.report_comparisons).
"""

from __future__ import annotations

from collections.abc import Sequence

from evalkit.analysis.bundle import ReportBundle
from evalkit.analysis.report_comparisons import ALPHA
from evalkit.analysis.stored import Decision, SummaryCell, SummaryTable
from evalkit.types import Aggregate, UsageSummary


def declared_primary(bundle: ReportBundle, task: str) -> str | None:
    """The task's primary metric as a run recorded it (`primary_metrics` in run.json), if any."""
    for loaded in bundle.runs:
        declared = getattr(loaded.run, "primary_metrics", None) or {}
        if isinstance(declared, dict) and declared.get(task):
            return str(declared[task])
    return None


def rank_metric(bundle: ReportBundle, task: str) -> tuple[str | None, str]:
    """(metric, where it came from): the declared primary metric when scored, else the first."""
    metrics = list(dict.fromkeys(a.metric for a in bundle.aggregates if a.task == task))
    primary = declared_primary(bundle, task)
    if primary is not None and primary in metrics:
        return primary, "primary_metric"
    return (metrics[0] if metrics else None), "first metric"


def _value(a: Aggregate) -> str:
    if a.value is None:
        return "n/a"
    if a.ci_low is None or a.ci_high is None:
        return f"{a.value:.3g}"
    return f"{a.value:.3g} [{a.ci_low:.3g}, {a.ci_high:.3g}]"


def _names(models: Sequence[str]) -> str:
    if len(models) <= 2:
        return " and ".join(models)
    return ", ".join(models[:-1]) + " and " + models[-1]


def _usage_text(usage: Sequence[UsageSummary], task: str, model: str) -> str:
    """Latency and cost of (task, model) where measured; '' when neither was."""
    u = next((x for x in usage if x.task == task and x.model == model), None)
    if u is not None and u.latency_p50_s is None and u.cost_usd is None:
        return "latency and cost not measured (replayed outputs)"
    parts = []
    if u is not None and u.latency_p50_s is not None:
        parts.append(f"latency p50 {u.latency_p50_s:.2f} s")
    if u is not None and u.cost_usd is not None and u.n:
        parts.append(f"${1000 * u.cost_usd / u.n:.2f} per 1,000 samples")
    return ", ".join(parts)


def _groups(cells: dict[str, SummaryCell]) -> tuple[list[str], list[str], list[str]]:
    """(best, not significantly different from it, not testable against it)."""
    best = [m for m, c in cells.items() if c.best]
    rest = {m: c for m, c in cells.items() if not c.best}
    tied = [m for m, c in rest.items() if c.p_vs_best is not None and not c.worse_than_best]
    untested = [m for m, c in rest.items() if c.p_vs_best is None]
    return best, tied, untested


def _sentence(task: str, metric: str, cells: dict[str, SummaryCell], usage_text: str) -> str:
    best, tied, untested = _groups(cells)
    if not best:
        return f"{task}: no model could be scored on {metric}."
    lead = f"{metric} ({_value(cells[best[0]].aggregate)})"
    test = f"(paired test, Holm, α = {ALPHA:g})"
    others = len(cells) - len(best)
    if others == 0:
        text = f"{task}: {best[0]} is the only model ({metric} {_value(cells[best[0]].aggregate)})"
    else:
        text = f"{task}: {_names(best)} {'is' if len(best) == 1 else 'are'} best on {lead}"
    if tied and len(tied) > 3:
        text += f"; {len(tied)} of the {others} others are not significantly different {test}: "
        text += _names(tied)
    elif tied:
        verb = "is" if len(tied) == 1 else "are"
        text += f"; {_names(tied)} {verb} not significantly different {test}"
    elif others and len(untested) < others:
        text += f"; every other model is significantly worse {test}"
    if untested:
        text += f"; {_names(untested)} could not be tested (no shared samples)"
    if usage_text.endswith("not measured (replayed outputs)"):
        text += f"; {usage_text}"
    elif usage_text:
        text += f"; {best[0]}: {usage_text}"
    return text + "."


def decisions(
    bundle: ReportBundle, tables: Sequence[SummaryTable], ranked_by: dict[str, tuple[str, str]]
) -> list[Decision]:
    """One Decision per summary table; `ranked_by`: task -> (metric, source) from `rank_metric`."""
    out = []
    for table in tables:
        metric, source = ranked_by.get(table.task, (table.metrics[0], "first metric"))
        cells = {model: row[metric] for model, row in table.rows if metric in row}
        best, tied, untested = _groups(cells)
        usage_text = _usage_text(bundle.usage, table.task, best[0]) if best else ""
        sentence = _sentence(table.task, metric, cells, usage_text)
        out.append(
            Decision(
                task=table.task,
                metric=metric,
                metric_source=source,
                best=best,
                tied=tied,
                untested=untested,
                n_models=len(cells),
                sentence=sentence,
            )
        )
    return out
