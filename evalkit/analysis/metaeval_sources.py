"""Where `evalkit meta-eval` gets (metric, human) pairs: a run directory or a JSONL file.

A run: every ok score of every metric, against the human ratings its replayed output carried
(`generation.metadata["human"]`, e.g. the SummEval expert ratings); documents are samples and
systems are models. A file: named fields of each row, a dict of dimensions or one number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from evalkit.analysis.rundir import open_run
from evalkit.errors import UserError
from evalkit.stats.metaeval import Judged
from evalkit.tasks.datafiles import dotted_field, read_rows
from evalkit.types import SampleRecord

Series = dict[tuple[str, str, str], list[Judged]]  # (source, metric, human dimension) -> pairs


def from_run(run_dir: Path) -> Series:
    series = from_records(open_run(run_dir).stored_records)
    if not series:
        raise UserError(f"{run_dir}: no sample carries human ratings (generation.metadata.human)")
    return series


def from_ratings(run_dir: Path, ratings: Path) -> Series:
    """The run's scores against people's ratings collected with `evalkit studio` (a studio
    database, or the run directory holding one): per output, the mean score of the annotators
    who rated it, one human dimension per rubric."""
    from evalkit.analysis.ratings import mean_ratings
    from evalkit.store.ratings_db import open_db

    means = mean_ratings(open_db(ratings))
    series = from_records(
        open_run(run_dir).stored_records,
        lambda r: means.get((r.task, r.sample_id, r.model)),
    )
    if not series:
        raise UserError(f"{ratings}: no rating of an output of {run_dir} with an ok score")
    return series


def _carried(record: SampleRecord) -> object:
    return record.generation.metadata.get("human")


def from_records(
    records: Iterable[SampleRecord], human_of: Callable[[SampleRecord], object] = _carried
) -> Series:
    """(task, metric, human dimension) -> pairs, from records with human ratings (by default
    those their outputs carry)."""
    series: Series = defaultdict(list)
    for record in records:
        human = human_of(record)
        if not isinstance(human, dict):
            continue
        for score in record.scores:
            if score.status != "ok":
                continue
            for dimension, rating in human.items():
                series[(record.task, score.name, dimension)].append(
                    Judged(score.value, float(rating), record.sample_id, record.model)
                )
    return dict(series)


def from_file(path: Path, pred: str, human: str, group: str | None, system: str | None) -> Series:
    series: Series = defaultdict(list)
    for line_no, row in read_rows(path):
        where = f"{path}:{line_no}"
        predicted, judged = dotted_field(row, pred, where), dotted_field(row, human, where)
        g = str(dotted_field(row, group, where)) if group else None
        s = str(dotted_field(row, system, where)) if system else None
        if isinstance(predicted, dict) and isinstance(judged, dict):
            for dimension in predicted.keys() & judged.keys():
                series[(path.stem, pred, dimension)].append(
                    Judged(float(predicted[dimension]), float(judged[dimension]), g, s)
                )
        else:
            series[(path.stem, pred, human)].append(Judged(float(predicted), float(judged), g, s))
    return dict(series)
