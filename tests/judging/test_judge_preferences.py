"""Logprob-weighted pairwise preferences (AlpacaEval 2's weighted annotator, for A / B / tie
verdicts): the probability read at the verdict's own token, carried through win rates."""

from __future__ import annotations

import json
import math
import re

import pytest

from evalkit.judges.parse import parse_preference
from evalkit.judges.preference import logprob_preference, reads_as
from tests.backends.judge_server import JudgeServer
from tests.judging.test_judging import _between, _toy_run_once, judge_args, toy_run  # noqa: F401


def tokens_and_logprobs(label: str) -> tuple[str, dict]:
    """A reply with a decoy letter before the verdict: the decoy " B" token is certain, the
    verdict token spreads 0.8 / 0.15 / 0.05 (tie: 0.8 tie, 0.1 each)."""
    if label == "C":
        spread = {"C": 0.8, "A": 0.1, "B": 0.1}
    else:
        other = "B" if label == "A" else "A"
        spread = {label: 0.8, other: 0.15, "C": 0.05}
    top = [{"token": t, "logprob": math.log(p)} for t, p in spread.items()]
    pieces = [("Answer", []), (" B", [{"token": " B", "logprob": 0.0}]), (" looks short. ", [])]
    pieces += [("[[", []), (label, top), ("]]", [])]
    content = [{"token": t, "logprob": 0.0, "top_logprobs": alts} for t, alts in pieces]
    return "".join(t for t, _ in pieces), {"content": content}


def test_the_verdict_token_decides_not_a_letter_written_before_it() -> None:
    text, logprobs = tokens_and_logprobs("A")
    verdict = parse_preference(text)
    assert verdict.value == "A" and verdict.span is not None
    assert text[verdict.span[0] : verdict.span[1]] == "A"
    assert logprob_preference(logprobs, "A", verdict.span) == pytest.approx(0.8 + 0.05 / 2)
    text, logprobs = tokens_and_logprobs("B")
    verdict = parse_preference(text)
    assert logprob_preference(logprobs, "B", verdict.span) == pytest.approx(0.15 + 0.05 / 2)
    text, logprobs = tokens_and_logprobs("C")
    verdict = parse_preference(text)
    assert verdict.value == "tie"
    assert logprob_preference(logprobs, "tie", verdict.span) == pytest.approx(0.1 + 0.8 / 2)


@pytest.mark.parametrize(
    ("reply", "written"),
    [
        ('{"reason": "B is long", "verdict": "A"}', "A"),
        ("I prefer Response B.", "I prefer Response B"),
        ("<verdict>tie</verdict>", "tie"),
        ("Final verdict: Output (a)", "a"),
    ],
)
def test_every_verdict_form_records_where_it_is_written(reply: str, written: str) -> None:
    verdict = parse_preference(reply)
    assert verdict.span is not None
    assert reply[verdict.span[0] : verdict.span[1]] == written


def test_no_usable_logprobs_is_none() -> None:
    text, logprobs = tokens_and_logprobs("A")
    span = parse_preference(text).span
    assert logprob_preference(None, "A", span) is None
    assert logprob_preference({"content": None}, "A", span) is None
    assert logprob_preference(logprobs, "A", None) is None
    assert logprob_preference(logprobs, "B", span) is None  # the verdict's token reads as A
    no_mass = {"content": [{"token": "A", "top_logprobs": [{"token": "x", "logprob": 0.0}]}]}
    assert logprob_preference(no_mass, "A", (0, 1)) is None


def test_tokens_that_read_as_verdicts() -> None:
    assert [reads_as(t) for t in [" A", "a", "[[B", "C", " tie", "Draw", "x", "AB"]] == [
        "A", "A", "B", "tie", "tie", "tie", None, None,
    ]  # fmt: skip


