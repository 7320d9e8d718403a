"""The Pareto frontier of quality against a cost (latency or dollars): the variants worth keeping.

A point is on the frontier when no other point is at least as good on both axes and strictly better
on one. Cost is always lower-is-better; quality follows the metric's direction.
"""

from __future__ import annotations

from collections.abc import Sequence


def pareto_front(
    costs: Sequence[float | None], qualities: Sequence[float | None], *, higher_is_better: bool
) -> list[bool]:
    """One flag per point; points missing either coordinate are never on the frontier."""
    sign = 1.0 if higher_is_better else -1.0
    points = [
        (float(c), sign * float(q)) if c is not None and q is not None else None
        for c, q in zip(costs, qualities, strict=True)
    ]
    flags = []
    for i, p in enumerate(points):
        if p is None:
            flags.append(False)
            continue
        dominated = any(
            o is not None
            and j != i
            and o[0] <= p[0]
            and o[1] >= p[1]
            and (o[0] < p[0] or o[1] > p[1])
            for j, o in enumerate(points)
        )
        flags.append(not dominated)
    return flags
