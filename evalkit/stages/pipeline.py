"""One run, top to bottom: tasks -> requests -> generations -> scores -> records -> aggregates.

Each finished batch is appended to samples.jsonl before the next result is awaited, and each
generation is in the response cache as soon as it exists, so a killed run loses at most the batches
being scored and regenerates nothing (a backend with `cacheable = False`, replay, is not cached:
its outputs are stored already). Rerunning into the same run_dir skips finished samples. The
aggregates come from compact per-sample columns (`evalkit.store.columns`): the lines samples.jsonl
held
when the run (re)started, read once, then each batch as it is written; no record is kept, and the
columns are put in data order, so the aggregates equal an uninterrupted run's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from evalkit import __version__, registry
from evalkit.abort import RunAborted, stop_cause
from evalkit.config import TASK_SCORERS, RunConfig
from evalkit.console.progress import Phase, RunProgress
from evalkit.errors import BackendRaised, MissingExtra, ScorerRaised, UserError
from evalkit.extras import is_optional_dependency, needs_extra
from evalkit.plugins import check_generated, plugin_backend
from evalkit.protocols import Backend, Scorer
from evalkit.stages.aggregate import aggregate_columns, extraction_of, task_metrics, usage_of
from evalkit.stages.collection import RunCollection
from evalkit.stages.conversations import Produced, converse
from evalkit.stages.extraction_scoring import extracted_answers
from evalkit.stages.metricspec import specs_of_scorers
from evalkit.stages.sample_stream import Samples, read_samples
from evalkit.stages.scoring import (
    PendingScores,
    ScorerSpec,
    ScoringPool,
    Timings,
    build_scorer,
    is_heavy,
    prepare_scorers,
    resolve_workers,
    scoring_item,
    share_sentence_encoders,
    task_scorer_specs,
)
from evalkit.stages.taskcheck import check_live
from evalkit.store.cache import CacheLookup, ResponseCache, look_up
from evalkit.store.columns import RunColumns
from evalkit.store.provenance import git_commit, host_info, library_versions
from evalkit.store.redact import install_log_filter, redact, register_env
from evalkit.store.run_store import DoneKey, RunStore, done_key
from evalkit.tasks.multiturn import record_ids, split_turns_spec
from evalkit.tasks.task import Task, load_tasks
from evalkit.types import (
    ComponentInfo,
    Generation,
    Request,
    RunRecord,
    Sample,
    SampleRecord,
    Score,
    ScorerTiming,
)

logger = logging.getLogger(__name__)


@dataclass
class TaskPlan:
    task: Task
    samples: Samples  # a list, or re-read from the data file per pass (sample_stream.py)
    requests: dict[str, Request]  # rendered once per held sample, shared by every backend
    scorer_specs: list[ScorerSpec]
    scorers: list[Scorer]
    backends: list[Backend]
    records: int = 0  # records per backend: one per sample, or one per turn

    def request(self, sample: Sample) -> Request:
        """The sample's request: rendered at planning, or now (a streamed task)."""
        request = self.requests.get(sample.id)
        return request if request is not None else self.task.request(sample)


@dataclass
class Batch:
    plan: TaskPlan
    backend: Backend
    samples: list[Sample]


def plan_tasks(config: RunConfig) -> list[TaskPlan]:
    """Load and validate everything before any work starts, so user errors surface first."""
    factory = registry.backend(config.model.backend)
    register_env(config.model.options.get("api_key_env"))
    plans: list[TaskPlan] = []
    try:
        for ref in config.task_refs:
            for task in load_tasks(ref):
                plans.append(_plan_task(config, task, factory))
        names = [p.task.name for p in plans]
        if len(set(names)) != len(names):
            raise UserError(f"the same task is listed twice: {names}")
    except BaseException:
        _close_backends(plans)  # an HTTP client already opened must not outlive the error
        raise
    return plans


