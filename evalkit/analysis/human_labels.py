"""People's ratings from the studio as the human labels of the judge-reliability panel.

`evalkit judge RUN ... ratings=SOURCE` (SOURCE: a studio database or the run directory holding
one) compares the judge's scores with the mean rating per output (task, sample, model) over the
annotators who rated it, in place of ratings the outputs carry: Spearman and Kendall over
outputs and Kendall at summary level (evalkit.analysis.judge_reliability). The rubric the people
rated
on must be the judge's rubric, or the only one rated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalkit.errors import UserError
from evalkit.types import SampleRecord


def studio_human(source: Path, rubric: str) -> dict[str, Any]:
    """Keyword arguments of `pointwise_report` (human_of, human_source) plus `dimension`: the
    rubric rated. UserError when nothing was rated or the rubric is ambiguous."""
    from evalkit.analysis.ratings import mean_ratings
    from evalkit.store.ratings_db import open_db

    means = mean_ratings(open_db(source))
    rated = sorted({r for by_rubric in means.values() for r in by_rubric})
    if not rated:
        raise UserError(f"{source}: no pointwise ratings yet")
    if rubric in rated:
        dimension = rubric
    elif len(rated) == 1:
        dimension = rated[0]
    else:
        raise UserError(
            f"{source}: rated on {', '.join(rated)}, not on the judge's rubric '{rubric}'"
        )

    def human_of(record: SampleRecord) -> object:
        return means.get((record.task, record.sample_id, record.model))

    return {"dimension": dimension, "human_of": human_of, "human_source": "studio ratings"}
