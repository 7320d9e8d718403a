"""Exact match and token F1 with SQuAD-style normalisation, max over references.

Both follow the official SQuAD v1.1 evaluation script (Rajpurkar et al., 2016), with one change:
answers are normalised by `normalize_answer_keep_numbers`, SQuAD's `normalize_answer` except that
numbers keep their sign, decimal point and separators (SQuAD deletes them, so "1.0" matched "10"
and "-5" matched "5"). On answers without digits the values equal SQuAD's exactly. Numbers compare
as written ("1.50" is not "1.5"; use the numeric_match scorer for that). F1 is the harmonic mean of
token precision and recall, counting shared tokens with multiplicity; a sample's score is its best
score over the references.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from evalkit.protocols import ScoredItem
from evalkit.scorers.base import ReferenceScorer
from evalkit.textnorm import normalize_answer_keep_numbers as normalize_answer
from evalkit.types import Score


def exact_match(*, prediction: str, references: Sequence[str]) -> float:
    normalized = normalize_answer(prediction)
    return float(any(normalized == normalize_answer(ref) for ref in references))


def token_f1(*, prediction: str, references: Sequence[str]) -> float:
    pred_tokens = normalize_answer(prediction).split()
    return max((_f1(pred_tokens, normalize_answer(ref).split()) for ref in references), default=0.0)


def _f1(pred_tokens: list[str], ref_tokens: list[str]) -> float:
    common = Counter(pred_tokens) & Counter(ref_tokens)
    shared = sum(common.values())
    if shared == 0:
        return 0.0
    precision = shared / len(pred_tokens)
    recall = shared / len(ref_tokens)
    return 2 * precision * recall / (precision + recall)


class ExactMatch(ReferenceScorer):
    name = "exact_match"
    cpu_heavy = False
    metrics = ("exact_match",)

    def signature(self) -> str:
        return "exact_match|norm:squad+numbers|refs:max"

    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        return [
            [
                Score(
                    name="exact_match",
                    value=exact_match(prediction=i.prediction, references=i.references),
                )
            ]
            for i in items
        ]


class TokenF1(ReferenceScorer):
    name = "f1"
    cpu_heavy = False
    metrics = ("f1",)

    def signature(self) -> str:
        return "f1|norm:squad+numbers|tokens:whitespace|refs:max"

    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        return [
            [Score(name="f1", value=token_f1(prediction=i.prediction, references=i.references))]
            for i in items
        ]
