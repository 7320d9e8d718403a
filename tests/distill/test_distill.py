"""Distillation: grouped folds never leak, a student learns what a shuffled control cannot, a saved
judge reloads and scores identically, and user mistakes in label files exit 2 with one line."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.distill.artifact import DistilledJudge
from evalkit.distill.config import DistillConfig
from evalkit.distill.train import distill
from evalkit.distill.validation import grouped_folds
from tests.distill.conftest import summeval_rows, summeval_source, write_rows

FAST = {"folds": 4, "n_resamples": 50}


@given(
    groups=st.lists(st.integers(0, 30).map(str), min_size=5, max_size=200),
    k=st.integers(2, 5),
    seed=st.integers(0, 10**6),
)
@settings(max_examples=200, deadline=None)
def test_grouped_folds_never_put_a_group_on_both_sides(groups, k, seed):
    if len(set(groups)) < k:
        return
    folds = grouped_folds(groups, k, seed)
    assert len(folds) == len(groups)
    for fold in range(k):
        test = {g for g, f in zip(groups, folds, strict=True) if f == fold}
        train = {g for g, f in zip(groups, folds, strict=True) if f != fold}
        assert test and not test & train
    per_fold = [len({g for g, f in zip(groups, folds, strict=True) if f == i}) for i in range(k)]
    assert max(per_fold) - min(per_fold) <= 1  # groups are dealt round-robin


def test_fewer_groups_than_folds_is_a_user_error():
    from evalkit.errors import UserError

    with pytest.raises(UserError, match="at least 5 groups"):
        grouped_folds(["a", "a", "b"], 5, 0)


def _config(tmp_path, source, **extra) -> DistillConfig:
    return DistillConfig.from_dict(
        {
            "name": "t",
            "data": [source],
            "scale": {"coherence": [1, 5], "consistency": [1, 5]},
            "validation": FAST,
            "output": str(tmp_path / "judge"),
            "progress": False,
            **extra,
        }
    )


def _summary_spearman(result, dimension):
    return result.validation["dimensions"][dimension]["student"]["teacher"]["summary_spearman"][0]


def test_the_student_learns_what_a_shuffled_control_cannot(tmp_path, summeval_slice):
    """Held-out (whole articles) agreement with the experts: the student beats the same student
    trained on labels shuffled across rows, on both dimensions."""
    quick = {"train_final": False, "validation": {**FAST, "baselines": False}}
    real = distill(_config(tmp_path, summeval_source(summeval_slice), **quick))
    rows = summeval_rows(12)
    humans = [r["human"] for r in rows]
    random.Random(0).shuffle(humans)
    shuffled_rows = [{**r, "human": h} for r, h in zip(rows, humans, strict=True)]
    shuffled_path = write_rows(tmp_path / "shuffled.jsonl", shuffled_rows)
    control = distill(_config(tmp_path / "c", summeval_source(shuffled_path), **quick))
    for dimension in ("coherence", "consistency"):
        learned = _summary_spearman(real, dimension)
        assert learned > 0.2
        assert learned > _summary_spearman(control, dimension) + 0.15


@pytest.fixture(scope="module")
def trained(tmp_path_factory, summeval_slice):
    tmp_path = tmp_path_factory.mktemp("trained")
    return distill(_config(tmp_path, summeval_source(summeval_slice)))


def test_a_saved_judge_reloads_and_scores_identically(trained):
    result = trained
    rows = summeval_rows(12)[:40]
    args = (
        [r["source"] for r in rows],
        [r["summary"] for r in rows],
        [r["references"] for r in rows],
    )
    before = result.student.predict_features(result.student.extractor.features(*args))
    loaded = DistilledJudge.load(result.directory)
    after = loaded.score(*args)
    # the saved heads are the trained heads, bit for bit, on the same feature rows
    rows = loaded.student.extractor.features(*args)
    assert np.array_equal(
        result.student.predict_features(rows), loaded.student.predict_features(rows)
    )
    # end to end, only the encoder's batch composition (padding) can move the last digits
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-4)
    assert np.array_equal(DistilledJudge.load(result.directory).score(*args), after)
    assert after.shape == (40, 2) and np.all((after >= 1) & (after <= 5))
    meta = json.loads((result.directory / "judge.json").read_text())
    assert meta["data_sha256"] == result.meta.data_sha256 and meta["dimensions"] == [
        "coherence",
        "consistency",
    ]
    assert (result.directory / "head.safetensors").is_file()
    card = (result.directory / "README.md").read_text()
    assert "Held-out agreement" in card and result.meta.data_sha256 in card


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"summary": "s", "human": {"coherence": "high"}},
            "field 'human.coherence' is not a number",
        ),
        ({"summary": "s", "human": {}}, "field 'human.coherence' missing"),
        ({"human": {"coherence": 2}}, "field 'summary' missing"),
    ],
)
def test_bad_label_files_exit_2_with_one_line(run_cli, tmp_path, row, message):
    good = {"doc_id": "d", "system": "m", "source": "src", "references": ["r"], "summary": "s",
            "human": {"coherence": 3}}  # fmt: skip
    path = write_rows(tmp_path / "labels.jsonl", [good, {"doc_id": "d2", "system": "m",
                      "source": "x", "references": [], **row}])  # fmt: skip
    data = (
        f"data=[{{path: {path}, group: doc_id, source: source, response: summary, "
        "labels: {coherence: human.coherence}}]"
    )
    result = run_cli("judge", "distill", data, f"output={tmp_path / 'out'}")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{path}:2" in lines[0] and message in lines[0], lines


def test_a_missing_label_file_exits_2(run_cli, tmp_path):
    result = run_cli(
        "judge", "distill", f"data=[{{path: {tmp_path}/nope.jsonl, labels: {{q: q}}}}]"
    )
    assert result.returncode == 2 and "labeled file not found" in result.stderr


def test_the_validation_report_shows_baselines_and_draws_calibration(trained, open_report):
    table = trained.validation["dimensions"]["coherence"]
    assert {"student", "rouge_l", "embedding_similarity", "length_only"} <= set(table)
    assert len(table["calibration"]) == 10
    page = open_report(trained.directory / "validation.html")
    page.page.wait_for_selector("#calibration[data-charts='drawn']", timeout=30_000)
    assert page.page.locator("#calibration .scatterlayer .trace").count() == 3  # 2 dims + diagonal
    rows = page.page.locator("table[data-dimension='coherence'] tbody tr")
    assert [rows.nth(i).locator("td").first.text_content() for i in range(rows.count())] == [
        "student",
        "rouge_l",
        "embedding_similarity",
        "length_only",
    ]
    assert page.problems() == []
