"""One pairwise judgment: the verdicts for a pair of outputs, the outcome they give, and the typed
line of `pairwise.jsonl` it is stored as.

An outcome is "the first model wins" in [0, 1]: 1, 0.5 (tie) or 0 from three-way labels asked in
both orders (swap-consistent labels, or an inconsistency counted as a tie or dropped), the mean of
the battles for five-point labels (Arena-Hard: a strong verdict counts 3 times), or the mean of the
logprob preferences when every order asked has them (`weighted`).

`PairwiseRecord` is the line: the fields every `pairwise.jsonl` has held, plus `judging` (a digest
of what decides a judge's replies: rubric, judge model, protocol, asking options), `outputs` (a
digest of the two outputs judged) and the per-order `reasons`, so a killed `evalkit judge` resumes
from the lines already written. Files written before those fields existed still read (`read_pairs`)
and are simply judged again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from evalkit.judges.judge_protocols import battles, winner_shown
from evalkit.judges.usage import usage_details
from evalkit.types import Generation, JSONValue, SampleRecord


@dataclass
class PairJudgment:
    sample: str
    first: str
    second: str
    verdicts: tuple[str | None, str | None]  # first shown as A, then first shown as B
    reasons: tuple[str | None, str | None]
    outcome: float | None  # None: a parse failure, or an inconsistency dropped
    consistent: bool | None
    lengths: tuple[int, int]
    replies: list[Generation]
    human: float | None  # the outcome people's ratings imply, when the outputs carry them
    battles: list[float] = field(default_factory=list)  # what the win rate averages
    # with logprobs=true: P(first wins) read from the verdict token's alternatives, per order
    preferences: tuple[float | None, float | None] = (None, None)
    verdict_outcome: float | None = None  # the labels' outcome when preferences replaced it
    # a judgment read back from pairwise.jsonl has no replies: their texts and usage instead
    raw: list[str] | None = None
    usage: dict[str, JSONValue] | None = None

    @property
    def label_outcome(self) -> float | None:
        """The outcome the verdict labels give (the reliability panel's bias figures)."""
        return self.verdict_outcome if self.verdict_outcome is not None else self.outcome

    def usage_details(self) -> dict[str, JSONValue]:
        """What asking it cost (`evalkit.judges.usage.usage_details` of its replies)."""
        return self.usage if self.usage is not None else usage_details(self.replies)


class PairwiseRecord(BaseModel):
    """One line of `pairwise.jsonl` (see the module docstring)."""

    model_config = ConfigDict(extra="ignore")

    task: str
    sample_id: str
    first: str
    second: str
    verdict_first_as_a: str | None = None
    verdict_first_as_b: str | None = None
    battles: list[float] = []
    preferences: list[float | None] = [None, None]
    parse_errors: list[str] = []
    consistent: bool | None = None
    outcome: float | None = None
    lengths: list[int] = [0, 0]
    human_outcome: float | None = None
    raw: list[str] = []
    judge_calls: int = 0
    judge_cached: bool = True
    judge_latency_s: float | None = None
    judge_cost_usd: float | None = None
    judge_input_tokens: float | None = None
    judge_output_tokens: float | None = None
    judging: str | None = None
    outputs: str | None = None
    reasons: list[str | None] = [None, None]
    verdict_outcome: float | None = None

    def line(self) -> str:
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False) + "\n"

    def judgment(self) -> PairJudgment:
        """The judgment back, as a rerun finds it: not asked again, so counted as cached."""
        usage = {name: getattr(self, name) for name in USAGE_FIELDS}
        return PairJudgment(
            self.sample_id, self.first, self.second,
            (self.verdict_first_as_a, self.verdict_first_as_b),
            (self.reasons[0], self.reasons[1]), self.outcome, self.consistent,
            (self.lengths[0], self.lengths[1]), [], self.human_outcome, list(self.battles),
            (self.preferences[0], self.preferences[1]), self.verdict_outcome,
            raw=list(self.raw), usage={**usage, "judge_cached": True},
        )  # fmt: skip


USAGE_FIELDS = (
    "judge_calls",
    "judge_cached",
    "judge_latency_s",
    "judge_cost_usd",
    "judge_input_tokens",
    "judge_output_tokens",
)


