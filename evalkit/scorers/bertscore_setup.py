"""BERTScore's model set-up: keeping the first `layer` layers of an encoder, and reading
bert-score baseline files for rescaling."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evalkit.errors import UserError

_LAYER_PATHS = (  # where encoders keep their layer stack (BERT/RoBERTa, T5, BART, DistilBERT...)
    "encoder.layer",
    "encoder.block",
    "encoder.layers",
    "transformer.layer",
    "layers",
    "layer",
)


def _layer_stack(model: Any) -> tuple[Any, str] | None:
    for path in _LAYER_PATHS:
        owner = model
        *parents, leaf = path.split(".")
        for part in parents:
            owner = getattr(owner, part, None)
        stack = getattr(owner, leaf, None) if owner is not None else None
        if stack is not None and hasattr(stack, "__len__") and hasattr(stack, "__getitem__"):
            return owner, leaf
    return None


def truncate_layers(model: Any, layer: int | None) -> int:
    """Keep the first `layer` layers (all when None): the model's output is then that layer's."""
    found = _layer_stack(model)
    if found is None:
        raise UserError(f"scorer 'bertscore': cannot find the layers of {type(model).__name__}")
    owner, leaf = found
    stack = getattr(owner, leaf)
    total = len(stack)
    if layer is None:
        return total
    if not 0 <= layer <= total:
        raise UserError(f"scorer 'bertscore': layer must be between 0 and {total}, got {layer}")
    import torch

    setattr(owner, leaf, torch.nn.ModuleList(list(stack)[:layer]))
    return layer


def read_baseline(baseline: str | Sequence[float], layer: int) -> tuple[float, float, float]:
    """(P, R, F) baselines: three numbers, or the `layer` row of a bert-score baseline file."""
    if isinstance(baseline, str):
        import pandas as pd

        path = Path(baseline)
        if not path.is_file():
            raise UserError(f"scorer 'bertscore': baseline file not found: {baseline}")
        table = pd.read_csv(path)
        if layer >= len(table):
            raise UserError(f"scorer 'bertscore': {baseline} has no row for layer {layer}")
        row = [float(v) for v in table.iloc[layer].to_numpy()[1:]]
    else:
        row = list(baseline)
    if len(row) != 3:
        raise UserError("scorer 'bertscore': a baseline is three numbers (P, R, F)")
    p, r, f = (float(v) for v in row)
    return p, r, f
