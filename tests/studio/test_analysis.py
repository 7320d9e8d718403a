"""Agreement, export and the human-vote leaderboard, against reference implementations:
Krippendorff's alpha from the `krippendorff` package, Cohen's kappa from scikit-learn (with a
published worked example as a fallback check), Bradley-Terry from choix."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.analysis.ratings import agreement_rows, export_frame, human_leaderboard
from evalkit.stats.agreement import cohen_kappa
from evalkit.store.ratings_db import Item, RatingsDB
from evalkit.studio.items import item_id
from tests.conftest import cli_in_process

SCORES = {  # annotator -> sample -> score (s5 rated by one annotator only: left out)
    "ann": {"s0": 1, "s1": 2, "s2": 3, "s3": 3, "s4": 5, "s5": 4},
    "bob": {"s0": 1, "s1": 3, "s2": 3, "s3": 4, "s4": 5},
    "cy": {"s0": 2, "s1": 2, "s3": 3, "s4": 4},
}


def _db(path: Path) -> RatingsDB:
    db = RatingsDB(path)
    items = [
        Item(item_id("point", "t", f"s{i}", "m1", None), i, "point", "run", "t", f"s{i}", "m1",
             None, "p", "r", "o", None)
        for i in range(6)
    ] + [
        Item(item_id("pair", "t", f"s{i}", "m1", "m2"), 10 + i, "pair", "run", "t", f"s{i}",
             "m1", "m2", "p", "r", "a", "b")
        for i in range(6)
    ]  # fmt: skip
    db.add_items(items)
    for annotator, by_sample in SCORES.items():
        db.add_annotator(annotator)
        for sample, score in by_sample.items():
            db.rate(annotator, item_id("point", "t", sample, "m1", None), "q", score, (1, 5))
    return db


def test_alpha_and_kappa_match_the_reference_implementations(tmp_path: Path) -> None:
    import krippendorff
    from sklearn.metrics import cohen_kappa_score

    rows = agreement_rows(_db(tmp_path / "s.sqlite"))
    samples = ["s0", "s1", "s2", "s3", "s4"]
    table = [[SCORES[a].get(s, np.nan) for s in samples] for a in ("ann", "bob", "cy")]
    alpha = krippendorff.alpha(
        reliability_data=np.array(table, float), level_of_measurement="interval"
    )
    assert rows[0].statistic == "krippendorff_alpha (interval)"
    assert (rows[0].raters, rows[0].items) == (3, 5)
    assert rows[0].value == pytest.approx(alpha, abs=1e-12)
    kappas = {r.statistic: r for r in rows[1:]}
    for a, b in (("ann", "bob"), ("ann", "cy"), ("bob", "cy")):
        both = sorted(SCORES[a].keys() & SCORES[b].keys())
        expected = cohen_kappa_score([SCORES[a][s] for s in both], [SCORES[b][s] for s in both])
        assert kappas[f"cohen_kappa {a} | {b}"].value == pytest.approx(expected, abs=1e-12)


def test_cohen_kappa_on_a_published_worked_example() -> None:
    # Wikipedia, "Cohen's kappa", first example: 50 proposals, yes/yes 20, yes/no 5, no/yes 10,
    # no/no 15: p_o = 0.7, p_e = 0.5, kappa = 0.4.
    a = ["y"] * 20 + ["y"] * 5 + ["n"] * 10 + ["n"] * 15
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4, abs=1e-12)


def test_vote_agreement_counts_the_winner_not_the_side(tmp_path: Path) -> None:
    db = _db(tmp_path / "s.sqlite")
    pairs = [item_id("pair", "t", f"s{i}", "m1", "m2") for i in range(4)]
    # the same preferences, shown with opposite sides: full agreement
    for i, pid in enumerate(pairs):
        winner_left = i % 2 == 0
        db.vote("ann", pid, "A" if winner_left else "B", "m1")
        db.vote("bob", pid, "B" if winner_left else "A", "m2")
    rows = [r for r in agreement_rows(db) if r.what == "pairwise votes"]
    assert rows[0].value == pytest.approx(1.0) and rows[1].value == pytest.approx(1.0)


def test_export_has_one_row_per_judgment(tmp_path: Path) -> None:
    db = _db(tmp_path / "s.sqlite")
    db.vote("ann", item_id("pair", "t", "s0", "m1", "m2"), "tie", "m2")
    frame = export_frame(db)
    assert len(frame) == sum(len(v) for v in SCORES.values()) + 1
    tie = frame[frame["kind"] == "pair"].iloc[0]
    assert (tie["left_model"], tie["right_model"], tie["choice"]) == ("m2", "m1", "tie")
    assert tie["winner"] is None or pd.isna(tie["winner"])


def test_leaderboard_matches_choix(tmp_path: Path) -> None:
    import choix

    db = _db(tmp_path / "s.sqlite")
    outcomes = ["A", "A", "B", "A", "tie", "A"]  # m1 on the left each time
    for i, choice in enumerate(outcomes):
        db.vote("ann", item_id("pair", "t", f"s{i}", "m1", "m2"), choice, "m1")
    ratings = human_leaderboard(db, seed=1, n_resamples=50)
    assert [r.model for r in ratings] == ["m1", "m2"]
    data = []
    for choice in outcomes:  # a win counts twice, a tie once each way (as pairwise_stats)
        data += {"A": [(0, 1)] * 2, "B": [(1, 0)] * 2, "tie": [(0, 1), (1, 0)]}[choice]
    strengths = choix.ilsr_pairwise(2, data, alpha=1e-4)
    gap = 400 / math.log(10) * (strengths[0] - strengths[1])
    assert ratings[0].rating - ratings[1].rating == pytest.approx(gap, rel=1e-6)
    assert ratings[0].ci_low <= ratings[0].rating <= ratings[0].ci_high


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return cli_in_process(*args)


def test_ratings_commands(tmp_path: Path) -> None:
    db = _db(tmp_path / "s.sqlite")
    db.vote("ann", item_id("pair", "t", "s0", "m1", "m2"), "A", "m2")
    db.close()
    out = _cli("ratings", "agreement", str(tmp_path / "s.sqlite"), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["items"] == 5
    for fmt in ("jsonl", "csv", "parquet"):
        target = tmp_path / f"r.{fmt}"
        out = _cli(
            "ratings", "export", str(tmp_path / "s.sqlite"), "--format", fmt, "-o", str(target)
        )
        assert out.returncode == 0, out.stderr
    assert len(pd.read_parquet(tmp_path / "r.parquet")) == 16
    assert len(pd.read_csv(tmp_path / "r.csv")) == 16
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 16
    out = _cli("ratings", "leaderboard", str(tmp_path / "s.sqlite"), "--json")
    assert out.returncode == 0 and json.loads(out.stdout)[0]["model"] == "m2"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["studio", "/no/such/run"], "evalkit: error: /no/such/run: run directory not found"),
        (
            ["ratings", "export", "/no/such.sqlite"],
            "evalkit: error: /no/such.sqlite: no ratings database",
        ),
        (
            ["ratings", "agreement", "/no/such/dir"],
            "evalkit: error: /no/such/dir: no ratings database",
        ),
    ],
)
def test_missing_inputs_are_one_line_errors(args: list[str], message: str) -> None:
    out = _cli(*args)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [out.stderr.strip()]
    assert out.stderr.startswith(message)


def test_studio_start_errors_are_one_line(tmp_path: Path, studio_run: Path) -> None:
    import os
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(studio_run, run_dir)
    env = {k: v for k, v in os.environ.items() if k != "EVALKIT_STUDIO_TOKEN"}
    cases = [
        (["--host", "0.0.0.0"], "listening on 0.0.0.0 needs a token: set EVALKIT_STUDIO_TOKEN"),
        (["--rubric", "pairwise_preference"], "rubric 'pairwise_preference' has no scale"),
        (["--rubric", "no_such_rubric"], "unknown rubric 'no_such_rubric'"),
        (["--playground", str(tmp_path / "none.yaml")], "playground file not found"),
    ]
    for extra, message in cases:
        out = subprocess.run(
            [sys.executable, "-m", "evalkit", "studio", str(run_dir), *extra],
            text=True, capture_output=True, timeout=300, env=env,
        )  # fmt: skip
        assert out.returncode == 2, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and message in out.stderr
    assert not (run_dir / "studio.sqlite").exists()  # refused before anything was stored


def test_a_database_of_another_run_is_refused(tmp_path: Path, studio_run: Path) -> None:
    import shutil

    from evalkit.errors import UserError
    from evalkit.studio.items import load_run_items

    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(studio_run, first)
    shutil.copytree(studio_run, second)
    db = RatingsDB(tmp_path / "shared.sqlite")
    assert load_run_items(db, first) == 30
    with pytest.raises(UserError, match="holds the ratings of another run"):
        load_run_items(db, second)


def test_votes_on_one_sample_have_no_ci_rather_than_a_zero_width_one(tmp_path: Path) -> None:
    db = _db(tmp_path / "s.sqlite")
    pid = item_id("pair", "t", "s0", "m1", "m2")
    for annotator, choice in (("ann", "A"), ("bob", "A"), ("cy", "B")):
        db.vote(annotator, pid, choice, "m1")
    ratings = human_leaderboard(db, seed=1, n_resamples=50)
    assert all(math.isnan(r.ci_low) and math.isnan(r.ci_high) and r.ci_note for r in ratings)
    db.close()
    out = _cli("ratings", "leaderboard", str(tmp_path / "s.sqlite"), "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)  # valid JSON: null, not NaN
    assert rows[0]["ci_low"] is None and rows[0]["ci_high"] is None and rows[0]["ci_note"]
    out = _cli("ratings", "leaderboard", str(tmp_path / "s.sqlite"))
    assert out.returncode == 0 and "n/a" in out.stdout and "distinct sample" in out.stdout
