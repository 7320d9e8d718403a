"""ROUGE-1/2/L/Lsum through Google's `rouge-score` package (the reference implementation).

Options match the common summarisation setup: Porter stemming on, F-measure reported, and for
several references the best F-measure (rouge-score's `score_multi`). ROUGE-Lsum needs one sentence
per line; texts are split with `split_sentences` first (newline-joined sentences leave the other
ROUGE types unchanged, since the tokenizer treats newlines as white space).

Speed: every system of a task shares the same references, so tokenising them again for each system
is most of the cost. `_MemoTokenizer` memoises rouge-score's own tokenizer by text: same tokens,
computed once.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib.metadata import version
from typing import Any

from rouge_score import rouge_scorer, tokenizers

from evalkit.errors import UserError
from evalkit.protocols import ScoredItem
from evalkit.scorers.base import ReferenceScorer
from evalkit.textnorm import split_sentences
from evalkit.types import Score

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")


class _MemoTokenizer(tokenizers.Tokenizer):  # type: ignore[misc]
    """rouge-score's DefaultTokenizer, memoised by text (tokens are unchanged)."""

    def __init__(self, use_stemmer: bool) -> None:
        inner = tokenizers.DefaultTokenizer(use_stemmer=use_stemmer)
        self._cached = lru_cache(maxsize=65536)(lambda text: tuple(inner.tokenize(text)))

    def tokenize(self, text: str) -> list[str]:
        return list(self._cached(text))


def rouge_scores(
    *, prediction: str, references: Sequence[str], scorer: rouge_scorer.RougeScorer
) -> dict[str, Any]:
    """rouge-score's Score tuples (precision, recall, fmeasure) per type, best over references."""
    pred = "\n".join(split_sentences(prediction))
    refs = ["\n".join(split_sentences(r)) for r in references]
    result: dict[str, Any] = (
        scorer.score(refs[0], pred) if len(refs) == 1 else scorer.score_multi(refs, pred)
    )
    return result


class Rouge(ReferenceScorer):
    name = "rouge"

    def __init__(self, types: Sequence[str] = ROUGE_TYPES, use_stemmer: bool = True) -> None:
        unknown = [t for t in types if t not in ROUGE_TYPES]
        if unknown:
            raise UserError(f"scorer 'rouge': unknown type(s) {unknown} (use {list(ROUGE_TYPES)})")
        self.metrics = tuple(types)
        self.use_stemmer = use_stemmer
        self._scorer = rouge_scorer.RougeScorer(
            list(types), use_stemmer=use_stemmer, tokenizer=_MemoTokenizer(use_stemmer)
        )

    def signature(self) -> str:
        return (
            f"rouge-score {version('rouge-score')}|types:{','.join(self.metrics)}"
            f"|stem:{self.use_stemmer}|lsum-split:evalkit.textnorm|refs:max-f|value:fmeasure"
        )

    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        out = []
        for item in items:
            result = rouge_scores(
                prediction=item.prediction, references=item.references, scorer=self._scorer
            )
            out.append(
                [
                    Score(
                        name=t,
                        value=result[t].fmeasure,
                        details={"precision": result[t].precision, "recall": result[t].recall},
                    )
                    for t in self.metrics
                ]
            )
        return out
