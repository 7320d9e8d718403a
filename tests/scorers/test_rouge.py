"""ROUGE against rouge-score's published test vectors (google-research rouge_scorer_test.py)."""

from __future__ import annotations

import json

import pytest
from rouge_score import rouge_scorer

from evalkit.scorers.rouge import Rouge
from evalkit.stages.scoring import ScoringItem
from tests.conftest import REPO


def score_one(prediction: str, references: tuple[str, ...], **options) -> dict[str, float]:
    [scores] = Rouge(**options).score([ScoringItem(prediction, references)])
    return {s.name: s for s in scores}


def test_rouge1_vector():
    s = score_one("testing", ("testing one two",), types=["rouge1"], use_stemmer=False)["rouge1"]
    assert s.details["precision"] == pytest.approx(1.0)
    assert s.details["recall"] == pytest.approx(1 / 3)
    assert s.value == pytest.approx(1 / 2)


def test_rouge2_and_rougeL_vectors():
    s = score_one("testing one", ("testing one two",), use_stemmer=False)
    assert s["rouge2"].value == pytest.approx(2 / 3)
    assert s["rougeL"].value == pytest.approx(4 / 5)
    s = score_one("testing two", ("testing one two",), use_stemmer=False)
    assert s["rougeL"].value == pytest.approx(4 / 5)  # non-consecutive LCS


def test_rouge_lsum_vector_uses_one_sentence_per_line():
    s = score_one("w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5", ("w1 w2 w3 w4 w5",), use_stemmer=False)
    assert s["rougeLsum"].details["recall"] == pytest.approx(0.8)
    assert s["rougeLsum"].details["precision"] == pytest.approx(0.4)
    assert s["rougeLsum"].value == pytest.approx(0.5333, abs=1e-3)


def test_lsum_splits_sentences_without_newlines():
    # Summary-level LCS unites per-sentence matches: "Cc dd" and "Aa bb" both count in Lsum,
    # while plain ROUGE-L over the concatenation finds an LCS of length 2 only.
    one_line = score_one("Cc dd. Aa bb.", ("Aa bb cc dd.",))
    two_lines = score_one("Cc dd.\nAa bb.", ("Aa bb cc dd.",))
    assert one_line["rougeLsum"].value == pytest.approx(two_lines["rougeLsum"].value)
    assert one_line["rougeLsum"].details["recall"] == pytest.approx(1.0)
    assert one_line["rougeL"].details["recall"] == pytest.approx(0.5)


def test_multiple_references_take_the_best():
    s = score_one("the cat sat", ("a dog ran away", "the cat sat down"))
    best = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True).score(
        "the cat sat down", "the cat sat"
    )
    assert s["rouge1"].value == pytest.approx(best["rouge1"].fmeasure)


def test_equals_rouge_score_on_summeval_with_stemming():
    outputs = REPO / "tasks" / "summeval" / "outputs.jsonl"
    articles = REPO / "tasks" / "summeval" / "data.jsonl"
    references = {
        row["id"]: row["references"]
        for row in map(json.loads, articles.read_text(encoding="utf-8").splitlines())
    }
    rows = [json.loads(line) for line in outputs.read_text(encoding="utf-8").splitlines()[:40]]
    reference = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    items = [ScoringItem(r["output"], tuple(references[r["id"]])) for r in rows]
    for tokenizer in ("default", "auto"):  # the same tokens on this (ASCII) English text
        ours = Rouge(tokenizer=tokenizer).score(items)
        for row, scores in zip(rows, ours, strict=True):
            expected = reference.score_multi(references[row["id"]], row["output"])
            got = {s.name: s.value for s in scores}
            for rouge_type in ("rouge1", "rouge2", "rougeL"):
                assert got[rouge_type] == pytest.approx(expected[rouge_type].fmeasure, abs=1e-12)


def test_unknown_type_is_a_user_error():
    from evalkit.errors import UserError

    with pytest.raises(UserError, match="rouge3"):
        Rouge(types=["rouge3"])


def test_types_given_as_one_name_is_that_type():
    """`types: rougeL` is one type, as exact_match's `regexes_to_ignore` takes one string (it
    was read letter by letter: unknown type(s) ['r', 'o', ...])."""
    assert Rouge(types="rougeL").metrics == ("rougeL",)


# ---- conventions: multi-reference aggregation and ROUGE-Lsum sentences (issue 18, kind 4) ----

_REFS = ("the cat sat on the mat today", "a dog ran away from the cat", "cats sit on mats")


