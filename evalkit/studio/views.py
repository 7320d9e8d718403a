"""Terminal output of `evalkit ratings agreement` and `evalkit ratings leaderboard`."""

from __future__ import annotations

import json
from pathlib import Path

from rich.table import Table

from evalkit.analysis.ratings import agreement_rows, human_leaderboard
from evalkit.console.terminal import results_console
from evalkit.errors import UserError
from evalkit.stats.pairwise_stats import ci_text
from evalkit.store.ratings_db import open_db


def print_agreement(source: Path, as_json: bool) -> None:
    rows = agreement_rows(open_db(source))
    if as_json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    if not rows:
        raise UserError(f"{source}: no item has been judged by two annotators yet")
    table = Table(title="inter-annotator agreement (items judged by 2+ annotators)")
    for column in ("what", "statistic", "raters", "items", "value"):
        table.add_column(column, justify="right" if column in ("raters", "items") else "left")
    for r in rows:
        table.add_row(r.what, r.statistic, str(r.raters), str(r.items), r.value_text)
    results_console().print(table)


def print_leaderboard(source: Path, seed: int, as_json: bool) -> None:
    ratings = human_leaderboard(open_db(source), seed)
    if not ratings:
        raise UserError(f"{source}: no pairwise votes between two or more models yet")
    if as_json:
        print(json.dumps([r.as_json() for r in ratings], indent=2))
        return
    table = Table(title="Bradley-Terry ratings from human votes (Elo scale, 95% bootstrap CI)")
    for column in ("rank", "model", "rating", "95% CI"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for rank, r in enumerate(ratings, start=1):
        table.add_row(str(rank), r.model, f"{r.rating:.1f}", ci_text(r.ci_low, r.ci_high))
    notes = sorted({r.ci_note for r in ratings if r.ci_note})
    if notes:
        table.caption = "; ".join(notes)
    results_console().print(table)
