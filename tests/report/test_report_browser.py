"""The report in a real browser (Debian Chromium through Playwright): it renders, its controls
work on data whose answers we know, and nothing planted in the data can run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evalkit.stats.pareto import pareto_front
from evalkit.testing.synthetic_runs import VARIANTS, XSS_PAYLOADS, hostile_variants, write_task
from tests.report.conftest import evalkit, keep_artifact, report_data


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo suite (SummEval + WMT17, all its scorers) on its first 12 samples per task."""
    root = tmp_path_factory.mktemp("demo")
    evalkit("run", "limit=12", f"run_dir={root / 'run'}", cwd=root)
    return root / "run" / "report.html"


def _records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]


def _f1(record: dict) -> float | None:
    score = next(s for s in record["scores"] if s["name"] == "f1")
    return score["value"] if score["status"] == "ok" else None


def test_demo_report_renders_every_view_without_errors(demo_report, open_report, tmp_path):
    view = open_report(demo_report)
    shot = tmp_path / "report-summary.png"
    view.page.screenshot(path=str(shot))
    keep_artifact(shot)
    assert view.page.locator("table.summary").count() == 2
    decision = view.page.locator("#decision li")
    assert decision.count() == 2 and view.page.is_visible("#decision")
    assert all(" is best on " in line for line in decision.all_inner_texts())
    # the scorer trade-off: one point per metric with a measured cost and an agreement value
    points = report_data(demo_report.read_text())["scorerPareto"]["summeval"]["points"]
    dim = view.page.input_value("#sp-dim")
    level = view.page.input_value("#sp-level")
    measured = [
        p
        for p in points
        if p["s1k"] is not None and p["agree"].get(dim, {}).get(level, [None])[0] is not None
    ]
    chart = view.page.locator("#chart-scorers")
    assert len(measured) >= 5 and chart.get_attribute("data-points") == str(len(measured))
    assert chart.locator("path.point").count() >= len(measured)
    assert chart.locator(".legend .traces").count() == len(measured) + 1  # + the frontier
    assert chart.get_attribute("data-frontier")
    assert view.page.locator("td.best").count() > 0
    view.tab("charts")
    view.page.wait_for_selector("body[data-charts='drawn']")
    data = report_data(demo_report.read_text())
    first_task = data["tasks"][0]
    n_models = len(
        {
            data["models"][m]
            for m, s in zip(data["outputs"]["m"], data["outputs"]["s"], strict=False)
            if data["tasks"][data["samples"]["task"][s]] == first_task
        }
    )
    assert view.page.locator("#chart-bars path.point").count() == n_models  # one dot per model
    assert view.page.locator("#chart-heatmap table.heat").count() == 1  # the heatmap was drawn
    view.tab("samples")
    view.page.click("#s-table tbody tr >> nth=0")
    assert view.page.locator("#d-outputs .card").count() == n_models
    assert view.page.locator("#d-outputs ins").count() + view.page.locator("#d-outputs del").count()
    view.tab("compare")
    assert view.page.locator("#c-table tbody tr").count() == len(data["metrics"][first_task])
    assert view.problems() == [] and view.dialogs == []


