"""Meta-evaluation: UniEval's published correlations reproduced exactly from its shipped
predictions, the three levels' definitions, and the CLI on a run and on a file."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from evalkit.analysis.metaeval_sources import from_file
from evalkit.stats.metaeval import Judged, correlate
from tests.conftest import SHARED_DATA

UNIEVAL = SHARED_DATA / "unieval_meta"

# maszhongming/UniEval reproduce/README.md (Pearson, Spearman, Kendall), sample/turn level.
PUBLISHED = [
    ("topical_chat", "naturalness", (0.443666, 0.513986, 0.373973)),
    ("topical_chat", "coherence", (0.595143, 0.612942, 0.465915)),
    ("topical_chat", "engagingness", (0.55651, 0.604739, 0.455941)),
    ("topical_chat", "groundedness", (0.536209, 0.574954, 0.451533)),
    ("topical_chat", "understandability", (0.380038, 0.467807, 0.360741)),
    ("topical_chat", "overall", (0.632796, 0.662583, 0.487272)),
    ("sfres", "naturalness", (0.367252, 0.333399, 0.247094)),
    ("sfres", "informativeness", (0.282079, 0.224918, 0.169297)),
    ("sfres", "overall", (0.370815, 0.291593, 0.214708)),
    ("sfhot", "naturalness", (0.397428, 0.319813, 0.237635)),
    ("sfhot", "informativeness", (0.357353, 0.249329, 0.191217)),
    ("sfhot", "overall", (0.406425, 0.320721, 0.236024)),
    ("qags_xsum", "consistency", (0.461376, 0.48792, 0.399218)),
    ("qags_cnndm", "consistency", (0.681681, 0.662255, 0.531636)),
]


@pytest.mark.parametrize(("dataset", "dimension", "expected"), PUBLISHED)
def test_unieval_published_correlations_exactly(dataset, dimension, expected):
    path = UNIEVAL / f"{dataset}.jsonl"
    if not path.is_file():
        pytest.skip("shared UniEval data not present")
    items = from_file(path, "unieval_predict_scores", "scores", None, None)[
        (dataset, "unieval_predict_scores", dimension)
    ]
    for method, published in zip(("pearson", "spearman", "kendall"), expected, strict=True):
        result = correlate(items, "sample", method, n_resamples=0)
        assert round(result.value, 6) == pytest.approx(published, abs=1e-6)


@pytest.mark.parametrize("task", ["qags_xsum", "qags_cnndm"])
def test_readme_meta_eval_example_on_bundled_outputs_gives_published_values(task):
    """README's file example runs outside a checkout with shared data: the QAGS tasks ship
    UniEval's predictions and the human labels in their outputs.jsonl (`unieval`, `human`)."""
    from tests.conftest import REPO

    expected = dict((d, v) for d, _, v in PUBLISHED)[task]
    items = from_file(REPO / "tasks" / task / "outputs.jsonl", "unieval", "human", None, None)
    (only,) = items.values()
    for method, published in zip(("pearson", "spearman", "kendall"), expected, strict=True):
        result = correlate(only, "sample", method, n_resamples=0)
        assert round(result.value, 6) == pytest.approx(published, abs=1e-6)


