"""Text normalisation shared by metrics: SQuAD answer normalisation and sentence splitting.

`normalize_answer` is the official SQuAD v1.1 normalisation, faithful to the letter: it deletes
every ASCII punctuation character, so "1.0" and "10", "-5" and "5", "3.14" and "314" become equal.
`normalize_answer_keep_numbers` (what exact_match and f1 use) is the same on text without digits,
but keeps numbers whole: the sign, the decimal point, separators between digits and an exponent
stay, and two numbers are never glued into one ("3-5" becomes "3 5", not "35").

Sentence splitting is needed for ROUGE-Lsum (rouge-score expects one sentence per line). NLTK's
punkt models are not available offline, so this is a rule-based splitter: it breaks after . ! ?
(optionally followed by closing quotes/brackets) when the next token starts like a sentence.
"""

from __future__ import annotations

import re
import string

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_DELETE_PUNCTUATION = str.maketrans("", "", string.punctuation)
_MINUS = "-\u2212"  # ASCII hyphen-minus, Unicode minus sign
# a number: an optional minus (only where it cannot be a hyphen, i.e. not after a word
# character), digits with . or , between digit groups, or a leading-dot decimal, an exponent
_NUMBER = re.compile(
    rf"(?:(?<![\w.])[{_MINUS}])?(?:\d+(?:[.,]\d+)*|(?<!\w)\.\d+(?:[.,]\d+)*)(?:e[-+]?\d+)?"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'’”)\]]*\s+(?=[\"'‘“(\[]?[A-Z0-9])")


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation and English articles, collapse white space.

    The normalisation of the official SQuAD v1.1 evaluation script (Rajpurkar et al., 2016).
    """
    text = _strip_punctuation(text.lower())
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def normalize_answer_keep_numbers(text: str) -> str:
    """SQuAD v1.1 `normalize_answer` with numbers kept whole.

    Lower-case; every number (see `_NUMBER`: "-3.14", "1,000", ".5", "1e-3"; U+2212 read as "-")
    is kept as written and separated from a neighbouring number by a space; the text around
    numbers loses its ASCII punctuation, articles and extra white space as in SQuAD. On text
    without digits the result equals `normalize_answer`. Two strings whose numbers (as `_NUMBER`
    finds them) differ as written never normalise to the same string; digits split by `_` or a
    space are two numbers ("1_000" and "1 000" both give "1 000"), and a dot right after a
    letter is punctuation, not a decimal point ("x.5" gives "x5").
    """
    text = text.lower()
    pieces: list[str] = []
    start = 0
    for match in _NUMBER.finditer(text):
        between = _strip_punctuation(text[start : match.start()])
        if not between and pieces:
            between = " "  # "3-5" -> "3 5": two numbers never become one
        pieces += [between, match.group().replace("\u2212", "-")]
        start = match.end()
    pieces.append(_strip_punctuation(text[start:]))
    text = _ARTICLES.sub(" ", "".join(pieces))
    return " ".join(text.split())


def _strip_punctuation(text: str) -> str:
    """`text` without ASCII punctuation (SQuAD's `"".join(ch for ch in s if ch not in exclude)`,
    done by `str.translate`: the same string, about 10x faster on answers)."""
    return text.translate(_DELETE_PUNCTUATION)


def split_sentences(text: str) -> list[str]:
    """Split text into sentences without NLTK data; newlines always end a sentence."""
    sentences: list[str] = []
    for paragraph in text.splitlines():
        sentences.extend(s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip())
    return sentences
