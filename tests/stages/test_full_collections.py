"""A run defers Python's full garbage collections while it works and gives the threshold back."""

from __future__ import annotations

import gc
import weakref

import pytest

from evalkit.stages.collection import (
    FULL_COLLECTION_THRESHOLD,
    PlanningFreeze,
    fewer_full_collections,
)


@pytest.fixture
def threshold():
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_the_full_collection_threshold_is_raised_inside_and_restored_after(threshold):
    with fewer_full_collections():
        assert gc.get_threshold() == (700, 10, FULL_COLLECTION_THRESHOLD)
    assert gc.get_threshold() == (700, 10, 10)


def test_it_is_restored_when_the_run_raises(threshold):
    with pytest.raises(RuntimeError), fewer_full_collections():
        raise RuntimeError("stopped")
    assert gc.get_threshold() == (700, 10, 10)


def test_a_host_with_a_higher_threshold_keeps_it(threshold):
    gc.set_threshold(700, 10, 5000)
    with fewer_full_collections():
        assert gc.get_threshold()[2] == 5000
    assert gc.get_threshold() == (700, 10, 5000)


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


def test_a_run_gives_the_threshold_back(threshold, tmp_path):
    from evalkit.stages.pipeline import run_evaluation

    config = _small_run(tmp_path)
    seen = []
    gc.callbacks.append(lambda phase, info: seen.append(gc.get_threshold()))
    try:
        run_evaluation(config, tmp_path / "run")
    finally:
        gc.callbacks.pop()
    assert gc.get_threshold() == (700, 10, 10)
    assert (700, 10, FULL_COLLECTION_THRESHOLD) in seen  # raised while the run worked


def test_overlapping_runs_give_the_host_its_threshold_back(threshold):
    """Two runs in threads, the second starting after the first raised the threshold and ending
    after it: the host's threshold comes back when the last one ends (the second no longer
    takes the raised value for the host's)."""
    import threading

    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    inside = []

    def first() -> None:
        with fewer_full_collections():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with fewer_full_collections():
            second_in.set()
            first_out.wait(5)
            inside.append(gc.get_threshold())  # the first has ended: still raised

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert inside == [(700, 10, FULL_COLLECTION_THRESHOLD)]
    assert gc.get_threshold() == (700, 10, 10)


class _Node:
    """A weak-referenceable object for reference cycles."""

    partner: object = None


def _cycle() -> weakref.ref[_Node]:
    """A reference cycle, dropped at once: only the cyclic collector can free it."""
    node = _Node()
    node.partner = node
    return weakref.ref(node)


def test_planning_is_not_collected_and_what_it_made_is_frozen_until_the_run_ends(threshold):
    """Planning pauses the collector and then freezes what exists; the run's end unfreezes
    it, so a reference cycle made while planning is still freed afterwards."""
    assert gc.isenabled() and gc.get_freeze_count() == 0
    with fewer_full_collections(), PlanningFreeze() as freeze:
        with freeze.planning():
            assert not gc.isenabled()
            made_while_planning = _cycle()
        assert gc.isenabled() and gc.get_freeze_count() > 0
        gc.collect()
        assert made_while_planning() is not None  # frozen: no collection walks it in the run
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    gc.collect()
    assert made_while_planning() is None


def test_the_host_s_young_garbage_is_collected_not_frozen(threshold):
    """A host's recent cyclic garbage is collected before planning pauses the collector, so
    the freeze does not keep it past the run (found by a tester: a host running many small runs
    kept every run's garbage, 100 MB after 100 runs)."""
    host_garbage = _cycle()
    with fewer_full_collections(), PlanningFreeze() as freeze, freeze.planning():
        assert host_garbage() is None


def test_a_host_that_keeps_making_garbage_between_runs_does_not_accumulate_it(tmp_path):
    """Runs in one process, each followed by cyclic garbage the host drops without collecting:
    by the end of the next run none of it is alive (it is collected, not frozen with the run)."""
    from evalkit.stages.pipeline import run_evaluation

    config = _small_run(tmp_path)
    dropped: list[weakref.ref[_Node]] = []
    for i in range(5):
        run_evaluation(config, tmp_path / f"run{i}")
        assert sum(ref() is not None for ref in dropped) == 0
        dropped.extend(_cycle() for _ in range(100))


def test_no_freeze_while_another_run_is_in_progress(threshold):
    with fewer_full_collections(), fewer_full_collections(), PlanningFreeze() as freeze:
        with freeze.planning():
            assert gc.isenabled()  # not paused either: pausing without the freeze costs more
        assert gc.get_freeze_count() == 0 and not freeze.froze


def test_a_host_that_froze_objects_keeps_them_frozen(threshold):
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with fewer_full_collections(), PlanningFreeze() as freeze:
            with freeze.planning():
                pass
            assert not freeze.froze and gc.get_freeze_count() <= frozen  # not its to freeze
        # nor to unfreeze (a frozen object may still die by reference counting meanwhile)
        assert frozen - 100 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()


def test_planning_that_raises_freezes_nothing_and_a_disabled_collector_stays_off(threshold):
    with fewer_full_collections(), PlanningFreeze() as freeze:
        with pytest.raises(RuntimeError), freeze.planning():
            raise RuntimeError("bad task")
        assert gc.get_freeze_count() == 0 and gc.isenabled()
    gc.disable()
    try:
        with fewer_full_collections(), PlanningFreeze() as freeze, freeze.planning():
            pass
        assert not gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        gc.enable()


def test_a_run_leaves_the_collector_as_it_found_it(threshold, tmp_path, monkeypatch):
    from evalkit.stages import pipeline

    config = _small_run(tmp_path)
    after_planning = []
    evaluate = pipeline._evaluate

    def recorded(*args, **kwargs):
        after_planning.append((gc.get_freeze_count(), gc.isenabled()))
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_evaluate", recorded)
    pipeline.run_evaluation(config, tmp_path / "run")
    [(frozen, enabled)] = after_planning
    assert frozen > 0 and enabled  # the planned objects were frozen while it worked
    assert gc.get_freeze_count() == 0 and gc.isenabled()
