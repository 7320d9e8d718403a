"""Per task x model totals of what generation cost: tokens, dollars, latency percentiles.

Computed from the latest record of each sample, so a retried sample counts once. A total is None
when any sample lacks the measurement: an unknown cost is not a zero cost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from evalkit.types import SampleRecord, UsageSummary


def _total(values: Sequence[float | int | None]) -> float | None:
    return (
        None if not values or any(v is None for v in values) else float(sum(v or 0 for v in values))
    )


def _percentile(values: Sequence[float | None], q: float) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.percentile(known, q)) if known else None


def _timings(values: Sequence[float | None], group: Sequence[SampleRecord]) -> list[float | None]:
    """The measured values of fresh generations, or of all (replayed or cached ones) when no fresh
    generation was timed: a few failed requests must not hide the latency of the rest."""
    fresh = [
        v for v, r in zip(values, group, strict=True) if not r.generation.cached and v is not None
    ]
    return list(fresh) or [v for v in values if v is not None]


def summarize_usage(records: Iterable[SampleRecord]) -> list[UsageSummary]:
    grouped: dict[tuple[str, str], list[SampleRecord]] = defaultdict(list)
    for record in records:
        grouped[(record.task, record.model)].append(record)
    out = []
    for (task, model), group in grouped.items():
        latencies = _timings([r.generation.latency_s for r in group], group)
        first_tokens = _timings([r.generation.time_to_first_token_s for r in group], group)
        out.append(
            UsageSummary(
                task=task,
                model=model,
                n=len(group),
                n_errors=sum(r.generation.error is not None for r in group),
                n_cached=sum(r.generation.cached for r in group),
                n_empty=sum(r.generation.status == "empty" for r in group),
                n_truncated=sum(r.generation.status == "truncated" for r in group),
                input_tokens=_total([r.generation.input_tokens for r in group]),
                output_tokens=_total([r.generation.output_tokens for r in group]),
                cost_usd=_total([r.generation.cost_usd for r in group]),
                latency_p50_s=_percentile(latencies, 50),
                latency_p95_s=_percentile(latencies, 95),
                ttft_p50_s=_percentile(first_tokens, 50),
            )
        )
    return out


def cut_off_lines(usage: Iterable[UsageSummary]) -> list[str]:
    """One console line per task x model with answers cut at the token limit, e.g.
    "summeval/gpt: truncated: 3 of 3 (...)"; none when nothing was cut."""
    lines = []
    for u in usage:
        parts = []
        if u.n_truncated:
            parts.append(f"truncated: {u.n_truncated} of {u.n} (cut at the token limit, scored)")
        if u.n_empty:
            parts.append(f"empty: {u.n_empty} of {u.n} (no answer text, failed)")
        if parts:
            lines.append(f"{u.task}/{u.model}: " + "; ".join(parts))
    return lines
