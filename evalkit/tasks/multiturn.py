"""Multi-turn samples: later user turns follow the model's own earlier answers (MT-Bench).

A task maps `fields.turns` to a column holding a sample's user turns (a list of texts). Turn 1
is the prompt the task renders from the first turn (template, system prompt, few-shot); turn k's
request is turn k-1's request, then the model's own answer to it as an assistant message, then
the k-th user text as it is. So each model answers its own conversation, and turn k can only be
asked once turn k-1 is answered: a failed turn fails every later turn of that conversation
(status `error`, "not asked"), never a silent empty answer.

Each turn is a record of its own in samples.jsonl, with the id `<sample id>/turn<k>`, its own
request (the whole conversation so far) and its own references (`fields.references` holds one
entry per turn: null, a text, or a list of texts). Every scorer of a multi-turn task reports its
metrics per turn, `<metric>_turn<k>` (like an extract pipeline's `<metric>_<pipeline>`), over the
records of that turn (`TurnScorer`, spec name `<scorer>|turns=<n>` in run.json).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalkit.errors import UserError
from evalkit.protocols import ScoredItem, Scorer
from evalkit.scorers.renamed import RenamedMetricsScorer
from evalkit.types import ChatMessage, Request, Sample, Score

TURNS_SUFFIX = "|turns="


def turn_id(sample_id: str, turn: int) -> str:
    """The record id of turn `turn` (1-based) of a multi-turn sample."""
    return f"{sample_id}/turn{turn}"


def record_ids(sample: Sample) -> list[str]:
    """The ids of the records one sample makes: its own id, or one per turn."""
    if not sample.turns:
        return [sample.id]
    return [turn_id(sample.id, k) for k in range(1, len(sample.turns) + 1)]


def parse_turns(where: str, key: str, value: Any) -> list[str]:
    """The `fields.turns` column: a non-empty list of texts. Raises UserError otherwise."""
    if not isinstance(value, list | tuple) and type(value).__name__ != "ndarray":
        raise UserError(f"{where}: field '{key}' (turns) must be a list of texts")
    turns = list(value)
    if not turns:
        raise UserError(f"{where}: field '{key}' (turns) is an empty list")
    for k, turn in enumerate(turns, start=1):
        if not isinstance(turn, str) or not turn.strip():
            raise UserError(f"{where}: field '{key}' (turns) turn {k} is not a non-empty text")
    return [str(t) for t in turns]


def parse_turn_references(where: str, key: str | None, value: Any, n: int) -> list[list[str]]:
    """One reference list per turn from the references column of a multi-turn task: null (no
    reference for any turn) or a list of `n` entries, each null, a text or a list of texts."""
    if key is None or value is None:
        return [[] for _ in range(n)]
    if not isinstance(value, list | tuple) or len(value) != n:
        raise UserError(
            f"{where}: field '{key}' (references of a multi-turn sample) must be null or a list "
            f"of {n} entries, one per turn"
        )
    out: list[list[str]] = []
    for k, entry in enumerate(value, start=1):
        if entry is None:
            out.append([])
        elif isinstance(entry, str):
            out.append([entry])
        elif isinstance(entry, list) and all(isinstance(e, str) for e in entry):
            out.append(list(entry))
        else:
            raise UserError(
                f"{where}: field '{key}' turn {k}: a reference must be null, a text or a list "
                "of texts"
            )
    return out


def first_request(request: Request, sample: Sample) -> Request:
    """Turn 1's request: the task's rendered prompt under the turn-1 record id."""
    return request.model_copy(update={"sample_id": turn_id(sample.id, 1)})


def follow_up(previous: Request, answer: str | None, sample: Sample, turn: int) -> Request:
    """Turn `turn`'s request: the previous request, the model's answer to it (None: it has
    none, so the request shows what could not be asked), then the next user text."""
    messages = list(previous.messages)
    if answer is not None:
        messages.append(ChatMessage(role="assistant", content=answer))
    messages.append(ChatMessage(role="user", content=sample.turns[turn - 1]))
    return previous.model_copy(update={"sample_id": turn_id(sample.id, turn), "messages": messages})


def transcript(messages: Sequence[ChatMessage]) -> str:
    """The conversation a judge is shown as the source of turn k (system prompt left out): the
    user text alone for a single user message, else each message under its role."""
    shown = [m for m in messages if m.role != "system"]
    if len(shown) == 1:
        return shown[0].content
    return "\n\n".join(f"[{m.role.capitalize()}]\n{m.content}" for m in shown)


def turn_sample(sample: Sample, turn: int, request: Request) -> Sample:
    """What turn `turn` is scored as: its record id, the conversation so far as the input, that
    turn's references, and the sample's metadata with `turn`."""
    return Sample(
        id=turn_id(sample.id, turn),
        index=sample.index,
        input=transcript(request.messages),
        references=sample.turn_references[turn - 1] if sample.turn_references else [],
        metadata={**sample.metadata, "turn": turn},
    )


def split_turns_spec(name: str) -> tuple[str, int | None]:
    """`judge|turns=2` -> ("judge", 2); a name without the suffix -> (name, None)."""
    base, sep, count = name.partition(TURNS_SUFFIX)
    if not sep:
        return name, None
    if not count.isdigit() or int(count) < 1:
        raise UserError(f"scorer '{name}': turns must be a positive integer")
    return base, int(count)


class TurnScorer(RenamedMetricsScorer):
    """A scorer of a multi-turn task: each item is scored by the wrapped scorer, and its scores
    are renamed `<metric>_turn<k>` after the item's turn; each per-turn metric aggregates (mean
    or corpus, with its bootstrap CI, as the wrapped scorer does) over that turn's records.
    Anything else (prepare, close, cpu_heavy, higher_is_better) is the wrapped scorer's."""

    def __init__(self, inner: Scorer, turns: int) -> None:
        names = {f"{m}_turn{k}": m for m in inner.metrics for k in range(1, turns + 1)}
        super().__init__(inner, names)
        self.turns = turns
        self.name = inner.name

    def signature(self) -> str:
        return f"{self.inner.signature()}|turns:{self.turns}"

    def metrics_for(self, turn: int) -> tuple[str, ...]:
        """The metrics an item of turn `turn` gets (a failed generation fails these only)."""
        return tuple(f"{m}_turn{turn}" for m in self.inner.metrics)

    def score(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        turns = [int(getattr(item, "turn", 0)) for item in items]
        if any(not 1 <= t <= self.turns for t in turns):
            raise ValueError(f"scorer '{self.name}': an item's turn is outside 1..{self.turns}")
        scored = self.inner.score(items)
        return [
            [s.model_copy(update={"name": f"{s.name}_turn{turn}"}) for s in scores]
            for turn, scores in zip(turns, scored, strict=True)
        ]
