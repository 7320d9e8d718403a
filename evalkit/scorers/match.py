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

import json
import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import Literal

from evalkit.errors import UserError
from evalkit.protocols import ScoredItem
from evalkit.scorers.base import ReferenceScorer
from evalkit.scorers.textnorm import normalize_answer_keep_numbers as normalize_answer
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


def exact_match_hf(*, prediction: str, references: Sequence[str], options: MatchOptions) -> float:
    """Hugging Face evaluate's exact_match (as lm-evaluation-harness ports it into
    `lm_eval/api/metrics.py`): each of `regexes_to_ignore` deleted (re.sub, in order) from both
    texts, then lowercased, then punctuation (string.punctuation), then digits deleted, as asked;
    then plain equality, max over references."""
    pred = options.apply(prediction)
    return float(any(pred == options.apply(ref) for ref in references))


class MatchOptions:
    def __init__(
        self,
        regexes_to_ignore: Sequence[str] = (),
        ignore_case: bool = False,
        ignore_punctuation: bool = False,
        ignore_numbers: bool = False,
    ) -> None:
        try:
            self.regexes = [re.compile(r) for r in regexes_to_ignore]
        except re.error as exc:
            raise UserError(f"scorer 'exact_match': regexes_to_ignore: {exc}") from None
        self.ignore_case = ignore_case
        self.ignore_punctuation = ignore_punctuation
        self.ignore_numbers = ignore_numbers
        # no option set: `apply` returns every text as it is
        self.is_identity = not (regexes_to_ignore or ignore_case or ignore_punctuation) and not (
            ignore_numbers
        )

    def apply(self, text: str) -> str:
        for regex in self.regexes:
            text = regex.sub("", text)
        if self.ignore_case:
            text = text.lower()
        if self.ignore_punctuation:
            text = text.translate(_NO_PUNCTUATION)
        if self.ignore_numbers:
            text = text.translate(_NO_DIGITS)
        return text

    def label(self) -> str:
        flags = [n for n in ("ignore_case", "ignore_punctuation", "ignore_numbers") if getattr(
            self, n)]  # fmt: skip
        regexes = json.dumps([r.pattern for r in self.regexes])
        return f"{'+'.join(flags) or 'as-is'}|ignore_regexes:{regexes}"


_NO_PUNCTUATION = str.maketrans("", "", string.punctuation)
_NO_DIGITS = str.maketrans("", "", string.digits)


class ExactMatch(ReferenceScorer):
    """`normalize: squad` (default): SQuAD's normalisation (see the module docstring);
    `normalize: none`: Hugging Face evaluate's exact_match with its options (lm-eval's)."""

    name = "exact_match"
    cpu_heavy = False
    memoize = False  # scoring costs less than looking an item up
    metrics = ("exact_match",)

    def __init__(
        self,
        normalize: Literal["squad", "none"] = "squad",
        regexes_to_ignore: Sequence[str] = (),
        ignore_case: bool = False,
        ignore_punctuation: bool = False,
        ignore_numbers: bool = False,
    ) -> None:
        if normalize not in ("squad", "none"):
            raise UserError(f"scorer 'exact_match': normalize: {normalize!r} is not squad|none")
        if isinstance(regexes_to_ignore, str):
            regexes_to_ignore = [regexes_to_ignore]
        self.normalize = normalize
        self.options = MatchOptions(
            list(regexes_to_ignore), ignore_case, ignore_punctuation, ignore_numbers
        )

    def signature(self) -> str:
        if self.normalize == "none":
            return f"exact_match|norm:hf-evaluate|{self.options.label()}|refs:max"
        if self.options.label() != "as-is|ignore_regexes:[]":
            return f"exact_match|norm:{self.options.label()}+squad+numbers|refs:max"
        return "exact_match|norm:squad+numbers|refs:max"

    def _one(self, item: ScoredItem) -> float:
        if self.normalize == "none":
            return exact_match_hf(
                prediction=item.prediction, references=item.references, options=self.options
            )
        if self.options.is_identity:
            return exact_match(prediction=item.prediction, references=item.references)
        refs = [self.options.apply(r) for r in item.references]
        return exact_match(prediction=self.options.apply(item.prediction), references=refs)

    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        # two frozen Scores shared by every sample of the batch (a value is 0.0 or 1.0)
        scores = {v: Score(name="exact_match", value=v) for v in (0.0, 1.0)}
        return [[scores[self._one(i)]] for i in items]


class TokenF1(ReferenceScorer):
    name = "f1"
    cpu_heavy = False
    memoize = False  # scoring costs less than looking an item up
    metrics = ("f1",)

    def signature(self) -> str:
        return "f1|norm:squad+numbers|tokens:whitespace|refs:max"

    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        return [
            [Score(name="f1", value=token_f1(prediction=i.prediction, references=i.references))]
            for i in items
        ]
