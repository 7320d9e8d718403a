"""Answer extraction (`extract:` in task.yaml): every step on tricky inputs, pipelines, errors,
scoring of extracted answers, and the GSM8K case (../shared/cases/09_gsm8k_no_answer_extraction,
copied to tests/data/gsm8k50) through the CLI.

References: the regex step follows lm-evaluation-harness's RegexFilter (findall, pick a match by
`group_select`, first non-empty group, strip; no match -> the fallback "[invalid]"); `boxed`
follows Hendrycks et al.'s MATH `last_boxed_only_string` + `remove_boxed`. Both are re-stated
below as small reference functions the steps are compared with.
"""

from __future__ import annotations

import json
import re
import shutil
from fractions import Fraction
from pathlib import Path

import pytest

from evalkit.errors import UserError
from evalkit.scorers.numeric import find_numbers
from evalkit.stages.scoring import ScoringItem, build_scorer, score_items, scoring_item
from evalkit.tasks.extraction import (
    NO_ANSWER,
    BoxedStep,
    ChoiceLetterStep,
    NumberStep,
    RegexStep,
    parse_extraction,
)
from evalkit.tasks.task import load_task_file
from evalkit.types import Generation, Sample
from tests.conftest import TEST_DATA

CASE = TEST_DATA / "gsm8k50"
GSM8K_STRICT = r"#### (\-?[0-9\.\,]+)"  # lm-eval's gsm8k strict-match filter


def lm_eval_regex(text: str, pattern: str, group_select: int = 0) -> str:
    """lm-eval RegexFilter semantics, restated: '[invalid]' when nothing matches."""
    found = re.findall(pattern, text)
    if not found:
        return "[invalid]"
    match = found[group_select]
    if isinstance(match, tuple):
        match = next((m for m in match if m), "[invalid]")
    return match.strip()


def hendrycks_last_boxed(text: str) -> str | None:
    """MATH's last_boxed_only_string + remove_boxed, restated (\\boxed{...} forms only)."""
    idx = text.rfind("\\boxed")
    if idx < 0:
        idx = text.rfind("\\fbox")
        if idx < 0:
            return None
    depth, right = 0, None
    for i in range(idx, len(text)):
        if text[i] == "{":
            depth += 1
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                right = i
                break
    if right is None:
        return None
    boxed = text[idx : right + 1]
    left = boxed[: boxed.index("{") + 1]
    return boxed[len(left) : -1]


REGEX_TEXTS = [
    "Janet sells 9 eggs.\n#### 18",
    "#### 1,234 and later #### -5",
    "#### -3.5",
    "no marker here 42",
    "####18 (no space)",
    "#### 70,000\n",
    "",
]


@pytest.mark.parametrize("text", REGEX_TEXTS)
@pytest.mark.parametrize("which,select", [("first", 0), ("last", -1)])
def test_regex_step_matches_lm_eval_regex_filter(text, which, select):
    expected = lm_eval_regex(text, GSM8K_STRICT, select)
    got = RegexStep(pattern=GSM8K_STRICT, match=which).apply(text)
    assert (got if got is not None else "[invalid]") == expected


LM_EVAL_FLEXIBLE = r"(-?[$0-9.,]{2,})|(-?[0-9]+)"  # lm-eval gsm8k flexible-extract, two groups


@pytest.mark.parametrize(
    "text", ["so 3 + 4 = 7", "costs $1,234.50 or 12", "just 5", "-3 then -12", "none", "7 and 42"]
)
def test_regex_step_with_alternative_groups_matches_lm_eval(text):
    """Several groups: the first non-empty one of the chosen match, as lm-eval's filter."""
    expected = lm_eval_regex(text, LM_EVAL_FLEXIBLE, -1)
    got = RegexStep(pattern=LM_EVAL_FLEXIBLE, match="last").apply(text)
    assert (got if got is not None else "[invalid]") == expected


def test_regex_keep_unmatched_passes_the_text_on():
    step = RegexStep(pattern=GSM8K_STRICT, keep_unmatched=True)
    assert step.apply("so 18\n#### 18") == "18"
    assert step.apply(" 19 ") == " 19 "  # unchanged; add `strip` after it to trim


def test_regex_step_groups():
    step = RegexStep(pattern=r"answer: (\w+) \((\d+)\)", group=2)
    assert step.apply("answer: seven (7)") == "7"
    assert RegexStep(pattern=r"answer: (\w+)", group=0).apply("the answer: seven") == (
        "answer: seven"
    )
    assert RegexStep(pattern=r"\d+").apply("a 12 b 34") == "12"  # no group: the whole match
    assert RegexStep(pattern=r"(x)?y").apply("y") is None  # the group did not take part


