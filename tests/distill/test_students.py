"""The other ways in and out: pairwise preferences, a fine-tuned cross-encoder, labels from a past
run's scores, and the distilled judge as a scorer in a run."""

from __future__ import annotations

import itertools
import json

import numpy as np

from evalkit.distill.artifact import DistilledJudge
from evalkit.distill.config import DistillConfig
from evalkit.distill.train import distill
from evalkit.testing.tiny_models import build_bert
from tests.distill.conftest import summeval_rows, summeval_source, write_rows

FAST = {"folds": 3, "n_resamples": 30}


def test_pairwise_preferences_train_a_bradley_terry_student(tmp_path):
    """Pairs of summaries of one article, preferred by expert coherence; the student's P(A better)
    is exactly complementary when the order is swapped, and it beats chance on held-out articles."""
    rows = summeval_rows(12)
    pairs = []
    for doc in dict.fromkeys(r["doc_id"] for r in rows):
        same = [r for r in rows if r["doc_id"] == doc]
        for a, b in itertools.combinations(same, 2):
            ha, hb = a["human"]["coherence"], b["human"]["coherence"]
            label = "A" if ha > hb else "B" if hb > ha else "tie"
            pairs.append({"doc": doc, "source": a["source"], "a": a["summary"],
                          "b": b["summary"], "refs": a["references"], "pref": label})  # fmt: skip
    path = write_rows(tmp_path / "pairs.jsonl", pairs)
    config = DistillConfig.from_dict(
        {
            "name": "pairs",
            "mode": "pairwise",
            "student": {"epochs": 30, "ensemble": 1},
            "data": [
                {
                    "path": str(path),
                    "group": "doc",
                    "source": "source",
                    "response": "a",
                    "response_b": "b",
                    "reference": "refs",
                    "labels": {"coherence": "pref"},
                }
            ],
            "validation": FAST,
            "output": str(tmp_path / "judge"),
            "progress": False,
        }
    )
    result = distill(config)
    agreement = result.validation["dimensions"]["coherence"]["student"]["teacher"]
    assert agreement["n"] == sum(p["pref"] != "tie" for p in pairs)
    assert agreement["accuracy"][0] > 0.6 and agreement["kappa"][0] > 0.2
    judge = DistilledJudge.load(result.directory)
    args = ([p["source"] for p in pairs[:20]], [p["a"] for p in pairs[:20]])
    refs = [p["refs"] for p in pairs[:20]]
    forward = judge.score(*args, refs, responses_b=[p["b"] for p in pairs[:20]])
    backward = judge.score(args[0], [p["b"] for p in pairs[:20]], refs, responses_b=args[1])
    np.testing.assert_allclose(forward + backward, 1.0, atol=1e-6)


def test_a_cross_encoder_student_fine_tunes_saves_and_reloads(tmp_path):
    encoder = build_bert(tmp_path / "bert", layers=2)
    path = write_rows(tmp_path / "labels.jsonl", summeval_rows(3))
    config = DistillConfig.from_dict(
        {
            "name": "ce",
            "data": [summeval_source(path)],
            "student": {
                "kind": "cross_encoder",
                "encoder": str(encoder),
                "epochs": 1,
                "max_length": 96,
            },
            "validation": {**FAST, "baselines": False},
            "output": str(tmp_path / "judge"),
            "progress": False,
        }
    )
    result = distill(config)
    assert (result.directory / "encoder" / "model.safetensors").is_file()
    rows = summeval_rows(3)[:10]
    args = (
        [r["source"] for r in rows],
        [r["summary"] for r in rows],
        [r["references"] for r in rows],
    )
    first = DistilledJudge.load(result.directory).score(*args)
    assert first.shape == (10, 2) and np.all((first >= 1) & (first <= 5))
    assert np.array_equal(DistilledJudge.load(result.directory).score(*args), first)


