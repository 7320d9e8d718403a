"""Texts longer than an encoder takes (BERTScore, embedding similarity): never cut silently.

The usable length is the smallest of the tokenizer's `model_max_length` (unless it is left at
transformers' 1e30 "no limit" sentinel), the rows of the model's learned position table minus
their offset (RoBERTa-family embeddings number positions from padding_idx + 1, so 514 rows take
512 tokens; BERT's start at 0; BART's learned positions carry an offset of 2 in the table), and
sentence-transformers' `max_seq_length` where one is set. Three policies, the scorer option
`long_text`:

- `truncate` (default): the text is cut to the usable length, as bert-score and
  sentence-transformers do, so scores equal theirs; the sample is flagged
  (`details.truncated`) and counted (`n_truncated` in run.json's aggregates).
- `window`: the text is encoded in overlapping windows of the usable length (half a window of
  overlap); each token keeps the embedding of the window where it is farther from an edge.
  On a text that fits there is one window: the result is the untruncated one exactly.
- `error`: the sample is `unscorable`, with the reason, and counted in `n_failed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from evalkit.errors import UserError
from evalkit.types import Aggregate, Score

LongText = Literal["truncate", "window", "error"]
LONG_TEXT_MODES: tuple[LongText, ...] = ("truncate", "window", "error")
_NO_LIMIT = 10**12  # tokenizers without a limit report int(1e30)
OFFSET_POSITION_TYPES = frozenset(
    {"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "longformer", "data2vec-text",
     "ibert", "mpnet", "roberta-prelayernorm", "xmod", "luke", "markuplm", "layoutlmv3"}
)  # fmt: skip
"""Model types whose position ids start at padding_idx + 1 (used when no table is found)."""


def long_text_mode(scorer: str, value: str) -> LongText:
    """The validated `long_text` option; anything else is a UserError naming the choices."""
    if value not in LONG_TEXT_MODES:
        raise UserError(
            f"scorer '{scorer}': long_text must be one of {', '.join(LONG_TEXT_MODES)}, "
            f"not {value!r}"
        )
    return value


def position_limit(model: Any) -> int | None:
    """How many tokens the model's learned absolute position table can index, or None for
    models without one (relative or rotary positions)."""
    import torch

    for module in model.modules():
        table = getattr(module, "position_embeddings", None)
        if isinstance(table, torch.nn.Embedding):
            padding = getattr(module, "padding_idx", None)
            if not isinstance(padding, int):
                padding = table.padding_idx
            return int(table.num_embeddings) - (padding + 1 if isinstance(padding, int) else 0)
        table = getattr(module, "embed_positions", None)
        offset = getattr(table, "offset", None)
        if isinstance(table, torch.nn.Embedding) and isinstance(offset, int):
            return int(table.num_embeddings) - offset
    config = getattr(model, "config", None)
    rows = getattr(config, "max_position_embeddings", None)
    if not isinstance(rows, int) or rows <= 0:
        return None
    if getattr(config, "model_type", "") in OFFSET_POSITION_TYPES:
        return rows - (getattr(config, "pad_token_id", None) or 0) - 1
    return rows


def usable_max_length(tokenizer: Any, model: Any, cap: int | None = None) -> int | None:
    """min(tokenizer.model_max_length unless unset, position_limit(model), cap); None: none."""
    limits = [tokenizer.model_max_length, position_limit(model), cap]
    usable = [int(v) for v in limits if isinstance(v, int) and 0 < v < _NO_LIMIT]
    return min(usable) if usable else None


@dataclass(frozen=True)
class Tokenized:
    """A text's token ids: special tokens before, the text's own, special tokens after."""

    prefix: list[int]
    content: list[int]
    suffix: list[int]

    @property
    def length(self) -> int:
        return len(self.prefix) + len(self.content) + len(self.suffix)


def tokenize(tokenizer: Any, text: str) -> Tokenized:
    """The ids `tokenizer(text)` gives, split into special prefix, content and special suffix."""
    full: list[int] = tokenizer(text, add_special_tokens=True, verbose=False)["input_ids"]
    content: list[int] = tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
    n = len(content)
    for start in range(len(full) - n + 1):
        if full[start : start + n] == content:
            return Tokenized(full[:start], content, full[start + n :])
    return Tokenized([], full, [])  # special tokens inside the text: kept as content


@dataclass(frozen=True)
class EncoderInput:
    """What goes through the encoder for one text, and how to put the outputs back together:
    from sequence k keep rows keep[k][0]:keep[k][1]; the kept rows, in order, are `ids`."""

    sequences: list[list[int]]
    keep: list[tuple[int, int]]
    ids: list[int]
    tokens: int  # the whole text's length, special tokens included
    truncated: bool


def windows(n: int, size: int) -> list[tuple[int, int, int, int]]:
    """(start, end, keep_from, keep_to) over n tokens: windows of `size` tokens, half a window
    apart, the last one ending at n; every token is kept from exactly one window, the one where
    it is farther from an edge (the overlaps are split at their midpoint)."""
    if n <= size:
        return [(0, n, 0, n)]
    step = max(1, size // 2)
    starts = list(range(0, n - size + 1, step))
    if starts[-1] + size < n:
        starts.append(n - size)
    bounds = [0] + [(starts[k] + starts[k - 1] + size) // 2 for k in range(1, len(starts))] + [n]
    return [(s, s + size, bounds[k], bounds[k + 1]) for k, s in enumerate(starts)]


def encoder_input(text: Tokenized, max_length: int | None, mode: LongText) -> EncoderInput:
    """The sequences to encode for `text` under `mode` (`error` encodes like `truncate`; the
    caller refuses long texts before encoding)."""
    whole = [*text.prefix, *text.content, *text.suffix]
    if max_length is None or text.length <= max_length:
        return EncoderInput([whole], [(0, len(whole))], whole, text.length, False)
    budget = max_length - len(text.prefix) - len(text.suffix)
    if budget < 1:
        raise UserError(f"the encoder takes {max_length} tokens, fewer than its special tokens")
    if mode != "window":
        cut = [*text.prefix, *text.content[:budget], *text.suffix]
        return EncoderInput([cut], [(0, len(cut))], cut, text.length, True)
    sequences, keep = [], []
    spans = windows(len(text.content), budget)
    for k, (start, end, keep_from, keep_to) in enumerate(spans):
        sequences.append([*text.prefix, *text.content[start:end], *text.suffix])
        first = 0 if k == 0 else len(text.prefix) + keep_from - start
        last = len(sequences[-1]) if k == len(spans) - 1 else len(text.prefix) + keep_to - start
        keep.append((first, last))
    return EncoderInput(sequences, keep, whole, text.length, False)


def long_details(mode: LongText, max_length: int | None, tokens: int) -> dict[str, Any]:
    """A score's details when one of its texts was longer than the encoder takes."""
    details: dict[str, Any] = {"long_text": mode, "max_tokens": max_length, "tokens": tokens}
    if mode == "truncate":
        details["truncated"] = True
    return details


def too_long_reason(what: str, tokens: int, max_length: int | None) -> str:
    return (
        f"{what} has {tokens} tokens, more than the {max_length} the encoder takes "
        "(long_text=error; truncate or window score it)"
    )


def count_truncated(aggregate: Aggregate, scores: Sequence[Score]) -> Aggregate:
    """The aggregate with `n_truncated`: its ok scores computed on truncated text."""
    n = sum(1 for s in scores if s.status == "ok" and s.details.get("truncated"))
    return aggregate.model_copy(update={"n_truncated": n})
