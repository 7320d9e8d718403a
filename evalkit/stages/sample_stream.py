"""A task's samples for a run: held in memory when few, re-read from the data file when many.

A Sample with its rendered Request costs about 2.5 KB in memory; a million of them would be most
of a run's memory (issue 24). Up to `RETAIN` samples are held (a list, and the requests rendered
once and shared by every model, as before); a larger task is checked in one pass over its data
(ids unique, every prompt renders, a live task's prompts carry their input) and then read again
per pass (`StreamedSamples`), its requests rendered when their batch starts.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

import numpy as np

from evalkit.errors import UserError
from evalkit.stages.taskcheck import check_prompts
from evalkit.tasks.multiturn import record_ids
from evalkit.tasks.task import Task
from evalkit.types import Request, Sample

RETAIN = 100_000
"""Tasks with up to this many samples (after `limit`) are held in memory."""
_CHECK_CHUNK = 10_000


@dataclass
class StreamedSamples:
    """The first `count` samples of a task (all when `limit` is None), read from its data file
    on each iteration; `len` is known from the checking pass."""

    task: Task
    limit: int | None
    count: int

    def __iter__(self) -> Iterator[Sample]:
        return islice((s for _, s in self.task.iter_samples()), self.limit)

    def __len__(self) -> int:
        return self.count


Samples = list[Sample] | StreamedSamples


@dataclass(frozen=True)
class CheckedSamples:
    """What planning knows of a task's samples after one pass."""

    samples: Samples
    requests: dict[str, Request]  # rendered once (held samples only; else rendered per batch)
    records: int  # records per model: one per sample, or one per turn
    max_turns: int


def read_samples(task: Task, limit: int | None, live: bool) -> CheckedSamples:
    """One pass over the task's data: every UserError planning raised before (duplicate id,
    template error, a live prompt without its input) is raised now, before any work starts."""
    held: list[Sample] = []
    requests: dict[str, Request] = {}
    hashes: array[int] = array("q")
    count = records = max_turns = 0
    streaming = False
    for _, sample in task.iter_samples():
        hashes.append(hash(sample.id))
        if limit is not None and count >= limit:
            continue  # ids beyond the limit are still checked unique, as task.samples() does
        count += 1
        records += len(record_ids(sample))
        max_turns = max(max_turns, len(sample.turns))
        request = task.request(sample)  # template errors surface now
        held.append(sample)
        if not streaming:
            requests[sample.id] = request
            streaming = count > RETAIN
        if streaming and len(held) >= _CHECK_CHUNK:
            _check_chunk(task, held, live)
            held, requests = [], {}
    if not count:
        raise UserError(f"{task.data_path}: no samples (the data file has no rows)")
    ids = np.frombuffer(hashes, dtype=np.int64)
    if len(np.unique(ids)) != len(ids):
        task.samples()  # raises the duplicate id's UserError (a mere hash collision does not)
    _check_chunk(task, held, live)
    if streaming:
        return CheckedSamples(StreamedSamples(task, limit, count), {}, records, max_turns)
    return CheckedSamples(held, requests, records, max_turns)


def _check_chunk(task: Task, samples: list[Sample], live: bool) -> None:
    if live:
        check_prompts(task, samples)  # a live model is never sent a prompt without its input
