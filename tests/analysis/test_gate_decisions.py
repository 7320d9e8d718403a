"""The gate's decisions in process (evalkit.analysis.gate.run_gate on in-memory snapshots, no run
directory
or subprocess): the test, p-values and Holm adjustment equal scipy's, and each status (pass,
regression, below_floor, missing) follows from the thresholds as the gate's docs state."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from evalkit.analysis.gate import GateConfig, Rule, Snapshot, run_gate
from evalkit.errors import UserError

N = 40


def _spec(metric: str, higher_is_better: bool = True) -> dict[str, Any]:
    return {
        "metric": metric,
        "scorer": metric,
        "signature": metric,
        "aggregation": "mean",
        "higher_is_better": higher_is_better,
    }


def _snapshot(
    values: dict[str, dict[str, list[float]]], *, task: str = "t", lower: tuple[str, ...] = ()
) -> Snapshot:
    """A snapshot of one task: model -> metric -> per-sample values (ids s0, s1, ...)."""
    metrics = sorted({m for per_metric in values.values() for m in per_metric})
    rows = {
        task: {
            model: {
                metric: {f"s{i}": [v] for i, v in enumerate(vals)}
                for metric, vals in per_metric.items()
            }
            for model, per_metric in values.items()
        }
    }
    better = {m: m not in lower for m in metrics}
    specs = {task: [_spec(m, m not in lower) for m in metrics]}
    return Snapshot("mem", {}, better, rows, specs)


def _noisy(mean: float, seed: int, spread: float = 0.1) -> list[float]:
    rng = np.random.default_rng(seed)
    return np.clip(mean + spread * rng.standard_normal(N), 0.0, 1.0).tolist()


def test_a_binary_drop_is_mcnemars_exact_test() -> None:
    """All 40 right, then 12 wrong: McNemar's discordant pairs are 12 to 0, p = 2 / 2**12."""
    base = _snapshot({"m": {"exact_match": [1.0] * N}})
    run = _snapshot({"m": {"exact_match": [0.0] * 12 + [1.0] * (N - 12)}})
    (check,) = run_gate(base, run, GateConfig())
    assert check.test == "mcnemar"
    assert check.p_value == pytest.approx(stats.binomtest(0, 12, 0.5).pvalue, rel=1e-12)
    assert check.p_value == pytest.approx(2 / 2**12)
    assert (check.baseline, check.value, check.n) == (1.0, pytest.approx(0.7), N)
    assert check.change == pytest.approx(-0.3)
    assert check.status == "regression" and check.failed


def test_an_allowed_drop_is_the_paired_t_test_of_change_minus_drop() -> None:
    a, b = _noisy(0.7, 1), _noisy(0.6, 2)
    base, run = _snapshot({"m": {"score": a}}), _snapshot({"m": {"score": b}})
    for max_drop in (0.0, 0.05, 0.5):
        (check,) = run_gate(base, run, GateConfig(max_drop=max_drop))
        diffs = np.array(b) - np.array(a)
        expected = stats.ttest_1samp(diffs, popmean=-max_drop).pvalue
        assert check.test == "paired_t"
        assert check.p_value == pytest.approx(expected, rel=1e-9)
        assert check.change == pytest.approx(float(diffs.mean()), abs=1e-12)
        regression = expected < 0.05 and check.change < -max_drop
        assert check.status == ("regression" if regression else "pass")
    # the drop of about 0.1 is caught with no allowance and passes with 0.5 allowed
    assert run_gate(base, run, GateConfig())[0].status == "regression"
    assert run_gate(base, run, GateConfig(max_drop=0.5))[0].status == "pass"


def test_an_improvement_passes_and_lower_is_better_flips_the_sign() -> None:
    a, b = _noisy(0.5, 3), _noisy(0.7, 4)
    base, run = _snapshot({"m": {"score": a}}), _snapshot({"m": {"score": b}})
    assert run_gate(base, run, GateConfig())[0].status == "pass"
    base = _snapshot({"m": {"error": a}}, lower=("error",))
    run = _snapshot({"m": {"error": b}}, lower=("error",))
    (check,) = run_gate(base, run, GateConfig())
    assert check.change > 0 and check.status == "regression"


def test_p_values_are_holm_adjusted_within_a_task_and_metric() -> None:
    base = _snapshot({"x": {"score": _noisy(0.6, 5)}, "y": {"score": _noisy(0.6, 6)}})
    run = _snapshot({"x": {"score": _noisy(0.55, 7)}, "y": {"score": _noisy(0.5, 8)}})
    checks = run_gate(base, run, GateConfig())
    raw = [c.p_value for c in checks]
    low, high = sorted(raw)
    holm = {low: min(1.0, 2 * low), high: min(1.0, max(2 * low, high))}  # Holm (1979), m = 2
    assert [c.p_holm for c in checks] == [pytest.approx(holm[p]) for p in raw]


def test_a_floor_fails_only_when_the_whole_interval_is_below_it() -> None:
    values = _noisy(0.3, 9, spread=0.05)
    base, run = _snapshot({"m": {"score": values}}), _snapshot({"m": {"score": values}})
    (below,) = run_gate(base, run, GateConfig(rules=[Rule(floor=0.9)]))
    assert below.status == "below_floor" and below.change == 0.0
    (above,) = run_gate(base, run, GateConfig(rules=[Rule(floor=0.1)]))
    assert above.status == "pass"
    (inside,) = run_gate(base, run, GateConfig(rules=[Rule(floor=float(np.mean(values)))]))
    assert inside.status == "pass"


def test_the_last_matching_rule_sets_the_thresholds() -> None:
    config = GateConfig(
        max_drop=0.01,
        rules=[Rule(metric="score", max_drop=0.2), Rule(model="x", max_drop=0.3, floor=0.5)],
    )
    assert config.thresholds("t", "x", "score") == (0.3, 0.5)
    assert config.thresholds("t", "y", "score") == (0.2, None)
    assert config.thresholds("t", "y", "other") == (0.01, None)


def test_a_rule_matching_nothing_in_the_baseline_is_an_error() -> None:
    snap = _snapshot({"m": {"score": _noisy(0.5, 10)}})
    with pytest.raises(UserError, match=r"rule 1 \(task=\*, model=\*, metric=bleu\) matches no"):
        run_gate(snap, snap, GateConfig(rules=[Rule(metric="bleu", max_drop=1.0)]))


def test_a_baseline_check_the_run_lacks_is_a_failed_missing_check() -> None:
    base = _snapshot({"m": {"score": _noisy(0.5, 11)}, "gone": {"score": _noisy(0.5, 12)}})
    run = _snapshot({"m": {"score": _noisy(0.5, 11)}})
    checks = run_gate(base, run, GateConfig())
    assert [(c.model, c.status) for c in checks] == [("m", "pass"), ("gone", "missing")]
    assert checks[1].failed and checks[1].n == 0 and math.isnan(checks[1].value)


def test_nothing_shared_is_an_error() -> None:
    base = _snapshot({"m": {"score": [0.5, 0.6]}}, task="a")
    run = _snapshot({"m": {"score": [0.5, 0.6]}}, task="b")
    with pytest.raises(UserError, match="nothing to compare"):
        run_gate(base, run, GateConfig())
