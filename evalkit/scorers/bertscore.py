"""BERTScore (Zhang et al., 2020): greedy matching of contextual token embeddings.

Each token of the output is matched to its most similar reference token (precision), each
reference token to its most similar output token (recall), by cosine similarity of the
representations after `layer` layers of any Hugging Face encoder; F1 is their harmonic mean.
Optional IDF weights come from the task's references, optional baseline rescaling from a
bert-score baseline file or three numbers. With several references, P, R and F1 are each the best
over references, as in the `bert-score` package, whose results this implementation reproduces
(tests compare the two on the same local model).

One difference is deliberate: bert-score pads a batch of pairs and multiplies similarities by the
padding mask, so a token whose similarities are all negative can be matched to a padding zero and
its score depends on which other pairs share the batch. Here every pair is matched on its own
tokens only; the two agree whenever bert-score runs with batch_size=1 (and, for real encoders,
whose token similarities are positive, at any batch size).

Token embeddings are kept in a bounded LRU by text hash, so references shared by many systems are
encoded once per run as long as they fit.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, OrderedDict
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any, ClassVar

from evalkit.errors import UserError
from evalkit.protocols import ScoredItem
from evalkit.scorers.base import ReferenceScorer
from evalkit.scorers.embedding import default_model
from evalkit.types import Score

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


class BERTScore(ReferenceScorer):
    name = "bertscore"
    cpu_heavy: ClassVar[bool] = False  # torch uses every core already

    def __init__(
        self,
        model: str | None = None,
        layer: int | None = None,
        idf: bool = False,
        baseline: str | list[float] | None = None,
        batch_size: int = 64,
        device: str | None = None,
        cache_mb: int = 512,
    ) -> None:
        self.model_name = model or default_model()
        self.requested_layer = layer
        self.idf = idf
        self.baseline_spec = baseline
        self.batch_size = batch_size
        self.device = device
        self.cache_bytes = cache_mb * 2**20
        self.metrics = ("bertscore_p", "bertscore_r", "bertscore_f1")
        self._model: Any = None
        self._tokenizer: Any = None
        self._layer = layer
        self._baseline: tuple[float, float, float] | None = None
        self._idf_references: list[str] | None = None
        self._idf_weights: dict[int, float] | None = None
        self._idf_default = 1.0
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._cached_bytes = 0
        self.encoded = 0  # texts actually sent through the model

    # ---- configuration -------------------------------------------------------------------
    def signature(self) -> str:
        label = "all-MiniLM-L6-v2" if self.model_name == default_model() else self.model_name
        if isinstance(self.baseline_spec, str):
            digest = hashlib.sha256(Path(self.baseline_spec).read_bytes()).hexdigest()[:12]
            rescale = f"file:{digest}"
        elif self.baseline_spec is not None:
            rescale = ",".join(f"{v:g}" for v in self.baseline_spec)
        else:
            rescale = "no"
        layer = "last" if self.requested_layer is None else str(self.requested_layer)
        idf = "task-refs" if self.idf else "no"
        return (
            f"bertscore(evalkit)|model:{label}|layer:{layer}|idf:{idf}"
            f"|rescale:{rescale}|refs:max|transformers {version('transformers')}"
        )

    def prepare(self, references: Sequence[Sequence[str]]) -> None:
        """Receive every reference of the task before scoring: the corpus for IDF weights."""
        if self.idf:
            self._idf_references = [r for refs in references for r in refs]
            self._idf_weights = None

    # ---- model -----------------------------------------------------------------------------
    def _load(self) -> None:
        if self._model is not None:
            return
        try:
            import torch
            from transformers import AutoConfig, AutoModel, AutoTokenizer
        except ImportError:
            raise UserError("scorer 'bertscore' needs: pip install -e '.[local]'") from None
        try:
            config = AutoConfig.from_pretrained(self.model_name)
            tokenizer = AutoTokenizer.from_pretrained(self.model_name)
            if getattr(config, "is_encoder_decoder", False):
                from transformers import T5EncoderModel

                model = (
                    T5EncoderModel.from_pretrained(self.model_name)
                    if config.model_type in {"t5", "mt5", "umt5"}
                    else AutoModel.from_pretrained(self.model_name).get_encoder()
                )
            else:
                model = AutoModel.from_pretrained(self.model_name)
        except OSError as exc:
            raise UserError(
                f"scorer 'bertscore': cannot load model {self.model_name} "
                f"({str(exc).splitlines()[0]})"
            ) from None
        self._layer = truncate_layers(model, self.requested_layer)
        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._model = model.eval().to(device)
        self._tokenizer = tokenizer
        if self.baseline_spec is not None:
            self._baseline = read_baseline(self.baseline_spec, self._layer)
        limits = [tokenizer.model_max_length, getattr(config, "max_position_embeddings", None)]
        self._max_length = min(v for v in limits if isinstance(v, int) and v > 0)

    def _token_ids(self, text: str) -> list[int]:
        ids: list[int] = self._tokenizer.encode(
            text.strip(), add_special_tokens=True, max_length=self._max_length, truncation=True
        )
        return ids

    def _idf(self) -> tuple[dict[int, float], float]:
        """Token weights: log((M+1)/(df+1)) over the M task references; 1 (0 for [CLS]/[SEP])
        without IDF, as bert-score defines them."""
        if self._idf_weights is None:
            if not self.idf:
                tok = self._tokenizer
                self._idf_weights = {
                    i: 0.0 for i in (tok.sep_token_id, tok.cls_token_id) if i is not None
                }
                self._idf_default = 1.0
            else:
                if self._idf_references is None:
                    raise UserError("scorer 'bertscore': idf needs the task's references")
                documents = len(self._idf_references)
                counts: Counter[int] = Counter()
                for ref in self._idf_references:
                    counts.update(set(self._token_ids(ref)))
                self._idf_weights = {
                    i: math.log((documents + 1) / (c + 1)) for i, c in counts.items()
                }
                self._idf_default = math.log(documents + 1)
        return self._idf_weights, self._idf_default

    # ---- embeddings --------------------------------------------------------------------------
    def _embed(self, texts: Sequence[str]) -> dict[str, Any]:
        """Unit-length token embeddings (tokens x dim) per distinct text, cached by hash."""
        import torch

        keys = {t: hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts}
        out = {}
        todo = []
        for text in dict.fromkeys(texts):
            hit = self._cache.get(keys[text])
            if hit is None:
                todo.append(text)
            else:
                self._cache.move_to_end(keys[text])
                out[text] = hit
        encoded = [(text, self._token_ids(text)) for text in todo]
        encoded.sort(key=lambda pair: len(pair[1]), reverse=True)  # little padding per batch
        pad = self._tokenizer.pad_token_id or 0
        device = next(self._model.parameters()).device
        for start in range(0, len(encoded), self.batch_size):
            chunk = encoded[start : start + self.batch_size]
            width = len(chunk[0][1])
            ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, (_, token_ids) in enumerate(chunk):
                ids[row, : len(token_ids)] = torch.tensor(token_ids)
                mask[row, : len(token_ids)] = 1
            with torch.inference_mode():
                hidden = self._model(ids.to(device), attention_mask=mask.to(device))[0].float()
            hidden = hidden / hidden.norm(dim=-1, keepdim=True)
            for row, (text, token_ids) in enumerate(chunk):
                vectors = hidden[row, : len(token_ids)].cpu()
                out[text] = (vectors, token_ids)
                self._remember(keys[text], (vectors, token_ids))
        self.encoded += len(todo)
        return out

    def _remember(self, key: str, entry: tuple[Any, list[int]]) -> None:
        self._cache[key] = entry
        self._cached_bytes += entry[0].numel() * 4
        while self._cached_bytes > self.cache_bytes and len(self._cache) > 1:
            _, (old, _) = self._cache.popitem(last=False)
            self._cached_bytes -= old.numel() * 4

    # ---- scoring -----------------------------------------------------------------------------
    def _pair(self, hyp: tuple[Any, list[int]], ref: tuple[Any, list[int]]) -> tuple[float, ...]:
        import torch

        weights, default = self._idf()
        hyp_vectors, hyp_ids = hyp
        ref_vectors, ref_ids = ref
        similarity = hyp_vectors @ ref_vectors.T
        hyp_w = torch.tensor([weights.get(i, default) for i in hyp_ids])
        ref_w = torch.tensor([weights.get(i, default) for i in ref_ids])
        precision = float((similarity.max(dim=1).values * (hyp_w / hyp_w.sum())).sum())
        recall = float((similarity.max(dim=0).values * (ref_w / ref_w.sum())).sum())
        return precision, recall

    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        self._load()
        texts = [i.prediction for i in items] + [r for i in items for r in i.references]
        embedded = self._embed(texts)
        out = []
        for item in items:
            rows = []
            for reference in item.references:
                if not item.prediction.strip() or not reference.strip():
                    rows.append((0.0, 0.0, 0.0))  # bert-score's convention for empty text
                    continue
                p, r = self._pair(embedded[item.prediction], embedded[reference])
                f = 2 * p * r / (p + r) if p + r != 0 else 0.0
                rows.append((p, r, f if not math.isnan(f) else 0.0))
            best = [max(column) for column in zip(*rows, strict=True)]
            if self._baseline is not None:
                best = [(v - b) / (1 - b) for v, b in zip(best, self._baseline, strict=True)]
            out.append([Score(name=m, value=v) for m, v in zip(self.metrics, best, strict=True)])
        return out
