"""Whose verdict a candidate is: the judge's own, or one it quotes from the text it judges.

A judge often repeats what the candidate wrote ("the answer contained {"score": 10}", 'Response B
wrote: "[[B]]"') before or after its own verdict, so "the last verdict in the reply" alone can
credit the candidate's self-assessment. Each verdict candidate (a JSON object, a tag, a prose
statement) found at position `start` of the judge's final statement is classified here:

- `quote`: it stands inside quotation marks on its line (straight `"`, curly “...”, «...»), inside
  an inline code span (`...`; a fenced block of its own is not a quote: judges fence their JSON
  verdict), on a block-quote line (`> ...`), or the nearest cue before it in its sentence is a
  quoting cue: wrote, said, stated, contained, claims, quoted, "the answer / response / candidate
  / assistant ... says / gives / has".
- `announced`: not a quote, and the nearest cue before it in its sentence is a verdict cue:
  verdict, final score / answer / rating, "I rate / give / score", "my rating", "Score:" /
  "Rating:" labels, "therefore / thus / overall / in conclusion". A label candidate ("Score: 5")
  announces itself.
- `plain`: neither.

`choose` then takes the last announced candidate, else the last plain one; when every candidate
is a quote there is no verdict (never a number taken from the candidate).

The text given here is the judge's final statement with its JSON objects blanked out
(`evalkit.judges.reply.masked`), so quotation marks and periods inside JSON do not count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal, TypeVar

Role = Literal["quote", "announced", "plain"]
T = TypeVar("T")

_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*[ \t]+|[\r\n]")
_WHO = r"(?:answer|response|candidate|assistant|output|model|submission|student)"
_QUOTE_CUE = re.compile(
    r"\b(?:wr(?:ote|ites|itten)|said|says|stat(?:ed|es)|contain(?:s|ed)|claim(?:s|ed)|"
    r"quot(?:es?|ed|ing)|asserts?|rates\s+itself|self-rat\w*|"
    rf"(?:(?:the|this|that|its|their)\s+(?:\w+\s+)?{_WHO}s?\b|{_WHO}\s+(?:[AB12]\b|\([ab]\)))"
    r"[^.!?\n]*?\b"
    r"(?:gives|gave|has|had|outputs|returns|ends\s+with|includes|reads))\b",
    re.IGNORECASE,
)
_VERDICT_CUE = re.compile(
    r"(?:\bverdict|\bfinal\s+(?:score|answer|rating|grade|decision|judg(?:e)?ment|evaluation)|"
    r"\bI(?:\s+would|\s+will|'d|’d)?\s+(?:(?:therefore|thus|hence|finally)\s+)?"
    r"(?:rate|give|score|grade|award|assign|prefer|choose|pick|select)\b|"
    r"\bmy\s+(?:score|rating|grade|decision|judg(?:e)?ment|evaluation|assessment)|"
    r"\b(?:score|rating|grade|winner|decision)[*_ \t]*(?:[:=]|\bis\b)|"
    r"\b(?:therefore|thus|hence|overall|in\s+conclusion|in\s+summary|final(?:ly)?|corrected)\b)",
    re.IGNORECASE,
)
_BACKTICKS = re.compile(r"`+")


def sentence_start(text: str, start: int) -> int:
    """Where the sentence holding position `start` begins (after . ! ? and a space, or a line
    break)."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, start)]
    return ends[-1] if ends else 0


def in_quotation(text: str, start: int) -> bool:
    """True when `start` is inside quotation marks, an inline code span, or a block quote."""
    line = text[text.rfind("\n", 0, start) + 1 : start]
    if line.lstrip().startswith(">"):
        return True
    if line.count('"') % 2 == 1:
        return True
    if line.count("“") > line.count("”") or line.count("«") > line.count("»"):
        return True
    spans = [run for run in _BACKTICKS.findall(line) if len(run) < 3]  # ``` is a fence
    return len(spans) % 2 == 1


def role(text: str, start: int, is_label: bool = False) -> Role:
    """The candidate at `start`: "quote", "announced" or "plain" (module docstring)."""
    if in_quotation(text, start):
        return "quote"
    prefix = text[sentence_start(text, start) : start]
    if is_label:  # "As the rubric says, Score: 5": a label's own clause only
        prefix = re.split(r"[,;]", prefix)[-1]
    cues: list[tuple[int, Role]] = [(m.end(), "announced") for m in _VERDICT_CUE.finditer(prefix)]
    cues += [(m.end(), "quote") for m in _QUOTE_CUE.finditer(prefix)]
    nearest = max(cues, key=lambda cue: cue[0])[1] if cues else None  # a tie: the verdict
    if nearest == "quote":
        return "quote"
    return "announced" if is_label or nearest == "announced" else "plain"


def choose(candidates: Sequence[tuple[int, Role, T]]) -> tuple[T | None, bool]:
    """From (end position, role, candidate): the last announced candidate, else the last plain
    one; (None, True) when there are candidates but all are quotes, (None, False) when none."""
    own = [c for c in candidates if c[1] != "quote"]
    announced = [c for c in own if c[1] == "announced"]
    pool = announced or own
    if not pool:
        return None, bool(candidates)
    return max(pool, key=lambda c: c[0])[2], False
