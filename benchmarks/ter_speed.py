"""TER: evalkit's lean edit-distance kernel vs sacrebleu's own TER, same data, same process.

WMT17 newstest2017 (3,004 segments) for three of the 16 systems; statistics must be identical.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sacrebleu.metrics import TER as SacreTER

from evalkit.scorers.fast_ter import FastTER

DATA = Path(__file__).resolve().parents[1] / "tasks" / "wmt17_en_de"


def main() -> None:
    refs = [[json.loads(line)["reference"] for line in (DATA / "data.jsonl").open()]]
    outputs = [json.loads(line)["outputs"] for line in (DATA / "outputs.jsonl").open()]
    systems = sys.argv[1:] or ["uedin-nmt.4722", "online-F.0", "PROMT-Rule-based.4735"]
    print(f"{'system':24} {'sacrebleu s':>11} {'evalkit s':>10} {'speed-up':>9} identical")
    total_base = total_fast = 0.0
    for system in systems:
        hyps = [o[system] for o in outputs]
        start = time.perf_counter()
        base = SacreTER()._extract_corpus_statistics(hyps, refs)
        mid = time.perf_counter()
        fast = FastTER()._extract_corpus_statistics(hyps, refs)
        end = time.perf_counter()
        total_base += mid - start
        total_fast += end - mid
        ratio = (mid - start) / (end - mid)
        print(f"{system:24} {mid - start:11.2f} {end - mid:10.2f} {ratio:8.2f}x {base == fast}")
    print(f"{'all':24} {total_base:11.2f} {total_fast:10.2f} {total_base / total_fast:8.2f}x")


if __name__ == "__main__":
    main()
