"""What the collected judgments say: agreement between annotators, export, Bradley-Terry.

- Agreement is computed on items judged by two or more annotators only: Krippendorff's alpha
  (the `krippendorff` package; interval level for scores, nominal for votes) over the annotators
  x items table, and Cohen's kappa (unweighted, as sklearn's `cohen_kappa_score`) for each pair of
  annotators on the items both judged. A vote's label is the winning model (or tie), so two
  annotators who saw the sides swapped and preferred the same model agree.
- Bradley-Terry ratings with 95% bootstrap CIs come from `evalkit.stats.pairwise_stats` (choix),
with
  each vote a comparison of the left model against the right one.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from evalkit.stats.agreement import cohen_kappa, krippendorff_alpha
from evalkit.stats.pairwise_stats import Comparison, Rating, bradley_terry
from evalkit.store.ratings_db import RatingsDB

Labels = dict[str, dict[str, Hashable]]  # annotator -> item id -> label


@dataclass(frozen=True)
class AgreementRow:
    what: str  # "rubric NAME" or "pairwise votes"
    statistic: str  # "krippendorff_alpha (interval)", "cohen_kappa a|b", ...
    raters: int
    items: int
    value: float

    @property
    def value_text(self) -> str:
        return "n/a" if math.isnan(self.value) else f"{self.value:.4f}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "statistic": self.statistic,
            "raters": self.raters,
            "items": self.items,
            "value": None if math.isnan(self.value) else self.value,
        }


def _shared(labels: Labels) -> tuple[list[str], list[str]]:
    """(annotators, items judged by two or more of them)."""
    counts: dict[str, int] = defaultdict(int)
    for by_item in labels.values():
        for item in by_item:
            counts[item] += 1
    items = sorted(i for i, n in counts.items() if n >= 2)
    annotators = sorted(a for a, by_item in labels.items() if any(i in by_item for i in items))
    return annotators, items


def _alpha(labels: Labels, level: str, numeric: bool) -> tuple[float, int, int]:
    annotators, items = _shared(labels)
    if not items:
        return float("nan"), len(annotators), 0
    codes: dict[Hashable, int] = {}
    table: list[list[float | None]] = []
    for a in annotators:
        row: list[float | None] = []
        for i in items:
            label = labels[a].get(i)
            if label is None:
                row.append(None)
            else:
                row.append(float(label) if numeric else codes.setdefault(label, len(codes)))  # type: ignore[arg-type]
        table.append(row)
    try:
        value = krippendorff_alpha(table, level)  # type: ignore[arg-type]
    except (ValueError, ZeroDivisionError):
        value = float("nan")  # e.g. one value only: alpha is undefined
    return value, len(annotators), len(items)


def _kappas(labels: Labels, what: str) -> list[AgreementRow]:
    rows = []
    for a, b in itertools.combinations(sorted(labels), 2):
        both = sorted(labels[a].keys() & labels[b].keys())
        if len(both) < 2:
            continue
        value = cohen_kappa([labels[a][i] for i in both], [labels[b][i] for i in both])
        rows.append(AgreementRow(what, f"cohen_kappa {a} | {b}", 2, len(both), value))
    return rows


def agreement_rows(db: RatingsDB) -> list[AgreementRow]:
    """Alpha per rubric and for votes, then Cohen's kappa per pair of annotators; nothing for a
    kind of judgment no item of which was judged twice."""
    by_rubric: dict[str, Labels] = defaultdict(lambda: defaultdict(dict))
    for annotator, item, rubric, score in db.ratings():
        by_rubric[rubric][annotator][item] = score
    votes: Labels = defaultdict(dict)
    for annotator, item, _left, _right, _choice, winner in db.votes():
        votes[annotator][item] = winner if winner is not None else "(tie)"
    rows: list[AgreementRow] = []
    groups = [(f"rubric {r}", labels, True) for r, labels in sorted(by_rubric.items())]
    for what, labels, numeric in [*groups, ("pairwise votes", votes, False)]:
        level = "interval" if numeric else "nominal"
        value, raters, items = _alpha(labels, level, numeric)
        if items:
            rows.append(AgreementRow(what, f"krippendorff_alpha ({level})", raters, items, value))
            rows += _kappas(labels, what)
    return rows


def export_frame(db: RatingsDB, kind: str | None = None) -> pd.DataFrame:
    """One row per stored judgment (ratings, then votes, in the order they were made; skips left
    out); `kind` "point" or "pair" keeps one kind. Columns: kind, annotator, item_id, run, task,
    sample_id, model, model_b, rubric, score, left_model, right_model, choice, winner, at (Unix
    seconds), prompt, reference, response, response_b. A vote's `response` is the output shown
    on the left (A) and `response_b` the right (B), so `choice` reads against them, as
    `evalkit judge distill` expects of pairwise labels."""
    rows = db.conn.execute(
        "SELECT * FROM (SELECT 'point', r.annotator, r.item_id, i.run, i.task, i.sample_id, "
        "i.model_a, NULL, r.rubric, r.score, NULL, NULL, NULL, NULL, r.at, i.prompt, "
        "i.reference, i.output_a, NULL FROM ratings r JOIN items i ON i.id = r.item_id "
        "UNION ALL SELECT 'pair', v.annotator, v.item_id, i.run, i.task, i.sample_id, i.model_a, "
        "i.model_b, NULL, NULL, v.left_model, v.right_model, v.choice, v.winner, v.at, i.prompt, "
        "i.reference, CASE WHEN v.left_model = i.model_a THEN i.output_a ELSE i.output_b END, "
        "CASE WHEN v.left_model = i.model_a THEN i.output_b ELSE i.output_a END "
        "FROM votes v JOIN items i ON i.id = v.item_id) ORDER BY 15"
    ).fetchall()
    columns = [
        "kind", "annotator", "item_id", "run", "task", "sample_id", "model", "model_b",
        "rubric", "score", "left_model", "right_model", "choice", "winner", "at",
        "prompt", "reference", "response", "response_b",
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    if kind is not None:
        frame = frame[frame["kind"] == kind].reset_index(drop=True)
    frame["score"] = frame["score"].astype("Int64")
    return frame


def mean_ratings(db: RatingsDB) -> dict[tuple[str, str, str], dict[str, float]]:
    """(task, sample id, model) -> rubric -> mean score over the annotators who rated it."""
    sums: dict[tuple[str, str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for task, sample, model, rubric, score in db.conn.execute(
        "SELECT i.task, i.sample_id, i.model_a, r.rubric, r.score FROM ratings r "
        "JOIN items i ON i.id = r.item_id"
    ):
        sums[(task, sample, model)][rubric].append(score)
    return {
        key: {rubric: sum(v) / len(v) for rubric, v in by_rubric.items()}
        for key, by_rubric in sums.items()
    }


def vote_comparisons(db: RatingsDB) -> tuple[list[Comparison], list[str]]:
    """Each vote as the left model's outcome against the right one (1 win, 0.5 tie, 0 loss);
    votes on the same task sample resample together."""
    comparisons, models = [], []
    for task, sample, left, right, winner in db.conn.execute(
        "SELECT i.task, i.sample_id, v.left_model, v.right_model, v.winner FROM votes v "
        "JOIN items i ON i.id = v.item_id ORDER BY v.seq"
    ):
        outcome = 0.5 if winner is None else (1.0 if winner == left else 0.0)
        comparisons.append(Comparison(f"{task}\x00{sample}", left, right, outcome, 0.0))
        models += [m for m in (left, right) if m not in models]
    return comparisons, models


def human_leaderboard(db: RatingsDB, seed: int, n_resamples: int = 200) -> list[Rating]:
    comparisons, models = vote_comparisons(db)
    if len(models) < 2:
        return []
    ratings = bradley_terry(comparisons, models, seed=seed, n_resamples=n_resamples)
    return sorted(ratings, key=lambda r: -r.rating)
