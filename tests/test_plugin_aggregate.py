"""Plugin scorers at their edges: a plain class's own `aggregate` gives the run's value (and
compare, gate and report's), and a broken plugin (an entry point naming a missing attribute, a
`score` that raises) is one line with exit 2; a run it stops is marked aborted, samples kept."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import evalkit
from evalkit import registry
from evalkit.errors import ScorerRaised
from evalkit.scorers.match import ExactMatch
from evalkit.stages.metricspec import own_aggregate
from evalkit.types import Aggregate, Generation, Score
from tests.conftest import cli_in_process


@pytest.fixture(autouse=True)
def _fresh_registrations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTERED", {})


def _cubed_length(prediction: str) -> float:
    return float(len(prediction)) ** 3  # skewed: its median and mean differ


class MedianScorer:
    """A plain class (no evalkit base) whose `aggregate` is the median of the ok values."""

    name = "median_len"
    metrics = ("median_len",)

    def signature(self) -> str:
        return "median_len|v1"

    def score(self, items: Sequence[Any]) -> list[list[Score]]:
        return [[Score(name="median_len", value=_cubed_length(i.prediction))] for i in items]

    def aggregate(
        self, metric: str, scores: Sequence[Score], *, task: str, model: str, seed: int,
        n_resamples: int = 1000,
    ) -> Aggregate:  # fmt: skip
        ok = [s.value for s in scores if s.status == "ok"]
        return Aggregate(task=task, model=model, metric=metric, value=float(np.median(ok)),
                         ci_low=None, ci_high=None, n=len(ok), n_failed=len(scores) - len(ok),
                         method="median")  # fmt: skip


def test_only_a_scorer_s_own_aggregate_counts_as_its_own() -> None:
    assert own_aggregate(registry.register("scorer", "median_len", MedianScorer).build({}))  # type: ignore[union-attr]
    assert not own_aggregate(ExactMatch())
    assert not own_aggregate(registry.scorer("bleu").build({}))


def test_a_plugin_s_own_aggregate_gives_the_value_everywhere(tmp_path: Path, qa_task: Path) -> None:
    registry.register("scorer", "median_len", MedianScorer)
    run = tmp_path / "run"
    evalkit.evaluate(
        [str(qa_task)], scorers={"median_len": {}}, run_dir=run, report={"enabled": False},
        progress=False, scoring={"workers": 0},
    )  # fmt: skip
    stored = json.loads((run / "run.json").read_text())
    [spec] = stored["metric_specs"]["toy_qa"]
    assert spec["aggregation"] == "scorer"
    outputs = [json.loads(line) for line in (qa_task / "outputs.jsonl").read_text().splitlines()]
    expected = {}
    for system in ("good", "bad"):
        values = [_cubed_length(o["output"]) for o in outputs if o["system"] == system]
        expected[system] = float(np.median(values))
        assert expected[system] != pytest.approx(float(np.mean(values)))  # the test can tell
        [agg] = [a for a in stored["aggregates"] if a["model"] == system]
        assert (agg["value"], agg["method"]) == (expected[system], "scorer")

    results = cli_in_process("results", str(run), "--format", "json")
    assert results.returncode == 0, results.stderr
    shown = {row["model"]: row["value"] for row in json.loads(results.stdout)}
    assert shown == expected
    compared = cli_in_process("compare", str(run), "--baseline", "bad", "--json")
    assert compared.returncode == 0, compared.stderr
    [row] = json.loads(compared.stdout)
    assert (row["baseline_value"], row["value"]) == (expected["bad"], expected["good"])
    assert row["delta"] == expected["good"] - expected["bad"]
    # the change's CI and p come from a paired bootstrap of the same median (not of the means)
    assert row["test"] == "bootstrap" and row["delta_ci"][0] <= row["delta"] <= row["delta_ci"][1]
    gated = cli_in_process("gate", str(run), "--baseline", str(run))
    assert gated.returncode == 0, gated.stderr
    for system in ("good", "bad"):
        value = f"{expected[system]:.4g}"
        assert f"| {system} | median_len | {value} | {value} |" in gated.stdout
    reported = cli_in_process("report", str(run), "-o", str(tmp_path / "r.html"))
    assert reported.returncode == 0, reported.stderr
    page = (tmp_path / "r.html").read_text()
    for system, value in expected.items():  # each row's median_len cell shows the median
        cell = re.search(rf"<td>{system}</td>\s*<td[^>]*>([^<]*)<", page)
        assert cell is not None and f"{value:.4g}" in cell.group(1), system


def _distribution(site: Path, code: str, entry_points: str, group: str = "evalkit.scorers") -> str:
    """An installed package `ftplug` (its module `code`) with these entry points (scorers by
    default); the PYTHONPATH that finds it."""
    (site / "ftplug.py").write_text(code, encoding="utf-8")
    info = site / "ftplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ftplug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{entry_points}\n")
    return os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)


RAISES = """
from evalkit.types import Score

