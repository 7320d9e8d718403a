"""`word_recall`: the share of a reference's words that the output contains, best over references.

Words are lowercased and split on whitespace with punctuation at their ends stripped; a
reference with no words is unscorable.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

from evalkit.protocols import ScoredItem
from evalkit.scorers.base import ReferenceScorer
from evalkit.types import Score


def _words(text: str) -> set[str]:
    return {w.strip(string.punctuation) for w in text.lower().split()} - {""}


def word_recall(*, prediction: str, reference: str) -> float:
    """|words(reference) & words(prediction)| / |words(reference)|; 0 for an empty reference."""
    wanted = _words(reference)
    return len(wanted & _words(prediction)) / len(wanted) if wanted else 0.0


class WordRecall(ReferenceScorer):
    name = "word_recall"
    metrics = ("word_recall",)
    cpu_heavy = False

    def signature(self) -> str:
        return "word_recall|words:lower+strip-punct|refs:max|evalkit-plugin-example:0.1.0"

    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        return [
            [
                Score(
                    name="word_recall",
                    value=max(
                        word_recall(prediction=item.prediction, reference=ref)
                        for ref in item.references
                    ),
                )
            ]
            for item in items
        ]