def test_filters_sorting_and_search_match_the_data(synthetic_run, open_report):
    records = _records(synthetic_run)
    view = open_report(synthetic_run / "report.html")
    page = view.page
    view.tab("samples")
    assert "of 240 outputs" in page.inner_text("#s-count")
    page.select_option("#f-metric", "f1")
    page.fill("#f-min", "0.9")
    page.dispatch_event("#f-min", "change")
    expected = sum(1 for r in records if _f1(r) is not None and _f1(r) >= 0.9)
    assert f"of {expected} outputs" in page.inner_text("#s-count")
    page.fill("#f-min", "")
    page.dispatch_event("#f-min", "change")
    page.select_option("#f-sort", "score-asc")
    worst = min(_f1(r) for r in records if _f1(r) is not None)
    assert float(page.inner_text("#s-table tbody tr >> nth=0 >> td >> nth=4")) == pytest.approx(
        worst, abs=5e-3
    )
    page.select_option("#f-status", "failed")
    assert "of 4 outputs" in page.inner_text("#s-count")
    assert page.inner_text("#s-table tbody tr >> nth=0 >> td >> nth=3").startswith(
        "error: no recorded output for sample 's0'"
    )
    page.click("#s-table tbody tr >> nth=0")
    assert "no recorded output" in page.inner_text("#d-outputs .card[data-model='small'] p.err")
    page.select_option("#f-status", "all")
    page.select_option("#f-sort", "disagree")
    spreads: dict[str, list[float]] = {}
    for r in records:
        if _f1(r) is not None:
            spreads.setdefault(r["sample_id"], []).append(_f1(r))
    widest = max(spreads, key=lambda k: max(spreads[k]) - min(spreads[k]))
    assert page.inner_text("#s-table tbody tr >> nth=0 >> td >> nth=1") == widest
    for box in page.locator("#f-models input").all()[1:]:
        box.uncheck()
    assert "of 60 outputs" in page.inner_text("#s-count")
    page.fill("#f-search", "restate item 7:")
    from playwright.sync_api import expect  # the page's CSP forbids evaluating strings

    expect(page.locator("#s-count")).to_contain_text("of 1 output")
    assert page.inner_text("#s-table tbody tr >> nth=0 >> td >> nth=1") == "s7"
    page.click("#s-table tbody tr >> nth=0")
    assert page.locator("#d-outputs .card").count() == 1
    assert view.problems() == []


def test_tradeoff_charts_draw_the_pareto_frontier(synthetic_run, open_report):
    run = json.loads((synthetic_run / "run.json").read_text())
    usage = {u["model"]: u for u in run["usage"]}
    f1 = {a["model"]: a["value"] for a in run["aggregates"] if a["metric"] == "f1"}
    models = list(usage)
    front = pareto_front(
        [usage[m]["latency_p50_s"] for m in models], [f1[m] for m in models], higher_is_better=True
    )
    view = open_report(synthetic_run / "report.html")
    view.tab("charts")
    view.page.wait_for_selector("body[data-charts='drawn']")
    view.page.select_option("#chart-metric", "f1")
    view.page.wait_for_selector("body[data-charts='drawn']")  # set again once Plotly resolves
    chart = view.page.locator("#chart-lat50")
    assert chart.locator(".points .point").count() == len(models)  # one marker per variant
    # one trace per variant (named in the legend and on hover, no overlapping labels) + the frontier
    assert chart.locator("g.trace.scatter").count() == len(models) + 1
    assert chart.locator(".legend .traces").count() == len(models) + 1
    on_front = sorted(m for m, on in zip(models, front, strict=True) if on)
    assert sorted((chart.get_attribute("data-frontier") or "").split(",")) == on_front
    # the fastest variant is on every latency frontier, whatever its quality
    assert front[models.index("small")]
    for axis in ("lat50", "lat95", "cost1k"):
        assert view.page.locator(f"#chart-{axis} .main-svg").count() > 0
    assert view.problems() == []


def test_comparison_view_lists_deltas_and_links_samples(synthetic_run, open_report):
    view = open_report(synthetic_run / "report.html")
    page = view.page
    view.tab("compare")
    page.select_option("#c-model", "small")
    page.select_option("#c-metric", "f1")
    rows = page.locator("#c-table tbody tr")
    assert rows.count() == 3  # exact_match, f1, chrf against the baseline
    f1_row = next(r for r in rows.all() if r.locator("td").nth(1).inner_text() == "f1")
    assert f1_row.locator("td").nth(9).inner_text() == "yes"
    assert page.inner_text("#c-baseline-th") == "baseline: base"  # the table names its baseline
    worse = page.locator("#c-worse li")
    assert worse.count() == 10
    page.click("#c-worse li >> nth=0 >> button")
    assert page.is_visible("#samples") and page.is_visible("#detail")
    assert view.problems() == []


