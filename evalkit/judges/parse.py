"""Reading a judge's verdict: its own final verdict, from JSON, tags, or (pairwise only) prose.

Reasoning (`<think>...</think>` and the like) never yields a verdict. Candidates are read from
the judge's final statement:

1. JSON anywhere in the reply, found with a real JSON decoder: an object that has a score key
   (`score`, `final_score`, `overall_score`, `rating`) or a verdict key (`verdict`, `winner`,
   `preference`, `preferred`, `choice`, `better`), also one or two levels down; and tags outside
   JSON: `[[7]]` / `[[A]]` / `[[C]]` (MT-Bench; C is a tie), `<score>7</score>`,
   `<verdict>A</verdict>`, a label `Score: 7`, `Rating: 7/10`, `**Final score:** 7` anywhere in
   a sentence ("On reflection, Score: 5"; not a rubric's "score: 1 = poor"), `Verdict: Response B`,
   `Winner: A`, or a line that is only `Output (a)` (AlpacaEval).
2. Only when none of those is the judge's own, pairwise prose: "I prefer A", "Response B is
   better", "Output (a) is the best", "the winner is B", "It's a tie", "Neither response A nor
   response B is better"; one negated in its sentence ("I do not prefer A") does not count.

A candidate the judge quotes from the text it judges (in quotation marks, a code span, a block
quote, or after "wrote", "says", "contained" ...) is never its verdict; of the others, the last
one announced as a verdict (tags, labels, "My verdict: {...}", "I rate it ...") wins, else the
last one (`evalkit.judges.quotes`). When every candidate is a quote, the reply has no verdict.

A verdict that cannot be read, is out of the rubric's range, is given on another scale
(`8/10` for a 1-5 rubric) or is not A/B/tie is a parse failure with its reason: never rounded,
clipped or guessed, and an earlier verdict is never used in its place.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from evalkit.judges.quotes import Role, choose, role, sentence_start
from evalkit.judges.reply import (
    JsonObject,
    final_statement,
    find_key,
    first_group,
    has_key,
    json_objects,
    masked,
)

SCORE_KEYS = ("score", "final_score", "overall_score", "rating")
VERDICT_KEYS = ("verdict", "winner", "preference", "preferred", "choice", "better")
_NUM = r"(-?\d+(?:\.\d+)?)"
_OF = r"(?:\s*(?:/|out\s+of)\s*(\d+))?"
_LINE_START = r"(?:^[ \t>#*_-]*|(?<=[.!?])[ \t*]+)"  # a line's or a sentence's start
_PUNCT = r"[*_ \t]*"
_WHO = r"(?:(?:response|output|answer|assistant|model|candidate)\s*)"
_SCORE_LABEL = re.compile(  # "Score: 7", "**Final score:** 8/10", "..., so my Score: 5"
    rf"\b(?:final\s+|overall\s+)?(?:score|rating|grade){_PUNCT}[:=]{_PUNCT}{_NUM}{_OF}"
    r"(?![\w%/-]|\.\d|\s*(?:=|means\b))",  # not "1-10", "score: 1 = poor"
    re.IGNORECASE,
)
_NUMBER_TAGS = (
    re.compile(rf"\[\[\s*{_NUM}{_OF}\s*\]\]"),
    re.compile(rf"<score>\s*{_NUM}{_OF}\s*</score>", re.IGNORECASE),
    _SCORE_LABEL,
)
_LETTER = r"(?:\(\s*([abc])\s*\)|(?-i:([ABC]))(?![\w'’])|(?:an?\s+)?(tie|draw)\b)"
_AB = r"(?:\(\s*([ab])\s*\)|(?-i:([AB]))(?![\w'’]))"
_OUTPUT_LINE = re.compile(rf"{_LINE_START}{_WHO}{_AB}[*_ \t.!]*$", re.IGNORECASE | re.MULTILINE)
_VERDICT_TAGS = (
    re.compile(r"\[\[\s*(A|B|C|tie)\s*\]\]", re.IGNORECASE),
    re.compile(r"<verdict>\s*(A|B|C|tie)\s*</verdict>", re.IGNORECASE),
    re.compile(
        rf"{_LINE_START}(?:final\s+)?(?:verdict|winner|decision|preference|"
        rf"(?:preferred|better)\s+(?:response|output|answer)){_PUNCT}[:=]{_PUNCT}{_WHO}?{_LETTER}",
        re.IGNORECASE | re.MULTILINE,
    ),
    _OUTPUT_LINE,
)
_ADVERBS = r"(?:(?:clearly|slightly|much|significantly|far|overall|definitely|strongly)\s+)*"
_PROSE = (
    re.compile(rf"\bI\s+(?:would\s+|do\s+)?{_ADVERBS}prefer\s+{_WHO}?{_AB}", re.IGNORECASE),
    re.compile(
        rf"\b{_WHO}{_AB}\s+(?:is|was)\s+{_ADVERBS}(?:the\s+)?(?:better|best|preferred|superior|"
        r"stronger|winner)\b(?!\s+(?:at|in|on|for|when|regarding)\b)",
        re.IGNORECASE,
    ),
    re.compile(rf"\bthe\s+winner\s+is\s+{_WHO}?{_AB}", re.IGNORECASE),
)
_PROSE_TIE = re.compile(
    r"\b(?:it(?:'|’)?s\s+a\s+tie|(?:both|the\s+two)\s+(?:responses|outputs|answers)\s+are\s+"
    r"(?:equally\s+\w+|equivalent|tied|of\s+(?:equal|the\s+same)\s+quality)|"
    r"neither\s+(?:response|output|answer)\s+is\s+better|"
    rf"neither\s+{_WHO}?A\s+nor\s+{_WHO}?B\s+is\s+better\b(?!\s+(?:at|in|on|for|when|regarding)\b))",
    re.IGNORECASE,
)
_NEGATED = re.compile(
    r"(?:\bnot|\bnever|n't|\bcannot|\bneither|\bnor)\W+(?:\w+\W+){0,2}$", re.IGNORECASE
)


class ParseFailure(ValueError):
    """The judge's reply holds no readable verdict; the message says what was wrong."""