def test_pairwise_win_rate_from_logprob_preferences(run_cli, toy_run) -> None:  # noqa: F811
    """The judge names the right answer (a tie when both are wrong) with probability 0.8; the
    outcome of a pair is the mean over both orders of P(first wins), as AlpacaEval's weighted
    win rate is the mean preference. Without logprobs=true the same replies count as labels."""

    def reply(messages):
        text = messages[-1]["content"]
        question = int(re.search(r"What is (\d+) plus", text).group(1))
        a = _between(text, "[Answer A]", "[Answer B]")
        b = re.search(r"\[Answer B\]\n(.*?)\n\n", text, re.DOTALL).group(1)
        right = str(2 * question)
        return tokens_and_logprobs("A" if a == right else "B" if b == right else "C")

    pairwise = ["judge=pairwise_preference", "pairwise.baseline=bad"]
    weighted = [*pairwise, "logprobs=true", "judge_model.logprobs=true"]
    weighted.append("judge_model.top_logprobs=5")
    with JudgeServer(reply) as server:
        out = run_cli("judge", str(toy_run), *judge_args(server, *weighted))
        assert out.returncode == 0, out.stderr
        run = json.loads((toy_run / "run.json").read_text())
        lines = [json.loads(x) for x in (toy_run / "pairwise.jsonl").read_text().splitlines()]
        plain = run_cli("judge", str(toy_run), *judge_args(server, *pairwise))
    assert plain.returncode == 0, plain.stderr
    # 'good' is right on 30 of 40 questions (it says "I do not know" on every 4th), 'bad' on none
    [row] = run["pairwise"]["tasks"]["toy_qa"]["win_rates"]
    assert row["model"] == "good" and row["n"] == 40
    assert row["win_rate"] == pytest.approx(
        (30 * (0.8 + 0.05 / 2) + 10 * 0.5) / 40, abs=5e-5
    )  # 4 digits
    assert (row["wins"], row["ties"], row["losses"]) == (30, 10, 0)
    right = [line for line in lines if line["outcome"] != 0.5]
    assert len(right) == 30
    for line in right:  # the first model's win probability in each order, then their mean
        good_first = line["first"] == "good"
        p = 0.8 + 0.05 / 2 if good_first else 0.15 + 0.05 / 2
        assert line["preferences"] == pytest.approx([p, p])
        assert line["outcome"] == pytest.approx(p) and line["battles"] == pytest.approx([p])
        assert line["consistent"] is True
    [report] = [r for r in run["judge_reports"] if r["kind"] == "pairwise"]
    assert report["swap_consistency"] == 1 and report["tie_rate"] == pytest.approx(20 / 80)
    run = json.loads((toy_run / "run.json").read_text())
    [row] = run["pairwise"]["tasks"]["toy_qa"]["win_rates"]
    assert row["win_rate"] == pytest.approx((30 + 10 * 0.5) / 40)  # labels only


def test_logprobs_with_a_five_point_protocol_is_a_one_line_error(run_cli, toy_run) -> None:  # noqa: F811
    with JudgeServer(lambda messages: "[[A>B]]") as server:
        out = run_cli(
            "judge", str(toy_run), *judge_args(server, "protocol=arena_hard", "logprobs=true")
        )
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "evalkit: error: logprobs=true weighs three-way verdicts (A, B, tie); "
        "protocol=arena_hard judges on a five-point scale"
    ]


def test_weighting_keeps_the_labels_outcome_for_the_bias_figures() -> None:
    from evalkit.judging.command import PairJudgment, weighted

    labels = PairJudgment("q", "m", "base", ("A", "B"), (None, None), 1.0, True, (9, 3), [],
                          None, [1.0])  # fmt: skip
    both = weighted(labels, (0.9, 0.7))
    assert (both.outcome, both.battles, both.label_outcome) == (
        pytest.approx(0.8),
        [both.outcome],
        1.0,
    )
    partly = weighted(labels, (0.9, None))  # an order without logprobs: labels count
    assert (partly.outcome, partly.preferences, partly.label_outcome) == (1.0, (0.9, None), 1.0)
    one_order = PairJudgment("q", "m", "base", (None, "B"), (None, None), 1.0, None, (9, 3), [],
                             None, [1.0])  # fmt: skip
    assert weighted(one_order, (None, 0.6)).outcome == 0.6
    dropped = PairJudgment("q", "m", "base", ("A", "A"), (None, None), None, False, (9, 3), [],
                           None, [])  # fmt: skip
    kept = weighted(dropped, (0.9, 0.1))  # pairwise.inconsistent=drop holds
    assert (kept.outcome, kept.battles, kept.preferences) == (None, [], (0.9, 0.1))


def test_a_judge_without_logprobs_is_named_and_counts_by_labels(run_cli, toy_run) -> None:  # noqa: F811
    with JudgeServer(lambda messages: "[[A]]") as server:  # no logprobs in any reply
        args = judge_args(server, "judge=pairwise_preference", "logprobs=true")
        out = run_cli("judge", str(toy_run), *args)
    assert out.returncode == 0, out.stderr
    assert "logprobs=true: 40 of 40 pairs had no verdict logprobs" in out.stderr
    run = json.loads((toy_run / "run.json").read_text())
    [row] = run["pairwise"]["tasks"]["toy_qa"]["win_rates"]
    assert row["win_rate"] == 0.5  # always "A": inconsistent, a tie by default


def test_logprobs_in_one_order_only_are_kept_and_named(run_cli, toy_run) -> None:  # noqa: F811
    def reply(messages):
        text = messages[-1]["content"]
        a = _between(text, "[Answer A]", "[Answer B]")
        if a.isdigit() and int(a) % 2 == 0 and a != "0":  # 'good' shown as A and right
            return tokens_and_logprobs("A")
        return "[[B]]" if a != "I do not know" else "[[C]]"

    args = ["judge=pairwise_preference", "pairwise.baseline=bad", "logprobs=true"]
    args += ["judge_model.logprobs=true", "judge_model.top_logprobs=5"]
    with JudgeServer(reply) as server:
        out = run_cli("judge", str(toy_run), *judge_args(server, *args))
    assert out.returncode == 0, out.stderr
    assert "pairs had verdict logprobs in only one of the orders asked" in out.stderr
    lines = [json.loads(x) for x in (toy_run / "pairwise.jsonl").read_text().splitlines()]
    one_sided = [line for line in lines if line["preferences"] != [None, None]]
    assert one_sided and all(None in line["preferences"] for line in one_sided)
