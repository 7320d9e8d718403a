"""The one significance policy of compare, gate and the report: golden p-values from scipy, a
p-value resolution that fits Holm's correction, and the same p and decision in all three outputs."""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from evalkit.stats.significance import paired_t
from evalkit.stats.significance_policy import (
    SignificancePolicy,
    holm_by_family,
    metric_kind,
    paired_outcome,
)
from evalkit.testing.synthetic_runs import write_task
from tests.conftest import cli_in_process

# fixed inputs: per-sample scores of two systems on the same 12 samples
A = np.array([0.61, 0.42, 0.77, 0.35, 0.58, 0.49, 0.71, 0.66, 0.30, 0.52, 0.45, 0.69])
B = np.array([0.68, 0.47, 0.75, 0.44, 0.66, 0.52, 0.80, 0.65, 0.41, 0.60, 0.43, 0.78])


def _outcome(a: np.ndarray, b: np.ndarray, **kwargs):
    n = len(a)
    return paired_outcome(
        a[:, None], b[:, None], lambda s: float(s[0] / n), corpus=False,
        policy=SignificancePolicy(), family_size=1, seed=0, ci_resamples=200, **kwargs,
    )  # fmt: skip


def test_mean_metrics_get_scipys_paired_t_test():
    out = _outcome(A, B)
    assert out.test == "paired_t" and out.resamples is None
    assert out.p_value == pytest.approx(stats.ttest_rel(B, A).pvalue, rel=1e-12)
    assert paired_t(A, B) == pytest.approx(stats.ttest_rel(B, A).pvalue, rel=1e-12)
    assert out.delta == pytest.approx(float((B - A).mean()))
    # against another null value (the gate's allowed drop): scipy's one-sample t on the differences
    shifted = paired_t(A, B, null_delta=0.1)
    assert shifted == pytest.approx(stats.ttest_1samp(B - A, 0.1).pvalue, rel=1e-12)


def test_paired_t_equals_scipy_on_random_differences():
    """evalkit's lean paired t (scipy's formula without its dispatch) against scipy itself."""
    rng = np.random.default_rng(4)
    for i in range(400):
        n = int(rng.integers(2, 300))
        a, b = rng.normal(size=n), rng.normal(0.1 * rng.normal(), 1.0, size=n)
        if i % 2:
            a, b = np.round(a, 1), np.round(b, 1)  # ties and repeated values
        expected = stats.ttest_rel(b, a).pvalue
        assert paired_t(a, b) == pytest.approx(expected, rel=1e-13, abs=1e-300), (n, i)


def test_differences_without_spread_get_the_exact_sign_flip_p():
    assert paired_t(A, A) == 1.0
    assert paired_t(A, A + 0.25) == pytest.approx(2.0 / 2**12)  # 2 of the 2**12 sign flips
    assert paired_t(A, A + 0.25, null_delta=0.25) == 1.0
    with pytest.raises(ValueError, match="two samples"):
        paired_t(A[:1], B[:1])


def test_binary_metrics_get_mcnemars_exact_test_as_scipys_binomtest():
    a = np.array([1] * 30 + [0] * 8 + [1] * 3 + [0] * 11, dtype=np.float64)
    b = np.array([1] * 30 + [0] * 8 + [0] * 3 + [1] * 11, dtype=np.float64)
    out = _outcome(a, b)
    assert out.test == "mcnemar" and out.p_moses is None
    assert out.p_value == pytest.approx(stats.binomtest(11, 14, 0.5).pvalue, rel=1e-12)
    # a non-zero null (the gate's allowed drop) is tested as a paired difference of proportions
    moved = _outcome(a, b, null_delta=-0.05)
    assert moved.test == "paired_t"
    assert moved.p_value == pytest.approx(stats.ttest_1samp(b - a, -0.05).pvalue, rel=1e-12)


def test_metric_kinds():
    ones = np.ones((3, 1))
    assert metric_kind(ones, 0 * ones, corpus=False) == "binary"
    assert metric_kind(ones, 0.5 * ones, corpus=False) == "mean"
    assert metric_kind(ones, 0 * ones, corpus=True) == "corpus"


