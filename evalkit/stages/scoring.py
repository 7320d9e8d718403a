"""The scoring stage: build scorers from specs, and score batches inline or in worker processes.

Reference metrics like TER and ROUGE-L are pure Python and CPU-bound, so a run with many samples
scores batches in a process pool (spawned, one scorer set per worker, built once) while the main
process keeps generating and writing records in order.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Protocol

from evalkit import registry
from evalkit.errors import ScorerRaised, UserError
from evalkit.extras import is_optional_dependency, needs_extra
from evalkit.plugins import check_scored, plugin_scorer
from evalkit.protocols import Scorer
from evalkit.scorers.base import failed_scores
from evalkit.stages.extraction_scoring import PipelineScorer, mark_no_answer, view_for
from evalkit.tasks.extraction import UNNAMED, Extraction
from evalkit.tasks.multiturn import TurnScorer, split_turns_spec
from evalkit.types import Generation, Sample, Score

ScorerSpec = tuple[str, dict[str, Any]]
_HEAVY_WORK_THRESHOLD = 1000  # below this many samples a pool costs more than it saves
SEEN_LIMIT = 50_000
"""Items per task remembered so that an identical one is not scored again (with their scores);
beyond it the older half is forgotten (an identical item then is scored again, same values)."""


@dataclass(frozen=True)
class ScoringItem:
    """What a scorer sees of one sample; hashable, so identical items are scored once."""

    prediction: str
    references: tuple[str, ...]
    error: str | None = None  # the generation failed; every metric gets status "error"
    source: str = ""  # the sample's input (a judge shows it: the request, or the article)
    # (pipeline, answer) per extract pipeline ("" = nothing found). With a single unnamed
    # pipeline `prediction` is its answer; with named ones each PipelineScorer picks its own.
    answers: tuple[tuple[str, str], ...] = ()
    turn: int = 0  # a multi-turn sample's turn (1-based; 0: single turn): TurnScorer's suffix


def sample_source(sample: Sample) -> str:
    """The sample's input as text: the string itself, or its messages' contents."""
    if isinstance(sample.input, str):
        return sample.input
    return "\n\n".join(m.content for m in sample.input if m.role != "system")


def scoring_item(
    sample: Sample, generation: Generation, extraction: Extraction | None = None, turn: int = 0
) -> ScoringItem:
    item = ScoringItem(
        generation.text,
        tuple(sample.references),
        generation.error,
        sample_source(sample),
        turn=turn,
    )
    if extraction is None or generation.error is not None:
        return item
    answers = tuple((a.pipeline, a.answer) for a in extraction.answers(generation.text))
    return view_for(replace(item, answers=answers), UNNAMED)


def task_scorer_specs(
    scorers: Mapping[str, dict[str, Any] | None], language: str | None
) -> list[ScorerSpec]:
    """(name, options) per scorer. The task's declared `language` is handed to each scorer
    that takes a `language` option (BLEU/TER tokenization, ROUGE), unless it sets its own."""
    specs: list[ScorerSpec] = []
    for name, given in scorers.items():
        options = dict(given or {})
        if language and "language" not in options:
            known = registry.scorer(name).options
            if known is not None and "language" in known:
                options["language"] = language
        specs.append((name, options))
    return specs


def build_scorer(name: str, options: dict[str, Any]) -> Scorer:
    """A scorer by entry-point name; `<name>@<pipeline>` scores an extract pipeline's answers,
    `<name>|turns=<n>` each turn of a multi-turn task apart (multiturn.py). Raises UserError for
    an unknown scorer or option, or one whose optional dependency is missing."""
    name, turns = split_turns_spec(name)
    if turns is not None:
        return TurnScorer(build_scorer(name, options), turns)
    base, _, pipeline = name.partition("@")
    entry = registry.scorer(base)
    try:
        scorer = entry.build(options)
    except ModuleNotFoundError as exc:  # a scorer that imports its model library lazily
        if not is_optional_dependency(exc):
            raise
        raise needs_extra(exc, f"scorer '{base}'") from None
    return PipelineScorer(scorer, pipeline) if pipeline else scorer


def build_scorers(specs: Sequence[ScorerSpec]) -> list[Scorer]:
    scorers = [build_scorer(name, options) for name, options in specs]
    share_sentence_encoders(scorers)
    return scorers


def share_sentence_encoders(scorers: Sequence[Scorer]) -> None:
    """Scorers that embed text with the same sentence encoder (model, dtype, device, long-text
    handling) share one loaded model and one embedding cache, so a task scored by `embedding`
    and a distilled judge over the same MiniLM encodes each output and reference once.

    A scorer opts in through `sentence_embedders()` (its EmbeddingSimilarity instances;
    by default none); the embeddings are unchanged by sharing (same encoder, same texts)."""
    embedders = [embedder for scorer in scorers for embedder in scorer.sentence_embedders()]
    if embedders:  # the embedding module (numpy, the encoder's options) only when one is used
        from evalkit.scorers.embedding import share_encoders

        share_encoders(embedders)


def prepare_scorers(scorers: Sequence[Scorer], samples: Sequence[Sample]) -> None:
    """Hand the task's references to scorers that learn from the corpus (BERTScore's IDF).

    A scorer opts in by defining `prepare(references)` (the capability is None by default).
    """
    references = [tuple(s.references) for s in samples]
    for scorer in scorers:
        if scorer.prepare is not None:
            scorer.prepare(references)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Hold the cyclic garbage collector off while a scorer scores one batch.

    Scorers allocate many small objects (records, statistics, token lists) and almost no cycles;
    the collector's passes over them were a tenth of BLEU's scoring time (benchmarks/scorers.py).
    A batch is bounded, so anything cyclic it leaves waits at most until the next collection.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


Timings = dict[str, tuple[float, int]]  # scorer name -> (seconds, items scored)
OnScored = Callable[[str, int, float], None]  # (scorer name, items, seconds): progress display


def add_timings(total: Timings, more: Timings) -> None:
    for name, (seconds, count) in more.items():
        old_seconds, old_count = total.get(name, (0.0, 0))
        total[name] = (old_seconds + seconds, old_count + count)


def score_items(
    scorers: Sequence[Scorer],
    items: Sequence[ScoringItem],
    timings: Timings | None = None,
    on_scored: OnScored | None = None,
) -> list[list[Score]]:
    """All scores of every scorer for each item; a failed generation fails its scores.

    When `timings` is given, each scorer's wall time and item count are added to it: the
    figures behind "what a metric costs per 1,000 samples".
    """
    results: list[list[Score]] = [[] for _ in items]
    ok = [i for i, item in enumerate(items) if item.error is None]
    for scorer in scorers:
        started = time.perf_counter()
        for i, item in enumerate(items):
            if item.error is not None:
                names = scorer.metrics_for(item.turn) if isinstance(scorer, TurnScorer) else None
                results[i].extend(
                    failed_scores(names or scorer.metrics, "error", f"generation: {item.error}")
                )
        if ok:
            with paused_gc():
                batch = [items[i] for i in ok]
                scored = mark_no_answer(batch, _score_naming_extras(scorer, batch))
            for i, scores in zip(ok, scored, strict=True):
                results[i].extend(scores)
        seconds = time.perf_counter() - started
        if timings is not None:
            add_timings(timings, {scorer.name: (seconds, len(ok))})
        if on_scored is not None:
            on_scored(scorer.name, len(items), seconds)
    return results


def _score_naming_extras(scorer: Scorer, items: Sequence[ScoringItem]) -> list[list[Score]]:
    """`scorer.score(items)`; a model library it imports only now and that is not installed
    is a UserError naming the extra to install. A plugin's exception, or scores that are not
    one `Score` per item and metric (`check_scored`), is a ScorerRaised naming the plugin."""
    try:
        scored = scorer.score(items)
        if plugin_scorer(scorer) is not None:
            check_scored(scored, len(items), lambda i: _item_metrics(scorer, items[i]))
        return scored
    except ModuleNotFoundError as exc:
        if is_optional_dependency(exc):
            raise needs_extra(exc, f"scorer '{scorer.name}'") from None
        described = plugin_scorer(scorer)
        if described is None:
            raise
        raise ScorerRaised(f"{described} raised {type(exc).__name__}: {exc}") from exc
    except UserError:
        raise
    except (Exception, SystemExit) as exc:  # a plugin's bug: one line naming it (evalkit's own:
        described = plugin_scorer(scorer)  # traceback); a plugin's sys.exit() stops no run
        if described is None:
            raise
        raise ScorerRaised(f"{described} raised {type(exc).__name__}: {exc}") from exc


def _item_metrics(scorer: Scorer, item: ScoringItem) -> Sequence[str]:
    """The metrics `scorer` gives `item`: all of them, or a turn scorer's for the item's turn."""
    return scorer.metrics_for(item.turn) if isinstance(scorer, TurnScorer) else scorer.metrics


_WORKER_SCORERS: dict[str, list[Scorer]] = {}
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
PARENT_POLL_S = 0.5


def die_with_parent(parent_pid: int, use_pdeathsig: bool = True) -> None:
    """Make this (worker) process end when `parent_pid` ends, however it ends (even kill -9).

    On Linux the kernel sends SIGKILL at the parent's death (prctl PR_SET_PDEATHSIG; only when
    the parent spawned us from its main thread, since the signal follows the spawning thread).
    Everywhere, a daemon thread polls os.getppid() and exits when the process was re-parented.
    Once the workers are gone, multiprocessing's resource tracker reads EOF and exits too.
    """
    if use_pdeathsig and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl: the watchdog below still works
    if os.getppid() != parent_pid:  # the parent died before we got here
        os._exit(1)
    threading.Thread(
        target=_watch_parent, args=(parent_pid,), name="evalkit-parent-watch", daemon=True
    ).start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def _init_worker(
    specs_by_task: dict[str, list[ScorerSpec]],
    references_by_task: dict[str, list[tuple[str, ...]]],
    parent_pid: int | None = None,
    use_pdeathsig: bool = True,
) -> None:
    from evalkit.console.logs import configure_worker_logging

    if parent_pid is not None:
        die_with_parent(parent_pid, use_pdeathsig)
    configure_worker_logging()
    for task, specs in specs_by_task.items():
        scorers = build_scorers(specs)
        for scorer in scorers:
            if scorer.prepare is not None:
                scorer.prepare(references_by_task.get(task, []))
        _WORKER_SCORERS[task] = scorers


def _score_in_worker(task: str, items: Sequence[ScoringItem]) -> tuple[list[list[Score]], Timings]:
    timings: Timings = {}
    return score_items(_WORKER_SCORERS[task], items, timings), timings


class RemoteResult(Protocol):
    """A remote batch's (scores, timings): a concurrent.futures or a Dask future."""

    def done(self) -> bool: ...

    def result(self) -> tuple[list[list[Score]], Timings]: ...


