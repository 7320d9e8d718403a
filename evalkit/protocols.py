"""The two behaviours a run is built from: backends make text, scorers judge it.

Both are structural Protocols so that third-party plugins need not inherit from anything; they
register under the entry-point groups named here and are imported only when a run names them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from evalkit.types import Aggregate, Generation, Request, Score

if TYPE_CHECKING:
    from evalkit.tasks import Task

BACKEND_GROUP = "evalkit.backends"
SCORER_GROUP = "evalkit.scorers"
TASK_GROUP = "evalkit.tasks"
"""A task entry point names a task folder (or task.yaml): a path, or a callable returning one."""


@runtime_checkable
class Backend(Protocol):
    """Batch in, batch out: `generate` returns one Generation per Request, in order."""

    name: str

    def signature(self) -> str: ...

    def generate(self, requests: Sequence[Request]) -> list[Generation]: ...


class BackendFactory(Protocol):
    """What a backend entry point resolves to: model name, options (+ the task) -> backends.

    One model config may stand for several systems (replay of 16 recorded systems), hence a list.
    """

    def __call__(self, name: str, options: dict[str, Any], task: Task | None) -> list[Backend]: ...


class ScoredItem(Protocol):
    """What a scorer reads: the sample's references and the generated text."""

    @property
    def references(self) -> Sequence[str]: ...

    @property
    def prediction(self) -> str: ...


@runtime_checkable
class Scorer(Protocol):
    """Scores a batch and aggregates the scores of one metric into a value with a CI."""

    name: str
    metrics: tuple[str, ...]

    def signature(self) -> str: ...

    def score(self, items: Sequence[ScoredItem]) -> list[list[Score]]: ...

    def aggregate(
        self,
        metric: str,
        scores: Sequence[Score],
        *,
        task: str,
        model: str,
        seed: int,
        n_resamples: int = 1000,
    ) -> Aggregate: ...
