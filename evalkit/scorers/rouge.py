"""ROUGE-1/2/L/Lsum exactly as Google's `rouge-score` package (the reference implementation)
computes them: its tokenizer, n-gram counts and F-measure, with evalkit's bit-parallel LCS for
ROUGE-L / ROUGE-Lsum (`evalkit.scorers.rouge_lcs`, equal to rouge-score's value for value, tested).

Options (all in the signature):
- `tokenizer`: `auto` (default), `default` (rouge-score's ASCII-only tokenizer), `unicode` or
  `char`; see `evalkit.scorers.rouge_text`. On ASCII text `auto` equals rouge-score's tokenizer.
- `use_stemmer`: Porter stemming of English (ASCII) tokens, rouge-score's rule; on by default
  unless the task declares a language other than English.
- `multi_ref`: `max` (default) = the reference with the best F-measure, per ROUGE type
  (rouge-score's `score_multi`); `mean` = precision, recall and F averaged over the references
  (the SummEval / G-Eval convention for SummEval's 11 references).
- `lsum_split`: how ROUGE-Lsum finds sentences: `pysbd` (default; see below) or `punct` (after
  every . ! ?, abbreviations included: the naive split of many older scripts).
- `language`: the task's declared language (set from task.yaml `language:`), which picks the
  sentence segmenter's rules and turns stemming off for other languages.

ROUGE-Lsum needs one sentence per line: texts are split by pysbd (offline, abbreviation-aware)
first; the other ROUGE types are unchanged by the newlines, since tokens never span them.

A non-empty prediction or reference that the tokenizer reduces to no tokens at all (e.g. Chinese
under `tokenizer: default`, or a text of punctuation only) gets status `unscorable` with the
reason, counted in n_failed, never an `ok` 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

from rouge_score import rouge_scorer
from rouge_score.scoring import Score as RougeScore

from evalkit.errors import UserError
from evalkit.protocols import ScoredItem
from evalkit.scorers.base import ReferenceScorer
from evalkit.scorers.rouge_lcs import RougeKernel
from evalkit.scorers.rouge_text import (
    LSUM_SPLITS,
    TOKENIZERS,
    PunctSplitter,
    RougeTokenizer,
    SentenceSplitter,
    base_language,
    make_splitter,
)
from evalkit.types import Score

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
MULTI_REF = ("max", "mean")


def _mean_score(scores: Sequence[RougeScore]) -> RougeScore:
    n = len(scores)
    return RougeScore(
        precision=sum(s.precision for s in scores) / n,
        recall=sum(s.recall for s in scores) / n,
        fmeasure=sum(s.fmeasure for s in scores) / n,
    )


def rouge_scores(
    *,
    prediction: str,
    references: Sequence[str],
    scorer: RougeKernel | rouge_scorer.RougeScorer,
    splitter: SentenceSplitter | PunctSplitter,
    multi_ref: str = "max",
) -> dict[str, Any]:
    """rouge-score's Score tuples (precision, recall, fmeasure) per type, over the references:
    the best F (`max`, rouge-score's score_multi) or the mean of each field (`mean`). `scorer`
    is evalkit's `RougeKernel` or rouge-score's own `RougeScorer` (the same values)."""
    pred = "\n".join(splitter.split(prediction))
    refs = ["\n".join(splitter.split(r)) for r in references]
    if multi_ref == "max":
        result: dict[str, Any] = (
            scorer.score(refs[0], pred) if len(refs) == 1 else scorer.score_multi(refs, pred)
        )
        return result
    per_ref = [scorer.score(r, pred) for r in refs]
    return {t: _mean_score([s[t] for s in per_ref]) for t in per_ref[0]}


class Rouge(ReferenceScorer):
    name = "rouge"

    def __init__(
        self,
        types: Sequence[str] = ROUGE_TYPES,
        use_stemmer: bool | None = None,
        tokenizer: str = "auto",
        multi_ref: str = "max",
        lsum_split: str = "pysbd",
        language: str | None = None,
    ) -> None:
        if isinstance(types, str):  # `types: rougeL` names one type, as in exact_match
            types = [types]
        unknown = [t for t in types if t not in ROUGE_TYPES]
        if unknown:
            raise UserError(f"scorer 'rouge': unknown type(s) {unknown} (use {list(ROUGE_TYPES)})")
        if tokenizer not in TOKENIZERS:
            raise UserError(f"scorer 'rouge': tokenizer '{tokenizer}' (use one of {TOKENIZERS})")
        if multi_ref not in MULTI_REF:
            raise UserError(f"scorer 'rouge': multi_ref '{multi_ref}' (use one of {MULTI_REF})")
        if lsum_split not in LSUM_SPLITS:
            raise UserError(f"scorer 'rouge': lsum_split '{lsum_split}' (use one of {LSUM_SPLITS})")
        lang = base_language(language)
        english = lang in (None, "en")
        if use_stemmer and not english:
            raise UserError(
                f"scorer 'rouge': use_stemmer is Porter's English stemmer; the task's language "
                f"is '{language}' (drop use_stemmer)"
            )
        self.metrics = tuple(types)
        stem = english if use_stemmer is None else bool(use_stemmer)
        self.use_stemmer = stem and tokenizer != "char"  # characters are not words to stem
        self.tokenizer_name = tokenizer
        self.multi_ref = multi_ref
        self.language = lang
        self._tokenizer = RougeTokenizer(tokenizer, self.use_stemmer)
        self._splitter = make_splitter(lsum_split, lang)
        self._scorer = RougeKernel(types, use_stemmer=self.use_stemmer, tokenizer=self._tokenizer)

    def signature(self) -> str:
        return (
            f"rouge-score {version('rouge-score')}|types:{','.join(self.metrics)}"
            f"|tok:{self.tokenizer_name}|stem:{self.use_stemmer}|lang:{self.language or '-'}"
            f"|lsum-split:{self._splitter.signature()}|refs:{self.multi_ref}-f"
            f"|value:fmeasure"
        )

    def _unscorable_reason(self, item: ScoredItem) -> str | None:
        reason = super()._unscorable_reason(item)
        if reason is not None:
            return reason
        for role, text in self._named_texts(item):
            if text.strip() and not self._tokenizer.tokenize(text):
                return (
                    f"the {role} is not empty but has no tokens under tokenizer "
                    f"'{self.tokenizer_name}' (ROUGE would be 0 for any output)"
                )
        return None

    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        out = []
        for item in items:
            result = rouge_scores(
                prediction=item.prediction,
                references=item.references,
                scorer=self._scorer,
                splitter=self._splitter,
                multi_ref=self.multi_ref,
            )
            out.append(
                [
                    Score(
                        name=t,
                        value=result[t].fmeasure,
                        details={"precision": result[t].precision, "recall": result[t].recall},
                    )
                    for t in self.metrics
                ]
            )
        return out
