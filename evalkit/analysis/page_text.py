"""Text the stored analysis keeps ready for the page: JSON safe inside <script>, plurals."""

from __future__ import annotations

import json
import math
from typing import Any


def plural(count: int | str, noun: str) -> str:
    """'1 model', '2 models', '49,664 outputs'."""
    return f"{count} {noun}" if str(count) == "1" else f"{count} {noun}s"


_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def finite(value: Any) -> Any:
    """NaN and infinities (no JSON for them) as null, in nested lists, tuples and dicts."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def embed_json(value: Any) -> str:
    """JSON that is safe inside a <script> element: nothing in it can end the element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in _JSON_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text
