"""Text normalisation shared by metrics: SQuAD answer normalisation and sentence splitting.

Sentence splitting is needed for ROUGE-Lsum (rouge-score expects one sentence per line). NLTK's
punkt models are not available offline, so this is a rule-based splitter: it breaks after . ! ?
(optionally followed by closing quotes/brackets) when the next token starts like a sentence.
"""

from __future__ import annotations

import re
import string

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'’”)\]]*\s+(?=[\"'‘“(\[]?[A-Z0-9])")


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation and English articles, collapse white space.

    The normalisation of the official SQuAD v1.1 evaluation script (Rajpurkar et al., 2016).
    """
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def split_sentences(text: str) -> list[str]:
    """Split text into sentences without NLTK data; newlines always end a sentence."""
    sentences: list[str] = []
    for paragraph in text.splitlines():
        sentences.extend(s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip())
    return sentences