@dataclass(frozen=True)
class Verdict:
    value: float | str  # a score, or "A" / "B" / "tie"
    rationale: str | None
    form: str  # "json", "tag" or "prose": how it was read
    position: int | None = None  # where in the reply the score's digits start, when known
    span: tuple[int, int] | None = None  # where in the reply a pairwise verdict is written


def _rationale(obj: dict[str, Any]) -> str | None:
    for key in ("rationale", "explanation", "reasoning", "feedback"):
        if isinstance(obj.get(key), str):
            return str(obj[key])
    return None


def parse_score(text: str, low: int, high: int) -> Verdict:
    """A pointwise score within [low, high]: the judge's own final verdict (module docstring).

    Raises ParseFailure with the reason when there is none, when every score in the reply is
    quoted from the text judged, or when the verdict is not usable."""
    statement = final_statement(text)
    objects = json_objects(statement)
    plain = masked(statement, objects)
    candidates: list[tuple[int, Role, JsonObject | re.Match[str]]] = [
        (obj.end, role(plain, obj.start), obj) for obj in objects if has_key(obj.value, SCORE_KEYS)
    ]
    for pattern in _NUMBER_TAGS:  # tags are the verdict syntax rubrics ask for: announced
        candidates += [
            (m.end(), role(plain, m.start(), is_label=True), m) for m in pattern.finditer(plain)
        ]
    final, all_quoted = choose(candidates)
    if isinstance(final, JsonObject):
        key, raw = find_key(final.value, SCORE_KEYS)
        score = _json_score(raw, low, high)
        where = _value_position(statement[final.start : final.end], key, score)
        position = None if where is None else final.start + where
        return Verdict(score, _rationale(final.value), "json", position)
    if final is not None:
        score = _on_scale(float(final.group(1)), final.group(2), low, high)
        return Verdict(score, None, "tag", final.start(1))
    if all_quoted:
        raise ParseFailure(_ALL_QUOTED.format(what="score"))
    raise ParseFailure(
        "no score found (neither JSON with 'score' nor a tag like [[7]])" + _only_reasoning(text)
    )


_ALL_QUOTED = (
    "every {what} in the reply is quoted from the text judged (in quotation marks or after "
    "'wrote', 'says', 'contained' ...); the judge gave none of its own"
)


def _value_position(object_text: str, key: str, score: float) -> int | None:
    """Where the last `"key": score` of this JSON text starts its digits (case-insensitive)."""
    pattern = re.compile(rf'"{re.escape(key)}"\s*:\s*"?\s*{_NUM}', re.IGNORECASE)
    found = [m.start(1) for m in pattern.finditer(object_text) if float(m.group(1)) == score]
    return found[-1] if found else None


def _json_score(raw: Any, low: int, high: int) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ParseFailure(f"score is not a number: {raw!r}")
    if not isinstance(raw, str):
        return _in_range(float(raw), low, high)
    written = re.fullmatch(rf"\s*{_NUM}{_OF}\s*", raw)
    if written is None:
        raise ParseFailure(f"score is not a number: {raw!r}")
    return _on_scale(float(written.group(1)), written.group(2), low, high)


def _on_scale(score: float, out_of: str | None, low: int, high: int) -> float:
    if out_of is not None and int(out_of) != high:
        raise ParseFailure(f"score {score:g}/{out_of} is not on the rubric's scale {low}-{high}")
    return _in_range(score, low, high)


def _in_range(score: float, low: int, high: int) -> float:
    if math.isnan(score) or not low <= score <= high:
        raise ParseFailure(f"score {score:g} is outside the scale {low}-{high}")
    return score


def _only_reasoning(text: str) -> str:
    if text.strip() and not final_statement(text).strip():
        return "; the reply holds only reasoning (<think>...), no final statement"
    return ""


