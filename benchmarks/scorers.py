"""Each evalkit scorer against calling its library directly on the same data, same process.

WMT17 en-de (3,004 segments x 16 systems) for BLEU and chrF, three systems for TER (sacrebleu's
TER takes ~10 s a system here); SummEval (1,600 summaries, 11 references each) for ROUGE; a
SummEval slice for the embedding and BERTScore scorers (model inference dominates; 2 CPU cores).

"direct" is what a careful user would write with the library alone: corpus scores per system for
sacrebleu, `score_multi` per summary for rouge-score, one `encode` of the distinct texts for
sentence-transformers, one `bert_score.score` call for bert-score. "evalkit" is a run's scoring
path (`score_items` with the scorer, on the same items) plus its point estimate (the bootstrap CI,
which the direct call does not compute, is not timed). Models are loaded before timing on both
sides. Each figure is the best of `--repeat` runs, the two sides alternating; model scorers get one
untimed warm-up call each first.

    python benchmarks/scorers.py [--repeat 2] [--slice 400] [--skip-models] [--only bleu,ter]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from evalkit.stages.scoring import ScoringItem, score_items

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
WMT = ROOT / "tasks" / "wmt17_en_de"
SUMMEVAL = ROOT / "tasks" / "summeval"


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def side_by_side(
    repeat: int, direct: Callable[[], Any], ours: Callable[[], Any], warm_up: bool = False
) -> tuple[float, Any, float, Any]:
    """Best time of each, the two alternating so that drift in machine speed hits both."""
    if warm_up:
        direct(), ours()
    t_direct = t_ours = float("inf")
    expected = got = None
    for _ in range(repeat):
        t, expected = best_of(1, direct)
        t_direct = min(t_direct, t)
        t, got = best_of(1, ours)
        t_ours = min(t_ours, t)
    return t_direct, expected, t_ours, got


def wmt17() -> tuple[list[str], dict[str, list[str]]]:
    refs = [json.loads(line)["reference"] for line in (WMT / "data.jsonl").open()]
    rows = [json.loads(line)["outputs"] for line in (WMT / "outputs.jsonl").open()]
    return refs, {system: [row[system] for row in rows] for system in rows[0]}


def summeval(limit: int | None = None) -> list[ScoringItem]:
    refs = {}
    for line in (SUMMEVAL / "data.jsonl").open():
        row = json.loads(line)
        refs[row["id"]] = tuple(row["references"])
    outputs = [json.loads(line) for line in (SUMMEVAL / "outputs.jsonl").open()]
    items = [ScoringItem(o["output"], refs[o["id"]]) for o in outputs]
    return items[:limit] if limit else items


Row = tuple[str, str, float, float, str]


def corpus_rows(repeat: int, only: set[str] | None = None) -> list[Row]:
    from sacrebleu.metrics import BLEU, CHRF, TER

    from evalkit.scorers.corpus import BLEU as EkBLEU
    from evalkit.scorers.corpus import TER as EkTER
    from evalkit.scorers.corpus import ChrF as EkChrF

    refs, systems = wmt17()
    rows: list[Row] = []
    cases: list[tuple[str, Any, Any, list[str]]] = [
        ("bleu", BLEU, EkBLEU, list(systems)),
        ("chrf", CHRF, EkChrF, list(systems)),
        ("ter", TER, EkTER, list(systems)[:3]),
    ]
    for name, direct_class, scorer_class, names in cases:
        if only is not None and name not in only:
            continue
        # fresh objects per repetition on both sides: sacrebleu's tokenizer cache starts cold

        def direct(direct_class: Any = direct_class, names: list[str] = names) -> list[float]:
            metric = direct_class()
            return [float(metric.corpus_score(systems[s], [refs]).score) for s in names]

        def ours(scorer_class: Any = scorer_class, names: list[str] = names) -> list[float]:
            scorer = scorer_class()
            values = []
            for s in names:
                items = [ScoringItem(h, (r,)) for h, r in zip(systems[s], refs, strict=True)]
                scores = score_items([scorer], items)
                summed = np.array([sc[0].statistics for sc in scores]).sum(axis=0)
                values.append(scorer.corpus_value(summed))
            return values

        t_direct, expected, t_ours, got = side_by_side(repeat, direct, ours)
        equal = "equal" if np.allclose(expected, got, rtol=0, atol=1e-9) else "DIFFERENT"
        data = f"WMT17 {len(names)} systems x {len(refs):,} segments"
        rows.append((name, data, t_direct, t_ours, equal))
    return rows


def rouge_row(repeat: int) -> Row:
    from rouge_score import rouge_scorer

    from evalkit.scorers.rouge import ROUGE_TYPES, Rouge
    from evalkit.scorers.rouge_text import SentenceSplitter

    items = summeval()

    def direct() -> list[float]:
        scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
        splitter = SentenceSplitter()  # pysbd, as evalkit's ROUGE-Lsum
        out = []
        for item in items:
            pred = "\n".join(splitter.split(item.prediction))
            refs = ["\n".join(splitter.split(r)) for r in item.references]
            out.append(scorer.score_multi(refs, pred)["rouge1"].fmeasure)
        return out

    def ours() -> list[float]:  # rouge-score's tokenizer, to compare like with like
        return [row[0].value for row in score_items([Rouge(tokenizer="default")], items)]

    t_direct, expected, t_ours, got = side_by_side(repeat, direct, ours)
    equal = "equal" if np.allclose(expected, got, rtol=0, atol=1e-12) else "DIFFERENT"
    return ("rouge", f"SummEval {len(items):,} summaries x 11 refs", t_direct, t_ours, equal)


def embedding_row(repeat: int, limit: int) -> Row:
    from sentence_transformers import SentenceTransformer

    from evalkit.scorers.embedding import EmbeddingSimilarity, default_model

    items = summeval(limit)
    model = SentenceTransformer(default_model())

    def direct() -> list[float]:
        texts = list(
            dict.fromkeys([i.prediction for i in items] + [r for i in items for r in i.references])
        )
        vectors = model.encode(texts, batch_size=64, normalize_embeddings=True)
        index = {t: k for k, t in enumerate(texts)}
        return [
            max(float(vectors[index[i.prediction]] @ vectors[index[r]]) for r in i.references)
            for i in items
        ]

    def ours() -> list[float]:
        scorer = EmbeddingSimilarity(batch_size=64)  # a fresh text cache each time
        scorer._model = model
        return [row[0].value for row in score_items([scorer], items)]

    t_direct, expected, t_ours, got = side_by_side(repeat, direct, ours, warm_up=True)
    equal = "equal" if np.allclose(expected, got, rtol=0, atol=1e-5) else "DIFFERENT"
    return ("embedding", f"SummEval {len(items):,} summaries x 11 refs", t_direct, t_ours, equal)


def bertscore_row(repeat: int, limit: int) -> Row:
    import bert_score

    from evalkit.scorers.bertscore import BERTScore
    from evalkit.scorers.embedding import default_model

    items = summeval(limit)
    path = default_model()
    cands = [i.prediction for i in items]
    refs = [list(i.references) for i in items]

    def direct() -> list[float]:
        _, _, f = bert_score.score(
            cands, refs, model_type=path, num_layers=6, batch_size=64, device="cpu"
        )
        return [float(v) for v in f]

    warm = BERTScore(layer=6)
    warm._load()

    def ours() -> list[float]:
        scorer = BERTScore(layer=6)  # a fresh embedding cache each time, same loaded model
        scorer._model, scorer._tokenizer = warm._model, warm._tokenizer
        scorer._max_length, scorer._layer = warm._max_length, warm._layer
        return [row[2].value for row in score_items([scorer], items)]

    def load() -> None:  # what bert_score.score does before scoring, on every call
        bert_score.utils.get_tokenizer(path)
        bert_score.utils.get_model(path, 6)

    t_load, _ = best_of(3, load)
    t_direct, expected, t_ours, got = side_by_side(repeat, direct, ours, warm_up=True)
    equal = "equal" if np.allclose(expected, got, rtol=0, atol=1e-5) else "DIFFERENT"
    data = f"SummEval {len(items):,} summaries x 11 refs (direct less its {t_load:.2f} s load)"
    return ("bertscore", data, t_direct - t_load, t_ours, equal)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--slice", type=int, default=400, help="summaries for model scorers")
    parser.add_argument("--skip-models", action="store_true")
    parser.add_argument("--only", help="comma-separated scorers, e.g. bleu,embedding")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    rows = [r for r in corpus_rows(args.repeat, only) if only is None or r[0] in only]
    if only is None or "rouge" in only:
        rows.append(rouge_row(args.repeat))
    if not args.skip_models and (only is None or "embedding" in only):
        rows.append(embedding_row(args.repeat, args.slice))
    if not args.skip_models and (only is None or "bertscore" in only):
        rows.append(bertscore_row(args.repeat, args.slice))
    header = f"{'scorer':10} {'direct s':>9} {'evalkit s':>10} {'overhead':>9} {'throughput':>11}"
    print(header + "  values  data")
    for name, data, t_direct, t_ours, equal in rows:
        overhead = (t_ours / t_direct - 1) * 100
        print(
            f"{name:10} {t_direct:9.2f} {t_ours:10.2f} {overhead:+8.1f}% {t_direct / t_ours:10.2f}x"
            f"  {equal:6}  {data}"
        )


if __name__ == "__main__":
    main()
