"""How far can a judge be trusted on this run? The figures of the judge-reliability panel.

Pointwise: parse-failure and error rates, length bias (Spearman of score with output length),
self-preference (judge and candidate from the same model family), agreement with the human
ratings the outputs carry (the rubric's `human` dimension: Spearman and Kendall over samples, and
Kendall at summary level), cost and latency per 1,000 judgments.
Pairwise adds position-swap consistency, position bias (share of decisive verdicts for the answer
shown first) and length bias (how often the longer answer wins a decisive comparison).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from statistics import median

from scipy import stats as scipy_stats

from evalkit.stats.metaeval import Judged, Level, correlate
from evalkit.types import JSONValue, SampleRecord, Score

_FAMILY_SPLIT = re.compile(r"[-_.:@\s]+")


# which correlations of judge scores with human ratings the reliability report shows
_HUMAN_AGREEMENT: tuple[tuple[Level, str], ...] = (
    ("sample", "spearman"),
    ("sample", "kendall"),
    ("summary", "kendall"),
)


def model_family(name: str) -> str:
    """'gpt-4o-mini' -> 'gpt', 'Llama-3.1-8B' -> 'llama', 'models/qwen2-7b' -> 'qwen'."""
    last = name.lower().rstrip("/").rsplit("/", 1)[-1]
    first = next((p for p in _FAMILY_SPLIT.split(last) if p), last)
    return re.sub(r"[\d.]+$", "", first) or first


def self_preference(judge: str, candidates: Sequence[str]) -> list[str]:
    family = model_family(judge)
    return [c for c in candidates if model_family(c) == family]


def _per_1000(values: Sequence[float | None], n: int) -> float | None:
    known = [v for v in values if v is not None]
    return 1000 * sum(known) / n if known and n else None


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)


def usage_figures(details: Sequence[dict[str, JSONValue]]) -> dict[str, JSONValue]:
    n = len(details)
    costs = [d.get("judge_cost_usd") for d in details]
    latencies = [
        float(v) for d in details if isinstance(v := d.get("judge_latency_s"), int | float)
    ]
    return {
        "cost_usd_per_1000": _rounded(
            _per_1000([float(c) if isinstance(c, int | float) else None for c in costs], n)
        ),
        "latency_p50_s": _rounded(median(latencies)) if latencies else None,
        "cached_share": _rounded(sum(1 for d in details if d.get("judge_cached")) / n)
        if n
        else None,
    }


def carried_human(record: SampleRecord) -> object:
    """The human ratings a replayed output carries (`generation.metadata["human"]`)."""
    return record.generation.metadata.get("human")


def pointwise_report(
    rubric: str,
    human_dimension: str | None,
    judge: str,
    metric: str,
    records: Sequence[tuple[SampleRecord, Score]],
    human_of: Callable[[SampleRecord], object] = carried_human,
    human_source: str = "carried by the outputs",
) -> dict[str, JSONValue]:
    """The panel's figures for one judge; `human_of` gives a record's human ratings (a dict
    dimension -> value) and `human_source` says where they come from (e.g. studio ratings)."""
    n = len(records)
    ok = [(r, s) for r, s in records if s.status == "ok"]
    report: dict[str, JSONValue] = {
        "kind": "pointwise",
        "rubric": rubric,
        "judge": judge,
        "metric": metric,
        "judgments": n,
        "parse_failure_rate": _rounded(sum(s.status == "parse_error" for _, s in records) / n)
        if n
        else None,
        "error_rate": _rounded(sum(s.status == "error" for _, s in records) / n) if n else None,
        "self_preference": self_preference(judge, sorted({r.model for r, _ in records})),
        **usage_figures([s.details for _, s in records if s.status != "unscorable"]),
    }
    lengths = [len(r.generation.text.split()) for r, _ in ok]
    values = [s.value for _, s in ok]
    if len(ok) > 2 and len(set(lengths)) > 1 and len(set(values)) > 1:  # else undefined: None
        rho = scipy_stats.spearmanr(values, lengths)[0]
        report["length_bias_spearman"] = _rounded(float(rho))
    if human_dimension:
        pairs = [
            Judged(s.value, float(h[human_dimension]), r.sample_id, r.model)
            for r, s in ok
            if isinstance(h := human_of(r), dict) and human_dimension in h
        ]
        if len(pairs) > 2:
            report["human_dimension"] = human_dimension
            report["human_source"] = human_source
            report["human_n"] = len(pairs)
            for level, method in _HUMAN_AGREEMENT:
                c = correlate(pairs, level, method, n_resamples=200)
                report[f"human_{level}_{method}"] = _rounded(c.value)
    return report