def parse_preference(text: str) -> Verdict:
    """A pairwise verdict, "A", "B" or "tie": the judge's own final verdict (module docstring;
    MT-Bench's [[C]] means tie). Raises ParseFailure with the reason when there is none or every
    verdict in the reply is quoted from the responses judged."""
    statement = final_statement(text)
    objects = json_objects(statement)
    plain = masked(statement, objects)
    candidates: list[tuple[int, Role, JsonObject | re.Match[str]]] = [
        (obj.end, role(plain, obj.start), obj)
        for obj in objects
        if has_key(obj.value, VERDICT_KEYS)
    ]
    for pattern in _VERDICT_TAGS:  # all but a bare "Output (a)" line are announced
        label = pattern is not _OUTPUT_LINE
        candidates += [(m.end(), role(plain, m.start(), label), m) for m in pattern.finditer(plain)]
    final, quoted_tags = choose(candidates)
    if isinstance(final, JsonObject):
        key, raw = find_key(final.value, VERDICT_KEYS)
        span = _value_span(statement[final.start : final.end], key)
        if span is not None:
            span = (final.start + span[0], final.start + span[1])
        return Verdict(_verdict(str(raw)), _rationale(final.value), "json", None, span)
    if final is not None:
        return Verdict(_verdict(first_group(final)), None, "tag", None, _group_span(final))
    prose, quoted_prose, prose_span = _prose_verdict(plain)
    if prose is not None:
        return Verdict(prose, None, "prose", None, prose_span)
    if quoted_tags or quoted_prose:
        raise ParseFailure(_ALL_QUOTED.format(what="verdict"))
    raise ParseFailure(
        "no verdict found (neither JSON with 'verdict' nor a tag like [[A]])"
        + _only_reasoning(text)
    )


def _group_span(match: re.Match[str]) -> tuple[int, int]:
    """The span of the first group that matched (the verdict's letter or word)."""
    index = next(i for i, g in enumerate(match.groups(), start=1) if g is not None)
    return match.span(index)


def _value_span(object_text: str, key: str) -> tuple[int, int] | None:
    """Where the last `"key": value` of this JSON text writes its value (quotes excluded)."""
    pattern = re.compile(rf'"{re.escape(key)}"\s*:\s*(?:"([^"]*)"|([^,}}\s]+))', re.IGNORECASE)
    found = list(pattern.finditer(object_text))
    return _group_span(found[-1]) if found else None


def _prose_verdict(plain: str) -> tuple[str | None, bool, tuple[int, int] | None]:
    """The last verdict stated in prose that is neither negated in its sentence ("I do not
    prefer A", "neither response A nor response B is better") nor quoted, or None; whether
    a quoted one was seen; and the span of the verdict's statement."""
    found = [(m, "") for pattern in _PROSE for m in pattern.finditer(plain)]
    found += [(m, "tie") for m in _PROSE_TIE.finditer(plain)]
    found = [(m, value) for m, value in found if not _negated(plain, m.start())]
    own = [(m, value) for m, value in found if role(plain, m.start()) != "quote"]
    if not own:
        return None, bool(found), None
    final, value = max(own, key=lambda pair: (pair[0].end(), pair[0].start()))
    return value or _verdict(first_group(final)), False, final.span()


def _negated(plain: str, start: int) -> bool:
    """A negation within the few words before `start`, in the same sentence."""
    return bool(_NEGATED.search(plain[max(sentence_start(plain, start), start - 30) : start]))


def _verdict(raw: str) -> str:
    value = re.sub(rf"^\W*{_WHO}", "", raw.strip().lower()).strip(" \t[]()*.!")
    if value in {"a", "b"}:
        return value.upper()
    if value in {"tie", "c", "draw", "equal", "tied"}:
        return "tie"
    raise ParseFailure(f"verdict {raw!r} is not A, B or tie")


def logprob_weighted_score(
    logprobs: Any, score: float, low: int, high: int, at: int | None = None
) -> float | None:
    """G-Eval's probability-weighted score: at the token where the judge wrote its score, the
    expectation of the integer scores over their token probabilities (from `top_logprobs`).

    `at` (Verdict.position) is where the verdict's digits start in the reply: the token there is
    used (else the token for the score nearest to it), never a score quoted or drafted earlier;
    without `at`, the first token equal to the score. None when the reply carries no usable
    logprobs (the plain score is used then).
    """
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list):
        return None
    target = str(int(score)) if float(score).is_integer() else None
    offsets, offset = [], 0
    for entry in content:
        token = str(entry.get("token", "")) if isinstance(entry, dict) else ""
        if token.strip() == target:
            offsets.append((offset, offset + len(token), entry))
        offset += len(token)
    if not offsets:
        return None
    if at is None:
        chosen = offsets[0][2]
    else:
        chosen = min(offsets, key=lambda o: 0 if o[0] <= at < o[1] else 1 + abs(o[0] - at))[2]
    return _expected_score(chosen.get("top_logprobs") or [], low, high)


def _expected_score(alternatives: list[Any], low: int, high: int) -> float | None:
    weights: dict[int, float] = {}
    for alternative in alternatives:
        token = str(alternative.get("token", "")).strip()
        if token.lstrip("-").isdigit() and low <= int(token) <= high:
            probability = math.exp(float(alternative.get("logprob", -math.inf)))
            weights[int(token)] = weights.get(int(token), 0.0) + probability
    total = sum(weights.values())
    return sum(value * p for value, p in weights.items()) / total if total > 0 else None
