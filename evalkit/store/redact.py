"""Keep secrets out of every error text, log line and stored field.

Some servers and gateways echo the key they received in their error body ("Incorrect API key
provided: sk-..."), and that text becomes a generation's error: stored in samples.jsonl, shown in
report.html, printed on stderr. `redact` replaces

- every registered secret (the values of the environment variables backends read keys from,
  registered with `register_secret` / `register_env`), and the value of any environment variable
  whose name says it holds a secret (`*KEY*`, `*TOKEN*`, `*SECRET*`, `*PASSWORD*`), and
- anything shaped like a credential: `Bearer <token>` and OpenAI-style `sk-...` keys,

with `[REDACTED]`. `redact_secrets` replaces only the exact secret values: safe to run over a whole
serialized record, where a model output may legitimately discuss "sk-" strings. A secret is also
masked in its URL-encoded forms (`quote`, `quote_plus`, hex in either case): a server may echo a
key holding `/` or `+` as a URL or form body carried it; and in its JSON-escaped (`\\"`, `\\\\`,
`\\u00e9`, `\\/`) and HTML-escaped (`&quot;`, `&amp;`, `&lt;`, or any of its characters as a numeric
character reference, `&#34;`, `&#x2F;`, mixed as they come) forms, as an error body read as text
carries it. Error bodies are redacted before they are cut short, so no prefix of a key is left.

Length rules: a value shorter than 4 characters is never masked (it would mask ordinary text
everywhere). A key a backend holds (registered) of 4 or 5 characters is masked by `redact` (every
error text, log line and printed line: where a server's echo of it arrives) but not by
`redact_secrets` over whole stored files, where `task` or `span` would rewrite JSON field names
and HTML tags; from 6 characters a registered key is masked in both.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import threading
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:  # pydantic's models load only when a generation is redacted
    from evalkit.types import Generation

MASK = "[REDACTED]"
_MIN_SECRET_LEN = 6  # masked in whole stored files too: shorter values would rewrite structure
_MIN_KEY_LEN = 4  # a registered key is masked in free text (`redact`) from this length
_MIN_NAMED_LEN = 12  # a value trusted only for its variable's name must look like a credential
_SECRET_ENV_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")
_SHAPES = re.compile(
    r"(?i)\bbearer\s+[A-Za-z0-9._~+/=\-]{6,}"  # an Authorization header value
    r"|\bsk-[A-Za-z0-9_\-]{6,}"  # OpenAI-style keys (sk-..., sk-proj-...)
)
_registered: set[str] = set()
_short_keys: set[str] = set()  # registered keys of 4-5 characters: masked by `redact` only
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Mask `value` from now on: a key a backend holds (see the module doc for lengths)."""
    if not value or len(value) < _MIN_KEY_LEN:
        return
    with _lock:
        (_registered if len(value) >= _MIN_SECRET_LEN else _short_keys).update(_forms(value))


