"""ROUGE and chrF: evalkit's kernels vs rouge-score and sacrebleu, same data, same process.

ROUGE: SummEval's 1,600 summaries x 11 references, all four types (rouge1, rouge2, rougeL,
rougeLsum), Porter stemming, rouge-score's tokenizer, best reference per type (`score_multi`).
  - "scorer": evalkit's `rouge` scorer through `score_items` (sentence splitting included, fresh
    scorer, so every cache starts cold) vs rouge-score's `score_multi` on the same pysbd-split
    texts (a fresh splitter too).
  - "kernel": the texts split beforehand, rouge-score's own tokenizer on both sides (Porter
    stemming not memoised); `RougeKernel.score_multi` vs `RougeScorer.score_multi`.
chrF: WMT17 en-de, 16 systems x 3,004 segments, one metric object for all systems on each side:
evalkit's `FastCHRF` vs sacrebleu's `CHRF` (references passed per call, as evalkit's scorer
passes them), and vs sacrebleu with the references given once at construction (its own cache).

Every value must be identical (==): precision, recall and F of every type; every chrF statistic.
Each figure is the best of `--repeat` runs, the two sides alternating; wall and CPU seconds.

    python benchmarks/rouge_chrf_speed.py [--repeat 1] [--only rouge,chrf]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

from scorers import summeval, wmt17

from evalkit.scorers.rouge import ROUGE_TYPES, Rouge
from evalkit.scorers.rouge_lcs import RougeKernel
from evalkit.scorers.rouge_text import SentenceSplitter
from evalkit.stages.scoring import score_items

Row = tuple[str, str, tuple[float, float], tuple[float, float], bool]
Timed = tuple[tuple[float, float], Any]


def timed(run: Callable[[], Any]) -> Timed:
    """((wall s, CPU s of this process), result): CPU time is the fairer figure on a machine
    that other jobs share, wall time the one a user waits."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return (time.perf_counter() - wall, time.process_time() - cpu), result


def side_by_side(
    repeat: int, direct: Callable[[], Any], ours: Callable[[], Any]
) -> tuple[tuple[float, float], Any, tuple[float, float], Any]:
    """Best wall and best CPU time of each side, the two alternating (drift hits both)."""
    best_direct = best_ours = (float("inf"), float("inf"))
    expected = got = None
    for _ in range(repeat):
        (wall, cpu), expected = timed(direct)
        best_direct = (min(best_direct[0], wall), min(best_direct[1], cpu))
        (wall, cpu), got = timed(ours)
        best_ours = (min(best_ours[0], wall), min(best_ours[1], cpu))
    return best_direct, expected, best_ours, got


def rouge_rows(repeat: int) -> list[Row]:
    from rouge_score import rouge_scorer

    items = summeval()
    types = list(ROUGE_TYPES)

    def split_all(splitter: SentenceSplitter) -> list[tuple[str, list[str]]]:
        def lines(text: str) -> str:
            return "\n".join(splitter.split(text))

        return [(lines(i.prediction), [lines(r) for r in i.references]) for i in items]

    def direct() -> list[list[tuple[float, ...]]]:
        scorer = rouge_scorer.RougeScorer(types, use_stemmer=True)
        best = [scorer.score_multi(refs, pred) for pred, refs in split_all(SentenceSplitter())]
        return [[tuple(b[t]) for t in types] for b in best]

    def ours() -> list[list[tuple[float, ...]]]:
        rows = score_items([Rouge(tokenizer="default")], items)
        return [
            [(s.details["precision"], s.details["recall"], s.value) for s in row] for row in rows
        ]

    t_direct, expected, t_ours, got = side_by_side(repeat, direct, ours)
    data = f"SummEval {len(items):,} summaries x 11 refs, 4 types"
    rows: list[Row] = [("rouge scorer", data, t_direct, t_ours, expected == got)]

    texts = split_all(SentenceSplitter())

    def kernel_direct() -> list[Any]:
        scorer = rouge_scorer.RougeScorer(types, use_stemmer=True)
        return [scorer.score_multi(refs, pred) for pred, refs in texts]

    def kernel_ours() -> list[Any]:
        kernel = RougeKernel(types, use_stemmer=True)
        return [kernel.score_multi(refs, pred) for pred, refs in texts]

    t_direct, expected, t_ours, got = side_by_side(repeat, kernel_direct, kernel_ours)
    rows.append(("rouge kernel", data + ", pre-split", t_direct, t_ours, expected == got))
    return rows


def chrf_rows(repeat: int) -> list[Row]:
    from sacrebleu.metrics import CHRF

    from evalkit.scorers.fast_chrf import FastCHRF

    refs, systems = wmt17()
    data = f"WMT17 {len(systems)} systems x {len(refs):,} segments"

    def run(metric: Any, streams: Any) -> list[Any]:
        return [metric._extract_corpus_statistics(hyps, streams) for hyps in systems.values()]

    cases: list[tuple[str, Callable[[], Any]]] = [
        ("chrf", lambda: run(CHRF(), [refs])),
        ("chrf vs cached", lambda: run(CHRF(references=[refs]), None)),
    ]
    rows: list[Row] = []
    for name, direct in cases:
        t_direct, expected, t_ours, got = side_by_side(
            repeat, direct, lambda: run(FastCHRF(), [refs])
        )
        label = data if name == "chrf" else data + " (sacrebleu's references= cache)"
        rows.append((name, label, t_direct, t_ours, expected == got))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", help="comma-separated: rouge, chrf")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else {"rouge", "chrf"}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows: list[Row] = []
    started = time.perf_counter()
    if "rouge" in only:
        rows += rouge_rows(args.repeat)
    if "chrf" in only:
        rows += chrf_rows(args.repeat)
    print(f"{'':15} {'library s':>15} {'evalkit s':>15} {'speed-up':>13}  identical  data")
    print(f"{'':15} {'wall / cpu':>15} {'wall / cpu':>15} {'wall / cpu':>13}")
    for name, data, (wall_d, cpu_d), (wall_o, cpu_o), equal in rows:
        print(
            f"{name:15} {wall_d:7.2f} /{cpu_d:6.2f} {wall_o:7.2f} /{cpu_o:6.2f} "
            f"{wall_d / wall_o:5.2f}x /{cpu_d / cpu_o:5.2f}x  {equal!s:9}  {data}"
        )
    elapsed = time.perf_counter() - started
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({elapsed:.0f} s)")


if __name__ == "__main__":
    main()
