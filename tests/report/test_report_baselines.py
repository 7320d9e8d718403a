"""The report's paired tests against every possible baseline (the page's baseline select).

The rows for each baseline must be those of a report rendered with that baseline: the cached
per-model bootstrap statistics change the cost, not a number."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evalkit.analysis.bundle import bundle_runs, load_runs
from evalkit.analysis.report_comparisons import (
    COMPACT_FIELDS,
    baseline_comparisons,
    every_baseline,
    task_baselines,
)
from evalkit.stats.significance import mean_statistic, paired_bootstrap, resample_values


def test_every_baseline_matches_a_report_rendered_with_that_baseline(synthetic_run: Path):
    bundle = bundle_runs(load_runs([synthetic_run]))
    data = every_baseline(bundle, task_baselines(bundle, "base"))
    stored = data["by_baseline"]["synth"]
    assert sorted(stored) == sorted(bundle.models)  # every model can be the baseline
    for base in bundle.models:
        fresh = baseline_comparisons(bundle, {"synth": base})  # its own load: nothing cached
        assert len(stored[base]) == len(fresh) == 3 * (len(bundle.models) - 1)
        for compact, row in zip(stored[base], fresh, strict=True):
            got = dict(zip(COMPACT_FIELDS, compact, strict=True))
            assert (got["model"], got["metric"], got["test"]) == (
                row["model"],
                row["metric"],
                row["test"],
            )
            assert got["significant"] == row["significant"]
            for key, want in [
                ("p_value", row["p_value"]),
                ("p_holm", row["p_holm"]),
                ("delta", row["delta"]),
                ("delta_low", row["delta_ci"][0]),
                ("delta_high", row["delta_ci"][1]),
            ]:
                assert got[key] == pytest.approx(want, rel=1e-5, abs=1e-12), (base, key)
    # the rendered baseline's full rows stay where `evalkit report` consumers read them
    assert {r["baseline"] for r in data["rows"]} == {"base"}


def test_cached_resample_values_give_the_paired_bootstrap_itself():
    rng = np.random.default_rng(3)
    a, b = rng.random((40, 1)), rng.random((40, 1)) + 0.1
    statistic = mean_statistic(40)
    direct = paired_bootstrap(a, b, statistic, seed=5, n_resamples=300)

    def cached(rows: np.ndarray, n: int) -> np.ndarray:
        return resample_values(rows, statistic, seed=5, n_resamples=n)

    via = paired_bootstrap(a, b, statistic, seed=5, n_resamples=300, resampled=(cached, cached))
    assert via == direct
