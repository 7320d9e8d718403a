"""Ratings collected in the studio train a distilled judge (`evalkit judge distill` on the
exported JSONL), end to end through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evalkit.store.ratings_db import RatingsDB
from evalkit.studio.items import load_run_items
from tests.conftest import cli_in_process


@pytest.mark.slow
def test_exported_ratings_train_a_distilled_judge(studio_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(studio_run, run_dir)
    db = RatingsDB(run_dir / "studio.sqlite")
    load_run_items(db, run_dir)
    for annotator in ("ann", "bob"):
        db.add_annotator(annotator)
        while (item := db.next_item(annotator, "point")) is not None:
            db.rate(
                annotator, item.id, "overall_quality", 8 if item.model_a == "base" else 3, (1, 10)
            )
    db.close()

    def cli(*args: str) -> None:
        out = cli_in_process(*args, cwd=tmp_path)
        assert out.returncode == 0, out.stderr[-2000:]

    labels = tmp_path / "ratings.jsonl"
    cli("ratings", "export", str(run_dir), "--kind", "point", "-o", str(labels))
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    assert len(rows) == 40 and all(r["response"] and r["prompt"] for r in rows)
    judge = tmp_path / "judge"
    cli(
        "judge", "distill",
        f"data=[{{path: {labels}, source: prompt, response: response, system: model, "
        "labels: {quality: score}}]",
        "student.feature_set=lexical", "validation.folds=2",
        "validation.n_resamples=20", "validation.baselines=false", f"output={judge}",
        "progress=false",
    )  # fmt: skip
    assert json.loads((judge / "validation.json").read_text())["n_examples"] == 40
    assert (judge / "judge.json").is_file()


def test_ratings_are_the_human_labels_of_the_judge_reliability_panel(
    studio_run: Path, tmp_path: Path
) -> None:
    """`evalkit judge RUN ratings=RUN`: the judge's scores against the mean rating per output,
    Spearman and Kendall as scipy computes them."""
    from scipy import stats

    from evalkit.judging.command import JudgeConfig, judge_run
    from evalkit.store.run_store import RunStore
    from tests.backends.judge_server import JudgeServer

    run_dir = tmp_path / "run"
    shutil.copytree(studio_run, run_dir)
    db = RatingsDB(run_dir / "studio.sqlite")
    load_run_items(db, run_dir)
    given: dict[tuple[str, str], list[int]] = {}
    for k, annotator in enumerate(("ann", "bob")):
        db.add_annotator(annotator)
        while (item := db.next_item(annotator, "point")) is not None:
            score = (8 if item.model_a == "base" else 3) - k * (len(item.output_a) % 3)
            db.rate(annotator, item.id, "overall_quality", score, (1, 10))
            given.setdefault((item.sample_id, item.model_a), []).append(score)
    db.close()

    def reply(messages: list[dict[str, str]]) -> str:
        return f'{{"score": {1 + len(messages[1]["content"]) % 10}}}'

    with JudgeServer(reply) as server:
        cfg = JudgeConfig.from_dict(
            {"judge_model": server.model("scripted"), "progress": False,
             "cache": {"enabled": False}, "ratings": str(run_dir)}
        )  # fmt: skip
        record = judge_run(run_dir, cfg)
    [report] = [r for r in record.judge_reports if r["kind"] == "pointwise"]
    pairs = [
        (s.value, sum(given[(r.sample_id, r.model)]) / 2)
        for r in RunStore(run_dir).latest_records()
        for s in r.scores
        if s.name == "overall_quality" and s.status == "ok"
    ]
    assert report["human_source"] == "studio ratings" and report["human_n"] == len(pairs) == 20
    judge, human = zip(*pairs, strict=True)
    assert report["human_sample_spearman"] == pytest.approx(
        stats.spearmanr(judge, human)[0], abs=1e-4
    )
    assert report["human_sample_kendall"] == pytest.approx(  # tau-b, scipy's default
        stats.kendalltau(judge, human)[0], abs=1e-4
    )
    assert "studio ratings" in (run_dir / "report.html").read_text(encoding="utf-8")
