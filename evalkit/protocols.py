"""The two behaviours a run is built from: backends make text, scorers judge it.

Each is a Protocol in two parts: what every plugin must have (`name`, `signature()`, `generate` /
`score` and `aggregate`), and optional capabilities, each with its default in `BackendDefaults` /
`ScorerDefaults`. evalkit's own components inherit those defaults (scorers through
`evalkit.scorers.base.ReferenceScorer`); a third-party component that does not is adapted once,
when the registry builds it (evalkit/plugins.py), so the stages read every capability directly.
Plugins register under the entry-point groups named here and are imported only when a run names
them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

from evalkit.types import Aggregate, Generation, Request, Score

if TYPE_CHECKING:
    from evalkit.abort import FailureGuard
    from evalkit.scorers.embedding import EmbeddingSimilarity
    from evalkit.stats.significance import Statistic
    from evalkit.tasks.task import Task

BACKEND_GROUP: Final = "evalkit.backends"
SCORER_GROUP: Final = "evalkit.scorers"
TASK_GROUP: Final = "evalkit.tasks"
"""A task entry point names a task folder (or task.yaml): a path, or a callable returning one."""

Estimator = Callable[[Sequence[Request]], list[Generation]]
Preparer = Callable[[Sequence[Sequence[str]]], None]
CorpusFormula = Callable[[], tuple[str, dict[str, Any]]]


class Backend(Protocol):
    """Batch in, batch out: `generate` returns one Generation per Request, in order.

    Required: `name`, `signature()` (everything that changes the outputs), `generate`. The
    properties below are optional capabilities; `BackendDefaults` gives each one's default.
    """

    name: str

    def signature(self) -> str: ...

    def generate(self, requests: Sequence[Request]) -> list[Generation]: ...

    @property
    def concurrent_batches(self) -> int:
        """Batches it takes at once (an API client with one shared concurrency cap); 1."""
        ...

    @property
    def cacheable(self) -> bool:
        """Whether its generations go to the response cache (replay: False); True."""
        ...

    @property
    def runs_inline(self) -> bool:
        """Whether `generate` is pure Python work that holds the GIL throughout (replay): it then
        runs on the pipeline's thread, since a worker thread would only add hand-offs of the GIL;
        False (the default) for backends that wait on a server or a device."""
        ...

    @property
    def failure_guard(self) -> FailureGuard | None:
        """Counts failed requests in a row and stops the run when it trips; None."""
        ...

    @property
    def estimate(self) -> Estimator | None:
        """A dry run's token and cost guesses per request (`dry_run=true`); None: costs no API
        money (local models, replay)."""
        ...

    @property
    def report(self) -> Callable[[], dict[str, Any]] | None:
        """Run-level measurements stored in run.json's `backend_reports`; None."""
        ...

    def close(self) -> None:
        """Hand resources back at the end of the run (a loaded model, an HTTP session)."""
        ...


class BackendDefaults:
    """The defaults of `Backend`'s optional capabilities, for a backend to inherit."""

    concurrent_batches: int = 1
    cacheable: bool = True
    runs_inline: bool = False
    failure_guard: FailureGuard | None = None
    estimate: Estimator | None = None
    report: Callable[[], dict[str, Any]] | None = None

    def close(self) -> None:
        return None


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


class Scorer(Protocol):
    """Scores a batch and aggregates the scores of one metric into a value with a CI.

    Required: `name`, `metrics`, `signature()`, `score`, `aggregate`. The properties below are
    optional capabilities; `ScorerDefaults` gives each one's default.
    """

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

    @property
    def cpu_heavy(self) -> bool:
        """Pure-Python CPU work worth scoring in worker processes; True."""
        ...

    @property
    def memoize(self) -> bool:
        """Score an item equal to one already scored in the run (two systems with the same
        output for a sample) once, by look-up; True. False for scorers cheaper than the look-up
        (exact match, F1, numeric match: 0.15 s of a 3.6 s replay of 100,000 samples)."""
        ...

    @property
    def higher_is_better(self) -> bool:
        """The metrics' direction (stored in run.json's metric specs); True."""
        ...

    @property
    def counts_truncated(self) -> bool:
        """Whether its scores' details say `truncated` and its aggregate counts them; False."""
        ...

    @property
    def scale(self) -> tuple[float | None, float | None] | None:
        """(low, high) of its values when known; None. A corpus formula's scale wins."""
        ...

    @property
    def prepare(self) -> Preparer | None:
        """Receives every reference of the task before scoring (BERTScore's IDF); None."""
        ...

    @property
    def corpus_value(self) -> Statistic | None:
        """Summed per-sample statistics (`details["stats"]`) -> the corpus value: a corpus
        metric (BLEU); None: the metric is the mean of the sample values."""
        ...

    @property
    def corpus_formula(self) -> CorpusFormula | None:
        """(formula name, options) naming `corpus_value`, so a run is re-aggregated without the
        scorer (evalkit.stages.metricspec); None."""
        ...

    def sentence_embedders(self) -> list[EmbeddingSimilarity]:
        """Its sentence encoders, shared with other scorers of the same encoder; []."""
        ...

    def close(self) -> None:
        """Hand resources back at the end of the run (a judge's backend)."""
        ...


class ScorerDefaults:
    """The defaults of `Scorer`'s optional capabilities, for a scorer to inherit."""

    cpu_heavy: bool = True
    memoize: bool = True
    higher_is_better: bool = True
    counts_truncated: bool = False
    scale: tuple[float | None, float | None] | None = None
    prepare: Preparer | None = None
    corpus_value: Statistic | None = None
    corpus_formula: CorpusFormula | None = None

    def sentence_embedders(self) -> list[EmbeddingSimilarity]:
        return []

    def close(self) -> None:
        return None


BACKEND_CAPABILITIES: Final = (
    "concurrent_batches", "cacheable", "runs_inline", "failure_guard", "estimate", "report",
    "close",
)  # fmt: skip
SCORER_CAPABILITIES: Final = (
    "cpu_heavy", "memoize", "higher_is_better", "counts_truncated", "scale", "prepare",
    "corpus_value", "corpus_formula", "sentence_embedders", "close",
)  # fmt: skip
