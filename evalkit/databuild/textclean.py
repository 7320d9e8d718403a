"""Text normalization, row filters and PII scrubbing, each counting what it changed or dropped.

Normalization repairs mojibake with ftfy (the standard tool for it), composes Unicode to NFC and
collapses runs of whitespace. Language identification is py3langid (an offline, bundled model, a
maintained fork of langid.py). PII patterns are deliberately simple regexes: they catch the common
shapes (emails, phone numbers, URLs), and the data card counts every replacement so a reviewer can
judge whether that was enough.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import cache
from typing import Any

from evalkit.databuild.config import Filters, Normalize, Pii

_SPACE = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")
PII_PATTERNS = {
    "email": re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
    "url": re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE),
    "phone": re.compile(
        r"(?<![\w+])\+?\d{1,3}?[ .-]?(?:\(\d{2,4}\)|\d{2,4})[ .-]?\d{3,4}[ .-]?\d{3,4}\b"
    ),
}
PII_TOKENS = {"email": "[EMAIL]", "url": "[URL]", "phone": "[PHONE]"}


def normalize_text(text: str, options: Normalize) -> str:
    if options.ftfy:
        import ftfy

        text = ftfy.fix_text(text, normalization="NFC" if options.nfc else None)
    elif options.nfc:
        text = unicodedata.normalize("NFC", text)
    if options.whitespace:
        lines = [_SPACE.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
        text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    return text


def scrub_pii(text: str, options: Pii, counts: Counter[str]) -> str:
    """Replace each PII match by a placeholder; URLs first, so an email inside one is not split."""
    for kind in ("url", "email", "phone"):
        if kind in options.kinds:
            text, n = PII_PATTERNS[kind].subn(PII_TOKENS[kind], text)
            counts[kind] += n
    return text


@cache
def _boilerplate(patterns: tuple[str, ...]) -> list[re.Pattern[str]]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]


def language_of(text: str) -> str:
    import py3langid

    return str(py3langid.classify(text)[0])


def rejection(text: str, filters: Filters) -> str | None:
    """Why the text fails the filters (a short reason), or None when it passes."""
    if len(text) < filters.min_chars:
        return "too short (chars)" if text else "empty"
    if filters.max_chars is not None and len(text) > filters.max_chars:
        return "too long (chars)"
    words = len(text.split())
    if words < filters.min_words:
        return "too short (words)"
    if filters.max_words is not None and words > filters.max_words:
        return "too long (words)"
    if any(p.fullmatch(text) for p in _boilerplate(tuple(filters.boilerplate))):
        return "boilerplate"
    if filters.languages and language_of(text) not in filters.languages:
        return "language"
    return None


def text_of(row: dict[str, Any], field: str | None) -> str:
    if field is None:
        return ""
    value = row.get(field)
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return "" if value is None else str(value)