class RemoteEngine(Protocol):
    """Where the CPU-heavy scorers of a batch run: worker processes here, or a cluster.

    `submit` scores `items` with the task's remote scorers (built from their specs once per
    worker) and returns per-item scores in item order; `workers` is how many batches it scores
    at once (the pipeline keeps about twice that many in flight)."""

    workers: int

    def submit(self, task: str, items: Sequence[ScoringItem]) -> RemoteResult: ...

    def close(self) -> None: ...


class ProcessEngine:
    """`scoring.engine=local`: spawned worker processes on this machine, scorers built once."""

    def __init__(
        self,
        workers: int,
        specs_by_task: dict[str, list[ScorerSpec]],
        references_by_task: dict[str, list[tuple[str, ...]]],
    ) -> None:
        self.workers = workers
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(
                specs_by_task,
                references_by_task,
                os.getpid(),
                threading.current_thread() is threading.main_thread(),
            ),
        )

    def submit(self, task: str, items: Sequence[ScoringItem]) -> RemoteResult:
        return self._executor.submit(_score_in_worker, task, items)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def is_heavy(scorers: Sequence[Scorer]) -> bool:
    return any(_heavy(s) for s in scorers)


def _heavy(scorer: Scorer) -> bool:
    return bool(scorer.cpu_heavy)