def _forms(value: str) -> set[str]:
    """`value` and the forms a server may echo it in: percent-encoded with `/` kept or not
    (`quote`), with a space as `+` (`quote_plus`), hex digits upper- or lower-case (a URL or form
    body); JSON-escaped (`"` as `\\"`, non-ASCII as `\\u00e9` or kept, `/` as `\\/` or kept, hex
    either case: a JSON error body read as text); HTML-escaped (`&quot;`, `&#x27;` or `&#39;`:
    an HTML error page)."""
    encoded = {quote(value), quote(value, safe=""), quote_plus(value)}
    lower = {re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), e) for e in encoded}
    escaped = {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    escaped |= {
        re.sub(r"\\u[0-9a-f]{4}", lambda m: "\\u" + m.group()[2:].upper(), e) for e in escaped
    }
    escaped |= {e.replace("/", "\\/") for e in escaped}
    marked = {html.escape(value), html.escape(value, quote=False)}
    marked |= {m.replace("&#x27;", "&#39;") for m in marked}
    return {value, *encoded, *lower, *escaped, *marked}


def register_env(name: str | None) -> None:
    """Mask the value of environment variable `name` (a backend's `api_key_env`)."""
    if name:
        register_secret(os.environ.get(name))


_env_seen: dict[bytes, bytes] | None = None  # the environment the cached values came from
_env_values: set[str] = set()


def secret_values() -> list[str]:
    """Registered secrets and secret-named environment values, longest first.

    The environment is scanned again only when it changed since the last call (a dict
    comparison in C, instead of a pass over every variable per stored record)."""
    found = set(_environment_secrets())
    with _lock:
        found |= _registered
    return sorted(found, key=len, reverse=True)


def _environment_secrets() -> set[str]:
    global _env_seen, _env_values
    raw = getattr(os.environ, "_data", None)  # POSIX: the encoded variables os.environ keeps
    if isinstance(raw, dict) and raw == _env_seen:
        return _env_values
    values = {
        form
        for name, value in os.environ.items()
        if any(word in name.upper() for word in _SECRET_ENV_WORDS) and _credential_shaped(value)
        for form in _forms(value)
    }
    if isinstance(raw, dict):
        with _lock:
            _env_seen, _env_values = dict(raw), values
    return values


def _credential_shaped(value: str) -> bool:
    """A value found only by its variable's name (`KEYBOARD_LAYOUT=german`) is masked only when
    it looks like a credential: long, one word, not letters alone. Masking ordinary words would
    rewrite model outputs in samples.jsonl."""
    return (
        len(value) >= _MIN_NAMED_LEN and not any(c.isspace() for c in value) and not value.isalpha()
    )


def _mask(text: str, values: list[str]) -> str:
    """Every occurrence of any of `values` replaced by MASK in one pass, the longest value first
    where several start at one place (so a short key inside a longer secret, or inside a MASK
    already written, never leaves part of a secret or mangles the mask)."""
    present = [v for v in values if v in text]
    if "&#" in text:  # numeric character references, any mix of them: `&#34;`, `&#x2F;`
        text = _mask_entities(text, values)
    if not present:
        return text
    present.sort(key=len, reverse=True)
    return re.sub("|".join(map(re.escape, [MASK, *present])), MASK, text)  # a MASK stays whole


def _mask_entities(text: str, values: list[str]) -> str:
    """`text` with each of `values` masked where an HTML page wrote some of its characters as
    numeric character references (decimal or hex, any case, each character its own way: Go's
    html/template writes `"` as `&#34;`, others `/` as `&#x2F;`)."""
    for value in values:
        if value != MASK:
            text = _entity_pattern(value).sub(MASK, text)
    return text


@lru_cache(maxsize=1024)
def _entity_pattern(value: str) -> re.Pattern[str]:
    """`value` with every character that is not an ASCII letter or digit matched as itself or as
    its numeric character reference."""
    parts = [
        re.escape(c)
        if c.isascii() and c.isalnum()
        else f"(?:{re.escape(c)}|&#0*{ord(c)};|&#[xX]0*(?i:{ord(c):x});)"
        for c in value
    ]
    return re.compile("".join(parts))


def redact_secrets(text: str, secrets: list[str] | None = None) -> str:
    """`text` with every known secret value of 6 characters or more replaced by MASK.

    `secrets`: `secret_values()` read once for many texts (a batch of records)."""
    return _mask(text, secret_values() if secrets is None else secrets)


def redact(text: str) -> str:
    """`text` without known secrets (registered keys from 4 characters) and without bearer tokens
    or `sk-...` keys."""
    with _lock:
        short = list(_short_keys)
    return _SHAPES.sub(MASK, _mask(text, secret_values() + short))


def redact_generation(generation: Generation) -> Generation:
    """The generation with its error text redacted (the same object when there is none)."""
    if generation.error is None:
        return generation
    clean = redact(generation.error)
    return (
        generation if clean == generation.error else generation.model_copy(update={"error": clean})
    )


class RedactingFilter(logging.Filter):
    """A handler filter that redacts each record's formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Put a RedactingFilter on every handler of `logger` (default: the root logger), once."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
