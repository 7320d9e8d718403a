"""Reading a judge's verdict: the structured (JSON) form first, then a tagged fallback.

A verdict that cannot be read, or that is out of the rubric's range, is a parse failure with its
reason: never rounded, clipped or guessed. Accepted tagged forms: `[[7]]` / `[[A]]` (MT-Bench),
`<score>7</score>`, and a closing `Score: 7` / `Verdict: A` line.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

_FENCED = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL)
_BRACED = re.compile(r"\{[^{}]*\}", re.DOTALL)
_NUMBER_TAGS = (
    re.compile(r"\[\[\s*(-?\d+(?:\.\d+)?)\s*\]\]"),
    re.compile(r"<score>\s*(-?\d+(?:\.\d+)?)\s*</score>", re.IGNORECASE),
    re.compile(r"(?:^|\n)\s*(?:final\s+)?score\s*[:=]\s*(-?\d+(?:\.\d+)?)\s*$", re.IGNORECASE),
)
_VERDICT_TAGS = (
    re.compile(r"\[\[\s*(A|B|C|tie)\s*\]\]", re.IGNORECASE),
    re.compile(r"<verdict>\s*(A|B|tie)\s*</verdict>", re.IGNORECASE),
    re.compile(r"(?:^|\n)\s*(?:final\s+)?verdict\s*[:=]\s*(A|B|tie)\b", re.IGNORECASE),
)


class ParseFailure(ValueError):
    """The judge's reply holds no readable verdict; the message says what was wrong."""


@dataclass(frozen=True)
class Verdict:
    value: float | str  # a score, or "A" / "B" / "tie"
    rationale: str | None
    form: str  # "json" or "tag": how it was read


def _json_objects(text: str) -> list[dict[str, Any]]:
    candidates = [m.group(1) for m in _FENCED.finditer(text)]
    stripped = text.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        candidates.append(stripped)
    candidates += [m.group(0) for m in _BRACED.finditer(text)]
    found = []
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def _rationale(obj: dict[str, Any]) -> str | None:
    for key in ("rationale", "explanation", "reasoning", "feedback"):
        if isinstance(obj.get(key), str):
            return str(obj[key])
    return None


def parse_score(text: str, low: int, high: int) -> Verdict:
    """A pointwise score within [low, high]."""
    for obj in _json_objects(text):
        if "score" in obj:
            raw = obj["score"]
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise ParseFailure(f"score is not a number: {raw!r}")
            try:
                score = float(raw)
            except ValueError:
                raise ParseFailure(f"score is not a number: {raw!r}") from None
            return Verdict(_in_range(score, low, high), _rationale(obj), "json")
    for pattern in _NUMBER_TAGS:
        matches = pattern.findall(text)
        if matches:
            return Verdict(_in_range(float(matches[-1]), low, high), None, "tag")
    raise ParseFailure("no score found (neither JSON with 'score' nor a tag like [[7]])")


def _in_range(score: float, low: int, high: int) -> float:
    if math.isnan(score) or not low <= score <= high:
        raise ParseFailure(f"score {score:g} is outside the scale {low}-{high}")
    return score


def parse_preference(text: str) -> Verdict:
    """A pairwise verdict: "A", "B" or "tie" (MT-Bench's [[C]] means tie)."""
    for obj in _json_objects(text):
        for key in ("verdict", "winner", "preference"):
            if key in obj:
                return Verdict(_verdict(str(obj[key])), _rationale(obj), "json")
    for pattern in _VERDICT_TAGS:
        matches = pattern.findall(text)
        if matches:
            return Verdict(_verdict(matches[-1]), None, "tag")
    raise ParseFailure("no verdict found (neither JSON with 'verdict' nor a tag like [[A]])")


def _verdict(raw: str) -> str:
    value = raw.strip().strip("[]").strip().lower()
    if value in {"a", "b"}:
        return value.upper()
    if value in {"tie", "c", "draw", "equal"}:
        return "tie"
    raise ParseFailure(f"verdict {raw!r} is not A, B or tie")


def logprob_weighted_score(logprobs: Any, score: float, low: int, high: int) -> float | None:
    """G-Eval's probability-weighted score: at the token where the judge wrote its score, the
    expectation of the integer scores over their token probabilities (from `top_logprobs`).

    None when the reply carries no usable logprobs (the plain score is used then).
    """
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list):
        return None
    target = str(int(score)) if float(score).is_integer() else None
    for position in content:
        if not isinstance(position, dict) or str(position.get("token", "")).strip() != target:
            continue
        weights: dict[int, float] = {}
        for alternative in position.get("top_logprobs") or []:
            token = str(alternative.get("token", "")).strip()
            if token.lstrip("-").isdigit() and low <= int(token) <= high:
                probability = math.exp(float(alternative.get("logprob", -math.inf)))
                weights[int(token)] = weights.get(int(token), 0.0) + probability
        total = sum(weights.values())
        if total > 0:
            return sum(value * p for value, p in weights.items()) / total
        return None
    return None
