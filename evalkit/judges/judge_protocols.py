"""Peer judging protocols by name (`evalkit judge RUN protocol=...`), so that a number labelled
with a protocol is computed the way the peer computes it (their prompts are not copied: evalkit's
own rubrics ask the question).

- `alpaca_eval` (AlpacaEval, Li et al. 2023; Dubois et al. 2024): each pair is judged once, in an
  order drawn at random per sample and pair (seeded by `seed`); rubric `pairwise_preference`.
- `arena_hard` (Arena-Hard-Auto, Li et al. 2024): both orders, each judged on a five-point scale
  (A>>B, A>B, A=B, B>A, B>>A; rubric `pairwise_five_point`); every judgment is a battle, a strong
  one (`>>`) counts as 3, and the win rate is the mean over battles (their show_result.py).
- `mt_bench_pair` (MT-Bench pairwise, Zheng et al. 2023): both orders; a verdict that flips with
  the order is a tie (FastChat's show_result); rubric `pairwise_preference`.
- `mt_bench_single` (MT-Bench single-answer grading): the pointwise 1-10 rubric `mt_bench_single`.

Errors: `UserError` for an unknown protocol name, or a rubric that does not fit the protocol.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

from evalkit.errors import UserError, did_you_mean
from evalkit.judges.parse import ParseFailure, Verdict, parse_preference
from evalkit.judges.recorded_judgments import ARENA_HARD_WEIGHT
from evalkit.judges.reply import final_statement


@dataclass(frozen=True)
class ProtocolSpec:
    rubric: str
    mode: Literal["pointwise", "pairwise"]
    orders: Literal["both", "one_random"] = "both"
    scale: Literal["three", "five"] = "three"


PROTOCOLS: dict[str, ProtocolSpec] = {
    "alpaca_eval": ProtocolSpec("pairwise_preference", "pairwise", orders="one_random"),
    "arena_hard": ProtocolSpec("pairwise_five_point", "pairwise", scale="five"),
    "mt_bench_pair": ProtocolSpec("pairwise_preference", "pairwise"),
    "mt_bench_single": ProtocolSpec("mt_bench_single", "pointwise"),
}
DEFAULT_RUBRIC = "overall_quality"  # JudgeConfig's default `judge`

_FIVE = re.compile(r"\[\[\s*(A\s*>>\s*B|A\s*>\s*B|A\s*=\s*B|B\s*>\s*A|B\s*>>\s*A)\s*\]\]")
# label -> (score of the answer shown as A, battles)
_FIVE_SCORES: dict[str, tuple[float, int]] = {
    "A>>B": (1.0, ARENA_HARD_WEIGHT), "A>B": (1.0, 1), "A=B": (0.5, 1),
    "B>A": (0.0, 1), "B>>A": (0.0, ARENA_HARD_WEIGHT),
}  # fmt: skip


def protocol_spec(name: str) -> ProtocolSpec:
    if name not in PROTOCOLS:
        raise UserError(f"unknown protocol '{name}'{did_you_mean(name, PROTOCOLS)}")
    return PROTOCOLS[name]


def protocol_rubric(name: str, judge: str) -> str:
    """The rubric a protocol judges with: its own unless the user named another (`judge=`)."""
    return protocol_spec(name).rubric if judge == DEFAULT_RUBRIC else judge


def first_shown_as_a(seed: int, task: str, sample: str, first: str, second: str) -> bool:
    """The seeded coin of one-random-order protocols: the same for a pair on every rerun."""
    digest = hashlib.sha256(f"{seed}\0{task}\0{sample}\0{first}\0{second}".encode()).digest()
    return digest[0] % 2 == 0


def parse_five_point(text: str) -> Verdict:
    """The last `[[A>>B]]`-style label of the judge's final statement (value e.g. "A>B").
    Raises ParseFailure when there is none."""
    found = list(_FIVE.finditer(final_statement(text)))
    if not found:
        raise ParseFailure("no five-point verdict found (a label like [[A>B]])")
    return Verdict(re.sub(r"\s+", "", found[-1].group(1)), None, "tag")


def read_verdict(scale: Literal["three", "five"], text: str) -> Verdict:
    return parse_five_point(text) if scale == "five" else parse_preference(text)


def battles(label: str, first_is_a: bool) -> list[float]:
    """The first model's battle outcomes from one judgment: a three-way verdict (A, B, tie) is one
    battle; a five-point label is 1 battle, or 3 for a strong verdict (Arena-Hard's weight)."""
    if label in _FIVE_SCORES:
        score_a, weight = _FIVE_SCORES[label]
    else:
        score_a, weight = {"A": 1.0, "B": 0.0, "tie": 0.5}[label], 1
    return [score_a if first_is_a else 1.0 - score_a] * weight


def winner_shown(label: str) -> str:
    """ "A", "B" or "tie": the position a verdict favours (for position-bias figures)."""
    if label in _FIVE_SCORES:
        score = _FIVE_SCORES[label][0]
        return "A" if score == 1.0 else "B" if score == 0.0 else "tie"
    return label
