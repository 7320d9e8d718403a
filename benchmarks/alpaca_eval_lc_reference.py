"""AlpacaEval 2.0's length-controlled win rate: evalkit (`evalkit.stats.alpaca_eval_lc`) next to the
`alpaca_eval` package's own `get_length_controlled_winrate`, on the same annotations.

AlpacaEval's fit needs two files from its Hugging Face dataset (`instruction_difficulty.csv`,
`df_gamed.csv`); with no hub access this script writes synthetic ones (seeded, the same in
tests/stats/test_alpaca_eval_lc.py) and hands them to the package in place of the download, so the
comparison checks the fitting procedure itself. With the real files (--difficulty, --gamed), the
figures are the leaderboard's.

    PYTHONPATH=. /work/benchenv/bin/python benchmarks/alpaca_eval_lc_reference.py \\
        ANNOTATIONS.json [...] [--difficulty CSV --gamed CSV]

Annotations: AlpacaEval `annotations.json` files, or the reduced ones (`len_1`/`len_2` instead of
the output texts). Needs `pip install alpaca_eval` in the interpreter that runs it (not an evalkit
dependency); prints one line per model: alpaca_eval's LC, evalkit's, their difference.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd


def synthetic_inputs(n: int, seed: int = 2024) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(instruction_difficulty.csv, df_gamed.csv) look-alikes for `n` instructions: difficulty
    ~ N(0, 1); two gamed baselines whose preference falls with their (standardised) length gap."""
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0.0, 1.0, n)
    frames = []
    for name, shift in (("gamed_concise", 1.0), ("gamed_verbose", -1.0)):
        std_delta_len = rng.normal(shift, 1.0, n)
        logit = 1.5 * np.tanh(std_delta_len) - 0.5 * difficulty + rng.normal(0.0, 0.5, n)
        frames.append(
            pd.DataFrame(
                {
                    "model": name,
                    "index": np.arange(n),
                    "preference": 1 / (1 + np.exp(logit)),
                    "std_delta_len": std_delta_len,
                    "instruction_difficulty": difficulty,
                    "not_gamed_baseline": False,
                }
            )
        )
    table = pd.DataFrame({"index": np.arange(n), "instruction_difficulty": difficulty})
    return table, pd.concat(frames, ignore_index=True)


def _annotations(path: Path) -> pd.DataFrame:
    rows = json.loads(path.read_text(encoding="utf-8"))
    frame = pd.DataFrame(rows)
    if "output_1" not in frame:  # reduced files: texts of the recorded lengths
        frame["output_1"] = ["x" * int(k) for k in frame["len_1"]]
        frame["output_2"] = ["x" * int(k) for k in frame["len_2"]]
    return frame


def reference_lc(annotations: pd.DataFrame, difficulty: Path, gamed: Path) -> float:
    from alpaca_eval.metrics import glm_winrate

    files = {"df_gamed.csv": str(gamed), "instruction_difficulty.csv": str(difficulty)}
    glm_winrate.hf_hub_download = lambda filename, **_: files[filename]  # no hub here
    metrics = glm_winrate.get_length_controlled_winrate(
        annotations, save_weights_dir=None, is_warn_extreme_changes=False
    )
    return float(metrics["length_controlled_winrate"]) / 100


def evalkit_lc(path: Path, difficulty: Path, gamed: Path) -> float:
    from evalkit.analysis.recorded_stats import summarize_recorded
    from evalkit.judges.recorded_judgments import read_recorded

    summary = summarize_recorded(
        read_recorded([path], "alpaca_eval"), lc="alpaca_eval", difficulty=difficulty, gamed=gamed
    )
    rows = summary["win_rates"]
    assert isinstance(rows, list) and isinstance(rows[0], dict)
    value = rows[0]["alpaca_eval_lc_win_rate"]
    assert isinstance(value, float)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("annotations", nargs="+", type=Path)
    parser.add_argument("--difficulty", type=Path)
    parser.add_argument("--gamed", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        difficulty, gamed = args.difficulty, args.gamed
        if difficulty is None or gamed is None:
            n = len(_annotations(args.annotations[0]))
            table, rows = synthetic_inputs(max(n, 805))
            difficulty, gamed = Path(tmp) / "difficulty.csv", Path(tmp) / "gamed.csv"
            table.to_csv(difficulty, index=False)
            rows.to_csv(gamed, index=False)
        print(f"{'model':<24} {'alpaca_eval':>22} {'evalkit':>22} {'difference':>10}")
        for path in args.annotations:
            ref = reference_lc(_annotations(path), difficulty, gamed)
            ours = evalkit_lc(path, difficulty, gamed)
            print(f"{path.stem:<24} {ref!r:>22} {ours!r:>22} {ours - ref:>10.1e}")


if __name__ == "__main__":
    main()