class Raises:
    name = "raises"
    metrics = ("raises",)
    calls = 0

    def signature(self):
        return "raises|v1"

    def score(self, items):
        Raises.calls += 1
        if Raises.calls > 1:
            raise TypeError("cannot score this batch")
        return [[Score(name="raises", value=1.0)] for _ in items]

    def aggregate(self, metric, scores, *, task, model, seed, n_resamples=1000):
        raise AssertionError("not reached")
"""


def _run(tmp_path: Path, qa_task: Path, path: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evalkit", "run", f"tasks=[{qa_task}]", *args, "run_dir=out",
         "progress=false", "report.enabled=false", "scoring.workers=0", "batch_size=8"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": path, "COLUMNS": "200"},
    )  # fmt: skip


def test_an_entry_point_naming_a_missing_attribute_is_one_line(
    tmp_path: Path, qa_task: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    path = _distribution(site, RAISES, "missingattr = ftplug:Nope")
    done = _run(tmp_path, qa_task, path, "+scorers.missingattr={}")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "evalkit: error: scorer 'missingattr' (ftplug:Nope): module 'ftplug' has no attribute "
        "'Nope'"
    ]


def test_a_plugin_scorer_that_raises_stops_the_run_aborted_with_one_line(
    tmp_path: Path, qa_task: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    path = _distribution(site, RAISES, "raises = ftplug:Raises")
    done = _run(tmp_path, qa_task, path, "+scorers.raises={}")
    assert done.returncode == 2, done.stderr
    line = (
        "evalkit: error: scorer 'raises' (ftplug:Raises) raised TypeError: cannot score this batch"
    )
    assert done.stderr.strip().splitlines() == [line]
    stored = json.loads((tmp_path / "out" / "run.json").read_text())
    assert stored["status"] == "aborted"
    assert stored["stop_reason"].startswith(line.removeprefix("evalkit: error: "))
    kept = (tmp_path / "out" / "samples.jsonl").read_text().splitlines()
    assert len(kept) == 8  # the first batch, scored before the plugin raised


def test_a_raising_plugin_in_process_is_scorer_raised(tmp_path: Path, qa_task: Path) -> None:
    class Raises(MedianScorer):
        def score(self, items: Sequence[Any]) -> list[list[Score]]:
            raise TypeError("boom")

    registry.register("scorer", "raises", Raises)
    with pytest.raises(ScorerRaised, match=r"scorer 'raises' \(.*Raises\) raised TypeError: boom"):
        evalkit.evaluate(
            [str(qa_task)], scorers={"raises": {}}, run_dir=tmp_path / "run",
            report={"enabled": False}, progress=False, scoring={"workers": 0},
        )  # fmt: skip
    stored = json.loads((tmp_path / "run" / "run.json").read_text())
    assert stored["status"] == "aborted"


@pytest.mark.parametrize(
    ("returned", "named"),
    [
        (lambda items: [[{"name": "median_len", "value": 1.0}] for _ in items], "has dict"),
        (lambda items: [[None] for _ in items], "has NoneType"),
        (
            lambda items: [[] for _ in items],
            r"one score per metric \['median_len'\]; item 1 has \[\]",
        ),
        (lambda items: [[Score(name="other", value=1.0)] for _ in items], r"has \['other'\]"),
        (lambda items: [Score(name="median_len", value=1.0) for _ in items], "has Score"),
        (
            lambda items: [[Score(name="median_len", value=1.0)]],
            r"returned 1 score lists for \d+ items",
        ),
    ],
)
def test_a_plugin_that_returns_something_else_than_scores_is_its_fault_in_one_line(
    tmp_path: Path, qa_task: Path, returned: Any, named: str
) -> None:
    """Not a batch-long pydantic error about SampleRecord (a tester saw 770 lines) nor a
    traceback: the plugin's TypeError, the run aborted."""

    class Wrong(MedianScorer):
        def score(self, items: Sequence[Any]) -> list[list[Score]]:
            return returned(items)

    registry.register("scorer", "wrong", Wrong)
    with pytest.raises(
        ScorerRaised, match=rf"scorer 'wrong' \(.*Wrong\) raised TypeError: .*{named}"
    ):
        evalkit.evaluate(
            [str(qa_task)], scorers={"wrong": {}}, run_dir=tmp_path / "run",
            report={"enabled": False}, progress=False, scoring={"workers": 0},
        )  # fmt: skip
    stored = json.loads((tmp_path / "run" / "run.json").read_text())
    assert stored["status"] == "aborted"


