"""The pointwise judge scorer against a scripted judge server: parsing, parse failures counted
at a known rate and never coerced, re-asking, caching, logprob weighting, panels."""

from __future__ import annotations

import math
import re

import pytest

from evalkit.errors import UserError
from evalkit.judges.parse import ParseFailure, parse_preference, parse_score
from evalkit.judges.rubric import available_rubrics, load_rubric
from evalkit.scorers.judge import JudgeScorer
from evalkit.stages.scoring import ScoringItem
from tests.backends.judge_server import JudgeServer


def answer_of(messages) -> str:
    return re.search(r"\[Answer\]\n(.*?)\n\nReply", messages[1]["content"], re.DOTALL).group(1)


def scripted(messages):
    """Score = the number in the answer; 'garbled' answers are unreadable, 'fixable' ones only
    the first time; 'wild' ones are out of range."""
    answer = answer_of(messages)
    if "garbled" in answer:
        return "I think it is quite good overall."
    if "fixable" in answer and len(messages) == 2:
        return "Pretty good, maybe a seven"
    if "wild" in answer:
        return '{"rationale": "off the charts", "score": 11}'
    number = re.search(r"\d+", answer)
    if "tagged" in answer:
        return f"Solid work. [[{number.group()}]]"
    return f'```json\n{{"rationale": "fine", "score": {number.group()}}}\n```'


@pytest.fixture
def server():
    with JudgeServer(scripted) as s:
        yield s


def items(*answers: str) -> list[ScoringItem]:
    return [ScoringItem(a, (), None, "What is the answer?") for a in answers]


def test_rubric_library_has_the_required_rubrics():
    names = set(available_rubrics())
    required = {
        "overall_quality", "pairwise_preference", "reference_correctness", "summ_coherence",
        "summ_consistency", "summ_fluency", "summ_relevance", "faithfulness",
        "instruction_following",
    }  # fmt: skip
    assert required <= names
    for name in names:
        rubric = load_rubric(name)
        system, user = rubric.render(
            source="S", output="O", output_a="A", output_b="B", reference="R"
        )
        assert system and user and rubric.version >= 1


def test_parsing_structured_first_then_tags_never_coerced():
    assert parse_score('{"score": 4, "rationale": "ok"}', 1, 5).value == 4.0
    assert parse_score("text [[3]] more", 1, 5).form == "tag"
    assert parse_score("<score>2</score>", 1, 5).value == 2.0
    assert parse_score("reasoning...\nScore: 5", 1, 5).value == 5.0
    for bad in ("no number here", '{"score": 6}', '{"score": "high"}', "[[0]]"):
        with pytest.raises(ParseFailure):
            parse_score(bad, 1, 5)
    assert parse_preference('{"verdict": "B"}').value == "B"
    assert parse_preference("[[C]]").value == "tie"
    assert parse_preference("Final verdict: A").value == "A"
    with pytest.raises(ParseFailure):
        parse_preference('{"verdict": "both"}')


def test_scores_failures_and_reasks_against_a_scripted_judge(server):
    scorer = JudgeScorer(model=server.model(), reask=1, cache=False)
    answers = ["answer 7", "tagged 3", "garbled", "fixable 5", "wild 2", "answer 10"] * 5
    rows = scorer.score(items(*answers))
    by_answer = {a: row[0] for a, row in zip(answers, rows, strict=True)}
    assert by_answer["answer 7"].value == 7.0 and by_answer["answer 7"].explanation == "fine"
    assert by_answer["tagged 3"].value == 3.0 and by_answer["tagged 3"].details["form"] == "tag"
    fixed = by_answer["fixable 5"]
    assert fixed.status == "ok" and fixed.value == 5.0 and fixed.details["judge_calls"] == 2
    garbled, wild = by_answer["garbled"], by_answer["wild 2"]
    assert garbled.status == "parse_error" and math.isnan(garbled.value)
    assert "no score found" in garbled.explanation and len(garbled.details["raw"]) == 2
    assert wild.status == "parse_error" and "outside the scale 1-10" in wild.explanation
    aggregate = scorer.aggregate(
        "overall_quality", [r[0] for r in rows], task="t", model="m", seed=0
    )
    assert aggregate.n_failed == 10 and aggregate.n == 20  # 2 of 6 answers fail, 5 times each
    assert aggregate.value == pytest.approx((7 + 3 + 5 + 10) / 4)
    cost = by_answer["answer 7"].details["judge_cost_usd"]
    assert cost is not None and cost > 0
    scorer.close()


