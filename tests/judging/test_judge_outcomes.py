"""What `evalkit judge` reads, prints and exits with: a five-point rubric read on its own scale
with or without a protocol, the tables of the rubric just judged (a protocol's, the judged
pointwise metric's), and exit status 3 with one line when every judgment failed, after storing
them (as `evalkit run` does when every sample failed)."""

from __future__ import annotations

import json

import pytest

from tests.backends.judge_server import JudgeServer
from tests.judging.test_judge_protocols import _answers
from tests.judging.test_judging import _toy_run_once, judge_args, toy_run  # noqa: F401  (fixture)


def _five_point(messages):
    """As the rubric asks: a rationale, then one label (A>>B when only A is right, B>A when
    only B is, A=B when both are wrong)."""
    a_right, b_right = _answers(messages)
    label = "A>>B" if a_right and not b_right else "B>A" if b_right and not a_right else "A=B"
    return f"Checked both sums. My final verdict is [[{label}]]"


@pytest.mark.parametrize("protocol", [[], ["protocol=arena_hard"]])
def test_a_five_point_rubric_is_read_on_its_scale_and_its_tables_printed(
    run_cli,
    toy_run,  # noqa: F811
    protocol,
):
    judge = [] if protocol else ["judge=pairwise_five_point"]
    with JudgeServer(_five_point) as server:
        args = judge_args(server, *judge, *protocol, "pairwise.baseline=bad")
        out = run_cli("judge", str(toy_run), *args)
    assert out.returncode == 0, out.stderr
    run = json.loads((toy_run / "run.json").read_text())
    assert run["pairwise"]["rubric"] == "pairwise_five_point@v1"
    [row] = run["pairwise"]["tasks"]["toy_qa"]["win_rates"]
    # as test_arena_hard_counts_strong_verdicts_three_times: 30 pairs A>>B + B>A (4 wins each),
    # 10 pairs A=B twice (2 ties each)
    assert row["n"] == 140 and (row["wins"], row["ties"], row["losses"]) == (120, 20, 0)
    assert "toy_qa: win rate vs bad" in out.stdout and "Bradley-Terry" in out.stdout


def test_a_protocol_given_a_rubric_of_the_other_scale_is_a_one_line_error(run_cli, toy_run):  # noqa: F811
    out = run_cli(
        "judge", str(toy_run), "protocol=arena_hard", "judge=pairwise_preference",
        "judge_model=openai",
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "protocol arena_hard reads five-way verdicts" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_pointwise_judging_prints_the_judged_metric_ranked(run_cli, toy_run):  # noqa: F811
    with JudgeServer(lambda messages: '{"rationale": "ok", "score": 6}') as server:
        out = run_cli("judge", str(toy_run), *judge_args(server))
    assert out.returncode == 0, out.stderr
    assert "toy_qa: ranked by overall_quality (judged)" in out.stdout


def _last_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_every_pairwise_judgment_failing_exits_3_after_storing_them(run_cli, toy_run):  # noqa: F811
    with JudgeServer(lambda messages: "Both answers have merits.") as server:
        args = judge_args(server, "judge=pairwise_preference", "reask=0")
        out = run_cli("judge", str(toy_run), *args)
    assert out.returncode == 3, out.stderr
    line = _last_line(out.stderr)
    assert "every judgment failed (40 of 40; first error: " in line and "no verdict" in line
    assert len((toy_run / "pairwise.jsonl").read_text().splitlines()) == 40
    run = json.loads((toy_run / "run.json").read_text())
    assert run["pairwise"]["rubric"] == "pairwise_preference@v1"
    [report] = [r for r in run["judge_reports"] if r["kind"] == "pairwise"]
    assert report["pairs"] == 40


def test_every_pointwise_judgment_failing_exits_3_after_storing_them(run_cli, toy_run):  # noqa: F811
    with JudgeServer(lambda messages: "a fine answer") as server:
        out = run_cli("judge", str(toy_run), *judge_args(server, "reask=0"))
    assert out.returncode == 3, out.stderr
    assert "every judgment failed (80 of 80; first error: " in _last_line(out.stderr)
    run = json.loads((toy_run / "run.json").read_text())
    judged = [a for a in run["aggregates"] if a["metric"] == "overall_quality"]
    assert judged and all(a["n_failed"] == 40 for a in judged)


def test_an_unreachable_judge_exits_3_naming_the_error(run_cli, toy_run):  # noqa: F811
    out = run_cli(
        "judge", str(toy_run), "judge_model=openai", "judge_model.base_url=http://127.0.0.1:9/v1",
        "judge_model.api_key_env=null", "judge_model.max_tries=1", "progress=false",
    )  # fmt: skip
    assert out.returncode == 3, out.stderr
    line = _last_line(out.stderr)
    assert "every judgment failed (80 of 80; first error: judge call failed" in line
