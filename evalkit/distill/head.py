"""The small trainable head of the frozen-encoder student, and the losses every student uses.

Regression: standardized targets, masked MSE (a row rated on some dimensions only trains those).
Ordinal: one score per dimension and K-1 ordered cut points (a cumulative-link head, as in CORAL,
Cao et al. 2020); a mean of several raters (1.33) becomes soft cumulative targets,
clip(y - k, 0, 1),
which are the usual hard targets when y is whole; the prediction is the expected level.
Pairwise: a utility per response, P(A better) = sigmoid(u_A - u_B) (Bradley-Terry), so swapping
the order gives exactly the complementary probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class Scale:
    """A dimension's label range; ordinal heads use its whole steps as levels."""

    low: float
    high: float

    @property
    def levels(self) -> int:
        return max(2, round(self.high - self.low) + 1)


class HeadNet(nn.Module):
    """Standardize features -> one hidden layer -> per-dimension outputs."""

    feature_mean: torch.Tensor
    feature_std: torch.Tensor
    target_mean: torch.Tensor
    target_std: torch.Tensor
    low: torch.Tensor
    high: torch.Tensor
    level_mask: torch.Tensor

    def __init__(
        self, n_features: int, scales: list[Scale], hidden: int, dropout: float, ordinal: bool
    ) -> None:
        super().__init__()
        self.ordinal = ordinal
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_std", torch.ones(n_features))
        self.register_buffer("target_mean", torch.zeros(len(scales)))
        self.register_buffer("target_std", torch.ones(len(scales)))
        self.register_buffer("low", torch.tensor([s.low for s in scales]))
        self.register_buffer("high", torch.tensor([s.high for s in scales]))
        levels = max(s.levels for s in scales)
        self.body = nn.Sequential(
            nn.Dropout(dropout / 2), nn.Linear(n_features, hidden), nn.GELU(), nn.Dropout(dropout)
        )
        self.out = nn.Linear(hidden, len(scales))
        # ordinal: first cut, then positive gaps, so cut points stay ordered
        self.cut_start = nn.Parameter(torch.full((len(scales), 1), -float(levels - 2) / 2))
        self.cut_gaps = nn.Parameter(torch.zeros(len(scales), max(levels - 2, 0)))
        self.register_buffer("level_mask", _level_mask(scales, levels))

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """The per-dimension score (standardized units for regression)."""
        scores: torch.Tensor = self.out(self.body((x - self.feature_mean) / self.feature_std))
        return scores

    def cuts(self) -> torch.Tensor:
        return torch.cumsum(torch.cat([self.cut_start, F.softplus(self.cut_gaps)], dim=1), dim=1)

    def cumulative_logits(self, x: torch.Tensor) -> torch.Tensor:
        """(n, dims, levels-1): logit of P(label > low + k)."""
        return self.raw(x).unsqueeze(-1) - self.cuts().unsqueeze(0)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Predictions on each dimension's label scale."""
        if self.ordinal:
            above = torch.sigmoid(self.cumulative_logits(x)) * self.level_mask
            value = self.low + above.sum(dim=-1)
        else:
            value = self.raw(x) * self.target_std + self.target_mean
        return torch.clamp(value, self.low, self.high)


def _level_mask(scales: list[Scale], levels: int) -> torch.Tensor:
    mask = torch.zeros(len(scales), max(levels - 1, 1))
    for i, scale in enumerate(scales):
        mask[i, : scale.levels - 1] = 1.0
    return mask


def pointwise_loss(
    net: HeadNet,
    x: torch.Tensor,
    y: torch.Tensor,
    m: torch.Tensor,
    w: torch.Tensor | None = None,
) -> torch.Tensor:
    """Masked loss over the dimensions each row is labeled on; `w` (n,) weighs rows (the
    normalization stays the count of labeled cells, so weights averaging 1 keep the scale)."""
    if net.ordinal:
        steps = torch.arange(net.level_mask.shape[1], dtype=y.dtype)
        target = torch.clamp(y.unsqueeze(-1) - net.low.unsqueeze(-1) - steps, 0.0, 1.0)
        cells = m.unsqueeze(-1) * net.level_mask
        weight = cells if w is None else cells * w[:, None, None]
        loss = F.binary_cross_entropy_with_logits(
            net.cumulative_logits(x), target, weight=weight, reduction="sum"
        )
        return loss / cells.sum().clamp(min=1.0)
    return masked_mse(net.raw(x), (y - net.target_mean) / net.target_std, m, w)


def masked_mse(
    predicted: torch.Tensor, target: torch.Tensor, m: torch.Tensor, w: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean squared error over the labeled cells only (rows weighed by `w` when given)."""
    cells = m if w is None else m * w[:, None]
    return ((predicted - target) ** 2 * cells).sum() / m.sum().clamp(min=1.0)


def pairwise_loss(
    utility_a: torch.Tensor,
    utility_b: torch.Tensor,
    p: torch.Tensor,
    m: torch.Tensor,
    w: torch.Tensor | None = None,
) -> torch.Tensor:
    """Bradley-Terry: BCE of sigmoid(u_A - u_B) against P(A better) (ties are 0.5)."""
    loss = F.binary_cross_entropy_with_logits(utility_a - utility_b, p, reduction="none")
    cells = m if w is None else m * w[:, None]
    return (loss * cells).sum() / m.sum().clamp(min=1.0)


def set_weights(sets: Sequence[str]) -> np.ndarray:
    """(n,) float32 row weights under which every set's rows weigh the same in total: the mean
    set size over the row's set size (so the weights average 1). Each row keeps all its labeled
    dimensions, so a set rated on six dimensions still brings six cells per row to the loss."""
    names, inverse, counts = np.unique(np.asarray(sets), return_inverse=True, return_counts=True)
    return (len(sets) / len(names) / counts[inverse]).astype(np.float32)


def standardize_into(net: HeadNet, x: np.ndarray, y: np.ndarray, m: np.ndarray) -> None:
    """Set the net's feature and target standardization from training data."""
    std = x.std(axis=0)
    net.feature_mean.copy_(torch.from_numpy(x.mean(axis=0)))
    net.feature_std.copy_(torch.from_numpy(np.where(std > 1e-6, std, 1.0).astype(np.float32)))
    for j in range(y.shape[1]):
        labeled = y[m[:, j] > 0, j]
        if labeled.size > 1:
            net.target_mean[j] = float(labeled.mean())
            net.target_std[j] = max(float(labeled.std()), 1e-6)
