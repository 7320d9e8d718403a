"""Decontamination against reference corpora: word n-gram overlap, and optionally embeddings.

N-gram overlap follows GPT-3 (Brown et al. 2020, appendix C) and lm-evaluation-harness: lowercase,
punctuation dropped, 13-grams by default; a row sharing any n-gram with a reference document is
contaminated. Rows shorter than n words are compared whole against whole reference documents.
With `embedding_threshold`, rows whose sentence-embedding cosine similarity to some reference
document reaches it are caught too (paraphrases that share no long n-gram). Each match records the
corpus, the reference document and the evidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evalkit.databuild.config import Decontamination
from evalkit.errors import UserError
from evalkit.tasks.datafiles import read_rows

_WORD = re.compile(r"\w+")


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ngram_hashes(words: Sequence[str], n: int) -> set[int]:
    return {hash(tuple(words[i : i + n])) for i in range(len(words) - n + 1)}


@dataclass(frozen=True)
class Match:
    method: str  # "ngram" | "exact" | "embedding"
    corpus: str
    reference: str
    evidence: float  # shared n-grams, or cosine similarity

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "corpus": self.corpus, "reference": self.reference,
                "evidence": self.evidence}  # fmt: skip


class ContaminationIndex:
    def __init__(self, options: Decontamination) -> None:
        self.options = options
        self.sources: list[tuple[str, str]] = []  # (corpus name, reference id)
        self.grams: dict[int, int] = {}
        self.whole: dict[tuple[str, ...], int] = {}
        texts: list[str] = []
        for corpus in options.corpora:
            name = corpus.name or corpus.path.stem
            for line_no, row in read_rows(corpus.path):
                if corpus.field not in row:
                    raise UserError(f"{corpus.path}:{line_no}: no field '{corpus.field}'")
                text = str(row[corpus.field])
                source = len(self.sources)
                self.sources.append((name, str(row.get("id", line_no))))
                words = words_of(text)
                self.whole.setdefault(tuple(words), source)
                for gram in ngram_hashes(words, options.ngram):
                    self.grams.setdefault(gram, source)
                texts.append(text)
        self._embeddings = self._embed(texts) if options.embedding_threshold else None

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        from evalkit.scorers.embedding import EmbeddingSimilarity

        self._model = EmbeddingSimilarity(model=self.options.embedding_model).load_model()
        return np.asarray(self._model.encode(list(texts), normalize_embeddings=True, batch_size=64))

    def check(self, texts: Sequence[str]) -> list[Match | None]:
        out: list[Match | None] = []
        for text in texts:
            out.append(self._lexical(words_of(text)))
        if self._embeddings is not None and len(self._embeddings):
            for i, match in enumerate(self._semantic(texts)):
                if out[i] is None and match is not None:
                    out[i] = match
        return out

    def _lexical(self, words: list[str]) -> Match | None:
        n = self.options.ngram
        if len(words) < n:
            source = self.whole.get(tuple(words))
            return None if source is None else Match("exact", *self.sources[source], 1.0)
        hits = [self.grams[g] for g in ngram_hashes(words, n) if g in self.grams]
        if not hits:
            return None
        source = min(hits)
        return Match("ngram", *self.sources[source], float(hits.count(source)))

    def _semantic(self, texts: Sequence[str]) -> list[Match | None]:
        assert self._embeddings is not None and self.options.embedding_threshold is not None
        items = np.asarray(
            self._model.encode(list(texts), normalize_embeddings=True, batch_size=64)
        )
        similarity = items @ self._embeddings.T
        best = similarity.argmax(axis=1)
        out: list[Match | None] = []
        for i, j in enumerate(best):
            value = float(similarity[i, j])
            ok = value >= self.options.embedding_threshold
            out.append(Match("embedding", *self.sources[int(j)], round(value, 4)) if ok else None)
        return out