def test_an_invalid_record_names_its_first_error_not_the_batch_s(
    tmp_path: Path, qa_task: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records are validated a batch at a time; when one is invalid the error is that record's
    alone, as when they were validated one by one (not one error per record of the batch)."""
    from pydantic import ValidationError

    from evalkit.stages import scoring

    class Wrong(MedianScorer):
        def score(self, items: Sequence[Any]) -> list[list[Score]]:
            return [[{"name": "median_len", "value": "abc"}] for _ in items]  # type: ignore[list-item]

    monkeypatch.setattr(scoring, "plugin_scorer", lambda scorer: None)  # as if evalkit's own
    registry.register("scorer", "wrong", Wrong)
    with pytest.raises(ValidationError) as raised:
        evalkit.evaluate(
            [str(qa_task)], scorers={"wrong": {}}, run_dir=tmp_path / "run",
            report={"enabled": False}, progress=False, scoring={"workers": 0}, batch_size=8,
        )  # fmt: skip
    assert raised.value.error_count() == 1 and raised.value.title == "SampleRecord"


BROKEN_BACKEND = """
from evalkit.types import Generation

class Flaky:
    def __init__(self, name):
        self.name = name
        self.calls = 0

    def signature(self):
        return "flaky|v1"

    def generate(self, requests):
        self.calls += 1
        if self.calls == 3:
            raise ConnectionError("the server went away")
        return [Generation(text="Paris") for _ in requests]

def build(name, options, task):
    return [Flaky(name)]
"""


def test_a_plugin_backend_that_raises_stops_the_run_aborted_with_one_line(
    tmp_path: Path, qa_task: Path
) -> None:
    """Not a traceback with run.json left "running": one line naming the plugin, exit 2, the
    run marked aborted, the batches before the failing one kept."""
    site = tmp_path / "site"
    site.mkdir()
    path = _distribution(site, BROKEN_BACKEND, "flaky = ftplug:build", group="evalkit.backends")
    done = _run(tmp_path, qa_task, path, "~model", "+model={backend: flaky, name: flaky}")
    assert done.returncode == 2, done.stderr
    line = (
        "evalkit: error: backend 'flaky' (ftplug:build) raised ConnectionError: "
        "the server went away"
    )
    assert done.stderr.strip().splitlines() == [line]
    stored = json.loads((tmp_path / "out" / "run.json").read_text())
    assert stored["status"] == "aborted"
    assert stored["stop_reason"].startswith(line.removeprefix("evalkit: error: "))
    assert "fix the backend and rerun to resume" in stored["stop_reason"]
    kept = (tmp_path / "out" / "samples.jsonl").read_text().splitlines()
    assert len(kept) == 16  # two batches of 8, generated and scored before the third raised


@pytest.mark.parametrize(
    ("returned", "named"),
    [
        (lambda requests: [Generation(text="x")], r"returned 1 generations for \d+ requests"),
        (lambda requests: ["Paris" for _ in requests], "Generation per request; got str 'Paris'"),
        (lambda requests: None, "returned NoneType generations"),
    ],
)
def test_a_plugin_backend_that_returns_something_else_is_its_fault_in_one_line(
    tmp_path: Path, qa_task: Path, returned: Any, named: str
) -> None:
    from evalkit.errors import BackendRaised
    from evalkit.protocols import BackendDefaults

    class Odd(BackendDefaults):
        name = "odd"

        def signature(self) -> str:
            return "odd"

        def generate(self, requests: Sequence[Any]) -> list[Generation]:
            return returned(requests)

    registry.register("backend", "odd_output", lambda name, options, task: [Odd()])
    with pytest.raises(
        BackendRaised, match=rf"backend 'odd' \(.*Odd\) raised TypeError: .*{named}"
    ):
        evalkit.evaluate(
            [str(qa_task)], model={"name": "odd", "backend": "odd_output"},
            run_dir=tmp_path / "run", report={"enabled": False}, progress=False,
        )  # fmt: skip
    stored = json.loads((tmp_path / "run" / "run.json").read_text())
    assert stored["status"] == "aborted"


class _Stops(MedianScorer):
    """A backend and scorer in one whose second batch calls sys.exit(3)."""

    calls = 0

    @staticmethod
    def _second_call_exits() -> None:
        _Stops.calls += 1
        if _Stops.calls > 1:
            sys.exit(3)

    def generate(self, requests: Sequence[Any]) -> list[Generation]:
        self._second_call_exits()
        return [Generation(text="Paris") for _ in requests]

    def score(self, items: Sequence[Any]) -> list[list[Score]]:
        self._second_call_exits()
        return super().score(items)


@pytest.mark.parametrize("role", ["backend", "scorer"])
def test_a_plugin_s_sys_exit_is_its_fault_in_one_line_and_the_run_is_marked_aborted(
    tmp_path: Path, qa_task: Path, monkeypatch: pytest.MonkeyPatch, role: str
) -> None:
    """A plugin calling sys.exit() mid-run does not end evalkit with the plugin's status and
    run.json left "running": ScorerRaised / BackendRaised naming it, the first batch kept."""
    from evalkit.errors import BackendRaised
    from evalkit.protocols import BackendDefaults

    class Stops(_Stops, BackendDefaults):
        name = "stops"

    monkeypatch.setattr(_Stops, "calls", 0)
    if role == "backend":
        registry.register("backend", "stops", lambda name, options, task: [Stops()])
        options: dict[str, Any] = {"model": {"name": "stops", "backend": "stops"}}
        raised: type[Exception] = BackendRaised
    else:
        registry.register("scorer", "stops", Stops)
        options, raised = {"scorers": {"stops": {}}}, ScorerRaised
    with pytest.raises(raised, match=rf"{role} 'stops' \(.*Stops\) raised SystemExit: 3"):
        evalkit.evaluate(
            [str(qa_task)], run_dir=tmp_path / "run", report={"enabled": False}, progress=False,
            scoring={"workers": 0}, batch_size=8, **options,
        )  # fmt: skip
    stored = json.loads((tmp_path / "run" / "run.json").read_text())
    assert stored["status"] == "aborted" and "raised SystemExit: 3" in stored["stop_reason"]
    assert len((tmp_path / "run" / "samples.jsonl").read_text().splitlines()) == 8


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (None, "the API key was rejected; 8 of "),  # a UserError: its own line, as raised
        (RuntimeError("an evalkit bug"), "RuntimeError: an evalkit bug; 8 of "),
    ],
)
def test_a_run_stopped_by_any_other_error_is_marked_aborted_with_why(
    tmp_path: Path, qa_task: Path, monkeypatch: pytest.MonkeyPatch, failure: Any, reason: str
) -> None:
    """Errors that are not a plugin's bug (a backend's UserError, a bug in evalkit itself)
    propagate unchanged, and run.json says why the run stopped instead of "running"."""
    from evalkit.errors import UserError

    calls = iter(range(100))

    def generate(self: Any, requests: Sequence[Any]) -> list[Generation]:
        if next(calls) > 0:
            raise failure or UserError("the API key was rejected")
        return [Generation(text="Paris") for _ in requests]

    from evalkit.backends.replay import ReplayBackend

    monkeypatch.setattr(ReplayBackend, "generate", generate)
    with pytest.raises(type(failure or UserError("")), match=r"rejected|evalkit bug"):
        evalkit.evaluate(
            [str(qa_task)], run_dir=tmp_path / "run", report={"enabled": False}, progress=False,
            scoring={"workers": 0}, batch_size=8,
        )  # fmt: skip
    stored = json.loads((tmp_path / "run" / "run.json").read_text())
    assert stored["status"] == "aborted" and stored["stop_reason"].startswith(reason)
    assert len((tmp_path / "run" / "samples.jsonl").read_text().splitlines()) == 8
