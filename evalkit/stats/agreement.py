"""Agreement between raters (judges, or a judge and people): Cohen's kappa and Krippendorff's
alpha (the `krippendorff` package, the reference implementation)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Literal

import numpy as np


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Unweighted Cohen's kappa of two raters over the same items (NaN when undefined)."""
    if len(a) != len(b) or not a:
        raise ValueError("two equally long, non-empty label sequences are needed")
    labels = sorted(set(a) | set(b), key=str)
    index = {label: i for i, label in enumerate(labels)}
    table = np.zeros((len(labels), len(labels)))
    for x, y in zip(a, b, strict=True):
        table[index[x], index[y]] += 1
    total = table.sum()
    observed = np.trace(table) / total
    expected = float((table.sum(axis=1) @ table.sum(axis=0)) / total**2)
    return float((observed - expected) / (1 - expected)) if expected < 1 else float("nan")


def krippendorff_alpha(
    ratings: Sequence[Sequence[float | None]],
    level: Literal["nominal", "ordinal", "interval", "ratio"] = "interval",
) -> float:
    """Alpha of a raters x items table; None marks a missing rating."""
    import krippendorff

    data = np.array([[np.nan if v is None else v for v in row] for row in ratings], dtype=float)
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))
