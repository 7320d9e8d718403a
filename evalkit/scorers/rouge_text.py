"""Tokenizers and the sentence segmenter behind evalkit's ROUGE (any script, offline).

rouge-score's own tokenizer keeps only ASCII [a-z0-9] (google-research rouge_score/tokenize.py),
so a Hindi, Chinese or Russian text has no tokens at all and scores 0 even against itself. The
tokenizers here are passed to `rouge_scorer.RougeScorer(tokenizer=...)`; ROUGE itself stays
rouge-score's. Each memoises its tokens by text (references are shared by every system).

- `default`: rouge-score's DefaultTokenizer (lower-case, ASCII [a-z0-9] runs, Porter stemming of
  tokens longer than 3 characters). Reproduces published English rouge-score numbers.
- `unicode`: lower-cased runs of Unicode letters, combining marks and digits (so Devanagari vowel
  signs stay inside their word, which stdlib `re`'s \\w+ would split off).
- `char`: one token per user-perceived character (grapheme cluster) that holds a letter or digit.
- `auto` (evalkit's default): one token per character in scripts written without spaces
  (`SPACELESS_SCRIPTS` and the Unicode-derived letters below), Unicode words elsewhere. On ASCII
  text it gives exactly rouge-score's tokens (tested), so English figures are unchanged.

Scripts written without spaces between words are taken from Unicode data, not a hand list:
every letter or mark whose Line_Break property (UAX #14) is SA (South East Asian: the text
needs a dictionary to find word breaks -- Thai, Lao, Khmer, Myanmar, Tai Le, New Tai Lue, Tai
Tham, Tai Viet, Ahom) or ID (ideographic: a break may fall between any two characters -- Han,
Hiragana, Katakana, Bopomofo, Yi, Tangut, Nushu, Khitan), Hangul excepted (Korean is written
with spaces; its compatibility jamo are ID); plus the scripts whose letters are Line_Break AL or
AK although their words are not separated by spaces (The Unicode Standard, chapter 13: Tibetan,
syllables separated by the tsheg; chapter 17: Balinese, Javanese, Buginese, written in scriptio
continua). Sundanese, Batak, Cham and the Brahmic scripts of India use spaces and are not in the
set. The `regex` module supplies the properties (its own Unicode version, newer than Python's).

Stemming (Porter, as rouge-score) applies to ASCII [a-z0-9] tokens only: it is an English stemmer.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import version
from typing import Any

import regex
from rouge_score import tokenizers
from rouge_score.tokenize import tokenize as rouge_score_tokenize

TOKENIZERS = ("auto", "default", "unicode", "char")
_CJK_THAI_SCRIPTS = ("Han", "Hiragana", "Katakana", "Thai", "Lao", "Khmer", "Myanmar")
_AK_AL_SCRIPTS = ("Tibetan", "Balinese", "Javanese", "Buginese")  # Line_Break AL / AK
SPACELESS_SCRIPTS = (*_CJK_THAI_SCRIPTS, *_AK_AL_SCRIPTS)
"""Scripts written without spaces named outright (the first seven: every character with the
script extension, letters, marks and digits, never punctuation or symbols; the others: letters,
marks and digits, so Tibetan's tsheg is a separator); other such scripts' letters come from the
Line_Break property (module docstring)."""
SPACELESS_LANGUAGES = (
    "zh", "ja", "th", "lo", "km", "my", "yue", "wuu", "bo", "dz", "ii", "shn", "khb", "nod",
    "tdd", "blt",
)  # fmt: skip
"""Languages (ISO 639 codes) usually written in a script without spaces between words: Chinese,
Japanese, Thai, Lao, Khmer, Burmese, Tibetan, Dzongkha, Nuosu (Yi), Shan, Tai Lü, Northern
Thai, Tai Nüa, Tai Dam. (Balinese, Javanese, Buginese are mostly written in Latin today: for
their own scripts set the scorer's tokenizer.)"""

_LINE_BREAK_SPACELESS = r"[[\p{L}\p{M}]&&[\p{lb=SA}\p{lb=ID}]--\p{scx=Hangul}]"
_SPACELESS = (
    "".join(rf"\p{{scx={s}}}" for s in _CJK_THAI_SCRIPTS)
    + "".join(rf"[\p{{scx={s}}}&&[\p{{L}}\p{{M}}\p{{N}}]]" for s in _AK_AL_SCRIPTS)
    + _LINE_BREAK_SPACELESS
)
# Punctuation and symbols (\p{P}, \p{S}: 。、「」〜・ ๚ ។ ...) are never tokens, in any script.
_SPACELESS_TOKEN = rf"[[{_SPACELESS}]--[\p{{P}}\p{{S}}]]"
# A word of other scripts stops at a spaceless letter: "共3个苹果" is 共 3 个 苹 果, not 共 3个苹果.
_AUTO = regex.compile(
    rf"(?V1){_SPACELESS_TOKEN}\p{{M}}*|[[\p{{L}}\p{{M}}\p{{N}}]--{_SPACELESS_TOKEN}]+"
)
_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+")
_GRAPHEME = regex.compile(r"\X")
_LETTER_OR_DIGIT = regex.compile(r"[\p{L}\p{N}]")
_ASCII_WORD = regex.compile(r"^[a-z0-9]+$")


_SPACELESS_CHAR = regex.compile(rf"(?V1){_SPACELESS_TOKEN}")
_LETTER = regex.compile(r"\p{L}")


def mostly_spaceless(text: str) -> bool:
    """True when most letters of the text are in scripts written without spaces (Chinese,
    Japanese, Thai, Tibetan ...: module docstring): word-level metrics need a tokenizer for
    them. Fast for other text."""
    if not _SPACELESS_CHAR.search(text):
        return False
    return 2 * len(_SPACELESS_CHAR.findall(text)) > len(_LETTER.findall(text))


def _stemmed(tokens: list[str], stem: Callable[[str], str] | None) -> list[str]:
    """rouge-score's rule: Porter-stem tokens longer than 3 characters; here ASCII ones only."""
    if stem is None:
        return tokens
    return [stem(t) if len(t) > 3 and _ASCII_WORD.match(t) else t for t in tokens]


class _CachedStemmer:
    """nltk's PorterStemmer (rouge-score's), memoised by word: a pure function of the word, and
    a text's words repeat across the texts of a task. `stem(word)` -> stem."""

    def __init__(self, stemmer: Any) -> None:
        self.stem: Callable[[str], str] = lru_cache(maxsize=1 << 17)(stemmer.stem)


class RougeTokenizer(tokenizers.Tokenizer):  # type: ignore[misc]
    """One of TOKENIZERS, memoised by text; `tokenize(text)` -> list of tokens (shape: [n])."""

    def __init__(self, name: str, use_stemmer: bool) -> None:
        if name not in TOKENIZERS:
            raise ValueError(f"unknown tokenizer {name!r}")
        self.name = name
        inner = tokenizers.DefaultTokenizer(use_stemmer=use_stemmer)
        stemmer = _CachedStemmer(inner._stemmer) if use_stemmer else None
        stem = stemmer.stem if stemmer is not None else None
        split: Callable[[str], list[str]]
        if name == "default":
            split = lambda text: rouge_score_tokenize(text, stemmer)  # noqa: E731
        elif name == "char":
            split = lambda text: [  # noqa: E731
                g for g in _GRAPHEME.findall(text.lower()) if _LETTER_OR_DIGIT.search(g)
            ]
        else:
            pattern = _AUTO if name == "auto" else _WORD
            split = lambda text: _stemmed(pattern.findall(text.lower()), stem)  # noqa: E731
        self._cached = lru_cache(maxsize=65536)(lambda text: tuple(split(text)))

    def tokenize(self, text: str) -> list[str]:
        return list(self._cached(text))


def base_language(language: str | None) -> str | None:
    """'zh-Hant' / 'pt_BR' / 'EN' -> 'zh' / 'pt' / 'en' (the primary subtag, lower-case)."""
    if not language:
        return None
    return str(regex.split(r"[-_]", language.strip().lower(), maxsplit=1)[0])


# pysbd 0.3.4's languages (pysbd/languages.py); others are segmented with its English rules.
_PYSBD_LANGUAGES = (
    "en", "hi", "mr", "zh", "es", "am", "ar", "hy", "bg", "ur", "ru", "pl", "fa", "nl", "da",
    "fr", "my", "el", "it", "ja", "de", "kk", "sk",
)  # fmt: skip


# A sentence-final mark standing alone, as in tokenized text ("team 's 0-0 draw . He scored"):
# an abbreviation keeps its period attached, so this always ends a sentence. pysbd alone misses
# many of these in PTB-tokenized news text (CNN/DailyMail, SummEval).
_DETACHED_END = regex.compile(r"(?<=(?:^|\s)[.!?]+[\"'`’”)\]]*)\s+")


class SentenceSplitter:
    """Sentences for ROUGE-Lsum: pysbd (rule-based, offline, knows abbreviations: "dr. smith
    arrived. he sat." is two sentences, "u.s. officials said" one), after splitting at newlines
    and after a detached sentence-final mark (tokenized text: "draw . He").
    Works on lower-cased text too. Memoised by text. `split(text)` -> list of sentences."""

    def __init__(self, language: str | None = None) -> None:
        import pysbd

        lang = base_language(language) or "en"
        self.language = lang if lang in _PYSBD_LANGUAGES else "en"
        self._segmenter = pysbd.Segmenter(language=self.language, clean=False)
        # pysbd compiles regexes per call (~0.5 ms a chunk); extractive summaries repeat chunks
        self._segment = lru_cache(maxsize=65536)(self._segmenter.segment)
        self._cached = lru_cache(maxsize=65536)(self._split)

    def signature(self) -> str:
        return f"pysbd-{version('pysbd')}/{self.language}"

    def _split(self, text: str) -> tuple[str, ...]:
        out: list[str] = []
        for paragraph in text.splitlines():
            for chunk in _DETACHED_END.split(paragraph):
                if chunk.strip():
                    out.extend(s.strip() for s in self._segment(chunk) if s.strip())
        return tuple(out)

    def split(self, text: str) -> list[str]:
        return list(self._cached(text))


_AFTER_MARK = regex.compile(r"(?<=[.!?])\s+")


class PunctSplitter:
    """Sentences end after every . ! ? followed by white space (abbreviations included, so
    "dr. smith" is split), and at newlines: the naive split of many older ROUGE scripts.
    `split(text)` -> list of sentences."""

    language = "-"

    def signature(self) -> str:
        return "punct"

    def split(self, text: str) -> list[str]:
        return [
            s.strip() for line in text.splitlines() for s in _AFTER_MARK.split(line) if s.strip()
        ]


LSUM_SPLITS = ("pysbd", "punct")


def make_splitter(name: str, language: str | None) -> SentenceSplitter | PunctSplitter:
    """The ROUGE-Lsum sentence splitter called `name` (one of LSUM_SPLITS)."""
    return SentenceSplitter(language) if name == "pysbd" else PunctSplitter()