def _plan_task(config: RunConfig, task: Task, factory: registry.BackendEntry) -> TaskPlan:
    check_live(task, config.model.backend)
    checked = read_samples(task, config.limit, live=config.model.backend != "replay")
    samples = checked.samples
    specs = task.scorer_specs(
        task_scorer_specs(config.scorer_specs(task.spec.scorers), task.spec.language),
        turns=checked.max_turns,
    )
    try:
        backends = factory.build(config.model.name, config.model.options, task)
    except ModuleNotFoundError as exc:
        if not is_optional_dependency(exc):
            raise
        raise needs_extra(exc, f"backend '{config.model.backend}'") from None
    plan = TaskPlan(task, samples, checked.requests, specs, [], backends, checked.records)
    try:
        if not backends:
            raise UserError(f"model '{config.model.name}' has no system for task '{task.name}'")
        plan.scorer_specs, plan.scorers = _build_installed_scorers(config, task, specs)
        if any(s.prepare is not None for s in plan.scorers):
            prepare_scorers(plan.scorers, list(samples))
    except BaseException:
        _close_backends([plan])
        raise
    return plan


def _build_installed_scorers(
    config: RunConfig, task: Task, specs: list[ScorerSpec]
) -> tuple[list[ScorerSpec], list[Scorer]]:
    """The scorers of `specs` (and their specs), less the task's own scorers whose optional
    dependency is not installed: each of those is left out with one warning naming the
    `pip install` that brings it, so a task's declared scorers (summeval's `embedding` and
    `distilled_judge`) do not stop a run on a core install. A scorer the user named
    (`scorers=...`, `+scorers.NAME=...`) is still a MissingExtra error (exit 2), and so is a
    task left with no scorer."""
    named = {k for k in config.scorers if k != TASK_SCORERS} if config.scorers else set()
    kept: list[ScorerSpec] = []
    scorers: list[Scorer] = []
    missing: list[MissingExtra] = []
    for name, options in specs:
        try:
            scorer = build_scorer(name, options)
        except MissingExtra as exc:
            if split_turns_spec(name)[0].partition("@")[0] in named:
                raise
            missing.append(exc)
            continue
        kept.append((name, options))
        scorers.append(scorer)
    if missing and not kept:
        raise missing[0]
    for reason in missing:
        logger.warning("task '%s': %s; left out of this run", task.name, reason)
    share_sentence_encoders(scorers)
    return kept, scorers


