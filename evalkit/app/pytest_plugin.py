"""evalkit's pytest plugin (entry point `pytest11`): evaluation results as test assertions.

    def test_summaries_stay_good(evalkit_run):
        run = evalkit_run("tasks=[summeval]", "limit=50")
        run.assert_metric("summeval", "rouge1", model="M23", at_least=0.45)
        run.assert_metric("summeval", "rougeL", model="M23", ci_low_at_least=0.30)

`evalkit_run(*overrides)` runs exactly what `evalkit run *overrides` runs, in process, into a run
directory kept in pytest's cache (keyed on the overrides), so a rerun of the test suite resumes
that run: samples already done are not generated or scored again. Failure messages name the
value, its CI, n and failures next to the expectation.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # pytest imports this plugin before pytest-cov starts measuring evalkit
    from evalkit.types import Aggregate, RunRecord


class EvalResult:
    """A finished run, with lookups and assertions on its aggregates."""

    def __init__(self, record: RunRecord, run_dir: Path) -> None:
        self.record = record
        self.run_dir = run_dir

    def aggregate(self, task: str, metric: str, model: str | None = None) -> Aggregate:
        found = [
            a
            for a in self.record.aggregates
            if a.task == task and a.metric == metric and (model is None or a.model == model)
        ]
        if len(found) != 1:
            known = sorted({(a.task, a.model, a.metric) for a in self.record.aggregates})
            what = "no" if not found else f"{len(found)} (name a model)"
            raise AssertionError(
                f"{what} aggregate for task={task} metric={metric} model={model}; "
                f"the run has: {known[:20]}"
            )
        return found[0]

    def value(self, task: str, metric: str, model: str | None = None) -> float | None:
        return self.aggregate(task, metric, model).value

    def assert_metric(
        self,
        task: str,
        metric: str,
        *,
        model: str | None = None,
        at_least: float | None = None,
        at_most: float | None = None,
        ci_low_at_least: float | None = None,
        ci_high_at_most: float | None = None,
        max_failed: int | None = 0,
    ) -> Aggregate:
        """Check the value and/or its 95% CI; every failed bound is named in the message."""
        agg = self.aggregate(task, metric, model)
        described = (
            f"{agg.task}/{agg.model} {agg.metric} = {_f(agg.value)} "
            f"[{_f(agg.ci_low)}, {_f(agg.ci_high)}] (n={agg.n}, {agg.n_failed} failed)"
        )
        problems = []
        checks = [
            (at_least, agg.value, operator.ge, "value >= {}"),
            (at_most, agg.value, operator.le, "value <= {}"),
            (ci_low_at_least, agg.ci_low, operator.ge, "CI low >= {}"),
            (ci_high_at_most, agg.ci_high, operator.le, "CI high <= {}"),
        ]
        for bound, actual, ok, text in checks:
            if bound is not None and (actual is None or not ok(actual, bound)):
                problems.append(text.format(bound))
        if max_failed is not None and agg.n_failed > max_failed:
            problems.append(f"at most {max_failed} failed samples")
        if problems:
            raise AssertionError(f"{described}; expected " + " and ".join(problems))
        return agg


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


@pytest.fixture(scope="session")
def evalkit_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., EvalResult]:
    """Run `evalkit run OVERRIDES` once per distinct overrides.

    Runs are kept in pytest's cache, so a rerun of the suite resumes them; under
    `-p no:cacheprovider` they go to a temporary directory instead (no resume).
    """
    from evalkit.app.runner_loader import load_runner
    from evalkit.stages.pipeline import run_evaluation

    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    root = (
        Path(cache.mkdir("evalkit-runs"))
        if cache is not None
        else tmp_path_factory.mktemp("evalkit-runs")
    )
    runner = load_runner("run")
    done: dict[tuple[str, ...], EvalResult] = {}

    def run(*overrides: str) -> EvalResult:
        key = tuple(overrides)
        if key not in done:
            digest = hashlib.sha256("\x00".join(key).encode()).hexdigest()[:16]
            run_dir = root / digest
            config = runner.compose_run_config([*overrides, "progress=false"], run_dir)
            try:
                record = run_evaluation(config, run_dir)
            except Exception as exc:  # a changed config or data: start that run afresh
                if "holds a different run" not in str(exc):
                    raise
                import shutil

                shutil.rmtree(run_dir)
                record = run_evaluation(config, run_dir)
            done[key] = EvalResult(record, run_dir)
        return done[key]

    return run
