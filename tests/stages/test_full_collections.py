"""A run defers Python's full garbage collections while it works and gives the threshold back."""

from __future__ import annotations

import gc

import pytest

from evalkit.stages.collection import FULL_COLLECTION_THRESHOLD, fewer_full_collections


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


def test_planning_is_not_collected_and_what_it_made_is_frozen_until_the_run_ends(threshold):
    """Inside a run, planning pauses the collector and then freezes what exists; the last run
    out unfreezes it, so a reference cycle made while planning is still freed afterwards."""
    import weakref

    from evalkit.stages.collection import planning_frozen

    assert gc.isenabled() and gc.get_freeze_count() == 0
    with fewer_full_collections():
        with planning_frozen():
            assert not gc.isenabled()
            cycle = _Node()
            cycle.partner = cycle
            gone = weakref.ref(cycle)
            del cycle
        assert gc.isenabled() and gc.get_freeze_count() > 0
        gc.collect()
        assert gone() is not None  # frozen: no collection walks it during the run
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    gc.collect()
    assert gone() is None


def test_a_host_that_froze_objects_keeps_them_frozen(threshold):
    from evalkit.stages.collection import planning_frozen

    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with fewer_full_collections():
            with planning_frozen():
                pass
            assert gc.get_freeze_count() == frozen  # not its objects to freeze
        assert gc.get_freeze_count() == frozen  # nor to unfreeze
    finally:
        gc.unfreeze()


def test_planning_that_raises_freezes_nothing_and_a_disabled_collector_stays_off(threshold):
    from evalkit.stages.collection import planning_frozen

    with fewer_full_collections():
        with pytest.raises(RuntimeError), planning_frozen():
            raise RuntimeError("bad task")
        assert gc.get_freeze_count() == 0 and gc.isenabled()
    gc.disable()
    try:
        with fewer_full_collections(), planning_frozen():
            pass
        assert not gc.isenabled()
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