def test_resamples_scale_with_the_family_so_its_smallest_p_survives_holm():
    policy = SignificancePolicy()
    for m in (1, 15, 165, 400):
        b = policy.resamples(m)
        assert b >= math.ceil(policy.resolution * m / policy.alpha) and b >= 2000
        assert m / (b + 1) <= policy.alpha / policy.resolution  # the smallest Holm p
        assert policy.reachable(m, b)
    capped = SignificancePolicy(max_resamples=5000)
    assert capped.resamples(1000) == 5000 and not capped.reachable(1000, 5000)


def _large_effect_family(m: int, n: int = 30) -> list[tuple[np.ndarray, np.ndarray]]:
    """m systems, each clearly better than the baseline (about 3 standard errors per sample)."""
    rng = np.random.default_rng(11)
    pairs = []
    for _ in range(m):
        hits_a = rng.integers(5, 15, size=n).astype(np.float64)
        hits_b = hits_a + rng.integers(3, 7, size=n)
        length = np.full(n, 20.0)
        pairs.append((np.c_[hits_a, length], np.c_[hits_b, length]))
    return pairs


def _corpus_holm(policy: SignificancePolicy, m: int) -> list[float]:
    def ratio(summed: np.ndarray) -> float:  # a corpus metric from summed statistics
        return float(summed[0] / summed[1])

    p_values = [
        paired_outcome(
            a, b, ratio, corpus=True, policy=policy, family_size=m, seed=3, ci_resamples=200
        ).p_value
        for a, b in _large_effect_family(m)
    ]
    return holm_by_family(p_values, ["one family"] * m)


def test_a_family_of_large_corpus_effects_is_significant_after_holm(capsys):
    m = 20
    scaled = _corpus_holm(SignificancePolicy(min_resamples=200), m)
    assert max(scaled) < 0.05
    # the old rule, a fixed B = 200, floors every p at 1/201 and Holm multiplies it by 20
    floored = _corpus_holm(SignificancePolicy(min_resamples=200, max_resamples=200), m)
    assert min(floored) == pytest.approx(m / 201) and m / 201 > 0.05
    assert "compare fewer models at once" in capsys.readouterr().err


def test_a_family_of_large_mean_effects_is_significant_after_holm():
    m, n = 165, 40
    rng = np.random.default_rng(5)
    p_values = []
    for _ in range(m):
        a = rng.uniform(0.2, 0.6, size=n)
        b = np.clip(a + rng.normal(0.2, 0.1, size=n), 0, 1)
        p_values.append(_outcome(a, b).p_value)
    assert max(holm_by_family(p_values, ["one family"] * m)) < 0.05


# --- through the CLI: compare, gate and the report agree ---------------------------------------


def evalkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    out = cli_in_process(*args, cwd=cwd)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_many_models_with_a_large_effect_are_significant_in_compare(tmp_path):
    """55 models x 5 mean metrics (f1, rouge1/2/L/Lsum), every delta large. The old rule (a
    bootstrap p floored at 1/2001, Holm across all 275 rows) called none significant: measured on
    the old code, min Holm p = 275/2001 = 0.137."""
    variants = {"base": (0.8, 0.5, 0.001)}
    variants.update({f"m{i:02d}": (0.02, 0.5, 0.001) for i in range(55)})
    task = write_task(tmp_path / "tasks" / "many", 40, seed=2, variants=variants)
    yaml = task / "task.yaml"
    scorers = "scorers: {exact_match: {}, f1: {}, chrf: {}}"
    yaml.write_text(yaml.read_text().replace(scorers, "scorers: {f1: {}, rouge: {}}"))
    evalkit("run", f"tasks=[{task}]", f"run_dir={tmp_path / 'run'}", "progress=false", cwd=tmp_path)
    out = evalkit("compare", str(tmp_path / "run"), "--baseline", "base", "--json", cwd=tmp_path)
    rows = json.loads(out.stdout)
    assert len(rows) == 275 and all(r["delta_ci"][0] > 0 for r in rows)
    assert {r["test"] for r in rows} == {"paired_t"} and {r["family_size"] for r in rows} == {55}
    assert all(r["significant"] and r["baseline"] == "base" for r in rows), max(
        r["p_holm"] for r in rows
    )


def _report_rows(html: str) -> list[dict]:
    match = re.search(
        r'<script type="application/json" id="evalkit-data">(.*?)</script>', html, re.S
    )
    assert match
    return json.loads(match.group(1))["comparison"]["rows"]