@pytest.mark.parametrize(
    "text,expected",
    [
        ("So 3 + 4 = 7 apples; the total is 1,234.", "1234"),
        ("It costs $1,234.50 in all", "1234.50"),
        ("The temperature fell to -5 degrees", "-5"),
        ("\u22127 is the answer", "-7"),  # Unicode minus
        ("pages 3-5", "5"),  # a hyphen between numbers is not a sign
        ("about 2.5e3 grams", "2.5e3"),
        ("H2O and x1 are not numbers", None),
        ("no digits at all", None),
        ("", None),
        ("#### 18", "18"),
        ("He made 9 * 2 = $18.\n#### 18", "18"),
    ],
)
def test_last_number(text, expected):
    got = NumberStep().apply(text)
    assert got == expected
    if expected is not None:  # the same number the numeric_match scorer reads last
        assert Fraction(got) == find_numbers(text)[-1]


def test_first_number():
    steps = parse_extraction(["first_number"]).pipelines[0].steps
    assert steps[0].apply("-1,000 then 2") == "-1000"


@pytest.mark.parametrize(
    "text",
    [
        "The answer is $\\boxed{\\frac{1}{2}}$.",
        "first \\boxed{1} then \\boxed{{2}+{3}}",
        "\\boxed{\\sqrt{\\frac{a}{b}}} done",
        "\\fbox{42}",
        "\\boxed{1} and later \\fbox{2}",  # \\boxed wins over a later \\fbox
        "unbalanced \\boxed{\\frac{1}{2}",
        "nothing boxed",
        "\\boxed{}",
    ],
)
def test_boxed_matches_hendrycks(text):
    assert BoxedStep().apply(text) == hendrycks_last_boxed(text)


def test_boxed_spot_values_and_space_form():
    assert BoxedStep().apply("so $\\boxed{\\frac{1}{2}}$") == "\\frac{1}{2}"
    assert BoxedStep().apply("first \\boxed{1} then \\boxed{{2}+{3}}") == "{2}+{3}"
    assert BoxedStep().apply("$\\boxed 5$") == "5"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("The correct answer is (B).", "B"),
        ("Answer: C", "C"),
        ("the answer is: **D**", "D"),
        ("After thinking, option A looks wrong, so the answer is E", "E"),
        ("B", "B"),
        ("(C)", "C"),
        ("**A**", "A"),
        ("D. Because the mitochondria...", "D"),
        ("B) it doubles", "B"),
        ("I pick (C) here.", "C"),
        ("Between (A) and (B) I cannot decide.", None),  # ambiguous: no guess
        ("A bird in the hand.", None),  # a sentence starting with 'A' is not an answer
        ("The answer is Alice", None),
        ("answer is a mystery", None),
        ("F", None),  # outside A-E
        ("", None),
    ],
)
def test_choice_letter(text, expected):
    assert ChoiceLetterStep().apply(text) == expected


def test_choice_letter_custom_letters():
    assert ChoiceLetterStep(letters="ABCD").apply("Answer: E") is None
    assert ChoiceLetterStep(letters="ABCD").apply("Answer: D") == "D"


def test_pipeline_chains_steps_and_empty_means_no_answer():
    pipeline = parse_extraction(
        [{"regex": {"pattern": r"Final:(.*)", "match": "last"}}, "strip", "lowercase", "take_first"]
    ).pipelines[0]
    assert pipeline.apply("Final: X\nFinal:  Paris  ") == "paris"
    assert pipeline.apply("nothing final") == ""
    assert pipeline.apply("Final:   ") == ""  # empty after its steps: nothing found


def test_named_pipelines():
    extraction = parse_extraction(
        {"strict": [{"regex": GSM8K_STRICT}], "flexible": ["last_number"]}
    )
    assert extraction.named
    answers = extraction.answers("so 17 + 1 = 18 in all")
    assert [(a.pipeline, a.answer) for a in answers] == [("strict", ""), ("flexible", "18")]


@pytest.mark.parametrize(
    "block,message",
    [
        ("[{nope: 1}]", "step 1: unknown step 'nope'"),
        ("[{regex: '(unclosed'}]", "step 1 (regex): pattern: bad regular expression"),
        ("[{regex: {pattern: '(a)', group: 2}}]", "group 2, but the pattern has 1 group"),
        ("[{regex: {pattern: 'a', match: middle}}]", "step 1 (regex): match:"),
        ("[strip, {lowercase: {x: 1}}]", "step 2 (lowercase): x: unknown field"),
        ("[]", "has no steps"),
        ("{'bad name': [strip]}", "pipeline name 'bad name'"),
        ("{strict: strip}", "pipeline 'strict' must be a list"),
        ("7", "must be a list of steps or a mapping"),
        ("[{regex: a, strip: {}}]", "a step is a name or a one-key mapping {name: options}"),
    ],
)
def test_bad_extract_blocks_name_the_file_and_field(tmp_path, block, message):
    (tmp_path / "data.jsonl").write_text('{"q": "1+1", "a": "2"}\n')
    (tmp_path / "task.yaml").write_text(
        "name: t\nversion: 1\ndata: data.jsonl\nfields: {input: q, references: a}\n"
        f"extract: {block}\n"
    )
    with pytest.raises(UserError) as caught:
        load_task_file(tmp_path / "task.yaml")
    text = str(caught.value)
    assert text.startswith(f"{tmp_path / 'task.yaml'}:5: extract: ")  # the line of `extract:`
    assert message in text
    assert "\n" not in text


