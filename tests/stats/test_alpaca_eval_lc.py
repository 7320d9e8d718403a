"""AlpacaEval 2.0's length-controlled win rate (`lc=alpaca_eval`).

Golden values come from the reference implementation: the `alpaca_eval` package (0.6.6)'s
`get_length_controlled_winrate`, run by benchmarks/alpaca_eval_lc_reference.py on AlpacaEval's
annotation files with the seeded synthetic difficulty and gamed-baseline files that script
writes (AlpacaEval's real ones live on the HF hub, out of reach here). The annotation files are
read from ../shared/data/alpaca_eval (or $EVALKIT_ALPACA_EVAL_DATA); without them that test is
skipped.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

from evalkit.analysis.recorded_stats import summarize_recorded
from evalkit.errors import UserError
from evalkit.judges.recorded_judgments import read_recorded
from tests.conftest import REPO, SHARED_DATA

pytest.importorskip("sklearn")

ALPACA_EVAL = Path(os.environ.get("EVALKIT_ALPACA_EVAL_DATA", SHARED_DATA / "alpaca_eval"))
# alpaca_eval 0.6.6, get_length_controlled_winrate(...)["length_controlled_winrate"] / 100
REFERENCE = {
    "claude-2.1": 0.30257313273728564,
    "gpt-3.5-turbo-1106": 0.266114920746514,
    "gpt4_gamed": 0.1612574433581626,
}


def _reference_script():
    path = REPO / "benchmarks" / "alpaca_eval_lc_reference.py"
    spec = importlib.util.spec_from_file_location("alpaca_eval_lc_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def glm_files(tmp_path_factory) -> tuple[Path, Path]:
    table, rows = _reference_script().synthetic_inputs(805)
    folder = tmp_path_factory.mktemp("glm")
    table.to_csv(folder / "difficulty.csv", index=False)
    rows.to_csv(folder / "gamed.csv", index=False)
    return folder / "difficulty.csv", folder / "gamed.csv"


@pytest.mark.skipif(not (ALPACA_EVAL / "claude-2.1.json").is_file(), reason="no AlpacaEval data")
@pytest.mark.parametrize("model", sorted(REFERENCE))
def test_lc_win_rate_equals_the_alpaca_eval_package(model, glm_files):
    difficulty, gamed = glm_files
    recorded = read_recorded([ALPACA_EVAL / f"{model}.json"], "alpaca_eval")
    row = summarize_recorded(recorded, lc="alpaca_eval", difficulty=difficulty, gamed=gamed)[
        "win_rates"
    ][0]
    assert row["alpaca_eval_lc_win_rate"] == pytest.approx(REFERENCE[model], rel=1e-9)


def _annotations(tmp_path: Path, rng: np.random.Generator, n: int) -> Path:
    model = rng.integers(200, 2000, n)
    base = rng.integers(200, 2000, n)
    z = (base - model) / np.std(base - model, ddof=1)
    preference = 1 / (1 + np.exp(2.5 * np.tanh(z)))  # only length matters: longer wins
    rows = [
        {"instruction": f"i{k}", "generator_1": "base", "generator_2": "m", "len_1": int(b),
         "len_2": int(m), "preference": 1 + float(p)}
        for k, (m, b, p) in enumerate(zip(model, base, preference, strict=True))
    ]  # fmt: skip
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def test_a_pure_length_effect_is_removed(tmp_path):
    rng = np.random.default_rng(5)
    path = _annotations(tmp_path, rng, 300)
    difficulty = tmp_path / "difficulty.csv"
    difficulty.write_text(
        "index,instruction_difficulty\n" + "".join(f"{k},{rng.normal()}\n" for k in range(300)),
        encoding="utf-8",
    )
    recorded = read_recorded([path], "alpaca_eval")
    row = summarize_recorded(recorded, lc="alpaca_eval", difficulty=difficulty)["win_rates"][0]
    assert row["alpaca_eval_lc_win_rate"] == pytest.approx(0.5, abs=0.02)
    assert row["alpaca_eval_lc_coefficients"]["length"] < -1  # their sign: baseline minus model
    assert row["alpaca_eval_lc_regularized"] is False
    short = tmp_path / "short.csv"
    short.write_text("index,instruction_difficulty\n0,0.1\n", encoding="utf-8")
    with pytest.raises(UserError, match="no difficulty for instruction index 1"):
        summarize_recorded(recorded, lc="alpaca_eval", difficulty=short)
