"""`scoring.engine=dask`: the CPU-heavy scorers of each batch run on a Dask cluster.

The same engine as the data builder (evalkit/databuild/engine.py): a local cluster of worker
processes when no scheduler is given, or an existing one (`scoring.scheduler_address=
tcp://host:8786`, started by hand, dask-jobqueue, dask-kubernetes...). evalkit must be installed
on the workers in the same version, with the extras its scorers need.

Each batch of ScoringItems (prediction, references, extracted answers) is one Dask task. A worker
builds a task's scorers from their specs the first time it sees them and keeps them, keyed by the
specs' signature, so a worker builds each scorer set once however many batches it scores (and
corpus-level scorers get the task's references for `prepare` once, scattered to every worker).
Per-item scores come back in item order; the driver merges them with the in-process scorers'
in the task's scorer order, so records and aggregates are the same as with `scoring.engine=local`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

from evalkit.errors import UserError
from evalkit.protocols import Scorer
from evalkit.stages.scoring import (
    EngineSettings,
    RemoteResult,
    ScorerSpec,
    ScoringItem,
    Timings,
    build_scorers,
    score_items,
)
from evalkit.types import Score

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_ENV = "EVALKIT_DASK_CONNECT_TIMEOUT"


def connect_timeout() -> str:
    """How long to try a scheduler before the run stops (exit 2): $EVALKIT_DASK_CONNECT_TIMEOUT
    (a Dask duration, "20s" by default), read when the client is made. A value Dask cannot
    read is a UserError."""
    from dask.utils import parse_timedelta

    value = os.environ.get(CONNECT_TIMEOUT_ENV, "20s")
    try:
        parse_timedelta(value)
    except (KeyError, ValueError, TypeError):
        raise UserError(f"{CONNECT_TIMEOUT_ENV}={value!r}: not a duration (e.g. 20s, 2m)") from None
    return value


_BUILT: dict[str, list[Scorer]] = {}  # on a worker: signature -> the scorers built from it
_BUILDING = threading.Lock()  # a worker with several threads builds a scorer set once


def signature(task: str, specs: Sequence[ScorerSpec]) -> str:
    """A stable key for a task's remote scorer specs (names and options, sorted keys)."""
    text = json.dumps([task, [[n, o] for n, o in specs]], sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def score_on_worker(
    key: str,
    specs: list[ScorerSpec],
    references: list[tuple[str, ...]],
    items: Sequence[ScoringItem],
) -> tuple[list[list[Score]], Timings]:
    """Runs on a Dask worker: the batch's scores (one list per item, in item order) and the
    scorers' (seconds, items) timings. Scorers are built on the first call for `key`."""
    with _BUILDING:
        scorers = _BUILT.get(key)
        if scorers is None:
            scorers = build_scorers(specs)
            for scorer in scorers:
                if scorer.prepare is not None:
                    scorer.prepare(references)
            _BUILT[key] = scorers
    timings: Timings = {}
    return score_items(scorers, items, timings), timings


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise UserError(
            "scoring.engine=dask needs dask.distributed: pip install -e '.[cluster]'"
        ) from None
    return distributed


class DaskEngine:
    """Scores batches on a Dask cluster (a RemoteEngine of evalkit.stages.scoring).

    Raises UserError when distributed is not installed or the scheduler cannot be reached."""

    def __init__(
        self,
        settings: EngineSettings,
        specs_by_task: dict[str, list[ScorerSpec]],
        references_by_task: dict[str, list[tuple[str, ...]]],
    ) -> None:
        distributed = _distributed()
        self._cluster: Any = None
        address = settings.scheduler_address
        if address:
            timeout = connect_timeout()
            try:
                self._client: Any = distributed.Client(address, timeout=timeout)
            except Exception as exc:  # refused, timed out, a malformed address, or something
                # that answered but is no Dask scheduler (garbage read as a message header)
                raise UserError(
                    f"scoring.scheduler_address: cannot reach the Dask scheduler at {address} "
                    f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
                ) from None
        else:
            workers = settings.workers
            count = int(workers) if workers != "auto" and int(workers) > 0 else os.cpu_count() or 1
            self._cluster = distributed.LocalCluster(
                n_workers=count, threads_per_worker=1, processes=True, dashboard_address=None
            )
            self._client = distributed.Client(self._cluster)
        self.workers = max(1, sum(self._client.nthreads().values()))
        log.info(
            "scoring on Dask: %d worker threads, scheduler %s",
            self.workers,
            address or f"{self._client.scheduler.address} (local cluster)",
        )
        self._specs = {task: specs for task, specs in specs_by_task.items() if specs}
        # sent once to every worker, for scorers that learn from the corpus (`prepare`)
        self._references = {
            task: self._client.scatter([refs], broadcast=True, hash=False)[0]
            for task, refs in references_by_task.items()
            if task in self._specs
        }
        # scorers prepared on this run's references are not reused by another run's
        self._keys = {
            task: signature(task, specs)
            + (f":{self._references[task].key}" if task in self._references else "")
            for task, specs in self._specs.items()
        }

    def submit(self, task: str, items: Sequence[ScoringItem]) -> RemoteResult:
        future: RemoteResult = self._client.submit(
            score_on_worker,
            self._keys[task],
            self._specs[task],
            self._references.get(task, []),
            list(items),
            pure=False,
        )
        return future

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()