@pytest.mark.parametrize("multi_ref", ["max", "mean"])
def test_multi_ref_equals_rouge_score(multi_ref):
    pred = "the cat sat on a mat"
    types = ["rouge1", "rouge2", "rougeL"]
    ours = score_one(pred, _REFS, types=types, multi_ref=multi_ref)
    direct = rouge_scorer.RougeScorer(types, use_stemmer=True)
    if multi_ref == "max":
        expected = {t: s.fmeasure for t, s in direct.score_multi(list(_REFS), pred).items()}
    else:
        per_ref = [direct.score(r, pred) for r in _REFS]
        expected = {t: sum(s[t].fmeasure for s in per_ref) / len(_REFS) for t in types}
        recall = sum(s["rouge1"].recall for s in per_ref) / len(_REFS)
        assert ours["rouge1"].details["recall"] == pytest.approx(recall, abs=1e-12)
    for rouge_type in types:
        assert ours[rouge_type].value == pytest.approx(expected[rouge_type], abs=1e-12)


def test_multi_ref_mean_is_below_max_and_in_the_signature():
    mean = score_one("the cat sat on a mat", _REFS, multi_ref="mean")["rouge1"].value
    best = score_one("the cat sat on a mat", _REFS, multi_ref="max")["rouge1"].value
    assert mean < best
    assert "refs:mean-f" in Rouge(multi_ref="mean").signature()
    assert "refs:max-f" in Rouge().signature()


def test_an_unknown_multi_ref_or_tokenizer_is_a_user_error():
    from evalkit.errors import UserError

    with pytest.raises(UserError, match="multi_ref"):
        Rouge(multi_ref="avg")
    with pytest.raises(UserError, match="tokenizer"):
        Rouge(tokenizer="spaces")


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("dr. smith arrived. he sat.", ["dr. smith arrived.", "he sat."]),
        ("Dr. Smith arrived. He sat.", ["Dr. Smith arrived.", "He sat."]),
        ("u.s. officials said the talks failed.", ["u.s. officials said the talks failed."]),
        ("the u.s. army left. it rained.", ["the u.s. army left.", "it rained."]),
        (
            "mr. jones paid $3.50 for it. she did not.",
            ["mr. jones paid $3.50 for it.", "she did not."],
        ),
        ("first line\nsecond line", ["first line", "second line"]),
        ("team 's 0-0 draw . he scored .", ["team 's 0-0 draw .", "he scored ."]),
        # tokenized news text (CNN/DailyMail, SummEval), where pysbd alone misses these ends
        (
            "he uploaded it to cnn ireport . `` it was shocking , `` he said .",
            ["he uploaded it to cnn ireport .", "`` it was shocking , `` he said ."],
        ),
        (
            "the U.S. RC-135U was flying over the sea . the pentagon said so .",
            ["the U.S. RC-135U was flying over the sea .", "the pentagon said so ."],
        ),
    ],
)
def test_lsum_sentences_are_split_by_a_real_segmenter(text, sentences):
    from evalkit.scorers.rouge_text import SentenceSplitter

    assert SentenceSplitter().split(text) == sentences


def test_rouge_lsum_equals_rouge_score_on_one_sentence_per_line():
    pred = "dr. smith arrived late. he sat down and the u.s. team won."
    ref = "the u.s. team won. dr. smith arrived late and sat down."
    expected = rouge_scorer.RougeScorer(["rougeLsum"], use_stemmer=True).score(
        "the u.s. team won.\ndr. smith arrived late and sat down.",
        "dr. smith arrived late.\nhe sat down and the u.s. team won.",
    )["rougeLsum"]
    got = score_one(pred, (ref,), types=["rougeLsum"])["rougeLsum"]
    assert got.value == pytest.approx(expected.fmeasure, abs=1e-12)
    assert "lsum-split:pysbd-" in Rouge().signature()


def test_lsum_split_punct_splits_after_every_mark_and_is_in_the_signature():
    from evalkit.scorers.rouge_text import PunctSplitter

    assert PunctSplitter().split("dr. smith arrived . he sat\nnext") == [
        "dr.",
        "smith arrived .",
        "he sat",
        "next",
    ]
    assert "lsum-split:punct" in Rouge(lsum_split="punct").signature()
    pred, ref = "dr. smith sat . he left .", "he left . dr. smith sat down ."
    expected = rouge_scorer.RougeScorer(["rougeLsum"], use_stemmer=True).score(
        "he left .\ndr.\nsmith sat down .", "dr.\nsmith sat .\nhe left ."
    )["rougeLsum"]
    got = score_one(pred, (ref,), types=["rougeLsum"], lsum_split="punct")["rougeLsum"]
    assert got.value == pytest.approx(expected.fmeasure, abs=1e-12)
