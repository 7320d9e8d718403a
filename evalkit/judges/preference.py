"""Logprob-weighted pairwise preferences: how sure the judge was of its A / B / tie verdict.

With top logprobs (an OpenAI-compatible judge with `logprobs: true, top_logprobs: k`), the token
where the judge wrote its verdict carries the probabilities of the verdicts it could have written
there. AlpacaEval 2's weighted annotator turns its two verdict tokens' probabilities into a
preference in [0, 1] (Dubois et al. 2024, "Length-Controlled AlpacaEval"); this does the same for
evalkit's three-way verdicts:

    P(the output shown as A wins) = (p(A) + p(tie) / 2) / (p(A) + p(B) + p(tie))

where p(v) sums the probabilities of the alternatives that read as v ("A", " A", "a", "[[A";
tie: "C", "tie", "draw", "equal"). Only the token inside the verdict the parser chose is used, never
a letter the judge wrote earlier in its reasoning.
"""

from __future__ import annotations

import math
from typing import Any

_STRIP = " \t\n[]()*\"'.:,`<>"
_READS_AS = {"a": "A", "b": "B", "c": "tie", "tie": "tie", "draw": "tie", "equal": "tie"}


def reads_as(token: str) -> str | None:
    """The verdict a token spells ("A", "B" or "tie"), or None."""
    return _READS_AS.get(token.strip(_STRIP).lower())


def verdict_token(content: list[Any], label: str, span: tuple[int, int]) -> dict[str, Any] | None:
    """The last token overlapping `span` (character offsets in the reply) that reads as `label`.

    `content` is the OpenAI `logprobs.content` list: one {"token", "logprob", "top_logprobs"} per
    generated token, whose texts concatenate to the reply."""
    start, end = span
    chosen: dict[str, Any] | None = None
    offset = 0
    for entry in content:
        token = str(entry.get("token", "")) if isinstance(entry, dict) else ""
        if offset < end and offset + len(token) > start and reads_as(token) == label:
            chosen = entry
        offset += len(token)
    return chosen


def logprob_preference(logprobs: Any, label: str, span: tuple[int, int] | None) -> float | None:
    """P(the output shown as A wins) in [0, 1], from the alternatives at the verdict's token.

    `label` is the parsed verdict ("A", "B" or "tie") and `span` where it is written in the reply
    (`Verdict.span`). None when the reply carries no logprobs, the verdict's token is not found,
    or its alternatives give no verdict any probability: the discrete verdict counts then."""
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list) or span is None:
        return None
    entry = verdict_token(content, label, span)
    if entry is None:
        return None
    mass = {"A": 0.0, "B": 0.0, "tie": 0.0}
    for alternative in entry.get("top_logprobs") or []:
        verdict = reads_as(str(alternative.get("token", "")))
        if verdict is not None:
            mass[verdict] += math.exp(float(alternative.get("logprob", -math.inf)))
    total = sum(mass.values())
    if total <= 0.0:
        return None
    return (mass["A"] + mass["tie"] / 2) / total
