"""Generating a batch of multi-turn samples turn by turn, each model answering its own
conversation (the requests are built in multiturn.py).

Turn k of every sample in the batch goes to the backend as one batch, once turn k-1 is back;
each turn's answers are looked up in and written to the response cache like any generation, so
a rerun regenerates nothing it already has. This runs on the generation thread, which opens its
own connection to the cache (an SQLite connection belongs to the thread that opened it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evalkit.protocols import Backend
from evalkit.store.cache import ResponseCache, generate_cached
from evalkit.tasks.multiturn import follow_up, turn_sample
from evalkit.types import Generation, Request, Sample


@dataclass(frozen=True)
class Produced:
    """One record's worth of generation: what it is scored as (for a multi-turn sample, the
    turn: its record id, the conversation so far, that turn's references), the request sent,
    the answer, and the turn (1-based; 0 for a single-turn sample)."""

    sample: Sample
    request: Request
    generation: Generation
    turn: int = 0


def converse(
    backend: Backend,
    cache_path: Path | None,
    samples: Sequence[Sample],
    firsts: Sequence[Request],
) -> list[Produced]:
    """Every turn of every sample (with its turn-1 request in `firsts`), sample by sample in
    turn order. A turn whose answer failed leaves the later turns of its sample not asked:
    they are failed generations that say why."""
    cache = ResponseCache(cache_path) if cache_path is not None else None
    answered: list[list[tuple[Request, Generation]]] = [[] for _ in samples]
    try:
        asking = list(enumerate(firsts))
        turn = 1
        while asking:
            generations = generate_cached(backend, cache, [r for _, r in asking])
            following = []
            for (i, request), generation in zip(asking, generations, strict=True):
                answered[i].append((request, generation))
                if turn >= len(samples[i].turns):
                    continue
                if generation.failed:
                    answered[i].extend(_not_asked(samples[i], request, turn, generation))
                else:
                    following.append((i, follow_up(request, generation.text, samples[i], turn + 1)))
            asking = following
            turn += 1
    finally:
        if cache is not None:
            cache.close()
    return [
        Produced(turn_sample(sample, k, request), request, generation, k)
        for sample, turns in zip(samples, answered, strict=True)
        for k, (request, generation) in enumerate(turns, start=1)
    ]


def _not_asked(
    sample: Sample, request: Request, turn: int, failed: Generation
) -> list[tuple[Request, Generation]]:
    out = []
    for later in range(turn + 1, len(sample.turns) + 1):
        request = follow_up(request, None, sample, later)
        error = f"not asked: turn {turn} has no answer ({failed.error})"
        out.append((request, Generation(error=error)))
    return out
