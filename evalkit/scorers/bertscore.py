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

All (output, reference) pairs of a call are matched together in padded batches (one `bmm` per
batch, masked maxima, IDF-weighted sums: evalkit.scorers.bertscore_match), as bert-score does, not
a handful of small tensor operations per pair, which under CPU contention cost more than the
arithmetic (benchmarks/bertscore_speed.py).

Token embeddings are kept in a bounded LRU by text hash, so references shared by many systems are
encoded once per run as long as they fit.

Texts longer than the encoder takes (evalkit.scorers.longtext: the tokenizer's limit, or the
position table less its offset for RoBERTa-type encoders) are truncated, flagged and counted by
default, as bert-score truncates them; `long_text=window` encodes them in overlapping windows
and concatenates the token embeddings, so greedy matching sees every token; `long_text=error`
makes the sample unscorable.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from evalkit.errors import UserError
from evalkit.extras import require
from evalkit.protocols import ScoredItem
from evalkit.scorers.base import ReferenceScorer, failed_scores
from evalkit.scorers.bertscore_match import greedy_match
from evalkit.scorers.bertscore_setup import encode_sequences, read_baseline, truncate_layers
from evalkit.scorers.embedding import default_model
from evalkit.scorers.longtext import (
    count_truncated,
    encoder_input,
    long_details,
    long_text_mode,
    tokenize,
    too_long_reason,
    usable_max_length,
)
from evalkit.types import Aggregate, Score


@dataclass(frozen=True)
class Embedded:
    """A text's unit-length token embeddings (tokens x dim; None: too long, not encoded), the
    token ids of those rows, the text's whole length in tokens and whether it was cut."""

    vectors: Any
    ids: list[int]
    tokens: int
    truncated: bool


