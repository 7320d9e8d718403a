"""BERTScore's greedy matching for many (candidate, reference) pairs at once.

Zhang et al. (2020), eq. 1-3: each candidate token takes its most similar reference token
(precision), each reference token its most similar candidate token (recall), weighted by the
tokens' normalised IDF. As in the `bert-score` package (`greedy_cos_idf`), pairs go through in
padded batches: one `bmm` per batch for the similarities, then masked maxima and weighted sums.
Unlike bert-score, padding is masked with -inf before the maxima rather than multiplied by zero,
so a token is only ever matched to a real token of its own pair (see evalkit.scorers.bertscore).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PAIRS_PER_BATCH = 128
SIMILARITIES_PER_BATCH = 1 << 22  # pairs x longest candidate x longest reference (16 MB float32)


def _batches(lengths: list[tuple[int, int]]) -> list[list[int]]:
    """Pair indices grouped longest first, each group within both budgets (a pair alone may
    exceed the similarity budget)."""
    order = sorted(range(len(lengths)), key=lambda k: lengths[k], reverse=True)
    batches: list[list[int]] = []
    current: list[int] = []
    widest = 0  # the longest reference in `current`
    for k in order:
        ref = lengths[k][1]
        if current:
            longest = lengths[current[0]][0]  # sorted: the first candidate is the longest
            cost = (len(current) + 1) * longest * max(widest, ref)
            if len(current) >= PAIRS_PER_BATCH or cost > SIMILARITIES_PER_BATCH:
                batches.append(current)
                current, widest = [], 0
        current.append(k)
        widest = max(widest, ref)
    if current:
        batches.append(current)
    return batches


def greedy_match(pairs: Sequence[tuple[Any, Any, Any, Any]]) -> list[tuple[float, float]]:
    """(precision, recall) per pair of (candidate vectors, candidate weights, reference vectors,
    reference weights): vectors are unit-length float32 token embeddings (tokens x dim, CPU),
    weights float32 per token summing to 1 (bert-score's normalised IDF). A side with no tokens
    gives (0, 0), bert-score's value for an empty text.
    """
    import torch
    from torch.nn.utils.rnn import pad_sequence

    out: list[tuple[float, float]] = [(0.0, 0.0)] * len(pairs)
    live = [k for k, p in enumerate(pairs) if len(p[0]) and len(p[2])]
    lengths = [(len(pairs[k][0]), len(pairs[k][2])) for k in live]
    for batch in _batches(lengths):
        chosen = [pairs[live[k]] for k in batch]
        hyp = pad_sequence([p[0] for p in chosen], batch_first=True)
        ref = pad_sequence([p[2] for p in chosen], batch_first=True)
        hyp_w = pad_sequence([p[1] for p in chosen], batch_first=True)
        ref_w = pad_sequence([p[3] for p in chosen], batch_first=True)
        hyp_len = torch.tensor([lengths[k][0] for k in batch])
        ref_len = torch.tensor([lengths[k][1] for k in batch])
        hyp_pad = torch.arange(hyp.shape[1])[None, :] >= hyp_len[:, None]  # pairs x Lh
        ref_pad = torch.arange(ref.shape[1])[None, :] >= ref_len[:, None]  # pairs x Lr
        with torch.inference_mode():
            similarity = torch.bmm(hyp, ref.transpose(1, 2))  # pairs x Lh x Lr
            similarity.masked_fill_(ref_pad[:, None, :], float("-inf"))
            best_ref = similarity.max(dim=2).values.masked_fill_(hyp_pad, 0.0)
            similarity.masked_fill_(hyp_pad[:, :, None], float("-inf"))
            best_hyp = similarity.max(dim=1).values.masked_fill_(ref_pad, 0.0)
            precision = (best_ref * hyp_w).sum(dim=1).tolist()
            recall = (best_hyp * ref_w).sum(dim=1).tolist()
        for k, p, r in zip(batch, precision, recall, strict=True):
            out[live[k]] = (p, r)
    return out