def test_bad_extract_through_the_cli_is_one_line_exit_2(run_cli, tmp_path):
    (tmp_path / "data.jsonl").write_text('{"q": "1+1", "a": "2"}\n')
    (tmp_path / "task.yaml").write_text(
        "name: t\nversion: 1\ndata: data.jsonl\nfields: {input: q, references: a}\n"
        "extract: [{regex: '[0-9'}]\n"
    )
    out = run_cli("validate", str(tmp_path / "task.yaml"))
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("evalkit: error: ")
    assert "task.yaml:5: extract: step 1 (regex): pattern: bad regular expression" in out.stderr


def _scored(extract_block, text, scorer_spec="exact_match", reference="18"):
    extraction = parse_extraction(extract_block)
    sample = Sample(id="s", index=0, input="q", references=[reference])
    item = scoring_item(sample, Generation(text=text), extraction)
    return item, score_items([build_scorer(scorer_spec, {})], [item])[0]


def test_scorers_see_the_extracted_answer_and_no_answer_scores_0_with_a_reason():
    item, scores = _scored([{"regex": GSM8K_STRICT}], "9 * 2 = 18\n#### 18")
    assert item.prediction == "18" and scores[0].value == 1.0 and scores[0].explanation is None
    item, scores = _scored([{"regex": GSM8K_STRICT}], "18")
    assert item.prediction == ""
    assert (scores[0].value, scores[0].status, scores[0].explanation) == (0.0, "ok", NO_ANSWER)
    _, scores = _scored([{"regex": GSM8K_STRICT}], "18", "numeric_match")
    assert (scores[0].value, scores[0].status, scores[0].explanation) == (0.0, "ok", NO_ANSWER)


def test_named_pipeline_scorers_suffix_their_metrics():
    block = {"strict": [{"regex": GSM8K_STRICT}], "flexible": ["last_number"]}
    item, _ = _scored(block, "so 18")
    assert item.prediction == "so 18"  # named pipelines: each scorer picks its own answer
    strict, flexible = (
        build_scorer("exact_match@strict", {}),
        build_scorer("exact_match@flexible", {}),
    )
    assert strict.metrics == ("exact_match_strict",)
    scores = score_items([strict, flexible], [item])[0]
    assert [(s.name, s.value, s.explanation) for s in scores] == [
        ("exact_match_strict", 0.0, NO_ANSWER),
        ("exact_match_flexible", 1.0, None),
    ]
    aggregate = strict.aggregate("exact_match_strict", scores[:1], task="t", model="m", seed=1)
    assert (aggregate.metric, aggregate.value, aggregate.n) == ("exact_match_strict", 0.0, 1)


def test_failed_generation_is_not_extracted():
    extraction = parse_extraction(["last_number"])
    sample = Sample(id="s", index=0, input="q", references=["1"])
    item = scoring_item(sample, Generation(text="", error="timeout"), extraction)
    assert item.answers == () and item.error == "timeout"


def test_extraction_changes_the_task_data_hash(tmp_path):
    (tmp_path / "data.jsonl").write_text('{"q": "1+1", "a": "2"}\n')
    head = "name: t\nversion: 1\ndata: data.jsonl\nfields: {input: q, references: a}\n"
    (tmp_path / "task.yaml").write_text(head)
    plain = load_task_file(tmp_path / "task.yaml").data_hash()
    hashes = set()
    for block in ("[last_number]", "[first_number]", "{a: [last_number]}"):
        (tmp_path / "task.yaml").write_text(head + f"extract: {block}\n")
        hashes.add(load_task_file(tmp_path / "task.yaml").data_hash())
    assert len(hashes) == 3 and plain not in hashes


def _case_task(root: Path, extract: str, scorers: str) -> Path:
    task = root / "tasks" / "gsm8k50"
    task.mkdir(parents=True)
    shutil.copy(CASE / "data.jsonl", task / "data.jsonl")
    spec = (CASE / "task.yaml").read_text()
    spec = spec.replace("scorers: {exact_match: {}, f1: {}}", f"scorers: {scorers}")
    (task / "task.yaml").write_text(spec + extract)
    return task


