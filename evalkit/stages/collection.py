"""How a run spends Python's cyclic garbage collector (issue 24).

A run builds most of its long-lived objects while it plans (the samples of a task and their
requests, up to 100,000 a task, the scorers, the backends) and then allocates short-lived ones
per batch. The collector's defaults walk the long-lived ones again and again: every full
collection walks all of them, and while planning every young collection finds them alive and
moves them on, to be walked again one generation up. Two measures:

- `fewer_full_collections`: generation 2 is collected once per 1,000 generation-1 collections
  instead of 10, until the last run in the process ends (runs overlapping in threads of one
  host share it).
- `PlanningFreeze`: a run that is alone in the process first collects the young generations
  (the host's recent garbage), then plans with the collector paused and moves what exists when
  planning ends to the permanent generation (`gc.freeze`), where no collection walks it, until
  the run ends (`gc.unfreeze` puts it in the oldest generation). Objects still die by reference
  counting as usual; only a reference cycle among the frozen objects (one made while planning,
  or an older one of the host's) waits for the first full collection after the run (`evalkit
  run` makes one at once).
  Not done while another run is in progress (the freeze would hold its objects as well) nor in a
  host that froze objects itself (`gc.get_freeze_count()` not 0: unfreezing would undo that).

Measured with `benchmarks/replay_throughput.py` (100,000 replayed samples, exact match): 12 full
collections took 2.5 s of a 7.8 s run before the first; the second took a run from 3.55 s to
3.29 s (collection time 0.18 s -> 0.06 s, `gc.callbacks`).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

FULL_COLLECTION_THRESHOLD = 1000

_lock = threading.Lock()
_runs = 0  # runs now inside fewer_full_collections
_host_threshold: tuple[int, ...] = ()  # the threshold the first of them found


@contextmanager
def fewer_full_collections() -> Iterator[None]:
    """Raise the generation-2 threshold (`gc.set_threshold`'s third value, default 10) to
    FULL_COLLECTION_THRESHOLD while runs are in progress; the first run in saves the host's
    threshold, the last one out restores it."""
    global _runs, _host_threshold
    with _lock:
        if _runs == 0:
            _host_threshold = gc.get_threshold()
            young, middle, old = _host_threshold
            gc.set_threshold(young, middle, max(old, FULL_COLLECTION_THRESHOLD))
        _runs += 1
    try:
        yield
    finally:
        with _lock:
            _runs -= 1
            if _runs == 0:
                gc.set_threshold(*_host_threshold)


class PlanningFreeze:
    """One run's freeze of what its planning made (see the module doc): use inside
    `fewer_full_collections`, around the whole run, with `planning()` around its planning.

        with fewer_full_collections(), PlanningFreeze() as freeze:
            with freeze.planning():
                plans = plan_tasks(config)
            ...  # the run; what planning made is unfrozen when the with block ends
    """

    def __init__(self) -> None:
        self.froze = False

    def __enter__(self) -> PlanningFreeze:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.froze:
            gc.unfreeze()
            self.froze = False

    @contextmanager
    def planning(self) -> Iterator[None]:
        """Planning, paused and then frozen when this run is alone and the collector is on;
        as it is otherwise. When planning raises, nothing is frozen."""
        with _lock:
            alone = _runs == 1 and gc.get_freeze_count() == 0 and gc.isenabled()
        if not alone:
            yield
            return
        gc.collect(1)  # the host's young garbage, so that it is not frozen with the plans
        gc.disable()
        try:
            yield
            gc.freeze()
            self.froze = True
        finally:
            gc.enable()
