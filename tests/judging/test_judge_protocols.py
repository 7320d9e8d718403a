"""Peer judging protocols (`evalkit judge RUN protocol=...`) against a scripted judge server:
Arena-Hard's five-point scale in both orders with strong verdicts counted 3 times (expected
figures worked out by hand from arena-hard-auto's show_result definition), AlpacaEval's single
randomized order, and protocol/rubric mismatches as one-line errors."""

from __future__ import annotations

import json
import re

import pytest

from evalkit.judges.judge_protocols import parse_five_point
from evalkit.judges.parse import ParseFailure
from tests.backends.judge_server import JudgeServer
from tests.judging.test_judging import _between, _toy_run_once, judge_args, toy_run  # noqa: F401  (fixture)


def _answers(messages):
    text = messages[-1]["content"]
    question = int(re.search(r"What is (\d+) plus", text).group(1))
    a = _between(text, "[Answer A]", "[Answer B]")
    b = _between(text, "[Answer B]", "Give" if "Give a short" in text else "Reply")
    return a == str(2 * question), b == str(2 * question)


def test_arena_hard_counts_strong_verdicts_three_times(run_cli, toy_run):  # noqa: F811
    def reply(messages):
        a_right, b_right = _answers(messages)
        if a_right and not b_right:
            return "A is correct. [[A>>B]]"
        if b_right and not a_right:
            return "B is correct, A is not. [[B>A]]"
        return "Both are wrong. [[A=B]]"

    with JudgeServer(reply) as server:
        args = judge_args(server, "protocol=arena_hard", "pairwise.baseline=bad")
        out = run_cli("judge", str(toy_run), *args)
    assert out.returncode == 0, out.stderr
    run = json.loads((toy_run / "run.json").read_text())
    assert run["pairwise"]["protocol"] == "arena_hard"
    assert run["pairwise"]["rubric"].startswith("pairwise_five_point")
    [row] = run["pairwise"]["tasks"]["toy_qa"]["win_rates"]
    # 30 questions 'good' answers right: A>>B (3 battles) + B>A (1) = 4 wins each;
    # 10 where both are wrong: A=B twice = 2 half-battles each
    assert row["n"] == 140 and (row["wins"], row["ties"], row["losses"]) == (120, 20, 0)
    assert row["win_rate"] == pytest.approx(round(130 / 140, 4))
    [report] = [r for r in run["judge_reports"] if r["kind"] == "pairwise"]
    assert report["judgments"] == 80 and report["swap_consistency"] == 1.0


def test_alpaca_eval_judges_each_pair_once_in_a_seeded_random_order(run_cli, toy_run):  # noqa: F811
    def reply(messages):
        a_right, b_right = _answers(messages)
        return '{"verdict": "%s"}' % ("A" if a_right else "B" if b_right else "tie")

    with JudgeServer(reply) as server:
        args = judge_args(server, "protocol=alpaca_eval", "pairwise.baseline=bad")
        out = run_cli("judge", str(toy_run), *args)
        assert out.returncode == 0, out.stderr
        first = (toy_run / "pairwise.jsonl").read_text()
        again = run_cli("judge", str(toy_run), *args)
    assert again.returncode == 0, again.stderr
    lines = [json.loads(x) for x in first.splitlines()]
    rerun = [json.loads(x) for x in (toy_run / "pairwise.jsonl").read_text().splitlines()]
    slots = [(x["verdict_first_as_a"], x["verdict_first_as_b"]) for x in lines]
    assert slots == [(x["verdict_first_as_a"], x["verdict_first_as_b"]) for x in rerun]
    shown_first = [a is not None for a, _ in slots]
    assert all((a is None) != (b is None) for a, b in slots)  # exactly one order asked
    assert 5 < sum(shown_first) < 35  # both orders occur
    run = json.loads((toy_run / "run.json").read_text())
    [row] = run["pairwise"]["tasks"]["toy_qa"]["win_rates"]
    assert row["n"] == 40 and row["win_rate"] == pytest.approx((30 + 10 * 0.5) / 40)
    [report] = [r for r in run["judge_reports"] if r["kind"] == "pairwise"]
    assert report["judgments"] == 40 and report["swap_consistency"] is None


