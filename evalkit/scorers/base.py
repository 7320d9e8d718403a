"""Shared scorer behaviour: reference checks, failure statuses and aggregation with CIs.

A subclass implements `_score_scorable` for items that have references; items without references
get status `unscorable` (counted in n_failed), never a made-up value.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from evalkit.bootstrap import mean_ci
from evalkit.errors import UserError
from evalkit.protocols import ScoredItem
from evalkit.types import Aggregate, Score

NAN = math.nan


def failed_scores(metrics: Sequence[str], status: Any, reason: str) -> list[Score]:
    return [Score(name=m, value=NAN, status=status, explanation=reason) for m in metrics]


class ReferenceScorer(ABC):
    """Base for metrics that compare a prediction with one or more references."""

    name: ClassVar[str]
    metrics: tuple[str, ...]
    cpu_heavy: ClassVar[bool] = True  # worth scoring in worker processes

    def __init__(self, **options: Any) -> None:
        if options:
            unknown = ", ".join(sorted(options))
            raise UserError(f"scorer '{self.name}': unknown option(s) {unknown}")

    @abstractmethod
    def signature(self) -> str:
        """Library, version and options: everything that changes the numbers."""

    def score(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        results: list[list[Score] | None] = [None] * len(items)
        scorable = [i for i, item in enumerate(items) if item.references]
        for i, item in enumerate(items):
            if not item.references:
                results[i] = failed_scores(self.metrics, "unscorable", "no reference")
        if scorable:
            for i, scores in zip(
                scorable, self._score_scorable([items[i] for i in scorable]), strict=False
            ):
                results[i] = scores
        return [r if r is not None else [] for r in results]

    @abstractmethod
    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        """Scores for items that all have at least one reference."""

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
        """Mean of the `ok` scores with a bootstrap CI; everything else counts as failed."""
        values = np.array([s.value for s in scores if s.status == "ok"], dtype=np.float64)
        n_failed = len(scores) - len(values)
        if len(values) == 0:
            return empty_aggregate(task, model, metric, n_failed, "mean")
        value, low, high = mean_ci(values, seed, n_resamples)
        return Aggregate(
            task=task,
            model=model,
            metric=metric,
            value=value,
            ci_low=low,
            ci_high=high,
            n=len(values),
            n_failed=n_failed,
            method="mean",
        )


def empty_aggregate(task: str, model: str, metric: str, n_failed: int, method: str) -> Aggregate:
    return Aggregate(
        task=task,
        model=model,
        metric=metric,
        value=None,
        ci_low=None,
        ci_high=None,
        n=0,
        n_failed=n_failed,
        method=method,
    )
