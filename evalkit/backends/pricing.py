"""Token counts and dollar costs: the price table in conf/prices.yaml, and offline estimates.

Prices are US dollars per million input and output tokens. A model that the table does not list
has no cost (None), never a made-up one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import UserError
from evalkit.resources import builtin_dir
from evalkit.textfiles import load_yaml


@dataclass(frozen=True)
class Price:
    input_per_1m: float
    output_per_1m: float

    def cost(self, input_tokens: int | None, output_tokens: int | None) -> float | None:
        if input_tokens is None or output_tokens is None:
            return None
        return (input_tokens * self.input_per_1m + output_tokens * self.output_per_1m) / 1e6


def load_price_table(path: Path | None = None) -> dict[str, Price]:
    path = path or builtin_dir("conf") / "prices.yaml"
    try:
        raw = load_yaml(path) or {}
    except OSError as exc:
        raise UserError(f"{path}: cannot read the price table ({exc.strerror})") from None
    table = {}
    for model, entry in (raw.get("models") or {}).items():
        try:
            table[str(model)] = Price(float(entry["input"]), float(entry["output"]))
        except (KeyError, TypeError, ValueError):
            raise UserError(f"{path}: models.{model}: needs numeric 'input' and 'output'") from None
    return table


def estimate_tokens(text: str) -> int:
    """Tokens in `text`: tiktoken's cl100k_base when installed, else ~4 characters a token."""
    try:
        import tiktoken
    except ImportError:
        return max(1, round(len(text) / 4)) if text else 0
    return len(tiktoken.get_encoding("cl100k_base").encode(text))