def test_dot_chart_and_baseline_select(synthetic_run, open_report):
    run = json.loads((synthetic_run / "run.json").read_text())
    f1 = {a["model"]: a for a in run["aggregates"] if a["metric"] == "f1"}
    view = open_report(synthetic_run / "report.html")
    page = view.page
    assert page.input_value("#baseline") == "base"  # the baseline the report was rendered with
    assert page.inner_text("#decision li").startswith("synth: ")
    assert " is best on exact_match (" in page.inner_text("#decision li")
    view.tab("charts")
    page.wait_for_selector("body[data-charts='drawn']")
    page.select_option("#chart-metric", "f1")
    page.wait_for_selector("body[data-charts='drawn']")
    dots = page.locator("#chart-bars")
    assert dots.locator("path.point").count() == len(f1)  # a dot per model, no bars
    assert dots.locator("g.errorbar").count() == len(f1)  # each with its CI
    assert "base (baseline)" in dots.inner_text()
    # the x axis is not forced to zero: its lowest tick lies near the lowest CI, not at 0
    ticks = [float(t.text_content() or "nan") for t in dots.locator(".xtick text").all()]
    lowest = min(a["ci_low"] for a in f1.values())
    assert lowest > 0.5 and 0.5 * lowest < min(ticks) <= max(a["ci_high"] for a in f1.values())
    page.select_option("#baseline", "small")
    page.wait_for_selector("body[data-charts='drawn']")
    assert "small (baseline)" in dots.inner_text() and "base (baseline)" not in dots.inner_text()
    view.tab("compare")
    assert page.inner_text("#c-baseline-th") == "baseline: small"
    assert page.inner_text("#c-baseline") == "small"
    assert page.is_hidden("#c-note")  # the tests against every baseline come with the report
    models = [o.get_attribute("value") for o in page.locator("#c-model option").all()]
    assert "small" not in models and "base" in models
    page.select_option("#baseline", "base")
    assert page.is_hidden("#c-note")
    assert page.locator("#c-table tbody tr >> nth=0 >> td >> nth=9").inner_text() in ("yes", "no")
    assert view.problems() == []


def _compare_cells(page) -> dict[str, list[str]]:
    rows = page.locator("#c-table tbody tr").all()
    return {r.locator("td").nth(1).inner_text(): r.locator("td").all_inner_texts() for r in rows}


