"""Training across labeled sets: ranking-aware targets, and transfer between domains.

`group_z_targets` (student.target=group_z; group_rank: the same on ranks) turns every label into
a z-score within its (set, group) when that group holds at least 3 labeled responses (the
systems' summaries of one article, the translations of one segment), else within its set, then
maps it onto the dimension's scale (mid + z * width / 4, clipped). A judge fitted to these learns
to rank the responses to one source, which is what a summary-level correlation measures, and sets
on different scales (MQM error counts, 1-3 and 1-5 ratings, 0/1 consistency) train one dimension
together.

`transfer_predictions` trains on every domain but one and predicts the held-out domain (leave one
domain out), for the model card's transfer table; with `domains` naming each set as its own
domain it is leave one set out (the other sets of its domain stay in training).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Sequence

import numpy as np

from evalkit.console.progress import ProgressReporter
from evalkit.distill.examples import Example
from evalkit.distill.perset import MIN_GROUP, ranks
from evalkit.distill.students import Student
from evalkit.errors import UserError


def group_z_targets(
    examples: Sequence[Example],
    dimensions: Sequence[str],
    y: np.ndarray,
    m: np.ndarray,
    scale: dict[str, tuple[float, float]],
    use_ranks: bool = False,
) -> np.ndarray:
    """(n, dims) labels standardized within (set, group) or set, mapped onto `scale` per dim;
    `use_ranks`: their average ranks standardized instead (what Spearman compares: a handful of
    outliers, such as one translation with a major error among error-free ones, weigh no more
    than any other rank step).

    Raises UserError when a dimension has no scale. Unlabeled cells stay 0 (masked by `m`)."""
    out = np.zeros_like(y)
    for j, dim in enumerate(dimensions):
        if dim not in scale:
            raise UserError(f"student.target=group_z needs scale.{dim} (its [low, high])")
        low, high = scale[dim]
        z = np.zeros(len(examples), dtype=np.float64)
        by_group: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, e in enumerate(examples):
            if m[i, j] > 0:
                by_group[(e.dataset, e.group)].append(i)
        rest: dict[str, list[int]] = defaultdict(list)
        for (dataset, _), rows in by_group.items():
            if len(rows) >= MIN_GROUP:
                z[rows] = _standardize(y[rows, j], use_ranks)
            else:
                rest[dataset].extend(rows)
        for rows in rest.values():
            z[rows] = _standardize(y[rows, j], use_ranks)
        mid, width = (low + high) / 2, high - low
        out[:, j] = np.where(m[:, j] > 0, np.clip(mid + z * width / 4, low, high), 0.0)
    return out


def _standardize(values: np.ndarray, use_ranks: bool = False) -> np.ndarray:
    if use_ranks:
        values = ranks(values)
    std = float(values.std())
    return (values - values.mean()) / std if std > 1e-9 else np.zeros_like(values)


def domain_of(example: Example, domains: dict[str, str]) -> str:
    return domains.get(example.dataset, example.dataset)


def transfer_predictions(
    make_student: Callable[[], Student],
    examples: Sequence[Example],
    y: np.ndarray,
    m: np.ndarray,
    domains: dict[str, str],
    held_out: Collection[str] | None = None,
    progress: bool = False,
    label: str = "leave one domain out",
) -> np.ndarray:
    """(n, dims) each example's prediction by a student trained on the other domains only (NaN
    if it is the only domain, or when `held_out` is given and does not name its domain: only
    those domains are held out, one at a time)."""
    names = [domain_of(e, domains) for e in examples]
    units = [d for d in dict.fromkeys(names) if held_out is None or d in held_out]
    predictions = np.full(y.shape, np.nan)
    with ProgressReporter(len(units), enabled=progress, label=label, unit="students") as bar:
        for domain in units:
            test = [i for i, d in enumerate(names) if d == domain]
            train = [i for i, d in enumerate(names) if d != domain]
            if train:
                student = make_student()
                student.fit([examples[i] for i in train], y[train], m[train])
                predictions[test] = student.predict([examples[i] for i in test])
            bar.advance(1)
    return predictions