class BERTScore(ReferenceScorer):
    name = "bertscore"
    cpu_heavy = False  # torch uses every core already
    counts_truncated = True  # its aggregate sets n_truncated

    def __init__(
        self,
        model: str | None = None,
        layer: int | None = None,
        idf: bool = False,
        baseline: str | list[float] | None = None,
        batch_size: int = 64,
        device: str | None = None,
        cache_mb: int = 512,
        long_text: str = "truncate",
    ) -> None:
        require("scorer 'bertscore'", "torch", "transformers")
        self.model_name = model or default_model()
        self.requested_layer = layer
        self.idf = idf
        self.baseline_spec = baseline
        self.batch_size = batch_size
        self.device = device
        self.cache_bytes = cache_mb * 2**20
        self.long_text = long_text_mode(self.name, long_text)
        self._max_length: int | None = None
        self.metrics = ("bertscore_p", "bertscore_r", "bertscore_f1")
        self._model: Any = None
        self._tokenizer: Any = None
        self._layer = layer
        self._baseline: tuple[float, float, float] | None = None
        self._idf_references: list[str] | None = None
        self._idf_weights: dict[int, float] | None = None
        self._idf_default = 1.0
        self._cache: OrderedDict[str, Embedded] = OrderedDict()
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
            f"|rescale:{rescale}|refs:max|long:{self.long_text}"
            f"|transformers {version('transformers')}"
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
            raise UserError(
                "scorer 'bertscore' needs torch and transformers: pip install \"evalkit[local]\""
            ) from None
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
        self._max_length = usable_max_length(tokenizer, model)

    @property
    def max_length(self) -> int | None:
        """Tokens the loaded encoder takes, special tokens included (None: no limit)."""
        self._load()
        return self._max_length

    def _input(self, text: str) -> Any:
        tokens = tokenize(self._tokenizer, text.strip())
        return encoder_input(tokens, self._max_length, self.long_text)

    def _token_ids(self, text: str) -> list[int]:
        """The ids scored for `text`: cut to the usable length unless long_text=window."""
        ids: list[int] = self._input(text).ids
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
    def _embed(self, texts: Sequence[str]) -> dict[str, Embedded]:
        """Embeddings per distinct text, cached by hash; with long_text=error a text longer
        than the encoder takes is not encoded (vectors None)."""
        import torch

        keys = {t: hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts}
        out: dict[str, Embedded] = {}
        todo = []
        for text in dict.fromkeys(texts):
            hit = self._cache.get(keys[text])
            if hit is None:
                todo.append(text)
            else:
                self._cache.move_to_end(keys[text])
                out[text] = hit
        inputs = {text: self._input(text) for text in todo}
        refused = {t for t, i in inputs.items() if self.long_text == "error" and i.truncated}
        for text in refused:
            out[text] = Embedded(None, [], inputs[text].tokens, False)
        sequences = [seq for t, i in inputs.items() if t not in refused for seq in i.sequences]
        hidden = encode_sequences(self._model, self._tokenizer, sequences, self.batch_size)
        for text, item in inputs.items():
            if text in refused:
                continue
            keep = zip(item.sequences, item.keep, strict=True)
            parts = [hidden[tuple(seq)][a:b] for seq, (a, b) in keep]
            vectors = torch.cat(parts) if len(parts) > 1 else parts[0]
            out[text] = Embedded(vectors, item.ids, item.tokens, item.truncated)
            self._remember(keys[text], out[text])
        self.encoded += len(todo) - len(refused)
        return out

    def _remember(self, key: str, entry: Embedded) -> None:
        self._cache[key] = entry
        self._cached_bytes += entry.vectors.numel() * 4
        while self._cached_bytes > self.cache_bytes and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached_bytes -= old.vectors.numel() * 4

    # ---- scoring -----------------------------------------------------------------------------
    def _weights(self, entry: Embedded) -> Any:
        """The text's token weights normalised to sum 1 (bert-score: idf / idf.sum())."""
        import torch

        weights, default = self._idf()
        raw = torch.tensor([weights.get(i, default) for i in entry.ids], dtype=torch.float32)
        return raw / raw.sum()

    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        self._load()
        texts = [i.prediction for i in items] + [r for i in items for r in i.references]
        embedded = self._embed(texts)
        out: list[list[Score] | None] = []
        pairs: list[tuple[str, str]] = []  # every (output, reference) to match, in item order
        for item in items:
            mine = [embedded[item.prediction], *(embedded[r] for r in item.references)]
            refused = [k for k, e in enumerate(mine) if e.vectors is None]
            if refused:
                what = "the output" if refused[0] == 0 else f"reference {refused[0]}"
                reason = too_long_reason(what, mine[refused[0]].tokens, self._max_length)
                out.append(failed_scores(self.metrics, "unscorable", reason))
                continue
            out.append(None)
            if item.prediction.strip():
                pairs += [(item.prediction, r) for r in item.references if r.strip()]
        matched = self._match(pairs, embedded)
        for k, item in enumerate(items):
            if out[k] is not None:
                continue
            mine = [embedded[item.prediction], *(embedded[r] for r in item.references)]
            longest = max(e.tokens for e in mine)
            details = {}
            if self._max_length is not None and longest > self._max_length:
                details = long_details(self.long_text, self._max_length, longest)
            values = self._best(item, matched)
            out[k] = [
                Score(name=m, value=v, details=details)
                for m, v in zip(self.metrics, values, strict=True)
            ]
        return [row for row in out if row is not None]

    def _match(
        self, pairs: list[tuple[str, str]], embedded: dict[str, Embedded]
    ) -> dict[tuple[str, str], tuple[float, float]]:
        """(P, R) per distinct (output, reference) pair, all pairs batched (bertscore_match)."""
        distinct = list(dict.fromkeys(pairs))
        weights = {t: self._weights(embedded[t]) for t in {t for pair in distinct for t in pair}}
        rows = [
            (embedded[h].vectors, weights[h], embedded[r].vectors, weights[r]) for h, r in distinct
        ]
        return dict(zip(distinct, greedy_match(rows), strict=True))

    def _best(
        self, item: ScoredItem, matched: dict[tuple[str, str], tuple[float, float]]
    ) -> list[float]:
        """(P, R, F1), each the best over the item's references, rescaled if asked."""
        rows = []
        for reference in item.references:
            if not item.prediction.strip() or not reference.strip():
                rows.append((0.0, 0.0, 0.0))  # bert-score's convention for empty text
                continue
            p, r = matched[(item.prediction, reference)]
            f = 2 * p * r / (p + r) if p + r != 0 else 0.0
            rows.append((p, r, f if not math.isnan(f) else 0.0))
        best = [max(column) for column in zip(*rows, strict=True)]
        if self._baseline is not None:
            best = [(v - b) / (1 - b) for v, b in zip(best, self._baseline, strict=True)]
        return best

    def aggregate(self, metric: str, scores: Sequence[Score], **kwargs: Any) -> Aggregate:
        """The base aggregate, with `n_truncated`: ok scores computed on truncated text."""
        return count_truncated(super().aggregate(metric, scores, **kwargs), scores)