def test_a_protocol_with_the_wrong_kind_of_rubric_is_a_one_line_error(run_cli, toy_run):  # noqa: F811
    out = run_cli(
        "judge", str(toy_run), "protocol=mt_bench_single", "judge=pairwise_preference",
        "judge_model=openai",
    )  # fmt: skip
    assert out.returncode == 2 and "protocol mt_bench_single judges pointwise" in out.stderr
    out = run_cli("judge", str(toy_run), "protocol=lmsys", "judge_model=openai")
    assert out.returncode == 2 and "protocol" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_five_point_labels_are_read_from_the_final_statement():
    assert parse_five_point("<think>[[A>>B]]</think> On reflection [[B > A]]").value == "B>A"
    with pytest.raises(ParseFailure):
        parse_five_point("A is better")


def test_recorded_verdicts_judge_a_run_without_a_judge_model(run_cli, toy_run, tmp_path):  # noqa: F811
    """`recorded=`: the verdicts of a file join the run's pairs by sample id (evalkit JSONL) or
    by input text (AlpacaEval's instruction); fractional preferences are kept."""
    rows = [
        {"item": f"q{i}", "first": "good", "second": "bad", "outcome": 1.0, "judge": "past-run"}
        for i in range(10, 30)
    ]
    path = tmp_path / "verdicts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    alpaca = [  # the baseline is generator_1; preference 1.25 is 0.25 for 'bad' vs 'good'
        {"instruction": f"What is {i} plus {i}?", "generator_1": "good", "generator_2": "bad",
         "preference": 1.25, "output_1": "x", "output_2": "y"}
        for i in range(10)
    ]  # fmt: skip
    (tmp_path / "annotations.json").write_text(json.dumps(alpaca), encoding="utf-8")
    out = run_cli(
        "judge", str(toy_run), "judge=pairwise_preference", f"recorded={path}", "progress=false",
        "pairwise.baseline=bad",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    run = json.loads((toy_run / "run.json").read_text())
    assert run["pairwise"]["judge"] == "recorded:past-run"
    [row] = run["pairwise"]["tasks"]["toy_qa"]["win_rates"]
    assert (row["n"], row["win_rate"]) == (20, 1.0)
    out = run_cli(
        "judge", str(toy_run), "judge=pairwise_preference", "progress=false",
        f"recorded={tmp_path / 'annotations.json'}", "recorded_format=alpaca_eval",
        "pairwise.baseline=bad",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    run = json.loads((toy_run / "run.json").read_text())
    [row] = run["pairwise"]["tasks"]["toy_qa"]["win_rates"]
    assert (row["n"], row["win_rate"]) == (10, 0.75)
    assert len((toy_run / "pairwise.jsonl").read_text().splitlines()) == 10
    (tmp_path / "other.jsonl").write_text(
        '{"item": "z", "first": "a", "second": "b", "outcome": 1}\n'
    )
    out = run_cli(
        "judge", str(toy_run), "judge=pairwise_preference", f"recorded={tmp_path / 'other.jsonl'}"
    )
    assert out.returncode == 2 and "no recorded judgment matches this run" in out.stderr
    # a file that is not UTF-8 was a UnicodeDecodeError traceback; Arena-Hard's missing
    # baseline named `--baseline`, an option `evalkit judge` does not have
    (tmp_path / "latin1.jsonl").write_bytes(b'{"item": "caf\xe9", "first": "a"}\n')
    for args, message in [
        ([f"recorded={tmp_path / 'latin1.jsonl'}"], "latin1.jsonl:1: not valid UTF-8 (byte 0xe9"),
        ([f"recorded={path}", "recorded_format=arena_hard"], "pass pairwise.baseline=MODEL"),
        ([f"recorded={path}", "seed=-1"], "seed: Input should be greater than or equal to 0"),
    ]:
        out = run_cli("judge", str(toy_run), "judge=pairwise_preference", *args)
        assert out.returncode == 2 and message in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
