"""The Judges tab's reliability rows: every figure formatted for a reader, unreliable judges
flagged.

A judge report (evalkit.analysis.judge_reliability, evalkit.judging.command) is a flat dict of JSON
values; the tab
shows each as text (no Python reprs such as `None` or `[]`): missing -> "n/a", empty list ->
"none", rates and shares as percentages, other floats to 3 significant digits. A judge whose
replies could not be read more often than `PARSE_FAILURE_FLAG` of the time is flagged: its scores
rest on the judgments it could read, which may not be a random subset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PARSE_FAILURE_FLAG = 0.05  # share of judgments whose verdict could not be parsed
_HEADER_KEYS = ("task", "kind", "rubric", "judge", "judges")
_PERCENT_HINTS = ("rate", "share", "consistency", "preference")


@dataclass(frozen=True)
class JudgeRow:
    task: str
    kind: str
    rubric: str
    judge: str
    figures: list[tuple[str, str]]  # (label, formatted value)
    flag: str | None  # why the judge is flagged, or None


def format_value(value: Any, key: str = "") -> str:
    """One JSON value as text; `key` decides whether a fraction reads as a percentage."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if any(h in key for h in _PERCENT_HINTS) and 0.0 <= value <= 1.0:
            return f"{100 * value:.3g}%"
        if abs(value) >= 1000:  # a rating on the Elo scale: 1,001.2, not 1e+03
            return f"{value:,.1f}"
        return f"{value:.3g}"
    if isinstance(value, str):
        return value or "n/a"
    if isinstance(value, Mapping):
        parts = [f"{k}: {format_value(v, f'{key} {k}')}" for k, v in value.items()]
        return "; ".join(parts) or "none"
    if isinstance(value, Sequence):
        return ", ".join(format_value(v, key) for v in value) or "none"
    return str(value)


def _flag(report: Mapping[str, Any]) -> str | None:
    rate = report.get("parse_failure_rate")
    if isinstance(rate, int | float) and not isinstance(rate, bool) and rate > PARSE_FAILURE_FLAG:
        return (
            f"high parse-failure rate: {100 * rate:.3g}% of its replies could not be read "
            f"(flagged above {100 * PARSE_FAILURE_FLAG:g}%)"
        )
    return None


def judge_rows(reports: Sequence[Mapping[str, Any]]) -> list[JudgeRow]:
    """One row per judge report, figures in the report's own order."""
    rows = []
    for r in reports:
        judge = r.get("judge") or r.get("judges")
        figures = [
            (str(k).replace("_", " "), format_value(v, str(k)))
            for k, v in r.items()
            if k not in _HEADER_KEYS
        ]
        rows.append(
            JudgeRow(
                task=format_value(r.get("task")),
                kind=format_value(r.get("kind")),
                rubric=format_value(r.get("rubric")),
                judge=format_value(judge),
                figures=figures,
                flag=_flag(r),
            )
        )
    return rows
