"""ROUGE against rouge-score's published test vectors (google-research rouge_scorer_test.py)."""

from __future__ import annotations

import json

import pytest
from rouge_score import rouge_scorer

from evalkit.scorers.rouge import Rouge
from evalkit.scoring import ScoringItem
from tests.conftest import SHARED_DATA


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
    path = SHARED_DATA / "summeval" / "summeval.jsonl"
    if not path.is_file():
        pytest.skip("shared SummEval data not present")
    rows = [json.loads(line) for line in path.open(encoding="utf-8")][:30]
    reference = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    ours = Rouge().score([ScoringItem(r["summary"], tuple(r["references"])) for r in rows])
    for row, scores in zip(rows, ours, strict=True):
        expected = reference.score_multi(row["references"], row["summary"])
        got = {s.name: s.value for s in scores}
        for rouge_type in ("rouge1", "rouge2", "rougeL"):
            assert got[rouge_type] == pytest.approx(expected[rouge_type].fmeasure, abs=1e-12)


def test_unknown_type_is_a_user_error():
    from evalkit.errors import UserError

    with pytest.raises(UserError, match="rouge3"):
        Rouge(types=["rouge3"])
