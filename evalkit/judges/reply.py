"""The parts of a judge's reply a verdict may be read from.

- `final_statement`: the reply without its reasoning, blanked out so positions are kept.
  `<think>`, `<thinking>`, `<reasoning>` and `<reflection>` blocks go; a closing tag with no
  opening one (chat templates that put `<think>` in the prompt, as DeepSeek-R1's does) ends the
  reasoning; an unclosed opening tag (a reply cut off while reasoning) hides everything after it.
- `json_objects`: every JSON object in the text, found with a real JSON decoder
  (`json.JSONDecoder.raw_decode` from each `{`): nested objects, braces inside strings, code
  fences and text around the object all work. Objects inside another object are part of it.
- `masked`: the text with those objects blanked out, so a tag quoted inside a JSON string (a
  rationale that quotes `[[9]]`) is not read as a tag.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_TAGS = r"think|thinking|reasoning|reflection"
_BLOCK = re.compile(rf"<({_TAGS})\s*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_OPEN = re.compile(rf"<(?:{_TAGS})\s*>", re.IGNORECASE)
_CLOSE = re.compile(rf"</(?:{_TAGS})\s*>", re.IGNORECASE)
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class JsonObject:
    start: int
    end: int
    value: dict[str, Any]


def final_statement(text: str) -> str:
    """`text` with its reasoning blocks (see the module docstring) blanked out by spaces, so a
    position in the result is the same position in `text`; may be blank."""
    first_close, first_open = _CLOSE.search(text), _OPEN.search(text)
    if first_close and (first_open is None or first_open.start() > first_close.start()):
        text = _blank(text, 0, first_close.end())
    text = _BLOCK.sub(lambda block: " " * len(block.group()), text)
    unclosed = _OPEN.search(text)
    return _blank(text, unclosed.start(), len(text)) if unclosed else text


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def json_objects(text: str) -> list[JsonObject]:
    """The top-level JSON objects in `text`, in order of position."""
    found: list[JsonObject] = []
    position = 0
    while (start := text.find("{", position)) != -1:
        try:
            value, end = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError:
            position = start + 1
            continue
        if isinstance(value, dict):
            found.append(JsonObject(start, end, value))
        position = end
    return found


def masked(text: str, objects: list[JsonObject]) -> str:
    """`text` with each object's characters replaced by spaces (positions kept)."""
    for obj in objects:
        text = _blank(text, obj.start, obj.end)
    return text


_MISSING = object()


def find_key(obj: dict[str, Any], keys: tuple[str, ...], depth: int = 3) -> tuple[str, Any]:
    """(key, value) of the first of `keys` in `obj` (matched case-insensitively), looking into
    nested objects breadth-first up to `depth` levels; ("", _MISSING) when absent."""
    level = [obj]
    for _ in range(depth):
        for candidate in level:
            lowered = {str(k).lower(): v for k, v in candidate.items()}
            for key in keys:
                if key in lowered:
                    return key, lowered[key]
        level = [v for c in level for v in c.values() if isinstance(v, dict)]
    return "", _MISSING


def has_key(obj: dict[str, Any], keys: tuple[str, ...]) -> bool:
    return find_key(obj, keys)[1] is not _MISSING


def last_match(text: str, patterns: tuple[re.Pattern[str], ...]) -> re.Match[str] | None:
    """The match that ends last in `text` over all `patterns` (the final statement wins)."""
    matches = [m for pattern in patterns for m in pattern.finditer(text)]
    return max(matches, key=lambda m: (m.end(), m.start()), default=None)


def first_group(match: re.Match[str]) -> str:
    return next(g for g in match.groups() if g is not None)
