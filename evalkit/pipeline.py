"""One run, top to bottom: tasks -> requests -> generations -> scores -> records -> aggregates.

Each finished batch is appended to samples.jsonl before the next result is awaited, and each
generation is in the response cache as soon as it exists, so a killed run loses at most the batches
being scored and regenerates nothing. Rerunning into the same run_dir skips finished samples; the
aggregates are computed from samples.jsonl in data order, so they equal an uninterrupted run's.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from evalkit import __version__, registry
from evalkit.aggregate import aggregate_records
from evalkit.cache import ResponseCache, cache_key
from evalkit.config import RunConfig
from evalkit.errors import UserError
from evalkit.progress import ProgressReporter
from evalkit.protocols import BACKEND_GROUP, Backend, Scorer
from evalkit.provenance import git_commit, host_info, library_versions
from evalkit.scoring import (
    PendingScores,
    ScorerSpec,
    ScoringPool,
    build_scorers,
    is_heavy,
    resolve_workers,
    scoring_item,
)
from evalkit.store import RunStore
from evalkit.tasks import Task, load_task
from evalkit.types import ComponentInfo, Generation, Request, RunRecord, Sample, SampleRecord, Score


@dataclass
class TaskPlan:
    task: Task
    samples: list[Sample]
    requests: dict[str, Request]  # rendered once per sample, shared by every backend
    scorer_specs: list[ScorerSpec]
    scorers: list[Scorer]
    backends: list[Backend]


@dataclass
class Batch:
    plan: TaskPlan
    backend: Backend
    samples: list[Sample]


def plan_tasks(config: RunConfig) -> list[TaskPlan]:
    """Load and validate everything before any work starts, so user errors surface first."""
    factory = registry.load(BACKEND_GROUP, config.model.backend)
    plans = []
    for ref in config.task_refs:
        task = load_task(ref)
        samples = task.samples()[: config.limit] if config.limit else task.samples()
        requests = {s.id: task.request(s) for s in samples}  # template errors surface now
        specs = list((config.scorers or task.spec.scorers).items())
        backends = factory(config.model.options, task)
        if not backends:
            raise UserError(f"model '{config.model.name}' has no system for task '{task.name}'")
        plans.append(TaskPlan(task, samples, requests, specs, build_scorers(specs), backends))
    names = [p.task.name for p in plans]
    if len(set(names)) != len(names):
        raise UserError(f"the same task is listed twice: {names}")
    return plans


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
        backends=[ComponentInfo(name=b.name, signature=b.signature()) for b in backends.values()],
        scorers=[ComponentInfo(name=s.name, signature=s.signature()) for s in scorers.values()],
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
    return previous.model_copy(update={"status": "running"})


def _pending_batches(
    plans: list[TaskPlan], done: set[tuple[str, str, str]], batch_size: int
) -> list[Batch]:
    batches = []
    for plan in plans:
        for backend in plan.backends:
            todo = [s for s in plan.samples if (plan.task.name, backend.name, s.id) not in done]
            for start in range(0, len(todo), batch_size):
                batches.append(Batch(plan, backend, todo[start : start + batch_size]))
    return batches


def _generate(
    backend: Backend, requests: list[Request], cache: ResponseCache | None
) -> list[Generation]:
    if cache is None:
        return backend.generate(requests)
    signature = backend.signature()
    keys = [cache_key(signature, r) for r in requests]
    hits = cache.get_many(keys)
    missing = [i for i, k in enumerate(keys) if k not in hits]
    fresh = dict(zip(missing, backend.generate([requests[i] for i in missing]), strict=True))
    cache.put_many([(keys[i], g) for i, g in fresh.items()])
    return [
        fresh[i] if i in fresh else hits[k].model_copy(update={"cached": True})
        for i, k in enumerate(keys)
    ]


def _records(
    batch: Batch, requests: list[Request], generations: list[Generation], scores: list[list[Score]]
) -> Iterator[SampleRecord]:
    for sample, request, generation, sample_scores in zip(
        batch.samples, requests, generations, scores, strict=True
    ):
        yield SampleRecord(
            task=batch.plan.task.name,
            model=batch.backend.name,
            sample_id=sample.id,
            index=sample.index,
            request=request,
            generation=generation,
            scores=sample_scores,
        )


def run_evaluation(config: RunConfig, run_dir: Path) -> RunRecord:
    """Run (or resume) the evaluation described by `config` into `run_dir`."""
    started = time.perf_counter()
    plans = plan_tasks(config)
    data_hashes = {p.task.name: p.task.data_hash() for p in plans}
    store = RunStore(run_dir)
    record = _open_run(store, _new_run_record(config, plans, data_hashes))
    batches = _pending_batches(plans, store.done_keys(), config.batch_size)
    pending = sum(len(b.samples) for b in batches)
    heavy = any(is_heavy(p.scorers) for p in plans)
    workers = resolve_workers(config.scoring.workers, heavy, pending)
    cache = ResponseCache(Path(config.cache.path)) if config.cache.enabled else None
    pool = ScoringPool(plans_by_task(plans), {p.task.name: p.scorer_specs for p in plans}, workers)
    timings = {"generate_s": 0.0}
    store.open_log()
    try:
        with ProgressReporter(pending, enabled=config.progress) as progress:
            timings["generate_s"] = _run_batches(batches, store, cache, pool, progress)
    finally:
        pool.close()
        store.close()
        if cache is not None:
            cache.close()
    aggregate_started = time.perf_counter()
    aggregates = aggregate_records(store.records(), plans_by_task(plans), config)
    timings["aggregate_s"] = time.perf_counter() - aggregate_started
    timings["total_s"] = time.perf_counter() - started
    final = record.model_copy(
        update={
            "status": "complete",
            "aggregates": aggregates,
            "timings": timings,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    store.write_run(final)
    return final


def plans_by_task(plans: Sequence[TaskPlan]) -> dict[str, list[Scorer]]:
    return {p.task.name: p.scorers for p in plans}


def _run_batches(
    batches: list[Batch],
    store: RunStore,
    cache: ResponseCache | None,
    pool: ScoringPool,
    progress: ProgressReporter,
) -> float:
    """Generate batch by batch; score in the pool; write records in submission order."""
    in_flight: deque[tuple[Batch, list[Request], list[Generation], PendingScores]] = deque()
    window = max(2, 2 * pool.workers)
    generate_s = 0.0

    def write_oldest() -> None:
        batch, requests, generations, future = in_flight.popleft()
        store.append(_records(batch, requests, generations, future.result()))
        progress.advance(len(batch.samples))

    for batch in batches:
        requests = [batch.plan.requests[s.id] for s in batch.samples]
        t0 = time.perf_counter()
        generations = _generate(batch.backend, requests, cache)
        generate_s += time.perf_counter() - t0
        items = [scoring_item(s, g) for s, g in zip(batch.samples, generations, strict=True)]
        future = pool.submit(batch.plan.task.name, items)
        in_flight.append((batch, requests, generations, future))
        while len(in_flight) >= window or (in_flight and in_flight[0][3].done()):
            write_oldest()
    while in_flight:
        write_oldest()
    return generate_s
