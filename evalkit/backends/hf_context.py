"""Prompts longer than a local model's context: cut from the left, or fail that sample alone.

A causal model has `context` positions for the prompt and the new tokens together; past them a
learned position table (GPT-2) raises IndexError for the whole batch, and rotary models (Llama)
generate garbage silently. So each prompt gets `context - max_new_tokens` tokens at most, and
`max_new_tokens` is capped at half the context (an encoder-decoder model: `context` for its
encoder input, new tokens uncapped). `model.overlong_prompt` decides what
happens to a longer one:

- `truncate_left` (default): keep its last tokens, as lm-evaluation-harness does for
  `generate_until` (`HFLM.tok_batch_encode` with `left_truncate_len`): the end of a prompt holds
  the question and the generation cue. The sample's generation says so
  (`metadata.prompt_truncated`: tokens before and after), and run.json counts them.
- `error`: that sample's generation is an error naming both lengths; the run goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

OverlongPrompt = Literal["truncate_left", "error"]

# config attributes that give the number of positions, in the order transformers' configs use
_POSITION_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length")
_NO_LIMIT = 10**8  # tokenizers without a model_max_length report about 1e30


def context_length(config: Any, tokenizer: Any) -> int | None:
    """Positions the model takes: its config's, else the tokenizer's model_max_length."""
    for key in _POSITION_KEYS:
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    return limit if isinstance(limit, int) and 0 < limit < _NO_LIMIT else None


@dataclass(frozen=True)
class PromptFit:
    """What to do with one prompt: send it as is (`limit` None), cut to `limit`, or fail."""

    tokens: int
    limit: int | None = None
    error: str | None = None

    @property
    def truncated(self) -> bool:
        return self.limit is not None and self.error is None

    def metadata(self) -> dict[str, Any]:
        """For Generation.metadata of a truncated prompt."""
        if not self.truncated:
            return {}
        return {"prompt_truncated": {"tokens": self.tokens, "kept": self.limit}}


def token_plan(
    context: int | None, max_new_tokens: int, is_seq2seq: bool
) -> tuple[int | None, int]:
    """(prompt tokens allowed, new tokens to generate) for a request under the context.

    A causal model keeps `max_new_tokens` positions for the answer, at most half its context
    (more would leave a prompt no room: `max_new_tokens: 256` on a 256-position model); the
    cap is the same for every sample, so batching never changes an output. None: no known
    limit. An encoder-decoder model's prompt has the whole context.
    """
    if context is None:
        return None, max_new_tokens
    if is_seq2seq:
        return context, max_new_tokens
    new = min(max_new_tokens, context // 2)
    return context - new, new


def fit_prompt(
    tokens: int, budget: int | None, context: int | None, policy: OverlongPrompt
) -> PromptFit:
    """The fate of a prompt of `tokens` tokens under `budget` (see the module docstring)."""
    if budget is None or tokens <= budget:
        return PromptFit(tokens)
    if policy == "error":
        return PromptFit(
            tokens,
            budget,
            f"prompt of {tokens} tokens is longer than the {budget} the model's context of "
            f"{context} tokens leaves (model.overlong_prompt=truncate_left cuts it instead)",
        )
    return PromptFit(tokens, budget)