def spec_hash(config: RunConfig, data_hashes: dict[str, str]) -> str:
    blob = json.dumps({"config": config.spec_for_resume(), "data": data_hashes}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _new_run_record(
    config: RunConfig, plans: list[TaskPlan], data_hashes: dict[str, str]
) -> RunRecord:
    backends = {b.name + "|" + b.signature(): b for p in plans for b in p.backends}
    scorers = {s.name + "|" + s.signature(): s for p in plans for s in p.scorers}
    return RunRecord(
        evalkit_version=__version__,
        status="running",
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        config=config.model_dump(mode="json"),
        spec_hash=spec_hash(config, data_hashes),
        git_commit=git_commit(Path.cwd()),
        task_data_hashes=data_hashes,
        task_data_sources={p.task.name: p.task.data_source() for p in plans},
        backends=[ComponentInfo(name=b.name, signature=b.signature()) for b in backends.values()],
        scorers=[ComponentInfo(name=s.name, signature=s.signature()) for s in scorers.values()],
        task_scorers={p.task.name: p.scorer_specs for p in plans},
        metric_specs={p.task.name: specs_of_scorers(p.scorer_specs, p.scorers) for p in plans},
        primary_metrics={
            p.task.name: p.task.spec.primary_metric for p in plans if p.task.spec.primary_metric
        },
        seed=config.seed,
        library_versions=library_versions(),
        host=host_info(),
    )


def _open_run(store: RunStore, fresh: RunRecord) -> RunRecord:
    """Start a new run, or continue the one already in run_dir if it is the same run."""
    if not store.exists():
        store.write_run(fresh)
        return fresh
    previous = store.read_run()
    if previous.spec_hash != fresh.spec_hash:
        raise UserError(
            f"{store.run_path}: this run_dir holds a different run (config or data changed); "
            "choose another run_dir"
        )
    _check_same_scorers(store, previous, fresh)
    # a run begun before metric specs were stored gets them from its (same) scorers
    specs = previous.metric_specs or fresh.metric_specs
    return previous.model_copy(update={"status": "running", "metric_specs": specs})


def _check_same_scorers(store: RunStore, previous: RunRecord, fresh: RunRecord) -> None:
    """Refuse to resume with another set of scorers than the run began with (same config, but
    an extra installed or removed since, so a task's scorer is no longer or newly left out):
    the samples done before would lack the new scorer's scores, and its aggregate would cover
    only the rest."""
    for task, specs in previous.task_scorers.items():
        before = [name for name, _ in specs]
        now = [name for name, _ in fresh.task_scorers.get(task, specs)]
        if before != now:
            raise UserError(
                f"{store.run_path}: this run_dir holds a run of task '{task}' scored with "
                f"{', '.join(before) or 'no scorer'}, and this run would score it with "
                f"{', '.join(now) or 'no scorer'} (an optional dependency installed or removed "
                "since?); choose another run_dir"
            )


def _pending_batches(
    plans: list[TaskPlan], done: set[tuple[str, str, str]], batch_size: int
) -> Iterator[Batch]:
    """The batches still to do, made as they are needed (a streamed task is read per backend)."""
    for plan in plans:
        for backend in plan.backends:
            if not done:  # a fresh run: every sample, in batches
                samples = iter(plan.samples)
                while batch := list(islice(samples, batch_size)):
                    yield Batch(plan, backend, batch)
                continue
            todo: list[Sample] = []
            for s in plan.samples:
                if any((plan.task.name, backend.name, i) not in done for i in record_ids(s)):
                    todo.append(s)
                    if len(todo) == batch_size:
                        yield Batch(plan, backend, todo)
                        todo = []
            if todo:
                yield Batch(plan, backend, todo)


def _pending_records(plans: list[TaskPlan], done: set[tuple[str, str, str]]) -> int:
    """Records still to write: exact for held tasks; for a streamed task, its records less the
    finished ones of its models (not read again for a count)."""
    if not done:
        return sum(plan.records * len(plan.backends) for plan in plans)
    pending = 0
    for plan in plans:
        names = {(plan.task.name, b.name) for b in plan.backends}
        if isinstance(plan.samples, list):
            for t, m in names:  # a batch writes every record of a sample it takes
                for s in plan.samples:
                    ids = record_ids(s)
                    pending += len(ids) if any((t, m, i) not in done for i in ids) else 0
        else:
            finished = sum(1 for t, m, _ in done if (t, m) in names)
            pending += max(plan.records * len(plan.backends) - finished, 0)
    return pending


@dataclass
class Generating:
    """A batch whose uncached requests are with the backend (possibly still running); a batch
    of multi-turn samples is generated whole, turn by turn, in `conversation`."""

    batch: Batch
    requests: list[Request]
    lookup: CacheLookup  # what the cache answered; the backend answers `lookup.missing`
    future: Future[list[Generation]] | None = None
    conversation: Future[list[Produced]] | None = None

    def done(self) -> bool:
        running = self.conversation if self.conversation is not None else self.future
        return running is not None and running.done()


class GenerationStage:
    """Looks batches up in the cache, hands the rest to the backend off the main thread.

    A backend that can take several batches at once (`concurrent_batches`, e.g. an API client
    with one shared concurrency cap) gets them, so the tail of one batch overlaps the next.
    """

    def __init__(self, backends: Sequence[Backend], cache: ResponseCache | None) -> None:
        self.cache = cache
        self.window = max((b.concurrent_batches for b in backends), default=1)
        self._executor = ThreadPoolExecutor(max_workers=self.window, thread_name_prefix="generate")
        self.busy_s = 0.0
        self._span: list[float] = []

    def start(self, batch: Batch) -> Generating:
        requests = [batch.plan.request(s) for s in batch.samples]
        cache = self.cache if batch.backend.cacheable else None
        if batch.plan.task.multi_turn:
            path = cache.path if cache is not None else None
            talk = self._executor.submit(self._timed_converse, batch, requests, path)
            return Generating(batch, requests, look_up(None, "", []), conversation=talk)
        signature = batch.backend.signature() if cache is not None else ""
        lookup = look_up(cache, signature, requests)
        todo = [requests[i] for i in lookup.missing]
        if batch.backend.runs_inline:
            future = self._run_inline(batch.backend, todo)
        else:
            future = self._executor.submit(self._timed, batch.backend, todo)
        return Generating(batch, requests, lookup, future)

    def _run_inline(self, backend: Backend, requests: list[Request]) -> Future[list[Generation]]:
        """`backend.generate` on this thread, as a finished future: an exception is raised
        where a worker thread's would be, when the batch is finished."""
        future = Future[list[Generation]]()
        try:
            future.set_result(self._timed(backend, requests))
        except (Exception, SystemExit) as exc:  # SystemExit: a plugin's sys.exit(), see finish
            future.set_exception(exc)
        return future

    def finish(self, item: Generating) -> list[Produced]:
        """Each record's sample, request and generation (a multi-turn sample: one per turn).
        A plugin backend whose `generate` raised, or returned other than one Generation per
        request (`check_generated`), is a BackendRaised naming it."""
        try:
            if item.conversation is not None:
                return item.conversation.result()
            assert item.future is not None
            made = item.future.result()
            if plugin_backend(item.batch.backend) is not None:
                check_generated(made, len(item.lookup.missing))
        except (Exception, SystemExit) as exc:
            described = plugin_backend(item.batch.backend)
            if described is None or isinstance(exc, UserError):
                raise
            raise BackendRaised(f"{described} raised {type(exc).__name__}: {exc}") from exc
        # the cache's answers plus the backend's (no key in any error text; successes cached)
        generations = item.lookup.merge(made, self.cache)
        return [
            Produced(s, r, g)
            for s, r, g in zip(item.batch.samples, item.requests, generations, strict=True)
        ]

    def _timed_converse(
        self, batch: Batch, requests: list[Request], cache_path: Path | None
    ) -> list[Produced]:
        start = time.perf_counter()
        out = converse(batch.backend, cache_path, batch.samples, requests)
        end = time.perf_counter()
        self._span = [min(self._span[0], start), end] if self._span else [start, end]
        return out

    def _timed(self, backend: Backend, requests: list[Request]) -> list[Generation]:
        if not requests:
            return []
        start = time.perf_counter()
        out = backend.generate(requests)
        end = time.perf_counter()
        self._span = [min(self._span[0], start), end] if self._span else [start, end]
        return out

    @property
    def wall_s(self) -> float:
        """From the first backend call's start to the last one's end."""
        return self._span[1] - self._span[0] if self._span else 0.0

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


_RECORDS = TypeAdapter(list[SampleRecord])  # a batch validated in one call: 25% faster


def _records(
    batch: Batch, produced: list[Produced], scores: list[list[Score]]
) -> list[SampleRecord]:
    task, model = batch.plan.task, batch.backend.name
    name, extract, shots = task.name, task.spec.extract, task.spec.fewshot is not None
    rows = [
        {
            "task": name,
            "model": model,
            "sample_id": made.sample.id,
            "index": made.sample.index,
            "request": made.request,
            "generation": made.generation,
            "scores": sample_scores,
            "references": made.sample.references,
            "extracted": extracted_answers(extract, made.generation),
            "fewshot_ids": (task.fewshot_ids(made.sample) if shots and made.turn <= 1 else []),
        }
        for made, sample_scores in zip(produced, scores, strict=True)
    ]
    try:
        return _RECORDS.validate_python(rows)
    except ValidationError:  # an invalid record: its own error, not one per record of the batch
        return [SampleRecord.model_validate(row) for row in rows]


def run_evaluation(
    config: RunConfig, run_dir: Path, progress: RunProgress | None = None
) -> RunRecord:
    """Run (or resume) the evaluation described by `config` into `run_dir`.

    `progress`: the display its phases (generate, score, aggregate) report to; by default one of
    its own, shown when `config.progress`. Raises UserError (bad input, run_dir in use by another
    run or holding a different run) and RunAborted (a backend's FailureGuard tripped: finished
    samples are kept, a rerun resumes).
    """
    if progress is None:
        with RunProgress(enabled=config.progress) as own:
            return run_evaluation(config, run_dir, own)
    started = time.perf_counter()
    install_log_filter()
    store = RunStore(run_dir)
    store.acquire_lock()  # before tasks and models load: a run_dir in use is refused at once
    try:
        with RunCollection() as collection:
            with collection.planning():
                plans = plan_tasks(config)
                collection.planned(
                    samples=sum(len(p.samples) for p in plans),
                    held=sum(len(p.samples) for p in plans if isinstance(p.samples, list)),
                )
            try:
                return _evaluate(config, plans, store, started, progress)
            finally:
                _close_backends(plans)
                del plans  # released before the collection policy ends (it may collect)
    finally:
        store.release_lock()


def _evaluate(
    config: RunConfig,
    plans: list[TaskPlan],
    store: RunStore,
    started: float,
    progress: RunProgress,
) -> RunRecord:
    data_hashes = {p.task.name: p.task.data_hash() for p in plans}
    created = not store.exists()
    record = _open_run(store, _new_run_record(config, plans, data_hashes))
    columns = RunColumns()
    try:
        return _evaluate_open(config, plans, store, started, progress, record, columns)
    except RunAborted as exc:
        reason = f"{exc}; {_sample_counts(columns, plans)}; rerun with the same run_dir to resume"
        _write_stopped(store, record, created, "aborted", reason)
        raise RunAborted(reason) from None
    except (ScorerRaised, BackendRaised) as exc:  # a plugin's bug: marked aborted, exit 2
        component = "scorer" if isinstance(exc, ScorerRaised) else "backend"
        counts = _sample_counts(columns, plans)
        reason = f"{exc}; {counts}; fix the {component} and rerun to resume"
        _write_stopped(store, record, created, "aborted", reason)
        raise
    except KeyboardInterrupt as exc:
        reason = f"{stop_cause(exc)}; {_sample_counts(columns, plans)}"
        _write_stopped(store, record, created, "interrupted", reason)
        exc.args = (reason,)  # the CLI's one line quotes the counts
        raise
    except UserError as exc:  # a backend's or scorer's own one-line error mid-run (a rejected key)
        reason = f"{exc}; {_sample_counts(columns, plans)}; rerun with the same run_dir to resume"
        _write_stopped(store, record, created, "aborted", reason)
        raise
    except BaseException as exc:  # anything else still leaves run.json saying why it stopped
        counts = _sample_counts(columns, plans)
        _write_stopped(store, record, created, "aborted", f"{type(exc).__name__}: {exc}; {counts}")
        raise


def _sample_counts(columns: RunColumns, plans: Sequence[TaskPlan]) -> str:
    """'N of M samples done[, F failed], R not tried' (a multi-turn sample counts its turns),
    from the columns of every record in samples.jsonl (those before this run and those it wrote;
    empty when samples.jsonl could not be read)."""
    total = sum(p.records * len(p.backends) for p in plans)
    if columns.damaged:  # a damaged line: the counts are unknown, the stop reason is not
        return f"{total} samples in this run"
    latest, failed = columns.counts()
    done = latest - failed
    failed_text = f", {failed} failed" if failed else ""
    return f"{done} of {total} samples done{failed_text}, {max(total - latest, 0)} not tried"


def _write_stopped(
    store: RunStore, record: RunRecord, created: bool, status: str, reason: str
) -> None:
    """run.json of a run that stopped before its end: why, when, and the sample counts. Only a
    run this invocation created, or whose samples.jsonl it opened to add to: a resume refused
    before its work began (a damaged samples.jsonl) leaves the run's run.json as it was."""
    if not (created or store.log_opened):
        return
    store.write_run(
        record.model_copy(
            update={
                "status": status,
                "stop_reason": redact(reason),
                "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
    )


def _evaluate_open(
    config: RunConfig,
    plans: list[TaskPlan],
    store: RunStore,
    started: float,
    progress: RunProgress,
    record: RunRecord,
    columns: RunColumns,
) -> RunRecord:
    done = _read_log(store, columns, successful_only=config.retry_failed)
    for backend in _unique_backends(plans):
        if backend.failure_guard is not None:
            backend.failure_guard.max_consecutive = config.max_consecutive_failures
    batches = _pending_batches(plans, done, config.batch_size)
    pending = _pending_records(plans, done)
    heavy = any(is_heavy(p.scorers) for p in plans)
    workers = resolve_workers(config.scoring.workers, heavy, pending)
    cacheable = any(b.cacheable for b in _unique_backends(plans))
    cache = ResponseCache(Path(config.cache.path)) if config.cache.enabled and cacheable else None
    generation = GenerationStage(_unique_backends(plans), cache)
    pool = ScoringPool(
        plans_by_task(plans),
        {p.task.name: p.scorer_specs for p in plans},
        workers,
        {p.task.name: [tuple(s.references) for s in p.samples] for p in plans}
        if workers or config.scoring.engine == "dask"
        else None,
        engine=config.scoring,
    )
    store.open_log()
    try:
        generated = progress.start_phase("generate", pending)
        scored = progress.start_phase("score", pending)
        try:
            pool.on_scored = progress.scorer_rows(
                scored, {p.task.name: [s.name for s in p.scorers] for p in plans}
            )
            _run_batches(batches, store, columns, generation, pool, (generated, scored))
        except BaseException:
            progress.end_phase(generated, failed=True)
            progress.end_phase(scored, failed=True)
            raise
        progress.end_phase(generated)
        progress.end_phase(scored)
        backend_reports = _backend_reports(plans)
    finally:
        generation.close()
        pool.close()
        store.close()
        if cache is not None:
            cache.close()
    timings = {"generation_span_s": generation.wall_s}
    aggregate_started = time.perf_counter()
    metrics = {p.task.name: task_metrics(p.scorer_specs, p.scorers) for p in plans}
    with progress.phase("aggregate", len(columns.groups), "task x model") as aggregating:
        aggregates = aggregate_columns(
            columns,
            metrics,
            seed=config.seed,
            n_resamples=config.scoring.bootstrap_resamples,
            on_done=aggregating.advance,
        )
    timings["aggregate_s"] = time.perf_counter() - aggregate_started
    timings["total_s"] = time.perf_counter() - started
    final = record.model_copy(
        update={
            "status": "complete",
            "stop_reason": None,
            "aggregates": aggregates,
            "usage": usage_of(columns),
            "extraction": extraction_of(columns),
            "backend_reports": backend_reports,
            "timings": timings,
            "scorer_timings": _scorer_timings(record.scorer_timings, pool.timings, plans),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    store.write_run(final)
    return final


@dataclass(frozen=True)
class Estimate:
    task: str
    model: str
    requests: int
    input_tokens: int | None
    max_output_tokens: int | None
    cost_usd: float | None


def estimate_evaluation(config: RunConfig) -> list[Estimate]:
    """A dry run: what the run would send, in tokens and dollars, without calling any model."""
    plans = plan_tasks(config)
    rows = []
    try:
        for plan in plans:
            requests = [plan.request(s) for s in plan.samples]
            for backend in plan.backends:
                estimate = backend.estimate
                if estimate is None:  # replay and local models cost no API money
                    rows.append(
                        Estimate(plan.task.name, backend.name, len(requests), None, None, None)
                    )
                    continue
                guesses = estimate(requests)
                costs = [g.cost_usd for g in guesses]
                rows.append(
                    Estimate(
                        plan.task.name,
                        backend.name,
                        len(requests),
                        sum(g.input_tokens or 0 for g in guesses),
                        sum(g.output_tokens or 0 for g in guesses),
                        None if None in costs else sum(c for c in costs if c is not None),
                    )
                )
    finally:
        _close_backends(plans)
    return rows


def _scorer_timings(
    previous: Sequence[ScorerTiming], measured: dict[str, Timings], plans: Sequence[TaskPlan]
) -> list[ScorerTiming]:
    """This invocation's scorer timings, added to those of the run it resumes."""
    totals: dict[tuple[str, str], tuple[float, int]] = {
        (t.task, t.scorer): (t.seconds, t.items) for t in previous
    }
    for task, per_scorer in measured.items():
        for scorer, (seconds, items) in per_scorer.items():
            old_seconds, old_items = totals.get((task, scorer), (0.0, 0))
            totals[(task, scorer)] = (old_seconds + seconds, old_items + items)
    metrics = {(p.task.name, s.name): list(s.metrics) for p in plans for s in p.scorers}
    return [
        ScorerTiming(
            task=task,
            scorer=scorer,
            metrics=metrics.get((task, scorer), []),
            seconds=seconds,
            items=items,
        )
        for (task, scorer), (seconds, items) in totals.items()
    ]


def _unique_backends(plans: Sequence[TaskPlan]) -> list[Backend]:
    return list({id(b): b for p in plans for b in p.backends}.values())


def _backend_reports(plans: Sequence[TaskPlan]) -> dict[str, dict[str, Any]]:
    reports = {}
    for backend in _unique_backends(plans):
        if backend.report is not None:
            reports[backend.name] = backend.report()
    return reports


def _close_backends(plans: Sequence[TaskPlan]) -> None:
    """Backends, and scorers that hold one (judges), hand their resources back."""
    for backend in _unique_backends(plans):
        backend.close()
    for plan in plans:
        for scorer in plan.scorers:
            scorer.close()


def _abort_reason(backend: Backend) -> str | None:
    return backend.failure_guard.reason if backend.failure_guard is not None else None


def plans_by_task(plans: Sequence[TaskPlan]) -> dict[str, list[Scorer]]:
    return {p.task.name: p.scorers for p in plans}


def _read_log(store: RunStore, columns: RunColumns, *, successful_only: bool) -> set[DoneKey]:
    """Read samples.jsonl once: the samples that need no more work (`RunStore.done_keys`), and
    every record into `columns`. A damaged line is a UserError naming it."""
    state: dict[DoneKey, bool] = {}
    columns.damaged = True
    for where, head in store.lines():
        key, ok = done_key(head)
        state[key] = ok
        try:
            columns.add_line(head)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UserError(
                f"{where}: not a valid sample record ({type(exc).__name__}: {exc}); fix or "
                "delete that line to resume (the other records are kept)"
            ) from None
    columns.damaged = False
    return {key for key, ok in state.items() if ok or not successful_only}


def _run_batches(
    batches: Iterable[Batch],
    store: RunStore,
    columns: RunColumns,
    generation: GenerationStage,
    pool: ScoringPool,
    progress: tuple[Phase, Phase],
) -> None:
    """Generate (cache, then backend), score in the pool, write records in batch order."""
    generating: deque[Generating] = deque()
    scoring: deque[tuple[Generating, list[Produced], PendingScores]] = deque()
    window = max(2, 2 * pool.workers)
    generated, scored = progress
    written = [0]  # samples written so far (the scorers' shares may run ahead of it)

    def to_scoring(stopping: str | None = None) -> None:
        item = generating.popleft()
        try:
            produced = generation.finish(item)
        except BackendRaised:
            while scoring:  # the batches generated before it are kept
                write_oldest()
            raise
        generated.advance(len(produced))
        reason = stopping or _abort_reason(item.batch.backend)
        if reason is not None and any(p.generation.error for p in produced):
            if stopping is None:
                abort(f"model '{item.batch.backend.name}': {redact(reason)}")
            return  # a batch the abort cut short: its answers are cached, its records not written
        extract = item.batch.plan.task.spec.extract
        items = [scoring_item(p.sample, p.generation, extract, p.turn) for p in produced]
        scoring.append((item, produced, pool.submit(item.batch.plan.task.name, items)))

    def abort(reason: str) -> None:
        """Keep every batch that finished whole (the guard makes the rest fail fast), stop."""
        while generating:
            to_scoring(stopping=reason)
        while scoring:
            write_oldest()
        raise RunAborted(reason)

    def write_oldest() -> None:
        item, produced, pending = scoring.popleft()
        records = _records(item.batch, produced, pending.result())
        store.append(records)
        columns.add_records(records)  # the aggregates' numbers; the records themselves go
        written[0] += len(produced)
        scored.at_least(written[0])

    for batch in batches:
        generating.append(generation.start(batch))
        while len(generating) >= generation.window or generating[0].done():
            to_scoring()
            if not generating:
                break
        while len(scoring) >= window or (scoring and scoring[0][2].done()):
            write_oldest()
    while generating:
        to_scoring()
    generated.owner.end_phase(generated)
    while scoring:
        write_oldest()