def pair_record(
    task: str, j: PairJudgment, judging: str | None = None, outputs: str | None = None
) -> PairwiseRecord:
    """The line storing `j`, judged by the judging with digest `judging` on `outputs`."""
    return PairwiseRecord.model_validate(
        {
            "task": task,
            "sample_id": j.sample,
            "first": j.first,
            "second": j.second,
            "verdict_first_as_a": j.verdicts[0],
            "verdict_first_as_b": j.verdicts[1],
            "battles": j.battles,
            "preferences": list(j.preferences),
            "parse_errors": [r for r in j.reasons if r],
            "consistent": j.consistent,
            "outcome": j.outcome,
            "lengths": list(j.lengths),
            "human_outcome": j.human,
            "raw": j.raw if j.raw is not None else [g.text for g in j.replies],
            **j.usage_details(),
            "judging": judging,
            "outputs": outputs,
            "reasons": list(j.reasons),
            "verdict_outcome": j.verdict_outcome,
        }
    )


def digest(payload: Any) -> str:
    """A short, stable digest of JSON-able `payload` (a judging's settings, two outputs)."""
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def read_pairs(path: Path) -> Iterator[PairwiseRecord]:
    """Every complete line of a `pairwise.jsonl` (any evalkit version's); a partial last line (a
    kill mid-write) and a line that is not a pairwise record are skipped."""
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.endswith("\n"):
                return
            try:
                yield PairwiseRecord.model_validate_json(line)
            except ValidationError:
                continue


def _outcome(verdict: str, first_is_a: bool) -> float:
    if verdict == "tie":
        return 0.5
    return 1.0 if (verdict == "A") == first_is_a else 0.0


def pair_judgment(
    sample_id: str,
    first: str,
    second: str,
    verdicts: tuple[str | None, str | None],
    reasons: tuple[str | None, str | None],
    replies: list[Generation],
    outputs: dict[str, SampleRecord],
    inconsistent: str,
    scale: str = "three",
) -> PairJudgment:
    """The judgment the labels give; `inconsistent` ("tie" or "drop") decides a swap-inconsistent
    three-way pair."""
    lengths = (
        len(outputs[first].generation.text.split()),
        len(outputs[second].generation.text.split()),
    )
    outcome: float | None = None
    consistent: bool | None = None
    fought: list[float] = []
    v_a, v_b = verdicts
    if v_a is not None and v_b is not None and scale == "five":
        fought = battles(v_a, True) + battles(v_b, False)
        outcome = float(np.mean(fought))
        consistent = winner_shown(v_a) == {"A": "B", "B": "A", "tie": "tie"}[winner_shown(v_b)]
    elif v_a is not None and v_b is not None:
        forward, backward = _outcome(v_a, True), _outcome(v_b, False)
        consistent = forward == backward
        if consistent:
            outcome = forward
        elif inconsistent == "tie":
            outcome = 0.5
        fought = [outcome] if outcome is not None else []
    elif (v_a is None) != (v_b is None) and reasons == (None, None):  # one order was asked
        fought = battles(v_a, True) if v_a is not None else battles(str(v_b), False)
        outcome = float(np.mean(fought))
    return PairJudgment(
        sample_id, first, second, verdicts, reasons, outcome, consistent, lengths, replies,
        human_outcome(outputs[first], outputs[second]), fought,
    )  # fmt: skip


def weighted(judged: PairJudgment, preferences: tuple[float | None, float | None]) -> PairJudgment:
    """With logprob preferences for every order asked, the outcome is their mean (each already
    turned to "the first model wins"), one battle per pair as with three-way labels; the labels
    still decide swap consistency and the bias figures. Otherwise the discrete outcome stands."""
    asked = [p for p, v in zip(preferences, judged.verdicts, strict=True) if v is not None]
    if not asked or any(p is None for p in asked) or judged.outcome is None:
        # the preferences read are kept in pairwise.jsonl; the labels decide the outcome
        return (
            replace(judged, preferences=preferences)
            if any(p is not None for p in asked)
            else judged
        )
    outcome = float(np.mean([float(p) for p in asked if p is not None]))
    return replace(
        judged,
        outcome=outcome,
        battles=[outcome],
        preferences=preferences,
        verdict_outcome=judged.outcome,
    )


def human_outcome(a: SampleRecord, b: SampleRecord) -> float | None:
    """The outcome people's ratings carried by the two outputs imply (mean over dimensions)."""
    ha, hb = a.generation.metadata.get("human"), b.generation.metadata.get("human")
    if not isinstance(ha, dict) or not isinstance(hb, dict) or not ha or ha.keys() != hb.keys():
        return None
    mean_a = float(np.mean([float(v) for v in ha.values() if isinstance(v, int | float)]))
    mean_b = float(np.mean([float(v) for v in hb.values() if isinstance(v, int | float)]))
    return 1.0 if mean_a > mean_b else 0.0 if mean_a < mean_b else 0.5
