"""`evalkit judge` on a finished run against scripted judge servers on 127.0.0.1: pointwise
scores joining the run, pairwise comparison in both orders with exact swap-consistency and tie
handling, Bradley-Terry against an independent solver, agreement statistics."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from evalkit.analysis.judge_reliability import model_family, self_preference
from evalkit.stats.agreement import cohen_kappa, krippendorff_alpha
from evalkit.stats.pairwise_stats import (
    Comparison,
    bradley_terry_strengths,
    length_controlled_win_rate,
)
from tests.backends.judge_server import JudgeServer
from tests.conftest import write_qa_task
from tests.report.conftest import report_data


def _between(text: str, start: str, end: str) -> str:
    return re.search(re.escape(start) + r"\n(.*?)\n\n" + re.escape(end), text, re.DOTALL).group(1)


@pytest.fixture(scope="module")
def _toy_run_once(tmp_path_factory):
    """The toy task's run, made once per module in process (`evalkit run`'s code path)."""
    from evalkit.app.api import evaluate

    root = tmp_path_factory.mktemp("toy_run")
    task = write_qa_task(root / "tasks" / "toy_qa")
    evaluate([str(task / "task.yaml")], run_dir=root / "run", progress=False)
    return root


@pytest.fixture
def toy_run(_toy_run_once, tmp_path):
    """A fresh copy of the toy run for each test (judging writes into it)."""
    shutil.copytree(_toy_run_once, tmp_path / "toy", symlinks=True)
    return tmp_path / "toy" / "run"


def judge_args(server, *extra):
    return [
        "judge_model=openai", f"judge_model.base_url={server.base_url}",
        "judge_model.api_key_env=null", "judge_model.model=strict-judge", "progress=false",
        *extra,
    ]  # fmt: skip


def test_pointwise_scores_join_the_run_and_failures_are_counted(run_cli, toy_run, tmp_path):
    def reply(messages):
        answer = _between(messages[1]["content"], "[Answer]", "Reply")  # [1]: also on a re-ask
        if answer == "I do not know":
            return "no idea what to score"  # unreadable, every time
        score = 9 if answer.isdigit() else 1
        return f'{{"rationale": "checked", "score": {score}}}'

    with JudgeServer(reply) as server:
        out = run_cli("judge", str(toy_run), *judge_args(server))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("report.html")
    run = json.loads((toy_run / "run.json").read_text())
    aggs = {(a["model"], a["metric"]): a for a in run["aggregates"]}
    good = aggs[("good", "overall_quality")]
    assert good["n_failed"] == 10 and good["n"] == 30 and good["value"] == 9.0
    assert aggs[("good", "exact_match")]["value"] == pytest.approx(0.75)  # old scores kept
    [report] = [r for r in run["judge_reports"] if r["kind"] == "pointwise"]
    assert report["parse_failure_rate"] == pytest.approx(10 / 80)
    assert report["judge"] == "strict-judge"
    assert any(name == "judge" for name, _ in run["task_scorers"]["toy_qa"])
    html = (toy_run / "report.html").read_text()
    assert "overall_quality" in html and "Judge reliability" in html
    assert "high parse-failure rate: 12.5%" in html  # 10 of 80 replies unreadable: flagged
    failed = [
        s
        for line in (toy_run / "samples.jsonl").read_text().splitlines()
        for s in json.loads(line)["scores"]
        if s["name"] == "overall_quality" and s["status"] == "parse_error"
    ]
    assert failed and failed[-1]["details"]["raw"][0] == "no idea what to score"
    # the report's sample browser carries every rationale and every parse failure with its reason
    data = report_data(html)
    metric = [m["name"] for m in data["metrics"]["toy_qa"]].index("overall_quality")
    rationales = [why for notes in data["outputs"]["x"].values() for k, why in notes if k == metric]
    parse_errors = [f for fails in data["outputs"]["f"].values() for f in fails if f[0] == metric]
    assert rationales == ["checked"] * 70
    assert len(parse_errors) == 10 and all(f[1] == "parse_error" and f[2] for f in parse_errors)


def test_pairwise_both_orders_swap_consistency_and_ties(run_cli, toy_run):
    """The judge prefers the answer shown first for q0-q9 (position bias: inconsistent), calls
    q30-q39 a tie, and elsewhere prefers A when it is right, else B: consistent when one answer
    is right, inconsistent when both are wrong ('good' says "I do not know" on every 4th)."""

    def reply(messages):
        text = messages[-1]["content"]
        question = int(re.search(r"What is (\d+) plus", text).group(1))
        a = _between(text, "[Answer A]", "[Answer B]")
        if question < 10:
            return '{"verdict": "A"}'
        if question >= 30:
            return "[[C]]"
        return '{"verdict": "%s"}' % ("A" if a == str(2 * question) else "B")

    with JudgeServer(reply) as server:
        out = run_cli(
            "judge", str(toy_run), *judge_args(server, "judge=pairwise_preference",
                                               "pairwise.baseline=bad"),
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        dropping = ["judge=pairwise_preference", "pairwise.baseline=bad"]
        dropping.append("pairwise.inconsistent=drop")
        drop = run_cli("judge", str(toy_run), *judge_args(server, *dropping))
    assert drop.returncode == 0, drop.stderr
    run = json.loads((toy_run / "run.json").read_text())
    [row] = run["pairwise"]["tasks"]["toy_qa"]["win_rates"]
    # inconsistent, dropped: q0-q9 and q12, q16, q20, q24, q28; won: the other 15 of q10-q29
    assert row["model"] == "good" and row["n"] == 25
    assert (row["wins"], row["ties"], row["losses"]) == (15, 10, 0)
    [report] = [r for r in run["judge_reports"] if r["kind"] == "pairwise"]
    assert report["pairs"] == 40 and report["swap_consistency"] == pytest.approx(25 / 40)
    assert report["tie_rate"] == pytest.approx(20 / 80)
    lines = [json.loads(x) for x in (toy_run / "pairwise.jsonl").read_text().splitlines()]
    assert len(lines) == 40 and sum(line["consistent"] is False for line in lines) == 15


def test_pairwise_inconsistent_verdicts_count_as_ties_by_default(run_cli, toy_run):
    with JudgeServer(lambda messages: '{"verdict": "A"}') as server:
        out = run_cli("judge", str(toy_run), *judge_args(server, "judge=pairwise_preference"))
    assert out.returncode == 0, out.stderr
    run = json.loads((toy_run / "run.json").read_text())
    [row] = run["pairwise"]["tasks"]["toy_qa"]["win_rates"]
    assert (row["wins"], row["ties"], row["losses"]) == (0, 40, 0) and row["win_rate"] == 0.5
    [report] = [r for r in run["judge_reports"] if r["kind"] == "pairwise"]
    assert report["swap_consistency"] == 0 and report["first_position_preference"] == 1


def test_without_a_judge_model_the_error_says_how_to_name_one(run_cli, toy_run):
    out = run_cli("judge", str(toy_run))
    assert out.returncode == 2 and "no judge model configured" in out.stderr
    out = run_cli("judge", str(toy_run), "judge=nope", "judge_model=openai")
    assert out.returncode == 2 and "unknown rubric 'nope'" in out.stderr


def test_bradley_terry_equals_an_independent_maximum_likelihood_fit():
    """choix's ILSR against plain logistic-regression maximum likelihood (scipy), the
    Bradley-Terry model written out: P(i beats j) = sigmoid(s_i - s_j)."""
    from scipy import optimize

    rng = np.random.default_rng(0)
    true = np.array([0.0, 0.5, 1.0, -0.7])
    comparisons = []
    for k in range(600):
        i, j = rng.choice(4, size=2, replace=False)
        p = 1 / (1 + np.exp(-(true[i] - true[j])))
        comparisons.append(Comparison(str(k), f"m{i}", f"m{j}", float(rng.random() < p), 0.0))
    models = ["m0", "m1", "m2", "m3"]
    ours = bradley_terry_strengths(comparisons, models, alpha=0.0)

    def nll(s):
        s = np.concatenate([[0.0], s])
        total = 0.0
        for c in comparisons:
            d = s[int(c.first[1])] - s[int(c.second[1])]
            total += np.logaddexp(0, d) - c.outcome * d
        return total

    fit = optimize.minimize(nll, np.zeros(3), method="BFGS").x
    reference = np.concatenate([[0.0], fit])
    reference -= reference.mean()
    assert ours == pytest.approx(reference, abs=1e-4)


def test_length_controlled_win_rate_removes_a_pure_length_effect():
    rng = np.random.default_rng(1)
    diffs = rng.normal(0, 50, size=2000)
    wins = (rng.random(2000) < 1 / (1 + np.exp(-2.0 * np.tanh(diffs / 50)))).astype(float)
    raw = wins.mean()
    lc, slope = length_controlled_win_rate(wins, diffs, float(np.std(diffs)))
    assert abs(lc - 0.5) < 0.04 and slope > 1.5  # only length mattered: LC ~ 50%
    shifted = length_controlled_win_rate(wins, diffs + 40, float(np.std(diffs)))[0]
    assert shifted < raw - 0.1  # a model whose answers are longer gets no credit for it


def test_agreement_statistics_equal_reference_implementations():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(2)
    a = rng.integers(1, 6, size=300)
    b = np.where(rng.random(300) < 0.6, a, rng.integers(1, 6, size=300))
    assert cohen_kappa(list(a), list(b)) == pytest.approx(sklearn_metrics.cohen_kappa_score(a, b))
    # Krippendorff's alpha with missing ratings: our None handling vs the package on NaN
    import krippendorff

    table = [[1, 2, 3, None, 2], [1, 2, 4, 3, None], [2, 2, 3, 3, 2]]
    data = np.array([[np.nan if v is None else v for v in row] for row in table], dtype=float)
    assert krippendorff_alpha(table) == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="interval")
    )
    assert krippendorff_alpha([[1, 2, 3], [1, 2, 3]]) == pytest.approx(1.0)


def test_self_preference_flags_a_shared_model_family():
    assert model_family("gpt-4o-mini") == model_family("gpt-3.5-turbo") == "gpt"
    assert model_family("meta-llama/Llama-3.1-8B") == "llama"
    assert self_preference("gpt-4o", ["gpt-4o-mini", "claude-3", "llama-3"]) == ["gpt-4o-mini"]


def test_a_panel_of_judges_reports_inter_judge_agreement(toy_run):
    from evalkit.judging.command import JudgeConfig, judge_run

    def exact(messages):
        answer = _between(messages[1]["content"], "[Answer]", "Reply")
        return '{"score": 9}' if answer.isdigit() and int(answer) % 2 == 0 else '{"score": 2}'

    def lenient(messages):
        return '{"score": 9}'

    with JudgeServer(exact) as one, JudgeServer(exact) as two, JudgeServer(lenient) as three:
        config = JudgeConfig.from_dict(
            {
                "judge_model": one.model("exact-a"),
                "panel": [two.model("exact-b"), three.model("lenient")],
                "combine": "majority",
                "progress": False,
                "cache": {"enabled": False},
            }
        )
        record = judge_run(toy_run, config)
    [panel] = [r for r in record.judge_reports if r["kind"] == "panel"]
    kappas = panel["cohen_kappa"]
    assert kappas["overall_quality@exact-a vs overall_quality@exact-b"] == 1.0
    assert kappas["overall_quality@exact-a vs overall_quality@lenient"] == 0.0
    assert -1 < panel["krippendorff_alpha_interval"] < 1
    aggs = {(a.model, a.metric): a.value for a in record.aggregates}
    assert aggs[("bad", "overall_quality")] == 2.0  # the two exact judges outvote the lenient one


# maszhongming/UniEval reproduce/README.md: sample-level (Spearman, Kendall) of UniEval's scores
# with the human ratings; the shared files carry both, so UniEval plays the judge here.
UNIEVAL_PUBLISHED = [
    ("qags_cnndm", "consistency", 0.662255, 0.531636),
    ("qags_xsum", "consistency", 0.48792, 0.399218),
    ("topical_chat", "overall", 0.662583, 0.487272),
]


@pytest.mark.parametrize(("dataset", "dimension", "spearman", "kendall"), UNIEVAL_PUBLISHED)
def test_judge_agreement_with_humans_reproduces_published_values(
    dataset, dimension, spearman, kendall
):
    """The reliability report's human-agreement figures, fed a judge whose scores and human
    ratings are public, equal the correlations its authors published for them."""
    from evalkit.analysis.judge_reliability import pointwise_report
    from evalkit.types import ChatMessage, Generation, Request, SampleRecord, Score
    from tests.conftest import SHARED_DATA

    path = SHARED_DATA / "unieval_meta" / f"{dataset}.jsonl"
    if not path.is_file():
        pytest.skip("shared UniEval data not present")
    records = []
    for index, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        row = json.loads(line)
        record = SampleRecord(
            task=dataset,
            model=f"system-{row.get('system_id', 0)}",
            sample_id=str(row.get("doc_id", index)),
            index=index,
            request=Request(
                task=dataset, sample_id=str(index), messages=[ChatMessage(role="user", content="-")]
            ),
            generation=Generation(text=row["system_output"], metadata={"human": row["scores"]}),
            scores=[],
        )
        score = Score(name="unieval", value=row["unieval_predict_scores"][dimension])
        records.append((record, score))
    report = pointwise_report("unieval", dimension, "unieval", "unieval", records)
    assert report["human_n"] == len(records)
    assert report["human_sample_spearman"] == round(spearman, 4)
    assert report["human_sample_kendall"] == round(kendall, 4)