def _values(run_dir: Path) -> tuple[dict[tuple[str, str], float], dict]:
    run = json.loads((run_dir / "run.json").read_text())
    values = {(a["model"], a["metric"]): a["value"] for a in run["aggregates"]}
    misses = {(c["model"], c["pipeline"]): c["n_no_answer"] for c in run["extraction"]}
    return values, misses


def test_the_gsm8k_case_with_the_strict_regex(run_cli, tmp_path):
    """The case README's form (`tasks=[gsm8k50]` inside the folder) with lm-eval's strict filter:
    cot-v1 50/50; terse-v1 never writes `#### N`, so strict finds no answer in any of its 50."""
    _case_task(
        tmp_path,
        f"extract: [{{regex: '{GSM8K_STRICT}'}}]\n",
        "{exact_match: {}, numeric_match: {}}",
    )
    shutil.copy(CASE / "my_outputs.jsonl", tmp_path / "my_outputs.jsonl")
    out = run_cli(
        "run", "tasks=[gsm8k50]", "model.path=my_outputs.jsonl", "run_dir=run", "progress=false"
    )
    assert out.returncode == 0, out.stderr
    values, misses = _values(tmp_path / "run")
    assert values[("cot-v1", "exact_match")] == values[("cot-v1", "numeric_match")] == 1.0
    assert values[("terse-v1", "exact_match")] == values[("terse-v1", "numeric_match")] == 0.0
    assert misses == {("cot-v1", ""): 0, ("terse-v1", ""): 50}
    lines = (tmp_path / "run" / "samples.jsonl").read_text().splitlines()
    records = {(r["model"], r["sample_id"]): r for r in map(json.loads, lines)}
    record = records[("cot-v1", "gsm8k-test-0")]
    assert record["generation"]["text"].endswith("#### 18")  # the raw output, kept
    assert record["extracted"] == [{"pipeline": "", "answer": "18"}]
    html = (tmp_path / "run" / "report.html").read_text()
    assert '"a":' in html and "extracted answer" in html


def test_the_gsm8k_case_with_keep_unmatched(run_cli, tmp_path):
    """One pipeline that reads `#### N` where it is and the bare answer otherwise gives the case's
    expected values for both systems: cot-v1 1.0 (50/50), terse-v1 0.6 (30/50)."""
    block = f"extract: [{{regex: {{pattern: '{GSM8K_STRICT}', keep_unmatched: true}}}}, strip]\n"
    task = _case_task(tmp_path, block, "{exact_match: {}, numeric_match: {}}")
    out = run_cli(
        "run",
        f"tasks=[{task / 'task.yaml'}]",
        f"model.path={CASE / 'my_outputs.jsonl'}",
        f"run_dir={tmp_path / 'run'}",
        "progress=false",
    )
    assert out.returncode == 0, out.stderr
    values, misses = _values(tmp_path / "run")
    for metric in ("exact_match", "numeric_match"):
        assert values[("cot-v1", metric)] == 1.0
        assert values[("terse-v1", metric)] == pytest.approx(30 / 50)
    assert misses == {("cot-v1", ""): 0, ("terse-v1", ""): 0}


def test_the_gsm8k_case_strict_and_flexible(run_cli, tmp_path):
    """Named pipelines: the case's expected values, cot-v1 1.0 (50/50) and terse-v1 0.6 (30/50),
    are the flexible (last number) pipeline's; strict gives terse-v1 0."""
    block = f"extract:\n  strict: [{{regex: '{GSM8K_STRICT}'}}]\n  flexible: [last_number]\n"
    task = _case_task(tmp_path, block, "{exact_match: {}, numeric_match: {}}")
    out = run_cli(
        "run",
        f"tasks=[{task / 'task.yaml'}]",
        f"model.path={CASE / 'my_outputs.jsonl'}",
        f"run_dir={tmp_path / 'run'}",
        "progress=false",
    )
    assert out.returncode == 0, out.stderr
    values, misses = _values(tmp_path / "run")
    for metric in ("exact_match", "numeric_match"):
        assert values[("cot-v1", f"{metric}_strict")] == 1.0
        assert values[("cot-v1", f"{metric}_flexible")] == 1.0
        assert values[("terse-v1", f"{metric}_strict")] == 0.0
        assert values[("terse-v1", f"{metric}_flexible")] == pytest.approx(30 / 50)
    assert misses[("terse-v1", "strict")] == 50 and misses[("terse-v1", "flexible")] == 0
    results = run_cli("results", str(tmp_path / "run"))
    assert results.returncode == 0 and "exact_match_flexible" in results.stdout


def test_items_keep_answers_hashable():
    item = ScoringItem("x", ("y",), answers=(("", "x"),))
    assert hash(item) == hash(ScoringItem("x", ("y",), answers=(("", "x"),)))
