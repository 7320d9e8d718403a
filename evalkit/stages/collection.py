"""How a run spends Python's cyclic garbage collector (issue 24).

A run builds most of its long-lived objects while it plans (the samples of a task and their
requests, up to 100,000 a task, the scorers, the backends) and then allocates short-lived ones
per batch. The collector's defaults walk the long-lived ones again and again: every full
collection walks all of them, and while planning every young collection finds them alive and
moves them on, to be walked again one generation up. Two measures, both undone when the last
run in the process ends (runs overlapping in threads of one host share them):

- `fewer_full_collections`: generation 2 is collected once per 1,000 generation-1 collections
  instead of 10.
- `planning_frozen`: no collection while planning; what exists when planning ends is moved to
  the permanent generation (`gc.freeze`), where no collection walks it, until the last run ends
  (`gc.unfreeze` puts it in the oldest generation). Objects still die by reference counting as
  usual; only a reference cycle made before planning ended waits for the run's end to be freed.
  Not done in a host that froze objects itself (`gc.get_freeze_count()` not 0 before the first
  run): unfreezing would undo its freeze.

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
_froze = False  # objects were frozen by a run (and are unfrozen when the last one ends)


@contextmanager
def fewer_full_collections() -> Iterator[None]:
    """Raise the generation-2 threshold (`gc.set_threshold`'s third value, default 10) to
    FULL_COLLECTION_THRESHOLD while runs are in progress; the first run in saves the host's
    threshold, the last one out restores it and unfreezes what `planning_frozen` froze."""
    global _runs, _host_threshold, _froze
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
                if _froze:
                    gc.unfreeze()
                    _froze = False


@contextmanager
def planning_frozen() -> Iterator[None]:
    """Plan without collections, then freeze every tracked object (see the module doc). Use
    inside `fewer_full_collections`, which unfreezes them. When planning raises, nothing is
    frozen and the collector is as it was."""
    global _froze
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
        with _lock:
            if _runs > 0 and (_froze or gc.get_freeze_count() == 0):
                gc.freeze()
                _froze = True
    finally:
        if paused:
            gc.enable()
