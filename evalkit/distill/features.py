"""Features of (source, response, references) for the frozen-encoder student.

A frozen sentence encoder (all-MiniLM-L6-v2 by default) embeds the response, the source and up to
four references; the student's head reads the response embedding, its element-wise products with
the source and reference embeddings, and a few scalars that cheap metrics are known to track:
similarities, how well each response sentence is supported by its best-matching source sentence
(lexical, in the spirit of SummaC's sentence alignment for consistency), length, repetition, how
much of the response is copied from the source.

Cost is what decides the design: one encoder pass per response; sources and references are cached
by text, so a source shared by the systems of a comparison is encoded once. Encoding response
sentences separately would triple the cost. On CPUs with AMX the encoder runs in bfloat16 at
about 2.7x the float32 speed (the features agree to 3 decimals); on CPUs without it (no AMX or
AVX512-BF16) bfloat16 is 2-3x slower. The dtype is part of a judge; a judge encoding in float32
shares its encoder and embeddings with an `embedding` scorer of the same run.
FEATURES_VERSION changes whenever the vector does: it is part of a judge's signature.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

from evalkit.distill.metricfeatures import clear_caches, metric_scalars
from evalkit.scorers.textnorm import split_sentences

if TYPE_CHECKING:
    from evalkit.scorers.embedding import EmbeddingSimilarity

FEATURES_VERSION = "1"
SCALARS = (
    "cos_source",
    "cos_reference",
    "has_reference",
    "support_mean",
    "support_min",
    "support_position",
    "support_in_order",
    "adjacent_overlap",
    "log_words",
    "log_source_words",
    "log_sentences",
    "repeated_trigrams",
    "novel_bigrams",
    "copied_words",
    "lowercase_starts",
    "distinct_words",
    "reference_unigram_precision",
    "reference_unigram_recall",
    "reference_bigram_precision",
    "reference_bigram_recall",
    "lead_coverage",
)
_WORD = re.compile(r"\w+")
ENCODER_SCALARS = frozenset({"cos_source", "cos_reference"})
MAX_REFERENCES = 4  # more references barely move the mean embedding and cost an encode each


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _ngrams(words: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


@dataclass(frozen=True)
class _SourceView:
    """What the lexical features read of a source, computed once per distinct source: the
    systems of a comparison share their sources, so this is most of the lexical cost saved."""

    n_words: int
    vocabulary: frozenset[str]
    bigrams: frozenset[tuple[str, ...]]
    sentences: tuple[frozenset[str], ...]
    lead: frozenset[str]


@lru_cache(maxsize=4096)
def _source_view(source: str, lead: int = 3) -> _SourceView:
    words = _words(source)
    sentences = tuple(frozenset(_words(x)) for x in split_sentences(source)) or (frozenset(words),)
    return _SourceView(
        n_words=len(words),
        vocabulary=frozenset(words),
        bigrams=frozenset(_ngrams(words, 2)),
        sentences=sentences,
        lead=frozenset().union(*sentences[:lead]),
    )


@lru_cache(maxsize=16384)
def _reference_ngrams(reference: str, n: int) -> Counter[tuple[str, ...]]:
    return Counter(_ngrams(_words(reference), n))


def surface_scalars(source: str, response: str) -> list[float]:
    """The length, repetition and copying scalars (no model needed)."""
    view = _source_view(source)
    words = _words(response)
    trigrams = _ngrams(words, 3)
    bigrams = _ngrams(words, 2)
    source_bigrams, source_vocab = view.bigrams, view.vocabulary
    sentences = split_sentences(response) or [response]
    starts = [s.lstrip("'\"`( ")[:1] for s in sentences]
    return [
        math.log1p(len(words)),
        math.log1p(view.n_words),
        math.log1p(len(sentences)),
        1 - len(set(trigrams)) / len(trigrams) if trigrams else 0.0,
        sum(b not in source_bigrams for b in bigrams) / len(bigrams) if bigrams else 0.0,
        sum(w in source_vocab for w in words) / len(words) if words else 0.0,
        sum(c.islower() for c in starts) / len(starts),
        len(set(words)) / len(words) if words else 0.0,
    ]


def lexical_support(source: str, response: str) -> list[float]:
    """How each response sentence sits in the source, matched to the one source sentence that
    covers most of its words: mean and minimum coverage (support), mean relative position of the
    matches (news puts the gist first), and the share of consecutive response sentences whose
    matches keep the source's order; plus the mean word overlap of consecutive response sentences
    (a coherent text keeps talking about the same things)."""
    source_sets = _source_view(source).sentences
    shares, positions, sentence_sets = [], [], []
    for sentence in split_sentences(response) or [response]:
        words = set(_words(sentence))
        if words:
            overlaps = [len(words & s) for s in source_sets]
            best = max(range(len(overlaps)), key=overlaps.__getitem__)
            shares.append(overlaps[best] / len(words))
            positions.append(best / max(len(source_sets) - 1, 1))
            sentence_sets.append(words)
    if not shares:
        return [0.0] * 5
    pairs = list(pairwise(positions))
    links = list(pairwise(sentence_sets))
    return [
        sum(shares) / len(shares),
        min(shares),
        sum(positions) / len(positions),
        sum(b >= a for a, b in pairs) / len(pairs) if pairs else 1.0,
        sum(len(a & b) / len(a | b) for a, b in links) / len(links) if links else 0.0,
    ]


def reference_overlap(response: str, references: Sequence[str]) -> list[float]:
    """Best unigram and bigram precision and recall against any reference (ROUGE-1/2-like)."""
    words = _words(response)
    out = []
    for n in (1, 2):
        grams = Counter(_ngrams(words, n))
        best_p = best_r = 0.0
        for reference in references:
            ref = _reference_ngrams(reference, n)
            hits = sum((grams & ref).values())
            if grams:
                best_p = max(best_p, hits / sum(grams.values()))
            if ref:
                best_r = max(best_r, hits / sum(ref.values()))
        out += [best_p, best_r]
    return out


def lead_coverage(source: str, response: str, lead: int = 3) -> float:
    """Share of the words of the source's first sentences found in the response: news puts the
    gist first, so a summary that covers the lead tends to be judged relevant."""
    lead_words = _source_view(source, lead).lead
    return len(lead_words & set(_words(response))) / len(lead_words) if lead_words else 0.0


LEXICAL = tuple(i for i, name in enumerate(SCALARS) if name not in ENCODER_SCALARS)


class FeatureExtractor:
    """Feature vectors for examples, from a sentence-transformers encoder loaded once.

    `use_encoder=False` computes only the lexical scalars (the encoder's columns are zeros and the
    embedding part is empty): no model, about ten times the speed. `metrics=True` appends the
    reference-metric columns of metricfeatures.METRICS (ROUGE-1/2, chrF, ...) after the scalars."""

    def __init__(
        self,
        encoder: str | None = None,
        dtype: str = "float32",
        batch_size: int = 64,
        use_encoder: bool = True,
        metrics: bool = False,
    ) -> None:
        from evalkit.scorers.embedding import EmbeddingSimilarity

        self._embedder = EmbeddingSimilarity(model=encoder, batch_size=batch_size, dtype=dtype)
        self.encoder = self._embedder.model_name
        self.dtype = dtype
        self.use_encoder = use_encoder
        self.metrics = metrics

    @property
    def embedder(self) -> EmbeddingSimilarity | None:
        """The sentence encoder of the features (None: lexical features only)."""
        return self._embedder if self.use_encoder else None

    def load(self) -> None:
        self._embedder.load_model()

    def clear_cache(self) -> None:
        """Forget cached embeddings and the memoised lexical views of sources and references."""
        self._embedder.clear_cache()
        _source_view.cache_clear()
        _reference_ngrams.cache_clear()
        clear_caches()

    def features(
        self, sources: Sequence[str], responses: Sequence[str], references: Sequence[Sequence[str]]
    ) -> np.ndarray:
        """One row per response: [r, r*s, r*ref, scalars(, metrics)] (float32); lexical:
        [scalars(, metrics)]."""
        refs_used = [list(refs)[:MAX_REFERENCES] for refs in references]
        texts = [*responses, *sources, *(x for refs in refs_used for x in refs)]
        if self.use_encoder:
            vectors = self._embedder.embed([_nonempty(t) for t in texts])
        else:
            vectors = {_nonempty(t): np.zeros(0, dtype=np.float32) for t in texts}
        rows = []
        for source, response, refs, references_all in zip(
            sources, responses, refs_used, references, strict=True
        ):
            r, s = vectors[_nonempty(response)], vectors[_nonempty(source)]
            ref_vectors = [vectors[_nonempty(x)] for x in refs]
            ref = _unit(np.mean(ref_vectors, axis=0)) if ref_vectors else np.zeros_like(r)
            scalars = [
                float(r @ s),
                max((float(r @ v) for v in ref_vectors), default=0.0),
                1.0 if refs else 0.0,
                *lexical_support(source, response),
                *surface_scalars(source, response),
                *reference_overlap(response, references_all),
                lead_coverage(source, response),
            ]
            if self.metrics:
                scalars += metric_scalars(source, response, references_all)
            rows.append(np.concatenate([r, r * s, r * ref, np.asarray(scalars, dtype=np.float32)]))
        return np.asarray(rows, dtype=np.float32)

    def reference_similarity(
        self, responses: Sequence[str], references: Sequence[Sequence[str]]
    ) -> np.ndarray:
        """The embedding-similarity baseline: best cosine with any reference (NaN: none)."""
        vectors = self._embedder.embed(
            [_nonempty(t) for t in [*responses, *(x for refs in references for x in refs)]]
        )
        return np.array(
            [
                max(
                    (float(vectors[_nonempty(r)] @ vectors[_nonempty(x)]) for x in refs),
                    default=np.nan,
                )
                for r, refs in zip(responses, references, strict=True)
            ]
        )


def _nonempty(text: str) -> str:
    return text if text.strip() else " "


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
