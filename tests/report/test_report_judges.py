"""The Judges tab: formatted values (no Python reprs) and judges with many unreadable replies
flagged."""

from __future__ import annotations

import re

from evalkit.analysis.bundle import LabelledRun, bundle_runs, load_runs
from evalkit.analysis.judge_rows import PARSE_FAILURE_FLAG, format_value, judge_rows
from evalkit.report.page import render_bundle

REPORTS = [
    {
        "task": "synth",
        "kind": "pointwise",
        "rubric": "helpfulness",
        "judge": "tiny-judge",
        "judgments": 1200,
        "parse_failure_rate": 0.125,
        "error_rate": 0.0,
        "self_preference": None,
        "parse_errors": [],
        "length_bias_spearman": 0.31234,
    },
    {
        "task": "synth",
        "kind": "pointwise",
        "rubric": "helpfulness",
        "judge": "careful-judge",
        "judgments": 1200,
        "parse_failure_rate": 0.05,  # at the threshold: not flagged
        "cost_usd_per_1000": None,
    },
]


def test_values_read_as_text():
    assert format_value(None) == "n/a"
    assert format_value([]) == "none"
    assert format_value({}) == "none"
    assert format_value(True) == "yes"
    assert format_value(1200) == "1,200"
    assert format_value(0.125, "parse_failure_rate") == "12.5%"
    assert format_value(0.31234, "length_bias_spearman") == "0.312"
    assert format_value(1001.24) == "1,001.2" and format_value(-1234.56) == "-1,234.6"  # not 1e+03
    assert format_value(["a", None], "x") == "a, n/a"
    assert format_value({"A": 0.5}, "position_share") == "A: 50%"


def test_only_judges_above_the_threshold_are_flagged():
    rows = judge_rows(REPORTS)
    assert PARSE_FAILURE_FLAG == 0.05
    assert rows[0].flag is not None and "12.5%" in rows[0].flag
    assert rows[1].flag is None
    assert ("self preference", "n/a") in rows[0].figures
    assert ("parse errors", "none") in rows[0].figures


def test_judges_tab_shows_no_python_reprs(synthetic_run):
    (loaded,) = load_runs([synthetic_run])
    run = loaded.run.model_copy(update={"judge_reports": REPORTS})
    page = render_bundle(bundle_runs([LabelledRun(loaded.label, run, loaded.digest)]))
    tab = re.search(r'<section id="judges".*?</section>', page, re.S).group(0)
    text = re.sub(r"<[^>]+>", " ", tab)
    assert not re.search(r"\bNone\b|\[\]|\{\}|\bTrue\b|\bFalse\b", text)
    assert "parse failure rate: 12.5%" in text and "self preference: n/a" in text
    assert tab.count('class="flagged"') == 1
    assert "high parse-failure rate: 12.5%" in text
