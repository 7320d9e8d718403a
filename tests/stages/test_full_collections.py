"""A run defers Python's full garbage collections while it works and gives the threshold back."""

from __future__ import annotations

import gc

import pytest

from evalkit.stages.pipeline import FULL_COLLECTION_THRESHOLD, fewer_full_collections


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


def test_a_run_gives_the_threshold_back(threshold, tmp_path):
    from evalkit.config import RunConfig
    from evalkit.stages.pipeline import run_evaluation
    from evalkit.testing.synthetic_runs import write_task

    task = write_task(tmp_path / "tasks" / "synth", 5, seed=1)
    config = RunConfig.from_dict(
        {
            "suite": {"name": "t", "tasks": [str(task)]},
            "model": {"name": "replay", "backend": "replay"},
            "progress": False,
            "cache": {"enabled": False},
        }
    )
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
