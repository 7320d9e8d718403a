"""The run pipeline in process: records, aggregates, resume, failures as statuses."""

from __future__ import annotations

import json

import pytest

from evalkit.config import RunConfig
from evalkit.errors import UserError
from evalkit.stages.pipeline import run_evaluation
from evalkit.store.run_store import RunStore
from tests.conftest import write_jsonl


def config(task_path, **extra) -> RunConfig:
    return RunConfig.from_dict(
        {
            "suite": {"name": "toy", "tasks": [str(task_path)]},
            "model": {"name": "replay", "backend": "replay"},
            "progress": False,
            "batch_size": 7,
            **extra,
        }
    )


def by_key(record):
    return {(a.model, a.metric): a for a in record.aggregates}


def test_run_writes_records_and_aggregates(qa_task, tmp_path):
    record = run_evaluation(config(qa_task), tmp_path / "run")
    aggs = by_key(record)
    assert aggs[("good", "exact_match")].value == pytest.approx(30 / 40)
    assert aggs[("bad", "exact_match")].value == 0.0
    assert aggs[("good", "f1")].n == 40 and aggs[("good", "f1")].n_failed == 0
    good = aggs[("good", "exact_match")]
    assert good.ci_low < good.value < good.ci_high
    store = RunStore(tmp_path / "run")
    records = list(store.records())
    assert len(records) == 80 and {r.model for r in records} == {"good", "bad"}
    on_disk = json.loads(store.run_path.read_text())
    assert on_disk["status"] == "complete" and on_disk["task_data_hashes"]["toy_qa"]
    assert {b["name"] for b in on_disk["backends"]} == {"good", "bad"}
    assert on_disk["library_versions"]["sacrebleu"]


def test_resume_skips_done_samples_and_matches_uninterrupted(qa_task, tmp_path):
    full = run_evaluation(config(qa_task), tmp_path / "full")
    partial_dir = tmp_path / "partial"
    run_evaluation(config(qa_task), partial_dir)
    lines = (partial_dir / "samples.jsonl").read_text().splitlines(keepends=True)
    kept = lines[:23] + lines[60:67]  # as if killed: some batches of each model are missing
    (partial_dir / "samples.jsonl").write_text("".join(kept) + lines[23][:50])  # + torn line
    resumed = run_evaluation(config(qa_task), partial_dir)
    assert resumed.aggregates == full.aggregates
    ids = [(r.model, r.sample_id) for r in RunStore(partial_dir).records()]
    assert len(ids) == len(set(ids)) == 80


def test_changed_config_into_same_run_dir_is_refused(qa_task, tmp_path):
    run_evaluation(config(qa_task), tmp_path / "run")
    with pytest.raises(UserError, match="holds a different run"):
        run_evaluation(config(qa_task, seed=99), tmp_path / "run")


def test_missing_outputs_are_errors_not_zeros(qa_task, tmp_path):
    outputs = tmp_path / "partial_outputs.jsonl"
    write_jsonl(
        outputs, [{"id": f"q{i}", "system": "half", "output": str(2 * i)} for i in range(20)]
    )
    model = {"name": "replay", "backend": "replay", "path": str(outputs)}
    cfg = RunConfig.from_dict({**config(qa_task).model_dump(), "model": model})
    record = run_evaluation(cfg, tmp_path / "run")
    em = by_key(record)[("half", "exact_match")]
    assert (em.value, em.n, em.n_failed) == (1.0, 20, 20)
    failed = [r for r in RunStore(tmp_path / "run").records() if r.generation.error]
    assert len(failed) == 20 and failed[0].scores[0].status == "error"


def test_scorer_override_and_limit(qa_task, tmp_path):
    record = run_evaluation(config(qa_task, scorers={"chrf": {}}, limit=10), tmp_path / "run")
    assert {a.metric for a in record.aggregates} == {"chrf"}
    assert all(a.n == 10 for a in record.aggregates)


def test_process_pool_scoring_equals_inline(qa_task, tmp_path):
    inline = run_evaluation(config(qa_task, scorers={"chrf": {}, "rouge": {}}), tmp_path / "a")
    pooled = run_evaluation(
        config(qa_task, scorers={"chrf": {}, "rouge": {}}, scoring={"workers": 2}), tmp_path / "b"
    )
    assert inline.aggregates == pooled.aggregates
