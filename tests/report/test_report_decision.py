"""The decision block and the scorer Pareto payload, checked against references: McNemar's exact
test from scipy's binomial test with Holm's step-down written out here; a frontier worked by
hand."""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path

from scipy.stats import binomtest

from evalkit.analysis.bundle import LabelledRun, bundle_runs, load_runs
from evalkit.analysis.metric_agreement import AgreementTable, MetricAgreement
from evalkit.analysis.scorer_pareto import scorer_pareto
from evalkit.report.page import render_bundle
from evalkit.stats.metaeval import Correlation
from tests.report.conftest import report_data


def _exact(run_dir: Path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for line in (run_dir / "samples.jsonl").read_text().splitlines():
        r = json.loads(line)
        score = next(s for s in r["scores"] if s["name"] == "exact_match")
        if score["status"] == "ok":
            out.setdefault(r["model"], {})[r["sample_id"]] = score["value"]
    return out


def _holm(pvalues: dict[str, float]) -> dict[str, float]:
    ordered = sorted(pvalues, key=pvalues.get)
    out, running = {}, 0.0
    for rank, key in enumerate(ordered):
        running = max(running, min(1.0, (len(ordered) - rank) * pvalues[key]))
        out[key] = running
    return out


def _decision_lines(page: str) -> list[str]:
    block = re.search(r'<div id="decision".*?<ul>(.*?)</ul>', page, re.S)
    assert block
    return [html_lib.unescape(x) for x in re.findall(r"<li[^>]*>(.*?)</li>", block.group(1))]


def test_decision_names_the_best_and_the_models_mcnemar_cannot_separate(synthetic_run):
    scores = _exact(synthetic_run)
    means = {m: sum(v.values()) / len(v) for m, v in scores.items()}
    best = max(means, key=means.get)
    raw = {}
    for model in scores:
        if model == best:
            continue
        shared = scores[best].keys() & scores[model].keys()
        only_best = sum(1 for s in shared if scores[best][s] > scores[model][s])
        only_model = sum(1 for s in shared if scores[model][s] > scores[best][s])
        n = only_best + only_model
        raw[model] = 1.0 if n == 0 else binomtest(only_model, n, 0.5).pvalue
    tied = sorted(m for m, p in _holm(raw).items() if p >= 0.05)
    page = render_bundle(bundle_runs(load_runs([synthetic_run])))
    (line,) = _decision_lines(page)
    assert line.startswith(f"synth: {best} is best on exact_match ({means[best]:.3g} [")
    if tied:
        named = re.search(r"; (.*?) (?:is|are) not significantly different", line)
        if len(tied) > 3:
            named = re.search(r"not significantly different \(.*?\): (.*?)(?:;|\.$)", line)
        assert named and sorted(re.split(r", | and ", named.group(1))) == tied
    else:
        assert "every other model is significantly worse" in line
    assert "latency p50" in line and "per 1,000 samples" in line  # the synthetic run measured both


def test_decision_ranks_by_the_declared_primary_metric(synthetic_run):
    runs = load_runs([synthetic_run])
    # The field another branch adds to run.json (RunRecord.primary_metrics); set here directly.
    object.__setattr__(runs[0].run, "primary_metrics", {"synth": "f1"})
    page = render_bundle(bundle_runs(runs))
    (line,) = _decision_lines(page)
    assert " is best on f1 (" in line
    assert "synth: f1, primary_metric" in page
    summary = re.search(r'<table class="summary".*?</table>', page, re.S).group(0)
    f1_col = next(
        i for i, h in enumerate(re.findall(r"<th>(.*?)</th>", summary)) if h.startswith("f1")
    )
    first = re.search(r"<tbody>\s*<tr>(.*?)</tr>", summary, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", first, re.S)
    assert cells[f1_col].startswith("★")  # the top row is the best on f1


def _corr(value: float, low: float, high: float) -> Correlation:
    return Correlation("summary", "kendall", value, low, high, 100)


def test_scorer_pareto_payload_and_frontier():
    rows = [  # (metric, seconds per 1,000 samples, tau): worked by hand
        ("rouge1", 0.5, 0.20),  # cheapest: on the frontier
        ("chrf", 0.4, 0.10),  # cheaper still: on the frontier
        ("bertscore_f1", 30.0, 0.25),  # better and dearer: on the frontier
        ("embedding", 40.0, 0.22),  # dearer and worse than bertscore: dominated
        ("judge", None, 0.40),  # cost not measured: never on the frontier
    ]
    table = AgreementTable(
        "summeval",
        ["coherence"],
        [
            MetricAgreement(
                "summeval", m, m, s, {"coherence": {"summary": _corr(t, t - 0.05, t + 0.05)}}
            )
            for m, s, t in rows
        ],
        {},
    )
    out = scorer_pareto([table])["summeval"]
    assert [p["metric"] for p in out["points"]] == [r[0] for r in rows]
    assert out["points"][2]["agree"]["coherence"]["summary"] == [0.25, 0.2, 0.3]
    assert sorted(out["frontier"]["coherence"]["summary"]) == ["bertscore_f1", "chrf", "rouge1"]
    assert out["frontier"]["coherence"]["system"] == []  # no system-level values given


def test_payload_carries_the_scorer_pareto_of_the_agreement_tables(synthetic_run):
    table = AgreementTable(
        "synth", ["fluency"], [MetricAgreement("synth", "f1", "f1", 2.0, {"fluency": {}})], {}
    )
    page = render_bundle(bundle_runs(load_runs([synthetic_run])), agreement=[table])
    data = report_data(page)
    assert data["scorerPareto"]["synth"]["points"][0]["s1k"] == 2.0
    assert data["taskModels"]["synth"] == ["base", "base-int8", "base-spec", "small"]


def test_title_names_the_tasks_and_models_outside_the_demo(synthetic_run):
    page = render_bundle(bundle_runs(load_runs([synthetic_run])))
    title = re.search(r"<title>(.*?)</title>", page).group(1)
    assert title == "evalkit report: synth · base, base-int8, base-spec, small"


def test_decision_says_when_latency_and_cost_were_not_measured(synthetic_run):
    (loaded,) = load_runs([synthetic_run])
    usage = [
        u.model_copy(update={"latency_p50_s": None, "cost_usd": None}) for u in loaded.run.usage
    ]
    run = loaded.run.model_copy(update={"usage": usage})
    page = render_bundle(bundle_runs([LabelledRun(loaded.label, run, loaded.digest)]))
    (line,) = _decision_lines(page)
    assert line.endswith("; latency and cost not measured (replayed outputs).")
    assert "latency p50" not in line
