"""Reasoning that a model writes into its answer: `<think>...</think>` at the start of `content`.

A reasoning model served without a reasoning parser (vLLM or SGLang without
`--reasoning-parser`, llama.cpp without `--reasoning-format`) returns its reasoning inline, and
scoring it as part of the answer credits or penalises the thinking. With `model.reasoning_tags:
auto` (the default) the block is split off into the generation's `reasoning` field, as reasoning
a server returns apart (`reasoning_content`) is:

- a leading `<think>`, `<thinking>` or `<reasoning>` block (white space before it allowed): the
  answer is what follows its closing tag;
- a closing tag with no opening one (DeepSeek-R1's chat template puts `<think>` into the prompt,
  so the answer starts inside the block): the answer is what follows the first closing tag;
- an opening tag never closed: all of it is reasoning and there is no answer (at the token limit
  that is the `empty` status: the budget was spent thinking).

`keep` leaves the text as the server sent it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ReasoningTags = Literal["auto", "keep"]
_NAMES = r"think|thinking|reasoning"
_LEADING_OPEN = re.compile(rf"\A\s*<({_NAMES})\s*>", re.IGNORECASE)
_OPEN = re.compile(rf"<(?:{_NAMES})\s*>", re.IGNORECASE)
_CLOSE = re.compile(rf"</(?:{_NAMES})\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class Split:
    answer: str
    reasoning: str | None  # None when the text had no reasoning block
    unclosed: bool = False  # a block opened and never closed: no answer at all


def split_inline_reasoning(text: str) -> Split:
    """The answer and the inline reasoning of `text` (module docstring)."""
    leading = _LEADING_OPEN.match(text)
    if leading:
        close = re.compile(rf"</{leading.group(1)}\s*>", re.IGNORECASE).search(text, leading.end())
        if close is None:
            return Split("", text[leading.end() :].strip(), unclosed=True)
        return Split(text[close.end() :].lstrip(), text[leading.end() : close.start()].strip())
    close = _CLOSE.search(text)
    if close is not None and _OPEN.search(text, 0, close.start()) is None:
        return Split(text[close.end() :].lstrip(), text[: close.start()].strip())
    return Split(text, None)


def joined(*parts: str | None) -> str | None:
    """Reasoning returned apart and reasoning found inline, in that order; None when neither."""
    present = [p for p in parts if p]
    return "\n\n".join(present) if present else None
