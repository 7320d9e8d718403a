"""`distilled_judge`'s `source` option: `first_reference` feeds a judge the task's first
reference as its source (topical_chat's knowledge fact, the source `human-metrics` was trained on)
and the other references as references."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.distill.artifact import DistilledJudge
from evalkit.distill.scorer import DistilledJudgeScorer
from evalkit.errors import UserError
from evalkit.stages.scoring import ScoringItem

FACT = "the tale of princess kaguya was nominated for an academy award in 2015 ."
REPLY = "i heard the tale of princess kaguya was even nominated for an academy award !"
HISTORY = "have you seen any studio ghibli films ? \n yes , spirited away ."


def test_first_reference_is_the_source_and_the_rest_are_the_references():
    scorer = DistilledJudgeScorer(judge="human-metrics", source="first_reference")
    judge = DistilledJudge.load("human-metrics")
    item = ScoringItem("that sounds great , i will watch it .", (FACT, REPLY), source=HISTORY)
    got = [s.value for s in scorer.score([item])[0]]
    expected = judge.score([FACT], [item.prediction], [[REPLY]])[0]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    as_input = judge.score([HISTORY], [item.prediction], [[FACT, REPLY]])[0]
    assert not np.allclose(got, as_input)  # the option changes what the judge reads
    assert scorer.signature().count("|source:first_reference|") == 1
    assert "|source:" not in DistilledJudgeScorer(judge="human-metrics").signature()


def test_an_item_without_a_reference_is_counted_unscorable_not_scored():
    scorer = DistilledJudgeScorer(judge="human-metrics", source="first_reference")
    [scores] = scorer.score([ScoringItem("a reply", (), source=HISTORY)])
    assert {s.status for s in scores} == {"unscorable"}
    assert "no reference to read as the source" in (scores[0].explanation or "")


def test_an_unknown_source_is_one_line():
    with pytest.raises(UserError, match="source must be one of input, first_reference"):
        DistilledJudgeScorer(judge="human-metrics", source="history")


def test_dimensions_given_as_one_name_is_that_dimension():
    """`dimensions: coherence` in a task.yaml is one dimension, as exact_match's
    `regexes_to_ignore` takes one string (it was read letter by letter)."""
    scorer = DistilledJudgeScorer(judge="summeval-minilm", dimensions="coherence")
    assert (scorer.dimensions, scorer.metrics) == (["coherence"], ("dj_coherence",))
    with pytest.raises(UserError, match="has no dimension coherenc "):
        DistilledJudgeScorer(judge="summeval-minilm", dimensions="coherenc")