def resolve_workers(setting: int | str, heavy: bool, pending: int) -> int:
    if setting != "auto":
        return int(setting)
    if not heavy or pending < _HEAVY_WORK_THRESHOLD:
        return 0
    return max(1, os.cpu_count() or 1)


class ScoringJob:
    """The scores of one batch: pure-Python scorers' part from a worker, the rest computed
    inline; `result` puts each item's scores back in the task's scorer order."""

    def __init__(
        self,
        worker_part: RemoteResult | None,
        inline_part: list[list[Score]],
        metric_order: dict[str, int],
        timings: Timings,
        on_scored: OnScored | None = None,
    ) -> None:
        self._worker_part = worker_part
        self._inline_part = inline_part
        self._metric_order = metric_order
        self._timings = timings  # the task's running totals; the worker's part is added once
        self._on_scored = on_scored
        self._merged: list[list[Score]] | None = None if worker_part else inline_part

    def done(self) -> bool:
        return self._worker_part is None or self._worker_part.done()

    def result(self) -> list[list[Score]]:
        if self._merged is None:
            assert self._worker_part is not None
            remote_scores, remote_timings = self._worker_part.result()
            add_timings(self._timings, remote_timings)
            if self._on_scored is not None:
                for name, (seconds, _) in remote_timings.items():
                    self._on_scored(name, len(remote_scores), seconds)
            last = len(self._metric_order)
            self._merged = [
                sorted(remote + local, key=lambda sc: self._metric_order.get(sc.name, last))
                for remote, local in zip(remote_scores, self._inline_part, strict=True)
            ]
        return self._merged