def test_compare_gate_and_report_give_the_same_p_and_decision(tmp_path):
    from evalkit.analysis.gate import GateConfig, Snapshot, run_gate, snapshot_of_run

    task = write_task(tmp_path / "tasks" / "synth", 60, seed=7)
    run = tmp_path / "run"
    evalkit("run", f"tasks=[{task}]", f"run_dir={run}", "progress=false", cwd=tmp_path)
    compared = json.loads(
        evalkit("compare", str(run), "--baseline", "base", "--json", cwd=tmp_path).stdout
    )
    evalkit("report", str(run), "-o", str(tmp_path / "r.html"), "--baseline", "base", cwd=tmp_path)
    reported = _report_rows((tmp_path / "r.html").read_text(encoding="utf-8"))
    # the gate compares a run with a baseline run, model by model: give every model base's rows
    snap = snapshot_of_run(run)
    rows = snap.rows["synth"]
    baseline = Snapshot("base", snap.task_scorers, snap.higher_is_better,
                        {"synth": {m: rows["base"] for m in rows if m != "base"}})  # fmt: skip
    candidate = Snapshot(str(run), snap.task_scorers, snap.higher_is_better,
                         {"synth": {m: r for m, r in rows.items() if m != "base"}})  # fmt: skip
    checks = {(c.model, c.metric): c for c in run_gate(baseline, candidate, GateConfig())}
    by_key = {(r["model"], r["metric"]): r for r in reported}
    assert len(compared) == len(reported) == len(checks) == 9
    assert {r["test"] for r in compared} == {"mcnemar", "paired_t", "bootstrap"}
    for row in compared:
        key = (row["model"], row["metric"])
        report, check = by_key[key], checks[key]
        assert report["p_value"] == pytest.approx(row["p_value"], rel=1e-9) == check.p_value
        assert report["p_holm"] == pytest.approx(row["p_holm"], rel=1e-9) == check.p_holm
        assert report["significant"] == row["significant"]
        assert row["baseline"] == report["baseline"] == "base"
        worse = row["significant"] and row["delta"] < 0  # every metric here: higher is better
        assert (check.status == "regression") == worse
    assert any(r["significant"] for r in compared) and not all(r["significant"] for r in compared)


def test_the_gate_tests_the_change_against_the_allowed_drop():
    """max_drop moves the null: the p is scipy's one-sample t-test of the differences against
    -max_drop, and a drop smaller than the allowance never fails."""
    from evalkit.analysis.gate import GateConfig, Snapshot, run_gate

    rng = np.random.default_rng(4)
    base = rng.uniform(0.3, 0.7, size=80)
    runs = {"small_drop": base - 0.02 + rng.normal(0, 0.02, 80), "big_drop": base - 0.2}
    runs["big_drop"] = runs["big_drop"] + rng.normal(0, 0.02, 80)

    def snap(rows: dict[str, np.ndarray]) -> Snapshot:
        per_model = {
            m: {"score": {f"s{i}": [float(v)] for i, v in enumerate(r)}} for m, r in rows.items()
        }
        return Snapshot("x", {}, {"score": True}, {"t": per_model})

    checks = run_gate(snap({m: base for m in runs}), snap(runs), GateConfig(max_drop=0.05))
    by_model = {c.model: c for c in checks}
    for model, values in runs.items():
        expected = stats.ttest_1samp(values - base, -0.05).pvalue
        assert by_model[model].p_value == pytest.approx(expected, rel=1e-9)
        assert by_model[model].test == "paired_t"
    assert by_model["small_drop"].status == "pass"  # significantly better than the allowance
    assert by_model["big_drop"].status == "regression"


def test_bootstrap_p_against_a_moved_null():
    rng = np.random.default_rng(8)
    a = rng.uniform(0, 1, size=(60, 1))
    b = a + 0.1 + rng.normal(0, 0.05, size=(60, 1))
    statistic = lambda s: float(s[0] / 60)  # noqa: E731
    from evalkit.stats.significance import paired_bootstrap

    at_zero = paired_bootstrap(a, b, statistic, seed=1, n_resamples=500)
    at_delta = paired_bootstrap(a, b, statistic, seed=1, n_resamples=500, null_delta=at_zero.delta)
    assert at_zero.p_value == pytest.approx(1 / 501)  # nothing as far from 0 as 0.1
    assert at_delta.p_value == 1.0  # the observed delta is the null itself
    assert at_delta.p_moses == at_zero.p_moses  # p_moses always tests a zero delta
