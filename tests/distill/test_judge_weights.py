"""A judge's signature carries the sha256 of its weights: a retrain under the same name and
version (another seed, ensemble or balancing) never shares cached scores with the old judge, and
weights changed after training are refused instead of scored under the old signature."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from evalkit.distill.artifact import META_FILE, DistilledJudge, weights_sha256
from evalkit.distill.config import DistillConfig
from evalkit.distill.scorer import DistilledJudgeScorer
from evalkit.distill.students import HEAD_FILE
from evalkit.distill.train import distill
from evalkit.errors import UserError
from tests.distill.conftest import summeval_rows, summeval_source, write_rows


def train(tmp_path: Path, out: str, seed: int) -> Path:
    path = write_rows(tmp_path / "labels.jsonl", summeval_rows(3))
    config = DistillConfig.from_dict(
        {
            "name": "same-name",
            "version": 1,
            "seed": seed,
            "data": [summeval_source(path)],
            "student": {"feature_set": "lexical", "epochs": 5, "ensemble": 1},
            "validation": {"folds": 3, "n_resamples": 30, "baselines": False},
            "output": str(tmp_path / out),
            "progress": False,
        }
    )
    return distill(config).directory


@pytest.fixture(scope="module")
def two_judges(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp_path = tmp_path_factory.mktemp("weights")
    return train(tmp_path, "a", seed=1), train(tmp_path, "b", seed=2)


def test_the_recorded_hash_is_the_weights_and_is_in_the_signature_and_card(two_judges):
    first, _ = two_judges
    recorded = json.loads((first / META_FILE).read_text())["weights_sha256"]
    assert recorded == weights_sha256(first, "encoder_head") and len(recorded) == 64
    signature = DistilledJudge.load(first).meta.signature
    assert signature.endswith(f"|weights:{recorded[:12]}")
    assert f"signature: `{signature}`" in (first / "README.md").read_text()


def test_a_retrain_under_the_same_name_and_version_has_another_scorer_signature(two_judges):
    first, second = two_judges
    a, b = (json.loads((d / META_FILE).read_text()) for d in two_judges)
    same = ("name", "version", "data_sha256", "student")
    assert [a[k] for k in same] == [b[k] for k in same]
    signatures = {DistilledJudgeScorer(judge=str(d)).signature() for d in (first, second)}
    assert len(signatures) == 2


def test_weights_changed_after_training_are_refused(two_judges, tmp_path):
    copy = Path(shutil.copytree(two_judges[0], tmp_path / "judge"))
    state = load_file(str(copy / HEAD_FILE))
    name = next(iter(state))
    state[name] = state[name] + 0.5
    save_file(state, str(copy / HEAD_FILE), metadata={"kind": "encoder_head"})
    with pytest.raises(UserError, match=r"its weights are not the ones judge\.json was written"):
        DistilledJudge.load(copy)


def test_a_judge_saved_before_the_hash_existed_is_signed_by_the_weights_it_loads(
    two_judges, tmp_path
):
    copy = Path(shutil.copytree(two_judges[0], tmp_path / "judge"))
    meta = json.loads((copy / META_FILE).read_text())
    recorded = meta.pop("weights_sha256")
    (copy / META_FILE).write_text(json.dumps(meta))
    assert DistilledJudge.load(copy).meta.signature.endswith(f"|weights:{recorded[:12]}")
    (copy / HEAD_FILE).unlink()
    with pytest.raises(UserError, match="judge weights missing"):
        DistilledJudge.load(copy)


@pytest.mark.parametrize("name", ["summeval-minilm", "summeval-lexical", "human-metrics"])
def test_the_shipped_judges_record_the_hash_of_the_weights_they_ship(name):
    judge = DistilledJudge.load(name)
    recorded = json.loads((judge.directory / META_FILE).read_text())["weights_sha256"]
    assert recorded == weights_sha256(judge.directory, "encoder_head")