class PendingScores:
    """Scores of one submitted batch: the scores of one job, in order, or a slot per item (job,
    position) where items seen before point at the job that scored them first."""

    def __init__(self, slots: ScoringJob | list[tuple[ScoringJob, int]]) -> None:
        self._slots = slots
        distinct = {id(job): job for job, _ in slots} if isinstance(slots, list) else {0: slots}
        self._jobs = list(distinct.values())

    def done(self) -> bool:
        return all(job.done() for job in self._jobs)

    def result(self) -> list[list[Score]]:
        if isinstance(self._slots, ScoringJob):
            return self._slots.result()
        return [job.result()[position] for job, position in self._slots]


class EngineSettings(Protocol):
    """`scoring.engine` and where its cluster is (config.ScoringConfig)."""

    @property
    def engine(self) -> str: ...  # local | dask

    @property
    def scheduler_address(self) -> str | None: ...  # a Dask scheduler; None: a local cluster

    @property
    def workers(self) -> int | str: ...  # processes, or a local Dask cluster's ("auto": cores)


class ScoringPool:
    """Scores batches for several tasks, inline (workers=0), in spawned worker processes, or on
    a Dask cluster (`engine.engine == "dask"`, evalkit/stages/scoring_dask.py).

    Only CPU-bound pure-Python scorers (`cpu_heavy`) go to workers; model-based scorers (torch)
    stay in this process, where they already use every core and load their model once.
    Within a task an item that was already submitted (the same output for the same references,
    e.g. two MT systems with the same translation of a segment) is not scored again, unless no
    scorer of the task `memoize`s (see `submit`).
    """

    def __init__(
        self,
        scorers_by_task: dict[str, list[Scorer]],
        specs_by_task: dict[str, list[ScorerSpec]],
        workers: int,
        references_by_task: dict[str, list[tuple[str, ...]]] | None = None,
        engine: EngineSettings | None = None,
    ) -> None:
        self._scorers = scorers_by_task
        self._seen: dict[str, dict[ScoringItem, tuple[ScoringJob, int]]] = {}
        self._memoize = {
            task: any(s.memoize for s in scorers) for task, scorers in scorers_by_task.items()
        }
        self.timings: dict[str, Timings] = {task: {} for task in scorers_by_task}
        self.on_scored: OnScored | None = None  # called after each scorer's part of a batch
        self._remote: RemoteEngine | None = None
        remote_specs = {
            task: [spec for spec, s in zip(specs_by_task[task], scorers, strict=True) if _heavy(s)]
            for task, scorers in scorers_by_task.items()
        }
        references = {  # only for remote scorers that learn from the corpus (`prepare`)
            task: refs
            for task, refs in (references_by_task or {}).items()
            if any(_heavy(s) and s.prepare is not None for s in scorers_by_task.get(task, []))
        }
        if engine is not None and engine.engine == "dask" and any(remote_specs.values()):
            from evalkit.stages.scoring_dask import DaskEngine

            self._remote = DaskEngine(engine, remote_specs, references)
        elif workers > 0:
            self._remote = ProcessEngine(workers, remote_specs, references)
        self.workers = self._remote.workers if self._remote is not None else 0

    def submit(self, task: str, items: Sequence[ScoringItem]) -> PendingScores:
        """Score a batch. When one of the task's scorers `memoize`s, an item equal to one
        submitted before takes that one's scores; otherwise (exact match, F1, numeric match:
        scoring costs less than the look-up) every item is scored."""
        if not self._memoize[task]:
            return PendingScores(self._run(task, list(items)))
        seen = self._seen.setdefault(task, {})
        fresh = list(dict.fromkeys(item for item in items if item not in seen))
        job = self._run(task, fresh)
        for position, item in enumerate(fresh):
            seen[item] = (job, position)
        pending = PendingScores([seen[item] for item in items])
        if len(seen) > SEEN_LIMIT:  # keep the newest half: memory stays flat on huge tasks
            self._seen[task] = dict(list(seen.items())[-SEEN_LIMIT // 2 :])
        return pending

    def _run(self, task: str, items: list[ScoringItem]) -> ScoringJob:
        scorers = self._scorers[task]
        timings = self.timings[task]
        remote = [s for s in scorers if _heavy(s)] if self._remote is not None else []
        if not items or not remote:
            inline = score_items(scorers, items, timings, self.on_scored) if items else []
            return ScoringJob(None, inline, {}, timings)
        local = [s for s in scorers if not _heavy(s)]
        assert self._remote is not None
        worker_part = self._remote.submit(task, items)
        metric_order = {m: i for i, m in enumerate(m for s in scorers for m in s.metrics)}
        inline = score_items(local, items, timings, self.on_scored)
        return ScoringJob(worker_part, inline, metric_order, timings, self.on_scored)

    def close(self) -> None:
        self._seen.clear()  # the memo's items and scores are not needed after the last batch
        if self._remote is not None:
            self._remote.close()
