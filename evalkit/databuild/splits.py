"""Deterministic splits: a row's split follows from a hash of its key, never from its position.

Unstratified, a row goes to the split whose cumulative-fraction interval holds
blake2b(salt + key) / 2**64, so appending rows never moves an existing one. Stratified, rows of each
stratum are ordered by that hash and cut at the fractions (largest-remainder rounding), which gives
exact proportions per stratum; appending rows to a stratum can then shift the rows near a cut, which
the data card says.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence

from evalkit.databuild.config import Splits


def unit_hash(key: str, salt: str) -> float:
    digest = hashlib.blake2b(f"{salt}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _by_position(u: float, names: list[str], fractions: list[float]) -> str:
    edge = 0.0
    for name, fraction in zip(names, fractions, strict=True):
        edge += fraction
        if u < edge:
            return name
    return names[-1]


def _quotas(n: int, fractions: list[float]) -> list[int]:
    raw = [n * f for f in fractions]
    counts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def assign_splits(keys: Sequence[str], strata: Sequence[str] | None, options: Splits) -> list[str]:
    names, fractions = list(options.fractions), list(options.fractions.values())
    units = [unit_hash(k, options.salt) for k in keys]
    if strata is None:
        return [_by_position(u, names, fractions) for u in units]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, stratum in enumerate(strata):
        groups[stratum].append(i)
    out = [""] * len(keys)
    for members in groups.values():
        members.sort(key=lambda i: units[i])
        start = 0
        for name, count in zip(names, _quotas(len(members), fractions), strict=True):
            for i in members[start : start + count]:
                out[i] = name
            start += count
    return out
