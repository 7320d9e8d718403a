"""How a run spends Python's cyclic garbage collector (issue 24).

A large run builds most of its long-lived objects while it plans: a task's samples and their
requests (held for up to 100,000 samples a task: about 1.2 million tracked objects), the
scorers, the backends. With the collector's defaults those objects are walked again and again:
while planning, every young collection finds them alive and moves them up a generation, to be
walked again there, and during the run every full collection walks all of them (12 full
collections took 2.5 s of a 7.8 s replay of 100,000 samples; one collection of them, 0.39 s).

`RunCollection`, one per run:
- planning runs with the collector paused, after a collection of the young generations (so
  the host's recent garbage is freed, not kept with the plans);
- a large run (LARGE_RUN samples or more) defers full collections while it works: generation 2
  is collected once per FULL_COLLECTION_THRESHOLD generation-1 collections instead of 10;
- when a large run holds its samples (up to 100,000 a task; above that they are read again
  per pass), everything tracked when planning ends is moved to the permanent generation
  (`gc.freeze`), where no collection walks it; at the run's end, after its planned objects
  are released, they are unfrozen and one full collection frees any reference cycle that
  waited (a freeze resets the collector's counts: without it, a host calling run after run
  would never see a full collection come).
A small run is left to the collector's defaults. Nothing is paused or frozen while another
run is in progress in the process (a run started in another thread during this one's planning
is paused and frozen with it, until this one ends), in a host that froze objects itself
(unfreezing would undo its freeze), or with the collector disabled; the host's threshold is
put back when the run that raised it ends.

Measured with `benchmarks/replay_throughput.py` (100,000 replayed samples, exact match): the run
3.55 s -> 3.29 s (collection time 0.18 s -> 0.06 s, `gc.callbacks`).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

LARGE_RUN = 10_000  # samples from which a run defers full collections and freezes its plans
FULL_COLLECTION_THRESHOLD = 1000  # gc.set_threshold's third value while a large run works

_lock = threading.Lock()
_runs = 0  # runs in progress in this process


class RunCollection:
    """The collector policy of one run (see the module doc):

    with RunCollection() as collection:
        with collection.planning():
            plans = plan_tasks(config)
            collection.planned(samples=..., held=...)
        ...  # the run; release the plans before the with block ends
    """

    def __init__(self) -> None:
        self.froze = False
        self._samples = self._held = 0
        self._host_threshold: tuple[int, ...] = ()

    def __enter__(self) -> RunCollection:
        global _runs
        with _lock:
            _runs += 1
        return self

    def __exit__(self, *exc: object) -> None:
        global _runs
        with _lock:
            _runs -= 1
        if self._host_threshold:
            gc.set_threshold(*self._host_threshold)
            self._host_threshold = ()
        if self.froze:
            self.froze = False
            gc.unfreeze()
            gc.collect()

    def planned(self, samples: int, held: int) -> None:
        """What planning made: `samples` the run will score, `held` of them kept in memory
        (with their requests) for the whole run. Call inside `planning()`."""
        self._samples, self._held = samples, held

    @contextmanager
    def planning(self) -> Iterator[None]:
        """Planning, paused when this run is alone and the collector is on; after it, a large
        run defers full collections and freezes its held samples (see the module doc). When
        planning raises, nothing is changed."""
        with _lock:
            alone = _runs == 1 and gc.get_freeze_count() == 0 and gc.isenabled()
        if not alone:
            yield
            return
        gc.collect(1)
        gc.disable()
        try:
            yield
            if self._samples >= LARGE_RUN:
                self._host_threshold = young, middle, old = gc.get_threshold()
                gc.set_threshold(young, middle, max(old, FULL_COLLECTION_THRESHOLD))
            if self._held >= LARGE_RUN:
                gc.freeze()
                self.froze = True
        finally:
            gc.enable()