def test_without_reask_a_fixable_reply_stays_a_parse_error(server):
    scorer = JudgeScorer(model=server.model(), reask=0, cache=False)
    [[score]] = scorer.score(items("fixable 5"))
    assert score.status == "parse_error" and score.details["judge_calls"] == 1
    scorer.close()


def test_judgments_are_cached(server, tmp_path):
    cache = str(tmp_path / "cache.sqlite")
    once = JudgeScorer(model=server.model(), cache_path=cache)
    first = once.score(items("answer 4"))
    once.close()
    calls = server.calls
    again = JudgeScorer(model=server.model(), cache_path=cache)
    second = again.score(items("answer 4"))
    assert server.calls == calls and second[0][0].value == first[0][0].value == 4.0
    assert second[0][0].details["judge_cached"] is True
    again.close()


def test_logprob_weighted_score():
    def with_logprobs(messages):
        top = [{"token": "4", "logprob": math.log(0.6)}, {"token": "5", "logprob": math.log(0.3)},
               {"token": "x", "logprob": math.log(0.1)}]  # fmt: skip
        content = [{"token": '{"score": ', "logprob": 0.0, "top_logprobs": []},
                   {"token": "4", "logprob": math.log(0.6), "top_logprobs": top}]  # fmt: skip
        return '{"score": 4}', {"content": content}

    with JudgeServer(with_logprobs) as server:
        model = server.model(logprobs=True, top_logprobs=5)
        weighted = JudgeScorer(model=model, logprobs=True, cache=False)
        [[score]] = weighted.score(items("a"))
        assert score.value == pytest.approx((4 * 0.6 + 5 * 0.3) / 0.9)
        assert score.details["form"] == "json+logprobs"
        plain_scorer = JudgeScorer(model=server.model(), cache=False)
        [[plain]] = plain_scorer.score(items("a"))
        assert plain.value == 4.0
        weighted.close(), plain_scorer.close()


def test_panel_records_each_judge_and_combines(server):
    def harsh(messages):
        return '{"score": 2}'

    with JudgeServer(harsh) as other:
        panel = JudgeScorer(
            models=[server.model("kind"), other.model("harsh"), server.model("kind2")],
            combine="majority",
            cache=False,
        )
        assert panel.metrics == (
            "overall_quality", "overall_quality@kind", "overall_quality@harsh",
            "overall_quality@kind2",
        )  # fmt: skip
        [row] = panel.score(items("answer 8"))
        values = {s.name: s.value for s in row}
        assert values["overall_quality"] == 8.0  # two of three said 8
        assert values["overall_quality@harsh"] == 2.0
        mean = JudgeScorer(models=[server.model("a"), other.model("b")], cache=False)
        assert mean.score(items("answer 8"))[0][0].value == 5.0
        panel.close(), mean.close()


def test_reference_and_source_requirements_and_user_errors(server):
    scorer = JudgeScorer(rubric="reference_correctness", model=server.model(), cache=False)
    [[score]] = scorer.score([ScoringItem("42", (), None, "q")])
    assert score.status == "unscorable" and "reference" in score.explanation
    scorer.close()
    with pytest.raises(UserError, match="needs a judge model"):
        JudgeScorer()
    with pytest.raises(UserError, match="unknown rubric 'overal_quality'"):
        JudgeScorer(rubric="overal_quality", model=server.model())
    with pytest.raises(UserError, match="judge model: backend: Field required"):
        JudgeScorer(model={"name": "no-backend"}, cache=False).score(items("a"))
    with pytest.raises(UserError, match="is pairwise"):
        JudgeScorer(rubric="pairwise_preference", model=server.model())
