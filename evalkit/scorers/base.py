"""Shared scorer behaviour: reference checks, failure statuses and aggregation with CIs.

A subclass implements `_score_scorable` for items it can score (by default: those with references);
the others get status `unscorable` (counted in n_failed), never a made-up value.
"""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from evalkit.errors import UserError
from evalkit.protocols import ScoredItem, ScorerDefaults
from evalkit.types import Aggregate, Score

NAN = math.nan


def failed_scores(metrics: Sequence[str], status: Any, reason: str) -> list[Score]:
    return [Score(name=m, value=NAN, status=status, explanation=reason) for m in metrics]


class ReferenceScorer(ScorerDefaults, ABC):
    """Base for metrics that compare a prediction with one or more references. The optional
    capabilities of the Scorer protocol (cpu_heavy, higher_is_better, prepare, corpus_value, ...)
    come with their defaults from `evalkit.protocols.ScorerDefaults`; a subclass overrides them."""

    name: ClassVar[str]
    metrics: tuple[str, ...]
    aggregation: ClassVar[str] = "mean"

    def __init__(self, **options: Any) -> None:
        if options:
            unknown = ", ".join(sorted(options))
            raise UserError(f"scorer '{self.name}': unknown option(s) {unknown}")

    @classmethod
    def known_options(cls) -> list[str]:
        """The options `__init__` takes (none for a scorer that keeps the base one); the
        scorer registry checks a task's options against these before building it."""
        if cls.__init__ is ReferenceScorer.__init__:
            return []
        params = inspect.signature(cls.__init__).parameters.values()
        keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        return [p.name for p in params if p.kind in keyword and p.name != "self"]

    @abstractmethod
    def signature(self) -> str:
        """Library, version and options: everything that changes the numbers."""

    def score(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        results: list[list[Score] | None] = [None] * len(items)
        scorable = []
        for i, item in enumerate(items):
            reason = self._unscorable_reason(item)
            if reason is None:
                scorable.append(i)
            else:
                results[i] = failed_scores(self.metrics, "unscorable", reason)
        if scorable:
            for i, scores in zip(
                scorable, self._score_scorable([items[i] for i in scorable]), strict=True
            ):
                results[i] = scores
        return [r if r is not None else [] for r in results]

    def _unscorable_reason(self, item: ScoredItem) -> str | None:
        """Why this item cannot be scored (status `unscorable`), or None. By default: it has no
        reference; a scorer that needs other inputs (a judge: the source) overrides this."""
        return None if item.references else "no reference"

    @staticmethod
    def _named_texts(item: ScoredItem) -> list[tuple[str, str]]:
        """The prediction and each reference, named as an unscorable reason names them."""
        return [("prediction", item.prediction)] + [
            (f"reference {i + 1}", ref) for i, ref in enumerate(item.references)
        ]

    @abstractmethod
    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        """Scores for items that passed `_unscorable_reason` (by default: have a reference)."""

    def aggregate(
        self,
        metric: str,
        scores: Sequence[Score],
        *,
        task: str,
        model: str,
        seed: int,
        n_resamples: int = 1000,
    ) -> Aggregate:
        """The `ok` scores' estimate with a bootstrap CI; every other status counts as failed."""
        ok = [s for s in scores if s.status == "ok"]
        estimate = self._estimate(ok, seed, n_resamples) if ok else (None, None, None)
        value, low, high = estimate
        return Aggregate(
            task=task,
            model=model,
            metric=metric,
            value=value,
            ci_low=low,
            ci_high=high,
            n=len(ok),
            n_failed=len(scores) - len(ok),
            method=self.aggregation,
            higher_is_better=self.higher_is_better,
        )

    def _estimate(
        self, ok: Sequence[Score], seed: int, n_resamples: int
    ) -> tuple[float, float, float]:
        """(value, ci_low, ci_high) from non-empty ok scores: by default their mean."""
        import numpy as np  # not at import time: `evalkit list` imports every scorer module

        from evalkit.stats.bootstrap import mean_ci

        return mean_ci(np.array([s.value for s in ok], dtype=np.float64), seed, n_resamples)
