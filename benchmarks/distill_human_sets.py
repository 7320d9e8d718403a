"""A saved distilled judge on every human- and GPT-4-rated set of the shared data, next to ROUGE-2.

Scores the sets of `distill_data=all_human` (SummEval, QAGS, Topical-Chat, SF-HOT/SF-RES, TED
MQM, GPT-4 grades) with a judge as it is shipped and prints the per-set table of
evalkit/distill/perset.py (summary-level Spearman per document then averaged, or sample level for
sets of small groups; ROUGE-2 recall and F by rouge-score). A judge lacking a dimension is scored
by a stand-in (`overall`, `mqm` and `engagingness`: `gpt4_grade`, the overall grade of the judges
trained on SummEval + GPT-4 grades; `understandability`: `fluency`). These are NOT held-out
figures for the sets a judge was trained on (the shipped summeval-* judges saw all of SummEval and
the GPT-4 grades): for those, read the judge's card; for the others they are out-of-domain
figures.

    python benchmarks/distill_human_sets.py [--judge summeval-lexical] [--resamples 200]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("EVALKIT_SHARED_DATA", str(ROOT.parent / "shared" / "data"))
STAND_INS = {  # for judges without these dimensions (the SummEval judges)
    "overall": "gpt4_grade",
    "mqm": "gpt4_grade",
    "understandability": "fluency",
    "engagingness": "gpt4_grade",
}


def main() -> None:
    from evalkit.app.runner_loader import load_runner
    from evalkit.distill.artifact import DistilledJudge
    from evalkit.distill.config import DistillConfig, FileSource
    from evalkit.distill.examples import load_dataset
    from evalkit.distill.perset import per_set_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", default="summeval-lexical", help="a judge name or directory")
    parser.add_argument("--resamples", type=int, default=200)
    args = parser.parse_args()
    runner = load_runner("judge_distill")
    config = DistillConfig.from_dict(runner.compose_config(["distill_data=all_human"]))
    dataset = load_dataset(config.data, False)
    examples = dataset.examples
    judge = DistilledJudge.load(args.judge)
    scores = judge.score(
        [e.source for e in examples], [e.response for e in examples],
        [e.references for e in examples],
    )  # fmt: skip
    own = judge.meta.dimensions
    columns = [d if d in own else STAND_INS.get(d, "") for d in dataset.dimensions]
    predicted = np.column_stack(
        [scores[:, own.index(c)] if c in own else np.full(len(examples), np.nan) for c in columns]
    )
    files = [s for s in config.data if isinstance(s, FileSource)]
    judged_by = {s.name or "": dict(s.judged_by) for s in files}
    names = {s.name or "": {d: f.rsplit(".", 1)[-1] for d, f in s.labels.items()} for s in files}
    table = per_set_table(
        examples, dataset.dimensions, predicted, judged_by, config.seed, args.resamples, None, names
    )
    print(f"judge {args.judge}; stand-ins: {dict(zip(dataset.dimensions, columns, strict=True))}")
    print("| set | rated (dimension) | level | n | judge | ROUGE-2 recall | ROUGE-2 F |")
    print("|---|---|---|---:|---:|---:|---:|")
    for r in table:
        print(
            f"| {r['set']} | {r['rated']} ({r['judge_dimension']}) | {r['level']} | {r['n']} "
            f"| {r['judge']:.3f} | {r['rouge2_recall']:.3f} | {r['rouge2_f']:.3f} |"
        )


if __name__ == "__main__":
    main()
