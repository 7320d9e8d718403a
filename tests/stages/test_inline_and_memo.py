"""Two capabilities that only change where and how often work is done (issue 24): a backend that
`runs_inline` generates on the pipeline's thread, and a scorer that does not `memoize` scores
equal items again. Neither may change a record."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from evalkit import registry
from evalkit.config import RunConfig
from evalkit.errors import BackendRaised
from evalkit.protocols import BackendDefaults, ScoredItem
from evalkit.scorers.base import ReferenceScorer
from evalkit.stages.pipeline import run_evaluation
from evalkit.stages.scoring import ScoringItem, ScoringPool
from evalkit.store.run_store import RunStore
from evalkit.types import Generation, Request, Score


class CountingScorer(ReferenceScorer):
    """1.0 when the output equals the first reference; counts the items it is given."""

    name = "counting"
    metrics = ("counting",)
    cpu_heavy = False

    def __init__(self, memoize: bool) -> None:
        self.memoize = memoize
        self.seen = 0

    def signature(self) -> str:
        return "counting"

    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        self.seen += len(items)
        return [
            [Score(name="counting", value=float(i.prediction == i.references[0]))] for i in items
        ]


@pytest.mark.parametrize("memoize", [True, False])
def test_equal_items_are_scored_once_only_by_a_scorer_that_memoizes(memoize: bool) -> None:
    scorer = CountingScorer(memoize)
    pool = ScoringPool({"t": [scorer]}, {"t": [("counting", {})]}, workers=0)
    first = [ScoringItem("a", ("a",)), ScoringItem("b", ("a",)), ScoringItem("a", ("a",))]
    second = [ScoringItem("b", ("a",)), ScoringItem("c", ("c",))]
    scores = [pool.submit("t", first).result(), pool.submit("t", second).result()]
    values = [[s[0].value for s in batch] for batch in scores]
    assert values == [[1.0, 0.0, 1.0], [0.0, 1.0]]  # the same scores either way
    assert scorer.seen == (3 if memoize else 5)  # a, b, c once; or every item
    pool.close()


class InlineEcho(BackendDefaults):
    """Echoes the prompt; records the thread it generated on; fails on the third batch."""

    def __init__(self, name: str, runs_inline: bool) -> None:
        self.name = name
        self.runs_inline = runs_inline
        self.threads: list[str] = []

    def signature(self) -> str:
        return f"inline-echo|{self.runs_inline}"

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        self.threads.append(threading.current_thread().name)
        if len(self.threads) == 3:
            raise RuntimeError("the backend broke on the third batch")
        return [Generation(text=r.messages[-1].content) for r in requests]


@pytest.fixture
def echo_task(tmp_path: Path) -> Path:
    root = tmp_path / "echo_task"
    root.mkdir()
    rows = "".join(f'{{"id": "s{i}", "question": "q{i}", "answer": "q{i}"}}\n' for i in range(9))
    (root / "data.jsonl").write_text(rows, encoding="utf-8")
    (root / "task.yaml").write_text(
        "name: echo\nversion: 1\ndata: data.jsonl\n"
        "fields: {id: id, input: question, references: answer}\nscorers: {exact_match: {}}\n",
        encoding="utf-8",
    )
    return root


@pytest.fixture
def inline_backend() -> Iterator[dict[str, InlineEcho]]:
    made: dict[str, InlineEcho] = {}

    def factory(name: str, options: dict, task: object) -> list[InlineEcho]:
        made[name] = InlineEcho(name, bool(options.get("inline")))
        return [made[name]]

    registry.register("backend", "inline_echo", factory)
    yield made
    registry._REGISTERED.pop(("evalkit.backends", "inline_echo"), None)


@pytest.mark.parametrize("inline", [True, False])
def test_an_inline_backend_runs_on_the_pipeline_s_thread_and_fails_as_a_worker_s_would(
    echo_task: Path, tmp_path: Path, inline_backend: dict[str, InlineEcho], inline: bool
) -> None:
    """Either way the error names the plugin and its exception, and the batches before the
    failing one are written (scoring in process)."""
    config = RunConfig.from_dict(
        {
            "suite": {"name": "s", "tasks": [str(echo_task)]},
            "model": {"name": "echo", "backend": "inline_echo", "inline": inline},
            "progress": False,
            "batch_size": 3,
            "cache": {"enabled": False},
            "report": {"enabled": False},
        }
    )
    with pytest.raises(
        BackendRaised, match=r"backend 'echo' \(.*InlineEcho\) raised RuntimeError: .*third batch"
    ):
        run_evaluation(config, tmp_path / "run")
    threads = inline_backend["echo"].threads
    assert len(threads) == 3
    on_main = [t == threading.current_thread().name for t in threads]
    assert on_main == [inline] * 3
    records = RunStore(tmp_path / "run").latest_records()
    assert [r.sample_id for r in records] == [f"s{i}" for i in range(6)]
    assert all(r.scores[0].value == 1.0 for r in records)
