"""A run's use of Python's garbage collector (evalkit/stages/collection.py): a run plans without
collections; a large one freezes what planning made and defers full collections while it works,
a small one is left to the defaults; either way the collector is given back as the host had
it."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from evalkit.stages import collection
from evalkit.stages.collection import FULL_COLLECTION_THRESHOLD, RunCollection

HOST = (700, 10, 10)


@pytest.fixture(autouse=True)
def threshold() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(*HOST)
    yield
    gc.set_threshold(*saved)


class _Node:
    """A weak-referenceable object for reference cycles."""

    partner: object = None


def _cycle() -> weakref.ref[_Node]:
    """A reference cycle, dropped at once: only the cyclic collector can free it."""
    node = _Node()
    node.partner = node
    return weakref.ref(node)


def _small_run(tmp_path):
    """A replay run of 5 samples."""
    from evalkit.config import RunConfig
    from evalkit.testing.synthetic_runs import write_task

    task = write_task(tmp_path / "tasks" / "synth", 5, seed=1)
    return RunConfig.from_dict(
        {
            "suite": {"name": "t", "tasks": [str(task)]},
            "model": {"name": "replay", "backend": "replay"},
            "progress": False,
            "cache": {"enabled": False},
        }
    )


def _run_watched(tmp_path, monkeypatch, name: str = "run") -> dict[str, Any]:
    """Run the small replay run; what the collector looked like once planning was done, and
    a reference cycle made while planning."""
    from evalkit.stages import pipeline

    seen: dict[str, Any] = {}
    plan, evaluate = pipeline.plan_tasks, pipeline._evaluate

    def planning(config):
        seen["cycle"] = _cycle()
        return plan(config)

    def working(*args, **kwargs):
        seen.update(
            frozen=gc.get_freeze_count(), threshold=gc.get_threshold(), enabled=gc.isenabled()
        )
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(pipeline, "plan_tasks", planning)
    monkeypatch.setattr(pipeline, "_evaluate", working)
    pipeline.run_evaluation(_small_run(tmp_path), tmp_path / name)
    return seen


def test_a_small_run_leaves_the_collector_as_it_is(tmp_path, monkeypatch):
    seen = _run_watched(tmp_path, monkeypatch)
    assert (seen["frozen"], seen["threshold"], seen["enabled"]) == (0, HOST, True)
    assert (gc.get_freeze_count(), gc.get_threshold(), gc.isenabled()) == (0, HOST, True)


def test_a_large_run_freezes_its_plans_defers_full_collections_and_collects_at_the_end(
    tmp_path, monkeypatch
):
    """While it works what planning made is frozen and full collections come once per 1,000
    second-generation ones; at its end the collector is the host's again and a reference cycle
    made while planning is already freed (one full collection), with no collection asked for."""
    monkeypatch.setattr(collection, "LARGE_RUN", 5)  # 5 samples count as large
    seen = _run_watched(tmp_path, monkeypatch)
    assert seen["frozen"] > 0 and seen["enabled"]
    assert seen["threshold"] == (*HOST[:2], FULL_COLLECTION_THRESHOLD)
    assert (gc.get_freeze_count(), gc.get_threshold(), gc.isenabled()) == (0, HOST, True)
    assert seen["cycle"]() is None


def test_a_host_that_makes_garbage_between_runs_does_not_accumulate_it(tmp_path, monkeypatch):
    """Garbage a host drops between runs is freed by the next run (not frozen with its plans:
    a tester saw a host keep 100 MB after 100 runs), large runs or small."""
    from evalkit.stages.pipeline import run_evaluation

    config = _small_run(tmp_path)
    for large in (False, True):
        monkeypatch.setattr(collection, "LARGE_RUN", 5 if large else 10_000)
        dropped: list[weakref.ref[_Node]] = []
        for i in range(4):
            run_evaluation(config, tmp_path / f"run{large}{i}")
            assert sum(ref() is not None for ref in dropped) == 0
            dropped.extend(_cycle() for _ in range(100))


def test_planning_is_not_collected_and_the_host_s_young_garbage_is_freed_first():
    host_garbage = _cycle()
    with RunCollection() as run, run.planning():
        assert not gc.isenabled()
        assert host_garbage() is None
    assert gc.isenabled()


def test_no_pause_or_freeze_while_another_run_is_in_progress():
    with RunCollection() as first:
        with first.planning():
            first.planned(samples=20_000, held=20_000)
        assert first.froze and gc.get_threshold()[2] == FULL_COLLECTION_THRESHOLD
        with RunCollection() as second:
            with second.planning():
                assert gc.isenabled()  # not paused: pausing without the freeze costs more
                second.planned(samples=20_000, held=20_000)
            assert not second.froze
        assert gc.get_freeze_count() > 0  # the first run's, until it ends
    assert (gc.get_freeze_count(), gc.get_threshold()) == (0, HOST)


def test_a_host_that_froze_objects_keeps_them_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with RunCollection() as run:
            with run.planning():
                run.planned(samples=20_000, held=20_000)
            assert not run.froze and gc.get_freeze_count() <= frozen  # not its to freeze
        # nor to unfreeze (a frozen object may still die by reference counting meanwhile)
        assert frozen - 100 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()


def test_planning_that_raises_freezes_nothing_and_a_disabled_collector_stays_off():
    with RunCollection() as run:
        with pytest.raises(RuntimeError), run.planning():
            run.planned(samples=20_000, held=20_000)
            raise RuntimeError("bad task")
        assert not run.froze and gc.get_freeze_count() == 0 and gc.isenabled()
        assert gc.get_threshold() == HOST
    gc.disable()
    try:
        with RunCollection() as run, run.planning():
            run.planned(samples=20_000, held=20_000)
        assert not gc.isenabled() and gc.get_freeze_count() == 0 and not run.froze
    finally:
        gc.enable()


def test_a_large_streamed_run_defers_full_collections_without_a_freeze():
    """A task over 100,000 samples is read again per pass, not held: nothing to freeze."""
    with RunCollection() as run:
        with run.planning():
            run.planned(samples=1_000_000, held=0)
        assert not run.froze and gc.get_freeze_count() == 0
        assert gc.get_threshold() == (*HOST[:2], FULL_COLLECTION_THRESHOLD)
    assert gc.get_threshold() == HOST


def test_garbage_a_host_holds_during_a_large_run_is_freed_by_the_next_one(tmp_path, monkeypatch):
    """A host that holds cyclic garbage while a large run works (frozen with it) and drops it
    afterwards: the freeze reset the collector's counts, but the next large run ends with a full
    collection, so nothing piles up (a tester saw 6,000 such objects after 60 runs)."""
    from evalkit.stages.pipeline import run_evaluation

    monkeypatch.setattr(collection, "LARGE_RUN", 5)
    config = _small_run(tmp_path)
    dropped: list[weakref.ref[_Node]] = []
    for i in range(4):
        held = [_Node() for _ in range(100)]
        for node in held:
            node.partner = node
        run_evaluation(config, tmp_path / f"run{i}")
        assert sum(ref() is not None for ref in dropped) == 0
        dropped.extend(weakref.ref(node) for node in held)
        del held, node
