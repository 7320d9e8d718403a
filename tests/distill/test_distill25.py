"""Issue 25's distilled judge: the per-document figure matches scipy, the metric features equal
rouge-score's ROUGE, targets are standardized per document, a system can be the reference, the
transfer split never trains on the held-out domain, and the recipe trains and reloads."""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import pytest
from scipy.stats import spearmanr

from evalkit.distill.artifact import DistilledJudge
from evalkit.distill.config import DistillConfig, FileSource
from evalkit.distill.domains import group_z_targets, transfer_predictions
from evalkit.distill.examples import Example, load_dataset
from evalkit.distill.metricfeatures import METRICS, chrf_score, metric_scalars
from evalkit.distill.perset import agreement, ranks, spearman
from evalkit.distill.train import distill
from evalkit.distill.validation import grouped_folds
from tests.distill.conftest import summeval_source


def _example(i: int, group: str, dataset: str = "d", **labels: float) -> Example:
    return Example(str(i), group, "src", f"resp {i}", ("ref",), labels, dataset=dataset)


def test_summary_level_spearman_is_scipys_per_group_then_averaged():
    pred = np.array([0.1, 0.4, 0.3, 0.9, 2.0, 1.0, 1.0, 3.0, 5, 4, 3, 2])
    truth = np.array([1, 2, 3, 4, 1, 1, 2, 3, 1, 2, 3, 3.5])
    groups = ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    golden = np.mean([spearmanr(pred[i : i + 4], truth[i : i + 4])[0] for i in (0, 4, 8)])
    assert agreement(pred, truth, groups) == pytest.approx(golden, abs=1e-12)


def test_ranks_share_ties_like_scipy():
    from scipy.stats import rankdata

    values = np.array([3.0, 1.0, 3.0, 2.0, 5.0, 1.0, 3.0])
    assert ranks(values) == pytest.approx(rankdata(values))