def test_changing_the_baseline_shows_the_paired_tests_against_it(synthetic_run, open_report):
    """Picking another baseline in the page shows that baseline's paired tests, each with its own
    Holm family: the same p-values, Holm p and decisions as `evalkit compare --baseline` gives."""
    from evalkit.analysis.compare import compare_runs

    view = open_report(synthetic_run / "report.html")
    page = view.page
    view.tab("compare")
    for base, model in (("small", "base"), ("base-int8", "small")):
        page.select_option("#baseline", base)
        page.select_option("#c-model", model)
        assert page.inner_text("#c-baseline-th") == f"baseline: {base}"
        assert page.is_hidden("#c-note")
        shown = _compare_cells(page)
        # the report's resampling floor (2000) and `compare`'s default B coincide here
        expected = [r for r in compare_runs([synthetic_run], baseline=base) if r.model == model]
        assert sorted(shown) == sorted(r.metric for r in expected) == ["chrf", "exact_match", "f1"]
        for r in expected:
            cells = shown[r.metric]
            assert cells[6] == r.test
            assert float(cells[7]) == pytest.approx(r.p_value, rel=5e-3)
            assert float(cells[8]) == pytest.approx(r.p_holm, rel=5e-3)
            assert cells[9] == ("yes" if r.significant else "no")
    # 'small' (35% of its words rewritten) is significantly worse on f1 than 'base-int8' (10%)
    page.select_option("#baseline", "base-int8")
    page.select_option("#c-model", "small")
    assert _compare_cells(page)["f1"][9] == "yes"
    assert page.locator("#c-table tbody tr.worse").count() >= 1
    assert view.problems() == []


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Payloads in prompts, references, outputs and model names; the task renamed to one too."""
    root = tmp_path_factory.mktemp("xss")
    variants = {**dict(list(VARIANTS.items())[:1]), **hostile_variants()}
    task = write_task(
        root / "tasks" / "xss", 14, name="xss", payloads=XSS_PAYLOADS, variants=variants
    )
    run = root / "run"
    evalkit("run", f"tasks=[{task}]", f"run_dir={run}", cwd=root)
    hostile_task = "<img src=x onerror=alert('task')>"
    for name in ("samples.jsonl", "run.json"):
        text = (run / name).read_text()
        (run / name).write_text(text.replace('"xss"', json.dumps(hostile_task)))
    out = root / "report.html"
    evalkit("report", str(run), "-o", str(out), cwd=root)
    return out


@pytest.mark.parametrize("with_csp", [True, False], ids=["with-csp", "escaping-alone"])
def test_nothing_planted_in_the_data_runs(hostile_report, open_report, with_csp, tmp_path):
    html = hostile_report.read_text()
    assert html.count("<script") == 3  # the data block, plotly.js and the page's script
    path = hostile_report
    if not with_csp:  # the escaping must hold on its own, without the policy's second line
        path = tmp_path / "no-csp.html"
        path.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html))
    view = open_report(path)
    page = view.page
    for tab in ("charts", "samples", "compare", "provenance", "summary"):
        view.tab(tab)
    view.tab("samples")
    for i in range(3):
        page.click(f"#s-table tbody tr >> nth={i}")
        page.hover("#d-outputs .card >> nth=0")
    assert page.get_attribute("body", "data-pwned") is None
    assert view.dialogs == []
    assert page.evaluate("document.scripts.length") == 3
    assert page.locator("main img, main svg[onload], main a[href^='javascript']").count() == 0
    # the payloads are shown as text
    assert "<img src=x onerror=alert('task')>" in page.inner_text("#summary h3 >> nth=0")
    assert "<script>document.body.dataset.pwned='script'</script>" in page.inner_text("#d-input")
    assert view.errors == []


def test_sample_card_diffs_the_closest_reference_with_a_case_option(tmp_path, open_report):
    refs = ["The cat sat on the mat", "A dog ran in the park today"]
    task = tmp_path / "tasks" / "refs"
    task.mkdir(parents=True)
    (task / "data.jsonl").write_text(json.dumps({"id": "s0", "prompt": "p", "answer": refs}) + "\n")
    output = {
        "id": "s0",
        "system": "m1",
        "output": "a DOG ran in the park",
        "human": {"coherence": 3.5},
    }
    (task / "outputs.jsonl").write_text(json.dumps(output) + "\n")
    (task / "task.yaml").write_text(
        "name: refs\nversion: 1\ndescription: two references\ndata: data.jsonl\n"
        "fields: {id: id, input: prompt, references: answer}\nprompt: '{{ input }}'\n"
        "scorers: {f1: {}}\noutputs: outputs.jsonl\n"
    )
    evalkit("run", f"tasks=[{task}]", f"run_dir={tmp_path / 'run'}", cwd=tmp_path)
    view = open_report(tmp_path / "run" / "report.html")
    page = view.page
    view.tab("samples")
    page.click("#s-table tbody tr >> nth=0")
    card = page.locator("#d-outputs .card")
    assert card.locator(".diff-ref").inner_text() == "diff against reference 2 of 2 (closest)"
    assert card.locator("ins").all_inner_texts() == ["a", "DOG"]  # case counts by default
    assert card.locator("del").all_inner_texts() == ["A", "dog", "today"]
    assert card.locator("p.human").inner_text() == "human ratings: coherence 3.50"
    page.check("#d-nocase")
    card = page.locator("#d-outputs .card")
    assert card.locator("ins").count() == 0
    assert card.locator("del").all_inner_texts() == ["today"]
    assert view.problems() == []


def test_a_dominating_model_is_drawn_as_the_frontier(tmp_path, open_report):
    variants = {"fast-good": (0.0, 0.10, 0.0001), "slow-bad": (0.5, 0.90, 0.0020)}
    task = write_task(tmp_path / "tasks" / "dom", 30, name="dom", seed=3, variants=variants)
    evalkit("run", f"tasks=[{task}]", f"run_dir={tmp_path / 'run'}", cwd=tmp_path)
    view = open_report(tmp_path / "run" / "report.html")
    view.tab("charts")
    view.page.wait_for_selector("body[data-charts='drawn']")
    for axis in ("lat50", "lat95", "cost1k"):
        chart = view.page.locator(f"#chart-{axis}")
        assert chart.get_attribute("data-frontier") == "fast-good"
        legend = chart.locator(".legend .traces text.legendtext").all()
        assert "Pareto frontier: fast-good dominates" in [t.text_content() for t in legend]
    assert view.problems() == []