def test_readme_examples_need_no_shared_data_folder():
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:bash|python)\n(.*?)```", readme, re.S)
    assert blocks and not [b for b in blocks if "../shared" in b]
    assert "evalkit meta-eval tasks/qags_xsum/outputs.jsonl --pred unieval --human human" in readme


def test_levels_follow_their_definitions():
    # two documents x three systems; document B is constant for humans (skipped at summary level)
    items = [
        Judged(0.1, 1, "A", "s1"),
        Judged(0.5, 2, "A", "s2"),
        Judged(0.9, 3, "A", "s3"),
        Judged(0.3, 2, "B", "s1"),
        Judged(0.2, 2, "B", "s2"),
        Judged(0.4, 2, "B", "s3"),
    ]
    summary = correlate(items, "summary", "pearson", n_resamples=0)
    assert summary.value == pytest.approx(1.0) and summary.n == 1
    system = correlate(items, "system", "spearman", n_resamples=0)
    assert system.value == pytest.approx(1.0) and system.n == 3  # means 0.2/1.5, 0.35/2, 0.65/2.5
    sample = correlate(items, "sample", "kendall", n_resamples=50)
    assert -1 <= sample.ci_low <= sample.value <= sample.ci_high <= 1
    assert math.isnan(correlate(items[3:], "sample", "pearson", n_resamples=0).value)


def test_meta_eval_cli_on_a_run_and_a_file(run_cli, tmp_path):
    run_dir = tmp_path / "run"
    out = run_cli("run", "tasks=[summeval]", "limit=12", f"run_dir={run_dir}")
    assert out.returncode == 0, out.stderr
    out = run_cli("meta-eval", str(run_dir), "--resamples", "20", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    keys = {(r["metric"], r["human"], r["level"], r["method"]) for r in rows}
    assert ("rouge1", "relevance", "summary", "kendall") in keys
    assert ("chrf", "coherence", "system", "pearson") in keys
    assert {r["n"] for r in rows if r["level"] == "system"} == {16}
    # the run itself printed and reported the same agreement, next to each scorer's cost
    ours = next(
        r
        for r in rows
        if (r["metric"], r["human"], r["level"], r["method"])
        == ("rouge1", "relevance", "summary", "kendall")
    )
    report = (run_dir / "report.html").read_text()
    assert "Which metric agrees with the human ratings?" in report
    assert f"{ours['value']:.3f}" in report
    timings = json.loads((run_dir / "run.json").read_text())["scorer_timings"]
    by_scorer = {t["scorer"]: t for t in timings}
    assert by_scorer["rouge"]["metrics"] == ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    assert by_scorer["embedding"]["items"] > 0 and by_scorer["embedding"]["seconds"] > 0
    if (UNIEVAL / "qags_xsum.jsonl").is_file():
        out = run_cli(
            "meta-eval",
            str(UNIEVAL / "qags_xsum.jsonl"),
            "--pred",
            "unieval_predict_scores",
            "--human",
            "scores",
            "--resamples",
            "10",
        )
        assert out.returncode == 0 and "0.4614" in out.stdout
        bad = run_cli(
            "meta-eval", str(UNIEVAL / "qags_xsum.jsonl"), "--pred", "nope", "--human", "scores"
        )
        assert bad.returncode == 2 and "field 'nope' missing" in bad.stderr


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
def test_row_wise_correlations_equal_scipy_with_ties_and_constants(method):
    from scipy import stats as scipy_stats

    from evalkit.stats.metaeval import corr_rows

    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=(200, 16)).astype(float)  # many ties, as with 1-5 ratings
    y = x + rng.integers(-2, 3, size=(200, 16))
    x[0] = 3.0  # a constant row: undefined
    ours = corr_rows(method, x, y)
    scipy_method = {
        "pearson": scipy_stats.pearsonr,
        "spearman": scipy_stats.spearmanr,
        "kendall": scipy_stats.kendalltau,
    }[method]
    assert np.isnan(ours[0])
    expected = [scipy_method(a, b)[0] for a, b in zip(x[1:], y[1:], strict=True)]
    assert ours[1:] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
@pytest.mark.parametrize("shape", ["documents", "single samples", "ragged documents"])
def test_sample_level_replicates_pool_the_drawn_units_as_scipy_would(method, shape, monkeypatch):
    """The vectorised bootstrap (chunked, so chunks are exercised) equals scipy on each
    replicate's pooled items, with the units drawn in the same order."""
    from scipy import stats as scipy_stats

    from evalkit.stats import metaeval

    monkeypatch.setattr(metaeval, "_ROW_CHUNK_ELEMENTS", 700)
    rng = np.random.default_rng(1)
    sizes = {"documents": [4] * 12, "single samples": [1] * 30, "ragged documents": [2, 5, 3] * 4}
    units = [
        [
            metaeval.Judged(float(rng.integers(0, 4)), float(rng.integers(1, 6)), group=f"d{d}")
            for _ in range(size)
        ]
        for d, size in enumerate(sizes[shape])
    ]
    picks = rng.integers(0, len(units), size=(40, len(units)))
    scipy_method = {
        "pearson": scipy_stats.pearsonr,
        "spearman": scipy_stats.spearmanr,
        "kendall": scipy_stats.kendalltau,
    }[method]
    expected = []
    for row in picks:
        pooled = [item for k in row for item in units[k]]
        x, y = [i.prediction for i in pooled], [i.human for i in pooled]
        constant = len(set(x)) == 1 or len(set(y)) == 1
        expected.append(math.nan if constant else scipy_method(x, y)[0])
    ours = metaeval._sample_replicates(units, method, picks)
    assert ours == pytest.approx(expected, abs=1e-12, nan_ok=True)
    assert np.isnan(metaeval._sample_replicates([], method, picks[:, :0])).all()
