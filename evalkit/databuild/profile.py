"""Profile of a built dataset: sizes, token counts and length histograms per split; the data card.

Token counts use the tokenizer the set will be evaluated with: a Hugging Face tokenizer (path or hub
id, loaded through `AutoTokenizer`) or, with `tiktoken:<encoding>`, an OpenAI encoding when tiktoken
is installed. Without a tokenizer, whitespace words are counted and the card says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evalkit.errors import UserError

Counter = Callable[[Sequence[str]], list[int]]


def token_counter(spec: str | None) -> tuple[str, Counter]:
    """(what is counted, a function from texts to counts)."""
    if spec is None:
        return "whitespace words", lambda texts: [len(t.split()) for t in texts]
    if spec.startswith("tiktoken:"):
        try:
            import tiktoken
        except ImportError:
            raise UserError("profile.tokenizer=tiktoken:... needs: pip install tiktoken") from None
        encoding = tiktoken.get_encoding(spec.removeprefix("tiktoken:"))
        return f"tokens ({spec})", lambda texts: [
            len(x) for x in encoding.encode_batch(list(texts))
        ]
    try:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(spec)
    except (OSError, ValueError) as exc:
        raise UserError(
            f"profile.tokenizer: cannot load '{spec}' ({str(exc).splitlines()[0]})"
        ) from None

    def count(texts: Sequence[str]) -> list[int]:
        ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(x) for x in ids]

    return f"tokens ({spec})", count


@dataclass
class SplitProfile:
    rows: int = 0
    input_tokens: list[int] = field(default_factory=list)
    reference_tokens: list[int] = field(default_factory=list)

    def summary(self, bins: int) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "input_tokens": _describe(self.input_tokens, bins),
            "reference_tokens": _describe(self.reference_tokens, bins),
        }


def _describe(values: list[int], bins: int) -> dict[str, Any]:
    if not values:
        return {"total": 0}
    array = np.asarray(values)
    counts, edges = np.histogram(array, bins=min(bins, max(1, int(array.max() - array.min()) + 1)))
    return {
        "total": int(array.sum()),
        "mean": round(float(array.mean()), 2),
        "p50": float(np.percentile(array, 50)),
        "p95": float(np.percentile(array, 95)),
        "max": int(array.max()),
        "histogram": {"edges": [round(float(e), 2) for e in edges], "counts": counts.tolist()},
    }