def test_labels_from_a_past_run_and_the_judge_as_a_scorer(run_cli, tmp_path):
    """A replayed SummEval run scored by the shipped distilled judge; its scores then serve as
    labels for a new student (any stored judge metric can), with the experts' ratings alongside."""
    run_dir = tmp_path / "run"
    out = run_cli(
        "run", "suite=summeval", "limit=6", f"run_dir={run_dir}", "progress=false",
        "report.enabled=false",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    run = json.loads((run_dir / "run.json").read_text())
    signature = next(s["signature"] for s in run["scorers"] if s["name"] == "distilled_judge")
    assert signature.startswith("distilled_judge|summeval-minilm@v1|data:")
    records = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    values = [s["value"] for r in records for s in r["scores"] if s["name"] == "dj_coherence"]
    assert len(values) == 6 * 16 and all(1 <= v <= 5 for v in values)
    config = DistillConfig.from_dict(
        {
            "name": "from-run",
            "data": [{"runs": [str(run_dir)], "labels": {"coherence": "dj_coherence"}}],
            "validation": FAST,
            "output": str(tmp_path / "judge"),
            "progress": False,
        }
    )
    # the student sees the inputs the scorer sees at scoring time: the article, not the prompt
    from evalkit.distill.examples import read_run_source
    from evalkit.stages.scoring import sample_source
    from evalkit.tasks.task import load_task

    examples = read_run_source(config.data[0])[0]
    articles = {s.id: sample_source(s) for s in load_task("summeval").samples()}
    assert all(e.source == articles[e.group.split("/", 1)[1]] for e in examples)
    assert {e.dataset for e in examples} == {"runs"}  # a set of its own name, as a file's stem
    result = distill(config)
    table = result.validation["dimensions"]["coherence"]
    assert result.meta.n_examples == 96
    assert {"teacher", "human"} <= set(table["student"]) and "teacher_vs_human" in table
    assert any("distilled_judge|summeval-minilm" in t for t in result.meta.teachers)


def test_an_ordinal_head_predicts_on_the_scale_and_learns(tmp_path, summeval_slice):
    config = DistillConfig.from_dict(
        {
            "name": "ordinal",
            "data": [summeval_source(summeval_slice)],
            "scale": {"coherence": [1, 5], "consistency": [1, 5]},
            "student": {"head": "ordinal", "ensemble": 1},
            "validation": {**FAST, "baselines": False},
            "output": str(tmp_path / "judge"),
            "progress": False,
        }
    )
    result = distill(config)
    for dimension in ("coherence", "consistency"):
        table = result.validation["dimensions"][dimension]
        assert table["student"]["teacher"]["summary_spearman"][0] > 0.2
        predicted = [bin_[0] for bin_ in table["calibration"]]
        assert all(1 <= p <= 5 for p in predicted)


def test_a_lexical_student_never_loads_the_encoder(tmp_path, summeval_slice):
    """feature_set=lexical: an encoder path that does not exist is never touched, in training,
    saving, loading or scoring (the fast judge for CI)."""
    config = DistillConfig.from_dict(
        {
            "name": "lexical",
            "data": [summeval_source(summeval_slice)],
            "scale": {"coherence": [1, 5], "consistency": [1, 5]},
            "student": {"feature_set": "lexical", "encoder": str(tmp_path / "no-such-model")},
            "validation": {**FAST, "baselines": False},
            "output": str(tmp_path / "judge"),
            "progress": False,
        }
    )
    result = distill(config)
    assert (
        result.validation["dimensions"]["coherence"]["student"]["teacher"]["summary_spearman"][0]
        > 0.2
    )
    rows = summeval_rows(12)[:5]
    scores = DistilledJudge.load(result.directory).score(
        [r["source"] for r in rows], [r["summary"] for r in rows], [r["references"] for r in rows]
    )
    assert scores.shape == (5, 2) and np.all((scores >= 1) & (scores <= 5))
