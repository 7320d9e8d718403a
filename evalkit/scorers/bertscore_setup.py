"""BERTScore's model set-up: keeping the first `layer` layers of an encoder, running it over
token id sequences, and reading bert-score baseline files for rescaling."""

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


def encode_sequences(
    model: Any, tokenizer: Any, sequences: list[list[int]], batch_size: int
) -> dict[tuple[int, ...], Any]:
    """Unit-length hidden states (tokens x dim, on the CPU) per distinct id sequence, in
    batches of similar length; an empty sequence gets 0 x dim without running the model."""
    import torch

    distinct = sorted(dict.fromkeys(tuple(s) for s in sequences if s), key=len, reverse=True)
    pad = tokenizer.pad_token_id or 0
    device = next(model.parameters()).device
    out: dict[tuple[int, ...], Any] = {}
    if any(not s for s in sequences):  # a text with no tokens (a tokenizer adding no [CLS])
        out[()] = torch.zeros((0, model.config.hidden_size))
    for start in range(0, len(distinct), batch_size):
        chunk = distinct[start : start + batch_size]
        width = len(chunk[0])
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, token_ids in enumerate(chunk):
            ids[row, : len(token_ids)] = torch.tensor(token_ids)
            mask[row, : len(token_ids)] = 1
        with torch.inference_mode():
            hidden = model(ids.to(device), attention_mask=mask.to(device))[0].float()
        hidden = hidden / hidden.norm(dim=-1, keepdim=True)
        for row, token_ids in enumerate(chunk):
            out[token_ids] = hidden[row, : len(token_ids)].cpu()
    return out
