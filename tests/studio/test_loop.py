"""Ratings collected in the studio train a distilled judge (`evalkit judge distill` on the
exported JSONL), end to end through the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.studio.db import RatingsDB
from evalkit.studio.items import load_run_items


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
        out = subprocess.run(
            [sys.executable, "-m", "evalkit.cli", *args],
            text=True, capture_output=True, timeout=600, cwd=tmp_path,
        )  # fmt: skip
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