def test_small_groups_fall_back_to_scipys_sample_level_spearman():
    rng = np.random.default_rng(3)
    pred, truth = rng.normal(size=30), rng.integers(1, 4, size=30).astype(float)
    groups = [str(i // 2) for i in range(30)]  # pairs: no summary-level figure
    assert agreement(pred, truth, groups) == pytest.approx(spearmanr(pred, truth)[0], abs=1e-12)
    assert np.isnan(spearman(np.ones(4), np.arange(4.0)))  # constant side: undefined, as scipy


def test_rouge_features_equal_rouge_scores_own_figures():
    from rouge_score.rouge_scorer import RougeScorer

    source = "The cats were running quickly across the old garden , chasing 3 mice ."
    response = "Cats ran quickly across the garden chasing three mice ."
    references = ["The cats were running across an old garden .", "Three mice fled the cats ."]
    scorer = RougeScorer(["rouge1", "rouge2"], use_stemmer=True)
    scores = [scorer.score(r, response) for r in references]
    row = dict(zip(METRICS, metric_scalars(source, response, references), strict=True))
    for n in ("1", "2"):
        best = [s[f"rouge{n}"] for s in scores]
        assert row[f"ref_rouge{n}_recall"] == pytest.approx(max(s.recall for s in best))
        assert row[f"ref_rouge{n}_f"] == pytest.approx(max(s.fmeasure for s in best))
        assert row[f"ref_rouge{n}_precision"] == pytest.approx(max(s.precision for s in best))
    from sacrebleu.metrics.chrf import CHRF

    chrf = CHRF().sentence_score(response, references).score / 100
    assert row["ref_chrf"] == pytest.approx(chrf)
    assert chrf_score("a cat", ["the cat", "cats"]) == pytest.approx(
        CHRF().sentence_score("a cat", ["the cat", "cats"]).score
    )
    on_source = scorer.score(source, response)["rouge2"]
    assert row["src_rouge2_precision"] == pytest.approx(on_source.precision)
    assert row["src_rouge2_recall"] == pytest.approx(on_source.recall)


def test_group_z_targets_standardize_within_documents_then_within_the_set():
    examples = [_example(i, "g", overall=v) for i, v in enumerate([1.0, 2.0, 3.0])]
    examples += [_example(3, "h", overall=10.0), _example(4, "k", overall=30.0)]  # pairs: set-wide
    y = np.array([[e.labels["overall"]] for e in examples], dtype=np.float32)
    out = group_z_targets(examples, ["overall"], y, np.ones_like(y), {"overall": (1.0, 5.0)})
    z = (np.array([1.0, 2, 3]) - 2) / np.std([1.0, 2, 3])
    assert out[:3, 0] == pytest.approx(3 + z)  # mid 3, width/4 = 1 per standard deviation
    assert out[3:, 0] == pytest.approx([2.0, 4.0])


def test_a_reference_system_becomes_the_reference_and_negate_flips(tmp_path):
    rows = [
        {"seg": s, "sys": name, "out": f"{name} {s}", "mqm": err}
        for s in ("1", "2")
        for name, err in (("ref", 0.0), ("A", 1.0), ("B", 5.0))
    ]
    path = tmp_path / "mqm.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    spec = FileSource(
        path=str(path),
        group="seg",
        system="sys",
        response="out",
        labels={"overall": "mqm"},
        negate=["overall"],
        reference_system="ref",
    )
    examples = load_dataset([spec], False).examples
    assert [(e.system, e.references, e.labels["overall"]) for e in examples] == [
        ("A", ("ref 1",), -1.0),
        ("B", ("ref 1",), -5.0),
        ("A", ("ref 2",), -1.0),
        ("B", ("ref 2",), -5.0),
    ]


class _Recorder:
    seen: ClassVar[list[set[str]]] = []

    def fit(self, examples, y, m) -> None:
        self.seen.append({e.dataset for e in examples})

    def predict(self, examples) -> np.ndarray:
        return np.zeros((len(examples), 1))

    def save(self, directory) -> None: ...


def test_transfer_never_trains_on_the_held_out_domain():
    examples = [_example(i, str(i), d, overall=1.0) for i, d in enumerate("aabbbcc")]
    y = np.ones((7, 1), dtype=np.float32)
    _Recorder.seen = []
    out = transfer_predictions(_Recorder, examples, y, y, {"a": "news", "b": "news", "c": "mt"})
    assert _Recorder.seen == [{"c"}, {"a", "b"}]
    assert not np.isnan(out).any()
    folds = grouped_folds([e.group for e in examples], 3, 0)
    assert all(len({folds[i] for i, e in enumerate(examples) if e.group == g}) == 1 for g in "01")


def test_leave_one_set_out_keeps_the_other_sets_of_its_domain_and_holds_out_only_those_named():
    examples = [_example(i, str(i), d, overall=1.0) for i, d in enumerate("aabbbcc")]
    y = np.ones((7, 1), dtype=np.float32)
    _Recorder.seen = []
    own = {"a": "a", "b": "b", "c": "c"}
    out = transfer_predictions(_Recorder, examples, y, y, own, {"a", "b"})
    assert _Recorder.seen == [{"b", "c"}, {"a", "c"}]
    assert not np.isnan(out[:5]).any() and np.isnan(out[5:]).all()  # c was not held out


def test_the_metrics_recipe_trains_validates_per_set_and_reloads(tmp_path, summeval_slice):
    source = summeval_source(summeval_slice, name="summ", domain="news")
    other = summeval_source(summeval_slice, name="summ_copy", domain="copy")
    config = DistillConfig.from_dict(
        {
            "name": "t25",
            "data": [source, other],
            "scale": {"coherence": [1, 5], "consistency": [1, 5]},
            "student": {
                "feature_set": "metrics",
                "target": "group_z",
                "ensemble": 1,
                "epochs": 3,
                "balance_sets": True,
            },
            "validation": {"folds": 3, "n_resamples": 20, "baselines": False, "transfer": True},
            "output": str(tmp_path / "judge"),
            "progress": False,
        }
    )
    result = distill(config)
    table = result.validation["per_set"]
    assert {(r["set"], r["rated"], r["level"]) for r in table} >= {
        ("summ", "coherence", "summary"),
        ("summ_copy", "consistency", "summary"),
    }
    assert all(-1 <= r["judge"] <= 1 and -1 <= r["rouge2_recall"] <= 1 for r in table)
    assert {r["domain"] for r in result.validation["transfer"]} == {"news", "copy"}
    judge = DistilledJudge.load(result.directory)
    assert "|no encoder|features:metrics-v1|weights:" in judge.meta.signature
    card = (result.directory / "README.md").read_text()
    assert "hidden 64, 1 head)" in card and "each data file's rows weigh the same in total" in card
    assert judge.meta.student["balance_sets"] is True
    examples = load_dataset(config.data[:1], False).examples[:5]
    scored = judge.score(
        [e.source for e in examples],
        [e.response for e in examples],
        [e.references for e in examples],
    )
    assert scored.shape == (5, 2) and np.all((scored >= 1) & (scored <= 5))


def _transfer_config(tmp_path, summeval_slice, domains: dict[str, str]) -> DistillConfig:
    return DistillConfig.from_dict(
        {
            "name": "t25-transfer",
            "data": [
                summeval_source(summeval_slice, name=name, domain=domain)
                for name, domain in domains.items()
            ],
            "scale": {"coherence": [1, 5], "consistency": [1, 5]},
            "student": {"feature_set": "metrics", "target": "group_z", "ensemble": 1, "epochs": 2},
            "validation": {"folds": 2, "n_resamples": 10, "baselines": False, "transfer": True},
            "output": str(tmp_path / "judge"),
            "progress": False,
        }
    )


def test_the_transfer_table_has_a_leave_one_set_out_column_when_a_domain_holds_two_sets(
    tmp_path, summeval_slice
):
    domains = {"summ_a": "news", "summ_b": "news", "summ_c": "other"}
    result = distill(_transfer_config(tmp_path, summeval_slice, domains))
    transfer = {(r["set"], r["rated"]): r for r in result.validation["transfer"]}
    assert {s for s, _ in transfer} == set(domains)
    for (name, _), row in transfer.items():
        assert row["domain"] == domains[name] and -1 <= row["other_sets"] <= 1
        if name == "summ_c":  # alone in its domain: trained on the same sets either way
            assert row["other_sets"] == row["judge"]
    # summ_a held out of its set trains on summ_b (and summ_c), out of its domain on summ_c only
    assert (
        transfer[("summ_a", "coherence")]["other_sets"]
        != transfer[("summ_a", "coherence")]["judge"]
    )
    card = (result.directory / "README.md").read_text()
    assert "| cross-validated | other sets only | other domains only | better ROUGE-2 |" in card
    row = transfer[("summ_a", "coherence")]
    assert f"| {row['other_sets']:.3f} | {row['judge']:.3f} |" in card


def test_one_domain_has_no_transfer_table(tmp_path, summeval_slice):
    domains = {"summ_a": "news", "summ_b": "news"}
    result = distill(_transfer_config(tmp_path, summeval_slice, domains))
    assert result.validation["transfer"] == []
    assert "Transfer between domains" not in (result.directory / "README.md").read_text()


def test_rouge2_baselines_equal_rouge_score_on_summeval():
    """The ROUGE-2 baselines of the per-set tables (recall and F, each the best over the
    references) equal rouge-score's RougeScorer(["rouge2"], use_stemmer=True), computed here pair
    by pair: 2 SummEval articles x 16 summaries x 11 references, plus an empty reference."""
    from rouge_score.rouge_scorer import RougeScorer

    from evalkit.distill.perset import rouge2_baselines
    from tests.distill.conftest import summeval_rows

    rows = summeval_rows(2)
    examples = [
        Example(
            id=str(i), group=r["doc_id"], source=r["source"], response=r["summary"],
            references=(*r["references"], " "), labels={},
        )
        for i, r in enumerate(rows)
    ]  # fmt: skip
    recall, f = rouge2_baselines(examples)
    reference = RougeScorer(["rouge2"], use_stemmer=True)
    for i, r in enumerate(rows):
        scores = [reference.score(ref, r["summary"])["rouge2"] for ref in r["references"]]
        assert recall[i] == max(s.recall for s in scores)
        assert f[i] == max(s.fmeasure for s in scores)
    assert len(rows) == 32
