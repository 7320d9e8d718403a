"""What a judgment cost: the figures each judged score (`details`) and each line of
`pairwise.jsonl` carry, summed over a judge's replies to one prompt (the first ask and any
re-ask); `evalkit.analysis.judge_reliability.usage_figures` turns them into cost and latency per
1,000
judgments and the cached share."""

from __future__ import annotations

from collections.abc import Sequence

from evalkit.types import Generation, JSONValue


def usage_details(replies: Sequence[Generation]) -> dict[str, JSONValue]:
    """What the judgment cost: summed over the first ask and any re-ask."""

    def total(field: str) -> float | None:
        values = [getattr(g, field) for g in replies if getattr(g, field) is not None]
        return float(sum(values)) if values else None

    return {
        "judge_calls": len(replies),
        "judge_cached": all(g.cached for g in replies),
        "judge_latency_s": total("latency_s"),
        "judge_cost_usd": total("cost_usd"),
        "judge_input_tokens": total("input_tokens"),
        "judge_output_tokens": total("output_tokens"),
    }
